/**
 * Decoding and encoding of element values by VR (PS3.5 §6.2). Values stay raw in elements until
 * asked for; these functions are the only place that turns bytes into numbers and strings.
 */
import { DicomError } from '../core/dicom-error.js';
import type { SpecificCharacterSet } from './charset/index.js';
import { binaryValueSize, isMultiValuedString, keepsLeadingSpaces, paddingByte, usesSpecificCharacterSet, type VR } from './vr.js';

interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}

/** Latin-1 text of bytes [start, end) of `buf`, without allocating when `buf` is a Node Buffer (the reader's windows are). */
export function latin1Text(buf: Uint8Array, start: number, end: number): string {
  if (buf instanceof Buffer) return (buf as unknown as Latin1Slicer).latin1Slice(start, end);
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
}

/** Text of a string VR, decoded with the character set where the VR uses it, padding not yet removed. */
export function decodeText(bytes: Uint8Array, vr: VR, charset: SpecificCharacterSet): string {
  return decodeTextAt(bytes, 0, bytes.length, vr, charset);
}

function decodeTextAt(buf: Uint8Array, offset: number, length: number, vr: VR, charset: SpecificCharacterSet | undefined): string {
  if (charset !== undefined && !charset.isDefault && usesSpecificCharacterSet(vr)) return charset.decode(buf.subarray(offset, offset + length), vr);
  return latin1Text(buf, offset, offset + length);
}

/**
 * Values of a string VR: split at backslashes (except LT, ST, UT, UR), trailing padding removed
 * (spaces, and NUL which UI and some writers use), leading spaces removed where they are not
 * significant (PS3.5 Table 6.2-1).
 */
export function decodeStrings(bytes: Uint8Array, vr: VR, charset: SpecificCharacterSet | undefined): string[] {
  return decodeStringsAt(bytes, 0, bytes.length, vr, charset);
}

/** decodeStrings on bytes [offset, offset + length) of `buf`, without making a view. */
export function decodeStringsAt(buf: Uint8Array, offset: number, length: number, vr: VR, charset: SpecificCharacterSet | undefined): string[] {
  if (length === 0) return [];
  const text = decodeTextAt(buf, offset, length, vr, charset);
  const keepLeading = keepsLeadingSpaces(vr) || vr === 'PN' || vr === 'UC' || vr === 'UR';
  if (!isMultiValuedString(vr) || text.indexOf('\\') < 0) return [trimValue(text, keepLeading)];
  const parts = text.split('\\');
  for (let i = 0; i < parts.length; i++) parts[i] = trimValue(parts[i]!, keepLeading);
  return parts;
}

function trimValue(s: string, keepLeading: boolean): string {
  let end = s.length;
  while (end > 0) {
    const c = s.charCodeAt(end - 1);
    if (c !== 0x20 && c !== 0) break;
    end--;
  }
  let start = 0;
  if (!keepLeading) while (start < end && s.charCodeAt(start) === 0x20) start++;
  return start !== 0 || end !== s.length ? s.slice(start, end) : s;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Numbers of a binary numeric VR (US SS UL SL FL FD OF OD OL OW) or of DS/IS text. */
export function decodeNumbers(bytes: Uint8Array, vr: VR, littleEndian: boolean): number[] {
  switch (vr) {
    case 'DS': case 'IS': {
      const out: number[] = [];
      for (const text of decodeStrings(bytes, vr, undefined)) if (text !== '') out.push(Number(text));
      return out;
    }
    case 'US': case 'OW':
      if (bytes.length === 2) return [littleEndian ? bytes[0]! | (bytes[1]! << 8) : (bytes[0]! << 8) | bytes[1]!];
      return readArray(bytes, 2, (v, o) => v.getUint16(o, littleEndian));
    case 'SS': return readArray(bytes, 2, (v, o) => v.getInt16(o, littleEndian));
    case 'UL': case 'OL': return readArray(bytes, 4, (v, o) => v.getUint32(o, littleEndian));
    case 'SL': return readArray(bytes, 4, (v, o) => v.getInt32(o, littleEndian));
    case 'FL': case 'OF': return readArray(bytes, 4, (v, o) => v.getFloat32(o, littleEndian));
    case 'FD': case 'OD': return readArray(bytes, 8, (v, o) => v.getFloat64(o, littleEndian));
    case 'SV': case 'UV': case 'OV': return decodeBigInts(bytes, vr, littleEndian).map(Number);
    default:
      throw new DicomError('ERR_DICOM_BAD_VALUE', `VR ${vr} does not hold numbers`);
  }
}

export function decodeBigInts(bytes: Uint8Array, vr: VR, littleEndian: boolean): bigint[] {
  if (vr === 'SV') return readArray(bytes, 8, (v, o) => v.getBigInt64(o, littleEndian));
  if (vr === 'UV' || vr === 'OV') return readArray(bytes, 8, (v, o) => v.getBigUint64(o, littleEndian));
  throw new DicomError('ERR_DICOM_BAD_VALUE', `VR ${vr} does not hold 64-bit integers`);
}

/** AT values: pairs of 16-bit group and element numbers. */
export function decodeTags(bytes: Uint8Array, littleEndian: boolean): number[] {
  return readArray(bytes, 4, (v, o) => ((v.getUint16(o, littleEndian) << 16) | v.getUint16(o + 2, littleEndian)) >>> 0);
}

function readArray<T>(bytes: Uint8Array, size: number, read: (v: DataView, offset: number) => T): T[] {
  const v = view(bytes);
  const n = Math.floor(bytes.length / size);
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) out[i] = read(v, i * size);
  return out;
}

// ---- encoding ----

/** Encodes string values joined with backslash and padded to even length. */
export function encodeStrings(values: readonly string[], vr: VR, charset: SpecificCharacterSet | undefined): Uint8Array {
  const text = isMultiValuedString(vr) ? values.join('\\') : values.join('');
  // Text VRs go through the character set (strict: a character it cannot hold is an error, not mangled).
  const raw = usesSpecificCharacterSet(vr) && charset !== undefined ? charset.encode(text, vr) : Buffer.from(text, 'latin1');
  return padEven(raw, paddingByte(vr));
}

export function padEven(bytes: Uint8Array, pad: number): Uint8Array {
  if ((bytes.length & 1) === 0) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = pad;
  return out;
}

/** Encodes numbers for a binary VR, or as text for DS and IS. */
export function encodeNumbers(values: readonly (number | bigint)[], vr: VR, littleEndian: boolean): Uint8Array {
  if (vr === 'DS' || vr === 'IS') {
    return encodeStrings(values.map((n) => formatNumberString(Number(n), vr)), vr, undefined);
  }
  const size = binaryValueSize(vr);
  if (size === 0 || vr === 'AT') throw new DicomError('ERR_DICOM_BAD_VALUE', `VR ${vr} does not hold numbers`);
  const out = new Uint8Array(values.length * size);
  const v = view(out);
  values.forEach((n, i) => {
    const o = i * size;
    switch (vr) {
      case 'US': case 'OW': v.setUint16(o, Number(n), littleEndian); break;
      case 'SS': v.setInt16(o, Number(n), littleEndian); break;
      case 'UL': case 'OL': v.setUint32(o, Number(n), littleEndian); break;
      case 'SL': v.setInt32(o, Number(n), littleEndian); break;
      case 'FL': case 'OF': v.setFloat32(o, Number(n), littleEndian); break;
      case 'FD': case 'OD': v.setFloat64(o, Number(n), littleEndian); break;
      case 'SV': v.setBigInt64(o, BigInt(n), littleEndian); break;
      case 'UV': case 'OV': v.setBigUint64(o, BigInt(n), littleEndian); break;
    }
  });
  return out;
}

export function encodeTags(values: readonly number[], littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const v = view(out);
  values.forEach((t, i) => {
    v.setUint16(i * 4, t >>> 16, littleEndian);
    v.setUint16(i * 4 + 2, t & 0xffff, littleEndian);
  });
  return out;
}

/** DS is at most 16 characters (PS3.5 Table 6.2-1); IS is an integer. */
export function formatNumberString(n: number, vr: 'DS' | 'IS'): string {
  if (vr === 'IS') return String(Math.trunc(n));
  let s = String(n);
  if (s.length <= 16) return s;
  for (let p = 15; p > 0; p--) {
    s = n.toPrecision(p).replace(/(\.\d*?)0+(e|$)/, '$1$2').replace(/\.(e|$)/, '$1');
    if (s.length <= 16) return s;
  }
  return s;
}

/** Swaps the bytes of each value in place-free fashion, for converting between byte orders. */
export function swapBytes(bytes: Uint8Array, unit: number): Uint8Array {
  if (unit <= 1) return bytes;
  const out = new Uint8Array(bytes.length);
  const n = bytes.length - (bytes.length % unit);
  for (let i = 0; i < n; i += unit) for (let j = 0; j < unit; j++) out[i + j] = bytes[i + unit - 1 - j]!;
  for (let i = n; i < bytes.length; i++) out[i] = bytes[i]!;
  return out;
}
