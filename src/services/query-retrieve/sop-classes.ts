/** Query/Retrieve SOP Classes (PS3.4 C.6) and the information model each one queries. */
import type { InformationModelName } from '../../query/query.js';

export type QueryRetrieveOperation = 'FIND' | 'MOVE' | 'GET';

export interface QueryRetrieveSopClass {
  uid: string;
  model: InformationModelName;
  operation: QueryRetrieveOperation;
}

export const QUERY_RETRIEVE_SOP_CLASSES: readonly QueryRetrieveSopClass[] = [
  // PS3.4 C.6.1.3: Patient Root
  { uid: '1.2.840.10008.5.1.4.1.2.1.1', model: 'PatientRoot', operation: 'FIND' },
  { uid: '1.2.840.10008.5.1.4.1.2.1.2', model: 'PatientRoot', operation: 'MOVE' },
  { uid: '1.2.840.10008.5.1.4.1.2.1.3', model: 'PatientRoot', operation: 'GET' },
  // PS3.4 C.6.2.3: Study Root
  { uid: '1.2.840.10008.5.1.4.1.2.2.1', model: 'StudyRoot', operation: 'FIND' },
  { uid: '1.2.840.10008.5.1.4.1.2.2.2', model: 'StudyRoot', operation: 'MOVE' },
  { uid: '1.2.840.10008.5.1.4.1.2.2.3', model: 'StudyRoot', operation: 'GET' },
  // PS3.4 C.6.3 (retired): Patient/Study Only, still sent by old equipment
  { uid: '1.2.840.10008.5.1.4.1.2.3.1', model: 'PatientStudyOnly', operation: 'FIND' },
  { uid: '1.2.840.10008.5.1.4.1.2.3.2', model: 'PatientStudyOnly', operation: 'MOVE' },
  { uid: '1.2.840.10008.5.1.4.1.2.3.3', model: 'PatientStudyOnly', operation: 'GET' },
];

export function queryRetrieveSopClass(uid: string): QueryRetrieveSopClass | undefined {
  return QUERY_RETRIEVE_SOP_CLASSES.find((c) => c.uid === uid);
}
