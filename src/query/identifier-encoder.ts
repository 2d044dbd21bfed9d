/**
 * A C-FIND response Identifier written straight from its entries into one buffer of its exact size,
 * without a DataSet: the common case of text attributes only (every key of the Query/Retrieve
 * information models down to SERIES is text: PN, LO, UI, DA, TM, CS, IS...) whose values are ASCII,
 * so that no Specific Character Set is involved. The bytes are those the DataSet path writes
 * (response.ts materialize, then the data set writer): ascending tags; values joined with "\" for
 * multi-valued VRs; odd lengths padded with NUL for UI and a space for the other text VRs (PS3.5
 * §6.2); an empty value or one of an opaque VR zero-length. Anything else (sequences, binary VRs,
 * non-ASCII text, values too long for a 16-bit length) returns undefined, and the caller takes the
 * DataSet path.
 *
 * Element headers (PS3.5 §7.1): Implicit VR tag (4) + length (4); Explicit VR tag (4) + VR (2) +
 * length (2), or + VR (2) + 0000 + length (4) for the VRs of Table 7.1-1 (UC, UR, UT among text).
 */
import type { Encoding } from '../data/writer.js';
import { hasLongExplicitHeader, isMultiValuedString, isStringVR, paddingByte, type VR } from '../data/vr.js';

/** An attribute of a response before it is encoded (response.ts). */
export interface ResponseEntry {
  readonly tag: number;
  readonly vr: VR;
  readonly values?: readonly string[];
  readonly items?: ReadonlyArray<readonly ResponseEntry[]>;
}

/** VRs whose values are bytes, not carried as text here: always written empty. */
export const OPAQUE_VRS: ReadonlySet<VR> = new Set<VR>(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

/** The text of an entry as it is written (unpadded), or null for a zero-length value. */
function textOf(e: ResponseEntry): string | null {
  const values = e.values;
  if (values === undefined || values.length === 0 || OPAQUE_VRS.has(e.vr)) return null;
  if (values.length === 1) return values[0] === '' ? null : values[0]!;
  let empty = true;
  for (const v of values) if (v !== '') empty = false;
  if (empty) return null;
  return isMultiValuedString(e.vr) ? values.join('\\') : values.join('');
}

/** True when every code unit is 7-bit ASCII. */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * Identifiers are small (a few hundred bytes) and many (one per match): each is a view of a shared
 * slab, not an ArrayBuffer of its own (allocating one per response cost more than encoding it). A
 * slab is never written again once a view of it was handed out; it is freed with its last view.
 */
const SLAB_BYTES = 64 * 1024;
let slab = new Uint8Array(0);
let slabUsed = 0;

function allocate(size: number): Uint8Array {
  if (size > SLAB_BYTES / 4) return new Uint8Array(size);
  if (slabUsed + size > slab.length) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + size);
  slabUsed += size;
  return out;
}

function put16(out: Uint8Array, at: number, v: number, le: boolean): void {
  out[at + (le ? 0 : 1)] = v & 0xff;
  out[at + (le ? 1 : 0)] = v >>> 8;
}

function put32(out: Uint8Array, at: number, v: number, le: boolean): void {
  if (le) {
    out[at] = v & 0xff; out[at + 1] = (v >>> 8) & 0xff; out[at + 2] = (v >>> 16) & 0xff; out[at + 3] = v >>> 24;
  } else {
    out[at] = v >>> 24; out[at + 1] = (v >>> 16) & 0xff; out[at + 2] = (v >>> 8) & 0xff; out[at + 3] = v & 0xff;
  }
}

/**
 * The entries encoded in `enc`, or undefined when one of them needs the DataSet path (see the
 * module comment). `entries` need not be sorted.
 */
export function encodeTextEntries(entries: readonly ResponseEntry[], enc: Encoding): Uint8Array | undefined {
  const sorted = [...entries].sort((a, b) => a.tag - b.tag);
  const texts: Array<string | null> = new Array(sorted.length);
  let size = 0;
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!;
    if (e.items || !isStringVR(e.vr) || (e.tag & 0xffff) === 0) return undefined;
    const text = textOf(e);
    if (text !== null && (!isAscii(text) || text.length > 0xfffe)) return undefined;
    texts[i] = text;
    const length = text === null ? 0 : text.length + (text.length & 1);
    size += (enc.explicitVR && hasLongExplicitHeader(e.vr) ? 12 : 8) + length;
  }
  // Every byte is written below (the slab may hold anything).
  const out = allocate(size);
  const le = enc.littleEndian;
  let at = 0;
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!;
    const text = texts[i]!;
    const length = text === null ? 0 : text.length + (text.length & 1);
    put16(out, at, e.tag >>> 16, le);
    put16(out, at + 2, e.tag & 0xffff, le);
    if (!enc.explicitVR) {
      put32(out, at + 4, length, le);
      at += 8;
    } else {
      out[at + 4] = e.vr.charCodeAt(0);
      out[at + 5] = e.vr.charCodeAt(1);
      if (hasLongExplicitHeader(e.vr)) {
        out[at + 6] = 0;
        out[at + 7] = 0;
        put32(out, at + 8, length, le);
        at += 12;
      } else {
        put16(out, at + 6, length, le);
        at += 8;
      }
    }
    if (text === null) continue;
    for (let k = 0; k < text.length; k++) out[at + k] = text.charCodeAt(k);
    if (text.length & 1) out[at + text.length] = paddingByte(e.vr);
    at += length;
  }
  return out;
}
