// persona-steer monitor: projections of the residual stream on persona vectors, token by token
// while the model generates, or (with --dataset) the projection-difference screen of a dataset.
import path from 'node:path';
import type { MonitorEntry, Projection } from '../monitor-layout';
import { projectionDifference, type ScreenSample } from '../persona/projection-difference';
import { resolveBlocks } from '../persona/vector-blocks';
import type { PersonaVector } from '../vector/persona-vector';
import { bool, choice, list, parse, parseBlocks, str, usageError } from './args';
import { COMMON_FLAGS, MODEL_FLAGS, MODEL_USAGE, checkFileBlocks, loadVector, openModel, printJson, type Session } from './common';
import type { Command } from './command';
import { readJsonLines, writeText } from './files';
import { PROMPT_FLAGS, SAMPLING_FLAGS, SAMPLING_USAGE, promptFlag, samplingOptions } from './generate';
import { progressBar } from './progress';
import { POSITIONS_FLAG, STEER_FLAGS, buildPlan, positionsFlag, steerSpecs } from './steer-flags';
import { STEER_USAGE } from './generate';
import { lineChart } from './svg';

interface Watched { name: string; file: string; vector: PersonaVector; blocks: number[] }

async function watchedVectors(specs: string[], s: Session): Promise<Watched[]> {
  const names = new Set<string>();
  const out: Watched[] = [];
  for (const spec of specs) {
    const at = spec.lastIndexOf('@');
    const tail = at >= 0 ? spec.slice(at + 1) : '';
    const hasBlocks = at >= 0 && /^(all|[\d,-]+)$/.test(tail);
    const file = hasBlocks ? spec.slice(0, at) : spec;
    const vector = await loadVector(file, s.model);
    const asked = hasBlocks ? parseBlocks(`--vector ${spec} (blocks after @)`, tail) : undefined;
    if (Array.isArray(asked)) checkFileBlocks(`--vector ${spec}`, file, asked, vector);
    const blocks = resolveBlocks(`--vector ${spec}`, vector, asked);
    let name = path.basename(file).replace(/\.gguf$/i, '');
    for (let k = 2; names.has(name); k++) name = `${path.basename(file).replace(/\.gguf$/i, '')}#${k}`;
    names.add(name);
    out.push({ name, file, vector, blocks });
  }
  return out;
}

const label = (p: Projection) => `${p.name}@${p.block}`;

export const monitor: Command = {
  name: 'monitor',
  summary: 'stream per-token projections on persona vectors, or screen a dataset by projection difference',
  usage: `persona-steer monitor --model M --vector FILE[@BLOCKS] (--prompt P | --file FILE | --dataset FILE.jsonl) [options]

  --model, -m FILE          model GGUF
  --vector FILE[@BLOCKS]    control-vector file to project on (repeatable); default blocks: its
                            recommended blocks, else all of them. Values are h . v / |v|
  --prompt, -p TEXT         generate from this prompt and report the projections of every token
  --file, -f FILE           the prompt from FILE ('-': standard input)
  Sampling (as in generate):
${SAMPLING_USAGE}  Steering while generating (as in generate):
${STEER_USAGE.trimEnd()}
  --plot FILE.svg           line chart of the projections across the generated tokens
  --dataset FILE.jsonl      projection-difference screen (one --vector): lines { "prompt", "response",
                            "modelResponse"? }; dP = mean projection over the dataset response minus over
                            the model's own response (generated when absent; --max-tokens, --seed,
                            --temperature apply). Large positive dP: the sample pushes toward the trait
  --format chat|plain       with --dataset: how { "system"?, "user" } prompts become text
${MODEL_USAGE}  --json                    generation: { text, stopReason, steering, vectors: [{ name, file, blocks }],
                              lastPromptProjections: [{ name, block, value }],
                              tokens: [{ id, text, projections: [{ name, block, value }] }] }
                            dataset: { vector, blocks, samples: [{ index, deltaP: [..], datasetProjection: [..],
                              modelProjection: [..], modelResponse }] }   (arrays parallel to blocks)
`,
  async run(argv, { signal }) {
    const { values } = parse('monitor', argv, {
      ...MODEL_FLAGS, ...COMMON_FLAGS, ...STEER_FLAGS, ...POSITIONS_FLAG, ...SAMPLING_FLAGS,
      ...PROMPT_FLAGS, vector: { type: 'string', multiple: true }, plot: { type: 'string' },
      dataset: { type: 'string' }, format: { type: 'string' },
    });
    const vectorSpecs = list(values, 'vector');
    if (vectorSpecs.length === 0) throw usageError('--vector is required (a control-vector file to project on)');
    const prompt = promptFlag(values);
    const dataset = str(values, 'dataset');
    if ((prompt === undefined) === (dataset === undefined)) throw usageError('give exactly one of --prompt (or --file) and --dataset');
    const json = bool(values, 'json');
    const plot = str(values, 'plot');
    const format = choice(values, 'format', ['chat', 'plain'] as const);
    const sampling = samplingOptions(values);
    const specs = steerSpecs(values);
    const positions = positionsFlag(values);
    if (dataset !== undefined) {
      if (vectorSpecs.length > 1) throw usageError('monitor --dataset takes one --vector');
      if (plot !== undefined) throw usageError('--plot applies to --prompt (projections across generated tokens)');
      if (specs.length > 0) throw usageError('monitor --dataset measures the unsteered model; --add, --cap, --clamp and --ablate apply to --prompt');
      if (positions !== undefined) throw usageError('--positions applies to steering, with --prompt');
    } else if (format !== undefined) {
      throw usageError('--format applies to --dataset');
    }
    const samples = dataset !== undefined ? readJsonLines(dataset) as ScreenSample[] : [];
    const s = await openModel(values);
    try {
      const watched = await watchedVectors(vectorSpecs, s);
      if (dataset !== undefined) {
        const w = watched[0];
        const bar = progressBar();
        const generation: Record<string, unknown> = { maxTokens: sampling.maxTokens };
        for (const k of ['greedy', 'seed', 'temperature', 'topK', 'topP'] as const) if (sampling[k] !== undefined) generation[k] = sampling[k];
        const r = await projectionDifference(s.context, w.vector, samples, {
          blocks: w.blocks, generation, signal, ...(format ? { format } : {}),
          onProgress: (e) => bar.update(e.phase === 'generate' ? 'model responses' : 'projections', e.done, e.total),
        });
        bar.end();
        const rows = r.samples.map((x, index) => ({ index, ...x }));
        if (json) {
          printJson({ vector: w.file, blocks: r.blocks, samples: rows });
          return 0;
        }
        process.stdout.write(`projection difference on ${w.file}, blocks ${r.blocks.join(', ')}\n`);
        for (const x of rows) process.stdout.write(`  sample ${x.index}: dP ${x.deltaP.map((d, i) => `${r.blocks[i]}:${d.toFixed(4)}`).join(' ')}\n`);
        return 0;
      }
      const built = await buildPlan(specs, s.model, positions);
      const steer = built.plan;
      const entries: MonitorEntry[] = watched.map((w) => ({ name: w.name, vector: w.vector, blocks: w.blocks }));
      const stream = s.context.generate(prompt!, { ...sampling, steer, monitor: entries, signal });
      const tokens: { id: number; text: string; projections: Projection[]; logprob?: number; topLogprobs?: unknown[] }[] = [];
      for await (const ev of stream) {
        if (ev.token === null) {
          if (tokens.length > 0) tokens[tokens.length - 1].text += ev.text;
          continue;
        }
        tokens.push({ id: ev.token, text: ev.text, projections: ev.projections,
          ...(ev.logprob !== undefined ? { logprob: ev.logprob } : {}), ...(ev.topLogprobs ? { topLogprobs: ev.topLogprobs } : {}) });
        if (!json) process.stdout.write(`${String(tokens.length - 1).padStart(4)} ${JSON.stringify(ev.text).padEnd(14)} ${ev.projections.map((p) => `${label(p)}=${p.value.toFixed(4)}`).join(' ')}\n`);
      }
      const r = await stream.result;
      if (plot !== undefined) {
        const keys = tokens[0]?.projections.map(label) ?? [];
        writeText(plot, lineChart({
          title: 'projection on persona vectors per generated token', xLabel: 'generated token', yLabel: 'h . v / |v|',
          series: keys.map((k, i) => ({ name: k, values: tokens.map((t) => t.projections[i]?.value ?? NaN) })),
        }));
      }
      if (json) {
        printJson({
          text: r.text, stopReason: r.stopReason, steering: built.steering, positions: built.positions,
          vectors: watched.map((w) => ({ name: w.name, file: w.file, blocks: w.blocks })),
          lastPromptProjections: r.lastPromptProjections, tokens,
        });
      } else {
        process.stdout.write(`text: ${r.text}\nlast prompt token: ${r.lastPromptProjections.map((p) => `${label(p)}=${p.value.toFixed(4)}`).join(' ')}\n`);
      }
      return r.stopReason === 'abort' ? 130 : 0;
    } finally {
      await s.close();
    }
  },
};
