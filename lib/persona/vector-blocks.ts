// Which blocks of a persona vector an op or a reading uses, by one rule everywhere (the library's
// helpers, the CLI, the server): the blocks asked for, else the vector's recommended blocks, else
// every block it has.
import { invalidArg } from '../errors';
import { checkInt } from '../validate';
import type { PersonaVector } from '../vector/persona-vector';
import { MAX_BLOCK } from '../vector/vector-metadata';

export interface ResolveBlocksOptions {
  /** The model's block count: each block must also be below it. Omitted: not checked here. */
  blockCount?: number;
  /** The blocks used when `spec` is undefined. Default: the recommended blocks, else every block. */
  fallback?: readonly number[];
}

/**
 * The blocks `spec` names ('all': every block of the vector; a block; a non-empty array of blocks),
 * or with `spec` undefined the vector's recommended blocks, else every block it has; sorted and
 * distinct. Each must be a block of the vector (and, with `blockCount`, of the model). Throws
 * ERR_INVALID_ARG naming `name`, or `name[i]` for the i-th entry of an array.
 */
export function resolveBlocks(name: string, vector: PersonaVector, spec: unknown, options: ResolveBlocksOptions = {}): number[] {
  let list: unknown[];
  if (spec === undefined) list = [...(options.fallback ?? vector.metadata.recommendedBlocks ?? vector.blocks)];
  else if (spec === 'all') list = [...vector.blocks];
  else if (typeof spec === 'number') list = [spec];
  else if (Array.isArray(spec) && spec.length > 0) list = [...spec];
  else throw invalidArg(name, "a block, a non-empty array of blocks or 'all'", spec);
  // Blocks of the model first (as Context's options.blocks), then of the vector.
  const last = options.blockCount === undefined ? MAX_BLOCK : options.blockCount - 1;
  list.forEach((b, i) => {
    const at = Array.isArray(spec) ? `${name}[${i}]` : name;
    checkInt(at, b, 0, last);
    if (!vector.has(b as number)) throw invalidArg(at, `a block the vector has (${vector.blocks.join(', ')})`, b);
  });
  return [...new Set(list as number[])].sort((a, b) => a - b);
}
