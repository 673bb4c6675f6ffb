// Capping thresholds from data (The Assistant Axis): project the residual stream of ordinary
// reference text on the vector, token by token, and take a percentile per block. Rows are read one
// prompt at a time and only the projections are kept: memory O(reference tokens x blocks).
import type { Context, MeanItem, PromptInput } from '../context';
import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
import { checkFunction, checkKeys, checkNumber, checkObject, checkOneOf, checkSignal } from '../validate';
import { PersonaVector } from '../vector/persona-vector';
import { dot, norm, percentile } from './extraction-math';
import type { CapThresholds } from './steer';
import type { BlockSpec } from '../steering';

/** Reference text: a prompt (every token but a leading BOS counts) or tokens with the range to use. */
export type ReferencePrompt = PromptInput | MeanItem;

export interface CalibrateCapOptions {
  /** 'max' (default) caps the projection from above; 'min' keeps a floor. */
  bound?: 'max' | 'min';
  /** Percentile of the reference projections, 0-100 (default 75 for 'max', 25 for 'min': either way a
   * quarter of ordinary tokens would be touched, as in The Assistant Axis' 25th-percentile floor). */
  percentile?: number;
  /** Default: the vector's recommendedBlocks, else every block it has. */
  blocks?: BlockSpec;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface CapCalibration extends CapThresholds {
  bound: 'max' | 'min';
  percentile: number;
  blocks: number[];
  /** Threshold on h.v/|v| per block, parallel to blocks. */
  thresholds: number[];
  /** Reference tokens measured per block. */
  counts: number[];
}

function isMeanItem(p: unknown): p is MeanItem {
  return typeof p === 'object' && p !== null && 'tokens' in p && 'start' in p && 'end' in p;
}

export async function calibrateCap(context: Context, vector: PersonaVector, prompts: ReferencePrompt[], options: CalibrateCapOptions = {}): Promise<CapCalibration> {
  if (!(vector instanceof PersonaVector)) throw invalidArg('vector', 'a PersonaVector', vector);
  const o = checkObject('options', options);
  checkKeys('options', o, ['bound', 'percentile', 'blocks', 'signal', 'onProgress']);
  const bound = checkOneOf('options.bound', o.bound, ['max', 'min'] as const, 'max');
  const pct = o.percentile === undefined ? (bound === 'max' ? 75 : 25) : checkNumber('options.percentile', o.percentile, 0, 100);
  const signal = checkSignal('options.signal', o.signal);
  const onProgress = checkFunction<(d: number, t: number) => void>('options.onProgress', o.onProgress);
  const info = context.model.info;
  let blocks: number[];
  if (o.blocks === undefined) blocks = [...(vector.metadata.recommendedBlocks ?? vector.blocks)].sort((a, b) => a - b);
  else if (o.blocks === 'all') blocks = [...vector.blocks];
  else blocks = [...new Set(typeof o.blocks === 'number' ? [o.blocks] : Array.isArray(o.blocks) ? o.blocks as number[] : [])].sort((a, b) => a - b);
  if (blocks.length === 0) throw invalidArg('options.blocks', "a block, a non-empty array of blocks or 'all'", o.blocks);
  blocks.forEach((b, i) => {
    if (!vector.has(b)) throw invalidArg(`options.blocks[${i}]`, `a block the vector has (${vector.blocks.join(', ')})`, b);
    if (b >= info.blockCount) throw invalidArg(`options.blocks[${i}]`, `a block of the model (0 to ${info.blockCount - 1})`, b);
  });
  if (vector.nEmbd !== info.embeddingSize) {
    throw new PersonaSteerError(ErrorCodes.MODEL_MISMATCH, `the vector has n_embd ${vector.nEmbd} but the model has n_embd ${info.embeddingSize}`);
  }
  if (!Array.isArray(prompts) || prompts.length === 0) throw invalidArg('prompts', 'a non-empty array of prompts', prompts);
  const units = new Map(blocks.map((b) => {
    const x = vector.block(b);
    const n = norm(x);
    if (n === 0) throw invalidArg(`vector@${b}`, 'a block with non-zero length', 'a zero vector');
    return [b, Float64Array.from(x, (a) => a / n)];
  }));
  const values = new Map<number, number[]>(blocks.map((b) => [b, []]));
  for (let i = 0; i < prompts.length; i++) {
    if (signal?.aborted) throw new PersonaSteerError(ErrorCodes.ABORTED, 'calibrateCap was aborted');
    const p = prompts[i];
    let tokens: Int32Array;
    let mask: boolean[];
    if (isMeanItem(p)) {
      checkKeys(`prompts[${i}]`, p as unknown as Record<string, unknown>, ['tokens', 'start', 'end']);
      tokens = context.tokens(p.tokens, `prompts[${i}].tokens`);
      const { start, end } = p;
      if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > tokens.length || start >= end) {
        throw invalidArg(`prompts[${i}]`, `a range 0 <= start < end <= ${tokens.length}`, `[${start}, ${end})`);
      }
      mask = Array.from(tokens, (_, k) => k >= start && k < end);
    } else {
      tokens = context.tokens(p, `prompts[${i}]`);
      // BOS is an attention sink with an atypical residual; it would skew the percentiles.
      mask = Array.from(tokens, (t, k) => !(k === 0 && t === info.bosToken && tokens.length > 1));
    }
    const r = await context.capture(tokens, { blocks, positions: mask, steer: null });
    for (const rows of r.blocks) {
      const u = units.get(rows.block)!;
      const dst = values.get(rows.block)!;
      for (const row of rows.rows) dst.push(dot(row, u));
    }
    onProgress?.(i + 1, prompts.length);
  }
  return {
    bound,
    percentile: pct,
    blocks,
    thresholds: blocks.map((b) => percentile(values.get(b)!, pct)),
    counts: blocks.map((b) => values.get(b)!.length),
  };
}

/** The vector with the calibration recorded as metadata (recommendedBlocks and capThresholds). */
export function withCapThresholds(vector: PersonaVector, calibration: CapCalibration): PersonaVector {
  if (!(vector instanceof PersonaVector)) throw invalidArg('vector', 'a PersonaVector', vector);
  const c = checkObject('calibration', calibration, false);
  if (c.bound !== 'max') throw invalidArg('calibration.bound', "'max' (recorded thresholds cap from above)", c.bound);
  return vector.withMetadata({ recommendedBlocks: [...calibration.blocks], capThresholds: [...calibration.thresholds] });
}
