import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';

/**
 * A value too large to hold in memory: a byte range of a file, read only when asked.
 * The parser makes these for values above its threshold, so a 2 GB object parses in bounded memory.
 */
export class BulkData {
  constructor(
    readonly path: string,
    readonly offset: number,
    readonly length: number,
  ) {}

  /** Streams the bytes, as they are in the file (the owning data set's byte order). */
  stream(): Readable {
    if (this.length === 0) return createReadStream(this.path, { start: 1, end: 0 });
    return createReadStream(this.path, { start: this.offset, end: this.offset + this.length - 1, highWaterMark: 1 << 20 });
  }

  /** Reads the whole value into memory; for callers that know it fits. */
  async read(): Promise<Uint8Array> {
    const fh = await open(this.path, 'r');
    try {
      const out = Buffer.allocUnsafe(this.length);
      let done = 0;
      while (done < this.length) {
        const { bytesRead } = await fh.read(out, done, this.length - done, this.offset + done);
        if (bytesRead === 0) throw new Error(`unexpected end of ${this.path} reading bulk data at ${this.offset + done}`);
        done += bytesRead;
      }
      return out;
    } finally {
      await fh.close();
    }
  }
}
