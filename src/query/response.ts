/**
 * Response Identifiers (C-FIND, PS3.4 C.4.1.1.3.2) and QIDO-RS results (PS3.18 §10.6.3.3) built
 * from what the index found (record.ts EntityRecord): only what was asked, plus what the standard
 * requires.
 *
 * C-FIND (C.4.1.1.3.2; C.4.1.3.1.1, C.4.1.3.2.2): the keys of the request with the entity's values
 * (zero length when it has none; every value of a multi-valued attribute, C.2.2.3), the Unique Keys
 * of the levels down to the query level, Query/Retrieve Level, Retrieve AE Title, Instance
 * Availability when known, Specific Character Set when the text needs one, Timezone Offset From
 * UTC when times are in a known local time zone. "The C-FIND response shall not contain
 * Attributes that were not in the request or specified in this section."
 * A sequence key returns the items that matched, with only the requested item keys (C.2.2.2.6);
 * a sequence key with an empty item returns the whole sequence.
 *
 * QIDO-RS: the attributes returned by default for the level (PS3.18 Tables 10.6.3-3, -4, -5; the
 * study's for a series or instance search not scoped to a study, the series' for an instance search
 * not scoped to a series), the query keys, the includefield attributes (or all of the entity's),
 * Retrieve URL.
 */
import { DicomError } from '../core/dicom-error.js';
import { DataSet } from '../data/data-set.js';
import { parseTag, type Tag } from '../data/tag.js';
import { isStringVR, type VR } from '../data/vr.js';
import { encodeDataSet, type Encoding } from '../data/writer.js';
import { tagForKeyword } from '../dictionary/index.js';
import { queryConditions, type Condition } from './conditions.js';
import { encodeTextEntries, OPAQUE_VRS, type ResponseEntry } from './identifier-encoder.js';
import { QUERY_RETRIEVE_LEVEL, INSTANCE_AVAILABILITY, RETRIEVE_AE_TITLE, SPECIFIC_CHARACTER_SET, TIMEZONE_OFFSET_FROM_UTC } from './identifier.js';
import { attributeOf, levelOfKey, pairedTimeTag, uniqueKeyTag } from './keys.js';
import { evaluateConditions, recordOffset } from './matching.js';
import { combineDateTime, normalizeDate, normalizeDateTime, normalizeTime, timeOfDayInUtc } from './normalize.js';
import type { MatchingKey, Query, QueryLevel } from './query.js';
import { describeTag, findAttribute, isEntityRecord, type AttributeRecord, type Candidate, type EntityRecord } from './record.js';

const RETRIEVE_URL = 0x00081190;

/** One attribute of a response, before it is encoded. */
type Entry = ResponseEntry;

export interface FindResponseOptions {
  /** Retrieve AE Title(s) of this SCP, for entities that do not carry their own. */
  readonly retrieveAETitles?: readonly string[];
}

/** The Identifier of one Pending C-FIND response for `entity`. */
export function buildFindResponse(query: Query, entity: Candidate, options: FindResponseOptions = {}): DataSet {
  return materialize(findResponseEntries(query, entity, options), query.characterSet);
}

/**
 * The same Identifier encoded in `encoding`: the bytes of encodeDataSet(buildFindResponse(...)),
 * written straight from the attributes when they are ASCII text (identifier-encoder.ts), the usual
 * case, without building the DataSet.
 */
export function encodeFindResponse(query: Query, entity: Candidate, encoding: Encoding, options: FindResponseOptions = {}): Uint8Array {
  const entries = findResponseEntries(query, entity, options);
  return encodeTextEntries(entries, encoding) ?? encodeDataSet(materialize(entries, query.characterSet), encoding);
}

function findResponseEntries(query: Query, entity: Candidate, options: FindResponseOptions): Entry[] {
  const record = asEntity(entity);
  const entries = new Map<Tag, Entry>();
  const conditions = queryConditions(query);
  for (const key of query.keys) entries.set(key.tag, keyEntry(key, record, conditions));
  for (const tag of uniqueKeyTags(query)) {
    if (!entries.has(tag)) entries.set(tag, valueEntry(tag, record));
  }
  entries.set(QUERY_RETRIEVE_LEVEL, { tag: QUERY_RETRIEVE_LEVEL, vr: 'CS', values: [query.level] });
  // C.4.1.1.3.2: Retrieve AE Title shall be present when the Storage Media File-Set elements are not.
  entries.set(RETRIEVE_AE_TITLE, { tag: RETRIEVE_AE_TITLE, vr: 'AE', values: [...(record.retrieveAETitles ?? options.retrieveAETitles ?? [])] });
  if (record.instanceAvailability) entries.set(INSTANCE_AVAILABILITY, { tag: INSTANCE_AVAILABILITY, vr: 'CS', values: [record.instanceAvailability] });
  else entries.delete(INSTANCE_AVAILABILITY);
  applyTimezone(query, record, entries);
  return [...entries.values()];
}

export interface QidoResultOptions {
  /** Retrieve URL (0008,1190) when the entity does not carry one. */
  readonly retrieveURL?: string;
}

/** The attributes returned by default (PS3.18 Tables 10.6.3-3 Study, 10.6.3-4 Series, 10.6.3-5 Instance). */
export const QIDO_DEFAULT_ATTRIBUTES: Readonly<Record<'STUDY' | 'SERIES' | 'IMAGE', readonly string[]>> = Object.freeze({
  STUDY: Object.freeze([
    'StudyDate', 'StudyTime', 'AccessionNumber', 'InstanceAvailability', 'ModalitiesInStudy', 'ReferringPhysicianName',
    'TimezoneOffsetFromUTC', 'RetrieveURL', 'PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex',
    'StudyInstanceUID', 'StudyID', 'NumberOfStudyRelatedSeries', 'NumberOfStudyRelatedInstances',
  ]),
  SERIES: Object.freeze([
    'Modality', 'TimezoneOffsetFromUTC', 'SeriesDescription', 'RetrieveURL', 'SeriesInstanceUID', 'SeriesNumber',
    'NumberOfSeriesRelatedInstances', 'PerformedProcedureStepStartDate', 'PerformedProcedureStepStartTime',
    'RequestAttributesSequence',
  ]),
  IMAGE: Object.freeze([
    'SOPClassUID', 'SOPInstanceUID', 'InstanceAvailability', 'TimezoneOffsetFromUTC', 'RetrieveURL', 'InstanceNumber',
    'Rows', 'Columns', 'BitsAllocated', 'NumberOfFrames',
  ]),
});

/** One QIDO-RS result for `entity`, as a DataSet (the caller writes it as DICOM JSON or XML). */
export function buildQidoResult(query: Query, entity: Candidate, options: QidoResultOptions = {}): DataSet {
  const record = asEntity(entity);
  const level = query.level as 'STUDY' | 'SERIES' | 'IMAGE';
  const entries = new Map<Tag, Entry>();
  const add = (tag: Tag) => { if (!entries.has(tag)) entries.set(tag, valueEntry(tag, record)); };
  const levels: Array<'STUDY' | 'SERIES' | 'IMAGE'> = [level];
  if (level !== 'STUDY' && query.qido?.studyInstanceUID === undefined) levels.push('STUDY');
  if (level === 'IMAGE' && query.qido?.seriesInstanceUID === undefined) levels.push('SERIES');
  for (const l of levels) for (const keyword of QIDO_DEFAULT_ATTRIBUTES[l]) add(attributeOf(keyword).tag);
  for (const l of levelsDownTo(query)) add(uniqueKeyTag(l));
  const conditions = queryConditions(query);
  for (const key of query.keys) entries.set(key.tag, keyEntry(key, record, conditions));
  // PS3.18 §10.6.3.3.2, §10.6.3.3.3: attributes of a level below the search's are not returned
  // (a series search asked for includefield=SOPInstanceUID returns no SOP Instance UID).
  const depth = query.model.levels.indexOf(level);
  const atOrAbove = (tag: Tag) => query.model.levels.indexOf(levelOfKey(query.model, tag, level)) <= depth;
  const include = query.qido?.includeFields ?? [];
  if (include === 'all') for (const tag of allTags(record.attributes)) { if (atOrAbove(tag)) add(tag); }
  else for (const path of include) if (atOrAbove(path[0]!)) add(path[0]!);

  const url = record.retrieveURL ?? options.retrieveURL;
  if (url !== undefined) entries.set(RETRIEVE_URL, { tag: RETRIEVE_URL, vr: 'UR', values: [url] });
  else entries.delete(RETRIEVE_URL);
  if (record.instanceAvailability) entries.set(INSTANCE_AVAILABILITY, { tag: INSTANCE_AVAILABILITY, vr: 'CS', values: [record.instanceAvailability] });
  else entries.delete(INSTANCE_AVAILABILITY);
  // An offset only means something when the entity has one.
  const tz = entries.get(TIMEZONE_OFFSET_FROM_UTC);
  if (tz && !tz.values?.length) entries.delete(TIMEZONE_OFFSET_FROM_UTC);
  entries.delete(SPECIFIC_CHARACTER_SET);
  return materialize([...entries.values()], ['ISO_IR 192']);
}

function asEntity(c: Candidate): EntityRecord {
  return isEntityRecord(c) ? c : { attributes: c as DataSet | AttributeRecord };
}

const uniqueKeyTagsOfQuery = new WeakMap<Query, readonly Tag[]>();

/** The Unique Keys of the levels down to the query's (once per query, not per match). */
function uniqueKeyTags(query: Query): readonly Tag[] {
  let tags = uniqueKeyTagsOfQuery.get(query);
  if (!tags) {
    tags = Object.freeze(levelsDownTo(query).map(uniqueKeyTag));
    uniqueKeyTagsOfQuery.set(query, tags);
  }
  return tags;
}

function levelsDownTo(query: Query): QueryLevel[] {
  return query.model.levels.slice(0, query.model.levels.indexOf(query.level) + 1);
}

/** The entry of a request key: the entity's value, or for a sequence key the matching items. */
function keyEntry(key: MatchingKey, record: EntityRecord, conditions: readonly Condition[]): Entry {
  if (key.tag === RETRIEVE_AE_TITLE || key.tag === INSTANCE_AVAILABILITY) return { tag: key.tag, vr: key.vr, values: [] };
  if (key.matching.type !== 'sequence') return valueEntry(key.tag, record);
  const condition = conditions.find((c): c is Extract<Condition, { op: 'sequence' }> => c.op === 'sequence' && c.tag === key.tag);
  return sequenceEntry(key, itemsOf(record, key.tag), condition?.item ?? []);
}

function sequenceEntry(key: MatchingKey, items: readonly Candidate[], itemConditions: readonly Condition[]): Entry {
  if (key.matching.type !== 'sequence') return { tag: key.tag, vr: 'SQ', items: items.map((item) => allTags(item).map((t) => valueEntry(t, item))) };
  const itemKeys = key.matching.item;
  const matching = items.filter((item) => evaluateConditions(itemConditions, item));
  return {
    tag: key.tag,
    vr: 'SQ',
    items: matching.map((item) => itemKeys.map((k) => {
      if (k.matching.type !== 'sequence') return valueEntry(k.tag, item);
      const nested = itemConditions.find((c): c is Extract<Condition, { op: 'sequence' }> => c.op === 'sequence' && c.tag === k.tag);
      return sequenceEntry(k, itemsOf(item, k.tag), nested?.item ?? []);
    })),
  };
}

function itemsOf(candidate: Candidate, tag: Tag, entity?: EntityRecord): readonly Candidate[] {
  const { keyword, vr } = describeTag(tag);
  const found = findAttribute(entity ?? candidate, tag, keyword, vr);
  return found.kind === 'items' ? found.items : [];
}

/** The whole value of an attribute (all items, all values), or zero length. */
function valueEntry(tag: Tag, candidate: Candidate, entity?: EntityRecord): Entry {
  const { keyword, vr } = describeTag(tag);
  const found = findAttribute(entity ?? candidate, tag, keyword, vr);
  if (found.kind === 'items') return { tag, vr: 'SQ', items: found.items.map((item) => allTags(item).map((t) => valueEntry(t, item))) };
  if (vr === 'SQ') return { tag, vr, items: [] };
  return { tag, vr, values: found.kind === 'values' ? found.values : [] };
}

/** Every attribute of a candidate, in tag order. */
function allTags(candidate: Candidate): Tag[] {
  if (candidate instanceof DataSet) return candidate.elements().map((e) => e.tag).filter((t) => t !== SPECIFIC_CHARACTER_SET && (t >>> 16) >= 0x0008);
  if (isEntityRecord(candidate)) {
    const tags = new Set(allTags(candidate.attributes));
    for (const k of Object.keys(candidate.derived ?? {})) { const t = tagForKeyword(k); if (t !== undefined) tags.add(t); }
    return [...tags].sort((a, b) => a - b);
  }
  const tags: Tag[] = [];
  for (const [k, v] of Object.entries(candidate)) {
    if (v === undefined) continue;
    const t = /^[0-9A-Fa-f]{8}$/.test(k) ? parseTag(k) : tagForKeyword(k);
    if (t !== undefined && t !== SPECIFIC_CHARACTER_SET) tags.push(t);
  }
  return tags.sort((a, b) => a - b);
}

/**
 * With timezone query adjustment, times without their own offset are given in the query's time
 * zone (PS3.4 C.2.2.2: the offset "specifies how ... values ... are interpreted in the Request
 * and Response Identifiers"); otherwise the entity's Timezone Offset From UTC is returned with them.
 */
function applyTimezone(query: Query, record: EntityRecord, entries: Map<Tag, Entry>): void {
  const target = query.options.timezoneQueryAdjustment ? query.timezoneOffset : undefined;
  if (!target) {
    if (entries.has(TIMEZONE_OFFSET_FROM_UTC) === false && [...entries.values()].some((e) => e.vr === 'TM' || e.vr === 'DT')
      && findAttribute(record, TIMEZONE_OFFSET_FROM_UTC, 'TimezoneOffsetFromUTC', 'SH').kind === 'values') {
      entries.set(TIMEZONE_OFFSET_FROM_UTC, valueEntry(TIMEZONE_OFFSET_FROM_UTC, record));
    }
    return;
  }
  const own = recordOffset(record);
  const delta = target.minutes - own;
  entries.set(TIMEZONE_OFFSET_FROM_UTC, { tag: TIMEZONE_OFFSET_FROM_UTC, vr: 'SH', values: [target.text] });
  if (delta === 0) return;
  const done = new Set<Tag>();
  for (const e of entries.values()) {
    if (e.vr === 'DA') {
      const timeTag = pairedTimeTag(e.tag);
      const time = timeTag === undefined ? undefined : entries.get(timeTag);
      const d = e.values?.[0] === undefined ? undefined : normalizeDate(e.values[0]);
      const t = time?.values?.[0] === undefined ? undefined : normalizeTime(time.values[0]);
      if (d === undefined || t === undefined || timeTag === undefined) continue;
      // combineDateTime moves to UTC by subtracting its offset: -delta moves into the target zone.
      const shifted = combineDateTime(d, t, -delta);
      entries.set(e.tag, { ...e, values: [shifted.slice(0, 8)] });
      entries.set(timeTag, { ...time!, values: [compactTime(shifted.slice(8))] });
      done.add(timeTag);
    }
  }
  for (const e of entries.values()) {
    if (e.vr === 'TM' && !done.has(e.tag) && e.values?.length) {
      entries.set(e.tag, { ...e, values: e.values.map((v) => { const t = normalizeTime(v); return t === undefined ? v : compactTime(timeOfDayInUtc(t, -delta)); }) });
    } else if (e.vr === 'DT' && e.values?.length) {
      entries.set(e.tag, {
        ...e,
        values: e.values.map((v) => {
          if (/[+-]\d{4}$/.test(v.trim())) return v;
          const utc = normalizeDateTime(v, own);
          if (utc === undefined) return v;
          const local = combineDateTime(utc.slice(0, 8), utc.slice(8), -target.minutes);
          return local.slice(0, 8) + compactTime(local.slice(8));
        }),
      });
    }
  }
}

function compactTime(t: string): string {
  return t.endsWith('.000000') ? t.slice(0, 6) : t.replace(/0+$/, '');
}

/** Entries to a DataSet in a character set that can hold their text. */
function materialize(entries: readonly Entry[], requested: readonly string[]): DataSet {
  const needsCharset = entries.some(hasNonAscii);
  if (!needsCharset) return build(entries, []);
  const first = requested.length && !(requested.length === 1 && (requested[0] === '' || requested[0] === 'ISO_IR 6')) ? requested : ['ISO_IR 192'];
  try {
    return build(entries, first);
  } catch (e) {
    if (e instanceof DicomError && e.code === 'ERR_DICOM_CHARSET' && first[0] !== 'ISO_IR 192') return build(entries, ['ISO_IR 192']);
    throw e;
  }
}

function hasNonAscii(e: Entry): boolean {
  return (e.values ?? []).some((v) => /[^\x00-\x7f]/.test(v)) || (e.items ?? []).some((item) => item.some(hasNonAscii));
}

function build(entries: readonly Entry[], charset: readonly string[]): DataSet {
  const ds = new DataSet();
  if (charset.length) ds.set(SPECIFIC_CHARACTER_SET, 'CS', [...charset]);
  fill(ds, entries);
  return ds;
}

function fill(ds: DataSet, entries: readonly Entry[]): void {
  for (const e of [...entries].sort((a, b) => a.tag - b.tag)) {
    if (e.items) {
      const items = e.items.map((item) => { const d = new DataSet({ parent: ds }); fill(d, item); return d; });
      ds.set(e.tag, 'SQ', items);
      continue;
    }
    const values = e.values ?? [];
    // Empty, or a VR whose values are bytes (not carried here): zero length.
    if (values.length === 0 || values.every((v) => v === '') || OPAQUE_VRS.has(e.vr)) { ds.set(e.tag, e.vr, null); continue; }
    ds.set(e.tag, e.vr, encodeable(e.vr, values));
  }
}

function encodeable(vr: VR, values: readonly string[]): string[] | number[] | bigint[] {
  if (isStringVR(vr)) return [...values];
  if (vr === 'AT') return values.map((v) => parseTag(v) ?? 0);
  if (vr === 'SV' || vr === 'UV') return values.map((v) => BigInt(v));
  return values.map(Number);
}

