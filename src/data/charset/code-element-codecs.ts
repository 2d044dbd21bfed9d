/**
 * Bytes <-> text for each code element (see code-elements.ts).
 *
 * Decoding works on runs: a run of bytes whose GL half is ASCII (ISO-IR 6, or ISO-IR 14 which is
 * read the same way) and whose GR half is one G1 element is handed whole to one native decoder
 * (Buffer latin1, or Node's TextDecoder, backed by ICU) wherever that decoder's table is exactly
 * the ISO table; iconv-lite covers the rest (docs/adr/0003-iconv-lite.md). The tables agree with
 * CPython's codecs (what pydicom uses) but for the cases test/data/charset/code-elements.test.ts
 * lists.
 *
 * Encoding uses reverse tables built once, lazily, by decoding every code of the element with the
 * same decoder, so that decode(encode(s)) === s holds by construction.
 */
import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import type Iconv from 'iconv-lite';
import type { CodeElement, CodeElementId } from './code-elements.js';

const REPLACEMENT = 0xfffd;

export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

// TextDecoder instances are stateless between decode() calls without {stream: true}; these
// caches hold immutable decoders and tables only, never configuration.
const textDecoders = new Map<string, TextDecoder>();
function textDecoder(label: string): TextDecoder {
  let d = textDecoders.get(label);
  if (!d) {
    d = new TextDecoder(label);
    textDecoders.set(label, d);
  }
  return d;
}

let iconvModule: typeof Iconv | undefined;

/**
 * iconv-lite, loaded on first use: only a few character sets need it, and loading it costs ~10 ms
 * at a process's start (`conduit store` decodes no text).
 */
export function iconvLite(): typeof Iconv {
  return (iconvModule ??= createRequire(import.meta.url)('iconv-lite') as typeof Iconv);
}

type IconvDecoder = ReturnType<typeof Iconv.getDecoder>;
const iconvDecoders = new Map<string, IconvDecoder>();

/** iconv-lite with one decoder kept per encoding: end() leaves it ready for the next value. */
export function iconvDecode(encoding: 'cp949' | 'gbk' | 'gb18030' | 'iso88599' | 'iso885911', bytes: Uint8Array): string {
  let d = iconvDecoders.get(encoding);
  if (!d) {
    d = iconvLite().getDecoder(encoding);
    iconvDecoders.set(encoding, d);
  }
  const head = d.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const tail = d.end();
  return tail ? head + tail : head;
}

/** TextDecoder labels whose table equals the ISO 8859 part, C1 range (0x80-0x9F) included. */
const NATIVE_96_SETS: Partial<Record<CodeElementId, string>> = {
  'ISO-IR 101': 'iso-8859-2',
  'ISO-IR 109': 'iso-8859-3',
  'ISO-IR 110': 'iso-8859-4',
  'ISO-IR 144': 'iso-8859-5',
  'ISO-IR 127': 'iso-8859-6',
  'ISO-IR 126': 'iso-8859-7',
  'ISO-IR 138': 'iso-8859-8',
  'ISO-IR 203': 'iso-8859-15',
};

/**
 * ISO 8859-9 and ISO 8859-11 (TIS 620 plus NO-BREAK SPACE at 0xA0) have no WHATWG decoder of
 * their own: the labels map to windows-1254 and windows-874, which agree with them on the defined
 * codes of 0x00-0x7F and 0xA0-0xFF but put graphic characters on the C1 range (and Node's
 * windows-874 drops the undefined ones). The native decoder is used unless such a byte is present
 * (never in valid DICOM text); then iconv-lite decodes the ISO table.
 */
const WINDOWS_SUPERSETS: Partial<Record<CodeElementId, readonly [string, 'iso88599' | 'iso885911', RegExp]>> = {
  'ISO-IR 148': ['windows-1254', 'iso88599', /[\x80-\x9f]/],
  'ISO-IR 166': ['windows-874', 'iso885911', /[\x80-\x9f\xdb-\xde\xfc-\xff]/],
};

// Bytes where Node's Shift_JIS decoder (ICU ibm-943) is not JIS X 0201: lead bytes of double-byte
// characters, and the control codes it swaps (0x1A, 0x1C, 0x7F).
const NOT_JIS_X_0201 = /[\x1a\x1c\x7f\x80-\xa0\xe0-\xff]/;

/**
 * Text of bytes in an ISO 8-bit code with ASCII in GL and `g1` in GR (null: no G1 designated,
 * where high bytes are read as ISO 8859-1, as most toolkits do for the default repertoire).
 */
export function decodeEightBit(g1: CodeElement | null, bytes: Uint8Array): string {
  if (g1 === null) return latin1(bytes);
  const id = g1.id;
  if (id === 'ISO-IR 100') return latin1(bytes);
  const native = NATIVE_96_SETS[id];
  if (native) return textDecoder(native).decode(bytes);
  const superset = WINDOWS_SUPERSETS[id];
  if (superset) {
    return superset[2].test(latin1(bytes)) ? iconvDecode(superset[1], bytes) : textDecoder(superset[0]).decode(bytes);
  }
  switch (id) {
    case 'ISO-IR 13':
      return decodeJisX0201(bytes);
    case 'ISO-IR 149':
      // CP949 is a superset of EUC-KR: files that declare ISO 2022 IR 149 but hold CP949 (Unified
      // Hangul Code) still decode; its trail bytes never include 0x5C, 0x5E or 0x3D. (Node's ICU
      // 'euc-kr' decoder is plain EUC-KR and lacks KS X 1001:1998's euro and registered signs.)
      return iconvDecode('cp949', bytes);
    case 'ISO-IR 58':
      // The same decoder as the GBK Defined Term, so that GB 2312 text reads the same under both.
      return iconvDecode('gbk', bytes);
    default:
      throw new Error(`code element ${id} is not a G1 element`);
  }
}

/** ASCII (for ISO-IR 14 Romaji, see below) plus half-width katakana 0xA1-0xDF. */
function decodeJisX0201(bytes: Uint8Array): string {
  const text = latin1(bytes);
  if (!NOT_JIS_X_0201.test(text)) return textDecoder('shift_jis').decode(bytes);
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const b = text.charCodeAt(i);
    if (b < 0x80) out += text[i];
    else if (b >= 0xa1 && b <= 0xdf) out += String.fromCharCode(0xff61 + (b - 0xa1));
    else out += '\ufffd';
  }
  return out;
}

// WHATWG's jis0208 index follows Windows-31J for six codes; JIS X 0208 itself (and CPython's
// iso2022_jp, glibc's ISO-2022-JP) map them as below.
const JIS_X_0208_FIXES: Readonly<Record<string, string>> = {
  '\uff5e': '\u301c', // 0x2141 WAVE DASH
  '\u2225': '\u2016', // 0x2142 DOUBLE VERTICAL LINE
  '\uff0d': '\u2212', // 0x215D MINUS SIGN
  '\uffe0': '\u00a2', // 0x2171 CENT SIGN
  '\uffe1': '\u00a3', // 0x2172 POUND SIGN
  '\uffe2': '\u00ac', // 0x224C NOT SIGN
};
const JIS_X_0208_FIX_PATTERN = /[\uff5e\u2225\uff0d\uffe0\uffe1\uffe2]/g;

/**
 * Text of JIS X 0208 (ISO-IR 87) or JIS X 0212 (ISO-IR 159) characters given in EUC-JP form
 * (each byte of a pair with its high bit set, JIS X 0212 pairs prefixed by 0x8F, katakana from a
 * G1 ISO-IR 13 as 0x8E xx, ASCII as is).
 */
export function decodeEucJp(euc: Uint8Array, supplementary: boolean): string {
  const text = textDecoder('euc-jp').decode(euc);
  return supplementary ? text : text.replace(JIS_X_0208_FIX_PATTERN, (c) => JIS_X_0208_FIXES[c]!);
}

// ---- encoding tables ----

/** Code point -> code: a byte for single-byte elements, (first << 8 | second) for 94x94 ones. */
export type EncodeTable = ReadonlyMap<number, number>;

const encodeTables = new Map<CodeElementId, EncodeTable>();

export function encodeTable(el: CodeElement): EncodeTable {
  let t = encodeTables.get(el.id);
  if (!t) {
    t = buildEncodeTable(el);
    encodeTables.set(el.id, t);
  }
  return t;
}

const isPrivateUse = (cp: number): boolean => cp >= 0xe000 && cp <= 0xf8ff;

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

// Rows (first byte, GL form) of each 94x94 set that the standards define; vendor extension rows that
// the lenient decoders also accept (NEC and IBM rows of Windows-31J, user-defined areas) are not
// produced by the encoder.
const ROWS: Partial<Record<CodeElementId, readonly number[]>> = {
  'ISO-IR 87': [...range(0x21, 0x28), ...range(0x30, 0x74)],
  'ISO-IR 159': [0x22, 0x26, 0x27, 0x29, 0x2a, 0x2b, ...range(0x30, 0x6d)],
  'ISO-IR 149': range(0x21, 0x7d),
  'ISO-IR 58': [...range(0x21, 0x29), ...range(0x30, 0x77)],
};

/**
 * Codes inside those rows that GBK and GB18030 filled but GB 2312 leaves empty: small roman
 * numerals and the euro sign in row 2, vertical presentation forms in row 6, pinyin letters in row 8.
 */
function isExtension(el: CodeElement, row: number, col: number): boolean {
  if (el.id !== 'ISO-IR 58') return false;
  return (row === 0x22 && ((col >= 0x21 && col <= 0x2a) || col === 0x63))
    || (row === 0x26 && col >= 0x60 && col <= 0x75)
    || (row === 0x28 && col >= 0x3b && col <= 0x40);
}

function buildEncodeTable(el: CodeElement): Map<number, number> {
  const table = new Map<number, number>();
  const add = (cp: number, code: number): void => {
    if (cp !== REPLACEMENT && !isPrivateUse(cp) && !table.has(cp)) table.set(cp, code);
  };
  if (el.id === 'ISO-IR 6' || el.id === 'ISO-IR 14') {
    for (let b = 0; b < 0x80; b++) add(b, b);
    return table;
  }
  if (el.bytesPerChar === 1) {
    for (let b = 0x80; b < 0x100; b++) {
      const s = decodeEightBit(el, Uint8Array.of(b));
      if (s.length === 1) add(s.charCodeAt(0), b);
    }
    return table;
  }
  // 94x94: decode a whole row at once, characters separated by spaces (no pair decodes to one).
  for (const row of ROWS[el.id] ?? []) {
    const prefix = el.id === 'ISO-IR 159' ? [0x8f] : [];
    const bytes: number[] = [];
    for (let col = 0x21; col <= 0x7e; col++) bytes.push(...prefix, row | 0x80, col | 0x80, 0x20);
    const buf = Uint8Array.from(bytes);
    const text = el.area === 'G0' ? decodeEucJp(buf, el.id === 'ISO-IR 159') : decodeEightBit(el, buf);
    const cells = text.split(' ');
    for (let col = 0x21; col <= 0x7e; col++) {
      const cell = cells[col - 0x21];
      if (cell === undefined || cell.length !== 1 || isExtension(el, row, col)) continue;
      const code = el.area === 'G0' ? (row << 8) | col : ((row | 0x80) << 8) | (col | 0x80);
      add(cell.charCodeAt(0), code);
    }
  }
  return table;
}
