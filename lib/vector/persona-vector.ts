// PersonaVector: an immutable set of per-block directions in the residual stream.
// Blocks are 0-based decoder block indices (llama.cpp's `il`, `l_out-<il>`, `direction.<il>`).

import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
import {
  MAX_BLOCK, MAX_EMBEDDING_SIZE, PersonaVectorMetadata, checkMetadata, isPlainObject, modelIdentity, selectMetadata,
} from './vector-metadata';

export type BlockInput = Record<number, ArrayLike<number>> | ReadonlyMap<number, ArrayLike<number>>;

const CANONICAL_INDEX = /^(0|[1-9][0-9]*)$/;

function checkBlockIndex(b: unknown, name: string): number {
  if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > MAX_BLOCK) {
    throw invalidArg(name, `a block index, an integer in [0, ${MAX_BLOCK}]`, b);
  }
  return b;
}

function blockEntries(blocks: unknown): Array<[number, unknown]> {
  if (blocks instanceof Map) {
    return [...blocks.entries()].map(([k, v]) => [checkBlockIndex(k, 'blocks key'), v]);
  }
  if (typeof blocks !== 'object' || blocks === null || ArrayBuffer.isView(blocks)
    || !(Array.isArray(blocks) || isPlainObject(blocks))) {
    throw invalidArg('blocks', 'a Map or a plain object from block index to an array of numbers', blocks);
  }
  return Object.keys(blocks).map((k) => {
    if (!CANONICAL_INDEX.test(k)) throw invalidArg('blocks key', `a block index, an integer in [0, ${MAX_BLOCK}]`, k);
    return [checkBlockIndex(Number(k), 'blocks key'), (blocks as Record<string, unknown>)[k]];
  });
}

function toFloat32(values: unknown, name: string, embeddingSize: number | undefined): Float32Array {
  const len = (values as { length?: unknown } | null)?.length;
  if (typeof values !== 'object' || values === null || typeof len !== 'number'
    || !Number.isSafeInteger(len) || len < 1 || len > MAX_EMBEDDING_SIZE) {
    throw invalidArg(name, `an array or typed array of 1 to ${MAX_EMBEDDING_SIZE} numbers`, values);
  }
  if (embeddingSize !== undefined && len !== embeddingSize) {
    throw invalidArg(name, `${embeddingSize} numbers, like the other blocks`, values);
  }
  const out = new Float32Array(len);
  const src = values as ArrayLike<unknown>;
  for (let i = 0; i < len; i++) {
    const x = src[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw invalidArg(`${name}[${i}]`, 'a finite number', x);
    const f = Math.fround(x);
    if (!Number.isFinite(f)) throw invalidArg(`${name}[${i}]`, 'a number within float32 range (|x| < 3.4e38)', x);
    out[i] = f;
  }
  return out;
}

function checkVector(v: unknown, name: string): PersonaVector {
  if (!(v instanceof PersonaVector)) throw invalidArg(name, 'a PersonaVector', v);
  return v;
}

function checkSameSize(self: PersonaVector, other: PersonaVector): void {
  if (other.embeddingSize !== self.embeddingSize) {
    throw invalidArg('other.embeddingSize', `${self.embeddingSize} (this vector's embeddingSize)`, other.embeddingSize);
  }
}

function overflow(op: string, block: number, i: number): PersonaSteerError {
  return new PersonaSteerError(ErrorCodes.INVALID_ARG,
    `${op}: the result at block ${block}, element ${i} is outside the float32 range`);
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export class PersonaVector {
  /** Values per block: the model's embedding size (llama.cpp's n_embd). */
  readonly embeddingSize: number;
  /** Block indices in ascending order. */
  readonly blocks: readonly number[];
  readonly metadata: PersonaVectorMetadata;
  readonly #data: ReadonlyMap<number, Float32Array>;

  private constructor(data: Map<number, Float32Array>, metadata: unknown) {
    const blocks = [...data.keys()].sort((a, b) => a - b);
    this.embeddingSize = data.get(blocks[0]!)!.length;
    this.blocks = Object.freeze(blocks);
    this.metadata = checkMetadata(metadata, { embeddingSize: this.embeddingSize, blocks });
    this.#data = data;
    Object.freeze(this);
  }

  /**
   * Builds a vector from block index → values (array or typed array, all of one length). Values
   * are copied and rounded to float32; NaN, ±Infinity and values beyond float32 are refused.
   */
  static fromBlocks(blocks: BlockInput, metadata?: PersonaVectorMetadata): PersonaVector {
    const entries = blockEntries(blocks);
    if (entries.length === 0) throw invalidArg('blocks', 'at least one block', blocks);
    const data = new Map<number, Float32Array>();
    let embeddingSize: number | undefined;
    for (const [b, values] of entries) {
      if (data.has(b)) throw invalidArg('blocks key', 'each block once', b);
      const arr = toFloat32(values, `blocks[${b}]`, embeddingSize);
      embeddingSize = arr.length;
      data.set(b, arr);
    }
    return new PersonaVector(data, metadata);
  }

  /**
   * @deprecated Renamed `embeddingSize` (the name `model.info` uses); this alias goes in the next
   * minor release.
   */
  get nEmbd(): number {
    return this.embeddingSize;
  }

  has(block: number): boolean {
    return this.#data.has(block);
  }

  /** A copy of one block's values; changing it does not change the vector. */
  block(block: number): Float32Array {
    checkBlockIndex(block, 'block');
    const v = this.#data.get(block);
    if (v === undefined) throw invalidArg('block', `one of the vector's blocks (${this.blocks.join(', ')})`, block);
    return v.slice();
  }

  /** Element-wise sum over the union of blocks; a block missing on one side counts as zero. */
  add(other: PersonaVector): PersonaVector {
    return this.combine(checkVector(other, 'other'), 1, 'add');
  }

  /** Element-wise difference over the union of blocks; a missing block counts as zero. */
  sub(other: PersonaVector): PersonaVector {
    return this.combine(checkVector(other, 'other'), -1, 'sub');
  }

  private combine(other: PersonaVector, sign: 1 | -1, op: string): PersonaVector {
    checkSameSize(this, other);
    const out = new Map<number, Float32Array>();
    const zero = new Float32Array(this.embeddingSize);
    for (const b of new Set([...this.blocks, ...other.blocks])) {
      const x = this.#data.get(b) ?? zero;
      const y = other.#data.get(b) ?? zero;
      const r = new Float32Array(this.embeddingSize);
      for (let i = 0; i < r.length; i++) {
        r[i] = x[i]! + sign * y[i]!;
        if (!Number.isFinite(r[i]!)) throw overflow(op, b, i);
      }
      out.set(b, r);
    }
    return new PersonaVector(out, modelIdentity(this.metadata));
  }

  /** Every element times k (a finite number). */
  scale(k: number): PersonaVector {
    if (typeof k !== 'number' || !Number.isFinite(k)) throw invalidArg('k', 'a finite number', k);
    return this.map((x, b, i) => {
      const r = Math.fround(x * k);
      if (!Number.isFinite(r)) throw overflow('scale', b, i);
      return r;
    });
  }

  neg(): PersonaVector {
    return this.map((x) => -x);
  }

  /** Each block divided by its L2 norm. A block whose norm is 0 has no direction: ERR_INVALID_ARG. */
  normalize(): PersonaVector {
    const norms = this.norms();
    for (const [b, n] of norms) {
      if (n === 0) throw new PersonaSteerError(ErrorCodes.INVALID_ARG, `normalize: block ${b} is all zeros and has no direction`);
    }
    return this.map((x, b) => x / norms.get(b)!);
  }

  private map(f: (x: number, block: number, i: number) => number): PersonaVector {
    const out = new Map<number, Float32Array>();
    for (const [b, v] of this.#data) {
      const r = new Float32Array(v.length);
      for (let i = 0; i < v.length; i++) r[i] = f(v[i]!, b, i);
      out.set(b, r);
    }
    return new PersonaVector(out, modelIdentity(this.metadata));
  }

  /** The given blocks only (each must exist); metadata kept, recommended blocks filtered. */
  select(blocks: readonly number[]): PersonaVector {
    if (!Array.isArray(blocks) || blocks.length === 0) throw invalidArg('blocks', 'a non-empty array of block indices', blocks);
    const out = new Map<number, Float32Array>();
    blocks.forEach((b: unknown, i) => {
      const idx = checkBlockIndex(b, `blocks[${i}]`);
      const v = this.#data.get(idx);
      if (v === undefined) throw invalidArg(`blocks[${i}]`, `one of the vector's blocks (${this.blocks.join(', ')})`, b);
      if (out.has(idx)) throw invalidArg(`blocks[${i}]`, 'a block not listed before', b);
      out.set(idx, v);
    });
    return new PersonaVector(out, selectMetadata(this.metadata, new Set(out.keys())));
  }

  /** L2 norm of each block, accumulated in float64. */
  norms(): Map<number, number> {
    const out = new Map<number, number>();
    for (const b of this.blocks) {
      const v = this.#data.get(b)!;
      out.set(b, Math.sqrt(dot(v, v)));
    }
    return out;
  }

  /**
   * Cosine similarity, accumulated in float64 and clamped to [-1, 1]: for one block (both vectors
   * must have it), or for every block the two share. A zero block has no direction: ERR_INVALID_ARG.
   */
  cosine(other: PersonaVector): Map<number, number>;
  cosine(other: PersonaVector, block: number): number;
  cosine(other: PersonaVector, block?: number): Map<number, number> | number {
    checkVector(other, 'other');
    checkSameSize(this, other);
    if (block !== undefined) {
      checkBlockIndex(block, 'block');
      if (!this.has(block) || !other.has(block)) {
        throw invalidArg('block', 'a block present in both vectors', block);
      }
      return this.cosineAt(other, block);
    }
    const shared = this.blocks.filter((b) => other.has(b));
    if (shared.length === 0) {
      throw invalidArg('other', `a vector sharing a block with this one (${this.blocks.join(', ')})`, other.blocks.join(', '));
    }
    return new Map(shared.map((b) => [b, this.cosineAt(other, b)]));
  }

  private cosineAt(other: PersonaVector, b: number): number {
    const x = this.#data.get(b)!;
    const y = other.#data.get(b)!;
    const nx = Math.sqrt(dot(x, x));
    const ny = Math.sqrt(dot(y, y));
    if (nx === 0 || ny === 0) {
      throw new PersonaSteerError(ErrorCodes.INVALID_ARG, `cosine: block ${b} is all zeros in ${nx === 0 ? 'this vector' : 'other'}`);
    }
    return Math.min(1, Math.max(-1, dot(x, y) / (nx * ny)));
  }

  /** Same values, metadata merged with `patch`; a key set to undefined is removed. */
  withMetadata(patch: Partial<PersonaVectorMetadata>): PersonaVector {
    if (!isPlainObject(patch)) throw invalidArg('patch', 'a plain object', patch);
    const merged: Record<string, unknown> = { ...this.metadata, ...patch };
    for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
    try {
      return new PersonaVector(new Map(this.#data), merged);
    } catch (e) {
      // Name the argument the caller passed, not the merged object.
      if (e instanceof PersonaSteerError) throw new PersonaSteerError(e.code, e.message.replace(/^metadata/, 'patch'));
      throw e;
    }
  }
}
