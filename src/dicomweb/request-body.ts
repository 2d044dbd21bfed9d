/**
 * A request body as an AsyncIterable of the chunks Node's HTTP parser gives, with back-pressure,
 * for STOW-RS (the multipart parser pulls from it).
 *
 * Not the Readable's own async iterator: that one calls read() with no size, which concatenates
 * every chunk buffered meanwhile into a new buffer (a copy of the body's bytes whenever the
 * consumer falls behind the socket, as a store waiting on the file system does). This reader takes
 * the chunks as 'data' events, keeps at most `highWaterMark` bytes of them queued (then pauses the
 * request, which stops reading the socket), and hands each one over as it came.
 *
 * It also paces young-generation collections per body (see BodyPacing): each chunk is counted by
 * the collector once its consumer asks for the next one, as a share 1 / (bodies being read).
 */
import type { Readable } from 'node:stream';
import type { ReceiveCollector } from '../core/young-generation-gc.js';

/** The request bodies of one app being read (for the collection pacing). */
export interface BodyPacing {
  active: number;
}

export interface RequestBodyOptions {
  /** Bytes queued before the request is paused (default 256 KiB). */
  readonly highWaterMark?: number;
  /**
   * Counts each chunk once handled, as a share of its bytes: 1 / (bodies being read). So each
   * body, however many arrive at once, sees a young-generation collection every
   * `collectGarbageEvery` of its own bytes. Counting every byte of 4 concurrent bodies collected 4
   * times as often within the life of one part: the chunks still waiting to be durable and indexed
   * survived two collections, were promoted to the old generation, and came back only by full
   * mark-compacts (89 of them for 2,000 CT in 4 concurrent requests, against 2 this way;
   * docs/benchmarks.md, DICOMweb).
   */
  readonly collector?: Pick<ReceiveCollector, 'received'>;
  readonly pacing?: BodyPacing;
}

interface Waiter {
  readonly resolve: (r: IteratorResult<Uint8Array>) => void;
  readonly reject: (e: unknown) => void;
}

const DONE: IteratorResult<Uint8Array> = { done: true, value: undefined };

/** The chunks of `body` (read once: a second iteration throws). */
export function requestBody(body: Readable, options: RequestBodyOptions = {}): AsyncIterable<Uint8Array> {
  let taken = false;
  return {
    [Symbol.asyncIterator]: () => {
      if (taken) throw new Error('a request body can be read only once');
      taken = true;
      return new BodyIterator(body, options);
    },
  };
}

class BodyIterator implements AsyncIterator<Uint8Array> {
  private readonly queue: Buffer[] = [];
  private head = 0;
  private queued = 0;
  private ended = false;
  private failure: unknown;
  private waiter: Waiter | undefined;
  private paused = false;
  /** Bytes of the chunk last handed over, counted when the next is asked for. */
  private handed = 0;
  private active = true;
  private readonly highWaterMark: number;

  constructor(private readonly body: Readable, private readonly options: RequestBodyOptions) {
    this.highWaterMark = options.highWaterMark ?? 256 * 1024;
    if (options.pacing) options.pacing.active++;
    body.on('data', this.onData);
    body.once('end', this.onEnd);
    body.once('error', this.onError);
    // A request aborted by its client is closed without 'end' (and, in Node 20, without 'error').
    body.once('close', this.onClose);
  }

  private readonly onData = (chunk: Buffer | string): void => {
    const b = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    if (b.length === 0) return;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      this.handed = b.length;
      w.resolve({ done: false, value: b });
      return;
    }
    this.queue.push(b);
    this.queued += b.length;
    if (this.queued >= this.highWaterMark && !this.paused) {
      this.paused = true;
      this.body.pause();
    }
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.settle();
  };

  private readonly onError = (error: unknown): void => {
    this.failure ??= error;
    this.settle();
  };

  private readonly onClose = (): void => {
    if (!this.ended && this.failure === undefined) {
      const e = new Error('the request body ended early: the connection was closed') as Error & { code: string };
      e.code = 'ECONNRESET';
      this.failure = e;
    }
    this.settle();
  };

  /** Wakes a waiting next() once the queue is empty and the body has ended or failed. */
  private settle(): void {
    const w = this.waiter;
    if (!w || this.head < this.queue.length) return;
    this.waiter = undefined;
    this.finish();
    if (this.failure !== undefined) w.reject(this.failure);
    else w.resolve(DONE);
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.handed) {
      const n = this.handed;
      this.handed = 0;
      const pacing = this.options.pacing;
      this.options.collector?.received(pacing && pacing.active > 0 ? n / pacing.active : n);
    }
    if (this.head < this.queue.length) {
      const b = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Buffer;
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      }
      this.queued -= b.length;
      if (this.paused && this.queued < this.highWaterMark / 2) {
        this.paused = false;
        this.body.resume();
      }
      this.handed = b.length;
      return Promise.resolve({ done: false, value: b });
    }
    if (this.failure !== undefined) {
      this.finish();
      return Promise.reject(this.failure);
    }
    if (this.ended) {
      this.finish();
      return Promise.resolve(DONE);
    }
    if (this.paused) {
      this.paused = false;
      this.body.resume();
    }
    return new Promise((resolve, reject) => { this.waiter = { resolve, reject }; });
  }

  /**
   * The consumer stops early (a malformed body): what is left of the body is read and dropped (the
   * request flows with no listener), so that the answer reaches the client and the connection
   * stays usable. (Destroying an unfinished server request would reset the connection first.)
   */
  return(): Promise<IteratorResult<Uint8Array>> {
    const early = this.active && !this.ended && this.failure === undefined;
    this.finish();
    if (early) this.body.resume();
    this.queue.length = 0;
    this.head = 0;
    this.queued = 0;
    return Promise.resolve(DONE);
  }

  private finish(): void {
    if (!this.active) return;
    this.active = false;
    if (this.options.pacing) this.options.pacing.active--;
    this.body.off('data', this.onData);
    this.body.off('end', this.onEnd);
    this.body.off('error', this.onError);
    this.body.off('close', this.onClose);
  }
}
