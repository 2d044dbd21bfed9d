/**
 * Encoding of text with ISO 2022 code extensions (PS3.5 §6.1.2.5.3): each character goes to the
 * code element in G0 or G1 if it can hold it, else to the first declared code element that can,
 * designated by its escape sequence. Before every delimiter and control character, and at the end
 * of the value, the initial code elements (those of Value 1) are made active again; after a
 * delimiter they are assumed active, so a code element used again is designated again (as in the
 * examples of PS3.5 Annexes H, I and K).
 */
import { DicomError } from '../../core/dicom-error.js';
import type { CodeElement } from './code-elements.js';
import { encodeTable } from './code-element-codecs.js';
import type { DelimiterTable } from './delimiters.js';
import type { InitialCodeElements } from './iso2022-decoder.js';

const ESC = 0x1b;

export interface Iso2022Encoding extends InitialCodeElements {
  /** Code elements that may be designated, in order of preference. */
  readonly elements: readonly CodeElement[];
}

export function encodeIso2022(text: string, cs: Iso2022Encoding, delimiters: DelimiterTable, describe: () => string): Uint8Array {
  const out: number[] = [];
  const init0 = cs.initialG0;
  const init1 = cs.initialG1;
  let g0 = init0;
  let g1 = init1;

  const emit = (el: CodeElement, code: number): void => {
    if (el.bytesPerChar === 2) out.push(code >> 8, code & 0xff);
    else out.push(code);
  };
  const designate = (el: CodeElement): void => {
    for (const b of el.escape) out.push(b);
    if (el.area === 'G0') g0 = el;
    else g1 = el;
  };
  const restore = (): void => {
    if (g0 !== init0) designate(init0);
    if (g1 !== init1) {
      // A G1 of none cannot be designated; the decoder returns to it at the delimiter by itself.
      if (init1) designate(init1);
      else g1 = init1;
    }
  };

  let index = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80 && (delimiters[cp] === 1 || (cp < 0x20 && cp !== ESC))) {
      restore();
      out.push(cp);
    } else {
      let code = encodeTable(g0).get(cp);
      if (code !== undefined) {
        emit(g0, code);
      } else if (g1 !== null && (code = encodeTable(g1).get(cp)) !== undefined) {
        emit(g1, code);
      } else {
        let chosen: CodeElement | undefined;
        for (const el of cs.elements) {
          if (el === g0 || el === g1) continue;
          code = encodeTable(el).get(cp);
          if (code !== undefined) {
            chosen = el;
            break;
          }
        }
        if (chosen === undefined || code === undefined) throw unencodable(ch, cp, index, describe());
        designate(chosen);
        emit(chosen, code);
      }
    }
    index += ch.length;
  }
  restore();
  return Uint8Array.from(out);
}

export function unencodable(ch: string, cp: number, index: number, charset: string): DicomError {
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  return new DicomError(
    'ERR_DICOM_CHARSET',
    `character U+${hex} ${JSON.stringify(ch)} at index ${index} cannot be encoded with Specific Character Set ${charset}`,
  );
}
