/**
 * Acceptance: our decoding of every text element of pydicom's charset files and of its other test
 * files with a non-default Specific Character Set equals pydicom's; encoding gives the raw bytes
 * back wherever the writer of the file made the same choices as we do.
 */
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { describe, test } from 'node:test';
import { SpecificCharacterSet } from '../../../src/data/charset/index.js';
import type { VR } from '../../../src/data/vr.js';
import { peer } from '../../helpers/peers.js';
import { charsetFiles, nonDefaultTestFiles, readWithPydicom, type PydicomElement } from './pydicom-values.js';

const skip = peer('pydicom');

/** The values as pydicom presents them: split, right-trimmed, PN without trailing empty groups. */
function likePydicom(text: string, vr: VR): string[] {
  const rstrip = (s: string): string => s.replace(/[\0 ]+$/, '');
  if (vr === 'PN') return rstrip(text).split('\\').map((v) => v.replace(/=+$/, ''));
  if (vr === 'LT' || vr === 'ST' || vr === 'UT') return [rstrip(text)];
  return text.split('\\').map(rstrip);
}

const bytesOf = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));

/**
 * Files whose writer chose differently from our encoder, with the reason; the bytes differ but
 * decode to the same text.
 */
const ENCODED_DIFFERENTLY: Readonly<Record<string, string>> = {
  // ESC ( B at the end although G0 never left ISO-IR 6: a redundant escape sequence.
  'chrKoreanMulti.dcm/00081070': 'redundant ESC ( B',
  'chrKoreanMulti.dcm/00100010': 'redundant ESC ( B',
  'chrKoreanMulti.dcm/00101001': 'redundant ESC ( B',
  'chrKoreanMulti.dcm/001021B0': 'redundant ESC ( B',
  // Value 1 is ISO 2022 IR 13, whose G0 is ISO-IR 14 (ESC ( J); the file returns with ESC ( B.
  'chrSQEncoding.dcm/00321064/0/00100010': 'returns to ISO-IR 6 rather than ISO-IR 14',
  'chrSQEncoding1.dcm/00321064/0/00100010': 'returns to ISO-IR 6 rather than ISO-IR 14',
};

function checkFile(file: string, elements: readonly PydicomElement[]): void {
  for (const e of elements) {
    const cs = SpecificCharacterSet.from(e.charset);
    const raw = bytesOf(e.hex);
    const vr = e.vr as VR;
    const text = cs.decode(raw, vr);
    const where = `${basename(file)} ${e.path} ${vr} [${e.charset.join('\\')}]`;
    assert.deepEqual(likePydicom(text, vr), e.pydicom, `decode ${where}`);

    // Encoding: the text again, and the same bytes (without the padding) unless listed above.
    const encoded = cs.encode(text, vr);
    assert.equal(cs.decode(encoded, vr), text, `decode(encode()) ${where}`);
    const key = `${basename(file)}/${e.path}`;
    if (!(key in ENCODED_DIFFERENTLY)) {
      assert.equal(Buffer.from(encoded).toString('hex'), e.hex, `encode(decode(raw)) === raw ${where}`);
    } else {
      assert.notEqual(Buffer.from(encoded).toString('hex'), e.hex, `${key} now encodes as the file does: remove it from the list`);
    }
  }
}

describe('pydicom charset_files', () => {
  test('every file is read and has text elements', { skip }, () => {
    const files = charsetFiles();
    assert.ok(files.length >= 17, `found ${files.length} charset files`);
    const all = readWithPydicom(files);
    for (const f of files) assert.ok((all.get(f) ?? []).length > 0, `${basename(f)} has text elements`);
  });

  for (const name of [
    'chrArab', 'chrFren', 'chrFrenMulti', 'chrGerm', 'chrGreek', 'chrH31', 'chrH32', 'chrHbrw', 'chrI2',
    'chrJapMulti', 'chrJapMultiExplicitIR6', 'chrKoreanMulti', 'chrRuss', 'chrSQEncoding', 'chrSQEncoding1',
    'chrX1', 'chrX2',
  ]) {
    test(`${name}.dcm decodes as pydicom does and encodes back`, { skip }, () => {
      const file = charsetFiles().find((f) => basename(f) === `${name}.dcm`);
      assert.ok(file, `${name}.dcm exists`);
      const elements = readWithPydicom([file]).get(file);
      assert.ok(elements && elements.length > 0);
      checkFile(file, elements);
    });
  }

  test('the Patient Names are the expected ones', { skip }, () => {
    const expected: Record<string, string> = {
      'chrArab.dcm': 'قباني^لنزار',
      'chrFren.dcm': 'Buc^Jérôme',
      'chrGerm.dcm': 'Äneas^Rüdiger',
      'chrGreek.dcm': 'Διονυσιος',
      'chrH31.dcm': 'Yamada^Tarou=山田^太郎=やまだ^たろう',
      'chrH32.dcm': 'ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう',
      'chrHbrw.dcm': 'שרון^דבורה',
      'chrI2.dcm': 'Hong^Gildong=洪^吉洞=홍^길동',
      'chrKoreanMulti.dcm': '김희중',
      'chrRuss.dcm': 'Люкceмбypг',
      'chrX1.dcm': 'Wang^XiaoDong=王^小東=',
      'chrX2.dcm': 'Wang^XiaoDong=王^小东=',
    };
    const all = readWithPydicom(charsetFiles());
    for (const [file, elements] of all) {
      const want = expected[basename(file)];
      if (want === undefined) continue;
      const pn = elements.find((e) => e.path === '00100010')!;
      const text = SpecificCharacterSet.from(pn.charset).decode(bytesOf(pn.hex), 'PN').replace(/ +$/, '');
      assert.equal(text, want, basename(file));
    }
  });
});

describe('pydicom test_files with a non-default Specific Character Set', () => {
  test('decode as pydicom does and encode back', { skip }, () => {
    const files = nonDefaultTestFiles();
    assert.ok(files.length > 0, 'found files with a non-default Specific Character Set');
    const all = readWithPydicom(files);
    let elements = 0;
    for (const [file, els] of all) {
      checkFile(file, els);
      elements += els.length;
    }
    assert.ok(elements > 100, `checked ${elements} elements in ${all.size} files`);
  });
});
