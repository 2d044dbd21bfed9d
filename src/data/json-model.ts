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
   * no number are strings either way, so that nothing is lost. 'when-needed': an IS or DS
   * attribute is numbers when every value's text is the JSON form of its number ("5", "0.5"), and
   * strings otherwise ("5.000000", "+1", "1e2"), so that the original text survives a round trip
   * (PS3.18 F.2.3, note) while most values stay numbers; SV and UV are numbers when exact.
   */
  numberStrings?: boolean | 'when-needed';
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

/**
 * The compact JSON text of a data set: toDicomJsonText(toDicomJson(ds, options)) without building
 * the model's objects on the way (the archive writes it for every instance it stores). `skip`
 * leaves top-level attributes out.
 */
export function dicomJsonText(ds: DataSet, options: DicomJsonWriteOptions = {}, skip?: (tag: Tag) => boolean): string {
  const out: string[] = [];
  new JsonWriter(options, false, []).dataSetText(ds, [], [], out, skip);
  return out.join('');
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
      out[tagHex(e.tag)] = this.attribute(e, ds, path, items);
    }
    return out;
  }

  /** dataSet() written as compact JSON text into `out` (the same text stringifyCompact gives for it). */
  dataSetText(ds: DataSet, path: readonly Tag[], items: readonly number[], out: string[], skip?: (tag: Tag) => boolean): void {
    out.push('{');
    let first = true;
    // Elements are in ascending tag order (data-set.ts), the order stringifyCompact sorts keys into.
    for (const e of ds.elements()) {
      if (isGroupLength(e.tag) || skip?.(e.tag)) continue;
      out.push(first ? `"${tagHex(e.tag)}":` : `,"${tagHex(e.tag)}":`);
      first = false;
      if (e.items && e.items.length > 0) {
        const inner = [...path, e.tag];
        out.push('{"vr":"SQ","Value":[');
        e.items.forEach((item, i) => {
          if (i > 0) out.push(',');
          this.dataSetText(item, inner, [...items, i], out);
        });
        out.push(']}');
      } else {
        writeAttribute(this.attribute(e, ds, path, items), out);
      }
    }
    out.push('}');
  }

  /** `parent`: the tags down to the data set holding `e` (its own path is built only when needed). */
  private attribute(e: DataElement, ds: DataSet, parent: readonly Tag[], items: readonly number[]): DicomJsonAttribute {
    if (e.items) {
      // A UN of undefined length read as a sequence (PS3.5 §6.2.2) is a sequence here too.
      const attr: DicomJsonAttribute = { vr: 'SQ' };
      const path = [...parent, e.tag];
      if (e.items.length > 0) attr.Value = e.items.map((item, i) => this.dataSet(item, path, [...items, i]));
      return attr;
    }
    if (e.bulk instanceof BulkDataReference) {
      return { vr: e.vr, BulkDataURI: this.options.bulkDataUri?.(e, [...parent, e.tag], items) ?? e.bulk.uri };
    }
    const held = e.bulk !== null || (e.encapsulated?.fragments.some((f) => f instanceof BulkData) ?? false);
    const length = valueLength(e);
    if (held || (length > this.threshold && URI_VRS.has(e.vr))) {
      const uri = this.options.bulkDataUri?.(e, [...parent, e.tag], items);
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
          return this.options.numberStrings !== true && Number.isSafeInteger(asNumber) ? asNumber : n.toString();
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
    if ((vr === 'IS' || vr === 'DS') && this.options.numberStrings !== true) {
      if (this.options.numberStrings === 'when-needed' && strings.some((s) => s !== '' && !isJsonNumberText(s))) {
        return strings.map((s) => (s === '' ? null : s));
      }
      // Text that is no decimal number (or beyond a double) stays a string rather than turning into null.
      return strings.map((s) => (s === '' ? null : decimalNumber(s) ?? s));
    }
    return strings.map((s) => (s === '' ? null : s));
  }
}

/**
 * DICOM JSON text (as dicomJsonText writes it) with the IS and DS values that `numberStrings:
 * 'when-needed'` kept as strings ("5.000000", "+1") written as JSON numbers instead, as the default
 * writer writes them: for consumers that expect numbers. Values that are no decimal number stay
 * strings, as the default writer leaves them.
 */
export function decimalStringsAsNumbers(json: string): string {
  if (!json.includes('"vr":"DS","Value":[') && !json.includes('"vr":"IS","Value":[')) return json;
  return json.replace(/"vr":"(DS|IS)","Value":\[([^\]]*)\]/g, (whole: string, vr: string, inner: string) => {
    if (!inner.includes('"')) return whole;
    let values: unknown[];
    try {
      values = JSON.parse(`[${inner}]`) as unknown[];
    } catch {
      return whole;
    }
    const numbers = values.map((v) => (typeof v === 'string' ? decimalNumber(v) ?? v : v));
    return `"vr":"${vr}","Value":${JSON.stringify(numbers)}`;
  });
}

/** The number an IS or DS value's text says, or undefined for text that is no decimal number (or beyond a double). */
function decimalNumber(text: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** True when `text` is exactly how JSON writes its number: "5" and "0.5", not "5.0", "+1" or "1e2". */
function isJsonNumberText(text: string): boolean {
  const n = decimalNumber(text);
  return n !== undefined && String(n) === text;
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
  if (indent === '') return stringifyCompact(value);
  // JSON.stringify writes -0 as 0; "-0" is valid JSON and keeps an FL or FD -0.
  if (Object.is(value, -0)) return '-0';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const inner = current + indent;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + stringifyOrdered(v, indent, inner)).join(',\n')}\n${current}]`;
  }
  // Data sets in tag order; attributes and PN values as built ("vr" first).
  const keys = orderedKeys(value);
  if (keys.length === 0) return '{}';
  const obj = value as Record<string, unknown>;
  return `{\n${keys.filter((k) => obj[k] !== undefined).map((k) => `${inner}${JSON.stringify(k)}: ${stringifyOrdered(obj[k], indent, inner)}`).join(',\n')}\n${current}}`;
}

/**
 * stringifyOrdered without indentation, written in one pass into `out` (the metadata JSON of every
 * stored instance, and every QIDO-RS result, go through it): the same text, joined once at the end,
 * so that the result is one flat string (a string grown piece by piece is a rope, flattened again
 * by whoever reads it: SQLite binding the metadata cost 6 times as much).
 */
function stringifyCompact(value: unknown): string {
  const out: string[] = [];
  writeCompact(value, out);
  return out.join('');
}

/** writeCompact of an attribute that is no sequence: "vr" first, then the one member it may have (as built). */
function writeAttribute(a: DicomJsonAttribute, out: string[]): void {
  if (a.Value !== undefined) {
    out.push(`{"vr":"${a.vr}","Value":`);
    writeCompact(a.Value, out);
    out.push('}');
  } else if (a.InlineBinary !== undefined) out.push(`{"vr":"${a.vr}","InlineBinary":${JSON.stringify(a.InlineBinary)}}`);
  else if (a.BulkDataURI !== undefined) out.push(`{"vr":"${a.vr}","BulkDataURI":${JSON.stringify(a.BulkDataURI)}}`);
  else out.push(`{"vr":"${a.vr}"}`);
}

function writeCompact(value: unknown, out: string[]): void {
  if (typeof value === 'string') out.push(JSON.stringify(value));
  else if (typeof value === 'number') out.push(Object.is(value, -0) ? '-0' : Number.isFinite(value) ? String(value) : 'null');
  else if (value === null || typeof value !== 'object') out.push(JSON.stringify(value) ?? 'null');
  else if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      writeCompact(value[i], out);
    }
    out.push(']');
  } else {
    const obj = value as Record<string, unknown>;
    out.push('{');
    let first = true;
    for (const k of orderedKeys(value)) {
      const v = obj[k];
      if (v === undefined) continue;
      out.push(first ? `${JSON.stringify(k)}:` : `,${JSON.stringify(k)}:`);
      writeCompact(v, out);
      first = false;
    }
    out.push('}');
  }
}

/** The keys of an object; those of a data set (all 8 hex digits) in ascending order, which JS does not keep for all-digit keys. */
function orderedKeys(value: object): string[] {
  const keys = Object.keys(value);
  let sorted = true;
  for (let i = 0; i < keys.length; i++) {
    if (!isTagHex(keys[i]!)) return keys;
    if (i > 0 && keys[i - 1]! > keys[i]!) sorted = false;
  }
  return sorted ? keys : keys.sort();
}

function isTagHex(key: string): boolean {
  if (key.length !== 8) return false;
  for (let i = 0; i < 8; i++) {
    const c = key.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}
