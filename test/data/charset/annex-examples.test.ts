/**
 * The examples of PS3.5 Annex H (Japanese), I (Korean), J (Unicode, GB18030) and K (GB 2312):
 * the encoded representations the standard gives, both ways.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SpecificCharacterSet } from '../../../src/data/charset/index.js';
import type { VR } from '../../../src/data/vr.js';

/** Bytes from the standard's notation: 'ESC', text in quotes, hex bytes. */
function bytes(...parts: (string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'string') out.push(...Buffer.from(p, 'latin1'));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}
const ESC = 0x1b;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function bothWays(terms: string[], vr: VR, text: string, encoded: Uint8Array): void {
  const cs = SpecificCharacterSet.from(terms);
  assert.equal(cs.decode(encoded, vr), text, 'decode');
  assert.equal(hex(cs.encode(text, vr)), hex(encoded), 'encode');
}

describe('PS3.5 Annex H: Japanese', () => {
  test('H.3.1: \\ISO 2022 IR 87, returning to ISO-IR 6 before ^ and =', () => {
    const jis = [ESC, 0x24, 0x42];
    const ascii = [ESC, 0x28, 0x42];
    bothWays(['', 'ISO 2022 IR 87'], 'PN', 'Yamada^Tarou=山田^太郎=やまだ^たろう', bytes(
      'Yamada^Tarou=', jis, [0x3b, 0x33, 0x45, 0x44], ascii, '^', jis, [0x42, 0x40, 0x4f, 0x3a], ascii, '=',
      jis, [0x24, 0x64, 0x24, 0x5e, 0x24, 0x40], ascii, '^', jis, [0x24, 0x3f, 0x24, 0x6d, 0x24, 0x26], ascii,
    ));
  });

  test('H.3.2: ISO 2022 IR 13\\ISO 2022 IR 87, returning to ISO-IR 14 (ESC ( J)', () => {
    const jis = [ESC, 0x24, 0x42];
    const romaji = [ESC, 0x28, 0x4a];
    bothWays(['ISO 2022 IR 13', 'ISO 2022 IR 87'], 'PN', 'ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう', bytes(
      [0xd4, 0xcf, 0xc0, 0xde], '^', [0xc0, 0xdb, 0xb3], '=', jis, [0x3b, 0x33, 0x45, 0x44], romaji, '^',
      jis, [0x42, 0x40, 0x4f, 0x3a], romaji, '=', jis, [0x24, 0x64, 0x24, 0x5e, 0x24, 0x40], romaji, '^',
      jis, [0x24, 0x3f, 0x24, 0x6d, 0x24, 0x26], romaji,
    ));
  });

  test('the Value 1 may be given as ISO 2022 IR 6 rather than empty: same bytes', () => {
    const a = SpecificCharacterSet.from(['', 'ISO 2022 IR 87']).encode('Yamada^Tarou=山田^太郎', 'PN');
    const b = SpecificCharacterSet.from(['ISO 2022 IR 6', 'ISO 2022 IR 87']).encode('Yamada^Tarou=山田^太郎', 'PN');
    assert.equal(hex(a), hex(b));
  });
});

describe('PS3.5 Annex I: Korean', () => {
  const ksc = [ESC, 0x24, 0x29, 0x43];
  test('I.2: \\ISO 2022 IR 149, designating KS X 1001 again after each delimiter', () => {
    bothWays(['', 'ISO 2022 IR 149'], 'PN', 'Hong^Gildong=洪^吉洞=홍^길동', bytes(
      'Hong^Gildong=', ksc, [0xfb, 0xf3], '^', ksc, [0xd1, 0xce, 0xd4, 0xd7], '=', ksc, [0xc8, 0xab], '^', ksc,
      [0xb1, 0xe6, 0xb5, 0xbf],
    ));
  });

  test('I.3: LT with the designation at the head of each line decodes; our encoder designates at first use', () => {
    const cs = SpecificCharacterSet.from(['', 'ISO 2022 IR 149']);
    const hangul = [0xc7, 0xd1, 0xb1, 0xdb]; // 한글
    const standard = bytes(
      ksc, 'The first line includes ', hangul, '.\r\n', ksc, 'The second line includes ', hangul, ', too.\r\n',
      'The third line',
    );
    const text = 'The first line includes 한글.\r\nThe second line includes 한글, too.\r\nThe third line';
    assert.equal(cs.decode(standard, 'LT'), text);
    const ours = cs.encode(text, 'LT');
    assert.equal(hex(ours), hex(bytes(
      'The first line includes ', ksc, hangul, '.\r\n', 'The second line includes ', ksc, hangul, ', too.\r\n',
      'The third line',
    )));
    assert.equal(cs.decode(ours, 'LT'), text);
  });
});

describe('PS3.5 Annex J: UTF-8, GB18030, GBK', () => {
  test('J.1: ISO_IR 192 person name', () => {
    bothWays(['ISO_IR 192'], 'PN', 'Wang^XiaoDong=王^小東=', bytes(
      'Wang^XiaoDong=', [0xe7, 0x8e, 0x8b], '^', [0xe5, 0xb0, 0x8f, 0xe6, 0x9d, 0xb1], '=',
    ));
  });

  // The standard's byte listings for J.2 and J.4 have no space between "includes" and the Chinese
  // characters, though the text shows one; the bytes are taken as listed.
  test('J.2: ISO_IR 192 long text', () => {
    const zh = [0xe4, 0xb8, 0xad, 0xe6, 0x96, 0x87];
    bothWays(['ISO_IR 192'], 'LT', 'The first line includes中文.\r\nThe second line includes中文, too.\r\nThe third line.\r\n', bytes(
      'The first line includes', zh, '.\r\nThe second line includes', zh, ', too.\r\nThe third line.\r\n',
    ));
  });

  test('J.3: GB18030 person name', () => {
    bothWays(['GB18030'], 'PN', 'Wang^XiaoDong=王^小东=', bytes(
      'Wang^XiaoDong=', [0xcd, 0xf5], '^', [0xd0, 0xa1, 0xb6, 0xab], '=',
    ));
  });

  test('J.4: GB18030 long text, and GBK gives the same bytes (PS3.5 Annex J introduction)', () => {
    const zh = [0xd6, 0xd0, 0xce, 0xc4];
    const text = 'The first line includes中文.\r\nThe second line includes中文, too.\r\nThe third line.\r\n';
    const encoded = bytes('The first line includes', zh, '.\r\nThe second line includes', zh, ', too.\r\nThe third line.\r\n');
    bothWays(['GB18030'], 'LT', text, encoded);
    bothWays(['GBK'], 'LT', text, encoded);
  });
});

describe('PS3.5 Annex K: GB 2312 with code extensions', () => {
  const gb = [ESC, 0x24, 0x29, 0x41];
  test('K.2: \\ISO 2022 IR 58 person name (no return to ISO-IR 6 needed: G0 never left it)', () => {
    bothWays(['', 'ISO 2022 IR 58'], 'PN', 'Zhang^XiaoDong=张^小东=', bytes(
      'Zhang^XiaoDong=', gb, [0xd5, 0xc5], '^', gb, [0xd0, 0xa1, 0xb6, 0xab], '=',
    ));
  });

  test('K.3: \\ISO 2022 IR 58 long text, designated again on each line', () => {
    bothWays(['', 'ISO 2022 IR 58'], 'LT', '1.第一行文字。\r\n2.第二行文字。\r\n3.第三行文字。\r\n', bytes(
      '1.', gb, [0xb5, 0xda, 0xd2, 0xbb, 0xd0, 0xd0, 0xce, 0xc4, 0xd7, 0xd6, 0xa1, 0xa3], '\r\n',
      '2.', gb, [0xb5, 0xda, 0xb6, 0xfe, 0xd0, 0xd0, 0xce, 0xc4, 0xd7, 0xd6, 0xa1, 0xa3], '\r\n',
      '3.', gb, [0xb5, 0xda, 0xc8, 0xfd, 0xd0, 0xd0, 0xce, 0xc4, 0xd7, 0xd6, 0xa1, 0xa3], '\r\n',
    ));
  });
});
