// Reading and writing control-vector files on disk; the byte format is in control-vector-format.ts.

import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
import { readRegularFile, writeRegularFile } from '../regular-file';
import { decodeControlVector, encodeControlVector } from './control-vector-format';
import type { GgufLimits } from './gguf-reader';
import { PersonaVector } from './persona-vector';

export { decodeControlVector, encodeControlVector } from './control-vector-format';
export { checkVectorFitsModel, type ModelShape } from './model-fit';

export interface ReadControlVectorOptions {
  /** Files larger than this are refused before being read. Default 512 MiB. */
  readonly maxBytes?: number;
  readonly limits?: Partial<GgufLimits>;
}

const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;

/** Loads a control-vector GGUF (ours, llama.cpp cvector-generator's or repeng's) from a path or bytes. */
export async function readControlVector(
  pathOrBuffer: string | Uint8Array, options: ReadControlVectorOptions = {},
): Promise<PersonaVector> {
  if (pathOrBuffer instanceof Uint8Array) return decodeControlVector(pathOrBuffer, options.limits);
  if (typeof pathOrBuffer !== 'string' || pathOrBuffer.length === 0) {
    throw invalidArg('pathOrBuffer', 'a file path or a Uint8Array', pathOrBuffer);
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw invalidArg('options.maxBytes', 'a positive integer', maxBytes);
  const bytes = await readRegularFile(pathOrBuffer, {
    maxBytes, what: 'control-vector file', limitName: 'options.maxBytes', error: (m, cause) => new PersonaSteerError(ErrorCodes.BAD_FILE, m, { cause }),
  });
  try {
    return decodeControlVector(bytes, options.limits);
  } catch (e) {
    // The decoder sees bytes only; a caller reading several files needs to know which one.
    if (e instanceof PersonaSteerError) throw new PersonaSteerError(e.code, `${pathOrBuffer}: ${e.message}`, { cause: e });
    throw e;
  }
}

/**
 * Writes the vector to `path` atomically (a temporary file in the same folder, then a rename).
 * Replaces only a regular file (through a symbolic link, the file it points to); a FIFO, a device,
 * a directory or a link to one of those is refused with ERR_BAD_FILE.
 */
export async function writeControlVector(path: string, vector: PersonaVector): Promise<void> {
  if (typeof path !== 'string' || path.length === 0) throw invalidArg('path', 'a file path', path);
  const bytes = encodeControlVector(vector);
  await writeRegularFile(path, bytes, {
    error: (m, cause) => new PersonaSteerError(ErrorCodes.BAD_FILE, `control-vector file: ${m}`, { cause }),
  });
}
