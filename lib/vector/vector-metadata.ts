// The metadata a PersonaVector carries, its validation and the rules for what survives each
// operation. Stored in control-vector files under the persona_steer.* keys (docs/vectors.md).

import { invalidArg } from '../errors';
import { GgufType, GgufValue } from './gguf-format';
import { checkGgufValue } from './gguf-writer';

export const MAX_BLOCK = 65_535;
export const MAX_EMBEDDING_SIZE = 1 << 24;
const MAX_TEXT = 65_536;

export interface VectorSource {
  /** The model's general.architecture, e.g. "llama", "qwen2". */
  readonly architecture?: string;
  /** Decoder blocks of the source model (its model.info.blockCount; llama.cpp's n_layer). */
  readonly blockCount?: number;
  /** The source model's embedding size (its model.info.embeddingSize; llama.cpp's n_embd). */
  readonly embeddingSize?: number;
  /** An identifier of the exact weights (for example a SHA-256 of the model file). */
  readonly hash?: string;
}

/** A SteeringPlan's positions: every token, prompt tokens only, or the tokens that pick generated ones. */
export type SteerPositions = 'all' | 'prompt' | 'generated';
export const STEER_POSITIONS: readonly SteerPositions[] = ['all', 'prompt', 'generated'];
export type RecommendedBy = 'sweep' | 'separation';
export const RECOMMENDED_BY: readonly RecommendedBy[] = ['sweep', 'separation'];

export interface PersonaVectorMetadata {
  /** controlvector.model_hint: the architecture the vector is for. */
  readonly modelHint?: string;
  readonly trait?: string;
  /** "mean-diff", "pca" or another method name. */
  readonly method?: string;
  readonly description?: string;
  readonly source?: VectorSource;
  /** Typical L2 norm of the residual stream (l_out) per block, indexed by block. */
  readonly residualNorms?: readonly number[];
  /** Blocks to steer at (and, for files without capBlocks, to cap at), each a block of the vector. */
  readonly recommendedBlocks?: readonly number[];
  /** Steering coefficient α for h ← h + α·v (raw units). */
  readonly coefficient?: number;
  /** Token positions the recommended addition applies to (a SteeringPlan's positions). */
  readonly positions?: SteerPositions;
  /** How recommendedBlocks and coefficient were chosen: a steering sweep, or block separation alone (not tested by generating). */
  readonly recommendedBy?: RecommendedBy;
  /** Blocks the recorded cap thresholds belong to (persona-steer calibrate); absent: recommendedBlocks. */
  readonly capBlocks?: readonly number[];
  /** Capping thresholds τ on the projection h·v̂, one per entry of capBlocks (else of recommendedBlocks). */
  readonly capThresholds?: readonly number[];
  /** Token positions the recorded cap applies to. */
  readonly capPositions?: SteerPositions;
  /** Other GGUF keys read from a file, written back unchanged. */
  readonly extra?: Readonly<Record<string, GgufValue>>;
}

const KEYS = new Set([
  'modelHint', 'trait', 'method', 'description', 'source', 'residualNorms', 'recommendedBlocks',
  'coefficient', 'positions', 'recommendedBy', 'capBlocks', 'capThresholds', 'capPositions', 'extra',
]);
const SOURCE_KEYS = new Set(['architecture', 'blockCount', 'embeddingSize', 'hash']);
/** Source keys of earlier versions, refused with their new name. */
const RENAMED_SOURCE_KEYS: Readonly<Record<string, string>> = { nLayer: 'blockCount', nEmbd: 'embeddingSize' };
const STRING_KEYS = ['modelHint', 'trait', 'method', 'description'] as const;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function text(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_TEXT || LONE_SURROGATE.test(v)) {
    throw invalidArg(name, `a non-empty well-formed string of at most ${MAX_TEXT} characters`, v);
  }
  return v;
}

function int(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidArg(name, `an integer in [${min}, ${max}]`, v);
  }
  return v;
}

function finite(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidArg(name, 'a finite number', v);
  return v;
}

function list(v: unknown, name: string, max: number): readonly unknown[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > max) {
    throw invalidArg(name, `a non-empty array of at most ${max} entries`, v);
  }
  return v;
}

function oneOf<T extends string>(v: unknown, options: readonly T[], name: string): T {
  if (typeof v !== 'string' || !options.includes(v as T)) throw invalidArg(name, `one of ${options.map((o) => JSON.stringify(o)).join(', ')}`, v);
  return v as T;
}

/** Distinct blocks of the vector, in the given order. */
function blockList(v: unknown, present: readonly number[], name: string): readonly number[] {
  const have = new Set(present);
  const seen = new Set<number>();
  return Object.freeze(list(v, name, MAX_BLOCK + 1).map((x, i) => {
    const b = int(x, `${name}[${i}]`, 0, MAX_BLOCK);
    if (!have.has(b)) throw invalidArg(`${name}[${i}]`, `one of the vector's blocks (${present.join(', ')})`, b);
    if (seen.has(b)) throw invalidArg(`${name}[${i}]`, 'a block not listed before', b);
    seen.add(b);
    return b;
  }));
}

function knownKeys(obj: Record<string, unknown>, keys: Set<string>, name: string, renamed: Readonly<Record<string, string>> = {}): void {
  for (const k of Object.keys(obj)) {
    if (keys.has(k)) continue;
    if (Object.hasOwn(renamed, k)) throw invalidArg(`${name}.${k}`, `absent (renamed ${renamed[k]})`, obj[k]);
    throw invalidArg(`${name}.${k}`, `absent (known keys: ${[...keys].join(', ')})`, obj[k]);
  }
}

/**
 * Validates `meta` against the vector's shape and returns a deep-frozen copy holding only the
 * keys that are set. Throws ERR_INVALID_ARG naming the offending path under `name`.
 */
export function checkMetadata(
  meta: unknown, shape: { embeddingSize: number; blocks: readonly number[] }, name = 'metadata',
): PersonaVectorMetadata {
  if (meta === undefined) return Object.freeze({});
  if (!isPlainObject(meta)) throw invalidArg(name, 'a plain object', meta);
  knownKeys(meta, KEYS, name);
  const out: Record<string, unknown> = {};
  for (const k of STRING_KEYS) {
    if (meta[k] !== undefined) out[k] = text(meta[k], `${name}.${k}`);
  }
  const maxBlock = shape.blocks[shape.blocks.length - 1] ?? 0;
  if (meta.source !== undefined) out.source = checkSource(meta.source, shape, maxBlock, `${name}.source`);
  const blockCount = (out.source as VectorSource | undefined)?.blockCount;
  if (meta.residualNorms !== undefined) {
    const max = blockCount ?? MAX_BLOCK + 1;
    const norms = list(meta.residualNorms, `${name}.residualNorms`, max).map((x, i) => {
      const v = finite(x, `${name}.residualNorms[${i}]`);
      if (v < 0) throw invalidArg(`${name}.residualNorms[${i}]`, 'a non-negative number', v);
      return v;
    });
    out.residualNorms = Object.freeze(norms);
  }
  if (meta.recommendedBlocks !== undefined) out.recommendedBlocks = blockList(meta.recommendedBlocks, shape.blocks, `${name}.recommendedBlocks`);
  if (meta.coefficient !== undefined) out.coefficient = finite(meta.coefficient, `${name}.coefficient`);
  if (meta.positions !== undefined) out.positions = oneOf(meta.positions, STEER_POSITIONS, `${name}.positions`);
  if (meta.recommendedBy !== undefined) out.recommendedBy = oneOf(meta.recommendedBy, RECOMMENDED_BY, `${name}.recommendedBy`);
  if (meta.capBlocks !== undefined) out.capBlocks = blockList(meta.capBlocks, shape.blocks, `${name}.capBlocks`);
  if (meta.capThresholds !== undefined) {
    const owner = out.capBlocks !== undefined ? 'capBlocks' : 'recommendedBlocks';
    const blocks = out[owner] as readonly number[] | undefined;
    if (blocks === undefined) {
      throw invalidArg(`${name}.capThresholds`, 'absent unless capBlocks (or recommendedBlocks) is set (one threshold per block)', meta.capThresholds);
    }
    const caps = list(meta.capThresholds, `${name}.capThresholds`, blocks.length)
      .map((x, i) => finite(x, `${name}.capThresholds[${i}]`));
    if (caps.length !== blocks.length) {
      throw invalidArg(`${name}.capThresholds`, `an array of ${blocks.length} thresholds (one per entry of ${owner})`, meta.capThresholds);
    }
    out.capThresholds = Object.freeze(caps);
  }
  if (meta.capPositions !== undefined) out.capPositions = oneOf(meta.capPositions, STEER_POSITIONS, `${name}.capPositions`);
  if (meta.extra !== undefined) out.extra = checkExtra(meta.extra, `${name}.extra`);
  return Object.freeze(out) as PersonaVectorMetadata;
}

function checkSource(v: unknown, shape: { embeddingSize: number }, maxBlock: number, name: string): VectorSource {
  if (!isPlainObject(v)) throw invalidArg(name, 'a plain object', v);
  knownKeys(v, SOURCE_KEYS, name, RENAMED_SOURCE_KEYS);
  const out: Record<string, unknown> = {};
  if (v.architecture !== undefined) out.architecture = text(v.architecture, `${name}.architecture`);
  if (v.hash !== undefined) out.hash = text(v.hash, `${name}.hash`);
  if (v.blockCount !== undefined) out.blockCount = int(v.blockCount, `${name}.blockCount`, maxBlock + 1, MAX_BLOCK + 1);
  if (v.embeddingSize !== undefined) out.embeddingSize = int(v.embeddingSize, `${name}.embeddingSize`, shape.embeddingSize, shape.embeddingSize);
  return Object.freeze(out);
}

/** Keys the control-vector format owns; extra metadata may not shadow them. */
export function isReservedKey(key: string): boolean {
  return key === 'general.architecture' || key === 'general.alignment'
    || key.startsWith('controlvector.') || RESERVED_PERSONA_KEYS.has(key);
}

export const RESERVED_PERSONA_KEYS: ReadonlySet<string> = new Set([
  'persona_steer.version', 'persona_steer.block_convention', 'persona_steer.hook_point',
  'persona_steer.method', 'persona_steer.trait', 'persona_steer.description',
  'persona_steer.source.architecture', 'persona_steer.source.n_layer', 'persona_steer.source.n_embd',
  'persona_steer.source.hash', 'persona_steer.residual_norms', 'persona_steer.recommended_blocks',
  'persona_steer.coefficient', 'persona_steer.positions', 'persona_steer.recommended_by', 'persona_steer.cap_blocks',
  'persona_steer.cap_thresholds', 'persona_steer.cap_positions',
]);

function checkExtra(v: unknown, name: string): Readonly<Record<string, GgufValue>> {
  if (!isPlainObject(v)) throw invalidArg(name, 'a plain object of GGUF values', v);
  const out: Record<string, GgufValue> = {};
  for (const [k, value] of Object.entries(v)) {
    if (k.length === 0 || isReservedKey(k)) {
      throw invalidArg(`${name} key`, 'a key not owned by the control-vector format', k);
    }
    checkGgufValue(value, `${name}["${k}"]`);
    const copy = value.type === GgufType.ARRAY ? { ...value, value: Object.freeze([...value.value]) } : { ...value };
    out[k] = Object.freeze(copy) as GgufValue;
  }
  return Object.freeze(out);
}

/** The blocks the recorded cap thresholds belong to: capBlocks, else (files without it) recommendedBlocks. */
export function capThresholdBlocks(meta: PersonaVectorMetadata): readonly number[] | undefined {
  return meta.capBlocks ?? meta.recommendedBlocks;
}

/** What a derived vector (sum, scaled, normalised) keeps: the model's identity, not the trait's calibration. */
export function modelIdentity(meta: PersonaVectorMetadata): PersonaVectorMetadata {
  const out: { -readonly [K in keyof PersonaVectorMetadata]: PersonaVectorMetadata[K] } = {};
  if (meta.modelHint !== undefined) out.modelHint = meta.modelHint;
  if (meta.source !== undefined) out.source = meta.source;
  if (meta.residualNorms !== undefined) out.residualNorms = meta.residualNorms;
  return Object.freeze(out);
}

/**
 * Metadata for a subset of blocks: recommended blocks, cap blocks and their thresholds are
 * filtered alike (thresholds follow capBlocks, or recommendedBlocks in files without capBlocks).
 */
export function selectMetadata(meta: PersonaVectorMetadata, keep: ReadonlySet<number>): PersonaVectorMetadata {
  const out: { -readonly [K in keyof PersonaVectorMetadata]: PersonaVectorMetadata[K] } = { ...meta };
  delete out.recommendedBlocks;
  delete out.capBlocks;
  delete out.capThresholds;
  const kept = (blocks: readonly number[]) => blocks.flatMap((b, i) => (keep.has(b) ? [i] : []));
  const recs = meta.recommendedBlocks;
  if (recs !== undefined) {
    const idx = kept(recs);
    if (idx.length > 0) {
      out.recommendedBlocks = Object.freeze(idx.map((i) => recs[i]!));
      if (meta.capThresholds !== undefined && meta.capBlocks === undefined) out.capThresholds = Object.freeze(idx.map((i) => meta.capThresholds![i]!));
    }
  }
  const caps = meta.capBlocks;
  if (caps !== undefined) {
    const idx = kept(caps);
    if (idx.length > 0) {
      out.capBlocks = Object.freeze(idx.map((i) => caps[i]!));
      if (meta.capThresholds !== undefined) out.capThresholds = Object.freeze(idx.map((i) => meta.capThresholds![i]!));
    }
  }
  return Object.freeze(out);
}
