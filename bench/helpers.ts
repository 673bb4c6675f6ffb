// Helpers the cases share: deterministic inputs, contexts with the run's threads, and the two
// timed operations (decode N tokens, process a prompt).
import { clamp, type Context, type GenerateOptions, type MonitorEntry, type Model, type SteerOp } from '../index';
import { seededRandom } from '../seeded-random';
import type { BenchEnv, Sample } from './types';

/** mulberry32 as floats in [0, 1). */
export const prng = seededRandom;


/** BOS followed by n - 1 ordinary token ids (ids 0-2 are unk/bos/eos in these vocabularies). */
export function promptTokens(model: Model, n: number, seed: number): Int32Array {
  const r = prng(seed);
  const nv = model.info.vocabularySize;
  const out = new Int32Array(n);
  out[0] = model.info.bosToken >= 0 ? model.info.bosToken : 1;
  for (let i = 1; i < n; i++) out[i] = 3 + Math.floor(r() * (nv - 3));
  return out;
}

/** k random unit vectors of length embeddingSize. */
export function unitVectors(k: number, embeddingSize: number, seed: number): Float32Array[] {
  const r = prng(seed);
  return Array.from({ length: k }, () => {
    const v = new Float32Array(embeddingSize);
    let sq = 0;
    for (let i = 0; i < embeddingSize; i++) { v[i] = r() * 2 - 1; sq += v[i] * v[i]; }
    const inv = 1 / Math.sqrt(sq);
    for (let i = 0; i < embeddingSize; i++) v[i] *= inv;
    return v;
  });
}

export function range(start: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start + i);
}

/** `count` consecutive blocks centred in the model (all of them when it has fewer). */
export function middleBlocks(model: Model, count: number): number[] {
  const n = model.info.blockCount;
  const c = Math.min(count, n);
  return range(Math.floor((n - c) / 2), c);
}

/** k clamp directions, each kept within [-0.25, 0.25] (active on most tokens), at `blocks`. */
export function clampOps(model: Model, k: number, blocks: number[], seed: number): SteerOp[] {
  return unitVectors(k, model.info.embeddingSize, seed).map((d) => clamp(d, { min: -0.25, max: 0.25 }, blocks));
}

export function monitorEntries(model: Model, k: number, blocks: number[], seed: number): MonitorEntry[] {
  return unitVectors(k, model.info.embeddingSize, seed).map((vector, i) => ({ name: `m${i}`, vector, blocks }));
}

export function createContext(env: BenchEnv, model: Model, contextSize = 512): Promise<Context> {
  return model.createContext({ threads: env.opts.threads, contextSize, batchSize: Math.min(512, contextSize) });
}

/**
 * Greedy decode of n tokens after `prompt`; the time is from the first generated token's event
 * to the last one's (n - 1 tokens of steady decoding, as a user of the stream sees them).
 */
export async function decodeRun(ctx: Context, prompt: Int32Array, n: number, options: GenerateOptions = {}): Promise<Sample> {
  const stream = ctx.generate(prompt, { greedy: true, maxTokens: n, stopAtEog: false, ...options });
  let first = 0;
  let last = 0;
  let cpuFirst = 0;
  let cpuLast = 0;
  let count = 0;
  for await (const ev of stream) {
    if (ev.token === null) continue;
    const t = performance.now();
    const c = cpuNow();
    if (count === 0) { first = t; cpuFirst = c; }
    last = t;
    cpuLast = c;
    count++;
  }
  await stream.result;
  if (count < 2) throw new Error(`decode produced ${count} tokens`);
  return { ms: last - first, units: count - 1, cpuMs: cpuLast - cpuFirst };
}

/** CPU time of this process so far (user + system, all threads), in ms. */
export function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Wall (and CPU) time of fn, counted as `units` units. */
export async function timed(units: number, fn: () => Promise<unknown>): Promise<Sample> {
  const c0 = cpuNow();
  const t0 = performance.now();
  await fn();
  return { ms: performance.now() - t0, units, cpuMs: cpuNow() - c0 };
}

export function disposeAll(...items: { dispose(): unknown }[]): () => Promise<void> {
  return async () => {
    for (const it of items) await it.dispose();
  };
}

export function describeModel(model: Model): string {
  const i = model.info;
  const type = /\b(F32|F16|Q8_0|Q4_K\w*|BF16)\b/.exec(i.description)?.[1] ?? '';
  return `${i.blockCount}x${i.embeddingSize}${type ? ' ' + type : ''}, ${(i.parameterCount / 1e6).toFixed(i.parameterCount < 1e7 ? 2 : 0)}M params`;
}
