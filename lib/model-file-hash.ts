// A content hash of a model file that does not read gigabytes: SHA-256 over the file size, the
// first MiB and the last MiB. Different weights almost always differ in the header (metadata,
// tensor table) or in the final tensors; a renamed or copied file keeps its hash.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';

const SPAN = 1 << 20;

/**
 * "sha256-ends:<hex>", the SHA-256 of: the size in bytes as decimal ASCII, a newline, the first
 * min(size, 1 MiB) bytes, then the last min(size, 1 MiB) bytes (the whole file twice when it is
 * smaller than 1 MiB, overlapping when smaller than 2 MiB).
 */
export async function modelFileHash(path: string): Promise<string> {
  if (typeof path !== 'string' || path.length === 0) throw invalidArg('path', 'a file path', path);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'r');
  } catch (e) {
    throw new PersonaSteerError(ErrorCodes.MODEL_LOAD, `cannot read model file ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const { size } = await handle.stat();
    const n = Math.min(size, SPAN);
    const head = Buffer.alloc(n);
    const tail = Buffer.alloc(n);
    await handle.read(head, 0, n, 0);
    await handle.read(tail, 0, n, size - n);
    return `sha256-ends:${createHash('sha256').update(`${size}\n`).update(head).update(tail).digest('hex')}`;
  } finally {
    await handle.close();
  }
}
