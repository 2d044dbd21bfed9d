/**
 * A received data set, delivered as its fragments arrive (dcm4che's lesson: C-STORE data arrives
 * as a stream so memory stays bounded). The assembler pushes fragments in; one consumer reads
 * them with `for await`, or collects them, or discards them. Bytes pushed and not yet read count
 * against the assembler's high-water mark, which is how a slow consumer pauses the socket.
 */
import { concatBytes } from '../core/bytes.js';
import { DicomError } from '../core/dicom-error.js';

interface Waiter {
  resolve(result: IteratorResult<Uint8Array>): void;
  reject(error: unknown): void;
}

export class DataSetStream implements AsyncIterable<Uint8Array> {
  private readonly queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private ended = false;
  private error: unknown = null;
  private discarded = false;
  private iterated = false;
  private waiter: Waiter | null = null;
  private receivedBytes = 0;

  /** @param onConsumed told how many buffered bytes were read or dropped, so the owner can account for them. */
  constructor(private readonly onConsumed: (bytes: number) => void = () => {}) {}

  // ---- producer side (the assembler) ----

  /** Adds a fragment (kept as given, not copied). Returns the bytes now counted as buffered. */
  push(chunk: Uint8Array): number {
    if (this.ended || this.error) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'push() after the data set ended');
    this.receivedBytes += chunk.length;
    if (this.discarded || chunk.length === 0) return 0;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: chunk, done: false });
      return 0;
    }
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    return chunk.length;
  }

  /** The last fragment has arrived. */
  end(): void {
    if (this.ended || this.error) return;
    this.ended = true;
    if (this.waiter && this.queue.length === 0) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: undefined, done: true });
    }
  }

  /** The data set will not be completed (the association ended or failed). */
  fail(error: unknown): void {
    if (this.ended || this.error) return;
    this.error = error;
    this.release();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(error);
    }
  }

  // ---- consumer side ----

  /** Bytes received so far (read or not). */
  get received(): number {
    return this.receivedBytes;
  }
  /** Bytes received and not yet read. */
  get buffered(): number {
    return this.queuedBytes;
  }
  /** The last fragment has arrived. */
  get complete(): boolean {
    return this.ended;
  }

  /** Drops what is buffered and all that is still to come (the handler does not want the data set). */
  discard(): void {
    if (this.discarded) return;
    this.discarded = true;
    this.release();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.iterated) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'a received data set can be read only once');
    this.iterated = true;
    return {
      next: () => this.next(),
      return: async () => {
        this.discard();
        return { value: undefined, done: true };
      },
    };
  }

  /** Reads the whole data set into one buffer (for data sets known to be small, such as identifiers). */
  async collect(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let n = 0;
    for await (const chunk of this) {
      parts.push(chunk);
      n += chunk.length;
    }
    return concatBytes(parts, n);
  }

  private next(): Promise<IteratorResult<Uint8Array>> {
    if (this.discarded) return Promise.resolve({ value: undefined, done: true });
    const chunk = this.queue.shift();
    if (chunk) {
      this.queuedBytes -= chunk.length;
      this.onConsumed(chunk.length);
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    if (this.waiter) return Promise.reject(new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'next() called again before the previous read settled'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private release(): void {
    const n = this.queuedBytes;
    this.queue.length = 0;
    this.queuedBytes = 0;
    if (n > 0) this.onConsumed(n);
  }
}
