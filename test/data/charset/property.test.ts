/**
 * Property-based round trips (fast-check): decode(encode(s)) === s over each character set's whole
 * repertoire, with delimiters mixed in, and the reset rule of PS3.5 §6.1.2.5.3 on the bytes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CODE_ELEMENTS, SpecificCharacterSet, type CodeElementId } from '../../../src/data/charset/index.js';
import { encodeTable } from '../../../src/data/charset/code-element-codecs.js';
import type { VR } from '../../../src/data/vr.js';

const VRS: VR[] = ['PN', 'LO', 'SH', 'UC', 'LT', 'ST', 'UT'];
const DELIMITERS = ['\\', '^', '=', '\r', '\n', '\t', '\f', ' '];
const RUNS = { numRuns: 300 };

/** Strings over the characters the given code elements hold, delimiters and spaces mixed in. */
function textOver(ids: readonly CodeElementId[]): fc.Arbitrary<string> {
  const chars = new Set<string>(DELIMITERS);
  for (const id of ids) {
    for (const cp of encodeTable(CODE_ELEMENTS[id]).keys()) if (cp !== 0x1b) chars.add(String.fromCodePoint(cp));
  }
  const all = [...chars];
  // Weight delimiters so that they are frequent whatever the size of the repertoire.
  return fc.array(fc.oneof({ arbitrary: fc.constantFrom(...all), weight: 4 }, { arbitrary: fc.constantFrom(...DELIMITERS), weight: 1 }), { maxLength: 40 })
    .map((a) => a.join(''));
}

const ISO_2022_CASES: [terms: string[], elements: CodeElementId[]][] = [
  [['', 'ISO 2022 IR 87'], ['ISO-IR 6', 'ISO-IR 87']],
  [['ISO 2022 IR 13', 'ISO 2022 IR 87'], ['ISO-IR 14', 'ISO-IR 13', 'ISO-IR 87']],
  [['', 'ISO 2022 IR 87', 'ISO 2022 IR 159'], ['ISO-IR 6', 'ISO-IR 87', 'ISO-IR 159']],
  [['', 'ISO 2022 IR 149'], ['ISO-IR 6', 'ISO-IR 149']],
  [['', 'ISO 2022 IR 58'], ['ISO-IR 6', 'ISO-IR 58']],
  [['ISO 2022 IR 100', 'ISO 2022 IR 144', 'ISO 2022 IR 126', 'ISO 2022 IR 138'], ['ISO-IR 6', 'ISO-IR 100', 'ISO-IR 144', 'ISO-IR 126', 'ISO-IR 138']],
  [['ISO 2022 IR 6', 'ISO 2022 IR 100', 'ISO 2022 IR 87', 'ISO 2022 IR 149', 'ISO 2022 IR 166'], ['ISO-IR 6', 'ISO-IR 100', 'ISO-IR 87', 'ISO-IR 149', 'ISO-IR 166']],
  [['ISO 2022 IR 101', 'ISO 2022 IR 109', 'ISO 2022 IR 110', 'ISO 2022 IR 127', 'ISO 2022 IR 148', 'ISO 2022 IR 203', 'ISO 2022 IR 13'], ['ISO-IR 6', 'ISO-IR 101', 'ISO-IR 109', 'ISO-IR 110', 'ISO-IR 127', 'ISO-IR 148', 'ISO-IR 203', 'ISO-IR 13']],
];

const SINGLE_BYTE_CASES: [string, CodeElementId][] = [
  ['ISO_IR 100', 'ISO-IR 100'], ['ISO_IR 101', 'ISO-IR 101'], ['ISO_IR 109', 'ISO-IR 109'], ['ISO_IR 110', 'ISO-IR 110'],
  ['ISO_IR 144', 'ISO-IR 144'], ['ISO_IR 127', 'ISO-IR 127'], ['ISO_IR 126', 'ISO-IR 126'], ['ISO_IR 138', 'ISO-IR 138'],
  ['ISO_IR 148', 'ISO-IR 148'], ['ISO_IR 203', 'ISO-IR 203'], ['ISO_IR 13', 'ISO-IR 13'], ['ISO_IR 166', 'ISO-IR 166'],
];

/**
 * Checks the bytes against PS3.5 §6.1.2.5.3: where a delimiter of the VR (or a control character)
 * occurs, and at the end, G0 is the initial one. Returns a description of the first violation.
 */
function resetViolation(bytes: Uint8Array, vr: VR, initialG0: CodeElementId): string | undefined {
  const delimiters = new Set<number>([0x09, 0x0a, 0x0c, 0x0d]);
  if (vr === 'PN') [0x5c, 0x5e, 0x3d].forEach((d) => delimiters.add(d));
  else if (vr !== 'LT' && vr !== 'ST' && vr !== 'UT') delimiters.add(0x5c);
  const escapes = Object.values(CODE_ELEMENTS);
  let g0: CodeElementId = initialG0;
  for (let i = 0; i < bytes.length;) {
    if (bytes[i] === 0x1b) {
      const el = escapes.find((e) => e.escape.every((b, k) => bytes[i + k] === b));
      if (!el) return `unknown escape at ${i}`;
      if (el.area === 'G0') g0 = el.id;
      i += el.escape.length;
      continue;
    }
    if (CODE_ELEMENTS[g0].bytesPerChar === 2 && bytes[i]! >= 0x21 && bytes[i]! <= 0x7e) {
      i += 2;
      continue;
    }
    if (bytes[i]! < 0x80 && delimiters.has(bytes[i]!) && g0 !== initialG0) return `delimiter at ${i} in ${g0}`;
    if (bytes[i]! < 0x80 && CODE_ELEMENTS[g0].bytesPerChar === 2) return `single byte at ${i} in ${g0}`;
    i++;
  }
  return g0 === initialG0 ? undefined : `ends in ${g0}`;
}

describe('round trips', () => {
  test('ISO_IR 192: any string of Unicode scalar values', () => {
    const cs = SpecificCharacterSet.from(['ISO_IR 192']);
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom(...VRS), (s, vr) => {
      const bytes = cs.encode(s, vr);
      assert.equal(Buffer.from(bytes).toString('hex'), Buffer.from(s, 'utf8').toString('hex'));
      assert.equal(cs.decode(bytes, vr), s);
    }), RUNS);
  });

  test('GB18030: any string of Unicode scalar values', () => {
    const cs = SpecificCharacterSet.from(['GB18030']);
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom(...VRS), (s, vr) => {
      assert.equal(cs.decode(cs.encode(s, vr), vr), s);
    }), RUNS);
  });

  test('GBK: strings over GB 2312 and ASCII', () => {
    const cs = SpecificCharacterSet.from(['GBK']);
    fc.assert(fc.property(textOver(['ISO-IR 6', 'ISO-IR 58']), fc.constantFrom(...VRS), (s, vr) => {
      assert.equal(cs.decode(cs.encode(s, vr), vr), s);
    }), RUNS);
  });

  test('single-byte sets: every string over the repertoire, and every byte string back', () => {
    for (const [term, id] of SINGLE_BYTE_CASES) {
      const cs = SpecificCharacterSet.from([term]);
      const g0: CodeElementId = id === 'ISO-IR 13' ? 'ISO-IR 14' : 'ISO-IR 6';
      fc.assert(fc.property(textOver([g0, id]), fc.constantFrom(...VRS), (s, vr) => {
        const bytes = cs.encode(s, vr);
        assert.equal(bytes.indexOf(0x1b), -1, `${term}: no escape sequences`);
        assert.equal(cs.decode(bytes, vr), s, term);
      }), { numRuns: 50 });
      // bytes -> text -> the same bytes, for the bytes that are codes of the set
      const codes = [...encodeTable(CODE_ELEMENTS[g0]).values(), ...encodeTable(CODE_ELEMENTS[id]).values()].filter((b) => b !== 0x1b);
      fc.assert(fc.property(fc.array(fc.constantFrom(...codes), { maxLength: 40 }), (arr) => {
        const bytes = Uint8Array.from(arr);
        assert.deepEqual(cs.encode(cs.decode(bytes, 'LO'), 'LO'), bytes, term);
      }), { numRuns: 50 });
    }
  });

  for (const [terms, elements] of ISO_2022_CASES) {
    test(`ISO 2022 ${terms.join('\\')}: text round trip and the reset rule`, () => {
      const cs = SpecificCharacterSet.from(terms);
      const initialG0 = elements[0]!;
      fc.assert(fc.property(textOver(elements), fc.constantFrom(...VRS), (s, vr) => {
        const bytes = cs.encode(s, vr);
        assert.equal(cs.decode(bytes, vr), s);
        assert.equal(resetViolation(bytes, vr, initialG0), undefined);
      }), RUNS);
    });
  }
});

describe('the reset rule on the Japanese person name', () => {
  test("'Yamada^Tarou=山田^太郎=やまだ^たろう' returns to ASCII before each '^' and '=' and at the end", () => {
    const cs = SpecificCharacterSet.from(['', 'ISO 2022 IR 87']);
    const bytes = cs.encode('Yamada^Tarou=山田^太郎=やまだ^たろう', 'PN');
    assert.equal(resetViolation(bytes, 'PN', 'ISO-IR 6'), undefined);
    const latin = Buffer.from(bytes).toString('latin1');
    // one return per run of JIS X 0208: before '^', '=', '^' and at the end
    assert.equal(latin.split('\x1b(B').length - 1, 4);
    assert.equal(latin.split('\x1b$B').length - 1, 4);
    assert.ok(latin.endsWith('\x1b(B'));
  });
});
