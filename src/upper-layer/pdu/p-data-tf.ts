/**
 * P-DATA-TF PDU. Decoding gives each PDV's data as a view into the received bytes; encoding for the
 * wire gives header buffers and the callers' payload views, so that a large fragment is never copied.
 *
 * PS3.8 §9.3.5, Table 9-22: P-DATA-TF PDU
 *   PS3.8 bytes  offset  size  field
 *   1            0       1     PDU-type 04H
 *   2            1       1     reserved
 *   3-6          2       4     PDU-length
 *   7-xxx        6       n     one or more Presentation-data-value Items
 * PS3.8 §9.3.5.1, Table 9-23 and Annex E.2: Presentation-data-value Item
 *   1-4          0       4     Item-length: bytes from offset 4 to the end of the fragment (2 + fragment)
 *   5            4       1     Presentation-context-ID
 *   6            5       1     Message Control Header: bit 0 = 1 command, 0 data set; bit 1 = 1 last
 *                              fragment; bits 2-7 sent 0
 *   7-xxx        6       n     the message fragment
 */
import { DicomError } from '../../core/dicom-error.js';
import { AbortReason, PduError } from '../errors.js';
import { PDU_HEADER_LENGTH } from './pdu-bytes.js';
import { PduType } from './pdu-type.js';

/** One Presentation Data Value: a fragment of a DIMSE command or data set (PS3.8 Annex E). */
export interface PresentationDataValue {
  presentationContextId: number;
  isCommand: boolean;
  isLast: boolean;
  /** The fragment. On receipt, a view into the received PDU (valid as long as the caller keeps it). */
  data: Uint8Array;
}

export interface PDataTf {
  readonly type: typeof PduType.PDataTf;
  presentationDataValues: PresentationDataValue[];
}

/** Bytes a PDV item adds to its fragment: Item-length (4), Presentation-context-ID (1), control header (1). */
export const PDV_ITEM_OVERHEAD = 6;

/** Payloads up to this many bytes are copied next to their headers rather than sent as separate parts. */
export const DEFAULT_COPY_THRESHOLD = 1024;

export function decodePDataTf(body: Uint8Array): PDataTf {
  const pdvs: PresentationDataValue[] = [];
  let at = 0;
  const end = body.length;
  if (end === 0) throw new PduError(AbortReason.InvalidPduParameterValue, 'P-DATA-TF has no presentation-data-value item', PDU_HEADER_LENGTH);
  while (at < end) {
    if (end - at < PDV_ITEM_OVERHEAD) {
      throw new PduError(AbortReason.InvalidPduParameterValue, `P-DATA-TF ends with ${end - at} bytes, too few for a presentation-data-value item`, PDU_HEADER_LENGTH + at);
    }
    const length = ((body[at]! << 24) >>> 0) + (body[at + 1]! << 16) + (body[at + 2]! << 8) + body[at + 3]!;
    if (length < 2 || length > end - at - 4) {
      throw new PduError(
        AbortReason.InvalidPduParameterValue,
        `presentation-data-value item length ${length} does not fit the ${end - at - 4} bytes left in the P-DATA-TF`,
        PDU_HEADER_LENGTH + at,
      );
    }
    const header = body[at + 5]!;
    pdvs.push({
      presentationContextId: body[at + 4]!,
      isCommand: (header & 0x01) !== 0,
      isLast: (header & 0x02) !== 0,
      data: body.subarray(at + 6, at + 4 + length),
    });
    at += 4 + length;
  }
  return { type: PduType.PDataTf, presentationDataValues: pdvs };
}

/** The PDU-length of a P-DATA-TF carrying `pdvs` (what the peer's Maximum Length limits). */
export function pDataTfLength(pdvs: readonly PresentationDataValue[]): number {
  let n = 0;
  for (const p of pdvs) n += PDV_ITEM_OVERHEAD + p.data.length;
  return n;
}

/**
 * Encodes a P-DATA-TF as parts to be written back to back (writev or cork/uncork): header bytes in
 * as few buffers as possible, and payloads longer than `copyThreshold` as the caller's own views.
 */
export function encodePDataTfParts(pdvs: readonly PresentationDataValue[], copyThreshold = DEFAULT_COPY_THRESHOLD): Uint8Array[] {
  return encodeParts([pdvs], copyThreshold, true);
}

/**
 * Encodes several P-DATA-TF PDUs, in order, as the parts of one write: the headers of all of them
 * (and the small payloads) in one buffer, computed in one pass, between the large payloads' views.
 * The bytes are those of the PDUs encoded one by one, back to back.
 */
export function encodePDataTfGroupParts(pdus: readonly (readonly PresentationDataValue[])[], copyThreshold = DEFAULT_COPY_THRESHOLD): Uint8Array[] {
  return encodeParts(pdus, copyThreshold, true);
}

function encodeParts(pdus: readonly (readonly PresentationDataValue[])[], copyThreshold: number, pooled: boolean): Uint8Array[] {
  // Bytes that go into owned buffers: the headers, plus the small payloads copied beside them.
  let owned = 0;
  for (const pdvs of pdus) {
    owned += PDU_HEADER_LENGTH;
    for (const p of pdvs) owned += PDV_ITEM_OVERHEAD + (p.data.length <= copyThreshold ? p.data.length : 0);
  }
  // From Node's shared Buffer pool when small: a fresh Uint8Array per PDU (and a DataView on it, which
  // makes V8 move its bytes off the heap) was a measurable share of the sender's CPU and garbage.
  // Kept a Buffer, so that its parts are Buffers: a socket wraps every other Uint8Array written to
  // it in a Buffer of its own (stream.Writable), one more object per part.
  let buf: Uint8Array;
  if (pooled) {
    buf = Buffer.allocUnsafe(owned);
  } else {
    buf = new Uint8Array(owned);
  }
  const parts: Uint8Array[] = [];
  let start = 0;
  let at = 0;
  for (const pdvs of pdus) {
    buf[at] = PduType.PDataTf;
    buf[at + 1] = 0;
    writeUint32(buf, at + 2, pDataTfLength(pdvs));
    at += PDU_HEADER_LENGTH;
    for (const p of pdvs) {
      writeUint32(buf, at, p.data.length + 2);
      buf[at + 4] = p.presentationContextId;
      buf[at + 5] = (p.isCommand ? 0x01 : 0) | (p.isLast ? 0x02 : 0);
      at += PDV_ITEM_OVERHEAD;
      if (p.data.length <= copyThreshold) {
        buf.set(p.data, at);
        at += p.data.length;
      } else {
        parts.push(buf.subarray(start, at), p.data);
        start = at;
      }
    }
  }
  if (at > start) parts.push(buf.subarray(start, at));
  return parts;
}

/** Big-endian 32-bit store with plain index writes (PS3.8 §9.3.1: PDU and item lengths are big endian). */
function writeUint32(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value >>> 24;
  buf[at + 1] = (value >>> 16) & 0xff;
  buf[at + 2] = (value >>> 8) & 0xff;
  buf[at + 3] = value & 0xff;
}

/** Encodes a P-DATA-TF into one buffer of its own (copies the payloads). */
export function encodePDataTf(pdvs: readonly PresentationDataValue[]): Uint8Array {
  return encodeParts([pdvs], Infinity, false)[0]!;
}

/**
 * What precedes the fragment of a P-DATA-TF that carries one PDV: the PDU header (6) and the PDV
 * item's Item-length, Presentation-context-ID and Message Control Header (6).
 */
export const SINGLE_PDV_HEADER_LENGTH = PDU_HEADER_LENGTH + PDV_ITEM_OVERHEAD;

/**
 * Fragments of one kind (command or data set) laid out in a buffer, each preceded by
 * SINGLE_PDV_HEADER_LENGTH free bytes: the first, `firstLength` bytes long, at `at`; then, after
 * each fragment, a gap and the next, `fragmentLength` bytes long (LaidOutPdvs), until `length`
 * bytes in all (the last fragment: what is left). A `length` of 0 is one empty PDV.
 */
export interface FragmentRun {
  isCommand: boolean;
  at: number;
  firstLength: number;
  length: number;
}

/**
 * A message's PDVs laid out in one buffer with room for their headers, one PDV per P-DATA-TF:
 * its runs follow one another in the buffer (a run's first gap begins where the previous run's last
 * fragment ends), so that once the headers are written in the gaps the PDUs are one range of bytes.
 */
export interface LaidOutPdvs {
  buffer: Uint8Array;
  presentationContextId: number;
  /** The length of every fragment of a run after its first (the last: what is left); even, at least 2. */
  fragmentLength: number;
  runs: readonly FragmentRun[];
}

/**
 * Calls `pdv` for each PDV of `laid`, in order, with its fragment's position and length; returns
 * the end of the last fragment. Throws (ERR_DICOM_INVALID_ARGUMENT) when the runs do not follow
 * one another or a run's first fragment is longer than the others may be.
 */
export function forEachLaidOutPdv(laid: LaidOutPdvs, pdv: (at: number, length: number, isCommand: boolean, isLast: boolean) => void): number {
  const { fragmentLength, runs } = laid;
  // Checked whole before the first call: a caller that writes (encodeLaidOutPDataTf) writes all or nothing.
  let end = runs.length > 0 ? runs[0]!.at - SINGLE_PDV_HEADER_LENGTH : -1;
  for (const run of runs) {
    if (run.at - SINGLE_PDV_HEADER_LENGTH !== end || end < 0 || run.firstLength > fragmentLength || run.firstLength > run.length ||
      (run.firstLength === 0 && run.length > 0)) {
      throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'laid-out PDVs whose runs do not follow one another in the buffer');
    }
    end = laidOutRunEnd(run, fragmentLength);
  }
  if (end < 0 || end > laid.buffer.length) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'laid-out PDVs with no run, or past the buffer\'s end');
  for (const run of runs) {
    let at = run.at;
    let left = run.length;
    let length = run.firstLength;
    for (;;) {
      pdv(at, length, run.isCommand, left === length);
      left -= length;
      at += length;
      if (left === 0) break;
      at += SINGLE_PDV_HEADER_LENGTH;
      length = Math.min(fragmentLength, left);
    }
  }
  return end;
}

/** Where a run's last fragment ends: its bytes, plus a gap before each fragment after its first. */
function laidOutRunEnd(run: FragmentRun, fragmentLength: number): number {
  const after = run.length - run.firstLength;
  return run.at + run.length + Math.ceil(after / fragmentLength) * SINGLE_PDV_HEADER_LENGTH;
}

/**
 * Writes the P-DATA-TF and PDV headers of `laid` into its gaps and returns the PDUs' bytes: a view
 * of the buffer from the first header to the last fragment's end. The caller keeps each PDU within
 * the peer's maximum (fragmentLength + PDV_ITEM_OVERHEAD).
 */
export function encodeLaidOutPDataTf(laid: LaidOutPdvs): Uint8Array {
  const buf = laid.buffer;
  const id = laid.presentationContextId;
  const end = forEachLaidOutPdv(laid, (at, length, isCommand, isLast) => {
    const h = at - SINGLE_PDV_HEADER_LENGTH;
    buf[h] = PduType.PDataTf;
    buf[h + 1] = 0;
    writeUint32(buf, h + 2, PDV_ITEM_OVERHEAD + length);
    writeUint32(buf, h + PDU_HEADER_LENGTH, length + 2);
    buf[h + PDU_HEADER_LENGTH + 4] = id;
    buf[h + PDU_HEADER_LENGTH + 5] = (isCommand ? 0x01 : 0) | (isLast ? 0x02 : 0);
  });
  return buf.subarray(laid.runs[0]!.at - SINGLE_PDV_HEADER_LENGTH, end);
}

/** The PDUs of `laid` as PDV lists whose fragments are views of its buffer (for a trace, or to send them another way). */
export function laidOutPdvLists(laid: LaidOutPdvs): PresentationDataValue[][] {
  const out: PresentationDataValue[][] = [];
  const id = laid.presentationContextId;
  forEachLaidOutPdv(laid, (at, length, isCommand, isLast) => {
    out.push([{ presentationContextId: id, isCommand, isLast, data: laid.buffer.subarray(at, at + length) }]);
  });
  return out;
}
