// Files that are not regular files, for the reader and writer tests: a FIFO, a device, a
// directory, and a sparse file of any size (no disk used). A FIFO that a broken reader is stuck
// opening is released by opening it for writing, so a regression fails instead of hanging.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface SpecialFiles {
  fifo: string;
  /** A character device node: one made with mknod in the folder when allowed, else /dev/null. */
  device: string;
  /** True when `device` is our own node (safe to hand to a writer). */
  ownDevice: boolean;
  directory: string;
  /** A symbolic link to the device. */
  linkToDevice: string;
  /** A sparse file of `bytes` bytes. */
  sparse(name: string, bytes: number): string;
}

export function makeSpecialFiles(dir: string): SpecialFiles {
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  let device = path.join(dir, 'null-device');
  let ownDevice = true;
  try {
    execFileSync('mknod', [device, 'c', '1', '3'], { stdio: 'ignore' });
  } catch {
    device = '/dev/null';
    ownDevice = false;
  }
  const directory = path.join(dir, 'a-directory');
  fs.mkdirSync(directory);
  const linkToDevice = path.join(dir, 'link-to-device');
  fs.symlinkSync(device, linkToDevice);
  return {
    fifo, device, ownDevice, directory, linkToDevice,
    sparse(name, bytes) {
      const f = path.join(dir, name);
      fs.writeFileSync(f, '');
      fs.truncateSync(f, bytes);
      return f;
    },
  };
}

/** Lets any reader blocked in open() on the FIFO go (it then reads end of file). */
export function releaseFifo(fifo: string): void {
  try {
    const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    fs.closeSync(fd);
  } catch { /* gone */ }
}

/** The promise, or a failure after `ms` (releasing the FIFO so the stuck call can end). */
export async function settlesWithin<T>(p: Promise<T>, ms: number, fifo: string): Promise<T | { hung: true }> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<{ hung: true }>((resolve) => {
    timer = setTimeout(() => { releaseFifo(fifo); resolve({ hung: true }); }, ms);
  });
  try {
    return await Promise.race([p, hung]);
  } finally {
    clearTimeout(timer);
  }
}

export function kindOf(p: string): string {
  const st = fs.lstatSync(p);
  return st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'other';
}
