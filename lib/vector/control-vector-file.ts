// Reading and writing control-vector files on disk; the byte format is in control-vector-format.ts.

import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
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
  let bytes: Buffer;
  try {
    const handle = await fs.open(pathOrBuffer, 'r');
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new PersonaSteerError(ErrorCodes.BAD_FILE, `${pathOrBuffer} is not a regular file`);
      if (stat.size > maxBytes) {
        throw new PersonaSteerError(ErrorCodes.BAD_FILE,
          `${pathOrBuffer} is ${stat.size} bytes, more than options.maxBytes (${maxBytes})`);
      }
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (e) {
    if (e instanceof PersonaSteerError) throw e;
    throw new PersonaSteerError(ErrorCodes.BAD_FILE,
      `cannot read control-vector file ${pathOrBuffer}: ${(e as Error).message}`, { cause: e });
  }
  return decodeControlVector(bytes, options.limits);
}

/** Writes the vector to `path` atomically (a temporary file in the same folder, then a rename). */
export async function writeControlVector(path: string, vector: PersonaVector): Promise<void> {
  if (typeof path !== 'string' || path.length === 0) throw invalidArg('path', 'a file path', path);
  const bytes = encodeControlVector(vector);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fs.writeFile(tmp, bytes, { flag: 'wx' });
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw new PersonaSteerError(ErrorCodes.BAD_FILE,
      `cannot write control-vector file ${path}: ${(e as Error).message}`, { cause: e });
  }
}
