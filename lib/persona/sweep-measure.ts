// What a steering sweep measures about one answer, always with the unsteered model reading it
// under the sweep's prompt: how fluent it is (negative log-likelihood per answer token, and how
// many of its 4-grams repeat) and, without a judge, how far its response-token mean lies along
// the trait direction of reference answers (0 at the negative answers' mean, 1 at the positive's).
import type { Context, MeanItem } from '../context';
import { ErrorCodes, PersonaSteerError } from '../errors';
import { dot, norm, separation } from './extraction-math';
import { sampleTokens, type PromptFormat } from './prompt-format';
import type { ResponsePair } from './responses';

export interface AnswerMeasure {
  /** Mean negative log-likelihood per answer token, in nats. */
  nll: number;
  /** Fraction of the answer's token 4-grams that repeat an earlier one. */
  repetition: number;
  /** Mean projection of the answer's tokens on the trait direction (NaN without one). */
  projection: number;
}

/** The trait direction of the reference answers at one block, with where each pole's answers lie on it. */
export interface ProjectionScale {
  block: number;
  /** Unit direction: mean positive answer minus mean negative answer (response tokens). */
  direction: Float64Array;
  positiveMean: number;
  negativeMean: number;
  /** Cohen's d of the reference answers' projections. */
  separation: number;
  /**
   * Leave-one-out accuracy on the references: each reference answer classified (past the midpoint)
   * by the direction and means of all the others. The block chosen has the highest, then the
   * largest separation; a low value means the measure is a weak judge of this trait.
   */
  accuracy: number;
}

export interface ReferenceMeasure {
  scale: ProjectionScale | null;
  /** Mean NLL per token and repetition of the positive and of the negative reference answers. */
  positive: { nll: number; repetition: number };
  negative: { nll: number; repetition: number };
}

function aborted(): PersonaSteerError {
  return new PersonaSteerError(ErrorCodes.ABORTED, 'the steering sweep was aborted');
}

/** Unit mean(pos) - mean(neg), or null when they coincide. */
function direction(pos: readonly Float32Array[], neg: readonly Float32Array[], d: number): Float64Array | null {
  const dir = new Float64Array(d);
  for (const x of pos) for (let k = 0; k < d; k++) dir[k] += x[k]! / pos.length;
  for (const x of neg) for (let k = 0; k < d; k++) dir[k] -= x[k]! / neg.length;
  const n = norm(dir);
  if (!(n > 0)) return null;
  for (let k = 0; k < d; k++) dir[k] /= n;
  return dir;
}

/** Fraction of reference answers put on their own side by the direction and midpoint of all the others. */
function leaveOneOut(pos: readonly Float32Array[], neg: readonly Float32Array[], d: number): number {
  if (pos.length < 2 || neg.length < 2) return 0;
  let right = 0;
  const check = (i: number, positive: boolean) => {
    const p = positive ? pos.filter((_, k) => k !== i) : pos;
    const n = positive ? neg : neg.filter((_, k) => k !== i);
    const dir = direction(p, n, d);
    if (dir === null) return;
    const mid = (p.reduce((a, x) => a + dot(x, dir), 0) / p.length + n.reduce((a, x) => a + dot(x, dir), 0) / n.length) / 2;
    const x = dot((positive ? pos : neg)[i]!, dir);
    if (positive ? x > mid : x < mid) right++;
  };
  pos.forEach((_, i) => check(i, true));
  neg.forEach((_, i) => check(i, false));
  return right / (pos.length + neg.length);
}

/** 1 - distinct/total over token 4-grams (0 for answers shorter than five tokens). */
export function repetition(tokens: ArrayLike<number>): number {
  const grams: string[] = [];
  for (let i = 0; i + 4 <= tokens.length; i++) grams.push(`${tokens[i]},${tokens[i + 1]},${tokens[i + 2]},${tokens[i + 3]}`);
  return grams.length < 2 ? 0 : 1 - new Set(grams).size / grams.length;
}

/** Mean of -log softmax(logits[i - 1])[tokens[i]] over i in [start, end). `logits` has one row per token. */
export function meanNll(logits: readonly Float32Array[], tokens: ArrayLike<number>, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i++) {
    const row = logits[i - 1]!;
    let max = -Infinity;
    for (let k = 0; k < row.length; k++) if (row[k]! > max) max = row[k]!;
    let z = 0;
    for (let k = 0; k < row.length; k++) z += Math.exp(row[k]! - max);
    sum += max + Math.log(z) - row[tokens[i]!]!;
  }
  return sum / (end - start);
}

/** One unsteered pass over prompt + answer: NLL and repetition of the answer, its projection on the scale. */
export async function measureAnswer(context: Context, item: MeanItem, scale: ProjectionScale | null): Promise<AnswerMeasure> {
  const r = await context.evaluate([{ tokens: item.tokens, logits: 'all' }], { steer: null, ...(scale ? { captureBlocks: [scale.block] } : {}) });
  const nll = meanNll(r.logits, item.tokens, item.start, item.end);
  let projection = NaN;
  if (scale) {
    let s = 0;
    let n = 0;
    const rows = r.captures[0];
    rows?.positions.forEach((p, k) => {
      if (p >= item.start && p < item.end) { s += dot(rows.rows[k]!, scale.direction); n++; }
    });
    projection = n > 0 ? s / n : NaN;
  }
  return { nll, repetition: repetition(Array.prototype.slice.call(item.tokens, item.start, item.end) as number[]), projection };
}

/**
 * Reads each reference answer under the sweep's prompt (the pair's question, the sweep's system
 * prompt), unsteered: per-sample response means at every candidate block give the trait direction
 * mean(positive) - mean(negative); the block where the answers' projections separate best is kept.
 */
export async function measureReferences(context: Context, pairs: readonly ResponsePair[], blocks: readonly number[], prompt: { system?: string; format: PromptFormat },
  question: (p: ResponsePair) => string, signal: AbortSignal | undefined, onDone: () => void): Promise<ReferenceMeasure> {
  const d = context.model.info.embeddingSize;
  const means = { positive: [] as Map<number, Float32Array>[], negative: [] as Map<number, Float32Array>[] };
  const fluency = { positive: [] as { nll: number; repetition: number }[], negative: [] as { nll: number; repetition: number }[] };
  for (const [i, pair] of pairs.entries()) {
    for (const side of ['positive', 'negative'] as const) {
      if (signal?.aborted) throw aborted();
      const s = pair[side];
      const user = question(pair);
      const item = sampleTokens(context.model, { prompt: prompt.system === undefined ? { user } : { system: prompt.system, user }, response: s.response, responseTokens: s.responseTokens },
        prompt.format, `options.references[${i}].${side}`);
      const m = await context.captureMean([item], { blocks: [...blocks], signal });
      means[side].push(new Map(m.map((x) => [x.block, x.mean])));
      const f = await measureAnswer(context, item, null);
      fluency[side].push({ nll: f.nll, repetition: f.repetition });
      onDone();
    }
  }
  let scale: ProjectionScale | null = null;
  for (const b of blocks) {
    const pos = means.positive.map((m) => m.get(b)!);
    const neg = means.negative.map((m) => m.get(b)!);
    const dir = direction(pos, neg, d);
    if (dir === null) continue;
    const sep = separation(pos.map((x) => dot(x, dir)), neg.map((x) => dot(x, dir)));
    const value = Number.isFinite(sep.separation) ? sep.separation : sep.gap > 0 ? Infinity : -Infinity;
    const accuracy = leaveOneOut(pos, neg, d);
    if (scale === null || accuracy > scale.accuracy || (accuracy === scale.accuracy && value > scale.separation)) {
      scale = { block: b, direction: dir, positiveMean: sep.positiveMean, negativeMean: sep.negativeMean, separation: value, accuracy };
    }
  }
  const avg = (xs: { nll: number; repetition: number }[]) => ({
    nll: xs.reduce((s, x) => s + x.nll, 0) / xs.length,
    repetition: xs.reduce((s, x) => s + x.repetition, 0) / xs.length,
  });
  return { scale, positive: avg(fluency.positive), negative: avg(fluency.negative) };
}
