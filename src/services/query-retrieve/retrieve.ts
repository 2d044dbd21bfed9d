/**
 * C-MOVE and C-GET SCP (PS3.4 C.4.2.3, C.4.3.3): the Identifier names what to retrieve by its
 * Unique Keys at the Query/Retrieve Level (and, without relational-retrieval, a single Unique Key
 * value for each level above it); each instance is one C-STORE sub-operation, performed by the
 * caller's `store` (over associations to the Move Destination, or the C-GET's own association):
 * sub-operations.ts.
 */
import type { DataSet } from '../../data/data-set.js';
import type { SubOperationCounts as CommandCounts } from '../../dimse/messages.js';
import { isCancel, isPending, Status } from '../../dimse/status.js';
import { ServiceError } from '../../dimse/service-error.js';
import type { InformationModelName, QueryLevel } from '../../query/query.js';
import { INFORMATION_MODELS } from '../../query/query.js';
import type { IndexStore, StoredInstance } from '../../storage/ports.js';
import { performSubOperations, type RetrieveResponse, type SubOperationOptions } from './sub-operations.js';

export {
  allFailed, performSubOperations, type RetrieveResponse, type StoreSubOperation, type SubOperationCounts, type SubOperationLane, type SubOperationOptions,
  type SubOperationResult,
} from './sub-operations.js';

const QUERY_RETRIEVE_LEVEL = 0x00080052;
const QUERY_RETRIEVE_VIEW = 0x00080053;
const UNIQUE_KEY: Record<QueryLevel, { tag: number; name: string }> = {
  PATIENT: { tag: 0x00100020, name: 'Patient ID (0010,0020)' },
  STUDY: { tag: 0x0020000d, name: 'Study Instance UID (0020,000D)' },
  SERIES: { tag: 0x0020000e, name: 'Series Instance UID (0020,000E)' },
  IMAGE: { tag: 0x00080018, name: 'SOP Instance UID (0008,0018)' },
};

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
  if (!levelText) refuse('the Identifier has no Query/Retrieve Level (0008,0052) (PS3.4 C.4.2.1.4.1)', QUERY_RETRIEVE_LEVEL);
  if (!levels.includes(levelText as QueryLevel)) {
    refuse(`Query/Retrieve Level "${levelText}" is not one of ${levels.join(', ')}`, QUERY_RETRIEVE_LEVEL);
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
