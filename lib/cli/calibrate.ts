// persona-steer calibrate: cap thresholds for a vector, measured on neutral prompts at the
// positions the vector was read at, written into the file so that `--cap FILE` and `/cap FILE`
// cap there (docs/persona.md, "Calibration").
import { calibrateCap, withCapThresholds, type CalibrateCapOptions } from '../persona/calibrate';
import { extractionPositions } from '../persona/defaults';
import { promptTokens } from '../persona/prompt-format';
import { readTraitSpec } from '../persona/trait-spec';
import { writeControlVector } from '../vector/control-vector-file';
import { blocksFlag, bool, choice, int, num, parse, required, str, usageError } from './args';
import { COMMON_FLAGS, MODEL_FLAGS, MODEL_USAGE, checkModelBlocks, loadVector, openModel, printJson } from './common';
import type { Command } from './command';
import { readQuestions, type QuestionLine } from './files';
import { progressBar } from './progress';

export const calibrate: Command = {
  name: 'calibrate',
  summary: 'measure cap thresholds on neutral prompts and record them in the vector file',
  usage: `persona-steer calibrate --model M --vector FILE (--spec SPEC.json | --prompts FILE) [options]

  Projects neutral prompts on the vector where it was read, per block, and records the thresholds
  (cap blocks, thresholds, positions) in the file; generate --cap FILE and chat /cap FILE then cap
  there. For a vector read at the last prompt token (extract's default with a spec): the mean
  projection at each prompt's last token less a tenth of the poles' gap (|v_b|), the cap applying
  at the prompt's positions. For a
  response-token vector: the 75th percentile over the model's own answers' tokens, the cap
  applying at every position.

  --model, -m FILE          model GGUF
  --vector FILE             control-vector file (rewritten with the thresholds unless --out)
  --spec FILE               neutral prompts: the trait spec's extraction and evaluation questions (docs/vectors.md)
  --prompts FILE            neutral prompts: one question per line (or JSON lines / a JSON array of
                            strings or { "user", "system"? })
  --system TEXT             system prompt of the neutral prompts (default none)
  --format chat|plain       how prompts become text (default chat when the model has a template)
  --blocks BLOCKS           blocks to cap at (default: where the vector separates the poles, |v_b| at
                            least half the largest)
  --measure last-prompt|response|all
                            tokens measured (default: last-prompt for last-prompt vectors, else response)
  --percentile P            a percentile (0-100) instead of the default statistic
  --margin F                move thresholds by F x |v_b| toward the quiet side (default 0.1 with the mean, else 0)
  --max-tokens N            with --measure response: tokens per answer (default 64)
  --out FILE                write here instead of rewriting --vector
${MODEL_USAGE}  --json                    print { out, blocks, thresholds, positions, statistic, percentile?, margin, measured, counts }
`,
  async run(argv, { signal }) {
    const { values } = parse('calibrate', argv, {
      ...MODEL_FLAGS, ...COMMON_FLAGS,
      vector: { type: 'string' }, spec: { type: 'string' }, prompts: { type: 'string' }, system: { type: 'string' }, format: { type: 'string' },
      blocks: { type: 'string' }, measure: { type: 'string' }, percentile: { type: 'string' }, margin: { type: 'string' }, 'max-tokens': { type: 'string' }, out: { type: 'string', short: 'o' },
    });
    const file = required(values, 'vector', 'the control-vector file to calibrate');
    const specFile = str(values, 'spec');
    const promptsFile = str(values, 'prompts');
    if ((specFile === undefined) === (promptsFile === undefined)) throw usageError('give exactly one of --spec and --prompts (the neutral prompts to measure)');
    const system = str(values, 'system');
    const format = choice(values, 'format', ['chat', 'plain'] as const);
    const blocks = blocksFlag(values, 'blocks');
    const measure = choice(values, 'measure', ['last-prompt', 'response', 'all'] as const);
    const percentile = num(values, 'percentile', 0, 100);
    const margin = num(values, 'margin', 0, 10);
    const maxTokens = int(values, 'max-tokens', 1, 1 << 16);
    const out = str(values, 'out') ?? file;
    let lines: QuestionLine[];
    if (specFile !== undefined) {
      const spec = await readTraitSpec(specFile);
      lines = [...spec.extractionQuestions, ...(spec.evaluationQuestions ?? [])].map((user) => ({ user }));
    } else {
      lines = readQuestions(promptsFile!);
    }
    const s = await openModel(values);
    const bar = progressBar();
    try {
      const vector = await loadVector(file, s.model);
      const fmt = format ?? (s.model.info.chatTemplate ? 'chat' : 'plain');
      const prompts = lines.map((l) => {
        const sys = l.system ?? system;
        return promptTokens(s.model, sys === undefined ? { user: l.user } : { system: sys, user: l.user }, fmt);
      });
      const measured = measure ?? (extractionPositions(vector) === 'last-prompt' ? 'last-prompt' : 'response');
      if (maxTokens !== undefined && measured !== 'response') throw usageError('--max-tokens applies to --measure response');
      const options: CalibrateCapOptions = { positions: measured, signal, onProgress: (d, t) => bar.update('calibrating', d, t) };
      if (blocks !== undefined) options.blocks = checkModelBlocks('--blocks', blocks, s.model);
      if (percentile !== undefined) options.percentile = percentile;
      if (margin !== undefined) options.margin = margin;
      if (maxTokens !== undefined) options.maxTokens = maxTokens;
      if (blocks !== undefined && blocks !== 'all') {
        const missing = blocks.filter((b) => !vector.has(b));
        if (missing.length > 0) throw usageError(`--blocks: block ${missing.join(', ')} is not in ${file} (it has ${vector.blocks.join(', ')})`);
      }
      const cal = await calibrateCap(s.context, vector, prompts, options);
      bar.end();
      await writeControlVector(out, withCapThresholds(vector, cal));
      if (bool(values, 'json')) {
        printJson({ out, blocks: cal.blocks, thresholds: cal.thresholds, positions: cal.positions, statistic: cal.statistic,
          ...(cal.percentile !== undefined ? { percentile: cal.percentile } : {}), margin: cal.margin, measured: cal.measured, counts: cal.counts });
        return 0;
      }
      const stat = `${cal.statistic === 'mean' ? 'mean' : `${cal.percentile}th percentile`}${cal.margin > 0 ? ` less ${cal.margin} x |v_b|` : ''}`;
      process.stdout.write(`wrote ${out}: cap thresholds (${stat} of ${cal.counts[0]} ${cal.measured} projections per block, capping at ${cal.positions} positions)\n`);
      process.stdout.write('block   threshold\n');
      cal.blocks.forEach((b, i) => process.stdout.write(`${String(b).padStart(5)} ${cal.thresholds[i]!.toFixed(4).padStart(11)}\n`));
      return 0;
    } finally {
      bar.end();
      await s.close();
    }
  },
};
