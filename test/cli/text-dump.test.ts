/**
 * The text dump on data sets built in code: layout, sequences, encapsulated pixel data, bulk values,
 * private elements and value truncation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataSet } from '../../src/data/data-set.js';
import { DataElement } from '../../src/data/element.js';
import { BulkData } from '../../src/data/bulk-data.js';
import { textDump, type DumpableFile } from '../../src/cli/text-dump.js';

const EXPLICIT_LE = '1.2.840.10008.1.2.1';

function file(dataSet: DataSet, transferSyntaxUid = EXPLICIT_LE): DumpableFile {
  const meta = new DataSet();
  meta.set(0x00020010, 'UI', transferSyntaxUid);
  return { preamble: new Uint8Array(128), meta, dataSet, transferSyntaxUid };
}

function lineOf(dump: string, tagText: string): string {
  const found = dump.split('\n').find((l) => l.trimStart().startsWith(tagText));
  assert.ok(found, `no line for ${tagText} in:\n${dump}`);
  return found;
}

test('one line per element: tag, VR, value in brackets, then length, VM and keyword', () => {
  const ds = new DataSet();
  ds.set('PatientName', undefined, 'Doe^John');
  ds.set(0x00080008, 'CS', ['ORIGINAL', 'PRIMARY', 'AXIAL']);
  ds.set(0x00280010, 'US', 512);
  ds.set(0x00080050, 'SH', null);
  const dump = textDump(file(ds));
  assert.match(lineOf(dump, '(0010,0010)'), /^\(0010,0010\) PN \[Doe\^John\] +#   8, 1 PatientName$/);
  assert.match(lineOf(dump, '(0008,0008)'), /^\(0008,0008\) CS \[ORIGINAL\\PRIMARY\\AXIAL\] +#  22, 3 /);
  assert.match(lineOf(dump, '(0028,0010)'), /^\(0028,0010\) US 512 +#   2, 1 /);
  assert.match(lineOf(dump, '(0008,0050)'), /^\(0008,0050\) SH \(no value available\) +#   0, 0 /);
  // The comments start in one column.
  const columns = ['(0010,0010)', '(0008,0008)', '(0028,0010)'].map((t) => lineOf(dump, t).indexOf(' # '));
  assert.equal(new Set(columns).size, 1);
});

test('the File Meta Information comes first, then the data set with its transfer syntax', () => {
  const ds = new DataSet();
  ds.set('PatientName', undefined, 'A');
  const dump = textDump(file(ds), { source: 'x.dcm' });
  assert.ok(dump.startsWith('# File: x.dcm\n'));
  assert.ok(dump.indexOf('# File Meta Information') < dump.indexOf('(0002,0010)'));
  assert.ok(dump.indexOf('(0002,0010)') < dump.indexOf('# Data Set'));
  assert.ok(dump.indexOf('# Data Set') < dump.indexOf('(0010,0010)'));
  assert.match(lineOf(dump, '(0002,0010)'), /UI \[1\.2\.840\.10008\.1\.2\.1\] +# +20, 1 TransferSyntaxUID/);
  assert.ok(!textDump(file(ds), { meta: false }).includes('(0002,0010)'));
});

test('sequences and items are indented, with item and delimitation lines', () => {
  const item = new DataSet();
  item.set(0x00100020, 'LO', 'ID1');
  item.undefinedLength = true;
  const inner = new DataSet();
  inner.set(0x00080100, 'SH', 'C1');
  item.set(0x0040a043, 'SQ', [inner]);
  const ds = new DataSet();
  ds.set(0x00101002, 'SQ', [item]);
  const lines = textDump(file(ds)).split('\n');
  const start = lines.findIndex((l) => l.startsWith('(0010,1002) SQ'));
  assert.match(lines[start]!, /\(Sequence with undefined length #=1\) +# u\/l, 1 /);
  assert.match(lines[start + 1]!, /^ {2}\(FFFE,E000\) na \(Item with undefined length #=2\) +# u\/l, 1 Item$/);
  assert.match(lines[start + 2]!, /^ {4}\(0010,0020\) LO \[ID1\]/);
  assert.match(lines[start + 3]!, /^ {4}\(0040,A043\) SQ \(Sequence with undefined length #=1\)/);
  // An explicit-length item inside: its length is what it encodes to (8 + 2 bytes, explicit VR).
  assert.match(lines[start + 4]!, /^ {6}\(FFFE,E000\) na \(Item with explicit length #=1\) +#  10, 1 Item$/);
  assert.match(lines[start + 5]!, /^ {8}\(0008,0100\) SH \[C1\]/);
  assert.match(lines[start + 6]!, /^ {4}\(FFFE,E0DD\) na \(SequenceDelimitationItem\)/);
  assert.match(lines[start + 7]!, /^ {2}\(FFFE,E00D\) na \(ItemDelimitationItem\)/);
  assert.match(lines[start + 8]!, /^\(FFFE,E0DD\) na \(SequenceDelimitationItem\)/);
});

test('encapsulated pixel data shows the offset table and each fragment with its length', () => {
  const ds = new DataSet();
  const table = new Uint8Array([0, 0, 0, 0, 0x10, 0, 0, 0]);
  ds.add(DataElement.encapsulatedPixelData(0x7fe00010, 'OB', {
    offsetTable: table,
    fragments: [new Uint8Array([0xff, 0xd8, 0xff, 0xe0]), new BulkData('/nonexistent', 4096, 100000)],
  }));
  const lines = textDump(file(ds, '1.2.840.10008.1.2.4.50')).split('\n');
  const start = lines.findIndex((l) => l.startsWith('(7FE0,0010)'));
  assert.match(lines[start]!, /OB \(PixelSequence #=3\) +# u\/l, 1 /);
  assert.match(lines[start + 1]!, /^ {2}\(FFFE,E000\) pi 0\\16 +#   8, 2 Basic Offset Table$/);
  assert.match(lines[start + 2]!, /^ {2}\(FFFE,E000\) pi ff\\d8\\ff\\e0 +#   4, 1 Fragment 1$/);
  assert.match(lines[start + 3]!, /^ {2}\(FFFE,E000\) pi \(not loaded: 100000 bytes at offset 4096\) +# 100000, 1 Fragment 2$/);
  assert.match(lines[start + 4]!, /^\(FFFE,E0DD\) na \(SequenceDelimitationItem\)/);
});

test('a bulk value shows its length and is not read', () => {
  const ds = new DataSet();
  // The path does not exist: reading it would throw.
  ds.add(DataElement.bulkData(0x7fe00010, 'OW', new BulkData('/nonexistent/file.dcm', 1024, 2_000_000_000)));
  assert.match(lineOf(textDump(file(ds)), '(7FE0,0010)'), /OW \(not loaded: 2000000000 bytes at offset 1024\) +# 2000000000, 1 /);
});

test('private elements name their private creator', () => {
  const ds = new DataSet();
  ds.set(0x00090010, 'LO', 'ACME 1.0');
  ds.set(0x00091001, 'LO', 'x');
  ds.set(0x00111001, 'UN', new Uint8Array([1, 2]));
  const dump = textDump(file(ds));
  assert.match(lineOf(dump, '(0009,0010)'), /# +8, 1 PrivateCreator$/);
  assert.match(lineOf(dump, '(0009,1001)'), /# +2, 1 PrivateTag \(ACME 1\.0\)$/);
  assert.match(lineOf(dump, '(0011,1001)'), /UN 01\\02 +# +2, 1 PrivateTag \(no private creator\)$/);
});

test('long values are cut at --max-length with "..."', () => {
  const ds = new DataSet();
  ds.set(0x00081030, 'LO', 'x'.repeat(60));
  ds.set(0x00282000, 'OB', new Uint8Array(1000).fill(0xab));
  ds.set(0x00283006, 'US', Array.from({ length: 500 }, (_, i) => i));
  const dump = textDump(file(ds), { maxLength: 10 });
  assert.match(lineOf(dump, '(0008,1030)'), /LO \[x{10}\.\.\.\] +#  60, 1 /);
  assert.match(lineOf(dump, '(0028,2000)'), /OB ab\\ab\\ab\\a\.\.\. +# 1000, 1 /);
  assert.match(lineOf(dump, '(0028,3006)'), /US 0\\1\\2\\3\\4\\\.\.\. +# 1000, 500 /);
  assert.match(lineOf(textDump(file(ds), { maxLength: Infinity }), '(0008,1030)'), /\[x{60}\]/);
});

test('numbers of binary VRs and tags', () => {
  const ds = new DataSet();
  ds.set(0x00189219, 'FD', [1.5, -2]);
  ds.set(0x00209165, 'AT', [0x00100010]);
  ds.set(0x00280106, 'SS', -5);
  const dump = textDump(file(ds));
  assert.match(lineOf(dump, '(0018,9219)'), /FD 1\.5\\-2 +#  16, 2 /);
  assert.match(lineOf(dump, '(0020,9165)'), /AT \(0010,0010\) +#   4, 1 /);
  assert.match(lineOf(dump, '(0028,0106)'), /SS -5 /);
});
