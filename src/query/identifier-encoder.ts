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
  const values = e.values ?? [];
  if (values.length === 0 || values.every((v) => v === '') || OPAQUE_VRS.has(e.vr)) return null;
  return isMultiValuedString(e.vr) ? values.join('\\') : values.join('');
}

/** True when every code unit is 7-bit ASCII. */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
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
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  const le = enc.littleEndian;
  let at = 0;
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!;
    const text = texts[i]!;
    const length = text === null ? 0 : text.length + (text.length & 1);
    view.setUint16(at, e.tag >>> 16, le);
    view.setUint16(at + 2, e.tag & 0xffff, le);
    if (!enc.explicitVR) {
      view.setUint32(at + 4, length, le);
      at += 8;
    } else {
      out[at + 4] = e.vr.charCodeAt(0);
      out[at + 5] = e.vr.charCodeAt(1);
      if (hasLongExplicitHeader(e.vr)) {
        view.setUint32(at + 8, length, le);
        at += 12;
      } else {
        view.setUint16(at + 6, length, le);
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
