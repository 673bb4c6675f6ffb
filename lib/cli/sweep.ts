// persona-steer sweep: try a vector at several blocks, coefficients and positions on held-out
// questions, and show (table, JSON, SVG heat map) which settings express the trait while the
// answers stay coherent; --out records the recommended one in the file.
import { ErrorCodes, PersonaSteerError } from '../errors';
import { generateResponses, type ResponsePair } from '../persona/responses';
import { sweepSteering, type SweepOptions } from '../persona/sweep';
import { readTraitSpec, type TraitSpec } from '../persona/trait-spec';
import { DEFAULT_SWEEP_QUESTIONS } from '../persona/defaults';
import { checkPairs } from '../persona/responses';
import { writeControlVector } from '../vector/control-vector-file';
import { STEER_POSITIONS, type SteerPositions } from '../vector/vector-metadata';
import { bool, choice, int, list, num, parse, parseBlocks, parseNumberText, required, str, usageError, type Values } from './args';
import { COMMON_FLAGS, MODEL_FLAGS, MODEL_USAGE, loadVector, openModel, printJson } from './common';
import type { Command } from './command';
import { loadJudge, readJson, readQuestions, writeText } from './files';
import { progressBar } from './progress';
import { sweepHeatMap, sweepJson, sweepTable } from './sweep-report';

export const SWEEP_FLAGS = {
  questions: { type: 'string' },
  'block-set': { type: 'string', multiple: true },
  coefficients: { type: 'string' },
  units: { type: 'string' },
  'one-sided': { type: 'boolean' },
  'try-positions': { type: 'string' },
  system: { type: 'string' },
  'max-nll-ratio': { type: 'string' },
  'min-score': { type: 'string' },
} as const;

/** The sweep options the flags set (questions apart). */
export function sweepFlagOptions(values: Values, blockCount: number, maxTokensFlag: string): Partial<SweepOptions> {
  const o: { -readonly [K in keyof SweepOptions]?: SweepOptions[K] } = {};
  const sets = list(values, 'block-set');
  if (sets.length > 0) {
    o.blocks = sets.map((text) => {
      const b = parseBlocks(`--block-set ${text}`, text);
      const blocks = b === 'all' ? Array.from({ length: blockCount }, (_, i) => i) : b;
      const outside = blocks.filter((x) => x >= blockCount);
      if (outside.length > 0) throw usageError(`--block-set ${text}: block ${outside.join(', ')} is beyond the model's ${blockCount} blocks (0 to ${blockCount - 1})`);
      return blocks;
    });
  }
  const coefs = str(values, 'coefficients');
  if (coefs !== undefined) o.coefficients = coefs.split(',').map((c) => parseNumberText(`--coefficients ${coefs}`, c.trim()));
  const units = choice(values, 'units', ['raw', 'relative'] as const);
  if (units) o.units = units;
  if (bool(values, 'one-sided')) o.symmetric = false;
  const tp = str(values, 'try-positions');
  if (tp !== undefined) {
    o.positions = tp.split(',').map((p) => {
      if (!(STEER_POSITIONS as readonly string[]).includes(p.trim())) throw usageError(`--try-positions ${tp}: each must be one of ${STEER_POSITIONS.join(', ')}`);
      return p.trim() as SteerPositions;
    });
  }
  const system = str(values, 'system');
  if (system !== undefined) o.system = system;
  const maxTokens = int(values, maxTokensFlag, 1, 1 << 16);
  if (maxTokens !== undefined) o.maxTokens = maxTokens;
  const ratio = num(values, 'max-nll-ratio', 1, 1e6);
  if (ratio !== undefined) o.maxNllRatio = ratio;
  const minScore = num(values, 'min-score', 0, 1);
  if (minScore !== undefined) o.minScore = minScore;
  return o;
}

export const sweepUsage = (maxTokensFlag: string) => `  --questions FILE          questions, one per line (or a JSON array / JSON lines of strings or { "user", "system"? })
  --block-set BLOCKS        a set of blocks steered together (repeatable: each is one row); default: every block
                            alone (at most 8; else 5 of the middle half of the model)
  --coefficients LIST       comma-separated, default 0.25,0.5,1,2,4
  --units raw|relative      raw: h += c v_b (default); relative: h += c r_b v_b/|v_b|, r_b the block's residual norm
  --one-sided               try the coefficients as given (signed), instead of +c and -c scored together
  --try-positions LIST      steering positions to try, comma-separated (prompt, generated, all);
                            default: prompt for vectors read at the last prompt token, else all
  --system TEXT             system prompt the questions are asked under (default none)
  --${maxTokensFlag.padEnd(22)}tokens per answer (default 64, greedy)
  --max-nll-ratio R         coherent: answers' NLL per token at most R x the references' (default 1.25)
  --min-score S             a recommendation must score at least S (default 0.5)
`;

export const sweep: Command = {
  name: 'sweep',
  summary: 'try a vector at several blocks and coefficients; recommend the one that steers and stays coherent',
  usage: `persona-steer sweep --model M --vector FILE (--spec SPEC.json | --pairs PAIRS.json | --judge FILE.js) [options]

  Answers the questions greedily under every (blocks x coefficient x positions) setting and scores
  each: the trait rate with +c and with -c (by --judge, or by the answers' projection on the trait
  direction of reference answers: --spec generates them, --pairs supplies them) and coherence (the
  unsteered model's perplexity of each answer, and its repeated 4-grams, against the references').
  The recommendation: the best coherent score, at the blocks that reach it over the widest range of
  coefficients, at the middle of that range (docs/persona.md, "The sweep").

  --model, -m FILE          model GGUF
  --vector FILE             control-vector file to sweep
  --spec FILE               trait spec (docs/vectors.md, "Trait specs"): reference answers are generated under its pairs' prompts
                            (temperature 1, 64 tokens), and its evaluation questions (else extraction
                            questions, the first 12) are the default questions
  --pairs FILE              reference answers (the format of extract --pairs)
  --judge FILE.js           module exporting (question, answer) => trait score 0-100
  --format chat|plain       how prompts become text (default chat)
${sweepUsage('max-tokens N')}  --out FILE                write the vector with the recommendation recorded (recommended blocks,
                            coefficient, positions); may be --vector itself
  --plot FILE.svg           heat map of the scores
  --answers                 with --json: include every answer
${MODEL_USAGE}  --json                    print { units, symmetric, questions, measure, reference, baseline, settings: [{ blocks,
                            positions, coefficient, score, coherent, up, down }], best, recommendation }
`,
  async run(argv, { signal }) {
    const { values } = parse('sweep', argv, {
      ...MODEL_FLAGS, ...COMMON_FLAGS, ...SWEEP_FLAGS,
      vector: { type: 'string' }, spec: { type: 'string' }, pairs: { type: 'string' }, judge: { type: 'string' }, format: { type: 'string' },
      'max-tokens': { type: 'string' },
      out: { type: 'string', short: 'o' }, plot: { type: 'string' }, answers: { type: 'boolean' },
    });
    const file = required(values, 'vector', 'the control-vector file to sweep');
    const specFile = str(values, 'spec');
    const pairsFile = str(values, 'pairs');
    const judgeFile = str(values, 'judge');
    if (specFile !== undefined && pairsFile !== undefined) throw usageError('give one of --spec and --pairs');
    if (specFile === undefined && pairsFile === undefined && judgeFile === undefined) {
      throw usageError('the sweep needs a way to measure the trait: --spec or --pairs (reference answers), or --judge');
    }
    const questionsFile = str(values, 'questions');
    if (questionsFile === undefined && specFile === undefined) throw usageError('--questions is required without --spec (whose questions are the default)');
    const format = choice(values, 'format', ['chat', 'plain'] as const);
    const out = str(values, 'out');
    const plot = str(values, 'plot');
    const json = bool(values, 'json');
    const spec: TraitSpec | undefined = specFile !== undefined ? await readTraitSpec(specFile) : undefined;
    let references: ResponsePair[] | undefined;
    if (pairsFile !== undefined) {
      const raw = readJson(pairsFile) as { samples?: unknown };
      references = checkPairs(`${pairsFile}: samples`, raw?.samples);
    }
    const judge = judgeFile !== undefined ? await loadJudge(judgeFile) : undefined;
    const questions = questionsFile !== undefined ? readQuestions(questionsFile).map((q) => {
      if (q.system !== undefined) throw usageError(`--questions ${questionsFile}: the sweep asks every question under one system prompt (--system); a question has its own`);
      return q.user;
    }) : [...(spec!.evaluationQuestions ?? spec!.extractionQuestions)].slice(0, DEFAULT_SWEEP_QUESTIONS);

    const s = await openModel(values);
    const bar = progressBar();
    try {
      const vector = await loadVector(file, s.model);
      const fmt = format ?? (s.model.info.chatTemplate ? 'chat' : 'plain');
      if (spec) {
        references = await generateResponses(s.context, spec, { format: fmt, signal, onProgress: (d, t) => bar.update('reference answers', d, t) });
        references = references.filter((p) => p.positive.response.length > 0 && p.negative.response.length > 0);
      }
      const r = await sweepSteering(s.context, vector, {
        ...sweepFlagOptions(values, s.model.info.blockCount, 'max-tokens'),
        questions, format: fmt, ...(references ? { references } : {}), ...(judge ? { judge } : {}), signal,
        onProgress: (d, t) => bar.update('sweeping', d, t),
      });
      bar.end();
      if (plot !== undefined) writeText(plot, sweepHeatMap(r, `${vector.metadata.trait ?? file}: steering sweep`));
      const record = out !== undefined && r.recommendation !== null;
      if (record) {
        await writeControlVector(out!, vector.withMetadata({
          recommendedBlocks: r.recommendation!.blocks, coefficient: r.recommendation!.coefficient, positions: r.recommendation!.positions, recommendedBy: 'sweep',
        }));
      }
      if (json) printJson({ ...sweepJson(r, bool(values, 'answers')), ...(record ? { out } : {}) });
      else process.stdout.write(`${sweepTable(r)}\n${record ? `wrote ${out}\n` : ''}`);
      if (out !== undefined && !record) {
        throw new PersonaSteerError(ErrorCodes.EXTRACTION, `--out ${out}: the sweep has no recordable recommendation (see the table); nothing was written`);
      }
      return 0;
    } finally {
      bar.end();
      await s.close();
    }
  },
};
