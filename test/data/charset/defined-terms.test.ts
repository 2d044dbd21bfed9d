import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFINED_TERMS, lookupTerm, SpecificCharacterSet } from '../../../src/data/charset/index.js';

const latin1 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

describe('Defined Terms (PS3.3 C.12.1.1.2)', () => {
  test('the table holds every Defined Term of Tables C.12-2 to C.12-5', () => {
    const terms = new Set(DEFINED_TERMS.map((t) => t.term));
    for (const ir of [100, 101, 109, 110, 144, 127, 126, 138, 148, 203, 13, 166]) {
      assert.ok(terms.has(`ISO_IR ${ir}`), `ISO_IR ${ir}`);
      assert.ok(terms.has(`ISO 2022 IR ${ir}`), `ISO 2022 IR ${ir}`);
    }
    for (const t of ['', 'ISO 2022 IR 6', 'ISO 2022 IR 87', 'ISO 2022 IR 159', 'ISO 2022 IR 149', 'ISO 2022 IR 58', 'ISO_IR 192', 'GB18030', 'GBK']) {
      assert.ok(terms.has(t), `'${t}'`);
    }
    assert.equal(terms.size, 2 * 12 + 9);
  });

  test('every Defined Term is accepted without a warning', () => {
    for (const t of DEFINED_TERMS) {
      const cs = SpecificCharacterSet.from([t.term]);
      assert.deepEqual(cs.warnings, [], `'${t.term}'`);
    }
  });

  test('common misspellings are taken with a warning', () => {
    const cases: [string, string][] = [
      ['ISO-IR 100', 'ISO_IR 100'],
      ['ISO IR 100', 'ISO_IR 100'],
      ['ISO_IR100', 'ISO_IR 100'],
      ['iso_ir 100', 'ISO_IR 100'],
      ['ISO IR 192', 'ISO_IR 192'],
      ['ISO-IR 192', 'ISO_IR 192'],
      ['UTF-8', 'ISO_IR 192'],
      ['ISO_IR 6', ''],
      ['ISO-2022-IR-87', 'ISO 2022 IR 87'],
      ['ISO 2022 IR 100', 'ISO 2022 IR 100'],
      ['ISO_IR 149', 'ISO 2022 IR 149'],
      ['ISO 2022 IR 192', 'ISO_IR 192'],
      ['gb18030', 'GB18030'],
    ];
    for (const [spelling, term] of cases) {
      const found = lookupTerm(spelling);
      assert.equal(found.term?.term, term, spelling);
      if (spelling !== term) assert.match(found.warning ?? '', /not a Defined Term/, spelling);
    }
  });

  test('padding (trailing spaces, NUL) is not a misspelling', () => {
    assert.deepEqual(lookupTerm('ISO_IR 100 ').warning, undefined);
    assert.deepEqual(lookupTerm('ISO_IR 192\0').warning, undefined);
    assert.equal(SpecificCharacterSet.from(['ISO_IR 100  ']).decode(latin1('J\xe9r\xf4me'), 'PN'), 'Jérôme');
  });

  test('an unknown term falls back to the default repertoire with a warning, not an exception', () => {
    const cs = SpecificCharacterSet.from(['ISO_IR 999']);
    assert.equal(cs.isDefault, true);
    assert.equal(cs.warnings.length, 1);
    assert.match(cs.warnings[0]!, /unknown Specific Character Set value 'ISO_IR 999'/);
    assert.equal(cs.decode(latin1('Abc^D\xe9f'), 'PN'), 'Abc^Déf');
    const bogus = SpecificCharacterSet.from(['KLINGON']);
    assert.equal(bogus.isDefault, true);
    assert.match(bogus.warnings[0]!, /KLINGON/);
  });

  test('an unknown later value is ignored with a warning, the others still apply', () => {
    const cs = SpecificCharacterSet.from(['', 'ISO 2022 IR 999', 'ISO 2022 IR 87']);
    assert.equal(cs.warnings.length, 1);
    assert.equal(cs.decode(Uint8Array.from([0x1b, 0x24, 0x42, 0x3b, 0x33, 0x45, 0x44, 0x1b, 0x28, 0x42]), 'PN'), '山田');
  });

  test('isDefault: no terms, empty, ISO_IR 6, ISO 2022 IR 6, unknown', () => {
    assert.equal(SpecificCharacterSet.DEFAULT.isDefault, true);
    assert.equal(SpecificCharacterSet.from([]), SpecificCharacterSet.DEFAULT);
    for (const t of [[''], ['ISO_IR 6'], ['ISO 2022 IR 6'], ['nonsense']]) {
      assert.equal(SpecificCharacterSet.from(t).isDefault, true, JSON.stringify(t));
    }
    for (const t of [['ISO_IR 100'], ['ISO_IR 192'], ['GB18030'], ['', 'ISO 2022 IR 87'], ['ISO 2022 IR 6', 'ISO 2022 IR 149']]) {
      assert.equal(SpecificCharacterSet.from(t).isDefault, false, JSON.stringify(t));
    }
  });

  test('the empty first value means ISO 2022 IR 6', () => {
    const a = SpecificCharacterSet.from(['', 'ISO 2022 IR 100']);
    assert.deepEqual(a.warnings, []);
    assert.equal(a.decode(latin1('Caf\x1b-A\xe9'), 'LO'), 'Café');
  });

  test('stand-alone sets: later values are ignored with a warning (PS3.5 §6.1.2.5.4)', () => {
    const cs = SpecificCharacterSet.from(['ISO_IR 192', 'ISO 2022 IR 87']);
    assert.equal(cs.warnings.length, 1);
    assert.equal(cs.decode(Buffer.from('山田', 'utf8'), 'PN'), '山田');
    const later = SpecificCharacterSet.from(['', 'GB18030', 'ISO 2022 IR 87']);
    assert.match(later.warnings.join(), /'GB18030' cannot be used with code extensions/);
  });

  test('terms keep the values as given; warnings are frozen', () => {
    const cs = SpecificCharacterSet.from(['ISO-IR 100']);
    assert.deepEqual(cs.terms, ['ISO-IR 100']);
    assert.ok(Object.isFrozen(cs.terms));
    assert.ok(Object.isFrozen(cs.warnings));
  });

  test('non-extension terms in a multi-valued set are read as their ISO 2022 counterparts', () => {
    const cs = SpecificCharacterSet.from(['ISO_IR 100', 'ISO_IR 144']);
    assert.equal(cs.warnings.length, 2);
    const bytes = [0x4d, 0xfc, 0x5e, 0x1b, 0x2d, 0x4c, 0xb8, 0xd2, 0xd0, 0xdd];
    assert.equal(cs.decode(Uint8Array.from(bytes), 'PN'), 'Mü^Иван');
    // Latin-1, the G1 of Value 1, is designated again at the end of the value (PS3.5 §6.1.2.5.3).
    assert.deepEqual(cs.encode('Mü^Иван', 'PN'), Uint8Array.from([...bytes, 0x1b, 0x2d, 0x41]));
  });

  test('a multi-byte G0 set as Value 1 starts values in ISO-IR 6', () => {
    const cs = SpecificCharacterSet.from(['ISO 2022 IR 87']);
    assert.deepEqual(cs.warnings, []);
    assert.equal(Buffer.from(cs.encode('Yamada^山田', 'PN')).toString('latin1'), 'Yamada^\x1b$B;3ED\x1b(B');
    assert.equal(cs.decode(latin1('Yamada^\x1b$B;3ED\x1b(B'), 'PN'), 'Yamada^山田');
  });

  test('ISO 2022 IR 149 alone: Korean in GR without escape sequences (common in files)', () => {
    const cs = SpecificCharacterSet.from(['ISO 2022 IR 149']);
    assert.deepEqual(cs.warnings, []);
    assert.equal(cs.decode(Uint8Array.from([0xb1, 0xe8, 0xc8, 0xf1, 0xc1, 0xdf]), 'PN'), '김희중');
  });
});
