/**
 * The few file system calls the storage SCU and SCP make per object, on plain file descriptors
 * through node:fs callbacks wrapped in promises. fs/promises would give a FileHandle per file,
 * whose creation (and finalizer) showed in the profiles of `conduit store` and `conduit listen`:
 * these calls are on the path of every C-STORE.
 */
import fs from 'node:fs';

export function openFd(path: string, flags: string | number): Promise<number> {
  return new Promise((resolve, reject) => fs.open(path, flags, (err, fd) => (err ? reject(err) : resolve(fd))));
}

export function readFd(fd: number, buffer: Uint8Array, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buffer, 0, buffer.length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

export function readvFd(fd: number, buffers: Uint8Array[], position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.readv(fd, buffers, position, (err, n) => (err ? reject(err) : resolve(n))));
}

export function writevFd(fd: number, buffers: Uint8Array[]): Promise<void> {
  return new Promise((resolve, reject) => fs.writev(fd, buffers, (err, n) => {
    if (err) reject(err);
    else {
      let total = 0;
      for (const b of buffers) total += b.length;
      // A regular file takes a whole writev unless the disk is full or the file too large.
      if (n === total) resolve();
      else writevFd(fd, remainder(buffers, n)).then(resolve, reject);
    }
  }));
}

export function fdatasyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
}

/** What is left of `buffers` after the first `written` bytes. */
export function remainder(buffers: Uint8Array[], written: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let skip = written;
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

/** rename(2) through the callback API: fs/promises' rename showed ~19 us of CPU per object in `conduit serve`'s profile. */
export function renameFile(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => fs.rename(from, to, (err) => (err ? reject(err) : resolve())));
}

export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
}
