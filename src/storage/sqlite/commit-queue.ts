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
 * a commit without any added wait). When the store flushes the log itself (`durable`), writes
 * arriving while a batch's flush runs are held and committed together once it ends: each of them
 * needs a flush that begins after its COMMIT, which cannot begin before the running one ends, so
 * committing them at once would make none of them durable sooner, only add transactions (with
 * several associations storing, each COMMIT also rewrites the same few pages: page 1, the totals,
 * the patient, study and series rows). A lone writer never waits. Without such a flush, when the
 * previous batch held more than one write (several writers are active), the queue waits up to
 * `maxDelayMs` for more (PostgreSQL's commit_delay with commit_siblings, in spirit). That timer
 * was also used with the flush until traces of four associations storing showed its wait on every
 * store's path (docs/benchmarks.md, "Four associations into `conduit serve`"). Since the database API is synchronous, a commit in
 * progress blocks the event loop: writes arriving meanwhile are queued by the loop and form the
 * next batch.
 */
import { channel } from 'node:diagnostics_channel';
import { DicomError } from '../../core/dicom-error.js';

/** diagnostics_channel on which each committed batch publishes a CommitTrace (when something subscribes). */
export const COMMIT_CHANNEL = 'conduit:storage:commit';
const commitChannel = channel(COMMIT_CHANNEL);

/** One batch (performance.now() differences, ms). */
export interface CommitTrace {
  /** Writes in the transaction. */
  readonly writes: number;
  /** From the oldest write's submit to the transaction's start. */
  readonly waited: number;
  /** The transaction itself (BEGIN .. COMMIT) on the event loop. */
  readonly committed: number;
  /** From COMMIT to durable (the log's flush, shared; 0 without a flush of the queue's own). */
  readonly flushed: number;
}

export interface GroupCommitOptions {
  /**
   * Longest wait for more writes after the first when several writers are active and the store
   * does not flush the log itself (ms); default 2. 0: never wait longer than the next event-loop turn.
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
  readonly at: number;
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
  /** Flushes of committed batches under way (with `durable`): writes submitted meanwhile are held. */
  private flushing = 0;

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
      this.pending.push({ at: commitChannel.hasSubscribers ? performance.now() : 0, work, resolve: resolve as (value: unknown) => void, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else if (this.flushing > 0) {
        // Committed when the flush under way ends: this write needs the next flush anyway.
      } else if (this.timer === undefined) {
        this.delayed = this.durable === undefined && this.maxDelayMs > 0 && this.lastBatch > 1;
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
      const began = commitChannel.hasSubscribers ? performance.now() : 0;
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
      const committed = began > 0 ? performance.now() : 0;
      const trace = (): void => {
        if (began > 0) commitChannel.publish({ writes: batch.length, waited: began - batch[0]!.at, committed: committed - began, flushed: performance.now() - committed } satisfies CommitTrace);
      };
      if (!this.durable) {
        trace();
        settle();
        continue;
      }
      this.flushing++;
      const flushed = () => {
        this.flushing--;
        trace();
        // The writes that arrived during the flush commit together, at the loop's next turn: after
        // the answers to this batch's writers have gone out.
        if (this.flushing === 0 && this.pending.length > 0 && this.timer === undefined) {
          this.delayed = false;
          this.timer = setImmediate(() => this.flush());
        }
      };
      this.durable().then(() => {
        settle();
        flushed();
      }, (error: unknown) => {
        for (const p of batch) p.reject(error);
        flushed();
      });
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
