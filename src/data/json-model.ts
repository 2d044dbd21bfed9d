/**
 * The DICOM JSON Model (PS3.18 Annex F), data set to JSON. The reverse direction is in
 * json-model-read.ts; the Native DICOM Model (XML) is built on both (xml-model.ts).
 *
 * Values are decoded with the data set's Specific Character Set; the JSON text is UTF-8 (PS3.18
 * F.2.2, note 3). Binary values go as InlineBinary, little endian (PS3.18 F.2.7), or as a
 * BulkDataURI when the caller's `bulkDataUri` gives one. A value left in its file (BulkData) is
 * never read just to decide: it needs a URI, or the caller opts in to inlining it with
 * `toDicomJsonAsync({ inlineBulkData: true })` below the threshold.
 */
import { DicomError } from '../core/dicom-error.js';
import { BulkData } from './bulk-data.js';
import { BulkDataReference } from './bulk-data-reference.js';
import type { DataSet } from './data-set.js';
import { DataElement, type EncapsulatedValue } from './element.js';
import { PersonName } from './person-name.js';
import { isGroupLength, ITEM, tagHex, type Tag } from './tag.js';
import { decodeBigInts, decodeNumbers, decodeStrings, decodeTags, swapBytes } from './values.js';
import { binaryValueSize, isBulkVR, type VR } from './vr.js';

/** A data set in the JSON model: attributes keyed by 8 uppercase hex digits (PS3.18 F.2.1.1). */
export interface DicomJsonDataSet {
  [tag: string]: DicomJsonAttribute;
}
/** PS3.18 F.2.2: one attribute; at most one of Value, InlineBinary, BulkDataURI. */
export interface DicomJsonAttribute {
  vr: VR;
  Value?: DicomJsonValue[];
  InlineBinary?: string;
  BulkDataURI?: string;
}
/** A value: string, number, a PN object, a sequence item, or null for an empty value (PS3.18 F.2.5). */
export type DicomJsonValue = string | number | null | DicomJsonPersonName | DicomJsonDataSet;
/** PS3.18 F.2.2: the non-empty component groups of one PN value. */
export interface DicomJsonPersonName {
  Alphabetic?: string;
  Ideographic?: string;
  Phonetic?: string;
}

/**
 * Decides the Bulk Data URI of a value, or undefined to keep it inline. `path` holds the tags from
 * the top-level attribute down to this one; `items` the index of the item entered under each
 * sequence on the way (so `items.length === path.length - 1`).
 */
export type BulkDataUriCallback = (element: DataElement, path: readonly Tag[], items: readonly number[]) => string | undefined;

export interface DicomJsonWriteOptions {
  /** Gives BulkDataURIs; without it every value in memory is inline. */
  bulkDataUri?: BulkDataUriCallback;
  /**
   * Values longer than this many bytes are offered to `bulkDataUri`; values left in their file
   * are inlined (with `inlineBulkData`) only up to it. Default 1024.
   */
  bulkDataThreshold?: number;
  /**
   * IS, DS, SV and UV as JSON numbers (the default, as most peers read them) or as strings that
   * keep the original text (PS3.18 F.2.3, note). SV and UV beyond ±2^53 and IS or DS text that is
   * no number are strings either way, so that nothing is lost.
   */
  numberStrings?: boolean;
}

export interface DicomJsonAsyncWriteOptions extends DicomJsonWriteOptions {
  /** Read values left in their file (up to `bulkDataThreshold` bytes) to put them inline. */
  inlineBulkData?: boolean;
}

const DEFAULT_THRESHOLD = 1024;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** VRs whose value may be replaced by a BulkDataURI (PS3.18 F.2.2). */
const URI_VRS: ReadonlySet<VR> = new Set<VR>([
  'DS', 'FL', 'FD', 'IS', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SL', 'SS', 'ST', 'SV', 'UC', 'UL', 'UN', 'US', 'UT', 'UV',
]);

/** A value that has to be read from its file before it can be written inline. */
interface Pending {
  attribute: DicomJsonAttribute;
  element: DataElement;
  dataSet: DataSet;
}

/** Data set to the JSON model. Throws if a value left in its file (BulkData) gets no BulkDataURI. */
export function toDicomJson(ds: DataSet, options: DicomJsonWriteOptions = {}): DicomJsonDataSet {
  return new JsonWriter(options, false, []).dataSet(ds, [], []);
}

/** As toDicomJson, and may read values left in their file to inline them (`inlineBulkData`). */
export async function toDicomJsonAsync(ds: DataSet, options: DicomJsonAsyncWriteOptions = {}): Promise<DicomJsonDataSet> {
  const pending: Pending[] = [];
  const writer = new JsonWriter(options, options.inlineBulkData === true, pending);
  const json = writer.dataSet(ds, [], []);
  for (const p of pending) {
    const e = p.element;
    const inMemory = e.encapsulated
      ? DataElement.encapsulatedPixelData(e.tag, e.vr, {
        offsetTable: e.encapsulated.offsetTable,
        fragments: await Promise.all(e.encapsulated.fragments.map((f) => (f instanceof BulkData ? f.read() : f))),
      })
      : new DataElement(e.tag, e.vr, await e.bulk!.read());
    Object.assign(p.attribute, writer.valueAttribute(inMemory, p.dataSet));
  }
  return json;
}

/** The JSON text, attributes in ascending tag order (PS3.18 F.2.2), which JSON.stringify does not keep for all-digit keys. */
export function toDicomJsonText(json: DicomJsonDataSet, indent = 0): string {
  return stringifyOrdered(json, indent > 0 ? ' '.repeat(indent) : '', '');
}

class JsonWriter {
  private readonly threshold: number;

  constructor(
    private readonly options: DicomJsonWriteOptions,
    private readonly inlineFromFile: boolean,
    private readonly pending: Pending[],
  ) {
    this.threshold = options.bulkDataThreshold ?? DEFAULT_THRESHOLD;
  }

  dataSet(ds: DataSet, path: readonly Tag[], items: readonly number[]): DicomJsonDataSet {
    const out: DicomJsonDataSet = {};
    for (const e of ds.elements()) {
      // PS3.18 F.2.2: Group Length attributes are not included.
      if (isGroupLength(e.tag)) continue;
      out[tagHex(e.tag)] = this.attribute(e, ds, [...path, e.tag], items);
    }
    return out;
  }

  private attribute(e: DataElement, ds: DataSet, path: readonly Tag[], items: readonly number[]): DicomJsonAttribute {
    if (e.items) {
      // A UN of undefined length read as a sequence (PS3.5 §6.2.2) is a sequence here too.
      const attr: DicomJsonAttribute = { vr: 'SQ' };
      if (e.items.length > 0) attr.Value = e.items.map((item, i) => this.dataSet(item, path, [...items, i]));
      return attr;
    }
    if (e.bulk instanceof BulkDataReference) {
      return { vr: e.vr, BulkDataURI: this.options.bulkDataUri?.(e, path, items) ?? e.bulk.uri };
    }
    const held = e.bulk !== null || (e.encapsulated?.fragments.some((f) => f instanceof BulkData) ?? false);
    const length = valueLength(e);
    if (held || (length > this.threshold && URI_VRS.has(e.vr))) {
      const uri = this.options.bulkDataUri?.(e, path, items);
      if (uri !== undefined) return { vr: e.vr, BulkDataURI: uri };
    }
    if (held && length > 0) {
      if (!this.inlineFromFile) {
        throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'value is left in its file: give bulkDataUri a URI for it, or use toDicomJsonAsync with inlineBulkData', { tag: e.tag });
      }
      if (length > this.threshold) {
        throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `value left in its file is longer (${length} bytes) than bulkDataThreshold and got no BulkDataURI`, { tag: e.tag });
      }
      const attr: DicomJsonAttribute = { vr: e.vr };
      this.pending.push({ attribute: attr, element: e, dataSet: ds });
      return attr;
    }
    if (held) return { vr: e.vr };
    return this.valueAttribute(e, ds);
  }

  /** The attribute for a value held in memory. */
  valueAttribute(e: DataElement, ds: DataSet): DicomJsonAttribute {
    const vr = e.vr;
    if (e.encapsulated) {
      return inlineBinary(vr, encapsulatedBytes(e.encapsulated as EncapsulatedValue & { fragments: Uint8Array[] }));
    }
    const bytes = e.bytes;
    if (isBulkVR(vr)) {
      // PS3.18 F.2.7: PS3.5 byte ordering applies; the JSON model carries little endian.
      return inlineBinary(vr, ds.littleEndian ? bytes : swapBytes(bytes, binaryValueSize(vr)));
    }
    const attr: DicomJsonAttribute = { vr };
    if (bytes.length === 0) return attr;
    const values = this.values(e, ds, bytes);
    if (values.length > 0) attr.Value = values;
    return attr;
  }

  private values(e: DataElement, ds: DataSet, bytes: Uint8Array): DicomJsonValue[] {
    const vr = e.vr;
    switch (vr) {
      case 'AT':
        // PS3.18 F.2.3: eight uppercase hex digits.
        return decodeTags(bytes, ds.littleEndian).map(tagHex);
      case 'US': case 'SS': case 'UL': case 'SL':
        return decodeNumbers(bytes, vr, ds.littleEndian);
      case 'FL': case 'FD':
        // JSON has no NaN or infinities; their names keep them (read back by Number()).
        return decodeNumbers(bytes, vr, ds.littleEndian).map((n) => (Number.isFinite(n) ? n : String(n)));
      case 'SV': case 'UV':
        return decodeBigInts(bytes, vr, ds.littleEndian).map((n) => {
          const asNumber = Number(n);
          return !this.options.numberStrings && Number.isSafeInteger(asNumber) ? asNumber : n.toString();
        });
      case 'SQ':
        throw new DicomError('ERR_DICOM_BAD_VALUE', 'sequence value was not parsed into items', { tag: e.tag });
      case 'OB': case 'OD': case 'OF': case 'OL': case 'OV': case 'OW': case 'UN':
        return [];
    }
    const strings = decodeStrings(bytes, vr, ds.characterSet);
    // A value of only padding is an empty value (PS3.18 F.2.5), not one empty string.
    if (strings.length === 1 && strings[0] === '') return [];
    if (vr === 'PN') {
      // A name whose every component group is empty ("==") is an empty value as well: JSON has no
      // other way to say it, and reading back an empty PN object gives an empty value.
      const names = strings.map(personName);
      return names.length === 1 && names[0] === null ? [] : names;
    }
    if ((vr === 'IS' || vr === 'DS') && !this.options.numberStrings) {
      return strings.map((s) => {
        if (s === '') return null;
        // Text that is no decimal number (or beyond a double) stays a string rather than turning into null.
        const n = DECIMAL.test(s) ? Number(s) : NaN;
        return Number.isFinite(n) ? n : s;
      });
    }
    return strings.map((s) => (s === '' ? null : s));
  }
}

function personName(text: string): DicomJsonPersonName | null {
  if (text === '') return null;
  const pn = PersonName.parse(text);
  const out: DicomJsonPersonName = {};
  if (pn.alphabetic !== '') out.Alphabetic = pn.alphabetic;
  if (pn.ideographic !== '') out.Ideographic = pn.ideographic;
  if (pn.phonetic !== '') out.Phonetic = pn.phonetic;
  return out.Alphabetic === undefined && out.Ideographic === undefined && out.Phonetic === undefined ? null : out;
}

function inlineBinary(vr: VR, bytes: Uint8Array): DicomJsonAttribute {
  if (bytes.length === 0) return { vr };
  return { vr, InlineBinary: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
}

/**
 * The Value Field of encapsulated pixel data (PS3.5 §A.4): the Basic Offset Table item and one item
 * per fragment, with their item headers, without the Sequence Delimitation Item that ends it.
 */
function encapsulatedBytes(value: { offsetTable: Uint8Array; fragments: readonly Uint8Array[] }): Uint8Array {
  const parts = [value.offsetTable, ...value.fragments];
  let total = 0;
  for (const p of parts) total += 8 + p.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let o = 0;
  for (const p of parts) {
    view.setUint16(o, ITEM >>> 16, true);
    view.setUint16(o + 2, ITEM & 0xffff, true);
    view.setUint32(o + 4, p.length, true);
    out.set(p, o + 8);
    o += 8 + p.length;
  }
  return out;
}

function valueLength(e: DataElement): number {
  if (e.bulk) return e.bulk.length;
  if (e.encapsulated) {
    let n = 8 + e.encapsulated.offsetTable.length;
    for (const f of e.encapsulated.fragments) n += 8 + f.length;
    return n;
  }
  return e.valueLength;
}

function stringifyOrdered(value: unknown, indent: string, current: string): string {
  // JSON.stringify writes -0 as 0; "-0" is valid JSON and keeps an FL or FD -0.
  if (Object.is(value, -0)) return '-0';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const inner = current + indent;
  const nl = indent ? '\n' : '';
  const sep = indent ? ': ' : ':';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[${nl}${value.map((v) => inner + stringifyOrdered(v, indent, inner)).join(`,${nl}`)}${nl}${current}]`;
  }
  // Data sets in tag order; attributes and PN values as built ("vr" first).
  const keys = Object.keys(value);
  if (keys.length === 0) return '{}';
  if (keys.every((k) => /^[0-9A-Fa-f]{8}$/.test(k))) keys.sort();
  const obj = value as Record<string, unknown>;
  return `{${nl}${keys.filter((k) => obj[k] !== undefined).map((k) => `${inner}${JSON.stringify(k)}${sep}${stringifyOrdered(obj[k], indent, inner)}`).join(`,${nl}`)}${nl}${current}}`;
}
