/**
 * Group commit for a synchronous database: writes submitted close together run in one
 * transaction, so that one fsync of the write-ahead log makes a whole batch durable instead of one
 * fsync per write.
 *
 * Each write of a batch of several runs in its own SAVEPOINT inside the batch's transaction: a write
 * that throws is rolled back alone and its caller's promise rejects, the others go on (a batch of
 * one write needs no savepoint: the transaction rolls back with it). Every promise settles only
 * after the batch's COMMIT has returned and, when the store flushes the log itself (`durable`),
 * after that flush; if the COMMIT itself fails, every write of the batch rejects and none of them is
 * in the database.
 *
 * A batch runs when `maxBatch` writes are waiting, or else at the next turn of the event loop
 * (after the I/O callbacks already due, so writes arriving together from several connections share
 * a commit without any added wait). When the previous batch held more than one write, i.e. several
 * writers are active, it waits up to `maxDelayMs` for more (PostgreSQL's commit_delay with
 * commit_siblings, in spirit): a lone writer, such as one association storing one instance after
 * the other, never waits. (Ending the wait as soon as as many writes are in as the previous batch
 * had was tried: batch sizes then ratchet down to 1 when writes arrive staggered, as stores do.) Since the database API is synchronous, a commit in progress blocks the
 * event loop: writes arriving meanwhile are queued by the loop and form the next batch.
 */
import { DicomError } from '../../core/dicom-error.js';

export interface GroupCommitOptions {
  /**
   * Longest wait for more writes after the first when several writers are active (ms); default 2.
   * 0: never wait longer than the next event-loop turn.
   */
  readonly maxDelayMs?: number;
  /** Most writes in one transaction; default 256. */
  readonly maxBatch?: number;
}

/**
 * Makes what has been committed durable (the store's own flush of the write-ahead log, off the event
 * loop); the writes of a batch settle only once the promise it returns for their COMMIT resolves.
 */
export type MakeDurable = () => Promise<void>;

/** What the queue needs from the database: run `body` in one transaction, committed when it returns. */
export type RunInTransaction = (body: () => void) => void;
/** Run `work` in a savepoint of the current transaction, rolled back to it if `work` throws. */
export type RunInSavepoint = <T>(work: () => T) => T;

interface Pending {
  readonly work: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

export interface CommitQueueStats {
  /** Transactions committed. */
  readonly batches: number;
  /** Writes committed or rolled back in them. */
  readonly writes: number;
  /** Most writes in one batch. */
  readonly largestBatch: number;
}

export class CommitQueue {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private closed = false;
  private readonly enabled: boolean;
  private readonly maxDelayMs: number;
  private readonly maxBatch: number;
  private counts = { batches: 0, writes: 0, largestBatch: 0 };
  private lastBatch = 0;
  private delayed = false;

  constructor(
    private readonly transaction: RunInTransaction,
    private readonly savepoint: RunInSavepoint,
    options: GroupCommitOptions | false = {},
    private readonly durable?: MakeDurable,
  ) {
    this.enabled = options !== false;
    this.maxDelayMs = options === false ? 0 : options.maxDelayMs ?? 2;
    this.maxBatch = options === false ? 1 : Math.max(1, options.maxBatch ?? 256);
  }

  get stats(): CommitQueueStats {
    return { ...this.counts };
  }

  /** Runs `work` in a transaction shared with other writes; resolves after that transaction commits. */
  submit<T>(work: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new DicomError('ERR_DICOM_STORAGE_CLOSED', 'the index is closed'));
    if (!this.enabled) {
      // One transaction per write, run at once.
      try {
        let result!: T;
        this.transaction(() => { result = work(); });
        this.count(1);
        return this.durable ? this.durable().then(() => result) : Promise.resolve(result);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else if (this.timer === undefined) {
        this.delayed = this.maxDelayMs > 0 && this.lastBatch > 1;
        this.timer = this.delayed ? setTimeout(() => this.flush(), this.maxDelayMs) : setImmediate(() => this.flush());
      }
    });
  }

  /** Commits what is waiting now (also called by close()). */
  flush(): void {
    if (this.timer !== undefined) {
      if (this.delayed) clearTimeout(this.timer as NodeJS.Timeout);
      else clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
      try {
        this.transaction(batch.length === 1
          // A write alone needs no savepoint: if it throws, the whole transaction rolls back and it
          // rejects with its own error, as below (one SAVEPOINT and RELEASE fewer per lone write).
          ? () => { outcomes.push({ ok: true, value: batch[0]!.work() }); }
          : () => {
            for (const p of batch) {
              try {
                outcomes.push({ ok: true, value: this.savepoint(p.work) });
              } catch (error) {
                outcomes.push({ ok: false, error });
              }
            }
          });
      } catch (error) {
        for (const p of batch) p.reject(error);
        continue;
      }
      this.count(batch.length);
      const settle = () => batch.forEach((p, i) => {
        const o = outcomes[i]!;
        if (o.ok) p.resolve(o.value);
        else p.reject(o.error);
      });
      if (!this.durable) settle();
      else this.durable().then(settle, (error: unknown) => { for (const p of batch) p.reject(error); });
    }
  }

  /** Commits what is waiting and refuses further writes. */
  close(): void {
    this.flush();
    this.closed = true;
  }

  private count(n: number): void {
    this.lastBatch = n;
    this.counts.batches++;
    this.counts.writes += n;
    if (n > this.counts.largestBatch) this.counts.largestBatch = n;
  }
}
