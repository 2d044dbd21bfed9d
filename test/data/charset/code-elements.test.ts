/**
 * The mapping tables behind each code element: native decoders equal the ISO tables, encode tables
 * invert the decoders, and the tables agree with CPython's codecs (what pydicom decodes with)
 * except where listed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import iconv from 'iconv-lite';
import { CODE_ELEMENTS, type CodeElement, type CodeElementId } from '../../../src/data/charset/code-elements.js';
import { decodeEightBit, decodeEucJp, encodeTable } from '../../../src/data/charset/code-element-codecs.js';
import { PYTHON, peer } from '../../helpers/peers.js';

const SINGLE_BYTE: Partial<Record<CodeElementId, [iconvName: string, pythonName: string]>> = {
  'ISO-IR 100': ['iso88591', 'latin_1'],
  'ISO-IR 101': ['iso88592', 'iso8859_2'],
  'ISO-IR 109': ['iso88593', 'iso8859_3'],
  'ISO-IR 110': ['iso88594', 'iso8859_4'],
  'ISO-IR 144': ['iso88595', 'iso8859_5'],
  'ISO-IR 127': ['iso88596', 'iso8859_6'],
  'ISO-IR 126': ['iso88597', 'iso8859_7'],
  'ISO-IR 138': ['iso88598', 'iso8859_8'],
  'ISO-IR 148': ['iso88599', 'iso8859_9'],
  'ISO-IR 203': ['iso885915', 'iso8859_15'],
  'ISO-IR 166': ['iso885911', 'tis_620'],
};

/** Text of the code `code` of element `el`, through the same paths the decoder takes. */
function decodeCode(el: CodeElement, code: number): string {
  if (el.bytesPerChar === 1) return decodeEightBit(el.area === 'G1' ? el : null, Uint8Array.of(code));
  if (el.area === 'G0') {
    const pair = [(code >> 8) | 0x80, (code & 0xff) | 0x80];
    return decodeEucJp(Uint8Array.from(el.id === 'ISO-IR 159' ? [0x8f, ...pair] : pair), el.id === 'ISO-IR 159');
  }
  return decodeEightBit(el, Uint8Array.of(code >> 8, code & 0xff));
}

describe('code element tables', () => {
  test('native decoders of the ISO 8859 sets equal the ISO tables, C1 range included', () => {
    for (const [id, [name]] of Object.entries(SINGLE_BYTE)) {
      const el = CODE_ELEMENTS[id as CodeElementId];
      for (let b = 0; b < 256; b++) {
        const want = iconv.decode(Buffer.of(b), name);
        assert.equal(decodeEightBit(el, Uint8Array.of(b)), want, `${id} byte ${b.toString(16)}`);
      }
      // and a whole run at once, through the fast path
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      assert.equal(decodeEightBit(el, all), iconv.decode(Buffer.from(all), name), id);
    }
  });

  test('JIS X 0201: ASCII in GL, half-width katakana at 0xA1-0xDF, through either path', () => {
    const el = CODE_ELEMENTS['ISO-IR 13'];
    const expected = (b: number): string =>
      b < 0x80 ? String.fromCharCode(b) : b >= 0xa1 && b <= 0xdf ? String.fromCharCode(0xff61 + b - 0xa1) : '\ufffd';
    for (let b = 0; b < 256; b++) assert.equal(decodeEightBit(el, Uint8Array.of(b)), expected(b), `byte ${b.toString(16)}`);
    const valid = Uint8Array.from([...Array(0x80).keys(), ...Array.from({ length: 0xdf - 0xa1 + 1 }, (_, i) => 0xa1 + i)]);
    assert.equal(decodeEightBit(el, valid), Array.from(valid, expected).join(''));
    const withoutSwapped = valid.filter((b) => b !== 0x1a && b !== 0x1c && b !== 0x7f);
    assert.equal(decodeEightBit(el, withoutSwapped), Array.from(withoutSwapped, expected).join(''), 'native path');
  });

  test('every encode table inverts its decoder', () => {
    for (const el of Object.values(CODE_ELEMENTS)) {
      const table = encodeTable(el);
      assert.ok(table.size > 0, el.id);
      for (const [cp, code] of table) {
        assert.equal(decodeCode(el, code), String.fromCodePoint(cp), `${el.id} U+${cp.toString(16)} -> ${code.toString(16)}`);
      }
    }
  });

  test('sizes of the 94x94 sets', () => {
    // JIS X 0208-1990: 6879 characters; JIS X 0212: 6067; KS X 1001: 8224 (+ € ® of 1998 and ㉾ of 2002);
    // GB 2312: 7445 (the GBK decoder adds a few GB18030 symbols in rows 1-9).
    assert.equal(encodeTable(CODE_ELEMENTS['ISO-IR 87']).size, 6879);
    assert.equal(encodeTable(CODE_ELEMENTS['ISO-IR 159']).size, 6067);
    assert.ok(encodeTable(CODE_ELEMENTS['ISO-IR 149']).size >= 8224);
    assert.ok(encodeTable(CODE_ELEMENTS['ISO-IR 58']).size >= 7445);
  });
});

/** CPython's decoding of every code of the sets, as JSON: {name: {code(hex): text}}. */
const PYTHON_TABLES = String.raw`
import json
out = {}
def dec(b, enc):
    try:
        return b.decode(enc)
    except Exception:
        return None
for name in %SINGLE%:
    out[name] = {('%02x' % b): dec(bytes([b]), name) for b in range(256)}
def pairs(f):
    r = {}
    for a in range(0x21, 0x7f):
        for b in range(0x21, 0x7f):
            s = f(a, b)
            if s is not None:
                r['%02x%02x' % (a, b)] = s
    return r
out['ISO-IR 87'] = pairs(lambda a, b: dec(b'\x1b$B' + bytes([a, b]) + b'\x1b(B', 'iso2022_jp'))
out['ISO-IR 159'] = pairs(lambda a, b: dec(b'\x1b$(D' + bytes([a, b]) + b'\x1b(B', 'iso2022_jp_2'))
out['ISO-IR 149'] = pairs(lambda a, b: dec(bytes([a | 0x80, b | 0x80]), 'euc_kr'))
out['ISO-IR 58'] = pairs(lambda a, b: dec(bytes([a | 0x80, b | 0x80]), 'gb2312'))
print(json.dumps(out))
`;

/**
 * Where we knowingly differ from CPython. ISO-IR 166 is registered as a 96-set: 0xA0 is NO-BREAK
 * SPACE (ISO 8859-11), which CPython's tis_620 leaves undefined. GB 2312 0xA1A4 and 0xA1AA: the
 * GBK/GB18030 mapping (U+00B7, U+2014) rather than the original GB2312.TXT one (U+30FB, U+2015), so
 * ISO 2022 IR 58 reads like GBK and GB18030. JIS X 0212 0x2237: U+FF5E (ICU) rather than U+007E.
 */
const KNOWN: Readonly<Record<string, string>> = {
  'ISO-IR 166 a0': '\u00a0',
  'ISO-IR 58 2124': '\u00b7',
  'ISO-IR 58 212a': '\u2014',
  'ISO-IR 159 2237': '\uff5e',
  // KS X 1001 HANGUL FILLER, which CPython reserves as the start of an 8-byte composition sequence.
  'ISO-IR 149 2454': '\u3164',
};

describe('agreement with CPython codecs (pydicom)', () => {
  test('single-byte and 94x94 sets', { skip: peer('pydicom') }, () => {
    const names = Object.values(SINGLE_BYTE).map(([, py]) => py);
    const script = PYTHON_TABLES.replace('%SINGLE%', JSON.stringify(names));
    const r = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    assert.equal(r.status, 0, r.stderr);
    const py = JSON.parse(r.stdout) as Record<string, Record<string, string | null>>;
    const diffs: string[] = [];
    for (const [id, [, name]] of Object.entries(SINGLE_BYTE)) {
      const el = CODE_ELEMENTS[id as CodeElementId];
      for (let b = 0x80; b < 0x100; b++) {
        const key = b.toString(16).padStart(2, '0');
        const want = KNOWN[`${id} ${key}`] ?? py[name]![key] ?? '\ufffd';
        const got = decodeEightBit(el, Uint8Array.of(b));
        if (got !== want) diffs.push(`${id} ${key}: ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
      }
    }
    for (const id of ['ISO-IR 87', 'ISO-IR 159', 'ISO-IR 149', 'ISO-IR 58'] as const) {
      const el = CODE_ELEMENTS[id];
      const table = encodeTable(el);
      // Every character CPython knows decodes the same and is encodable; vendor extensions that
      // CPython rejects are decoded leniently but never written.
      for (const [key, want] of Object.entries(py[id]!)) {
        const code = parseInt(key, 16);
        const gr = el.area === 'G1' ? code | 0x8080 : code;
        const expected = KNOWN[`${id} ${key}`] ?? want!;
        const got = decodeCode(el, gr);
        if (got !== expected) diffs.push(`${id} ${key}: ${JSON.stringify(got)} != ${JSON.stringify(expected)}`);
        else if (table.get(expected.codePointAt(0)!) === undefined) diffs.push(`${id} ${key}: ${JSON.stringify(expected)} not encodable`);
      }
      for (const [cp, code] of table) {
        const key = (el.area === 'G1' ? code & 0x7f7f : code).toString(16);
        if (!(key in py[id]!) && !(`${id} ${key}` in KNOWN)) diffs.push(`${id} ${key}: U+${cp.toString(16)} written but unknown to CPython`);
      }
    }
    assert.deepEqual(diffs, []);
  });
});
