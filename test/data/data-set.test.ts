import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataSet } from '../../src/data/data-set.js';
import { DataElement } from '../../src/data/element.js';
import { DicomDate, DicomDateTime, DicomTime } from '../../src/data/date-time.js';
import { PersonName } from '../../src/data/person-name.js';
import { parseDataSet } from '../../src/data/reader/data-set-parser.js';
import { encodeDataSet } from '../../src/data/writer.js';
import { formatTag, parseTag, privateCreatorTagOf, tag } from '../../src/data/tag.js';

const LE = { explicitVR: true, littleEndian: true };
const BE = { explicitVR: true, littleEndian: false };

function reparse(ds: DataSet, enc = LE): DataSet {
  return parseDataSet(encodeDataSet(ds, enc), enc);
}

test('multi-valued strings are split at backslashes and trimmed by VR', () => {
  const ds = new DataSet();
  ds.set(0x00080008, 'CS', ['ORIGINAL', 'PRIMARY', 'AXIAL']);
  ds.set(0x00081030, 'LO', ' Chest ');
  ds.set(0x00204000, 'LT', '  first line\\ not a delimiter  ');
  const back = reparse(ds);
  assert.deepEqual(back.strings(0x00080008), ['ORIGINAL', 'PRIMARY', 'AXIAL']);
  assert.equal(back.string(0x00081030), 'Chest');
  // LT keeps leading spaces and backslashes; trailing padding goes.
  assert.equal(back.string(0x00204000), '  first line\\ not a delimiter');
});

test('UI values are NUL padded to even length and read back without the pad', () => {
  const ds = new DataSet();
  ds.set(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.2');
  const bytes = ds.get(0x00080016)!.bytes;
  assert.equal(bytes.length % 2, 0);
  assert.equal(bytes[bytes.length - 1], 0);
  assert.equal(reparse(ds).string(0x00080016), '1.2.840.10008.5.1.4.1.1.2');
});

test('binary numbers decode in both byte orders', () => {
  for (const enc of [LE, BE]) {
    const ds = new DataSet({ littleEndian: enc.littleEndian });
    ds.set(0x00280010, 'US', 512);
    ds.set(0x00281052, 'DS', [-1024]);
    ds.set(0x00189219, 'SS', [-5, 7]);
    ds.set(0x00181063, 'FD', [Math.PI]);
    ds.set(0x00186020, 'SL', [-70000]);
    ds.set(0x0018602c, 'FL', [0.5]);
    ds.set(0x00660040, 'UL', [4000000000]);
    ds.set(0x0072007c, 'SV', [-(2n ** 62n)]);
    ds.set(0x0072007d, 'UV', [2n ** 63n + 5n]);
    const back = reparse(ds, enc);
    assert.equal(back.number(0x00280010), 512);
    assert.equal(back.number(0x00281052), -1024);
    assert.deepEqual(back.numbers(0x00189219), [-5, 7]);
    assert.equal(back.number(0x00181063), Math.PI);
    assert.equal(back.number(0x00186020), -70000);
    assert.equal(back.number(0x0018602c), 0.5);
    assert.equal(back.number(0x00660040), 4000000000);
    assert.deepEqual(back.bigints(0x0072007c), [-(2n ** 62n)]);
    assert.deepEqual(back.bigints(0x0072007d), [2n ** 63n + 5n]);
  }
});

test('AT values are tag numbers in either byte order', () => {
  for (const enc of [LE, BE]) {
    const ds = new DataSet({ littleEndian: enc.littleEndian });
    ds.set(0x00209165, 'AT', [0x00100010, 0x7fe00010]);
    assert.deepEqual(reparse(ds, enc).tags(0x00209165), [0x00100010, 0x7fe00010]);
  }
});

test('person names keep their component groups and components', () => {
  const ds = new DataSet();
  ds.set(0x00080005, 'CS', 'ISO_IR 192');
  ds.set(0x00100010, 'PN', 'Yamada^Tarou=山田^太郎=やまだ^たろう');
  const pn = reparse(ds).personName(0x00100010)!;
  assert.equal(pn.alphabetic, 'Yamada^Tarou');
  assert.equal(pn.ideographic, '山田^太郎');
  assert.equal(pn.phonetic, 'やまだ^たろう');
  assert.equal(pn.familyName, 'Yamada');
  assert.equal(pn.components.ideographic.givenName, '太郎');
  assert.equal(pn.toString(), 'Yamada^Tarou=山田^太郎=やまだ^たろう');
  assert.equal(PersonName.fromComponents({ alphabetic: { familyName: 'Doe', givenName: 'John' } }).toString(), 'Doe^John');
  assert.equal(new PersonName('Doe^John', '', '').toString(), 'Doe^John');
});

test('dates, times and datetimes keep their original text and parse their parts', () => {
  const ds = new DataSet();
  ds.set(0x00080020, 'DA', '20240131');
  ds.set(0x00080030, 'TM', '101530.25');
  ds.set(0x0008002a, 'DT', '20240131101530.5+0130');
  const back = reparse(ds);
  const d = back.date(0x00080020)!;
  assert.ok(d instanceof DicomDate);
  assert.deepEqual([d.text, d.year, d.month, d.day], ['20240131', 2024, 1, 31]);
  const t = back.time(0x00080030)!;
  assert.ok(t instanceof DicomTime);
  assert.deepEqual([t.text, t.hours, t.minutes, t.seconds, t.fraction], ['101530.25', 10, 15, 30, '25']);
  assert.equal(t.secondsOfDay, 10 * 3600 + 15 * 60 + 30.25);
  const dt = back.dateTime(0x0008002a)!;
  assert.ok(dt instanceof DicomDateTime);
  assert.equal(dt.utcOffsetMinutes, 90);
  assert.equal(dt.toDate().toISOString(), '2024-01-31T08:45:30.500Z');
  assert.equal(DicomDateTime.parse('2024')!.month, undefined);
  assert.equal(DicomDate.parse('2024.01.31')!.day, 31); // ACR-NEMA form
  assert.equal(DicomDate.parse('not a date'), undefined);
  assert.equal(DicomTime.parse('10:15:30')!.seconds, 30);
});

test('sequence items inherit the Specific Character Set of their parent unless they have their own', () => {
  const ds = new DataSet();
  ds.set(0x00080005, 'CS', 'ISO_IR 192');
  const inherits = new DataSet();
  const own = new DataSet();
  own.set(0x00080005, 'CS', 'ISO_IR 100');
  ds.set(0x00081110, 'SQ', [inherits, own]);
  assert.deepEqual(inherits.characterSet.terms, ['ISO_IR 192']);
  assert.deepEqual(own.characterSet.terms, ['ISO_IR 100']);
  inherits.set(0x00100010, 'PN', 'Müller^Jörg');
  own.set(0x00100010, 'PN', 'Müller^Jörg');
  assert.equal(inherits.get(0x00100010)!.bytes.length, 14); // UTF-8: 13 bytes (two 2-byte letters), padded to even
  assert.equal(own.get(0x00100010)!.bytes.length, 12); // Latin-1: 11 bytes, padded to even
  const back = reparse(ds);
  assert.equal(back.items(0x00081110)[0]!.string(0x00100010), 'Müller^Jörg');
  assert.equal(back.items(0x00081110)[1]!.string(0x00100010), 'Müller^Jörg');
});

test('keywords resolve through the dictionary', () => {
  const ds = new DataSet();
  ds.set('PatientName', undefined, 'Doe^Jane');
  assert.equal(ds.get(0x00100010)!.vr, 'PN');
  assert.equal(ds.string('PatientName'), 'Doe^Jane');
  assert.throws(() => ds.get('NoSuchKeyword'), (e: Error & { code?: string }) => e.code === 'ERR_DICOM_INVALID_ARGUMENT');
});

test('private elements find their creator, and elements come out sorted whatever the insertion order', () => {
  const ds = new DataSet();
  ds.set(0x00091001, 'LO', 'value');
  ds.set(0x00090010, 'LO', 'ACME 1.0');
  ds.set(0x00080016, 'UI', '1.2.3');
  assert.equal(privateCreatorTagOf(0x00091001), 0x00090010);
  assert.equal(ds.privateCreator(0x00091001), 'ACME 1.0');
  assert.deepEqual(ds.elements().map((e) => e.tag), [0x00080016, 0x00090010, 0x00091001]);
  assert.deepEqual([...reparse(ds)].map((e) => e.tag), [0x00080016, 0x00090010, 0x00091001]);
});

test('extended offset table elements and encapsulated fragments survive a round trip', () => {
  const ds = new DataSet();
  ds.set(0x7fe00001, 'OV', new Uint8Array(new BigUint64Array([0n, 10n]).buffer));
  ds.set(0x7fe00002, 'OV', new Uint8Array(new BigUint64Array([10n, 6n]).buffer));
  ds.add(DataElement.encapsulatedPixelData(0x7fe00010, 'OB', { offsetTable: new Uint8Array(0), fragments: [new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), new Uint8Array([11, 12, 13, 14, 15, 16])] }));
  const back = reparse(ds);
  assert.deepEqual(back.bigints(0x7fe00001), [0n, 10n]);
  const enc = back.get(0x7fe00010)!.encapsulated!;
  assert.equal(enc.offsetTable.length, 0);
  assert.deepEqual(enc.fragments.map((f) => [...(f as Uint8Array)]), [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [11, 12, 13, 14, 15, 16]]);
});

test('tag helpers format and parse every notation', () => {
  assert.equal(formatTag(tag(0x7fe0, 0x10)), '(7FE0,0010)');
  assert.equal(parseTag('(0010,0010)'), 0x00100010);
  assert.equal(parseTag('7fe00010'), 0x7fe00010);
  assert.equal(parseTag('x00100020'), 0x00100020);
  assert.equal(parseTag('0010,0010'), 0x00100010);
  assert.equal(parseTag('nonsense'), undefined);
});
