// A content hash of a model file that does not read gigabytes: SHA-256 over the file size, the
// first MiB and the last MiB. Different weights almost always differ in the header (metadata,
// tensor table) or in the final tensors; a renamed or copied file keeps its hash.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { ErrorCodes, PersonaSteerError, invalidArg } from './errors';
import { openRegularFile } from './regular-file';

const SPAN = 1 << 20;

// Read in small pieces: a megabyte-sized buffer per hash (per Model.load) makes the allocator keep
// that memory after it is freed.
const CHUNK = 64 * 1024;

/** The hash of a file already open for reading (see modelFileHash). */
export async function hashOpenFile(handle: FileHandle, size: number): Promise<string> {
  const n = Math.min(size, SPAN);
  const hash = createHash('sha256').update(`${size}\n`);
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, n)));
  for (const start of [0, size - n]) {
    for (let done = 0; done < n;) {
      const want = Math.min(buf.length, n - done);
      const { bytesRead } = await handle.read(buf, 0, want, start + done);
      if (bytesRead === 0) throw new Error(`the file ended at byte ${start + done} of ${size} while it was hashed`);
      hash.update(buf.subarray(0, bytesRead));
      done += bytesRead;
    }
  }
  return `sha256-ends:${hash.digest('hex')}`;
}

/**
 * "sha256-ends:<hex>", the SHA-256 of: the size in bytes as decimal ASCII, a newline, the first
 * min(size, 1 MiB) bytes, then the last min(size, 1 MiB) bytes (the whole file twice when it is
 * smaller than 1 MiB, overlapping when smaller than 2 MiB). Reads at most 2 MiB whatever the size;
 * a path that is not a regular file (a directory, a FIFO, a device) is ERR_MODEL_LOAD.
 * `Model.load` computes it once (`model.info.fileHash`), so code holding a model never needs the file again.
 */
export async function modelFileHash(path: string): Promise<string> {
  if (typeof path !== 'string' || path.length === 0) throw invalidArg('path', 'a file path', path);
  const { handle, size } = await openRegularFile(path, {
    maxBytes: Number.MAX_SAFE_INTEGER, what: 'model file',
    error: (m, cause) => new PersonaSteerError(ErrorCodes.MODEL_LOAD, m, { cause }),
  });
  try {
    return await hashOpenFile(handle, size);
  } catch (e) {
    throw new PersonaSteerError(ErrorCodes.MODEL_LOAD, `cannot read model file ${path}: ${(e as Error).message}`, { cause: e });
  } finally {
    await handle.close();
  }
}
