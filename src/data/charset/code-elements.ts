/**
 * The graphic character sets ("code elements") that the Defined Terms of Specific Character Set
 * (0008,0005) designate, with their ISO 2022 escape sequences.
 *
 * PS3.3 C.12.1.1.2, Tables C.12-2 to C.12-5; PS3.5 §6.1.2.4, §6.1.2.5.
 *
 * A G0 element is invoked into GL (bytes 0x21-0x7E), a G1 element into GR (bytes 0xA0/0xA1-0xFF).
 * DICOM never uses locking shifts: G0 is always in GL and G1 always in GR, so a code element is
 * switched only by designating another one with an escape sequence.
 */

export type CodeElementId =
  | 'ISO-IR 6'
  | 'ISO-IR 14'
  | 'ISO-IR 13'
  | 'ISO-IR 100'
  | 'ISO-IR 101'
  | 'ISO-IR 109'
  | 'ISO-IR 110'
  | 'ISO-IR 126'
  | 'ISO-IR 127'
  | 'ISO-IR 138'
  | 'ISO-IR 144'
  | 'ISO-IR 148'
  | 'ISO-IR 166'
  | 'ISO-IR 203'
  | 'ISO-IR 87'
  | 'ISO-IR 159'
  | 'ISO-IR 149'
  | 'ISO-IR 58';

export interface CodeElement {
  readonly id: CodeElementId;
  readonly area: 'G0' | 'G1';
  /** Bytes per character: 2 for the 94x94 sets (JIS X 0208/0212, KS X 1001, GB 2312). */
  readonly bytesPerChar: 1 | 2;
  /** The escape sequence that designates this element (ESC included). */
  readonly escape: Uint8Array;
  readonly description: string;
}

const ESC = 0x1b;

function element(id: CodeElementId, area: 'G0' | 'G1', bytesPerChar: 1 | 2, escape: string, description: string): CodeElement {
  const bytes = Uint8Array.from([ESC, ...Array.from(escape, (c) => c.charCodeAt(0))]);
  return Object.freeze({ id, area, bytesPerChar, escape: bytes, description });
}

// PS3.3 Table C.12-3 (single-byte with code extensions) and Table C.12-4 (multi-byte).
// Escape sequences written after ESC: "(" designates a 94-set to G0, "-" a 96-set to G1,
// ")" a 94-set to G1, "$" / "$(" a 94x94 set to G0 and "$)" a 94x94 set to G1 (ISO/IEC 2022 §13).
export const CODE_ELEMENTS: Readonly<Record<CodeElementId, CodeElement>> = Object.freeze({
  'ISO-IR 6': element('ISO-IR 6', 'G0', 1, '(B', 'ISO 646 (ASCII)'),
  'ISO-IR 14': element('ISO-IR 14', 'G0', 1, '(J', 'JIS X 0201 Romaji'),
  'ISO-IR 13': element('ISO-IR 13', 'G1', 1, ')I', 'JIS X 0201 Katakana'),
  'ISO-IR 100': element('ISO-IR 100', 'G1', 1, '-A', 'ISO 8859-1 Latin alphabet No. 1'),
  'ISO-IR 101': element('ISO-IR 101', 'G1', 1, '-B', 'ISO 8859-2 Latin alphabet No. 2'),
  'ISO-IR 109': element('ISO-IR 109', 'G1', 1, '-C', 'ISO 8859-3 Latin alphabet No. 3'),
  'ISO-IR 110': element('ISO-IR 110', 'G1', 1, '-D', 'ISO 8859-4 Latin alphabet No. 4'),
  'ISO-IR 144': element('ISO-IR 144', 'G1', 1, '-L', 'ISO 8859-5 Cyrillic'),
  'ISO-IR 127': element('ISO-IR 127', 'G1', 1, '-G', 'ISO 8859-6 Arabic'),
  'ISO-IR 126': element('ISO-IR 126', 'G1', 1, '-F', 'ISO 8859-7 Greek'),
  'ISO-IR 138': element('ISO-IR 138', 'G1', 1, '-H', 'ISO 8859-8 Hebrew'),
  'ISO-IR 148': element('ISO-IR 148', 'G1', 1, '-M', 'ISO 8859-9 Latin alphabet No. 5'),
  'ISO-IR 203': element('ISO-IR 203', 'G1', 1, '-b', 'ISO 8859-15 Latin alphabet No. 9'),
  'ISO-IR 166': element('ISO-IR 166', 'G1', 1, '-T', 'TIS 620-2533 Thai'),
  'ISO-IR 87': element('ISO-IR 87', 'G0', 2, '$B', 'JIS X 0208 Kanji'),
  'ISO-IR 159': element('ISO-IR 159', 'G0', 2, '$(D', 'JIS X 0212 Supplementary Kanji'),
  'ISO-IR 149': element('ISO-IR 149', 'G1', 2, '$)C', 'KS X 1001 Hangul and Hanja'),
  'ISO-IR 58': element('ISO-IR 58', 'G1', 2, '$)A', 'GB 2312 Simplified Chinese'),
});

/**
 * Escape sequences recognised when decoding, longest first. Besides the standard's own, ESC $ @
 * (JIS C 6226-1978, the predecessor of JIS X 0208) is read as ISO-IR 87, as ISO-2022-JP writers
 * sometimes emit it.
 */
const RECOGNISED: readonly (readonly [Uint8Array, CodeElement])[] = [
  ...Object.values(CODE_ELEMENTS).map((e) => [e.escape, e] as const),
  [Uint8Array.of(ESC, 0x24, 0x40), CODE_ELEMENTS['ISO-IR 87']] as const,
].sort((a, b) => b[0].length - a[0].length);

/**
 * The code element designated by the escape sequence at `offset` (which holds ESC) and the length
 * of that sequence, or undefined when the sequence is not one of the above.
 */
export function matchEscapeSequence(bytes: Uint8Array, offset: number): { element: CodeElement; length: number } | undefined {
  for (const [seq, element] of RECOGNISED) {
    if (offset + seq.length > bytes.length) continue;
    let k = 1;
    while (k < seq.length && bytes[offset + k] === seq[k]) k++;
    if (k === seq.length) return { element, length: seq.length };
  }
  return undefined;
}
