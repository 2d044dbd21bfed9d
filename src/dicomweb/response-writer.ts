/**
 * Writing a large response body straight to the socket (a hijacked fastify reply), with few large
 * writes and no allocation per chunk: blobs that are local files are read into two reused 1 MiB
 * buffers, each reused only once the socket has taken the previous write of it (the write
 * callback), which is also the back-pressure. A stream per instance through Readable.from and
 * pipe allocates a fresh buffer per read and a promise chain per chunk: for a 260 MB study that
 * was most of WADO-RS's time (docs/benchmarks.md, "DICOMweb").
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import type { BlobStore } from '../storage/ports.js';

const BUFFER_SIZE = 1 << 20;
const EMPTY = new Uint8Array(0);

export class ResponseWriter {
  private readonly buffers = [Buffer.allocUnsafe(BUFFER_SIZE), Buffer.allocUnsafe(BUFFER_SIZE)];
  /** The write still holding each buffer (settled when the socket has taken it). */
  private readonly inUse: Array<Promise<void> | undefined> = [undefined, undefined];
  private next = 0;
  private failure: Error | undefined;
  /** Settled when the response closes: a write under way may then never call back. */
  private readonly closed: Promise<void>;

  constructor(private readonly res: ServerResponse) {
    this.closed = new Promise<void>((resolve) => {
      res.once('close', () => {
        if (!res.writableFinished) this.failure ??= new Error('the client closed the connection');
        resolve();
      });
    });
  }

  /**
   * Writes bytes the caller will not touch again. Resolves at once unless the socket holds more
   * than its high-water mark, then once it has drained; rejects once a write has failed.
   */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (chunk.length === 0) return;
    if (!this.res.write(chunk, (error) => { if (error) this.failure ??= error; })) await this.drained();
  }

  /**
   * The blob's local file, opened for writeBlob (undefined when the store has none): callers open
   * the next instance's while the current one is sent, so the opens stay off the critical path.
   */
  static async openLocal(blobs: BlobStore, key: string): Promise<FileHandle | undefined> {
    const reader = await blobs.open(key);
    const path = reader.path;
    void reader.close().catch(() => undefined);
    return path === undefined ? undefined : open(path, 'r');
  }

  /**
   * `prefix`, then the whole blob: from its local file (`local`, from openLocal; closed here)
   * through the reused buffers, the prefix in the same write as the file's first bytes; else from
   * the store's stream. `size` (the index's) spares the read that would find the end of the file.
   */
  async writeBlob(blobs: BlobStore, key: string, prefix: Uint8Array, local: Promise<FileHandle | undefined>, size = Infinity): Promise<void> {
    const fh = await local;
    if (fh === undefined) {
      await this.write(prefix);
      for await (const chunk of await blobs.get(key)) await this.write(chunk as Uint8Array);
      return;
    }
    try {
      let position = 0;
      let head = prefix.length <= BUFFER_SIZE / 2 ? prefix : EMPTY;
      if (head !== prefix) await this.write(prefix);
      for (;;) {
        const i = this.next;
        await Promise.race([this.inUse[i], this.closed]);
        if (this.failure) throw this.failure;
        const buffer = this.buffers[i]!;
        buffer.set(head, 0);
        const { bytesRead } = await fh.read(buffer, head.length, BUFFER_SIZE - head.length, position);
        const length = head.length + bytesRead;
        head = EMPTY;
        if (length === 0) break;
        position += bytesRead;
        this.inUse[i] = new Promise<void>((resolve) => {
          this.res.write(buffer.subarray(0, length), (error) => {
            if (error) this.failure ??= error;
            resolve();
          });
        });
        this.next = 1 - i;
        if (bytesRead === 0 || position >= size) break;
      }
    } finally {
      void fh.close().catch(() => undefined);
    }
  }

  /** Waits for every write under way; rejects if one failed. */
  async flush(): Promise<void> {
    await Promise.race([Promise.all(this.inUse), this.closed]);
    if (this.failure) throw this.failure;
  }

  private drained(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        if (this.failure) reject(this.failure);
        else resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }
}
