/**
 * Code extensions: escape sequences, the return to the initial code elements at delimiters
 * (PS3.5 §6.1.2.5.3), multi-byte characters holding delimiter bytes, lenient reading.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DicomError } from '../../../src/core/dicom-error.js';
import { SpecificCharacterSet } from '../../../src/data/charset/index.js';

const ESC = 0x1b;
const JIS = [ESC, 0x24, 0x42]; // ESC $ B
const ASCII = [ESC, 0x28, 0x42]; // ESC ( B
const CYRILLIC = [ESC, 0x2d, 0x4c]; // ESC - L
const LATIN1 = [ESC, 0x2d, 0x41]; // ESC - A
const KSC = [ESC, 0x24, 0x29, 0x43]; // ESC $ ) C
const CYRILLIC_I = 0xb8; // in ISO-IR 144

function b(...parts: (string | number | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'string') out.push(...Buffer.from(p, 'latin1'));
    else if (typeof p === 'number') out.push(p);
    else out.push(...p);
  }
  return Uint8Array.from(out);
}
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');

const japanese = SpecificCharacterSet.from(['', 'ISO 2022 IR 87']);
const latinCyrillic = SpecificCharacterSet.from(['ISO 2022 IR 100', 'ISO 2022 IR 144']);

describe('decoding: return to the initial code elements', () => {
  // 0xE9 is é in ISO-IR 100 (Value 1's G1) and щ in ISO-IR 144.
  test("PN: at '^' and '='", () => {
    assert.equal(latinCyrillic.decode(b(CYRILLIC, CYRILLIC_I, '^', 0xe9), 'PN'), 'И^é');
    assert.equal(latinCyrillic.decode(b(CYRILLIC, CYRILLIC_I, '=', 0xe9), 'PN'), 'И=é');
    assert.equal(latinCyrillic.decode(b(CYRILLIC, CYRILLIC_I, '^', 0xe9), 'LO'), 'И^щ', "'^' is no delimiter in LO");
  });

  test('at the backslash between values, except in the single-valued LT, ST, UT', () => {
    assert.equal(latinCyrillic.decode(b(CYRILLIC, CYRILLIC_I, '\\', 0xe9), 'LO'), 'И\\é');
    assert.equal(latinCyrillic.decode(b(CYRILLIC, CYRILLIC_I, '\\', 0xe9), 'SH'), 'И\\é');
    assert.equal(latinCyrillic.decode(b(CYRILLIC, CYRILLIC_I, '\\', 0xe9), 'PN'), 'И\\é');
    for (const vr of ['LT', 'ST', 'UT'] as const) {
      assert.equal(latinCyrillic.decode(b(CYRILLIC, CYRILLIC_I, '\\', 0xe9), vr), 'И\\щ', vr);
    }
  });

  test('at CR, LF, FF and TAB', () => {
    for (const c of ['\r', '\n', '\f', '\t']) {
      assert.equal(latinCyrillic.decode(b(CYRILLIC, CYRILLIC_I, c, 0xe9), 'LT'), `И${c}é`, JSON.stringify(c));
    }
    assert.equal(latinCyrillic.decode(b(CYRILLIC, CYRILLIC_I, ' ', 0xe9), 'LT'), 'И щ', 'space is no delimiter');
  });

  test('G0 too: JIS X 0208 ends at a line end', () => {
    assert.equal(japanese.decode(b(JIS, 0x3b, 0x33, '\r\nAB'), 'LT'), '山\r\nAB');
  });
});

describe('decoding: delimiter bytes inside multi-byte characters', () => {
  // JIS X 0208: ぼ = 0x24 0x5C, ま = 0x24 0x5E, そ = 0x24 0x3D.
  test('0x5C, 0x5E, 0x3D as the second byte of a JIS X 0208 character', () => {
    assert.equal(japanese.decode(b(JIS, 0x24, 0x5c, ASCII), 'LO'), 'ぼ');
    assert.equal(japanese.decode(b(JIS, 0x24, 0x5c, ASCII, '\\', JIS, 0x24, 0x5e, ASCII), 'LO'), 'ぼ\\ま');
    assert.equal(japanese.decode(b(JIS, 0x24, 0x5e, 0x24, 0x3d, ASCII, '^', JIS, 0x24, 0x5c, ASCII), 'PN'), 'まそ^ぼ');
  });

  test('and encoding them back', () => {
    assert.equal(hex(japanese.encode('ぼ\\ま', 'LO')), hex(b(JIS, 0x24, 0x5c, ASCII, '\\', JIS, 0x24, 0x5e, ASCII)));
    assert.equal(hex(japanese.encode('まそ^ぼ', 'PN')), hex(b(JIS, 0x24, 0x5e, 0x24, 0x3d, ASCII, '^', JIS, 0x24, 0x5c, ASCII)));
  });

  test('0x5C as the trail byte of GBK and GB18030', () => {
    // 乗 is 0x81 0x5C in GBK and GB18030.
    for (const term of ['GBK', 'GB18030']) {
      const cs = SpecificCharacterSet.from([term]);
      assert.equal(cs.decode(b(0x81, 0x5c, '\\A'), 'LO'), '乗\\A', term);
      assert.equal(hex(cs.encode('乗\\A', 'LO')), hex(b(0x81, 0x5c, '\\A')), term);
    }
  });
});

describe('decoding: lenient reading', () => {
  test('an unknown escape sequence is kept as text', () => {
    assert.equal(japanese.decode(b('A', ESC, '(ZB'), 'LO'), 'A\x1b(ZB');
  });

  test('ESC is an ordinary character in UTF-8', () => {
    assert.equal(SpecificCharacterSet.from(['ISO_IR 192']).decode(b('A', ASCII, 'B'), 'LO'), 'A\x1b(BB');
  });

  test('escape sequences in a set declared without code extensions are still honoured', () => {
    assert.equal(SpecificCharacterSet.from(['ISO_IR 100']).decode(b(0xe9, CYRILLIC, CYRILLIC_I, '\\', 0xe9), 'LO'), 'é' + 'И' + '\\é');
  });

  test("a lone byte before an escape sequence is read as ASCII (a writer that forgot ESC ( B before '^')", () => {
    assert.equal(japanese.decode(b(JIS, 0x3b, 0x33, 0x45, 0x44, '^', JIS, 0x42, 0x40, 0x4f, 0x3a, ASCII), 'PN'), '山田^太郎');
  });

  test('CP949 (Unified Hangul Code) under ISO 2022 IR 149', () => {
    const korean = SpecificCharacterSet.from(['', 'ISO 2022 IR 149']);
    assert.equal(korean.decode(b(KSC, 0x8c, 0x63), 'PN'), '똠');
    // A lone lead byte cannot swallow the delimiter after it.
    assert.equal(korean.decode(b(KSC, 0xb1, '^A'), 'PN'), '\ufffd^A');
  });

  test('a view into a larger buffer', () => {
    const whole = b('xx', JIS, 0x3b, 0x33, ASCII, 'yy');
    assert.equal(japanese.decode(whole.subarray(2, whole.length - 2), 'LO'), '山');
  });

  test('high bytes with no G1 designated read as ISO 8859-1', () => {
    assert.equal(japanese.decode(b('\xe9', JIS, 0x3b, 0x33, ASCII), 'LO'), 'é山');
  });
});

describe('encoding', () => {
  test('G1 of Value 1 is designated again before a delimiter and at the end', () => {
    assert.equal(hex(latinCyrillic.encode('Иван^é', 'PN')), hex(b(CYRILLIC, 0xb8, 0xd2, 0xd0, 0xdd, LATIN1, '^', 0xe9)));
    assert.equal(hex(latinCyrillic.encode('éИ', 'LO')), hex(b(0xe9, CYRILLIC, 0xb8, LATIN1)));
  });

  test('a G1 of none needs no escape sequence: the next use designates again (Annex I)', () => {
    const korean = SpecificCharacterSet.from(['', 'ISO 2022 IR 149']);
    assert.equal(hex(korean.encode('김^김', 'PN')), hex(b(KSC, 0xb1, 0xe8, '^', KSC, 0xb1, 0xe8)));
    assert.equal(hex(korean.encode('김 김', 'PN')), hex(b(KSC, 0xb1, 0xe8, ' ', 0xb1, 0xe8)));
  });

  test('space and control characters leave JIS X 0208 for ASCII', () => {
    assert.equal(hex(japanese.encode('山 田', 'LO')), hex(b(JIS, 0x3b, 0x33, ASCII, ' ', JIS, 0x45, 0x44, ASCII)));
    assert.equal(hex(japanese.encode('山\r\n田', 'LT')), hex(b(JIS, 0x3b, 0x33, ASCII, '\r\n', JIS, 0x45, 0x44, ASCII)));
  });

  test('JIS X 0212 next to JIS X 0208', () => {
    const cs = SpecificCharacterSet.from(['', 'ISO 2022 IR 87', 'ISO 2022 IR 159']);
    const bytes = b(JIS, 0x3b, 0x33, [ESC, 0x24, 0x28, 0x44], 0x30, 0x21, ASCII);
    assert.equal(hex(cs.encode('山丂', 'LO')), hex(bytes));
    assert.equal(cs.decode(bytes, 'LO'), '山丂');
  });

  test('G1 sets switched within a value', () => {
    const cs = SpecificCharacterSet.from(['ISO 2022 IR 100', 'ISO 2022 IR 126']);
    const bytes = b(0xe9, ' ', [ESC, 0x2d, 0x46], 0xe1, ' ', LATIN1, 0xe9);
    assert.equal(hex(cs.encode('é α é', 'LO')), hex(bytes));
    assert.equal(cs.decode(bytes, 'LO'), 'é α é');
  });

  test('single-byte sets without code extensions', () => {
    const cases: [string, string, number[]][] = [
      ['ISO_IR 100', 'Äneas^Rüdiger', [0xc4, 0x6e, 0x65, 0x61, 0x73, 0x5e, 0x52, 0xfc, 0x64, 0x69, 0x67, 0x65, 0x72]],
      ['ISO_IR 101', 'Łódź', [0xa3, 0xf3, 0x64, 0xbc]],
      ['ISO_IR 148', 'Ğİ', [0xd0, 0xdd]],
      ['ISO_IR 203', '€', [0xa4]],
      ['ISO_IR 166', 'ไทย', [0xe4, 0xb7, 0xc2]],
      ['ISO_IR 13', 'ﾔﾏﾀﾞ', [0xd4, 0xcf, 0xc0, 0xde]],
      ['ISO_IR 127', 'قباني', [0xe2, 0xc8, 0xc7, 0xe6, 0xea]],
      ['ISO_IR 138', 'שרון', [0xf9, 0xf8, 0xe5, 0xef]],
    ];
    for (const [term, text, bytes] of cases) {
      const cs = SpecificCharacterSet.from([term]);
      assert.equal(hex(cs.encode(text, 'PN')), hex(Uint8Array.from(bytes)), term);
      assert.equal(cs.decode(Uint8Array.from(bytes), 'PN'), text, term);
    }
  });

  test('C1 bytes in ISO 8859-9 and TIS 620 read as C1 controls, not as Windows characters', () => {
    assert.equal(SpecificCharacterSet.from(['ISO_IR 148']).decode(b(0x80, 0xd0), 'LO'), '\x80Ğ');
    assert.equal(SpecificCharacterSet.from(['ISO_IR 166']).decode(b(0x85, 0xa1), 'LO'), '\x85ก');
    assert.equal(SpecificCharacterSet.from(['ISO_IR 13']).decode(b(0x80, 0xb1, 0x5c), 'LO'), '\ufffdｱ\\');
  });

  const throwsCharset = (f: () => unknown, pattern: RegExp): void => {
    assert.throws(f, (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_CHARSET' && pattern.test(e.message));
  };

  test('a character no declared set holds: DicomError ERR_DICOM_CHARSET', () => {
    throwsCharset(() => SpecificCharacterSet.from(['ISO_IR 100']).encode('Ab山', 'PN'), /U\+5C71 "山" at index 2/);
    throwsCharset(() => SpecificCharacterSet.DEFAULT.encode('é', 'LO'), /U\+00E9/);
    throwsCharset(() => japanese.encode('한', 'PN'), /U\+D55C/);
    throwsCharset(() => SpecificCharacterSet.from(['GBK']).encode('a😀', 'LO'), /U\+1F600 .* at index 1/);
    throwsCharset(() => SpecificCharacterSet.from(['ISO_IR 192']).encode('a\ud800b', 'LO'), /U\+D800/);
    throwsCharset(() => SpecificCharacterSet.from(['GB18030']).encode('\udc00', 'LO'), /U\+DC00/);
  });

  test('GB18030 holds every code point, four-byte sequences included', () => {
    const cs = SpecificCharacterSet.from(['GB18030']);
    const text = 'a😀€ḿ';
    assert.equal(cs.decode(cs.encode(text, 'LO'), 'LO'), text);
    assert.equal(hex(cs.encode('😀', 'LO')), '9439fc36');
  });
});
