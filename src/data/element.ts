import type { DataSet } from './data-set.js';
import type { BulkData } from './bulk-data.js';
import type { Tag } from './tag.js';
import type { VR } from './vr.js';

/** Encapsulated pixel data, PS3.5 §A.4: the Basic Offset Table item then one item per fragment. */
export interface EncapsulatedValue {
  /** Value of the first item (Basic Offset Table); empty when there is none. */
  offsetTable: Uint8Array;
  fragments: Array<Uint8Array | BulkData>;
}

const EMPTY = new Uint8Array(0);

/**
 * One data element (PS3.5 §7.1). The value is held in exactly one form:
 * - raw bytes (`buffer[offset, offset + valueLength)`), in the byte order of the owning data set,
 *   kept as read so that writing back is byte-identical and decoding is done only when asked;
 * - `items` for a sequence (SQ, or UN of undefined length read as implicit VR SQ, PS3.5 §6.2.2);
 * - `encapsulated` for encapsulated pixel data;
 * - `bulk` for a value above the reader's threshold, left in its file.
 */
export class DataElement {
  tag: Tag;
  vr: VR;
  buffer: Uint8Array;
  offset: number;
  valueLength: number;
  items: DataSet[] | null;
  encapsulated: EncapsulatedValue | null;
  bulk: BulkData | null;
  /** Encoded with undefined length (sequences, encapsulated pixel data, UN sequences). */
  undefinedLength: boolean;

  constructor(tag: Tag, vr: VR, buffer: Uint8Array = EMPTY, offset = 0, valueLength = buffer.length - offset) {
    this.tag = tag;
    this.vr = vr;
    this.buffer = buffer;
    this.offset = offset;
    this.valueLength = valueLength;
    this.items = null;
    this.encapsulated = null;
    this.bulk = null;
    this.undefinedLength = false;
  }

  static sequence(tag: Tag, items: DataSet[], vr: VR = 'SQ', undefinedLength = true): DataElement {
    const e = new DataElement(tag, vr, EMPTY, 0, 0);
    e.items = items;
    e.undefinedLength = undefinedLength;
    return e;
  }

  static encapsulatedPixelData(tag: Tag, vr: VR, value: EncapsulatedValue): DataElement {
    const e = new DataElement(tag, vr, EMPTY, 0, 0);
    e.encapsulated = value;
    e.undefinedLength = true;
    return e;
  }

  static bulkData(tag: Tag, vr: VR, bulk: BulkData): DataElement {
    const e = new DataElement(tag, vr, EMPTY, 0, bulk.length);
    e.bulk = bulk;
    return e;
  }

  /** The raw value bytes (a view, not a copy). Empty for sequences, encapsulated and bulk values. */
  get bytes(): Uint8Array {
    if (this.offset === 0 && this.valueLength === this.buffer.length) return this.buffer;
    return this.buffer.subarray(this.offset, this.offset + this.valueLength);
  }

  /** Replaces the raw value. */
  setBytes(bytes: Uint8Array): void {
    this.buffer = bytes;
    this.offset = 0;
    this.valueLength = bytes.length;
    this.items = null;
    this.encapsulated = null;
    this.bulk = null;
    this.undefinedLength = false;
  }

  get isSequence(): boolean {
    return this.items !== null;
  }
}
