/**
 * A data set (PS3.5 §7): elements ordered by tag, in one byte order, with a Specific Character Set
 * that sequence items inherit from their parent unless they carry their own (PS3.5 §7.5.3).
 */
import { DicomError } from '../core/dicom-error.js';
import { lookupPrivateTag, lookupTag, tagForKeyword } from '../dictionary/index.js';
import { SpecificCharacterSet } from './charset/index.js';
import { DicomDate, DicomDateTime, DicomTime } from './date-time.js';
import { DataElement } from './element.js';
import { PersonName } from './person-name.js';
import { privateCreatorTagOf, SPECIFIC_CHARACTER_SET, type Tag } from './tag.js';
import {
  decodeBigInts, decodeNumbers, decodeStrings, decodeStringsAt, decodeTags, encodeNumbers, encodeStrings, encodeTags, padEven,
} from './values.js';
import { isStringVR, isVR, usesSpecificCharacterSet, type VR } from './vr.js';

export type TagOrKeyword = Tag | string;

/** A value as `set()` accepts it; the VR decides how it is encoded. */
export type ElementValue =
  | string | readonly string[]
  | number | readonly number[]
  | bigint | readonly bigint[]
  | PersonName | readonly PersonName[]
  | Uint8Array
  | readonly DataSet[]
  | null;

export class DataSet {
  // Elements kept sorted by tag in two parallel arrays: the parser appends in ascending order
  // (cheaper than a Map insert per element), lookups are a binary search.
  private readonly tagList: Tag[] = [];
  private readonly elementList: DataElement[] = [];
  private charsetCache: SpecificCharacterSet | undefined;
  /** Byte order of the raw values held by this data set's elements. */
  littleEndian: boolean;
  /** The data set this one is an item of, for character set inheritance. */
  parent: DataSet | null;
  /** As a sequence item: encoded with undefined length (PS3.5 §7.5.1). */
  undefinedLength = false;

  constructor(options: { littleEndian?: boolean; parent?: DataSet | null } = {}) {
    this.littleEndian = options.littleEndian ?? true;
    this.parent = options.parent ?? null;
  }

  get size(): number {
    return this.tagList.length;
  }

  /** Index of `t`, or -(insertion point) - 1 when absent. */
  private indexOf(t: Tag): number {
    const tags = this.tagList;
    let lo = 0;
    let hi = tags.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = tags[mid]!;
      if (v < t) lo = mid + 1;
      else if (v > t) hi = mid - 1;
      else return mid;
    }
    return -lo - 1;
  }

  /** Adds or replaces an element. */
  add(element: DataElement): void {
    const t = element.tag;
    const n = this.tagList.length;
    if (n === 0 || t > this.tagList[n - 1]!) {
      this.tagList.push(t);
      this.elementList.push(element);
    } else {
      const i = this.indexOf(t);
      if (i >= 0) this.elementList[i] = element;
      else {
        this.tagList.splice(-i - 1, 0, t);
        this.elementList.splice(-i - 1, 0, element);
      }
    }
    if (t === SPECIFIC_CHARACTER_SET) this.charsetCache = undefined;
  }

  get(t: TagOrKeyword): DataElement | undefined {
    const i = this.indexOf(typeof t === 'number' ? t : resolveKeyword(t));
    return i >= 0 ? this.elementList[i] : undefined;
  }
  has(t: TagOrKeyword): boolean {
    return this.indexOf(typeof t === 'number' ? t : resolveKeyword(t)) >= 0;
  }
  delete(t: TagOrKeyword): boolean {
    const tagNumber = typeof t === 'number' ? t : resolveKeyword(t);
    const i = this.indexOf(tagNumber);
    if (i < 0) return false;
    this.tagList.splice(i, 1);
    this.elementList.splice(i, 1);
    if (tagNumber === SPECIFIC_CHARACTER_SET) this.charsetCache = undefined;
    return true;
  }

  /** Elements in ascending tag order (a copy: the data set may be changed while iterating it). */
  elements(): DataElement[] {
    return this.elementList.slice();
  }
  [Symbol.iterator](): Iterator<DataElement> {
    return this.elements()[Symbol.iterator]();
  }

  /** The Specific Character Set in force: this data set's own, else the parent's (PS3.5 §7.5.3). */
  get characterSet(): SpecificCharacterSet {
    if (this.charsetCache) return this.charsetCache;
    const own = this.get(SPECIFIC_CHARACTER_SET);
    let cs: SpecificCharacterSet;
    if (own && !own.items) {
      cs = SpecificCharacterSet.from(decodeStrings(own.bytes, 'CS', SpecificCharacterSet.DEFAULT));
    } else cs = this.parent ? this.parent.characterSet : SpecificCharacterSet.DEFAULT;
    this.charsetCache = cs;
    return cs;
  }

  // ---- typed accessors: undefined when the element is absent or empty ----

  strings(t: TagOrKeyword): string[] {
    const e = this.get(t);
    if (!e || e.items || e.bulk || e.encapsulated) return [];
    if (!isStringVR(e.vr) && e.vr !== 'UN') {
      if (e.vr === 'AT') return decodeTags(e.bytes, this.littleEndian).map((x) => x.toString(16).toUpperCase().padStart(8, '0'));
      return this.numbers(t).map(String);
    }
    return decodeStringsAt(e.buffer, e.offset, e.valueLength, e.vr, usesSpecificCharacterSet(e.vr) ? this.characterSet : undefined);
  }
  string(t: TagOrKeyword): string | undefined {
    return this.strings(t)[0];
  }

  numbers(t: TagOrKeyword): number[] {
    const e = this.get(t);
    if (!e || e.items || e.bulk || e.encapsulated) return [];
    return decodeNumbers(e.bytes, e.vr, this.littleEndian);
  }
  number(t: TagOrKeyword): number | undefined {
    return this.numbers(t)[0];
  }
  bigints(t: TagOrKeyword): bigint[] {
    const e = this.get(t);
    if (!e || e.items || e.bulk) return [];
    return decodeBigInts(e.bytes, e.vr, this.littleEndian);
  }
  /** AT values as tag numbers. */
  tags(t: TagOrKeyword): number[] {
    const e = this.get(t);
    if (!e || e.items || e.bulk) return [];
    return decodeTags(e.bytes, this.littleEndian);
  }
  personNames(t: TagOrKeyword): PersonName[] {
    return this.strings(t).map((s) => PersonName.parse(s));
  }
  personName(t: TagOrKeyword): PersonName | undefined {
    return this.personNames(t)[0];
  }
  date(t: TagOrKeyword): DicomDate | undefined {
    const s = this.string(t);
    return s ? DicomDate.parse(s) : undefined;
  }
  time(t: TagOrKeyword): DicomTime | undefined {
    const s = this.string(t);
    return s ? DicomTime.parse(s) : undefined;
  }
  dateTime(t: TagOrKeyword): DicomDateTime | undefined {
    const s = this.string(t);
    return s ? DicomDateTime.parse(s) : undefined;
  }
  items(t: TagOrKeyword): DataSet[] {
    return this.get(t)?.items ?? [];
  }
  /** Raw bytes of a value held in memory (undefined for absent, sequence and bulk values). */
  bytes(t: TagOrKeyword): Uint8Array | undefined {
    const e = this.get(t);
    if (!e || e.items || e.bulk || e.encapsulated) return undefined;
    return e.bytes;
  }

  /** The Private Creator that reserves the block of a private element (PS3.5 §7.8.1). */
  privateCreator(t: Tag): string | undefined {
    const creatorTag = privateCreatorTagOf(t);
    return creatorTag === undefined ? undefined : this.string(creatorTag);
  }

  // ---- building ----

  /**
   * Sets an element from a JavaScript value. The VR defaults to the dictionary's; set the
   * Specific Character Set before text values that need it.
   */
  set(t: TagOrKeyword, vr: VR | undefined, value: ElementValue): DataElement {
    const tagNumber = typeof t === 'number' ? t : resolveKeyword(t);
    const theVR = vr ?? this.dictionaryVR(tagNumber);
    let element: DataElement;
    if (value === null || value === undefined) {
      element = new DataElement(tagNumber, theVR);
    } else if (theVR === 'SQ') {
      const items = value as readonly DataSet[];
      for (const item of items) {
        item.parent = this;
        item.littleEndian = this.littleEndian;
      }
      element = DataElement.sequence(tagNumber, [...items]);
    } else if (value instanceof Uint8Array) {
      element = new DataElement(tagNumber, theVR, padEven(value, 0));
    } else {
      element = new DataElement(tagNumber, theVR, this.encodeValue(theVR, Array.isArray(value) ? value : [value]));
    }
    this.add(element);
    return element;
  }

  private encodeValue(vr: VR, values: readonly unknown[]): Uint8Array {
    if (vr === 'AT') return encodeTags(values as number[], this.littleEndian);
    if (isStringVR(vr) && !(vr === 'DS' || vr === 'IS') || (vr === 'DS' || vr === 'IS') && typeof values[0] === 'string') {
      return encodeStrings(values.map((v) => String(v)), vr, this.characterSet);
    }
    if (values.some((v) => typeof v !== 'number' && typeof v !== 'bigint')) {
      throw new DicomError('ERR_DICOM_BAD_VALUE', `cannot encode ${typeof values[0]} values as VR ${vr}`);
    }
    return encodeNumbers(values as (number | bigint)[], vr, this.littleEndian);
  }

  private dictionaryVR(t: Tag): VR {
    const entry = (t >>> 16) & 1 ? this.privateEntry(t) : lookupTag(t);
    const vr = entry?.vrs[0];
    if (!vr) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'no VR given and none in the dictionary', { tag: t });
    return vr;
  }
  private privateEntry(t: Tag) {
    const creator = this.privateCreator(t);
    return creator !== undefined ? lookupPrivateTag(creator, t) : undefined;
  }
}

function resolveKeyword(keyword: string): Tag {
  const t = tagForKeyword(keyword);
  if (t === undefined) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `unknown keyword "${keyword}"`);
  return t;
}

export { isVR };
