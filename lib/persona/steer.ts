// Persona-level steering helpers: they read a PersonaVector's metadata (recommended blocks,
// coefficient, residual norms, cap thresholds) and produce the plain ops of lib/steering.ts.
//
// Units (docs/persona.md):
//   raw       h <- h + a * v_b                      (a multiplies the vector as extracted)
//   relative  h <- h + a * r_b * v_b / |v_b|        (r_b = metadata.residualNorms[b]: a = 0.1 moves
//                                                    h by a tenth of the block's typical norm)
//   cap       h <- h - max(0, h.u - tau_b) u,  u = v_b / |v_b|   (max: projection kept <= tau_b)
//             h <- h + max(0, tau_b - h.u) u                      (min: projection kept >= tau_b)
import { invalidArg } from '../errors';
import type { AblateOp, AddOp, BlockSpec, ClampOp, Positions, SteerOp, SteeringPlan } from '../steering';
import { checkKeys, checkNumber, checkObject, checkOneOf, optBool } from '../validate';
import { PersonaVector } from '../vector/persona-vector';
import { capThresholdBlocks, type SteerPositions } from '../vector/vector-metadata';
import { norm } from './extraction-math';
import { resolveBlocks } from './vector-blocks';

/**
 * The token positions an op's vector recommends for it (metadata.positions for an addition at the
 * recorded coefficient, metadata.capPositions for a cap at the recorded thresholds). A symbol, so
 * the op's own keys stay those of lib/steering.ts; personaPlan reads it.
 */
export const RECOMMENDED_POSITIONS: unique symbol = Symbol('persona-steer.recommendedPositions');

type Tagged<T> = T & { [RECOMMENDED_POSITIONS]?: SteerPositions };

function tag<T extends object>(op: T, positions: SteerPositions | undefined): T {
  if (positions !== undefined) Object.defineProperty(op, RECOMMENDED_POSITIONS, { value: positions, enumerable: false });
  return op;
}

/** The positions an op recommends, if it came from a persona helper reading a vector's metadata. */
export function recommendedPositions(op: unknown): SteerPositions | undefined {
  return typeof op === 'object' && op !== null ? (op as Tagged<object>)[RECOMMENDED_POSITIONS] : undefined;
}

/** Thresholds per block, as calibrateCap returns them. */
export interface CapThresholds {
  blocks: readonly number[];
  thresholds: readonly number[];
  /** 'max' caps from above (default), 'min' keeps a floor. */
  bound?: 'max' | 'min';
  /** Where the thresholds were measured, hence where the cap applies (personaPlan reads it). */
  positions?: SteerPositions;
}

/** One threshold for every block, or one per block (an array parallel to `blocks`, or block -> threshold). */
export type Threshold = number | readonly number[] | Readonly<Record<number, number>> | ReadonlyMap<number, number>;

export interface CapOptions {
  max?: Threshold;
  min?: Threshold;
  /** Default: the vector's recommendedBlocks, else every block it has. */
  blocks?: BlockSpec;
}

function checkVector(name: string, v: unknown): PersonaVector {
  if (!(v instanceof PersonaVector)) throw invalidArg(name, 'a PersonaVector', v);
  return v;
}

/**
 * Adds the vector: h += coefficient * v at each block (raw), or with relative: true,
 * h += coefficient * residualNorms[b] * v_b / |v_b|. Defaults: the coefficient and the recommended
 * blocks recorded in the vector's metadata, so `steerAdd(v)` is the recorded recommendation
 * (personaPlan([steerAdd(v)]) also applies its recorded positions). A coefficient of its own keeps
 * the op's positions recommendation too: only the strength changes.
 */
export function steerAdd(vector: PersonaVector, coefficient?: number, options: { blocks?: BlockSpec; relative?: boolean } = {}): AddOp {
  const v = checkVector('vector', vector);
  const o = checkObject('options', options);
  checkKeys('options', o, ['blocks', 'relative']);
  const relative = optBool('options.relative', o.relative, false);
  let scale: number;
  if (coefficient === undefined) {
    if (v.metadata.coefficient === undefined) {
      throw invalidArg('coefficient', "a number (the vector's metadata records none: it was extracted without a steering sweep; run sweepSteering or persona-steer sweep, or give one)", coefficient);
    }
    if (relative) throw invalidArg('coefficient', "a number: the recorded coefficient is in raw units and cannot be used with relative: true", coefficient);
    scale = v.metadata.coefficient;
  } else {
    scale = checkNumber('coefficient', coefficient);
  }
  const blocks = resolveBlocks('options.blocks', v, o.blocks);
  if (!relative) return tag<AddOp>({ kind: 'add', vector: v, scale, blocks }, v.metadata.positions);
  const norms = v.metadata.residualNorms;
  const scaled = new Map<number, Float32Array>();
  for (const b of blocks) {
    const r = norms?.[b];
    if (r === undefined) throw invalidArg('vector.metadata.residualNorms', `an entry for block ${b} (relative coefficients are in units of it)`, norms);
    const x = v.block(b);
    const n = norm(x);
    if (n === 0) throw invalidArg(`vector@${b}`, 'a block with non-zero length (a relative coefficient needs a direction)', 'a zero vector');
    scaled.set(b, Float32Array.from(x, (a) => (a / n) * r));
  }
  return tag<AddOp>({ kind: 'add', vector: scaled, scale, blocks }, v.metadata.positions);
}

function thresholdAt(name: string, t: Threshold, blocks: number[], i: number): number {
  if (typeof t === 'number') return checkNumber(name, t);
  if (Array.isArray(t)) {
    if (t.length !== blocks.length) throw invalidArg(name, `${blocks.length} thresholds, one per block (${blocks.join(', ')})`, t);
    return checkNumber(`${name}[${i}]`, t[i]);
  }
  const b = blocks[i];
  const value = t instanceof Map ? t.get(b) : typeof t === 'object' && t !== null ? (t as Record<number, number>)[b] : undefined;
  if (value === undefined) {
    if (typeof t !== 'object' || t === null) throw invalidArg(name, 'a number, an array of numbers or a map from block to number', t);
    throw invalidArg(`${name}[${b}]`, `a threshold for block ${b}`, undefined);
  }
  return checkNumber(`${name}[${b}]`, value);
}

function isCalibration(v: unknown): v is CapThresholds {
  return typeof v === 'object' && v !== null && Array.isArray((v as CapThresholds).blocks) && Array.isArray((v as CapThresholds).thresholds);
}

/** Both bounds absent or plain numbers: one clamp op serves every block. */
function isUniform(o: Record<string, unknown>): boolean {
  return (o.max !== undefined || o.min !== undefined) && (o.max === undefined || typeof o.max === 'number') &&
    (o.min === undefined || typeof o.min === 'number');
}

/**
 * Caps the projection h.v_b/|v_b| at each block: from above with `max`, from below with `min`,
 * or both. Thresholds are absolute projections. With numbers for the bounds: one clamp op for
 * every block. With per-block thresholds (an array parallel to the blocks, or block -> value), with
 * calibrateCap's result, or with no bounds (the vector's recorded capThresholds at its capBlocks,
 * else its recommended blocks, capping from above): one clamp op per block, in an array
 * (personaPlan flattens it and applies the calibration's or the recorded cap positions).
 */
export function cap(vector: PersonaVector, options: ({ max: number; min?: number } | { min: number; max?: number }) & { blocks?: BlockSpec }): ClampOp;
export function cap(vector: PersonaVector, options?: CapOptions | CapThresholds): ClampOp[];
export function cap(vector: PersonaVector, given?: CapOptions | CapThresholds): ClampOp | ClampOp[] {
  const v = checkVector('vector', vector);
  const options = given ?? {};
  if (isCalibration(options)) {
    const o = options as unknown as Record<string, unknown>;
    checkKeys('options', o, ['blocks', 'thresholds', 'bound', 'percentile', 'statistic', 'margin', 'measured', 'positions', 'counts']);
    const bound = checkOneOf('options.bound', o.bound, ['max', 'min'] as const, 'max');
    const positions = o.positions === undefined ? undefined : checkOneOf('options.positions', o.positions, ['all', 'prompt', 'generated'] as const);
    const blocks = resolveBlocks('options.blocks', v, [...options.blocks]);
    if (blocks.length !== options.blocks.length || blocks.some((b, i) => b !== options.blocks[i])) {
      throw invalidArg('options.blocks', 'distinct blocks in ascending order', options.blocks);
    }
    return perBlock(v, blocks, bound === 'max' ? options.thresholds : undefined, bound === 'min' ? options.thresholds : undefined)
      .map((op) => tag(op, positions));
  }
  const o = checkObject('options', options);
  checkKeys('options', o, ['max', 'min', 'blocks']);
  if (o.max === undefined && o.min === undefined) {
    const md = v.metadata;
    const owner = capThresholdBlocks(md);
    if (md.capThresholds === undefined || owner === undefined) {
      if (given === undefined) {
        throw invalidArg('options', "given (cap(vector) alone caps at the vector's recorded thresholds, and this vector's metadata has no capThresholds: " +
          'calibrate them with calibrateCap and withCapThresholds, or persona-steer calibrate; or pass { max } or { min })', given);
      }
      throw invalidArg('options', "an object with max or min (the vector's metadata has no capThresholds: run calibrateCap and withCapThresholds, or persona-steer calibrate)", options);
    }
    if (o.blocks !== undefined) throw invalidArg('options.blocks', "absent when the vector's recorded thresholds are used (they belong to its cap blocks)", o.blocks);
    const order = owner.map((b, i) => [b, md.capThresholds![i]] as const).sort((a, b) => a[0] - b[0]);
    return perBlock(v, order.map((x) => x[0]), order.map((x) => x[1]), undefined).map((op) => tag(op, md.capPositions));
  }
  const blocks = resolveBlocks('options.blocks', v, o.blocks);
  if (isUniform(o)) {
    const min = o.min === undefined ? undefined : checkNumber('options.min', o.min);
    const max = o.max === undefined ? undefined : checkNumber('options.max', o.max);
    if (min !== undefined && max !== undefined && min > max) throw invalidArg('options.min', `a number <= max (${max})`, min);
    return clampOp(v, blocks, min, max);
  }
  return perBlock(v, blocks, o.max as Threshold | undefined, o.min as Threshold | undefined);
}

function clampOp(v: PersonaVector, blocks: number[], min: number | undefined, max: number | undefined): ClampOp {
  const op: ClampOp = { kind: 'clamp', direction: v, blocks };
  if (min !== undefined) op.min = min;
  if (max !== undefined) op.max = max;
  return op;
}

function perBlock(v: PersonaVector, blocks: number[], maxT: Threshold | undefined, minT: Threshold | undefined): ClampOp[] {
  return blocks.map((b, i) => {
    const min = minT === undefined ? undefined : thresholdAt('options.min', minT, blocks, i);
    const max = maxT === undefined ? undefined : thresholdAt('options.max', maxT, blocks, i);
    if (min !== undefined && max !== undefined && min > max) throw invalidArg(`options.min (block ${b})`, `a number <= max (${max})`, min);
    return clampOp(v, [b], min, max);
  });
}

/** Removes the component along the vector: h <- h - (h.u)u (default blocks: the recommended ones). */
export function steerAblate(vector: PersonaVector, options: { blocks?: BlockSpec } = {}): AblateOp {
  const v = checkVector('vector', vector);
  const o = checkObject('options', options);
  checkKeys('options', o, ['blocks']);
  return { kind: 'ablate', direction: v, blocks: resolveBlocks('options.blocks', v, o.blocks) };
}

/**
 * A steering plan from ops and arrays of ops (as cap returns), for generate({ steer }) or
 * setSteering. Positions: options.positions, else the positions the ops' vectors recommend
 * (steerAdd at the recorded coefficient: metadata.positions; cap at recorded or calibrated
 * thresholds: where they were measured), else every position. Ops recommending different
 * positions need options.positions (a plan has one).
 */
export function personaPlan(parts: readonly (SteerOp | readonly SteerOp[])[], options: { positions?: Positions } = {}): SteeringPlan {
  if (!Array.isArray(parts)) throw invalidArg('parts', 'an array of steering ops or arrays of ops', parts);
  const o = checkObject('options', options);
  checkKeys('options', o, ['positions']);
  const ops = parts.flatMap((p) => (Array.isArray(p) ? [...p] : [p as SteerOp]));
  const plan: SteeringPlan = { ops };
  if (o.positions !== undefined) {
    plan.positions = checkOneOf('options.positions', o.positions, ['all', 'prompt', 'generated'] as const);
    return plan;
  }
  const wanted = [...new Set(ops.map(recommendedPositions).filter((p): p is SteerPositions => p !== undefined))];
  if (wanted.length > 1) {
    throw invalidArg('options.positions', `one of all, prompt, generated: the ops' vectors recommend different positions (${wanted.join(', ')}) and a plan has one`, undefined);
  }
  if (wanted.length === 1) plan.positions = wanted[0];
  return plan;
}
