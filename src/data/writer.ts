/**
 * Encodes data sets (PS3.5 §7) in any uncompressed encoding, as a stream of chunks. Raw values are
 * written back as they were read, so a data set written in its own transfer syntax is
 * byte-identical; in another byte order binary values are swapped by VR. Defined lengths of
 * sequences and items, and group lengths, are recomputed from what is written. Bulk values are
 * streamed from where they lie, never loaded whole.
 */
import { ReceiveCollector } from '../core/young-generation-gc.js';
import { closeSync, openSync, readSync } from 'node:fs';
import { concatBytes } from '../core/bytes.js';
import { DicomError } from '../core/dicom-error.js';
import { BulkData } from './bulk-data.js';
import type { DataSet } from './data-set.js';
import type { DataElement } from './element.js';
import { ITEM, ITEM_DELIMITATION, SEQUENCE_DELIMITATION, UNDEFINED_LENGTH } from './tag.js';
import { swapBytes } from './values.js';
import { binaryValueSize, hasLongExplicitHeader, paddingByte, type VR } from './vr.js';

export interface Encoding {
  explicitVR: boolean;
  littleEndian: boolean;
}
export interface EncodeOptions {
  /**
   * Recompute group length elements (gggg,0000) from what is written. Default false: they are
   * kept as read, so that rewriting in the same encoding is byte-identical; set it when the
   * encoding changes or values were edited.
   */
  recalculateGroupLengths?: boolean;
}
const IMPLICIT_LE: Encoding = { explicitVR: false, littleEndian: true };

/** A piece of output: bytes, or a bulk value to stream (swapped in `unit`-byte values if unit > 1). */
export type EncodedPart = Uint8Array | { bulk: BulkData; swapUnit: number };

const CHUNK = 64 * 1024;

class PartWriter {
  private buf = new Uint8Array(CHUNK);
  private view = new DataView(this.buf.buffer);
  private n = 0;
  readonly parts: EncodedPart[] = [];
  constructor(private le: boolean) {}

  setByteOrder(le: boolean): void {
    this.le = le;
  }
  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    this.flush();
    if (k > this.buf.length) {
      this.buf = new Uint8Array(k);
      this.view = new DataView(this.buf.buffer);
    }
  }
  flush(): void {
    if (this.n === 0) return;
    this.parts.push(this.buf.slice(0, this.n));
    this.n = 0;
  }
  u16(v: number): void {
    this.room(2);
    this.view.setUint16(this.n, v, this.le);
    this.n += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.n, v >>> 0, this.le);
    this.n += 4;
  }
  tag(t: number): void {
    this.u16(t >>> 16);
    this.u16(t & 0xffff);
  }
  ascii2(s: string): void {
    this.room(2);
    this.buf[this.n++] = s.charCodeAt(0);
    this.buf[this.n++] = s.charCodeAt(1);
  }
  bytes(b: Uint8Array): void {
    if (b.length > CHUNK) {
      this.flush();
      this.parts.push(b);
      return;
    }
    this.room(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }
  bulk(bulk: BulkData, swapUnit: number): void {
    this.flush();
    this.parts.push({ bulk, swapUnit });
  }
}

/** Encodes the elements of a data set into parts. */
export function encodeParts(ds: DataSet, enc: Encoding, options: EncodeOptions = {}): EncodedPart[] {
  const w = new PartWriter(enc.littleEndian);
  const sizes = new Map<DataSet, number>();
  writeDataSetBody(w, ds, enc, sizes, options.recalculateGroupLengths ?? false);
  w.flush();
  return w.parts;
}

function swapUnitFor(vr: VR, from: boolean, to: boolean): number {
  if (from === to || vr === 'OB' || vr === 'UN') return 1;
  return binaryValueSize(vr);
}

function writeDataSetBody(w: PartWriter, ds: DataSet, enc: Encoding, sizes: Map<DataSet, number>, groupLengths: boolean): void {
  const elements = ds.elements();
  for (let i = 0; i < elements.length; i++) {
    const e = elements[i]!;
    if (groupLengths && (e.tag & 0xffff) === 0 && e.vr === 'UL' && e.valueLength === 4 && !e.items && !e.bulk) {
      // Group length (PS3.5 §7.2): the length of what follows in this group, as written now.
      let groupLength = 0;
      const group = e.tag >>> 16;
      for (let j = i + 1; j < elements.length && elements[j]!.tag >>> 16 === group; j++) groupLength += elementLength(elements[j]!, ds, enc, sizes);
      header(w, e.tag, 'UL', 4, enc);
      w.u32(groupLength);
      continue;
    }
    writeElement(w, e, ds, enc, sizes, groupLengths);
  }
}

function effectiveVR(e: DataElement, enc: Encoding): VR {
  // A value too long for a 16-bit length is written as UN (PS3.5 §6.2.2).
  if (enc.explicitVR && !e.items && !e.encapsulated && !hasLongExplicitHeader(e.vr) && e.valueLength > 0xffff) return 'UN';
  return e.vr;
}

function header(w: PartWriter, t: number, vr: VR, length: number, enc: Encoding): void {
  w.tag(t);
  if (!enc.explicitVR) {
    w.u32(length);
  } else if (hasLongExplicitHeader(vr)) {
    w.ascii2(vr);
    w.u16(0);
    w.u32(length);
  } else {
    w.ascii2(vr);
    w.u16(length);
  }
}

function headerLength(vr: VR, enc: Encoding): number {
  return !enc.explicitVR || hasLongExplicitHeader(vr) ? (enc.explicitVR ? 12 : 8) : 8;
}

/** The encoding the items of a sequence use: UN sequences are Implicit VR Little Endian (PS3.5 §6.2.2). */
function itemEncoding(e: DataElement, enc: Encoding): Encoding {
  return e.vr === 'UN' && enc.explicitVR ? IMPLICIT_LE : enc;
}

function writeElement(w: PartWriter, e: DataElement, ds: DataSet, enc: Encoding, sizes: Map<DataSet, number>, groupLengths: boolean): void {
  if (e.items) {
    const inner = itemEncoding(e, enc);
    const vr = enc.explicitVR ? e.vr : 'SQ';
    const length = e.undefinedLength ? UNDEFINED_LENGTH : sequenceContentLength(e, inner, sizes);
    header(w, e.tag, vr === 'SQ' || vr === 'UN' ? vr : 'SQ', length, enc);
    w.setByteOrder(inner.littleEndian);
    for (const item of e.items) {
      w.tag(ITEM);
      w.u32(item.undefinedLength ? UNDEFINED_LENGTH : dataSetLength(item, inner, sizes));
      writeDataSetBody(w, item, inner, sizes, groupLengths);
      w.setByteOrder(inner.littleEndian);
      if (item.undefinedLength) {
        w.tag(ITEM_DELIMITATION);
        w.u32(0);
      }
    }
    if (e.undefinedLength) {
      w.tag(SEQUENCE_DELIMITATION);
      w.u32(0);
    }
    w.setByteOrder(enc.littleEndian);
    return;
  }
  if (e.encapsulated) {
    if (!enc.explicitVR) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'encapsulated pixel data needs an explicit VR transfer syntax', { tag: e.tag });
    header(w, e.tag, e.vr, UNDEFINED_LENGTH, enc);
    w.tag(ITEM);
    w.u32(e.encapsulated.offsetTable.length);
    w.bytes(e.encapsulated.offsetTable);
    for (const f of e.encapsulated.fragments) {
      w.tag(ITEM);
      w.u32(f.length);
      if (f instanceof BulkData) w.bulk(f, 1);
      else w.bytes(f);
    }
    w.tag(SEQUENCE_DELIMITATION);
    w.u32(0);
    return;
  }
  const vr = effectiveVR(e, enc);
  // Values have even length (PS3.5 §7.1.1); an odd one read from a faulty writer is padded as its VR pads.
  const odd = e.valueLength & 1;
  header(w, e.tag, vr, e.valueLength + odd, enc);
  const unit = swapUnitFor(e.vr, ds.littleEndian, enc.littleEndian);
  if (e.bulk) w.bulk(e.bulk, unit);
  else w.bytes(unit > 1 ? swapBytes(e.bytes, unit) : e.bytes);
  if (odd) w.bytes(new Uint8Array([paddingByte(e.vr)]));
}

function elementLength(e: DataElement, ds: DataSet, enc: Encoding, sizes: Map<DataSet, number>): number {
  if (e.items) {
    const inner = itemEncoding(e, enc);
    return headerLength(enc.explicitVR ? e.vr : 'SQ', enc) + sequenceContentLength(e, inner, sizes) + (e.undefinedLength ? 8 : 0);
  }
  if (e.encapsulated) {
    let n = headerLength(e.vr, enc) + 8 + e.encapsulated.offsetTable.length + 8;
    for (const f of e.encapsulated.fragments) n += 8 + f.length;
    return n;
  }
  void ds;
  return headerLength(effectiveVR(e, enc), enc) + e.valueLength + (e.valueLength & 1);
}

function sequenceContentLength(e: DataElement, inner: Encoding, sizes: Map<DataSet, number>): number {
  let n = 0;
  for (const item of e.items!) n += 8 + dataSetLength(item, inner, sizes) + (item.undefinedLength ? 8 : 0);
  return n;
}

function dataSetLength(ds: DataSet, enc: Encoding, sizes: Map<DataSet, number>): number {
  const cached = sizes.get(ds);
  if (cached !== undefined) return cached;
  let n = 0;
  for (const e of ds.elements()) n += elementLength(e, ds, enc, sizes);
  sizes.set(ds, n);
  return n;
}

/** The encoded length of a data set's elements (as `encodeParts` would write them). */
export function encodedLength(ds: DataSet, enc: Encoding): number {
  return dataSetLength(ds, enc, new Map());
}

/** Streams a data set's encoding; bulk values are read from their files chunk by chunk. */
export async function* encodeDataSetStream(ds: DataSet, enc: Encoding, options: EncodeOptions = {}): AsyncGenerator<Uint8Array> {
  for (const part of encodeParts(ds, enc, options)) {
    if (part instanceof Uint8Array) yield part;
    else yield* streamBulk(part.bulk, part.swapUnit);
  }
}

export async function* streamBulk(bulk: BulkData, swapUnit: number): AsyncGenerator<Uint8Array> {
  let carry: Uint8Array | null = null;
  // Every chunk read (and every swapped copy) is a new buffer outside the V8 heap, which V8 frees
  // late when the process mostly moves bytes: paced scavenges keep a 2 GB stream's memory flat
  // (docs/adr/0012-network-buffers-and-gc.md).
  const collector = new ReceiveCollector();
  for await (const chunk of bulk.stream()) {
    let b = chunk as Uint8Array;
    collector.received(b.length);
    if (swapUnit <= 1) {
      yield b;
      continue;
    }
    if (carry) {
      const merged = new Uint8Array(carry.length + b.length);
      merged.set(carry);
      merged.set(b, carry.length);
      b = merged;
      carry = null;
    }
    const whole = b.length - (b.length % swapUnit);
    if (whole < b.length) carry = b.slice(whole);
    yield swapCopy(b.subarray(0, whole), swapUnit);
  }
  if (carry) yield carry;
}

/**
 * Swaps a copy of a bulk chunk natively (a BulkData stream may hand out memory it keeps): a JS
 * byte loop made Big Endian transcoding of a 2 GB value take many seconds.
 */
function swapCopy(b: Uint8Array, unit: number): Uint8Array {
  const view = Buffer.from(b);
  if (unit === 2) return view.swap16();
  if (unit === 4) return view.swap32();
  if (unit === 8) return view.swap64();
  return swapBytes(b, unit);
}

/** Encodes a data set into one buffer. Bulk values are read synchronously: use for data sets that fit in memory. */
export function encodeDataSet(ds: DataSet, enc: Encoding, options: EncodeOptions = {}): Uint8Array {
  const parts = encodeParts(ds, enc, options).map((p) => (p instanceof Uint8Array ? p : readBulkSync(p.bulk, p.swapUnit)));
  return concatBytes(parts);
}

function readBulkSync(bulk: BulkData, swapUnit: number): Uint8Array {
  const out = Buffer.allocUnsafe(bulk.length);
  const fd = openSync(bulk.path, 'r');
  try {
    let done = 0;
    while (done < bulk.length) {
      const n = readSync(fd, out, done, bulk.length - done, bulk.offset + done);
      if (n === 0) throw new DicomError('ERR_DICOM_IO', `unexpected end of ${bulk.path}`, { offset: bulk.offset + done });
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return swapUnit > 1 ? swapBytes(out, swapUnit) : out;
}

export { concatBytes as concat } from '../core/bytes.js';
