/**
 * C-MOVE and C-GET SCP (PS3.4 C.4.2.3, C.4.3.3): the Identifier names what to retrieve by its
 * Unique Keys at the Query/Retrieve Level; each instance is one C-STORE sub-operation, performed by
 * the caller's `store` (a new association to the Move Destination, or the same association for
 * C-GET). Pending responses carry the sub-operation counts; the final one carries the Failed SOP
 * Instance UID List when anything failed (PS3.4 C.4.2.1.5, C.4.3.1.4).
 */
import { DataSet } from '../../data/data-set.js';
import { isFailure, isWarning, Status } from '../../dimse/status.js';
import { ServiceError } from '../../dimse/service-error.js';
import type { InformationModelName, QueryLevel } from '../../query/query.js';
import { INFORMATION_MODELS } from '../../query/query.js';
import type { IndexStore, StoredInstance } from '../../storage/ports.js';

const QUERY_RETRIEVE_LEVEL = 0x00080052;
const FAILED_SOP_INSTANCE_UID_LIST = 0x00080058;
const UNIQUE_KEY: Record<QueryLevel, number> = {
  PATIENT: 0x00100020, // Patient ID
  STUDY: 0x0020000d, // Study Instance UID
  SERIES: 0x0020000e, // Series Instance UID
  IMAGE: 0x00080018, // SOP Instance UID
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

/** One C-STORE sub-operation; resolves with its status (a failure is a status, not an exception). */
export type StoreSubOperation = (instance: StoredInstance) => Promise<{ status: number; errorComment?: string }>;

export interface RetrieveOptions {
  model: InformationModelName;
  store: StoreSubOperation;
  cancelled?: AbortSignal;
  /** Send a Pending response after each sub-operation (default true; PS3.4 says "may"). */
  pendingResponses?: boolean;
}

/** What the Identifier asks for: the level and the Unique Key values there (PS3.4 C.4.2.2.1). */
export function retrieveTarget(identifier: DataSet, model: InformationModelName): { level: QueryLevel; uids: string[] } {
  const levelText = identifier.string(QUERY_RETRIEVE_LEVEL)?.trim();
  const levels = INFORMATION_MODELS[model].levels;
  if (!levelText || !levels.includes(levelText as QueryLevel)) {
    throw new ServiceError(Status.IdentifierDoesNotMatchSOPClass, `Query/Retrieve Level "${levelText ?? ''}" is not one of ${levels.join(', ')}`, { offendingElement: [QUERY_RETRIEVE_LEVEL] });
  }
  const level = levelText as QueryLevel;
  const uids = identifier.strings(UNIQUE_KEY[level]).filter((u) => u !== '');
  if (uids.length === 0) {
    throw new ServiceError(Status.IdentifierDoesNotMatchSOPClass, `a ${level} level retrieve needs its Unique Key ${UNIQUE_KEY[level].toString(16).padStart(8, '0')}`, { offendingElement: [UNIQUE_KEY[level]] });
  }
  return { level, uids };
}

function failedList(uids: string[]): DataSet | null {
  if (uids.length === 0) return null;
  const ds = new DataSet();
  ds.set(FAILED_SOP_INSTANCE_UID_LIST, 'UI', uids);
  return ds;
}

/** Runs a C-MOVE or C-GET: yields Pending responses with counts, then the final response. */
export async function* performRetrieve(index: IndexStore, identifier: DataSet, options: RetrieveOptions): AsyncGenerator<RetrieveResponse> {
  const { level, uids } = retrieveTarget(identifier, options.model);
  const instances = await index.instancesFor(level, uids);
  const counts: SubOperationCounts = { remaining: instances.length, completed: 0, failed: 0, warning: 0 };
  const failed: string[] = [];
  const pending = options.pendingResponses ?? true;
  for (let i = 0; i < instances.length; i++) {
    if (options.cancelled?.aborted) {
      // PS3.4 C.4.2.1.5: the remaining ones are neither completed nor failed; list the failures so far.
      yield { status: Status.Cancel, counts: { ...counts }, identifier: failedList(failed) };
      return;
    }
    const instance = instances[i]!;
    let result: { status: number; errorComment?: string };
    try {
      result = await options.store(instance);
    } catch (err) {
      result = { status: Status.RefusedOutOfResourcesSubOperations, errorComment: (err as Error).message };
    }
    counts.remaining--;
    if (isFailure(result.status)) {
      counts.failed++;
      failed.push(instance.sopInstanceUid);
    } else if (isWarning(result.status)) counts.warning++;
    else counts.completed++;
    if (pending && counts.remaining > 0) yield { status: Status.Pending, counts: { ...counts }, identifier: null };
  }
  if (counts.failed > 0 || counts.warning > 0) {
    // Sub-operations complete, one or more failures or warnings (PS3.4 C.4.2.1.5).
    yield { status: Status.SubOperationsCompleteOneOrMoreFailures, counts, identifier: failedList(failed), errorComment: counts.failed > 0 ? `${counts.failed} of ${instances.length} sub-operations failed` : undefined };
    return;
  }
  yield { status: Status.Success, counts, identifier: null };
}
