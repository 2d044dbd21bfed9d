/**
 * Acceptance tests of the data set codec (PS3.5 §7): data sets built in code, encoded with the
 * writer, parsed back (whole, split at every offset, and one byte at a time) and re-encoded; the
 * bytes must be identical. Property tests do the same for random data sets in the three
 * uncompressed encodings and check that Little Endian -> Big Endian -> Little Endian transcoding
 * returns the original bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DicomError } from '../../../src/core/dicom-error.js';
import { DataSet } from '../../../src/data/data-set.js';
import { DataElement } from '../../../src/data/element.js';
import { DataSetParser, parseDataSet } from '../../../src/data/reader/data-set-parser.js';
import { ITEM, PIXEL_DATA, SEQUENCE_DELIMITATION, tag } from '../../../src/data/tag.js';
import { binaryValueSize, isStringVR, VRS, type VR } from '../../../src/data/vr.js';
import { encodeDataSet, type Encoding } from '../../../src/data/writer.js';
import { allTagEntries } from '../../../src/dictionary/index.js';

const EXPLICIT_LE: Encoding = { explicitVR: true, littleEndian: true };
const IMPLICIT_LE: Encoding = { explicitVR: false, littleEndian: true };
const EXPLICIT_BE: Encoding = { explicitVR: true, littleEndian: false };
const ENCODINGS: ReadonlyArray<[string, Encoding]> = [
  ['Explicit VR Little Endian', EXPLICIT_LE],
  ['Implicit VR Little Endian', IMPLICIT_LE],
  ['Explicit VR Big Endian', EXPLICIT_BE],
];

// ---- drivers ----

/**
 * Feeds `chunks` to a DataSetParser one at a time, as a stream would. Values above `threshold`
 * come out as 'bulk' steps; the driver takes their bytes from the input (as a file reader skips
 * them) and attaches them as in-memory values, so the result must re-encode identically.
 */
function parseChunks(chunks: readonly Uint8Array[], enc: Encoding, threshold?: number): DataSet {
  const parser = new DataSetParser({ ...enc, bulkDataThreshold: threshold });
  const queue = chunks.filter((c) => c.length > 0).map((c) => c);
  let k = 0;
  for (;;) {
    const step = parser.run();
    if (step.kind === 'done') return parser.root;
    if (step.kind === 'need') {
      if (k < queue.length) parser.feed(queue[k++]!);
      else parser.end();
      continue;
    }
    const { buffered, missing } = parser.takeBulkBytes();
    assert.equal(buffered.length + missing, step.length);
    const value = new Uint8Array(step.length);
    value.set(buffered);
    let filled = buffered.length;
    while (filled < step.length) {
      assert.ok(k < queue.length, 'input ended inside a bulk value');
      const c = queue[k]!;
      const take = Math.min(c.length, step.length - filled);
      value.set(c.subarray(0, take), filled);
      filled += take;
      if (take === c.length) k++;
      else queue[k] = c.subarray(take);
    }
    parser.attachBulk(value);
    if (k >= queue.length) parser.end();
  }
}

function splitAt(bytes: Uint8Array, i: number): Uint8Array[] {
  // Copies, so no chunk shares memory with another (as a socket delivers them).
  return [bytes.slice(0, i), bytes.slice(i)];
}

function oneByteChunks(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(bytes.slice(i, i + 1));
  return out;
}

function assertSameBytes(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  if (Buffer.compare(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength), Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength)) === 0) return;
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  assert.fail(`${message ?? 'bytes differ'}: first difference at offset ${i} (lengths ${actual.length} and ${expected.length})`);
}

/** Encodes, parses whole, and checks the re-encoding is identical. Returns the bytes and the parse. */
function roundTrip(ds: DataSet, enc: Encoding): { bytes: Uint8Array; parsed: DataSet } {
  const bytes = encodeDataSet(ds, enc);
  const parsed = parseDataSet(bytes, enc);
  assertSameBytes(encodeDataSet(parsed, enc), bytes, 're-encoding differs');
  return { bytes, parsed };
}

const u8 = (...b: number[]) => new Uint8Array(b);
const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

// ---- data sets built in code ----

/** One element of (nearly) every VR, in tags whose dictionary VR is that VR (so Implicit VR reads them the same). */
function everyVR(): DataSet {
  const ds = new DataSet();
  ds.set(0x00080005, 'CS', 'ISO_IR 100');
  ds.set(0x00080008, 'CS', ['ORIGINAL', 'PRIMARY', 'AXIAL']);
  ds.set(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.2');
  ds.set(0x00080020, 'DA', '20240131');
  ds.set(0x00080030, 'TM', '235959.123456');
  ds.set(0x0008002a, 'DT', '20240131235959.5+0100');
  ds.set(0x00080054, 'AE', 'STORESCP');
  ds.set(0x00080060, 'CS', 'CT');
  ds.set(0x00081030, 'LO', 'Chest ^ abdomen');
  ds.set(0x00100010, 'PN', 'Doe^Jane');
  ds.set(0x00101010, 'AS', '042Y');
  ds.set(0x00180050, 'DS', '0.625');
  ds.set(0x00200013, 'IS', 7);
  ds.set(0x00204000, 'LT', 'line one\r\nline two');
  ds.set(0x00280010, 'US', 512);
  ds.set(0x00280009, 'AT', [0x00181063, 0x00181065]);
  ds.set(0x00189087, 'FD', 1000.5);
  ds.set(0x00189219, 'SS', -3);
  ds.set(0x00282000, 'OB', u8(1, 2, 3, 4));
  ds.set(0x00400254, 'LO', 'Procedure');
  ds.set(0x0040a160, 'UT', 'unlimited text');
  ds.set(0x00660023, 'OW', u8(1, 2, 3, 4, 5, 6));
  ds.set(0x00660016, 'OF', u8(0, 0, 0x80, 0x3f));
  ds.set(0x00082111, 'ST', 'short text');
  ds.set(0x00080120, 'UR', 'http://example.com/a b');
  ds.set(0x00081080, 'LO', ['A', 'B']);
  return ds;
}

function item(build: (ds: DataSet) => void, undefinedLength = false): DataSet {
  const ds = new DataSet();
  build(ds);
  ds.undefinedLength = undefinedLength;
  return ds;
}

/** Sequences of both length kinds with items of both kinds, nested three deep, and empty ones. */
function sequences(): DataSet {
  const ds = new DataSet();
  ds.set(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.88.11');
  const inner = DataElement.sequence(0x0040a730, [
    item((i) => {
      i.set(0x0040a010, 'CS', 'CONTAINS');
      i.set(0x0040a040, 'CS', 'TEXT');
      i.set(0x0040a160, 'UT', 'deepest');
    }, true),
    item((i) => i.set(0x0040a010, 'CS', 'HAS PROPERTIES'), false),
  ], 'SQ', false);
  const middle = item((i) => {
    i.set(0x0040a040, 'CS', 'CONTAINER');
    i.add(inner);
  }, true);
  ds.add(DataElement.sequence(0x0040a730, [middle, item(() => {}, false), item(() => {}, true)], 'SQ', true));
  ds.add(DataElement.sequence(0x00081115, [], 'SQ', true)); // empty, undefined length
  ds.add(DataElement.sequence(0x00081140, [], 'SQ', false)); // empty, defined length 0
  ds.add(DataElement.sequence(0x00081199, [item((i) => {
    i.set(0x00081150, 'UI', '1.2.3');
    i.set(0x00081155, 'UI', '1.2.3.4.5');
  }, false)], 'SQ', false));
  return ds;
}

/** Empty values of many VRs, and odd lengths (not conformant, but written by real devices). */
function emptyAndOdd(): DataSet {
  const ds = new DataSet();
  for (const [t, vr] of [[0x00080020, 'DA'], [0x00080050, 'SH'], [0x00080090, 'PN'], [0x00100030, 'DA'], [0x00180050, 'DS'],
    [0x00280010, 'US'], [0x00282000, 'OB'], [0x00189087, 'FD'], [0x0040a160, 'UT']] as const) {
    ds.add(new DataElement(t, vr));
  }
  ds.add(new DataElement(0x00081030, 'LO', ascii('odd'))); // 3 bytes
  ds.add(new DataElement(0x00100020, 'LO', ascii('12345'))); // 5 bytes
  ds.add(new DataElement(0x00660023, 'OB', u8(1, 2, 3))); // odd OB
  return ds;
}

function groupLengths(): DataSet {
  const ds = new DataSet();
  ds.set(0x00080000, 'UL', 999); // wrong on purpose: kept as read
  ds.set(0x00080060, 'CS', 'MR');
  ds.set(0x00100000, 'UL', 18);
  ds.set(0x00100010, 'PN', 'Doe^John');
  return ds;
}

/** Encapsulated pixel data (PS3.5 A.4): a Basic Offset Table and fragments, one of odd-looking size. */
function encapsulated(offsetTable: Uint8Array): DataSet {
  const ds = new DataSet();
  ds.set(0x00280010, 'US', 2);
  ds.set(0x00280011, 'US', 2);
  ds.add(DataElement.encapsulatedPixelData(PIXEL_DATA, 'OB', {
    offsetTable,
    fragments: [u8(0xff, 0xd8, 0xff, 0xe0, 0, 0x10), new Uint8Array(0), u8(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20)],
  }));
  return ds;
}

function builtSets(): ReadonlyArray<[string, DataSet]> {
  const all = new DataSet();
  for (const e of everyVR()) all.add(e);
  for (const e of sequences()) all.add(e);
  return [['every VR', everyVR()], ['sequences', sequences()], ['empty and odd values', emptyAndOdd()], ['group lengths', groupLengths()], ['all together', all]];
}

// ---- whole-buffer round trips ----

for (const [name, enc] of ENCODINGS) {
  for (const [what, ds] of builtSets()) {
    test(`${name}: ${what} re-encode byte-identical`, () => {
      roundTrip(ds, enc);
    });
  }
}

test('values decode the same in every encoding (numbers swapped in Big Endian)', () => {
  for (const [name, enc] of ENCODINGS) {
    const { parsed } = roundTrip(everyVR(), enc);
    assert.equal(parsed.littleEndian, enc.littleEndian, name);
    assert.equal(parsed.number(0x00280010), 512, name);
    assert.equal(parsed.number(0x00189219), -3, name);
    assert.equal(parsed.number(0x00189087), 1000.5, name);
    assert.deepEqual(parsed.tags(0x00280009), [0x00181063, 0x00181065], name);
    assert.deepEqual(parsed.strings(0x00080008), ['ORIGINAL', 'PRIMARY', 'AXIAL'], name);
    assert.equal(parsed.string(0x00100010), 'Doe^Jane', name);
    assert.equal(parsed.string(0x0008002a), '20240131235959.5+0100', name);
    assert.deepEqual(parsed.numbers(0x00660016), [1], name);
    // VRs come back from the wire in explicit VR, from the dictionary in implicit VR: the same here.
    for (const e of everyVR()) assert.equal(parsed.get(e.tag)!.vr, e.vr, `${name} ${e.tag.toString(16)}`);
  }
});

test('Explicit VR Big Endian puts the most significant byte first on the wire', () => {
  const ds = new DataSet();
  ds.set(0x00280010, 'US', 0x0102);
  const bytes = encodeDataSet(ds, EXPLICIT_BE);
  assertSameBytes(bytes, u8(0x00, 0x28, 0x00, 0x10, 0x55, 0x53, 0x00, 0x02, 0x01, 0x02));
  assertSameBytes(encodeDataSet(ds, EXPLICIT_LE), u8(0x28, 0x00, 0x10, 0x00, 0x55, 0x53, 0x02, 0x00, 0x02, 0x01));
  assertSameBytes(encodeDataSet(ds, IMPLICIT_LE), u8(0x28, 0x00, 0x10, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x01));
});

test('sequence and item lengths: defined lengths are computed, undefined ones delimited', () => {
  for (const [name, enc] of ENCODINGS) {
    const { bytes, parsed } = roundTrip(sequences(), enc);
    const outer = parsed.get(0x0040a730)!;
    assert.equal(outer.undefinedLength, true, name);
    assert.equal(outer.items!.length, 3, name);
    assert.deepEqual(outer.items!.map((i) => i.undefinedLength), [true, false, true], name);
    const middle = outer.items![0]!;
    assert.equal(middle.string(0x0040a040), 'CONTAINER');
    const inner = middle.get(0x0040a730)!;
    assert.equal(inner.undefinedLength, false, name);
    assert.deepEqual(inner.items!.map((i) => i.undefinedLength), [true, false], name);
    assert.equal(inner.items![0]!.string(0x0040a160), 'deepest', name);
    assert.equal(inner.items![0]!.parent, middle, `${name}: items know their parent (charset inheritance)`);
    assert.equal(parsed.get(0x00081115)!.items!.length, 0);
    assert.equal(parsed.get(0x00081115)!.undefinedLength, true);
    assert.equal(parsed.get(0x00081140)!.items!.length, 0);
    assert.equal(parsed.get(0x00081140)!.undefinedLength, false);
    assert.equal(parsed.get(0x00081199)!.items![0]!.string(0x00081155), '1.2.3.4.5');
    // the encoding ends with the outer sequence's delimiter
    assert.deepEqual([...bytes.subarray(bytes.length - 8)], enc.littleEndian ? [0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0] : [0xff, 0xfe, 0xe0, 0xdd, 0, 0, 0, 0]);
  }
});

test('a defined-length sequence holding an undefined-length item is written with both lengths right', () => {
  const ds = new DataSet();
  ds.add(DataElement.sequence(0x00081115, [item((i) => i.set(0x0020000e, 'UI', '1.2'), true)], 'SQ', false));
  const bytes = encodeDataSet(ds, EXPLICIT_LE);
  // SQ header (12) + item header (8) + element (8 + 4) + item delimiter (8)
  assert.equal(bytes.length, 12 + 8 + 12 + 8);
  assert.equal(Buffer.from(bytes).readUInt32LE(8), 8 + 12 + 8);
  assert.equal(Buffer.from(bytes).readUInt32LE(16), 0xffffffff);
  roundTrip(ds, EXPLICIT_LE);
});

test('empty values read and write as they are; odd lengths are read as they are and written padded (PS3.5 §7.1.1)', () => {
  for (const [name, enc] of ENCODINGS) {
    const { parsed } = roundTrip(emptyAndOdd(), enc);
    assert.equal(parsed.get(0x00080020)!.valueLength, 0, name);
    assert.equal(parsed.string(0x00080020), undefined, name);
    assert.deepEqual(parsed.numbers(0x00280010), [], name);
    assert.equal(parsed.get(0x00081030)!.valueLength, 4, `${name}: padded`);
    assert.equal(parsed.string(0x00081030), 'odd', name);
    assert.equal(parsed.get(0x00100020)!.valueLength, 6, name);
    assert.deepEqual([...parsed.bytes(0x00660023)!], [1, 2, 3, 0], `${name}: OB padded with NUL`);
  }
  // what a faulty writer sends: odd lengths on the wire
  const raw = Buffer.concat([
    Buffer.from([0x08, 0x00, 0x30, 0x10, 0x4c, 0x4f, 3, 0]), Buffer.from('odd', 'latin1'),
    Buffer.from([0x08, 0x00, 0x16, 0x00, 0x55, 0x49, 5, 0]), Buffer.from('1.2.3', 'latin1'),
    Buffer.from([0x66, 0x00, 0x23, 0x00, 0x4f, 0x42, 0, 0, 3, 0, 0, 0, 1, 2, 3]),
  ]);
  const ds = parseDataSet(raw, EXPLICIT_LE);
  assert.deepEqual([0x00081030, 0x00080016, 0x00660023].map((t) => ds.get(t)!.valueLength), [3, 5, 3], 'read as they are');
  assert.equal(ds.string(0x00081030), 'odd');
  assert.equal(ds.string(0x00080016), '1.2.3');
  const written = encodeDataSet(ds, EXPLICIT_LE);
  assert.equal(written.length, raw.length + 3);
  const again = parseDataSet(written, EXPLICIT_LE);
  assert.deepEqual([...again.bytes(0x00081030)!], [...ascii('odd ')], 'LO padded with a space');
  assert.deepEqual([...again.bytes(0x00080016)!], [...ascii('1.2.3\0')], 'UI padded with NUL');
  assert.deepEqual([...again.bytes(0x00660023)!], [1, 2, 3, 0], 'OB padded with NUL');
  for (let i = 0; i <= raw.length; i++) assertSameBytes(encodeDataSet(parseChunks(splitAt(raw, i), EXPLICIT_LE), EXPLICIT_LE), written, `split at ${i}`);
});

test('group lengths are kept as read, and recomputed when asked', () => {
  const { parsed } = roundTrip(groupLengths(), EXPLICIT_LE);
  assert.equal(parsed.number(0x00080000), 999);
  const fixed = parseDataSet(encodeDataSet(parsed, EXPLICIT_LE, { recalculateGroupLengths: true }), EXPLICIT_LE);
  assert.equal(fixed.number(0x00080000), 8 + 2); // (0008,0060) CS "MR"
  assert.equal(fixed.number(0x00100000), 8 + 8);
  const implicit = parseDataSet(encodeDataSet(parsed, IMPLICIT_LE, { recalculateGroupLengths: true }), IMPLICIT_LE);
  assert.equal(implicit.number(0x00080000), 8 + 2);
});

test('encapsulated pixel data: offset table and fragments read and written back', () => {
  const table = u8(0, 0, 0, 0, 14, 0, 0, 0);
  for (const offsetTable of [table, new Uint8Array(0)]) {
    const { bytes, parsed } = roundTrip(encapsulated(offsetTable), EXPLICIT_LE);
    const e = parsed.get(PIXEL_DATA)!;
    assert.ok(e.encapsulated);
    assert.equal(e.vr, 'OB');
    assert.deepEqual([...e.encapsulated.offsetTable], [...offsetTable]);
    assert.deepEqual(e.encapsulated.fragments.map((f) => f.length), [6, 0, 20]);
    // ends with the sequence delimiter
    assert.deepEqual([...bytes.subarray(bytes.length - 8)], [0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
    // Big Endian encapsulated data is not a transfer syntax, but the codec reads what it writes.
    roundTrip(encapsulated(offsetTable), EXPLICIT_BE);
  }
});

test('encapsulated pixel data cannot be written in Implicit VR', () => {
  assert.throws(() => encodeDataSet(encapsulated(new Uint8Array(0)), IMPLICIT_LE), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_INVALID_ARGUMENT' && e.tag === PIXEL_DATA);
});

// ---- UN of undefined length: an Implicit VR Little Endian sequence (PS3.5 §6.2.2) ----

/** (0009,0010) LO creator; (0009,1010) UN, undefined length, one undefined-length item holding (0008,0060) CS "CT" in implicit VR LE. */
function unSequenceBytes(le: boolean): Uint8Array {
  const b: number[] = [];
  const u16 = (v: number, l = le) => (l ? b.push(v & 0xff, v >> 8) : b.push(v >> 8, v & 0xff));
  const u32 = (v: number, l = le) => (l ? b.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24) : b.push(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff));
  u16(0x0009); u16(0x0010); b.push(0x4c, 0x4f); u16(8); b.push(...ascii('ACME 1.0'));
  u16(0x0009); u16(0x1010); b.push(0x55, 0x4e, 0, 0); u32(0xffffffff);
  // the contents are little endian whatever the outer byte order
  u16(0xfffe, true); u16(0xe000, true); u32(0xffffffff, true);
  u16(0x0008, true); u16(0x0060, true); u32(2, true); b.push(0x43, 0x54);
  u16(0x0008, true); u16(0x1115, true); u32(0xffffffff, true); // a nested SQ, implicit, undefined length
  u16(0xfffe, true); u16(0xe000, true); u32(10, true);
  u16(0x0020, true); u16(0x000e, true); u32(2, true); b.push(0x31, 0x00);
  u16(0xfffe, true); u16(0xe0dd, true); u32(0, true);
  u16(0xfffe, true); u16(0xe00d, true); u32(0, true);
  u16(0xfffe, true); u16(0xe0dd, true); u32(0, true);
  u16(0x0010); u16(0x0010); b.push(0x50, 0x4e); u16(4); b.push(...ascii('A^B '));
  return new Uint8Array(b);
}

test('UN of undefined length is read as an Implicit VR Little Endian sequence and written back identically', () => {
  for (const [name, enc] of [['Explicit VR Little Endian', EXPLICIT_LE], ['Explicit VR Big Endian', EXPLICIT_BE]] as const) {
    const bytes = unSequenceBytes(enc.littleEndian);
    const ds = parseDataSet(bytes, enc);
    const un = ds.get(0x00091010)!;
    assert.equal(un.vr, 'UN', name);
    assert.equal(un.undefinedLength, true, name);
    assert.equal(un.items!.length, 1, name);
    const it = un.items![0]!;
    assert.equal(it.littleEndian, true, `${name}: the item is little endian`);
    assert.equal(it.get(0x00080060)!.vr, 'CS', `${name}: VR from the dictionary`);
    assert.equal(it.string(0x00080060), 'CT', name);
    assert.equal(it.get(0x00081115)!.items![0]!.string(0x0020000e), '1', name);
    assert.equal(ds.string(0x00100010), 'A^B', `${name}: the data set goes on after the UN sequence`);
    assertSameBytes(encodeDataSet(ds, enc), bytes, name);
    for (let i = 0; i <= bytes.length; i++) assertSameBytes(encodeDataSet(parseChunks(splitAt(bytes, i), enc), enc), bytes, `${name} split at ${i}`);
  }
});

test('UN of undefined length transcodes between byte orders with its contents left little endian', () => {
  const le = parseDataSet(unSequenceBytes(true), EXPLICIT_LE);
  assertSameBytes(encodeDataSet(le, EXPLICIT_BE), unSequenceBytes(false));
  assertSameBytes(encodeDataSet(parseDataSet(unSequenceBytes(false), EXPLICIT_BE), EXPLICIT_LE), unSequenceBytes(true));
});

test('an item tag where an element should be, and a value running past its item, are errors with offset and tag', () => {
  const stray = u8(0xfe, 0xff, 0x00, 0xe0, 0, 0, 0, 0);
  assert.throws(() => parseDataSet(stray, EXPLICIT_LE), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_BAD_ITEM' && e.offset === 0 && e.tag === ITEM);
  // SQ of defined length 20 with an item of defined length 12 holding an element of 8 + 10 bytes
  const b = Buffer.alloc(12 + 8 + 18);
  b.writeUInt16LE(0x0008, 0); b.writeUInt16LE(0x1115, 2); b.write('SQ', 4, 'latin1'); b.writeUInt32LE(8 + 18, 8);
  b.writeUInt16LE(0xfffe, 12); b.writeUInt16LE(0xe000, 14); b.writeUInt32LE(12, 16);
  b.writeUInt16LE(0x0020, 20); b.writeUInt16LE(0x000e, 22); b.write('UI', 24, 'latin1'); b.writeUInt16LE(10, 26);
  assert.throws(() => parseDataSet(b, EXPLICIT_LE), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_BAD_LENGTH' && e.offset === 20 && e.tag === 0x0020000e);
});

// ---- split at every offset ----

for (const [name, enc] of ENCODINGS) {
  test(`${name}: split into two chunks at every offset, and fed one byte at a time, parses the same`, () => {
    const sets = [...builtSets()];
    if (enc.explicitVR) sets.push(['encapsulated', encapsulated(u8(0, 0, 0, 0, 14, 0, 0, 0))]);
    for (const [what, ds] of sets) {
      const bytes = encodeDataSet(ds, enc);
      for (let i = 0; i <= bytes.length; i++) {
        assertSameBytes(encodeDataSet(parseChunks(splitAt(bytes, i), enc), enc), bytes, `${what} split at ${i}`);
      }
      assertSameBytes(encodeDataSet(parseChunks(oneByteChunks(bytes), enc), enc), bytes, `${what} in 1-byte chunks`);
    }
  });

  test(`${name}: bulk steps (values above the threshold) at every split offset`, () => {
    const ds = new DataSet();
    ds.set(0x00080060, 'CS', 'OT');
    ds.set(0x00282000, 'OB', new Uint8Array(40).map((_, i) => i));
    ds.add(DataElement.sequence(0x00081115, [item((i) => i.set(0x00660023, 'OW', new Uint8Array(34).map((_, k) => 100 + k)), true)], 'SQ', false));
    ds.set(0x00100010, 'PN', 'Bulk^Value^Test^Name^Long');
    if (enc.explicitVR) {
      ds.add(DataElement.encapsulatedPixelData(PIXEL_DATA, 'OB', { offsetTable: new Uint8Array(0), fragments: [new Uint8Array(30).fill(7), u8(1, 2)] }));
    }
    const bytes = encodeDataSet(ds, enc);
    for (const threshold of [0, 16]) {
      for (let i = 0; i <= bytes.length; i++) {
        assertSameBytes(encodeDataSet(parseChunks(splitAt(bytes, i), enc, threshold), enc), bytes, `threshold ${threshold} split at ${i}`);
      }
      assertSameBytes(encodeDataSet(parseChunks(oneByteChunks(bytes), enc, threshold), enc), bytes, `threshold ${threshold} in 1-byte chunks`);
    }
  });
}

test('split at every offset: an input cut anywhere is ERR_DICOM_TRUNCATED (never a wrong success)', () => {
  for (const [name, enc] of ENCODINGS) {
    const bytes = encodeDataSet(sequences(), enc);
    for (let cut = 1; cut < bytes.length; cut++) {
      const part = bytes.subarray(0, cut);
      let result: DataSet | undefined;
      try {
        result = parseChunks([part], enc);
      } catch (e) {
        assert.ok(e instanceof DicomError, `${name} cut at ${cut}: ${String(e)}`);
        assert.equal(e.code, 'ERR_DICOM_TRUNCATED', `${name} cut at ${cut}: ${e.message}`);
        assert.equal(typeof e.offset, 'number');
        assert.ok(e.offset! <= cut, `${name} cut at ${cut}: offset ${e.offset}`);
        continue;
      }
      // Only a cut between two top-level elements may succeed, with the elements before it (and
      // fewer than 8 NUL bytes after them, read as trailing padding).
      const again = encodeDataSet(result, enc);
      assertSameBytes(again, part.subarray(0, again.length), `${name} cut at ${cut} succeeded with other bytes`);
      const rest = part.subarray(again.length);
      assert.ok(rest.length < 8 && rest.every((x) => x === 0), `${name} cut at ${cut}: ${rest.length} bytes ignored`);
    }
  }
});

// ---- property tests ----

type Spec =
  | { tag: number; vr: VR; bytes: Uint8Array }
  | { tag: number; vr: 'SQ' | 'UN'; undefinedLength: boolean; items: { undefinedLength: boolean; elements: Spec[] }[] };

/** Standard tags per VR whose dictionary VR is exactly that one: Implicit VR reads them back as such. */
const TAGS_BY_VR = new Map<VR, number[]>();
for (const entry of allTagEntries()) {
  const g = entry.tag >>> 16;
  if (entry.vrs.length !== 1 || g === 0x0002 || g === 0xfffe || g === 0x7fe0 || (entry.tag & 0xffff) === 0 || entry.tag === 0x00080005) continue;
  const list = TAGS_BY_VR.get(entry.vrs[0]!) ?? [];
  if (list.length < 24) list.push(entry.tag);
  TAGS_BY_VR.set(entry.vrs[0]!, list);
}
const VALUE_VRS = VRS.filter((vr) => vr !== 'SQ' && (vr === 'UN' || (TAGS_BY_VR.get(vr)?.length ?? 0) > 0));

test('the dictionary offers tags for every VR the property tests use', () => {
  assert.ok(VALUE_VRS.length >= 28, `only ${VALUE_VRS.join(' ')}`);
  assert.ok((TAGS_BY_VR.get('SQ')?.length ?? 0) > 5);
});

/** A private tag with no creator: its VR in Implicit VR is UN, so any bytes read back as they were. */
const privateTag = fc.record({ group: fc.integer({ min: 0x0009, max: 0x0fff }), element: fc.integer({ min: 0x1000, max: 0xffff }) })
  .map(({ group, element }) => tag(group | 1, element));

function valueBytes(vr: VR): fc.Arbitrary<Uint8Array> {
  const unit = binaryValueSize(vr);
  if (unit > 0) return fc.integer({ min: 0, max: 6 }).chain((n) => fc.uint8Array({ minLength: n * unit, maxLength: n * unit }));
  if (isStringVR(vr)) {
    const chars = fc.constantFrom(...' ABCXYZ0123456789.^-+\\'.split(''));
    return fc.array(chars, { maxLength: 24 }).map((cs) => ascii(cs.join('')));
  }
  return fc.uint8Array({ maxLength: 24 }); // OB, UN: any length, odd ones too
}

const valueSpec: fc.Arbitrary<Spec> = fc.constantFrom(...VALUE_VRS).chain((vr) =>
  fc.record({
    tag: vr === 'UN' ? privateTag : fc.oneof(fc.constantFrom(...TAGS_BY_VR.get(vr)!), privateTag),
    vr: fc.constant(vr),
    bytes: valueBytes(vr),
  }),
);

function dataSetSpec(depth: number): fc.Arbitrary<Spec[]> {
  const sequenceSpec: fc.Arbitrary<Spec> = fc.record({
    items: fc.array(fc.record({ undefinedLength: fc.boolean(), elements: depth > 0 ? fc.constant(null).chain(() => dataSetSpec(depth - 1)) : fc.constant([] as Spec[]) }), { maxLength: 3 }),
    undefinedLength: fc.boolean(),
    standard: fc.boolean(),
    asUN: fc.boolean(),
  }).chain(({ items, undefinedLength, standard, asUN }) =>
    (standard ? fc.constantFrom(...TAGS_BY_VR.get('SQ')!) : privateTag).map((t): Spec => ({
      tag: t,
      // A private sequence must have undefined length for Implicit VR to read it as one; UN of
      // undefined length is an implicit VR sequence inside explicit VR (PS3.5 §6.2.2).
      vr: !standard && asUN ? 'UN' : 'SQ',
      undefinedLength: standard ? undefinedLength : true,
      items,
    })),
  );
  const element = depth > 0 ? fc.oneof({ weight: 4, arbitrary: valueSpec }, { weight: 1, arbitrary: sequenceSpec }) : valueSpec;
  return fc.uniqueArray(element, { maxLength: 8, selector: (s) => s.tag });
}

function build(specs: readonly Spec[], parent: DataSet | null = null): DataSet {
  const ds = new DataSet({ littleEndian: true, parent });
  for (const s of specs) {
    if ('items' in s) {
      const items = s.items.map((i) => {
        const it = build(i.elements, ds);
        it.undefinedLength = i.undefinedLength;
        return it;
      });
      ds.add(DataElement.sequence(s.tag, items, s.vr, s.undefinedLength));
    } else {
      ds.add(new DataElement(s.tag, s.vr, s.bytes));
    }
  }
  return ds;
}

const randomDataSet = dataSetSpec(3).map((specs) => build(specs));
const RUNS = 300;

for (const [name, enc] of ENCODINGS) {
  test(`property: random data sets in ${name} parse and re-encode to identical bytes`, () => {
    fc.assert(
      fc.property(randomDataSet, (ds) => {
        const bytes = encodeDataSet(ds, enc);
        assertSameBytes(encodeDataSet(parseDataSet(bytes, enc), enc), bytes);
      }),
      { numRuns: RUNS },
    );
  });

  test(`property: random data sets in ${name} parse the same when split at a random offset`, () => {
    fc.assert(
      fc.property(randomDataSet, fc.double({ min: 0, max: 1, noNaN: true }), (ds, at) => {
        const bytes = encodeDataSet(ds, enc);
        const i = Math.floor(at * bytes.length);
        assertSameBytes(encodeDataSet(parseChunks(splitAt(bytes, i), enc), enc), bytes, `split at ${i}`);
      }),
      { numRuns: RUNS },
    );
  });
}

test('property: Little Endian -> Big Endian -> Little Endian returns the original bytes', () => {
  fc.assert(
    fc.property(randomDataSet, (ds) => {
      const le = encodeDataSet(ds, EXPLICIT_LE);
      const be = encodeDataSet(parseDataSet(le, EXPLICIT_LE), EXPLICIT_BE);
      const parsedBE = parseDataSet(be, EXPLICIT_BE);
      assertSameBytes(encodeDataSet(parsedBE, EXPLICIT_BE), be, 'Big Endian re-encoding');
      assertSameBytes(encodeDataSet(parsedBE, EXPLICIT_LE), le, 'back to Little Endian');
      // and the in-code data set (little endian values) straight to Big Endian gives the same bytes
      assertSameBytes(encodeDataSet(ds, EXPLICIT_BE), be, 'direct Big Endian encoding');
    }),
    { numRuns: RUNS },
  );
});

test('property: Explicit -> Implicit VR Little Endian keeps every value byte (VRs come from the dictionary)', () => {
  fc.assert(
    fc.property(randomDataSet, (ds) => {
      const implicit = encodeDataSet(ds, IMPLICIT_LE);
      const viaExplicit = encodeDataSet(parseDataSet(encodeDataSet(ds, EXPLICIT_LE), EXPLICIT_LE), IMPLICIT_LE);
      assertSameBytes(viaExplicit, implicit);
      const viaBE = encodeDataSet(parseDataSet(encodeDataSet(ds, EXPLICIT_BE), EXPLICIT_BE), IMPLICIT_LE);
      assertSameBytes(viaBE, implicit, 'via Big Endian');
    }),
    { numRuns: RUNS },
  );
});

test('a sequence delimiter closes an undefined-length sequence even straight after its header', () => {
  const b = Buffer.alloc(12 + 8);
  b.writeUInt16LE(0x0008, 0); b.writeUInt16LE(0x1115, 2); b.write('SQ', 4, 'latin1'); b.writeUInt32LE(0xffffffff, 8);
  b.writeUInt16LE(SEQUENCE_DELIMITATION >>> 16, 12); b.writeUInt16LE(SEQUENCE_DELIMITATION & 0xffff, 14);
  const ds = parseDataSet(b, EXPLICIT_LE);
  assert.equal(ds.get(0x00081115)!.items!.length, 0);
  assertSameBytes(encodeDataSet(ds, EXPLICIT_LE), b);
});

test('the random data sets are not trivial (nesting, UN sequences, every VR)', () => {
  const sample = fc.sample(randomDataSet, { numRuns: 300, seed: 42 });
  let maxDepth = 0, unSequences = 0, bytes = 0;
  const vrs = new Set<VR>();
  const walk = (ds: DataSet, depth: number): void => {
    maxDepth = Math.max(maxDepth, depth);
    for (const e of ds) {
      vrs.add(e.vr);
      if (e.items && e.vr === 'UN') unSequences++;
      for (const it of e.items ?? []) walk(it, depth + 1);
    }
  };
  for (const ds of sample) {
    walk(ds, 0);
    bytes += encodeDataSet(ds, EXPLICIT_LE).length;
  }
  assert.ok(maxDepth >= 3, `max depth ${maxDepth}`);
  assert.ok(unSequences > 10, `${unSequences} UN sequences`);
  assert.ok(vrs.size >= VALUE_VRS.length, `VRs seen: ${[...vrs].join(' ')}`);
  assert.ok(bytes / sample.length > 150, `mean size ${bytes / sample.length}`);
});
