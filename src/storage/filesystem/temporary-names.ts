/**
 * The temporary files a put writes before renaming them onto their key: ".<key>.<12 hex digits>.tmp"
 * in the target directory (recover() removes leftovers by that pattern).
 *
 * The 12 digits used to be 6 random bytes drawn per put; in `conduit serve`'s profile that draw
 * (an OpenSSL DRBG call with its locks, a getpid, a job object) cost ~15-30 us of CPU per stored
 * object. Now 8 random digits are drawn once and 4 count the puts: the name is unique within the
 * process (the counter wraps after 65,536 puts, long after the file of that number was renamed,
 * and the key is part of the name anyway), the random part sets processes and earlier runs apart,
 * and a name that exists all the same (the file is created exclusively) draws a new random part.
 */
import { sep } from 'node:path';
import { openFd } from './file-descriptors.js';

/** Attempts at an exclusive create before the error is given up to the caller. */
const ATTEMPTS = 4;

/**
 * The one generator of temporary file names: the blob store's puts and writeReceivedObject
 * (conduit listen, conduit get, a library's C-STORE handler) both use it.
 */
export class TemporaryNames {
  /** Drawn at the first name: a process that writes no file (a C-STORE requestor) draws nothing. */
  private prefix: string | undefined;
  private counter = 0;

  /**
   * Creates a temporary file for `key` in `dir` exclusively: `open` must refuse a path that exists
   * (EEXIST, as 'wx' does); such a name draws a new random part and is tried again. `open` may do
   * more (make the folder first): it defaults to opening for writing.
   */
  async create(dir: string, key: string, open: (path: string) => number | Promise<number> = (path) => openFd(path, 'wx')): Promise<{ fd: number; path: string }> {
    for (let attempt = 1; ; attempt++) {
      this.counter = (this.counter + 1) & 0xffff;
      this.prefix ??= randomPrefix();
      const path = `${dir}${sep}.${key}.${this.prefix}${this.counter.toString(16).padStart(4, '0')}.tmp`;
      try {
        return { fd: await open(path), path };
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'EEXIST' || attempt >= ATTEMPTS) throw error;
        this.prefix = randomPrefix();
      }
    }
  }
}

/** Through the Web Crypto global, which does not load node:crypto (~3 ms at a start) for it. */
function randomPrefix(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(4))).toString('hex');
}
