/**
 * Forced young-generation collections (scavenges) while a connection receives bulk data.
 *
 * Node allocates a new buffer for every socket read: the `onread` option that reads into one
 * reused buffer exists only for client sockets in Node 20, not for those a net.Server accepts.
 * Those buffers are memory outside the V8 heap, and V8 schedules its collections by what the
 * JavaScript heap allocates, which a process that mostly moves bytes does little of. So the dead
 * read buffers pile up until V8's external-memory limit forces a full mark-compact: ~150 of them
 * per GB received by `conduit listen` (15-25% of its CPU), with ~40 MiB of dead buffers at the
 * peak. A scavenge every few MiB received frees the buffers while they are still young: in the
 * benchmark the mark-compacts fell to 1 per GB, the listener's CPU by about half, and the peak
 * RSS growth for a 200 MiB object from 45 to 24 MiB. See docs/adr/0012-network-buffers-and-gc.md.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

/** Bytes received between two forced scavenges by default (4 MiB: a few per image, ~250 per GB). */
export const DEFAULT_COLLECT_EVERY = 4 << 20;

type GcFunction = (options: { type: 'minor' | 'major' }) => void;

/** V8's gc() (one per process, so looked up once); null where it cannot be had. */
let gcFunction: GcFunction | null | undefined;

function youngGenerationGc(): GcFunction | null {
  if (gcFunction === undefined) {
    try {
      const exposed = (globalThis as { gc?: unknown }).gc;
      if (typeof exposed === 'function') {
        gcFunction = exposed as GcFunction;
      } else {
        // The flag only makes gc() visible in contexts created afterwards; the main context is not
        // changed. (Node's documented way to get it without --expose-gc on the command line.)
        v8.setFlagsFromString('--expose-gc');
        const gc: unknown = vm.runInNewContext('gc');
        gcFunction = typeof gc === 'function' ? (gc as GcFunction) : null;
      }
    } catch {
      gcFunction = null;
    }
  }
  return gcFunction;
}

/** Counts the bytes received (over every connection it is given to) and scavenges every `every` bytes. */
export class ReceiveCollector {
  private since = 0;
  /**
   * Looked up at the first collection, not before: getting gc() creates a V8 context (~1-3 ms),
   * which a connection that receives little (a C-STORE requestor's responses) never needs.
   */
  private gc: GcFunction | null | undefined;

  /** @param every bytes between scavenges; 0 turns it off. */
  constructor(readonly every: number = DEFAULT_COLLECT_EVERY) {
    if (every <= 0) this.gc = null;
  }

  /** Called after each chunk received has been handled (its bytes kept only where still needed). */
  received(bytes: number): void {
    if (this.gc === null) return;
    this.since += bytes;
    if (this.since >= this.every) {
      this.since = 0;
      this.gc ??= youngGenerationGc();
      this.gc?.({ type: 'minor' });
    }
  }
}
