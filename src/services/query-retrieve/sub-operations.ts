/**
 * The C-STORE sub-operations of a C-MOVE or C-GET (PS3.4 C.4.2.3, C.4.3.3): one queue of
 * instances, taken by one or more lanes (a lane: one association to the receiver, one C-STORE
 * outstanding on it); Pending responses carrying the counts, and the final response with the
 * Failed SOP Instance UID List (PS3.4 C.4.2.1.3.2, C.4.3.1.3.2).
 */
import { DataSet } from '../../data/data-set.js';
import { isCancel, isFailure, isPending, isWarning, Status } from '../../dimse/status.js';
import type { StoredInstance } from '../../storage/ports.js';

const FAILED_SOP_INSTANCE_UID_LIST = 0x00080058;

export interface SubOperationCounts {
  remaining: number;
  completed: number;
  failed: number;
  warning: number;
}

export interface RetrieveResponse {
  status: number;
  counts: SubOperationCounts;
  /** The final response's Identifier: Failed SOP Instance UID List (0008,0058). */
  identifier: DataSet | null;
  errorComment?: string;
}

/** The result of one C-STORE sub-operation (a failure is a status, not an exception). */
export interface SubOperationResult {
  status: number;
  errorComment?: string;
}

/** One C-STORE sub-operation. */
export type StoreSubOperation = (instance: StoredInstance) => Promise<SubOperationResult>;

/** Where sub-operations are performed one at a time: an association to the receiver. */
export interface SubOperationLane {
  store: StoreSubOperation;
  /**
   * Told of the lane's next instances right after a sub-operation begins, so that their bytes can
   * be read while the current C-STORE is on the wire (see storeSubOperation in
   * server/dimse/context.ts). Not told once C-CANCEL is seen. Told of the same instance again at
   * each sub-operation while it is among the lane's next `readAhead`.
   */
  prepare?: (instance: StoredInstance) => void;
  /**
   * How many instances after the one beginning `prepare` is told of (default 1). With `prepare`
   * the lane takes them from the shared queue at once, so they are sent on this lane.
   */
  readAhead?: number;
  /**
   * False once the lane can perform no more sub-operations (its association has ended). Such a
   * lane takes no more instances, and gives back those it had taken ahead, unless it is the last
   * lane: that one goes on, its sub-operations failing, so that every instance is accounted for.
   */
  usable?: () => boolean;
  /** Told once the lane takes no more instances (the queue is empty, C-CANCEL, or it is no longer usable). */
  done?: () => void;
}

export interface SubOperationOptions extends SubOperationLane {
  /**
   * Lanes that join when their promise resolves (further associations to a Move Destination,
   * opened in the background); one resolving to undefined could not be opened. The final response
   * does not wait for a lane not yet joined; one that joins with the queue empty is told `done` at once.
   */
  moreLanes?: ReadonlyArray<Promise<SubOperationLane | undefined>>;
  cancelled?: AbortSignal;
  /**
   * The least time, in ms, between two Pending responses, the first counted from the start (PS3.4
   * C.4.2.3.1, C.4.3.3.1: the SCP "may" send them): a sub-operation that ends sooner after the last
   * one sent gets none. 0 (the default) = one after every sub-operation but the last; Infinity = none.
   */
  pendingInterval?: number;
  /** The clock `pendingInterval` is measured on, in ms (default performance.now). */
  now?: () => number;
}

export function failedList(uids: readonly string[]): DataSet | null {
  if (uids.length === 0) return null;
  const ds = new DataSet();
  ds.set(FAILED_SOP_INSTANCE_UID_LIST, 'UI', [...uids]);
  return ds;
}

/**
 * The final response when no sub-operation could be performed (the Move Destination cannot be
 * reached): every instance failed, "Refused: Out of Resources - Unable to perform sub-operations"
 * (A702), which PS3.4 C.4.2.3.1 makes the answer when all sub-operations were unsuccessful.
 */
export function allFailed(instances: readonly StoredInstance[], errorComment: string): RetrieveResponse {
  return {
    status: Status.RefusedOutOfResourcesSubOperations,
    counts: { remaining: 0, completed: 0, failed: instances.length, warning: 0 },
    identifier: failedList(instances.map((i) => i.sopInstanceUid)),
    errorComment,
  };
}

/** Runs one sub-operation; a store that throws is a failed sub-operation (0110H), never a rejection. */
function perform(store: StoreSubOperation, instance: StoredInstance): Promise<SubOperationResult> {
  const failed = (err: unknown): SubOperationResult => ({ status: Status.UnableToProcess, errorComment: (err as Error).message });
  try {
    return store(instance).catch(failed);
  } catch (err) {
    return Promise.resolve(failed(err));
  }
}

/** The final response from the counts (PS3.4 C.4.2.3.1). */
function finalResponse(total: number, counts: SubOperationCounts, failed: readonly string[], firstFailure: string | undefined): RetrieveResponse {
  const summary = counts.failed > 0 ? `${counts.failed} of ${total} failed: ${firstFailure}` : undefined;
  const comment = summary ? { errorComment: summary } : {};
  // Cancel, with the sub-operations not initiated as Remaining.
  if (counts.remaining > 0) return { status: Status.Cancel, counts, identifier: failedList(failed), ...comment };
  if (counts.failed > 0 && counts.completed === 0 && counts.warning === 0) {
    return { status: Status.RefusedOutOfResourcesSubOperations, counts, identifier: failedList(failed), errorComment: summary! };
  }
  if (counts.failed > 0 || counts.warning > 0) return { status: Status.SubOperationsCompleteOneOrMoreFailures, counts, identifier: failedList(failed), ...comment };
  return { status: Status.Success, counts, identifier: null };
}

/**
 * Performs the sub-operations, each lane taking the next instance from one queue as soon as its
 * sub-operation before has a result: yields Pending responses with the counts, then the final
 * response (PS3.4 C.4.2.3.1): Success when all completed; Warning (B000) when some failed or had
 * a warning; A702 when all failed; Cancel (FE00) once C-CANCEL is seen, with the sub-operations
 * not started as Remaining (those a lane had taken ahead among them).
 *
 * A lane begins its next sub-operation before the Pending response of the one before is yielded:
 * with one C-STORE outstanding (the receivers' usual window) the Pending response would otherwise
 * hold up the next C-STORE-RQ. A Pending response is the snapshot taken when its sub-operation
 * ended, so those under way count as Remaining (Completed + Failed + Warning + Remaining is always
 * the total). A sub-operation under way on a lane whose association ends is failed, not tried
 * again on another lane (the receiver may have stored it). A consumer that leaves early waits for
 * the sub-operations under way to end first, so that no association is released under one.
 */
export async function* performSubOperations(instances: readonly StoredInstance[], options: SubOperationOptions): AsyncGenerator<RetrieveResponse> {
  const total = instances.length;
  const counts: SubOperationCounts = { remaining: total, completed: 0, failed: 0, warning: 0 };
  const failed: string[] = [];
  let firstFailure: string | undefined;
  const pendingInterval = options.pendingInterval ?? 0;
  const now = options.now ?? (() => performance.now());
  let lastPending = pendingInterval > 0 ? now() : 0;
  const cancelled = (): boolean => options.cancelled?.aborted === true;
  /** Set when the consumer has left or the final response is due: lanes joining later take nothing. */
  let stopped = false;
  let next = 0;
  /** Instances a lane had taken ahead and gave back; taken before the rest. */
  const givenBack: StoredInstance[] = [];
  const take = (): StoredInstance | undefined => givenBack.shift() ?? (next < total ? instances[next++] : undefined);
  const pending: RetrieveResponse[] = [];
  let wake: (() => void) | undefined;
  const signal = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  /** Lanes taking instances. */
  let active = 0;

  const record = (instance: StoredInstance, result: SubOperationResult): void => {
    counts.remaining--;
    if (isFailure(result.status) || isCancel(result.status) || isPending(result.status)) {
      counts.failed++;
      failed.push(instance.sopInstanceUid);
      firstFailure ??= result.errorComment ?? `status ${result.status.toString(16).toUpperCase().padStart(4, '0')}H`;
    } else if (isWarning(result.status)) counts.warning++;
    else counts.completed++;
    if (counts.remaining === 0 || cancelled()) return;
    if (pendingInterval > 0) {
      // Each Pending response costs both ends a message (~0.1 ms of CPU here and at a DCMTK
      // movescu per sub-operation, docs/benchmarks.md): what a retrieve of small instances is made of.
      const t = now();
      if (t - lastPending < pendingInterval) return;
      lastPending = t;
    }
    pending.push({ status: Status.Pending, counts: { ...counts }, identifier: null });
  };

  const runLane = async (lane: SubOperationLane): Promise<void> => {
    active++;
    const ahead: StoredInstance[] = [];
    const readAhead = lane.prepare !== undefined ? lane.readAhead ?? 1 : 0;
    try {
      for (;;) {
        if (stopped || cancelled() || (lane.usable?.() === false && active > 1)) break;
        const instance = ahead.shift() ?? take();
        if (instance === undefined) break;
        const result = perform(lane.store, instance);
        while (ahead.length < readAhead) {
          const more = take();
          if (more === undefined) break;
          ahead.push(more);
        }
        for (const a of ahead) {
          if (cancelled()) break;
          try {
            lane.prepare!(a);
          } catch {
            // Reading ahead only saves time: the sub-operation reads (and fails) at its turn.
          }
        }
        record(instance, await result);
        signal();
      }
    } finally {
      active--;
      givenBack.unshift(...ahead);
      lane.done?.();
      signal();
    }
  };

  void runLane(options);
  for (const joining of options.moreLanes ?? []) {
    void joining.then((lane) => {
      if (lane === undefined) return;
      if (stopped) lane.done?.();
      else void runLane(lane);
    }, () => undefined);
  }
  try {
    for (;;) {
      while (pending.length > 0) yield pending.shift()!;
      if (active === 0) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stopped = true;
    while (active > 0) await new Promise<void>((resolve) => (wake = resolve));
  }
  yield finalResponse(total, counts, failed, firstFailure);
}
