// Reading and writing files given by users, safely: every reader opens without blocking (a FIFO
// would wait forever for a writer), checks on the open descriptor that it is a regular file (not a
// FIFO, a device such as /dev/zero, a directory or a socket) and refuses it above a size limit
// before reading a byte; reading stops at the limit even when the file grows meanwhile. Writers
// replace only regular files, atomically (a temporary file, then a rename), and never write
// through a symbolic link into anything else. Each caller supplies its own error (code, wording).
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import type { PersonaSteerError } from './errors';

export interface ReadLimits {
  /** Files larger than this are refused before anything is read. */
  maxBytes: number;
  /** What the file is, for messages ("control-vector file"); the path follows it. */
  what?: string;
  /** The option that sets maxBytes, for messages ("options.maxBytes"). */
  limitName?: string;
  /** Makes the error thrown for `path` (the caller's code and wording). */
  error: (message: string, cause?: unknown) => PersonaSteerError;
}

// O_NONBLOCK makes open() of a FIFO return at once; regular files ignore it. Windows has neither.
const READ_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOCTTY ?? 0);

/** "a FIFO (named pipe)", "a character device", ... for a stat that is not a regular file. */
export function fileKind(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** "no such file or directory (ENOENT)" from Node's "ENOENT: no such file or directory, open 'x'". */
function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code && typeof err.message === 'string') {
    const m = /^[A-Z0-9_]+: ([^,]+)/.exec(err.message);
    return m ? `${m[1]} (${err.code})` : err.code;
  }
  return String(err?.message ?? e);
}

function named(path: string, limits: ReadLimits): string {
  return limits.what ? `${limits.what} ${path}` : path;
}

function checkStat(path: string, st: fs.Stats, limits: ReadLimits): void {
  if (!st.isFile()) throw limits.error(`${named(path, limits)} is ${fileKind(st)}, not a regular file`);
  if (st.size > limits.maxBytes) {
    const limit = limits.limitName ? `${limits.limitName} (${limits.maxBytes})` : `the limit of ${limits.maxBytes}`;
    throw limits.error(`${named(path, limits)} is ${st.size} bytes, more than ${limit}`);
  }
}

function tooLong(path: string, limits: ReadLimits): PersonaSteerError {
  return limits.error(`${named(path, limits)} grew past the limit of ${limits.maxBytes} bytes while it was read`);
}

function cannotRead(path: string, limits: ReadLimits, e: unknown): PersonaSteerError {
  return limits.error(`cannot read ${named(path, limits)}: ${errnoText(e)}`, e);
}

/**
 * What has been read of a file, for the synchronous and the asynchronous reader alike. Reads go to
 * the end rather than to the size fstat gave (some files, /proc, report 0), and stop one byte past
 * the limit: a file that grew past it while it was read is refused.
 */
class Chunks {
  readonly #chunks: Buffer[] = [];
  #total = 0;

  constructor(private readonly path: string, private readonly size: number, private readonly limits: ReadLimits) {}

  /** The buffer for the next read. */
  next(): Buffer {
    return Buffer.allocUnsafe(Math.min(Math.max(this.size - this.#total, 1 << 16), this.limits.maxBytes + 1 - this.#total));
  }

  /** Keeps the `n` bytes a read put in `buf`; false at the end of the file. */
  took(buf: Buffer, n: number): boolean {
    if (n === 0) return false;
    this.#chunks.push(buf.subarray(0, n));
    this.#total += n;
    if (this.#total > this.limits.maxBytes) throw tooLong(this.path, this.limits);
    return true;
  }

  all(): Buffer {
    return Buffer.concat(this.#chunks, this.#total);
  }
}

const isOurs = (e: unknown) => (e as PersonaSteerError)?.name === 'PersonaSteerError';

/** Opens `path` for reading after the checks above; the caller closes the handle. */
export async function openRegularFile(path: string, limits: ReadLimits): Promise<{ handle: fs.promises.FileHandle; size: number }> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(path, READ_FLAGS);
  } catch (e) {
    throw cannotRead(path, limits, e);
  }
  try {
    const st = await handle.stat();
    checkStat(path, st, limits);
    return { handle, size: st.size };
  } catch (e) {
    await handle.close().catch(() => undefined);
    if (isOurs(e)) throw e;
    throw cannotRead(path, limits, e);
  }
}

/** The whole file, at most `limits.maxBytes` bytes. */
export async function readRegularFile(path: string, limits: ReadLimits): Promise<Buffer> {
  const { handle, size } = await openRegularFile(path, limits);
  try {
    const chunks = new Chunks(path, size, limits);
    for (;;) {
      const buf = chunks.next();
      if (!chunks.took(buf, (await handle.read(buf, 0, buf.length, null)).bytesRead)) break;
    }
    return chunks.all();
  } catch (e) {
    if (isOurs(e)) throw e;
    throw cannotRead(path, limits, e);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** As openRegularFile, synchronously; the caller closes the descriptor. */
function openRegularFileSync(path: string, limits: ReadLimits): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(path, READ_FLAGS);
  } catch (e) {
    throw cannotRead(path, limits, e);
  }
  try {
    const st = fs.fstatSync(fd);
    checkStat(path, st, limits);
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    if (isOurs(e)) throw e;
    throw cannotRead(path, limits, e);
  }
}

/** As readRegularFile, synchronously (command-line input files). */
export function readRegularFileSync(path: string, limits: ReadLimits): Buffer {
  const { fd, size } = openRegularFileSync(path, limits);
  try {
    const chunks = new Chunks(path, size, limits);
    for (;;) {
      const buf = chunks.next();
      if (!chunks.took(buf, fs.readSync(fd, buf, 0, buf.length, null))) break;
    }
    return chunks.all();
  } catch (e) {
    if (isOurs(e)) throw e;
    throw cannotRead(path, limits, e);
  } finally {
    fs.closeSync(fd);
  }
}

/** Just the checks (a module that Node itself will import by path, such as a judge). */
export function checkRegularFileSync(path: string, limits: ReadLimits): void {
  fs.closeSync(openRegularFileSync(path, limits).fd);
}

export interface WriteOptions {
  error: (message: string, cause?: unknown) => PersonaSteerError;
}

/**
 * Where bytes for `path` may go: the path itself when it is missing or a regular file; the file a
 * symbolic link points to when that is a regular file (the link stays a link). Anything else
 * (a FIFO, a device, a directory, a socket, a link to one of those or to nothing) is refused.
 */
function writeTarget(path: string, opts: WriteOptions): string {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return path;
    throw opts.error(`cannot write ${path}: ${errnoText(e)}`, e);
  }
  if (st.isFile()) return path;
  if (!st.isSymbolicLink()) throw opts.error(`${path} is ${fileKind(st)}; only a regular file is replaced`);
  let target: string;
  let tst: fs.Stats;
  try {
    target = fs.realpathSync(path);
    tst = fs.statSync(target);
  } catch (e) {
    throw opts.error(`${path} is a symbolic link to a missing file (${errnoText(e)}); only a regular file is replaced`, e);
  }
  if (!tst.isFile()) throw opts.error(`${path} is a symbolic link to ${fileKind(tst)}; only a regular file is replaced`);
  return target;
}

/** The writers' check alone, to fail before long work whose result could not be written. */
export function checkWritable(path: string, opts: WriteOptions): void {
  writeTarget(path, opts);
}

function tempNameFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Writes `bytes` to `path` atomically; see writeTarget for what may be replaced. */
export async function writeRegularFile(path: string, bytes: Uint8Array | string, opts: WriteOptions): Promise<void> {
  const target = writeTarget(path, opts);
  const tmp = tempNameFor(target);
  try {
    // 'wx' (O_CREAT | O_EXCL) never opens something already there, a link included.
    await fs.promises.writeFile(tmp, bytes, { flag: 'wx' });
    await fs.promises.rename(tmp, target);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw opts.error(`cannot write ${path}: ${errnoText(e)}`, e);
  }
}

/** As writeRegularFile, synchronously. */
export function writeRegularFileSync(path: string, bytes: Uint8Array | string, opts: WriteOptions): void {
  const target = writeTarget(path, opts);
  const tmp = tempNameFor(target);
  try {
    fs.writeFileSync(tmp, bytes, { flag: 'wx' });
    fs.renameSync(tmp, target);
  } catch (e) {
    try { fs.rmSync(tmp, { force: true }); } catch { /* nothing to remove */ }
    throw opts.error(`cannot write ${path}: ${errnoText(e)}`, e);
  }
}
