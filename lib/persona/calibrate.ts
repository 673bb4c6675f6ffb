// Capping thresholds from data (The Assistant Axis): project the residual stream of ordinary,
// neutral text on the vector at the positions the vector was read at, and take a statistic per
// block. For a last-prompt vector that is the prompt's last token under a neutral prompt, and the
// threshold is the mean there (the neutral assistant's typical value) less a tenth of the poles'
// gap (the mean depends on how the few calibration prompts happen to lean; the margin puts the cap
// past the model's decision, not on it); for a response-token vector,
// every token of the reference text (or of the model's own answers), and a percentile. Rows are read
// one prompt at a time and only the projections are kept: memory O(reference tokens x blocks).
import type { Context, MeanItem, PromptInput } from '../context';
import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
import { checkFunction, checkKeys, checkNumber, checkObject, checkOneOf, checkSignal, optInt } from '../validate';
import { checkEmbeddingSize } from '../vector/model-fit';
import { PersonaVector } from '../vector/persona-vector';
import type { SteerPositions } from '../vector/vector-metadata';
import { extractionPositions, separatingBlocks } from './defaults';
import { dot, norm, percentile } from './extraction-math';
import type { CapThresholds } from './steer';
import { resolveBlocks } from './vector-blocks';
import type { BlockSpec } from '../steering';

/** Reference text: a prompt (which tokens count: options.positions) or tokens with the range to use. */
export type ReferencePrompt = PromptInput | MeanItem;

/** Which tokens of each reference prompt are measured. */
export type CalibrationPositions = 'last-prompt' | 'response' | 'all';

export interface CalibrateCapOptions {
  /** 'max' (default) caps the projection from above; 'min' keeps a floor. */
  bound?: 'max' | 'min';
  /**
   * 'last-prompt': each prompt's last token (default for vectors read there); 'all': every token
   * but a leading BOS (default otherwise: the text is the reference); 'response': the model answers
   * each prompt (greedy, unsteered) and the answer's tokens are measured.
   */
  positions?: CalibrationPositions;
  /** 'mean' (default at 'last-prompt') or 'percentile' (default otherwise; implied by `percentile`). */
  statistic?: 'mean' | 'percentile';
  /** Percentile of the reference projections, 0-100 (default 75 for 'max', 25 for 'min': either way a
   * quarter of ordinary tokens would be touched, as in The Assistant Axis' 25th-percentile floor). */
  percentile?: number;
  /**
   * Moves each threshold toward the quiet side (down for 'max', up for 'min') by this fraction of
   * |v_b|, the gap between the poles' mean projections for an extracted vector. Default 0.1 with the
   * 'mean' statistic, else 0.
   */
  margin?: number;
  /** Default: separatingBlocks(vector), the blocks where |v_b| is at least half its largest. */
  blocks?: BlockSpec;
  /** With positions 'response': tokens per answer (default 64). */
  maxTokens?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface CapCalibration extends CapThresholds {
  bound: 'max' | 'min';
  statistic: 'mean' | 'percentile';
  /** The percentile used (statistic 'percentile'). */
  percentile?: number;
  /** The margin applied, as a fraction of |v_b|. */
  margin: number;
  /** Which reference tokens were measured. */
  measured: CalibrationPositions;
  /** Where the cap applies: the prompt for thresholds measured at the last prompt token, else every position. */
  positions: SteerPositions;
  blocks: number[];
  /** Threshold on h.v/|v| per block, parallel to blocks. */
  thresholds: number[];
  /** Reference tokens measured per block. */
  counts: number[];
}

function isMeanItem(p: unknown): p is MeanItem {
  return typeof p === 'object' && p !== null && 'tokens' in p && 'start' in p && 'end' in p;
}

const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;

export async function calibrateCap(context: Context, vector: PersonaVector, prompts: ReferencePrompt[], options: CalibrateCapOptions = {}): Promise<CapCalibration> {
  if (!(vector instanceof PersonaVector)) throw invalidArg('vector', 'a PersonaVector', vector);
  const o = checkObject('options', options);
  checkKeys('options', o, ['bound', 'positions', 'statistic', 'percentile', 'margin', 'blocks', 'maxTokens', 'signal', 'onProgress']);
  const bound = checkOneOf('options.bound', o.bound, ['max', 'min'] as const, 'max');
  const measured = checkOneOf('options.positions', o.positions, ['last-prompt', 'response', 'all'] as const,
    extractionPositions(vector) === 'last-prompt' ? 'last-prompt' : 'all');
  const statistic = checkOneOf('options.statistic', o.statistic, ['mean', 'percentile'] as const,
    o.percentile !== undefined || measured !== 'last-prompt' ? 'percentile' : 'mean');
  if (statistic === 'mean' && o.percentile !== undefined) throw invalidArg('options.percentile', "absent with statistic 'mean'", o.percentile);
  const pct = o.percentile === undefined ? (bound === 'max' ? 75 : 25) : checkNumber('options.percentile', o.percentile, 0, 100);
  const margin = o.margin === undefined ? (statistic === 'mean' ? 0.1 : 0) : checkNumber('options.margin', o.margin, 0, 10);
  const maxTokens = optInt('options.maxTokens', o.maxTokens, 1, 1 << 16, 64);
  if (o.maxTokens !== undefined && measured !== 'response') throw invalidArg('options.maxTokens', "absent unless positions is 'response'", o.maxTokens);
  const signal = checkSignal('options.signal', o.signal);
  const onProgress = checkFunction<(d: number, t: number) => void>('options.onProgress', o.onProgress);
  const info = context.model.info;
  const blocks = resolveBlocks('options.blocks', vector, o.blocks, { blockCount: info.blockCount, fallback: separatingBlocks(vector) });
  checkEmbeddingSize(vector, info.embeddingSize);
  if (!Array.isArray(prompts) || prompts.length === 0) throw invalidArg('prompts', 'a non-empty array of prompts', prompts);
  const lengths = new Map<number, number>();
  const units = new Map(blocks.map((b) => {
    const x = vector.block(b);
    const n = norm(x);
    if (n === 0) throw invalidArg(`vector@${b}`, 'a block with non-zero length', 'a zero vector');
    lengths.set(b, n);
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
    } else if (measured === 'last-prompt') {
      tokens = context.tokens(p, `prompts[${i}]`);
      mask = Array.from(tokens, (_, k) => k === tokens.length - 1);
    } else if (measured === 'response') {
      const prompt = context.tokens(p, `prompts[${i}]`);
      const r = await context.complete(prompt, { greedy: true, maxTokens, steer: null, signal });
      if (r.stopReason === 'abort') throw new PersonaSteerError(ErrorCodes.ABORTED, 'calibrateCap was aborted');
      if (r.tokens.length === 0) { onProgress?.(i + 1, prompts.length); continue; }
      tokens = Int32Array.from([...prompt, ...r.tokens]);
      mask = Array.from(tokens, (_, k) => k >= prompt.length);
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
  if (blocks.some((b) => values.get(b)!.length === 0)) {
    throw new PersonaSteerError(ErrorCodes.EXTRACTION, 'calibrateCap measured no reference token (every answer ended at once)');
  }
  const out: CapCalibration = {
    bound,
    statistic,
    measured,
    positions: measured === 'last-prompt' ? 'prompt' : 'all',
    blocks,
    margin,
    thresholds: blocks.map((b) => {
      const t = statistic === 'mean' ? mean(values.get(b)!) : percentile(values.get(b)!, pct);
      return t + (bound === 'max' ? -1 : 1) * margin * lengths.get(b)!;
    }),
    counts: blocks.map((b) => values.get(b)!.length),
  };
  if (statistic === 'percentile') out.percentile = pct;
  return out;
}

/** The vector with the calibration recorded as metadata (capBlocks, capThresholds, capPositions); the steering recommendation is kept. */
export function withCapThresholds(vector: PersonaVector, calibration: CapCalibration): PersonaVector {
  if (!(vector instanceof PersonaVector)) throw invalidArg('vector', 'a PersonaVector', vector);
  const c = checkObject('calibration', calibration, false);
  if (c.bound !== 'max') throw invalidArg('calibration.bound', "'max' (recorded thresholds cap from above)", c.bound);
  const positions = checkOneOf('calibration.positions', c.positions, ['all', 'prompt', 'generated'] as const, 'all');
  return vector.withMetadata({ capBlocks: [...calibration.blocks], capThresholds: [...calibration.thresholds], capPositions: positions });
}
