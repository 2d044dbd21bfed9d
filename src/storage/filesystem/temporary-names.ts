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
import { randomBytes } from 'node:crypto';
import { sep } from 'node:path';
import { openFd } from './file-descriptors.js';

/** Attempts at an exclusive create before the error is given up to the caller. */
const ATTEMPTS = 4;

export class TemporaryNames {
  private prefix = randomPrefix();
  private counter = 0;

  /** Creates (exclusively, for writing) a temporary file for `key` in `dir`. */
  async create(dir: string, key: string): Promise<{ fd: number; path: string }> {
    for (let attempt = 1; ; attempt++) {
      this.counter = (this.counter + 1) & 0xffff;
      const path = `${dir}${sep}.${key}.${this.prefix}${this.counter.toString(16).padStart(4, '0')}.tmp`;
      try {
        return { fd: await openFd(path, 'wx'), path };
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'EEXIST' || attempt >= ATTEMPTS) throw error;
        this.prefix = randomPrefix();
      }
    }
  }
}

function randomPrefix(): string {
  return randomBytes(4).toString('hex');
}
