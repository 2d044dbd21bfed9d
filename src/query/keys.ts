/**
 * The attribute tables of the Query/Retrieve Information Models: the Unique (U), Required (R) and
 * Optional (O) keys of each level (PS3.4 C.6.1.1.2 to C.6.1.1.5, Tables C.6-1 to C.6-4 for Patient
 * Root; C.6.2.1.2 to C.6.2.1.4, Tables C.6-5 to C.6-7 for Study Root; Patient/Study Only from
 * PS3.4-2004 Tables C.6-9, C.6-10), the additional attributes of PS3.4 C.3.4 Table C.3-1, and the
 * attributes an index stores as columns (INDEXED_ATTRIBUTES), from which the storage adapter
 * creates its schema (sql.ts schemaColumns).
 *
 * Each level also accepts "all other Attributes at that level" as optional keys; an attribute not
 * listed here is taken to belong to the level of the query (see levelOfKey).
 */
import { DicomError } from '../core/dicom-error.js';
import type { Tag } from '../data/tag.js';
import type { VR } from '../data/vr.js';
import { lookupTag, tagForKeyword } from '../dictionary/index.js';
import type { InformationModel, InformationModelName, QueryLevel } from './query.js';

export type KeyType = 'U' | 'R' | 'O';

export interface KeyDefinition {
  readonly keyword: string;
  readonly tag: Tag;
  readonly vr: VR;
  readonly level: QueryLevel;
  readonly type: KeyType;
}

type Row = readonly [keyword: string, type: KeyType];

// PS3.4 Table C.6-1 (Patient level of Patient Root) and the patient attributes of Table C.3-1.
const PATIENT_KEYS: readonly Row[] = [
  ['PatientName', 'R'], ['PatientID', 'U'], ['IssuerOfPatientID', 'O'], ['IssuerOfPatientIDQualifiersSequence', 'O'],
  ['ReferencedPatientSequence', 'O'], ['PatientBirthDate', 'O'], ['PatientBirthTime', 'O'], ['PatientSex', 'O'],
  ['OtherPatientIDsSequence', 'O'], ['OtherPatientNames', 'O'], ['EthnicGroup', 'O'], ['PatientComments', 'O'],
  ['NumberOfPatientRelatedStudies', 'O'], ['NumberOfPatientRelatedSeries', 'O'], ['NumberOfPatientRelatedInstances', 'O'],
  // other Patient IE attributes commonly asked for (PS3.3 C.7.1.1), "all other Attributes at Patient level"
  ['TypeOfPatientID', 'O'], ['PatientSpeciesDescription', 'O'], ['ResponsiblePerson', 'O'], ['PatientBreedDescription', 'O'],
];

// PS3.4 Table C.6-2 (Study level of Patient Root) and the study attributes of Table C.3-1.
const STUDY_KEYS: readonly Row[] = [
  ['StudyDate', 'R'], ['StudyTime', 'R'], ['AccessionNumber', 'R'], ['StudyID', 'R'], ['StudyInstanceUID', 'U'],
  ['ReferringPhysicianName', 'O'], ['StudyDescription', 'O'], ['ProcedureCodeSequence', 'O'],
  ['NameOfPhysiciansReadingStudy', 'O'], ['AdmittingDiagnosesDescription', 'O'], ['AdmittingDiagnosesCodeSequence', 'O'],
  ['ReferencedStudySequence', 'O'], ['PatientAge', 'O'], ['PatientSize', 'O'], ['PatientWeight', 'O'], ['Occupation', 'O'],
  ['AdditionalPatientHistory', 'O'], ['OtherStudyNumbers', 'O'], ['NumberOfStudyRelatedSeries', 'O'],
  ['NumberOfStudyRelatedInstances', 'O'], ['ModalitiesInStudy', 'O'], ['SOPClassesInStudy', 'O'],
  ['AnatomicRegionsInStudyCodeSequence', 'O'], ['IssuerOfAccessionNumberSequence', 'O'],
  ['RequestingPhysician', 'O'], ['RequestedProcedureDescription', 'O'], ['ReasonForTheRequestedProcedure', 'O'],
];

// PS3.4 Table C.6-3 (Series level), with the series attributes an archive is commonly asked for.
const SERIES_KEYS: readonly Row[] = [
  ['Modality', 'R'], ['SeriesNumber', 'R'], ['SeriesInstanceUID', 'U'], ['NumberOfSeriesRelatedInstances', 'O'],
  ['SeriesDate', 'O'], ['SeriesTime', 'O'], ['SeriesDescription', 'O'], ['BodyPartExamined', 'O'], ['Laterality', 'O'],
  ['ProtocolName', 'O'], ['OperatorsName', 'O'], ['PerformingPhysicianName', 'O'],
  ['PerformedProcedureStepStartDate', 'O'], ['PerformedProcedureStepStartTime', 'O'], ['PerformedProcedureStepID', 'O'],
  ['PerformedProcedureStepDescription', 'O'], ['RequestAttributesSequence', 'O'], ['Manufacturer', 'O'],
  ['ManufacturerModelName', 'O'], ['StationName', 'O'], ['InstitutionName', 'O'], ['InstitutionalDepartmentName', 'O'],
  ['FrameOfReferenceUID', 'O'], ['SeriesType', 'O'],
];

// PS3.4 Table C.6-4 (Composite Object Instance level).
const IMAGE_KEYS: readonly Row[] = [
  ['InstanceNumber', 'R'], ['SOPInstanceUID', 'U'], ['SOPClassUID', 'O'], ['AlternateRepresentationSequence', 'O'],
  ['RelatedGeneralSOPClassUID', 'O'], ['ConceptNameCodeSequence', 'O'], ['ContentTemplateSequence', 'O'],
  ['AvailableTransferSyntaxUID', 'O'], ['ContentDate', 'O'], ['ContentTime', 'O'], ['AcquisitionDate', 'O'],
  ['AcquisitionTime', 'O'], ['AcquisitionDateTime', 'O'], ['AcquisitionNumber', 'O'], ['ImageType', 'O'],
  ['Rows', 'O'], ['Columns', 'O'], ['BitsAllocated', 'O'], ['NumberOfFrames', 'O'], ['CompletionFlag', 'O'],
  ['VerificationFlag', 'O'], ['ContentLabel', 'O'], ['ContentDescription', 'O'], ['InstanceCreationDate', 'O'],
  ['InstanceCreationTime', 'O'], ['DocumentTitle', 'O'],
];

// PS3.4 Table C.6-5: in Study Root the study level carries the patient attributes, with Patient's
// Name and Patient ID as Required keys (the unique key of the top level is Study Instance UID).
const STUDY_ROOT_STUDY_KEYS: readonly Row[] = [
  ...STUDY_KEYS,
  ...PATIENT_KEYS.map(([k, t]): Row => [k, k === 'PatientID' || k === 'PatientName' ? 'R' : t]),
];

const ROWS: Readonly<Record<InformationModelName, Partial<Record<QueryLevel, readonly Row[]>>>> = {
  PatientRoot: { PATIENT: PATIENT_KEYS, STUDY: STUDY_KEYS, SERIES: SERIES_KEYS, IMAGE: IMAGE_KEYS },
  StudyRoot: { STUDY: STUDY_ROOT_STUDY_KEYS, SERIES: SERIES_KEYS, IMAGE: IMAGE_KEYS },
  PatientStudyOnly: { PATIENT: PATIENT_KEYS, STUDY: STUDY_KEYS },
};

/** The Unique Key of each level (PS3.4 C.6.1.1.2 to C.6.1.1.5). */
export const UNIQUE_KEYS: Readonly<Record<QueryLevel, string>> = Object.freeze({
  PATIENT: 'PatientID',
  STUDY: 'StudyInstanceUID',
  SERIES: 'SeriesInstanceUID',
  IMAGE: 'SOPInstanceUID',
});

/** The tag and VR of a keyword of the dictionary. */
export function attributeOf(keyword: string): { tag: Tag; vr: VR } {
  const tag = tagForKeyword(keyword);
  const vr = tag === undefined ? undefined : lookupTag(tag)?.vrs[0];
  if (tag === undefined || vr === undefined) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `keyword "${keyword}" is not in the dictionary`);
  return { tag, vr };
}

const tables = new Map<InformationModelName, Map<QueryLevel, readonly KeyDefinition[]>>();
function table(model: InformationModelName): Map<QueryLevel, readonly KeyDefinition[]> {
  let t = tables.get(model);
  if (t) return t;
  t = new Map();
  for (const [level, rows] of Object.entries(ROWS[model]) as Array<[QueryLevel, readonly Row[]]>) {
    t.set(level, Object.freeze(rows.map(([keyword, type]) => Object.freeze({ keyword, ...attributeOf(keyword), level, type }))));
  }
  tables.set(model, t);
  return t;
}

/** The keys a level of a model lists (U, R and the listed O keys). */
export function keyDefinitions(model: InformationModel, level: QueryLevel): readonly KeyDefinition[] {
  return table(model.name).get(level) ?? [];
}

const byTag = new Map<InformationModelName, Map<Tag, KeyDefinition>>();

/** The definition of `tag` in the model, at whichever level lists it (the highest, if several do). */
export function keyDefinition(model: InformationModel, tag: Tag): KeyDefinition | undefined {
  let m = byTag.get(model.name);
  if (!m) {
    m = new Map();
    for (const level of model.levels) for (const d of keyDefinitions(model, level)) if (!m.has(d.tag)) m.set(d.tag, d);
    byTag.set(model.name, m);
  }
  return m.get(tag);
}

/**
 * The level an attribute belongs to in the model: the level whose table lists it, else the
 * query's level (PS3.4 C.6.1.1.x: "all other Attributes at the ... level" are optional keys, and
 * the level of an attribute not listed cannot be told from the dictionary).
 */
export function levelOfKey(model: InformationModel, tag: Tag, queryLevel: QueryLevel): QueryLevel {
  return keyDefinition(model, tag)?.level ?? queryLevel;
}

export function uniqueKeyTag(level: QueryLevel): Tag {
  return attributeOf(UNIQUE_KEYS[level]).tag;
}

// ---- the index ----

/**
 * How an indexed attribute is stored and matched in SQL (sql.ts):
 * - text: one value, compared exactly (case-sensitive, PS3.4 C.2.2.2.1);
 * - multi-text: several values stored as "\v1\v2\" (every value between backslashes);
 * - person-name: the value, and per component group a folded search column (see normalize.ts);
 * - uid: one UI value;
 * - date: 'YYYYMMDD'; time: 'HHMMSS.FFFFFF'; date-time: 'YYYYMMDDHHMMSS.FFFFFF' in UTC;
 * - integer (IS, US, UL, SS, SL) and decimal (DS, FL, FD): numbers.
 */
export type ColumnKind = 'text' | 'multi-text' | 'person-name' | 'uid' | 'date' | 'time' | 'date-time' | 'integer' | 'decimal';

export interface IndexedAttribute {
  readonly keyword: string;
  readonly tag: Tag;
  readonly vr: VR;
  /** The level whose table holds the column (IMAGE is the instance table). */
  readonly level: QueryLevel;
  /** snake_case of the keyword: PatientName -> patient_name. */
  readonly column: string;
  readonly kind: ColumnKind;
  /** For a DA whose TM partner is indexed too (Study Date / Study Time): the TM's keyword. */
  readonly pairedTime?: string;
  /** For a TM whose DA partner is indexed: the DA's keyword. */
  readonly pairedDate?: string;
}

type IndexRow = readonly [keyword: string, level: QueryLevel, kind?: ColumnKind];

/**
 * Every Unique and Required key of PS3.4 Tables C.6-1 to C.6-7, the derived attributes an index
 * maintains (Modalities in Study, SOP Classes in Study), and the optional keys most asked for by
 * viewers and the QIDO-RS defaults (PS3.18 §10.6.3.3). Other keys are matched by the post-filter.
 */
const INDEX_ROWS: readonly IndexRow[] = [
  ['PatientName', 'PATIENT'], ['PatientID', 'PATIENT'], ['IssuerOfPatientID', 'PATIENT'], ['PatientBirthDate', 'PATIENT'],
  ['PatientBirthTime', 'PATIENT'], ['PatientSex', 'PATIENT'],
  ['StudyInstanceUID', 'STUDY'], ['StudyDate', 'STUDY'], ['StudyTime', 'STUDY'], ['AccessionNumber', 'STUDY'], ['StudyID', 'STUDY'],
  ['ReferringPhysicianName', 'STUDY'], ['StudyDescription', 'STUDY'], ['ModalitiesInStudy', 'STUDY', 'multi-text'],
  ['SOPClassesInStudy', 'STUDY', 'multi-text'],
  ['SeriesInstanceUID', 'SERIES'], ['Modality', 'SERIES'], ['SeriesNumber', 'SERIES'], ['SeriesDescription', 'SERIES'],
  ['SeriesDate', 'SERIES'], ['SeriesTime', 'SERIES'], ['BodyPartExamined', 'SERIES'], ['Laterality', 'SERIES'],
  ['PerformedProcedureStepStartDate', 'SERIES'], ['PerformedProcedureStepStartTime', 'SERIES'],
  ['SOPInstanceUID', 'IMAGE'], ['SOPClassUID', 'IMAGE'], ['InstanceNumber', 'IMAGE'], ['ContentDate', 'IMAGE'],
  ['ContentTime', 'IMAGE'], ['AcquisitionDateTime', 'IMAGE'], ['NumberOfFrames', 'IMAGE'],
];

export function snakeCase(keyword: string): string {
  return keyword.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2').toLowerCase();
}

function kindOf(vr: VR): ColumnKind {
  switch (vr) {
    case 'PN': return 'person-name';
    case 'UI': return 'uid';
    case 'DA': return 'date';
    case 'TM': return 'time';
    case 'DT': return 'date-time';
    case 'IS': case 'US': case 'UL': case 'SS': case 'SL': return 'integer';
    case 'DS': case 'FL': case 'FD': return 'decimal';
    default: return 'text';
  }
}

let indexed: readonly IndexedAttribute[] | undefined;
/** The attributes an index stores as columns, in the order of INDEX_ROWS. */
export function indexedAttributes(): readonly IndexedAttribute[] {
  if (indexed) return indexed;
  const keywords = new Set(INDEX_ROWS.map(([k]) => k));
  indexed = Object.freeze(INDEX_ROWS.map(([keyword, level, kind]) => {
    const { tag, vr } = attributeOf(keyword);
    const entry: { -readonly [K in keyof IndexedAttribute]: IndexedAttribute[K] } = { keyword, tag, vr, level, column: snakeCase(keyword), kind: kind ?? kindOf(vr) };
    // PS3.4 C.2.2.2.5.4: pairs of DA and TM whose keywords differ only in Date/Time.
    if (vr === 'DA') {
      const time = pairKeyword(keyword, 'Date', 'Time');
      if (time && keywords.has(time)) entry.pairedTime = time;
    } else if (vr === 'TM') {
      const date = pairKeyword(keyword, 'Time', 'Date');
      if (date && keywords.has(date)) entry.pairedDate = date;
    }
    return Object.freeze(entry);
  }));
  return indexed;
}

const indexedByTag = new Map<Tag, IndexedAttribute>();
export function indexedAttribute(tag: Tag): IndexedAttribute | undefined {
  if (indexedByTag.size === 0) for (const a of indexedAttributes()) indexedByTag.set(a.tag, a);
  return indexedByTag.get(tag);
}

function pairKeyword(keyword: string, from: string, to: string): string | undefined {
  const i = keyword.lastIndexOf(from);
  return i < 0 ? undefined : keyword.slice(0, i) + to + keyword.slice(i + from.length);
}

/**
 * The TM attribute that forms a combined date-time pair with a DA attribute (PS3.4
 * C.2.2.2.5.4): Study Date / Study Time, Series Date / Series Time, Content Date / Content Time,
 * ... (the keywords differ only in "Date" and "Time"), or undefined.
 */
export function pairedTimeTag(dateTag: Tag): Tag | undefined {
  const entry = lookupTag(dateTag);
  if (!entry || entry.vrs[0] !== 'DA') return undefined;
  const time = pairKeyword(entry.keyword, 'Date', 'Time');
  const tag = time === undefined ? undefined : tagForKeyword(time);
  return tag !== undefined && lookupTag(tag)?.vrs[0] === 'TM' ? tag : undefined;
}

/** The DA partner of a TM attribute, or undefined (inverse of pairedTimeTag). */
export function pairedDateTag(timeTag: Tag): Tag | undefined {
  const entry = lookupTag(timeTag);
  if (!entry || entry.vrs[0] !== 'TM') return undefined;
  const date = pairKeyword(entry.keyword, 'Time', 'Date');
  const tag = date === undefined ? undefined : tagForKeyword(date);
  return tag !== undefined && lookupTag(tag)?.vrs[0] === 'DA' && pairedTimeTag(tag) === timeTag ? tag : undefined;
}
