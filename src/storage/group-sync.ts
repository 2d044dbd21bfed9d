/**
 * Group fsync: callers that want something flushed (a directory after a rename, a write-ahead log
 * after a commit) share the flushes. sync() resolves after a flush that BEGAN AFTER the call, so
 * whatever the caller did before calling is covered; while one flush runs, every caller arriving
 * meanwhile waits for the single next one. One flush at a time, never more than one queued.
 */
export class GroupSync {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(private readonly flush: () => Promise<void>) {}

  /** A flush is running or queued. */
  get busy(): boolean {
    return this.running !== undefined || this.next !== undefined;
  }

  sync(): Promise<void> {
    // A queued flush has not begun yet: it covers this caller too.
    if (this.next) return this.next;
    if (!this.running) return this.start();
    // The running one may have begun before what this caller wants flushed: one more after it.
    const next = this.running.catch(() => undefined).then(() => {
      this.next = undefined;
      return this.start();
    });
    this.next = next;
    return next;
  }

  private start(): Promise<void> {
    const run = (async () => this.flush())();
    this.running = run;
    const done = () => {
      if (this.running === run) this.running = undefined;
    };
    run.then(done, done);
    return run;
  }
}
