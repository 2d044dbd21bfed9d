/**
 * C-MOVE and C-GET SCP (PS3.4 C.4.2.3, C.4.3.3): the Identifier names what to retrieve by its
 * Unique Keys at the Query/Retrieve Level (and, without relational-retrieval, a single Unique Key
 * value for each level above it); each instance is one C-STORE sub-operation, performed by the
 * caller's `store` (over an association to the Move Destination, or the C-GET's own association).
 * Pending responses carry the sub-operation counts; the final one carries the Failed SOP Instance
 * UID List when anything failed (PS3.4 C.4.2.1.3.2, C.4.3.1.3.2).
 */
import { DataSet } from '../../data/data-set.js';
import type { SubOperationCounts as CommandCounts } from '../../dimse/messages.js';
import { isCancel, isFailure, isPending, isWarning, Status } from '../../dimse/status.js';
import { ServiceError } from '../../dimse/service-error.js';
import type { InformationModelName, QueryLevel } from '../../query/query.js';
import { INFORMATION_MODELS } from '../../query/query.js';
import type { IndexStore, StoredInstance } from '../../storage/ports.js';

const QUERY_RETRIEVE_LEVEL = 0x00080052;
const QUERY_RETRIEVE_VIEW = 0x00080053;
const FAILED_SOP_INSTANCE_UID_LIST = 0x00080058;
const UNIQUE_KEY: Record<QueryLevel, { tag: number; name: string }> = {
  PATIENT: { tag: 0x00100020, name: 'Patient ID (0010,0020)' },
  STUDY: { tag: 0x0020000d, name: 'Study Instance UID (0020,000D)' },
  SERIES: { tag: 0x0020000e, name: 'Series Instance UID (0020,000E)' },
  IMAGE: { tag: 0x00080018, name: 'SOP Instance UID (0008,0018)' },
};

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

export interface SubOperationOptions {
  store: StoreSubOperation;
  /**
   * Told of the next instance right after a sub-operation begins, so that its bytes can be read
   * while the current C-STORE is on the wire (one instance ahead; see storeSubOperation in
   * server/dimse/context.ts). Not told once C-CANCEL is seen. Told of the same instance again
   * at each sub-operation while it is among the next `readAhead`.
   */
  prepare?: (instance: StoredInstance) => void;
  /** How many of the instances after the one beginning `prepare` is told of (default 1). */
  readAhead?: number;
  cancelled?: AbortSignal;
  /** Send a Pending response after each sub-operation (default true; PS3.4 says "may"). */
  pendingResponses?: boolean;
}

export interface RetrieveOptions extends SubOperationOptions {
  model: InformationModelName;
  /** Relational-retrieval was agreed by extended negotiation (PS3.4 C.4.2.2.2.1, C.5.2.1). */
  relational?: boolean;
}

/** What an Identifier asks for: the level, the Unique Key values there, and the single values given above it. */
export interface RetrieveTarget {
  level: QueryLevel;
  uids: string[];
  above: Partial<Record<QueryLevel, string>>;
}

function refuse(message: string, tag: number): never {
  throw new ServiceError(Status.IdentifierDoesNotMatchSOPClass, message, { offendingElement: [tag] });
}

/**
 * The Query/Retrieve Level and Unique Keys of a C-MOVE / C-GET Identifier (PS3.4 C.4.2.1.3.1,
 * C.4.2.2.1). Baseline: a single value of the Unique Key of each level above the retrieve level
 * (so a Study Root SERIES retrieve names its study); with relational-retrieval those may be left
 * out (PS3.4 C.4.2.2.2.1). At the PATIENT level one Patient ID; below it one UID or a list.
 */
export function retrieveTarget(identifier: DataSet, model: InformationModelName, options: { relational?: boolean } = {}): RetrieveTarget {
  const levelText = identifier.string(QUERY_RETRIEVE_LEVEL)?.trim();
  const levels = INFORMATION_MODELS[model].levels;
  if (!levelText || !levels.includes(levelText as QueryLevel)) {
    refuse(`Query/Retrieve Level "${levelText ?? ''}" is not one of ${levels.join(', ')}`, QUERY_RETRIEVE_LEVEL);
  }
  const level = levelText as QueryLevel;
  // PS3.4 C.4.2.1.3.1: only with Enhanced Multi-Frame Image Conversion, which this SCP does not agree.
  if (identifier.has(QUERY_RETRIEVE_VIEW)) refuse('Query/Retrieve View needs Enhanced Multi-Frame Image Conversion, not agreed', QUERY_RETRIEVE_VIEW);
  const key = UNIQUE_KEY[level];
  const uids = identifier.strings(key.tag).map((u) => u.trim()).filter((u) => u !== '');
  if (uids.length === 0) refuse(`a ${level} retrieve needs ${key.name}`, key.tag);
  if (level === 'PATIENT' && uids.length > 1) refuse('a PATIENT retrieve takes one Patient ID (PS3.4 C.4.2.2.1)', key.tag);
  const above: Partial<Record<QueryLevel, string>> = {};
  for (const upper of levels.slice(0, levels.indexOf(level))) {
    const k = UNIQUE_KEY[upper];
    const values = identifier.strings(k.tag).map((u) => u.trim()).filter((u) => u !== '');
    if (values.length > 1) refuse(`${k.name} above the ${level} level takes one value`, k.tag);
    if (values.length === 1) above[upper] = values[0]!;
    else if (!options.relational) refuse(`${k.name} is needed (no relational-retrieval, PS3.4 C.4.2.2.1)`, k.tag);
  }
  return { level, uids, above };
}

/** The stored instances a target names, in the index's order; the keys above the level narrow them. */
export async function instancesOf(index: IndexStore, target: RetrieveTarget): Promise<StoredInstance[]> {
  let instances = await index.instancesFor(target.level, target.uids);
  const { PATIENT: patientId, STUDY: study, SERIES: series } = target.above;
  if (study !== undefined) instances = instances.filter((i) => i.studyInstanceUid === study);
  if (series !== undefined) instances = instances.filter((i) => i.seriesInstanceUid === series);
  if (patientId !== undefined && instances.length > 0) {
    const ofPatient = new Set((await index.instancesFor('PATIENT', patientId)).map((i) => i.sopInstanceUid));
    instances = instances.filter((i) => ofPatient.has(i.sopInstanceUid));
  }
  return instances;
}

function failedList(uids: readonly string[]): DataSet | null {
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

/**
 * Performs the sub-operations one after the other: yields Pending responses with the counts, then
 * the final response (PS3.4 C.4.2.3.1): Success when all completed; Warning (B000) when some
 * failed or had a warning; A702 when all failed; Cancel (FE00) once C-CANCEL is seen, with the
 * sub-operations not started as Remaining.
 *
 * A sub-operation begins as soon as the one before has its result, before that one's Pending
 * response is yielded: with one C-STORE outstanding (the receivers' usual window) the Pending
 * response would otherwise hold up the next C-STORE-RQ. A Pending response is the snapshot taken
 * when its sub-operation ended, so the one already under way counts as Remaining (Completed +
 * Failed + Warning + Remaining is always the total). The next instances are prepared right after
 * a sub-operation begins (`prepare`, `readAhead`). A consumer that leaves early waits for the sub-operation under
 * way to end first, so that its association is not released under it.
 */
export async function* performSubOperations(instances: readonly StoredInstance[], options: SubOperationOptions): AsyncGenerator<RetrieveResponse> {
  const counts: SubOperationCounts = { remaining: instances.length, completed: 0, failed: 0, warning: 0 };
  const failed: string[] = [];
  let firstFailure: string | undefined;
  const pending = options.pendingResponses ?? true;
  const cancelled = (): boolean => options.cancelled?.aborted === true;
  const begin = (i: number): Promise<SubOperationResult> => {
    const result = perform(options.store, instances[i]!);
    if (options.prepare !== undefined) {
      const last = Math.min(instances.length - 1, i + (options.readAhead ?? 1));
      for (let k = i + 1; k <= last && !cancelled(); k++) options.prepare(instances[k]!);
    }
    return result;
  };
  let underWay = instances.length > 0 && !cancelled() ? begin(0) : undefined;
  try {
    for (let i = 0; underWay !== undefined; i++) {
      const result = await underWay;
      underWay = undefined;
      counts.remaining--;
      if (isFailure(result.status) || isCancel(result.status) || isPending(result.status)) {
        counts.failed++;
        failed.push(instances[i]!.sopInstanceUid);
        firstFailure ??= result.errorComment ?? `status ${result.status.toString(16).toUpperCase().padStart(4, '0')}H`;
      } else if (isWarning(result.status)) counts.warning++;
      else counts.completed++;
      if (i + 1 < instances.length && !cancelled()) underWay = begin(i + 1);
      if (pending && counts.remaining > 0 && !cancelled()) yield { status: Status.Pending, counts: { ...counts }, identifier: null };
    }
  } finally {
    if (underWay !== undefined) await underWay;
  }
  const summary = counts.failed > 0 ? `${counts.failed} of ${instances.length} failed: ${firstFailure}` : undefined;
  if (counts.remaining > 0) {
    // PS3.4 C.4.2.3.1: Cancel, with the sub-operations not initiated as Remaining.
    yield { status: Status.Cancel, counts, identifier: failedList(failed), ...(summary ? { errorComment: summary } : {}) };
    return;
  }
  if (counts.failed > 0 && counts.completed === 0 && counts.warning === 0) {
    yield { status: Status.RefusedOutOfResourcesSubOperations, counts, identifier: failedList(failed), errorComment: summary! };
    return;
  }
  if (counts.failed > 0 || counts.warning > 0) {
    yield { status: Status.SubOperationsCompleteOneOrMoreFailures, counts, identifier: failedList(failed), ...(summary ? { errorComment: summary } : {}) };
    return;
  }
  yield { status: Status.Success, counts, identifier: null };
}

/** Runs a C-MOVE or C-GET from its Identifier: yields Pending responses with counts, then the final response. */
export async function* performRetrieve(index: IndexStore, identifier: DataSet, options: RetrieveOptions): AsyncGenerator<RetrieveResponse> {
  const target = retrieveTarget(identifier, options.model, { relational: options.relational });
  yield* performSubOperations(await instancesOf(index, target), options);
}

/**
 * The sub-operation counts of a response as command fields (PS3.7 Tables 9.3-7, 9.3-10):
 * Number of Remaining Sub-operations only in Pending and Cancel responses (PS3.4 C.4.2.1.6, C.4.3.1.5).
 */
export function countFields(r: RetrieveResponse): CommandCounts {
  return {
    ...(isPending(r.status) || isCancel(r.status) ? { numberOfRemainingSuboperations: r.counts.remaining } : {}),
    numberOfCompletedSuboperations: r.counts.completed,
    numberOfFailedSuboperations: r.counts.failed,
    numberOfWarningSuboperations: r.counts.warning,
  };
}
