/**
 * Big-endian field access for PDUs (PS3.8 §9.3.1: "the lower byte number has the most significant
 * value"). The reader checks every length against what is left and throws a PduError carrying the
 * A-ABORT reason; the writer grows as needed and back-patches item lengths.
 */
import { DicomError } from '../../core/dicom-error.js';
import { AbortReason, PduError } from '../errors.js';

/** Bytes before a PDU's body: PDU-type, reserved, PDU-length (PS3.8 §9.3.1). */
export const PDU_HEADER_LENGTH = 6;

export class PduReader {
  readonly bytes: Uint8Array;
  offset: number;
  readonly end: number;
  private readonly view: DataView;

  /** `bytes` is the PDU body; offsets in errors are counted from the start of the PDU (header included). */
  constructor(bytes: Uint8Array, offset = 0, end = bytes.length) {
    this.bytes = bytes;
    this.offset = offset;
    this.end = end;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  /** A reader over the next `length` bytes, which this reader skips. */
  sub(length: number, what: string): PduReader {
    this.need(length, what);
    const r = new PduReader(this.bytes, this.offset, this.offset + length);
    this.offset += length;
    return r;
  }

  uint8(what: string): number {
    this.need(1, what);
    return this.bytes[this.offset++]!;
  }

  uint16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }

  uint32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  /** A view (no copy) of the next `length` bytes. */
  view8(length: number, what: string): Uint8Array {
    this.need(length, what);
    const v = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return v;
  }

  ascii(length: number, what: string): string {
    this.need(length, what);
    const s = decodeAscii(this.bytes, this.offset, this.offset + length);
    this.offset += length;
    return s;
  }

  skip(length: number, what: string): void {
    this.need(length, what);
    this.offset += length;
  }

  /** Offset from the start of the PDU, for error messages. */
  get pduOffset(): number {
    return this.offset + PDU_HEADER_LENGTH;
  }

  fail(reason: AbortReason, message: string): never {
    throw new PduError(reason, message, this.pduOffset);
  }

  private need(length: number, what: string): void {
    if (length > this.end - this.offset) {
      throw new PduError(
        AbortReason.InvalidPduParameterValue,
        `${what} needs ${length} bytes but only ${this.end - this.offset} remain`,
        this.pduOffset,
      );
    }
  }
}

export function decodeAscii(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/** A UID from an item: trailing NUL (and space) padding some peers add is not part of it. */
export function trimUid(s: string): string {
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) === 0 || s.charCodeAt(end - 1) === 0x20)) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** PS3.8 §9.3.2, Table 9-11: leading and trailing spaces of an AE title are not significant. */
export function trimAeTitle(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/^[ \x00]+|[ \x00]+$/g, '');
}

export class PduWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buf.buffer);
  }

  uint8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }

  uint16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.length, v);
    this.length += 2;
  }

  uint32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.length, v);
    this.length += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Writes characters 0-255 as single bytes (ISO 646 text, UIDs). */
  ascii(s: string): void {
    this.ensure(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.length++] = s.charCodeAt(i) & 0xff;
  }

  zeros(n: number): void {
    this.ensure(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }

  /** Reserves a 16-bit length field; `end16` fills it with the byte count written since. */
  begin16(): number {
    this.uint16(0);
    return this.length;
  }

  end16(mark: number, what: string): void {
    const n = this.length - mark;
    if (n > 0xffff) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${what} is ${n} bytes; an item holds at most 65535`);
    this.view.setUint16(mark - 2, n);
  }

  begin32(): number {
    this.uint32(0);
    return this.length;
  }

  end32(mark: number): void {
    this.view.setUint32(mark - 4, this.length - mark);
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

/** Checks a UID to be put in an item: 1-64 characters of digits and dots (PS3.5 §9.1). */
export function checkUid(uid: string, what: string): void {
  if (uid.length === 0 || uid.length > 64 || !/^[0-9.]+$/.test(uid)) {
    throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${what} '${uid}' is not a UID (1-64 digits and dots)`);
  }
}

/** Checks an AE title for the 16-byte field: ISO 646 G0 without backslash, not all spaces. */
export function checkAeTitle(title: string, what: string): void {
  if (title.length > 16 || !/^[\x20-\x5b\x5d-\x7e]*$/.test(title) || title.trim().length === 0) {
    throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${what} '${title}' is not an AE title (1-16 characters of ISO 646, not all spaces, no backslash)`);
  }
}

export function writeAeTitle(w: PduWriter, title: string, what: string): void {
  if (title.length > 16) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${what} '${title}' is longer than 16 characters`);
  w.ascii(title);
  for (let i = title.length; i < 16; i++) w.uint8(0x20);
}
