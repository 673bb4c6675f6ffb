// Steering plans: add / clamp / ablate, normalised into the plain plan the addon compiles.
// Semantics (docs/api.md): at each steered block, additions first (h += scale * v), then every
// clamp and ablation from that post-addition h with u = v / |v|:
//   h += sum_k (clamp(h.u_k, min_k, max_k) - h.u_k) u_k      (ablate: min = max = 0)
import { invalidArg } from './errors';
import type { NativePlan, NativePlanOp } from './native';
import { checkKeys, checkNumber, checkObject, checkOneOf } from './validate';
import { readVectorInput, type BlockSpec, type VectorInput } from './vector-input';

export type { BlockSpec, BlockVectors, VectorInput } from './vector-input';

export interface AddOp { kind: 'add'; vector: VectorInput; scale?: number; blocks?: BlockSpec }
export interface ClampOp { kind: 'clamp'; direction: VectorInput; min?: number | null; max?: number | null; blocks?: BlockSpec }
export interface AblateOp { kind: 'ablate'; direction: VectorInput; blocks?: BlockSpec }
export type SteerOp = AddOp | ClampOp | AblateOp;

export type Positions = 'all' | 'prompt' | 'generated';

export interface SteeringPlan {
  ops: SteerOp[];
  /** Which token positions the plan applies to: every token (default, as llama.cpp's control
   * vectors), prompt tokens only, or 'generated': the last prompt token and every generated token
   * (each position whose output picks a generated token). */
  positions?: Positions;
}

/** h += scale * v at `blocks` (default: every block the vector has). */
export function add(vector: VectorInput, scale = 1, blocks?: BlockSpec): AddOp {
  return { kind: 'add', vector, scale, blocks };
}

/** Keeps the projection h.u within [min, max] (either bound optional). */
export function clamp(direction: VectorInput, bounds: { min?: number | null; max?: number | null }, blocks?: BlockSpec): ClampOp {
  return { kind: 'clamp', direction, min: bounds?.min, max: bounds?.max, blocks };
}

/** Removes the component along the direction: clamp with min = max = 0. */
export function ablate(direction: VectorInput, blocks?: BlockSpec): AblateOp {
  return { kind: 'ablate', direction, blocks };
}

/** Argument names for error messages when an op is built from a function's own arguments. */
export interface OpFieldNames { vector?: string; blocks?: string; scale?: string }

export function toNativeOp(name: string, op: unknown, embeddingSize: number, blockCount: number, fields: OpFieldNames = {}): NativePlanOp {
  const o = checkObject(name, op, false);
  const kind = checkOneOf(`${name}.kind`, o.kind, ['add', 'clamp', 'ablate'] as const);
  const allowed = kind === 'add' ? ['kind', 'vector', 'scale', 'blocks'] : kind === 'clamp'
    ? ['kind', 'direction', 'min', 'max', 'blocks'] : ['kind', 'direction', 'blocks'];
  checkKeys(name, o, allowed);
  const vecName = fields.vector ?? (kind === 'add' ? `${name}.vector` : `${name}.direction`);
  const blocksName = fields.blocks ?? `${name}.blocks`;
  // Clamps and ablations divide by |v|: their vectors must be directions.
  const { blocks, values } = readVectorInput(kind === 'add' ? o.vector : o.direction, o.blocks,
    { embeddingSize, blockCount }, { vector: vecName, blocks: blocksName }, kind !== 'add');
  const vectors = new Float32Array(blocks.length * embeddingSize);
  values.forEach((v, i) => vectors.set(v, i * embeddingSize));
  const out: NativePlanOp = { kind: kind === 'add' ? 'add' : 'clamp', blocks: Int32Array.from(blocks), vectors };
  if (kind === 'add') {
    out.scale = o.scale === undefined ? 1 : checkNumber(fields.scale ?? `${name}.scale`, o.scale);
  } else if (kind === 'ablate') {
    out.min = 0;
    out.max = 0;
  } else {
    const min = o.min === undefined || o.min === null ? undefined : checkNumber(`${name}.min`, o.min);
    const max = o.max === undefined || o.max === null ? undefined : checkNumber(`${name}.max`, o.max);
    if (min === undefined && max === undefined) throw invalidArg(`${name}`, 'a clamp with min, max or both', o);
    if (min !== undefined && max !== undefined && min > max) throw invalidArg(`${name}.min`, `a number <= max (${max})`, min);
    if (min !== undefined) out.min = min;
    if (max !== undefined) out.max = max;
  }
  return out;
}

/** Validates a plan (or a bare array of ops) and turns it into the addon's form. */
export function toNativePlan(plan: SteeringPlan | SteerOp[], embeddingSize: number, blockCount: number, name = 'plan'): NativePlan {
  const p: SteeringPlan = Array.isArray(plan) ? { ops: plan } : plan;
  const o = checkObject(name, p, false);
  checkKeys(name, o, ['ops', 'positions']);
  if (!Array.isArray(o.ops)) throw invalidArg(`${name}.ops`, 'an array of steering operations', o.ops);
  const positions = checkOneOf(`${name}.positions`, o.positions, ['all', 'prompt', 'generated'] as const, 'all');
  const prefix = Array.isArray(plan) ? name : `${name}.ops`;
  return { positions, ops: (o.ops as unknown[]).map((op, i) => toNativeOp(`${prefix}[${i}]`, op, embeddingSize, blockCount)) };
}
