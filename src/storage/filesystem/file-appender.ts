/**
 * Appends the chunks of a received object to an open file as they arrive, so that by the time the
 * last one comes only that one is left to write (a 526 KB CT used to be written in one writev after
 * its last byte). Two ways, with the same contract:
 *
 * - `PipelinedAppender`: libuv's thread pool, one writev at a time, each taking every chunk queued
 *   while the one before ran; the caller waits only when more than WRITE_AHEAD bytes are queued
 *   (memory stays bounded whatever the disk's pace).
 * - `DirectAppender`: blocking writes on the calling thread, gathered to ~256 KiB. Each write is a
 *   copy into the page cache (no sync), which costs the same CPU on either thread; done here it
 *   saves a hand-off to the pool and back (two thread wake-ups) per write. For a process whose
 *   event loop does little else, such as `conduit listen`, like storescp's single thread.
 */
import { writevSync } from 'node:fs';
import { remainder, writevFd } from './file-descriptors.js';

export interface FileAppender {
  /** Bytes written so far. */
  readonly bytes: number;
  /** Queues or writes `chunk` (kept, not copied, until written); returns a promise to wait for before adding more, or undefined. */
  add(chunk: Uint8Array): Promise<void> | undefined;
  /** Writes what is left; throws the first write error. */
  finish(): Promise<void>;
  /** Resolves once no write is under way (after a failure elsewhere, before closing the file). */
  settled(): Promise<void>;
}

/** Bytes queued beyond the write under way before the pipelined reader waits for the disk. */
export const WRITE_AHEAD = 1 << 20;

export class PipelinedAppender implements FileAppender {
  bytes = 0;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private running: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;

  constructor(private readonly fd: number) {}

  add(chunk: Uint8Array): Promise<void> | undefined {
    if (this.failure !== undefined) throw this.failure.error;
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (this.running === undefined) this.start();
    return this.queued >= WRITE_AHEAD ? this.running : undefined;
  }

  async finish(): Promise<void> {
    await this.settled();
    if (this.failure !== undefined) throw this.failure.error;
  }

  async settled(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private start(): void {
    const batch = this.queue;
    const n = this.queued;
    this.queue = [];
    this.queued = 0;
    // Never rejects: the error is kept for add()/finish(), so no rejection goes unhandled while
    // the caller is waiting on the data set rather than on this write.
    this.running = writevFd(this.fd, batch).then(() => {
      this.bytes += n;
      this.running = undefined;
      if (this.queued > 0 && this.failure === undefined) this.start();
    }, (error: unknown) => {
      this.failure ??= { error };
      this.running = undefined;
      this.queue = [];
      this.queued = 0;
    });
  }
}

/** Bytes gathered before a direct write (fewer system calls for senders with small PDUs). */
export const DIRECT_WRITE_SIZE = 256 * 1024;

export class DirectAppender implements FileAppender {
  bytes = 0;
  private queue: Uint8Array[] = [];
  private queued = 0;

  constructor(private readonly fd: number) {}

  add(chunk: Uint8Array): undefined {
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (this.queued >= DIRECT_WRITE_SIZE) this.flush();
    return undefined;
  }

  async finish(): Promise<void> {
    if (this.queued > 0) this.flush();
  }

  async settled(): Promise<void> {}

  private flush(): void {
    let parts = this.queue;
    let left = this.queued;
    this.queue = [];
    this.queued = 0;
    // A regular file takes a whole writev unless the disk is full or the file too large; then
    // the next call reports the error.
    for (;;) {
      const n = writevSync(this.fd, parts);
      if (n === 0) throw new Error('the file system took none of the bytes written');
      this.bytes += n;
      left -= n;
      if (left === 0) return;
      parts = remainder(parts, n);
    }
  }
}
