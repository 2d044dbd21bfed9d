/**
 * What the index stores about an instance, built from its data set: the attributes of each level
 * of the Query/Retrieve information model, and the whole data set in the DICOM JSON model.
 *
 * Levels: an attribute belongs to the level whose PS3.4 C.6 key table lists it (Patient Root,
 * Tables C.6-1 to C.6-4, via query/keys.ts); the patient, study and series rows of the index keep
 * those of the first instance that created them. Timezone Offset From UTC (0008,0201) is kept at
 * every level, since the time columns and the matcher read it with the times. Attributes no table
 * lists live in the instance's metadata only; a query that asks for one at a higher level reads it
 * from a representative instance (sqlite/find.ts). Derived attributes (Number of ... Related ...,
 * Modalities / SOP Classes in Study) are computed by the index, never taken from an instance.
 *
 * Metadata: PS3.18 F.2 JSON text of the data set (File Meta Information excluded), values longer
 * than a threshold (default 1024 bytes, for the VRs PS3.18 F.2.2 allows) and values left in the
 * file replaced by a BulkDataURI marker, "conduit-bulkdata:" followed by the path to the value
 * (tags in 8 hex digits and item indexes, "/"-separated, e.g. "conduit-bulkdata:7FE00010" or
 * "conduit-bulkdata:00540016/0/00181074"). The DICOMweb layer turns a marker into a real URI of
 * the instance's bulkdata resource with a string replacement of the prefix.
 */
import { DicomError } from '../core/dicom-error.js';
import type { DataSet } from '../data/data-set.js';
import type { DataElement } from '../data/element.js';
import { dicomJsonText, type DicomJsonAttribute, type DicomJsonDataSet, type DicomJsonValue } from '../data/json-model.js';
import { isGroupLength, parseTag, tagHex, type Tag } from '../data/tag.js';
import { decodeNumbers, decodeStrings } from '../data/values.js';
import { usesSpecificCharacterSet, type VR } from '../data/vr.js';
import { lookupTag } from '../dictionary/index.js';
import { INFORMATION_MODELS, type QueryLevel } from '../query/query.js';
import { keyDefinitions } from '../query/keys.js';
import type { AttributeRecord, AttributeValue } from '../query/record.js';
import type { InstanceIndexRecord } from './ports.js';

export const BULK_DATA_MARKER_PREFIX = 'conduit-bulkdata:';

/** The marker standing for a bulk value in stored metadata (see the module comment). */
export function bulkDataMarker(path: readonly Tag[], items: readonly number[]): string {
  const parts: string[] = [];
  path.forEach((t, i) => {
    parts.push(tagHex(t));
    if (i < items.length) parts.push(String(items[i]));
  });
  return BULK_DATA_MARKER_PREFIX + parts.join('/');
}

/** The path of a marker: tags, and after each sequence tag the index of the item entered. */
export function parseBulkDataMarker(uri: string): { path: Tag[]; items: number[] } | undefined {
  if (!uri.startsWith(BULK_DATA_MARKER_PREFIX)) return undefined;
  const parts = uri.slice(BULK_DATA_MARKER_PREFIX.length).split('/');
  if (parts.length % 2 !== 1) return undefined;
  const path: Tag[] = [];
  const items: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (i % 2 === 0) {
      const t = /^[0-9A-F]{8}$/.test(parts[i]!) ? parseTag(parts[i]!) : undefined;
      if (t === undefined) return undefined;
      path.push(t);
    } else {
      if (!/^\d+$/.test(parts[i]!)) return undefined;
      items.push(Number(parts[i]));
    }
  }
  return { path, items };
}

const TIMEZONE_OFFSET_FROM_UTC = 'TimezoneOffsetFromUTC';
const TIMEZONE_OFFSET_FROM_UTC_TAG = 0x00080201;
const SPECIFIC_CHARACTER_SET = 0x00080005;

/** Attributes the index derives (PS3.4 C.3.4 Table C.3-1): never stored from an instance. */
export const DERIVED_KEYWORDS: ReadonlySet<string> = new Set([
  'NumberOfPatientRelatedStudies', 'NumberOfPatientRelatedSeries', 'NumberOfPatientRelatedInstances',
  'NumberOfStudyRelatedSeries', 'NumberOfStudyRelatedInstances', 'NumberOfSeriesRelatedInstances',
  'ModalitiesInStudy', 'SOPClassesInStudy',
]);

/** Attributes the responder fills in (PS3.4 C.4.1.1.3.2), which no stored record holds. */
const RESPONSE_KEYWORDS: ReadonlySet<string> = new Set(['RetrieveAETitle', 'InstanceAvailability', 'RetrieveURL', 'StorageMediaFileSetID', 'StorageMediaFileSetUID', 'QueryRetrieveLevel', 'SpecificCharacterSet']);

const LEVELS: readonly QueryLevel[] = ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'];

let levelByKeyword: Map<string, QueryLevel> | undefined;
/** The level whose key table lists `keyword` (Patient Root model), or undefined. */
export function storedLevelOf(keyword: string): QueryLevel | undefined {
  if (!levelByKeyword) {
    levelByKeyword = new Map();
    for (const level of LEVELS) {
      for (const d of keyDefinitions(INFORMATION_MODELS.PatientRoot, level)) if (!DERIVED_KEYWORDS.has(d.keyword)) levelByKeyword.set(d.keyword, level);
    }
  }
  return levelByKeyword.get(keyword);
}

/**
 * True when the level records of `level` and its ancestors give the value of `keyword` (or it is
 * derived, or filled in by the responder): a query on anything else needs the metadata.
 */
export function isCoveredAt(keyword: string, level: QueryLevel): boolean {
  if (keyword === '' ) return false;
  if (DERIVED_KEYWORDS.has(keyword) || RESPONSE_KEYWORDS.has(keyword) || keyword === TIMEZONE_OFFSET_FROM_UTC) return true;
  const own = storedLevelOf(keyword);
  return own !== undefined && LEVELS.indexOf(own) <= LEVELS.indexOf(level);
}

const OPAQUE_VRS: ReadonlySet<VR> = new Set<VR>(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const BINARY_NUMBER_VRS: ReadonlySet<VR> = new Set<VR>(['US', 'SS', 'UL', 'SL', 'FL', 'FD']);

/** The key of an attribute in a record: its keyword, or 8 hex digits when it has none. */
export function recordKey(tag: Tag): string {
  return lookupTag(tag)?.keyword || tagHex(tag);
}

/**
 * A data set as an attribute record (query/record.ts): text decoded, numbers as numbers, sequences
 * as records; binary values, values left in the file and text that does not decode are left out.
 * `include` selects top-level attributes (default: all but group 0002 and the character set).
 */
export function attributeRecordOf(ds: DataSet, include?: (tag: Tag, key: string) => boolean): AttributeRecord {
  const out: Record<string, AttributeValue> = {};
  for (const e of ds.elements()) {
    if (e.tag >>> 16 === 0x0002 || e.tag === SPECIFIC_CHARACTER_SET || isGroupLength(e.tag)) continue;
    const key = recordKey(e.tag);
    if (include && !include(e.tag, key)) continue;
    const value = valueOf(ds, e);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function valueOf(ds: DataSet, e: DataElement): AttributeValue | undefined {
  if (e.items) return e.items.map((item) => attributeRecordOf(item));
  if (e.bulk || e.encapsulated) return undefined;
  // A UN element (explicit VR files written by tools that did not know the attribute) is read as
  // the dictionary's VR, as query/record.ts does: a SOP Instance UID sent as UN is still one.
  const vr = e.vr === 'UN' ? lookupTag(e.tag)?.vrs[0] ?? 'UN' : e.vr;
  if (OPAQUE_VRS.has(vr) || vr === 'SQ') return undefined;
  try {
    if (BINARY_NUMBER_VRS.has(vr)) {
      const numbers = decodeNumbers(e.bytes, vr, ds.littleEndian).map((n) => (Number.isFinite(n) ? n : String(n)));
      return numbers.length === 0 ? '' : numbers.length === 1 ? numbers[0] : numbers;
    }
    const values = e.vr === 'UN' ? decodeStrings(e.bytes, vr, usesSpecificCharacterSet(vr) ? ds.characterSet : undefined) : ds.strings(e.tag);
    return values.length === 0 ? '' : values.length === 1 ? values[0] : values;
  } catch {
    // Text the character set cannot decode: the metadata keeps what can be kept.
    return undefined;
  }
}

/** A DICOM JSON model data set (PS3.18 F.2) as an attribute record, like attributeRecordOf. */
export function attributeRecordFromJson(json: DicomJsonDataSet): AttributeRecord {
  const out: Record<string, AttributeValue> = {};
  for (const [hex, attribute] of Object.entries(json)) {
    const tag = parseTag(hex);
    if (tag === undefined || tag >>> 16 === 0x0002 || tag === SPECIFIC_CHARACTER_SET) continue;
    const value = jsonValueOf(attribute);
    if (value !== undefined) out[recordKey(tag)] = value;
  }
  return out;
}

function jsonValueOf(a: DicomJsonAttribute): AttributeValue | undefined {
  if (a.vr === 'SQ') return (a.Value ?? []).map((item) => attributeRecordFromJson((item ?? {}) as DicomJsonDataSet));
  if (a.InlineBinary !== undefined || a.BulkDataURI !== undefined || OPAQUE_VRS.has(a.vr)) return undefined;
  const values = (a.Value ?? []).map((v: DicomJsonValue) => {
    if (v === null) return '';
    if (typeof v === 'object') {
      const pn = v as { Alphabetic?: string; Ideographic?: string; Phonetic?: string };
      const groups = [pn.Alphabetic ?? '', pn.Ideographic ?? '', pn.Phonetic ?? ''];
      while (groups.length > 1 && groups[groups.length - 1] === '') groups.pop();
      return groups.join('=');
    }
    return v;
  });
  return values.length === 0 ? '' : values.length === 1 ? values[0] : values;
}

export interface IndexFacts {
  readonly blobKey: string;
  readonly size: number;
  readonly dataSetOffset: number;
  readonly transferSyntaxUid: string;
  readonly sourceAet?: string;
  readonly receivedAt?: Date;
  /** Store the metadata JSON (default true). */
  readonly metadata?: boolean;
  /** Values longer than this (bytes) become BulkDataURI markers in the metadata (default 1024). */
  readonly metadataBulkDataThreshold?: number;
}

let levelByTag: Map<Tag, { readonly key: string; readonly level: QueryLevel | undefined }> | undefined;
/**
 * The top-level attributes a level record keeps, by tag: their record key and level (undefined for
 * Timezone Offset From UTC, kept at every level). The key tables list attributes by keyword; looked
 * up by tag, the other attributes of a data set (most of them) cost no dictionary lookup.
 */
function levelAttributes(): Map<Tag, { readonly key: string; readonly level: QueryLevel | undefined }> {
  if (!levelByTag) {
    levelByTag = new Map();
    for (const level of LEVELS) {
      for (const d of keyDefinitions(INFORMATION_MODELS.PatientRoot, level)) {
        const key = recordKey(d.tag);
        const own = storedLevelOf(key);
        if (own !== undefined && !levelByTag.has(d.tag)) levelByTag.set(d.tag, { key, level: own });
      }
    }
    levelByTag.set(TIMEZONE_OFFSET_FROM_UTC_TAG, { key: TIMEZONE_OFFSET_FROM_UTC, level: undefined });
  }
  return levelByTag;
}

/** The attribute records of the four levels (each attribute decoded as attributeRecordOf does). */
export function levelRecords(ds: DataSet, transferSyntaxUid?: string): { patient: AttributeRecord; study: AttributeRecord; series: AttributeRecord; instance: AttributeRecord } {
  const records: Record<QueryLevel, Record<string, AttributeValue>> = { PATIENT: {}, STUDY: {}, SERIES: {}, IMAGE: {} };
  const kept = levelAttributes();
  for (const e of ds.elements()) {
    const at = kept.get(e.tag);
    if (at === undefined || e.tag >>> 16 === 0x0002 || e.tag === SPECIFIC_CHARACTER_SET) continue;
    const value = valueOf(ds, e);
    if (value === undefined) continue;
    if (at.level === undefined) for (const level of LEVELS) records[level][at.key] = value;
    else records[at.level][at.key] = value;
  }
  if (transferSyntaxUid) records.IMAGE['AvailableTransferSyntaxUID'] = transferSyntaxUid;
  return { patient: records.PATIENT, study: records.STUDY, series: records.SERIES, instance: records.IMAGE };
}

/** The metadata JSON text of a data set (see the module comment). */
export function metadataJson(ds: DataSet, bulkDataThreshold = 1024): string {
  // DS and IS text that a JSON number would change ("5.000000") is kept as a string, so that queries
  // answer with the stored text (PS3.5 §6.2: they are strings). Rows stored before kept numbers
  // only; those read back as the number's text ("5"), as they always did.
  return dicomJsonText(ds, { bulkDataThreshold, bulkDataUri: (_e, path, items) => bulkDataMarker(path, items), numberStrings: 'when-needed' }, (tag) => tag >>> 16 === 0x0002);
}

const UIDS = [['SOPInstanceUID', 'instance', 0x00080018], ['SOPClassUID', 'instance', 0x00080016], ['StudyInstanceUID', 'study', 0x0020000d], ['SeriesInstanceUID', 'series', 0x0020000e]] as const;

/**
 * The index record of an instance. Raises ERR_DICOM_STORAGE_BAD_OBJECT when the data set lacks a
 * UID the index needs; `warnings` receives what could not be kept (metadata that did not encode).
 * The UIDs are read from the level records, so that the keys and the indexed columns agree.
 */
export function buildInstanceIndexRecord(ds: DataSet, facts: IndexFacts, warnings: string[] = []): InstanceIndexRecord {
  const levels = levelRecords(ds, facts.transferSyntaxUid);
  const text = (v: AttributeValue) => (typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '');
  const uid: Record<string, string> = {};
  for (const [keyword, level, tag] of UIDS) {
    const value = text(levels[level][keyword]);
    if (!value) throw new DicomError('ERR_DICOM_STORAGE_BAD_OBJECT', `the data set has no ${keyword}, needed to index it`, { tag });
    uid[keyword] = value;
  }
  let metadata: string | undefined;
  if (facts.metadata !== false) {
    try {
      metadata = metadataJson(ds, facts.metadataBulkDataThreshold);
    } catch (cause) {
      warnings.push(`metadata JSON not stored: ${(cause as Error).message}`);
    }
  }
  return {
    sopInstanceUid: uid['SOPInstanceUID']!,
    sopClassUid: uid['SOPClassUID']!,
    studyInstanceUid: uid['StudyInstanceUID']!,
    seriesInstanceUid: uid['SeriesInstanceUID']!,
    patientId: text(levels.patient['PatientID']),
    issuerOfPatientId: text(levels.patient['IssuerOfPatientID']),
    patient: levels.patient,
    study: levels.study,
    series: levels.series,
    instance: levels.instance,
    transferSyntaxUid: facts.transferSyntaxUid,
    blobKey: facts.blobKey,
    size: facts.size,
    dataSetOffset: facts.dataSetOffset,
    sourceAet: facts.sourceAet,
    receivedAt: facts.receivedAt ?? new Date(),
    metadata,
  };
}

/**
 * `record` with the size and receipt time of the whole object (a record built before its last byte
 * came). Every key written out, in the order buildInstanceIndexRecord gives them: in Node 20 a
 * spread with keys after it (`{ ...record, size }`) makes a new hidden class per call, and every
 * read of the record in the index store then goes through the megamorphic cache (ADR 0022).
 */
export function recordReceived(record: InstanceIndexRecord, size: number, receivedAt: Date): InstanceIndexRecord {
  const r = record;
  return {
    sopInstanceUid: r.sopInstanceUid, sopClassUid: r.sopClassUid, studyInstanceUid: r.studyInstanceUid, seriesInstanceUid: r.seriesInstanceUid,
    patientId: r.patientId, issuerOfPatientId: r.issuerOfPatientId, patient: r.patient, study: r.study, series: r.series, instance: r.instance,
    transferSyntaxUid: r.transferSyntaxUid, blobKey: r.blobKey, size, dataSetOffset: r.dataSetOffset, sourceAet: r.sourceAet, receivedAt, metadata: r.metadata,
  };
}
