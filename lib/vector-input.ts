// The vectors steering ops and monitor entries take, and the one reading of them both use: which
// blocks an input defines, its direction at a block, and its checked values at the blocks it is
// used at.
import { invalidArg } from './errors';
import { checkBlocks, checkFiniteArray } from './validate';

/** Anything with one direction per block, such as a PersonaVector. */
export interface BlockVectors {
  readonly blocks: readonly number[];
  block(block: number): ArrayLike<number>;
}

/** A vector for every block it is used at: per-block directions, or one array used at every block. */
export type VectorInput = BlockVectors | Map<number, ArrayLike<number>> | Record<number, ArrayLike<number>> | Float32Array | number[];

/** Blocks to apply an op (or watch a monitor entry) at: one block, several, or every block of the model. */
export type BlockSpec = number | number[] | 'all';

function isBlockVectors(v: unknown): v is BlockVectors {
  return typeof v === 'object' && v !== null && Array.isArray((v as BlockVectors).blocks) &&
    typeof (v as BlockVectors).block === 'function';
}

/** The blocks a vector input defines, or null for a plain array (one direction for any block). */
export function definedBlocks(v: VectorInput): number[] | null {
  if (v instanceof Float32Array || Array.isArray(v)) return null;
  if (isBlockVectors(v)) return [...v.blocks];
  if (v instanceof Map) return [...v.keys()];
  return Object.keys(v).map(Number);
}

/** The input's direction at `block`: the array itself for a plain array; undefined where it defines none. */
export function vectorAt(v: VectorInput, block: number): ArrayLike<number> | undefined {
  if (v instanceof Float32Array || Array.isArray(v)) return v;
  if (isBlockVectors(v)) return v.blocks.includes(block) ? v.block(block) : undefined;
  if (v instanceof Map) return v.get(block);
  return (v as Record<number, ArrayLike<number>>)[block];
}

/** Argument names for error messages: the vector's and the blocks'. */
export interface VectorInputNames { vector: string; blocks: string }

/**
 * The blocks a vector input is used at (`spec`, checked against the model; undefined: every block
 * the input defines, which a plain array has not) and its values there, copied as float32: each
 * finite and `embeddingSize` long, and with `direction: true` not all zeros (it is divided by its
 * length). Throws ERR_INVALID_ARG naming `names.vector` or `names.blocks`.
 */
export function readVectorInput(
  input: unknown, spec: unknown, model: { embeddingSize: number; blockCount: number }, names: VectorInputNames, direction: boolean,
): { blocks: number[]; values: Float32Array[] } {
  if (typeof input !== 'object' || input === null) throw invalidArg(names.vector, 'a PersonaVector, a Map of block vectors or a Float32Array', input);
  const vec = input as VectorInput;
  const own = definedBlocks(vec);
  let blocks: number[];
  if (spec !== undefined) blocks = checkBlocks(names.blocks, spec, model.blockCount);
  else if (own === null) throw invalidArg(names.blocks, "block indices (required with a plain array vector), or 'all'", undefined);
  else blocks = checkBlocks(`${names.vector} (the vector's blocks)`, own, model.blockCount);
  const values = blocks.map((b, i) => {
    const v = vectorAt(vec, b);
    if (v === undefined) throw invalidArg(`${names.blocks}[${i}]`, `a block the vector has (${own?.join(', ')})`, b);
    const arr = checkFiniteArray(`${names.vector}@${b}`, v, model.embeddingSize);
    if (direction && arr.every((x) => x === 0)) throw invalidArg(`${names.vector}@${b}`, 'a direction with non-zero length', 'a zero vector');
    return arr;
  });
  return { blocks, values };
}
