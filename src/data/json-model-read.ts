/**
 * The DICOM JSON Model (PS3.18 Annex F), JSON to data set. The data set built is little endian
 * (PS3.18 F.2.7: InlineBinary and bulk data are little endian) and its text values are encoded in
 * the Specific Character Set the JSON carries (PS3.18 F.2.2, note 3), or the default repertoire.
 *
 * BulkDataURIs are fetched by the caller's resolver (fromDicomJson) or kept as BulkDataReference
 * placeholders (fromDicomJsonSync) that write back to the same URI.
 */
import { DicomError } from '../core/dicom-error.js';
import { BulkData } from './bulk-data.js';
import { BulkDataReference, type BulkDataResolver } from './bulk-data-reference.js';
import { DataSet } from './data-set.js';
import { DataElement, type EncapsulatedValue } from './element.js';
import type { DicomJsonAttribute, DicomJsonDataSet, DicomJsonPersonName, DicomJsonValue } from './json-model.js';
import { ITEM, parseTag, PIXEL_DATA, SEQUENCE_DELIMITATION, SPECIFIC_CHARACTER_SET, type Tag } from './tag.js';
import { transferSyntax } from './transfer-syntax.js';
import { encodeNumbers, encodeStrings, encodeTags, formatNumberString, padEven } from './values.js';
import { isBulkVR, isStringVR, isVR, usesSpecificCharacterSet, type VR } from './vr.js';
import { lookupTag } from '../dictionary/index.js';

export interface DicomJsonReadOptions {
  /**
   * Transfer syntax the data set is meant for: decides whether an InlineBinary Pixel Data is
   * encapsulated (PS3.5 §A.4). Without it, a Pixel Data value that parses as items is taken as
   * encapsulated.
   */
  transferSyntaxUid?: string;
}

export interface DicomJsonAsyncReadOptions extends DicomJsonReadOptions {
  /** Fetches BulkDataURIs; without it they stay BulkDataReference placeholders. */
  resolveBulkData?: BulkDataResolver;
}

/** JSON model (object or text) to a data set, fetching BulkDataURIs with `resolveBulkData`. */
export async function fromDicomJson(json: DicomJsonDataSet | string, options: DicomJsonAsyncReadOptions = {}): Promise<DataSet> {
  const reader = new JsonReader(options);
  const ds = reader.dataSet(parseJsonText(json), null);
  const resolve = options.resolveBulkData;
  if (resolve) {
    for (const element of reader.references) {
      const uri = (element.bulk as BulkDataReference).uri;
      let value: Uint8Array | BulkData;
      try {
        value = await resolve(uri, { tag: element.tag, vr: element.vr });
      } catch (cause) {
        throw new DicomError('ERR_DICOM_IO', `cannot resolve BulkDataURI ${uri}`, { tag: element.tag, cause });
      }
      if (value instanceof BulkData) {
        element.bulk = value;
        element.valueLength = value.length;
      } else {
        reader.setBinary(element, value);
      }
    }
  }
  return ds;
}

/** JSON model to a data set; BulkDataURIs become BulkDataReference placeholders. */
export function fromDicomJsonSync(json: DicomJsonDataSet | string, options: DicomJsonReadOptions = {}): DataSet {
  return new JsonReader(options).dataSet(parseJsonText(json), null);
}

function parseJsonText(json: DicomJsonDataSet | string): DicomJsonDataSet {
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (cause) {
      throw new DicomError('ERR_DICOM_JSON', 'not JSON text', { cause });
    }
  }
  if (!isObject(value)) throw new DicomError('ERR_DICOM_JSON', 'a DICOM JSON data set is a JSON object');
  return value as DicomJsonDataSet;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class JsonReader {
  /** Elements holding a BulkDataReference, for the resolver. */
  readonly references: DataElement[] = [];
  private readonly encapsulatedSyntax: boolean | undefined;

  constructor(options: DicomJsonReadOptions) {
    this.encapsulatedSyntax = options.transferSyntaxUid === undefined ? undefined : transferSyntax(options.transferSyntaxUid).encapsulated;
  }

  dataSet(json: DicomJsonDataSet, parent: DataSet | null): DataSet {
    const ds = new DataSet({ littleEndian: true, parent });
    const entries: Array<[Tag, unknown]> = [];
    for (const [key, attr] of Object.entries(json)) {
      const t = /^[0-9A-Fa-f]{8}$/.test(key) ? parseTag(key) : undefined;
      if (t === undefined) throw new DicomError('ERR_DICOM_JSON', `attribute name "${key}" is not 8 hex digits (PS3.18 F.2.1.1)`);
      entries.push([t, attr]);
    }
    // The Specific Character Set first: the text values after it are encoded in it.
    entries.sort((a, b) => (a[0] === SPECIFIC_CHARACTER_SET ? -1 : b[0] === SPECIFIC_CHARACTER_SET ? 1 : a[0] - b[0]));
    if (parent === null && json['00080005'] === undefined && needsUnicode(json)) {
      // JSON text is Unicode (PS3.18 F.2.2, note 3); without a declared set, text beyond the
      // default repertoire is kept by declaring UTF-8 rather than refused.
      ds.add(new DataElement(SPECIFIC_CHARACTER_SET, 'CS', encodeStrings(['ISO_IR 192'], 'CS', ds.characterSet)));
    }
    for (const [t, attr] of entries) {
      try {
        ds.add(this.element(t, attr, ds));
      } catch (e) {
        if (e instanceof DicomError && e.tag === undefined) throw new DicomError(e.code, e.message, { tag: t, cause: e });
        throw e;
      }
    }
    return ds;
  }

  private element(t: Tag, json: unknown, ds: DataSet): DataElement {
    if (!isObject(json)) throw new DicomError('ERR_DICOM_JSON', 'attribute is not a JSON object', { tag: t });
    const attr = json as unknown as DicomJsonAttribute;
    const vr = this.vrOf(t, attr);
    const present = (['Value', 'InlineBinary', 'BulkDataURI'] as const).filter((k) => attr[k] !== undefined);
    if (present.length > 1) throw new DicomError('ERR_DICOM_JSON', `attribute has both ${present.join(' and ')} (PS3.18 F.2.2 allows one)`, { tag: t });

    if (attr.BulkDataURI !== undefined) {
      if (typeof attr.BulkDataURI !== 'string') throw new DicomError('ERR_DICOM_JSON', 'BulkDataURI is not a string', { tag: t });
      const e = DataElement.bulkData(t, vr, new BulkDataReference(attr.BulkDataURI));
      this.references.push(e);
      return e;
    }
    if (attr.InlineBinary !== undefined) {
      if (typeof attr.InlineBinary !== 'string') throw new DicomError('ERR_DICOM_JSON', 'InlineBinary is not a string', { tag: t });
      if (vr === 'SQ') throw new DicomError('ERR_DICOM_JSON', 'a sequence has items in Value, not InlineBinary', { tag: t });
      const e = new DataElement(t, vr);
      this.setBinary(e, decodeBase64(attr.InlineBinary, t));
      return e;
    }
    const values = attr.Value;
    if (values === undefined) return vr === 'SQ' ? DataElement.sequence(t, []) : new DataElement(t, vr);
    if (!Array.isArray(values)) throw new DicomError('ERR_DICOM_JSON', 'Value is not an array', { tag: t });
    if (vr === 'SQ') {
      const items = values.map((item) => {
        if (!isObject(item)) throw new DicomError('ERR_DICOM_JSON', 'sequence item is not a JSON object', { tag: t });
        return this.dataSet(item as DicomJsonDataSet, ds);
      });
      return DataElement.sequence(t, items);
    }
    if (isBulkVR(vr)) throw new DicomError('ERR_DICOM_JSON', `VR ${vr} carries InlineBinary or BulkDataURI, not Value (PS3.18 F.2.2)`, { tag: t });
    return new DataElement(t, vr, encodeValues(t, vr, values, ds));
  }

  private vrOf(t: Tag, attr: DicomJsonAttribute): VR {
    const vr: unknown = attr.vr;
    if (typeof vr === 'string' && isVR(vr)) return vr;
    if (vr !== undefined) throw new DicomError('ERR_DICOM_JSON', `"${String(vr)}" is not a VR`, { tag: t });
    // PS3.18 F.2.2 requires "vr"; a standard attribute without one gets the dictionary's.
    const fromDictionary = lookupTag(t)?.vrs[0];
    if (!fromDictionary) throw new DicomError('ERR_DICOM_JSON', 'attribute has no "vr"', { tag: t });
    return fromDictionary;
  }

  /** A binary value (little endian), encapsulated if it is Pixel Data made of items. */
  setBinary(e: DataElement, bytes: Uint8Array): void {
    const encapsulated = e.tag === PIXEL_DATA && this.encapsulatedSyntax !== false ? parseEncapsulated(bytes) : undefined;
    if (encapsulated) {
      e.setBytes(new Uint8Array(0));
      e.encapsulated = encapsulated;
      e.undefinedLength = true;
    } else if (this.encapsulatedSyntax === true && e.tag === PIXEL_DATA) {
      throw new DicomError('ERR_DICOM_JSON', 'Pixel Data of an encapsulated transfer syntax is not a sequence of items (PS3.5 §A.4)', { tag: e.tag });
    } else {
      e.setBytes(padEven(bytes, 0));
    }
  }
}

/** True if a text value of a VR that uses the Specific Character Set has characters beyond ASCII (items with their own set aside). */
function needsUnicode(json: DicomJsonDataSet): boolean {
  for (const attr of Object.values(json)) {
    if (!isObject(attr) || !Array.isArray(attr.Value)) continue;
    const vr = attr.vr as string;
    for (const v of attr.Value as unknown[]) {
      if (vr === 'SQ') {
        if (isObject(v) && v['00080005'] === undefined && needsUnicode(v as DicomJsonDataSet)) return true;
      } else if (isVR(vr) && usesSpecificCharacterSet(vr)) {
        const texts = typeof v === 'string' ? [v] : isObject(v) ? Object.values(v) : [];
        if (texts.some((x) => typeof x === 'string' && /[^\x00-\x7f]/.test(x))) return true;
      }
    }
  }
  return false;
}

function decodeBase64(text: string, t: Tag): Uint8Array {
  const compact = text.replace(/[\s]+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw new DicomError('ERR_DICOM_JSON', 'InlineBinary is not base64 (PS3.18 F.2.7)', { tag: t });
  }
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

/** Items of encapsulated Pixel Data (PS3.5 §A.4), or undefined if the bytes are not made of items. */
function parseEncapsulated(bytes: Uint8Array): EncapsulatedValue | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const items: Uint8Array[] = [];
  let o = 0;
  while (o < bytes.length) {
    if (o + 8 > bytes.length) return undefined;
    const t = ((view.getUint16(o, true) << 16) | view.getUint16(o + 2, true)) >>> 0;
    const length = view.getUint32(o + 4, true);
    if (t === SEQUENCE_DELIMITATION && length === 0 && o + 8 === bytes.length && items.length > 0) break;
    if (t !== ITEM || length === 0xffffffff || o + 8 + length > bytes.length) return undefined;
    items.push(bytes.subarray(o + 8, o + 8 + length));
    o += 8 + length;
  }
  if (items.length === 0) return undefined;
  return { offsetTable: items[0]!, fragments: items.slice(1) };
}

function fail(t: Tag, message: string): never {
  throw new DicomError('ERR_DICOM_JSON', message, { tag: t });
}

/** Encodes a Value array for its VR (PS3.18 F.2.3, F.2.4, F.2.5). */
function encodeValues(t: Tag, vr: VR, values: readonly DicomJsonValue[], ds: DataSet): Uint8Array {
  switch (vr) {
    case 'AT':
      return encodeTags(values.map((v) => {
        const parsed = typeof v === 'string' && /^[0-9A-Fa-f]{8}$/.test(v) ? parseTag(v) : undefined;
        return parsed ?? fail(t, `AT value ${JSON.stringify(v)} is not 8 hex digits (PS3.18 F.2.3)`);
      }), true);
    case 'US': case 'SS': case 'UL': case 'SL': case 'FL': case 'FD':
      return encodeNumbers(values.map((v) => binaryNumber(t, vr, v)), vr, true);
    case 'SV': case 'UV':
      return encodeNumbers(values.map((v) => {
        let n: bigint | undefined;
        try {
          if (typeof v === 'number' || (typeof v === 'string' && v.trim() !== '')) n = BigInt(typeof v === 'string' ? v.trim() : v);
        } catch { /* reported below */ }
        const [min, max] = vr === 'SV' ? [-(1n << 63n), (1n << 63n) - 1n] : [0n, (1n << 64n) - 1n];
        return n !== undefined && n >= min && n <= max ? n : fail(t, `${JSON.stringify(v)} is not a ${vr} value`);
      }), vr, true);
    case 'PN':
      return encodeStrings(values.map((v) => personNameText(t, v)), vr, ds.characterSet);
    case 'IS': case 'DS':
      return encodeStrings(values.map((v) => {
        if (v === null) return '';
        if (typeof v === 'string') return v;
        if (typeof v !== 'number' || !Number.isFinite(v)) return fail(t, `${JSON.stringify(v)} is not a ${vr} value`);
        if (vr === 'IS' && !Number.isInteger(v)) return fail(t, `IS value ${v} is not an integer`);
        return formatNumberString(v, vr);
      }), vr, ds.characterSet);
  }
  if (!isStringVR(vr)) fail(t, `VR ${vr} has no Value`);
  return encodeStrings(values.map((v) => {
    if (v === null) return '';
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    return fail(t, `${JSON.stringify(v)} is not a ${vr} value`);
  }), vr, ds.characterSet);
}

const INTEGER_RANGE = { US: [0, 0xffff], SS: [-0x8000, 0x7fff], UL: [0, 0xffffffff], SL: [-0x80000000, 0x7fffffff] } as const;

function binaryNumber(t: Tag, vr: VR, v: DicomJsonValue): number {
  // Numbers given as strings are accepted (the XML model has nothing else); NaN and the
  // infinities come as their names, which JSON numbers cannot carry.
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (Number.isNaN(n) && !(typeof v === 'string' && v.trim() === 'NaN')) fail(t, `${JSON.stringify(v)} is not a ${vr} number`);
  if (vr === 'FL' || vr === 'FD') return n;
  const [min, max] = INTEGER_RANGE[vr as 'US' | 'SS' | 'UL' | 'SL'];
  if (!Number.isInteger(n) || n < min || n > max) fail(t, `${JSON.stringify(v)} is not a ${vr} value (${min} to ${max})`);
  return n;
}

function personNameText(t: Tag, v: DicomJsonValue): string {
  if (v === null) return '';
  // Some producers write PN values as plain strings; the text form is unambiguous.
  if (typeof v === 'string') return v;
  if (!isObject(v)) return fail(t, 'PN value is not an object (PS3.18 F.2.2)');
  const pn = v as DicomJsonPersonName;
  const groups = [pn.Alphabetic ?? '', pn.Ideographic ?? '', pn.Phonetic ?? ''];
  if (groups.some((g) => typeof g !== 'string')) fail(t, 'PN component group is not a string');
  while (groups.length > 1 && groups[groups.length - 1] === '') groups.pop();
  return groups.join('=');
}
