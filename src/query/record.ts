/**
 * What a query is matched against: a DataSet (values decoded with its Specific Character Set), or
 * an attribute record as an index holds it (decoded text, keyed by keyword), or an EntityRecord
 * that adds the attributes an index derives (PS3.4 C.3.4 Table C.3-1) and retrieval facts.
 *
 * For a query at some level, the candidate carries the attributes of the entity and of its
 * ancestors (a SERIES candidate has the patient's and the study's attributes too), so keys of any
 * level can be matched against it.
 */
import { DataSet } from '../data/data-set.js';
import { PersonName } from '../data/person-name.js';
import { tagHex, type Tag } from '../data/tag.js';
import { isMultiValuedString, isStringVR, type VR } from '../data/vr.js';
import { lookupTag } from '../dictionary/index.js';
import type { QueryLevel } from './query.js';

/** One attribute of a record: text, numbers, several values, or the items of a sequence. */
export type AttributeValue =
  | string | number | bigint | PersonName
  | readonly (string | number | bigint | PersonName)[]
  | readonly AttributeRecord[]
  | null | undefined;

/**
 * Attributes by PS3.6 keyword (or by 8 hex digits of the tag, "00100010", for attributes without
 * a keyword). Text is decoded Unicode; a PN is its DICOM form "Alphabetic=Ideographic=Phonetic";
 * DA/TM/DT are their DICOM text; several values are an array (a string with backslashes is split
 * for the VRs that have backslash as delimiter); a sequence is an array of records.
 */
export interface AttributeRecord {
  readonly [keywordOrTag: string]: AttributeValue;
}

/** PS3.4 C.3.4, Table C.3-1: attributes an index computes rather than stores from instances. */
export interface DerivedAttributes {
  readonly NumberOfPatientRelatedStudies?: number;
  readonly NumberOfPatientRelatedSeries?: number;
  readonly NumberOfPatientRelatedInstances?: number;
  readonly NumberOfStudyRelatedSeries?: number;
  readonly NumberOfStudyRelatedInstances?: number;
  readonly NumberOfSeriesRelatedInstances?: number;
  readonly ModalitiesInStudy?: readonly string[];
  readonly SOPClassesInStudy?: readonly string[];
}

/** Instance Availability (0008,0056) values, PS3.4 C.4.1.1.3.2. */
export type InstanceAvailability = 'ONLINE' | 'NEARLINE' | 'OFFLINE' | 'UNAVAILABLE';

/** One entity found by the index: what matching and response building read. */
export interface EntityRecord {
  readonly level?: QueryLevel;
  /** The entity's attributes merged with its ancestors'. */
  readonly attributes: DataSet | AttributeRecord;
  /**
   * The same attributes as layers, the most specific first (the entity's own record, then its
   * parent's, ...): an attribute is the first layer's that holds it, as if the layers were merged
   * from the last to the first. When present, matching and responses read them (findAttribute)
   * and not `attributes`, which an index can then build only when something reads it
   * (storage/sqlite/find.ts): a search answers without copying every ancestor record per match.
   */
  readonly layers?: readonly AttributeRecord[];
  /** Computed by the index; they take precedence over attributes of the same name. */
  readonly derived?: DerivedAttributes;
  /** Retrieve AE Title (0008,0054) for this entity. */
  readonly retrieveAETitles?: readonly string[];
  readonly instanceAvailability?: InstanceAvailability;
  /** Retrieve URL (0008,1190) for QIDO-RS results. */
  readonly retrieveURL?: string;
}

export type Candidate = DataSet | AttributeRecord | EntityRecord;

/** What an attribute holds in a candidate, in the one shape matching reads. */
export type Found =
  | { readonly kind: 'absent' }
  /** Values in order, empty strings kept (a zero-length value is no value). */
  | { readonly kind: 'values'; readonly values: readonly string[] }
  | { readonly kind: 'items'; readonly items: readonly Candidate[] };

const ABSENT: Found = Object.freeze({ kind: 'absent' });
const OPAQUE_VRS: ReadonlySet<VR> = new Set<VR>(['OB', 'OD', 'OF', 'OL', 'OV', 'UN']);

export function isEntityRecord(c: Candidate): c is EntityRecord {
  if (c instanceof DataSet) return false;
  // Layers first: reading `attributes` may build them.
  if (Array.isArray((c as EntityRecord).layers)) return true;
  return typeof (c as EntityRecord).attributes === 'object' && (c as EntityRecord).attributes !== null
    && !Array.isArray((c as EntityRecord).attributes);
}

/** The value of `tag` in a candidate; `keyword` and `vr` as the dictionary gives them. */
export function findAttribute(candidate: Candidate, tag: Tag, keyword: string, vr: VR): Found {
  if (candidate instanceof DataSet) return fromDataSet(candidate, tag, vr);
  if (isEntityRecord(candidate)) {
    const derived = keyword ? (candidate.derived as Record<string, AttributeValue> | undefined)?.[keyword] : undefined;
    if (derived !== undefined) return fromRecordValue(derived, vr);
    const layers = candidate.layers;
    if (layers) return fromRecordValue((keyword ? layered(layers, keyword) : undefined) ?? layered(layers, tagHex(tag)), vr);
    return findAttribute(candidate.attributes, tag, keyword, vr);
  }
  const value = (keyword ? candidate[keyword] : undefined) ?? candidate[tagHex(tag)];
  return fromRecordValue(value, vr);
}

const hasOwn = Object.prototype.hasOwnProperty;

/** The value of `key` in the merge of `layers` (the first that holds it, as a spread from the last would give). */
function layered(layers: readonly AttributeRecord[], key: string): AttributeValue {
  for (const layer of layers) if (hasOwn.call(layer, key)) return layer[key];
  return undefined;
}

/** The merge of layers, the most specific first (EntityRecord.layers), as one record. */
export function mergeLayers(layers: readonly AttributeRecord[]): AttributeRecord {
  const merged: Record<string, AttributeValue> = {};
  for (let i = layers.length - 1; i >= 0; i--) Object.assign(merged, layers[i]);
  return merged;
}

function fromDataSet(ds: DataSet, tag: Tag, vr: VR): Found {
  const e = ds.get(tag);
  if (!e) return ABSENT;
  if (e.items) return { kind: 'items', items: e.items };
  if (e.bulk || e.encapsulated) return ABSENT;
  // The element's own VR decides decoding (UN from implicit data sets is read as the dictionary's).
  if (e.vr === 'UN' && isStringVR(vr)) {
    return { kind: 'values', values: new TextDecoder('latin1').decode(e.bytes).split('\\').map((s) => s.replace(/[ \0]+$/, '')) };
  }
  // OB, OD, OF, OL, OV and UN values are not text or numbers: nothing to match or return.
  if (OPAQUE_VRS.has(e.vr)) return { kind: 'values', values: [] };
  return { kind: 'values', values: ds.strings(tag) };
}

function fromRecordValue(value: AttributeValue, vr: VR): Found {
  if (value === null || value === undefined) return ABSENT;
  if (Array.isArray(value)) {
    if (value.length > 0 && typeof value[0] === 'object' && !(value[0] instanceof PersonName)) {
      return { kind: 'items', items: value as AttributeRecord[] };
    }
    if (vr === 'SQ') return { kind: 'items', items: [] };
    return { kind: 'values', values: (value as (string | number | bigint | PersonName)[]).map(String) };
  }
  if (typeof value === 'string') {
    if (value === '') return { kind: 'values', values: [] };
    return { kind: 'values', values: isMultiValuedString(vr) && value.includes('\\') ? value.split('\\') : [value] };
  }
  return { kind: 'values', values: [String(value)] };
}

/** The non-empty values of a Found (PS3.4 C.2.2.3: any one of them may match). */
export function valuesOf(found: Found): readonly string[] {
  return found.kind === 'values' ? found.values.filter((v) => v !== '') : [];
}

/** Keyword and VR of a tag from the dictionary ('' and UN for tags it does not know). */
export function describeTag(tag: Tag): { keyword: string; vr: VR; vm: string } {
  const entry = lookupTag(tag);
  return { keyword: entry?.keyword ?? '', vr: entry?.vrs[0] ?? 'UN', vm: entry?.vm ?? '1-n' };
}
