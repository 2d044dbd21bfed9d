/**
 * Decoding of values in the ISO 2022 8-bit code that DICOM uses (PS3.5 §6.1.2.4, §6.1.2.5):
 * G0 invoked in GL, G1 in GR, escape sequences designating other code elements, and the return to
 * the initial code elements at each delimiter (§6.1.2.5.3).
 *
 * The bytes are never split at delimiters before decoding: a JIS X 0208 character may hold 0x5C,
 * 0x5E or 0x3D as either byte, so delimiters count only where G0 is a single-byte set.
 */
import { matchEscapeSequence, type CodeElement } from './code-elements.js';
import { decodeEightBit, decodeEucJp } from './code-element-codecs.js';
import type { DelimiterTable } from './delimiters.js';

const ESC = 0x1b;

export interface InitialCodeElements {
  /** Always a single-byte set (ISO-IR 6 or ISO-IR 14), see defined-terms.ts. */
  readonly initialG0: CodeElement;
  readonly initialG1: CodeElement | null;
}

export function decodeIso2022(bytes: Uint8Array, init: InitialCodeElements, delimiters: DelimiterTable): string {
  // Without an escape sequence the initial code elements hold throughout: one native decode.
  if (bytes.indexOf(ESC) < 0) return decodeEightBit(init.initialG1, bytes);
  return decodeWithEscapes(bytes, init, delimiters);
}

/**
 * Whether `trail` completes a double-byte GR character led by `lead`. Beyond the strict ISO 2022
 * GR pairs this accepts the trail bytes of the supersets the files really hold (CP949 for KS X
 * 1001, GBK for GB 2312) as long as a delimiter byte can never be taken for a trail byte.
 */
function isPair(g1: CodeElement, lead: number, trail: number): boolean {
  if (lead < 0x81 || lead > 0xfe) return false;
  if (trail >= 0x81 && trail <= 0xfe) return true;
  // CP949 trail bytes in GL: 0x41-0x5A and 0x61-0x7A, which exclude '\' '^' '=' and controls.
  return g1.id === 'ISO-IR 149' && ((trail >= 0x41 && trail <= 0x5a) || (trail >= 0x61 && trail <= 0x7a));
}

function decodeWithEscapes(bytes: Uint8Array, init: InitialCodeElements, delimiters: DelimiterTable): string {
  const n = bytes.length;
  const parts: string[] = [];
  let g0 = init.initialG0;
  let g1 = init.initialG1;
  // Single-byte G0: the pending run is bytes[runStart, i), decoded in one go with G1's decoder.
  let runStart = 0;
  // Double-byte G0 (JIS X 0208/0212): pending characters rewritten in EUC-JP form.
  let euc: number[] = [];

  const flush = (end: number): void => {
    if (g0.bytesPerChar === 1) {
      if (end > runStart) parts.push(decodeEightBit(g1, bytes.subarray(runStart, end)));
    } else if (euc.length > 0) {
      parts.push(decodeEucJp(Uint8Array.from(euc), g0.id === 'ISO-IR 159'));
      euc = [];
    }
    runStart = end;
  };

  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b === ESC) {
      const designation = matchEscapeSequence(bytes, i);
      if (designation) {
        flush(i);
        if (designation.element.area === 'G0') g0 = designation.element;
        else g1 = designation.element;
        i += designation.length;
        runStart = i;
        continue;
      }
      // An unknown escape sequence is kept as text, ESC included, so that nothing is lost.
    }

    if (g0.bytesPerChar === 1) {
      if (b < 0x80) {
        i++;
        if (delimiters[b] === 1 && (g0 !== init.initialG0 || g1 !== init.initialG1)) {
          flush(i);
          g0 = init.initialG0;
          g1 = init.initialG1;
        }
      } else if (g1 !== null && g1.bytesPerChar === 2) {
        if (i + 1 < n && isPair(g1, b, bytes[i + 1]!)) {
          i += 2;
        } else {
          // A lone lead byte: decoded apart, so that the decoder cannot pair it with a delimiter.
          flush(i);
          parts.push('\ufffd');
          i++;
          runStart = i;
        }
      } else {
        i++;
      }
      continue;
    }

    // Double-byte G0.
    if (b >= 0x21 && b <= 0x7e) {
      const t = i + 1 < n ? bytes[i + 1]! : -1;
      if (t >= 0x21 && t <= 0x7e) {
        if (g0.id === 'ISO-IR 159') euc.push(0x8f);
        euc.push(b | 0x80, t | 0x80);
        i += 2;
      } else {
        // A lone byte (a writer that forgot to return to ASCII before a delimiter): read as ASCII.
        euc.push(b);
        i++;
      }
    } else if (b < 0x80) {
      // Space and control characters are single bytes in every G0.
      euc.push(b);
      i++;
      if (delimiters[b] === 1) {
        flush(i);
        g0 = init.initialG0;
        g1 = init.initialG1;
      }
    } else if (g1 !== null && g1.id === 'ISO-IR 13' && b >= 0xa1 && b <= 0xdf) {
      euc.push(0x8e, b); // EUC-JP single shift 2: JIS X 0201 katakana
      i++;
    } else {
      const len = g1 !== null && g1.bytesPerChar === 2 && i + 1 < n && isPair(g1, b, bytes[i + 1]!) ? 2 : 1;
      flush(i);
      parts.push(decodeEightBit(g1, bytes.subarray(i, i + len)));
      i += len;
    }
  }
  flush(n);
  return parts.join('');
}
