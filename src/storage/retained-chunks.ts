import type { BlobReader } from './ports.js';

/**
 * The chunks of an object on their way to the blob store, kept while they total at most `limit`
 * bytes, so that a small object is parsed for the index from memory instead of being read back:
 * the same bytes (the chunks belong to the consumer of the data set stream: the archive store),
 * four file system calls fewer, and while the blob is still being flushed. Past the limit they are
 * dropped and the blob is read back. Since objects are parsed as they arrive (ADR 0015), only those
 * that parse-as-received declines (deflated data sets) are read from here: the archive releases
 * the chunks of the others as soon as their parse has begun.
 */
export class RetainedChunks {
  private chunks: Uint8Array[] | undefined = [];
  private bytes = 0;
  private complete = false;
  private markEnded!: (bytes: number) => void;
  /** Resolves with the object's size once the source has given its last chunk (never, if it fails). */
  readonly ended = new Promise<number>((resolve) => { this.markEnded = resolve; });

  constructor(private readonly limit: number) {}

  /**
   * Passes `source` on, keeping its chunks; `onChunk` sees each one first (a parse as received).
   * `head`, when given, makes the first chunk (called at the first next(); the preamble and File
   * Meta Information built for a bare data set, PS3.10 §7.1). Written
   * as a plain iterator rather than an async generator: one promise reaction per chunk instead of
   * a generator's suspensions, on the path of every chunk of every store (~35 for a CT by C-STORE).
   * Like a generator's for-await, it closes `source` when it is closed early or `onChunk` throws.
   */
  tee(source: AsyncIterable<Uint8Array>, onChunk?: (chunk: Uint8Array) => void, head?: () => Uint8Array): AsyncIterableIterator<Uint8Array> {
    let it: AsyncIterator<Uint8Array> | undefined;
    let total = 0;
    let first = head;
    let closed = false;
    const done: IteratorResult<Uint8Array> = { value: undefined, done: true };
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      await it?.return?.();
    };
    const pass = (chunk: Uint8Array): IteratorResult<Uint8Array> => {
      total += chunk.length;
      onChunk?.(chunk);
      if (this.chunks) {
        this.bytes += chunk.length;
        if (this.bytes > this.limit) this.chunks = undefined;
        else this.chunks.push(chunk);
      }
      return { value: chunk, done: false };
    };
    const step = (r: IteratorResult<Uint8Array>): IteratorResult<Uint8Array> | Promise<IteratorResult<Uint8Array>> => {
      if (r.done) {
        closed = true;
        this.complete = true;
        this.markEnded(total);
        return done;
      }
      try {
        return pass(r.value);
      } catch (error) {
        return close().then(() => { throw error; });
      }
    };
    const failed = (error: unknown): never => {
      closed = true;
      throw error;
    };
    const iterator: AsyncIterableIterator<Uint8Array> = {
      next: () => {
        if (closed) return Promise.resolve(done);
        if (first !== undefined) {
          const make = first;
          first = undefined;
          try {
            return Promise.resolve(pass(make()));
          } catch (error) {
            closed = true;
            return Promise.reject(error);
          }
        }
        it ??= source[Symbol.asyncIterator]();
        return it.next().then(step, failed);
      },
      return: async () => {
        await close();
        return done;
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Keeps no more chunks (and drops those kept): reader() then gives undefined. */
  release(): void {
    this.chunks = undefined;
  }

  /**
   * A reader over the kept chunks, when they are the whole blob of `size` bytes. A read within one
   * chunk is a view of it; one across chunks copies only the range asked (the header: 64 KiB at
   * first, and large values are skipped, not read), never the whole object.
   */
  reader(key: string): BlobReader | undefined {
    const chunks = this.chunks;
    const size = this.bytes;
    if (!chunks || !this.complete) return undefined;
    this.chunks = undefined;
    const starts: number[] = [];
    let at = 0;
    for (const c of chunks) {
      starts.push(at);
      at += c.length;
    }
    return {
      key,
      size,
      read: async (position: number, length: number) => {
        const from = Math.min(Math.max(0, position), size);
        const to = Math.min(size, from + Math.max(0, length));
        let i = chunkAt(starts, from);
        const first = chunks[i];
        if (!first || to - starts[i]! <= first.length) return first ? first.subarray(from - starts[i]!, to - starts[i]!) : new Uint8Array(0);
        const out = Buffer.allocUnsafe(to - from);
        for (let done = 0; done < out.length; i++) {
          const c = chunks[i]!;
          const part = c.subarray(from + done - starts[i]!, Math.min(c.length, to - starts[i]!));
          out.set(part, done);
          done += part.length;
        }
        return out;
      },
      close: async () => undefined,
    };
  }
}

/** Index of the chunk holding byte `position` (binary search over the chunks' start offsets). */
function chunkAt(starts: readonly number[], position: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= position) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
