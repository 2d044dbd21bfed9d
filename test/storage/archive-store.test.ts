import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DicomError } from '../../src/core/dicom-error.js';
import { DataSet } from '../../src/data/data-set.js';
import { DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from '../../src/data/transfer-syntax.js';
import { encodeDataSet } from '../../src/data/writer.js';
import { buildFileMeta } from '../../src/media/file-meta.js';
import { encodeFile, parseBuffer } from '../../src/media/part10.js';
import { parseQidoQuery } from '../../src/query/qido-parameters.js';
import { ArchiveStore } from '../../src/storage/archive-store.js';
import { FilesystemBlobStore } from '../../src/storage/filesystem/filesystem-blob-store.js';
import { BULK_DATA_MARKER_PREFIX } from '../../src/storage/index-record.js';
import type { BlobReader, BlobStore } from '../../src/storage/ports.js';
import { SqliteIndexStore } from '../../src/storage/sqlite/sqlite-index-store.js';
import { collect, dataSetChunks, instanceDataSet, iterate, openArchive, readAll, storeInput, tempDir } from './helpers.js';

function isCode(code: string, text?: RegExp) {
  return (e: unknown) => e instanceof DicomError && e.code === code && (text === undefined || text.test(e.message));
}

const spec = (i: number, more: Record<string, string> = {}) => ({
  PatientID: 'P1', PatientName: 'Doe^Jane', StudyInstanceUID: '1.2.3', SeriesInstanceUID: '1.2.3.1', SOPInstanceUID: `1.2.3.1.${i}`, StudyDate: '20240501', ...more,
});

async function blobCount(archive: ArchiveStore): Promise<number> {
  return (await collect(archive.blobs.list())).length;
}

test('storeInstance: durable and indexed; the file reads back byte-identical, the data set range is what was sent', async (t) => {
  const archive = openArchive(tempDir(t));
  t.after(() => void archive.close());
  const ds = instanceDataSet(spec(1), { pixelBytes: 600_000 });
  const sent = Buffer.concat(dataSetChunks(ds));
  const result = await archive.storeInstance(storeInput(ds, 'MODALITY1'));
  assert.equal(result.status, 'inserted');
  assert.equal(result.sopInstanceUid, '1.2.3.1.1');
  assert.deepEqual(result.warnings, []);
  const { instance, stream } = await archive.openInstance('1.2.3.1.1');
  const file = await readAll(stream);
  assert.equal(file.length, result.size);
  assert.equal(instance.sourceAet, 'MODALITY1');
  const parsed = parseBuffer(file);
  assert.equal(parsed.meta.string(0x00020003), '1.2.3.1.1');
  assert.equal(parsed.meta.string(0x00020016), 'MODALITY1');
  assert.deepEqual(file.subarray(parsed.dataSetOffset), sent);
  assert.equal(instance.dataSetOffset, parsed.dataSetOffset);
  const dataSetOnly = await readAll((await archive.openInstance('1.2.3.1.1', 'data-set')).stream);
  assert.deepEqual(dataSetOnly, sent);

  const [study] = await collect(archive.index.find(parseQidoQuery('PatientName=doe*', { level: 'STUDY' }), 'STUDY'));
  assert.equal(study!.derived?.NumberOfStudyRelatedInstances, 1);
  const [metadata] = await collect(archive.index.instanceMetadata('1.2.3'));
  const json = JSON.parse(metadata!.json) as Record<string, { BulkDataURI?: string }>;
  assert.equal(json['7FE00010']!.BulkDataURI, `${BULK_DATA_MARKER_PREFIX}7FE00010`, 'pixel data is a marker');
  assert.equal(Object.keys(json).some((k) => k.startsWith('0002')), false, 'no File Meta Information in the metadata');
  await assert.rejects(archive.openInstance('9.9'), isCode('ERR_DICOM_STORAGE_NOT_FOUND'));
});

test('storeInstance accepts ready Part 10 files (STOW-RS, import), in any transfer syntax, deflated too', async (t) => {
  const archive = openArchive(tempDir(t));
  t.after(() => void archive.close());
  const cases: Array<[string, number]> = [[IMPLICIT_VR_LITTLE_ENDIAN, 2], [EXPLICIT_VR_BIG_ENDIAN, 3], [DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, 4]];
  for (const [ts, i] of cases) {
    const ds = instanceDataSet(spec(i, { InstitutionAddress: `Street ${i}` }), { pixelBytes: 100_000 });
    const meta = buildFileMeta({ sopClassUid: ds.string('SOPClassUID')!, sopInstanceUid: ds.string('SOPInstanceUID')!, transferSyntaxUid: ts });
    const bytes = encodeFile({ preamble: null, meta, dataSet: ds, transferSyntaxUid: '1.2.840.10008.1.2.1', warnings: [] }, { transferSyntaxUid: ts });
    const r = await archive.storeInstance({ part10: iterate([bytes.subarray(0, 1000), bytes.subarray(1000)]), sourceAet: 'STOW' });
    assert.equal(r.status, 'inserted', ts);
    assert.equal(r.size, bytes.length);
    const stored = await readAll((await archive.openInstance(`1.2.3.1.${i}`)).stream);
    assert.deepEqual(stored, Buffer.from(bytes), ts);
    assert.equal((await archive.index.getInstance(`1.2.3.1.${i}`))!.transferSyntaxUid, ts);
  }
  const metadata = await collect(archive.index.instanceMetadata('1.2.3'));
  assert.deepEqual(metadata.map((m) => (JSON.parse(m.json) as Record<string, { Value: string[] }>)['00080081']!.Value[0]), ['Street 2', 'Street 3', 'Street 4']);
});

test('bad objects are refused with nothing left behind: not Part 10, missing UIDs, UIDs not as sent', async (t) => {
  const archive = openArchive(tempDir(t));
  t.after(() => void archive.close());
  const ds = instanceDataSet(spec(1));
  const bare = encodeDataSet(ds, { explicitVR: true, littleEndian: true });
  await assert.rejects(archive.storeInstance({ part10: iterate([bare]) }), isCode('ERR_DICOM_STORAGE_BAD_OBJECT', /no File Meta Information/));
  await assert.rejects(archive.storeInstance({ part10: iterate([new Uint8Array(300).fill(0x41)]) }), isCode('ERR_DICOM_STORAGE_BAD_OBJECT', /does not parse/));
  const input = storeInput(ds);
  await assert.rejects(archive.storeInstance({ ...input, sopInstanceUid: '9.9.9' }), isCode('ERR_DICOM_STORAGE_BAD_OBJECT', /SOP Instance UID 1\.2\.3\.1\.1 is not the 9\.9\.9/));
  const noSeries = instanceDataSet({ ...spec(2), SeriesInstanceUID: undefined });
  await assert.rejects(archive.storeInstance(storeInput(noSeries)), isCode('ERR_DICOM_STORAGE_BAD_OBJECT', /SeriesInstanceUID/));
  // A data set cut short (an association aborted mid-object would not get here; a lying peer might).
  const cut = dataSetChunks(instanceDataSet(spec(3), { pixelBytes: 50_000 }));
  await assert.rejects(archive.storeInstance({ ...storeInput(instanceDataSet(spec(3))), dataSet: iterate([Buffer.concat(cut).subarray(0, 40_000)]) }), isCode('ERR_DICOM_STORAGE_BAD_OBJECT'));
  assert.equal(await blobCount(archive), 0);
  assert.equal((await archive.index.stats()).instances, 0);
});

test('a source that fails mid-stream leaves no blob, no temporary file, no index entry', async (t) => {
  const dir = tempDir(t);
  const archive = openArchive(dir);
  t.after(() => void archive.close());
  const ds = instanceDataSet(spec(1), { pixelBytes: 300_000 });
  const chunks = dataSetChunks(ds);
  async function* aborted() {
    yield* chunks.slice(0, 3);
    throw new DicomError('ERR_DICOM_ASSOCIATION_ABORTED', 'A-ABORT');
  }
  await assert.rejects(archive.storeInstance({ ...storeInput(ds), dataSet: aborted() }), /A-ABORT/);
  assert.equal(await blobCount(archive), 0);
  assert.deepEqual(await archive.blobs.recover(), []);
  assert.equal(await archive.index.getInstance('1.2.3.1.1'), undefined);
});

test('duplicates through the archive: keep drains and stores nothing, reject, overwrite replaces the bytes', async (t) => {
  const archive = openArchive(tempDir(t));
  t.after(() => void archive.close());
  const first = instanceDataSet(spec(1, { StudyDescription: 'FIRST' }));
  const second = instanceDataSet(spec(1, { StudyDescription: 'SECOND' }));
  const r1 = await archive.storeInstance(storeInput(first));
  let drained = false;
  async function* watched() {
    yield* dataSetChunks(second);
    drained = true;
  }
  const kept = await archive.storeInstance({ ...storeInput(second), dataSet: watched() }, 'keep');
  assert.deepEqual(kept, { status: 'duplicate-kept', sopInstanceUid: '1.2.3.1.1', blobKey: undefined, size: 0, warnings: [] });
  assert.ok(drained, 'the received bytes were consumed');
  assert.equal((await archive.storeInstance(storeInput(second), 'reject')).status, 'rejected');
  assert.equal(await blobCount(archive), 1);
  const over = await archive.storeInstance(storeInput(second), 'overwrite');
  assert.equal(over.status, 'overwritten');
  assert.notEqual(over.blobKey, r1.blobKey);
  assert.equal(await archive.blobs.exists(r1.blobKey!), false, 'the replaced blob is deleted');
  assert.deepEqual(await collect(archive.blobs.list()), [over.blobKey]);
  const stored = parseBuffer(await readAll((await archive.openInstance('1.2.3.1.1')).stream));
  assert.equal(stored.dataSet.string('StudyDescription'), 'SECOND');
  // Part 10 input has no UID up front: the index decides, and the new blob is removed.
  const file = encodeFile({ preamble: null, meta: buildFileMeta({ sopClassUid: second.string('SOPClassUID')!, sopInstanceUid: '1.2.3.1.1', transferSyntaxUid: '1.2.840.10008.1.2.1' }), dataSet: second, transferSyntaxUid: '1.2.840.10008.1.2.1', warnings: [] });
  assert.equal((await archive.storeInstance({ part10: iterate([file]) }, 'keep')).status, 'duplicate-kept');
  assert.equal(await blobCount(archive), 1);
});

test('an index failure removes the new blob; nothing is indexed', async (t) => {
  const archive = openArchive(tempDir(t));
  t.after(() => void archive.close());
  await archive.storeInstance(storeInput(instanceDataSet(spec(1))));
  const conflicting = instanceDataSet({ ...spec(2), StudyInstanceUID: '7.7' });
  await assert.rejects(archive.storeInstance(storeInput(conflicting)), isCode('ERR_DICOM_STORAGE_CONFLICT'));
  assert.equal(await blobCount(archive), 1);
  assert.equal((await archive.index.stats()).instances, 1);
});

test('inconsistent patient data is stored, indexed under the first values, and reported', async (t) => {
  const archive = openArchive(tempDir(t));
  t.after(() => void archive.close());
  await archive.storeInstance(storeInput(instanceDataSet(spec(1))));
  const r = await archive.storeInstance(storeInput(instanceDataSet(spec(2, { PatientName: 'Doe^Janet' }))));
  assert.equal(r.status, 'inserted');
  assert.deepEqual(r.warnings, ['PATIENT P1: PatientName received as "Doe^Janet" differs from the indexed "Doe^Jane"; the indexed value is kept']);
  // The object itself keeps what it was sent with.
  const stored = parseBuffer(await readAll((await archive.openInstance('1.2.3.1.2')).stream));
  assert.equal(stored.dataSet.string('PatientName'), 'Doe^Janet');
});

test('deleting removes index entries, then blobs', async (t) => {
  const archive = openArchive(tempDir(t));
  t.after(() => void archive.close());
  for (let i = 1; i <= 3; i++) await archive.storeInstance(storeInput(instanceDataSet(spec(i))));
  await archive.storeInstance(storeInput(instanceDataSet({ ...spec(9), StudyInstanceUID: '4.5', SeriesInstanceUID: '4.5.1' })));
  const r = await archive.deleteStudy('1.2.3');
  assert.equal(r.instances, 3);
  for (const key of r.blobKeys) assert.equal(await archive.blobs.exists(key), false);
  assert.equal(await blobCount(archive), 1);
  assert.equal((await archive.deletePatient('P1')).instances, 1);
  assert.equal(await blobCount(archive), 0);
  assert.deepEqual(await archive.index.stats(), { patients: 0, studies: 0, series: 0, instances: 0, totalSize: 0 });
});

test('startup check: temporary files removed, orphan blobs and missing blobs reported, orphans removed on request', async (t) => {
  const dir = tempDir(t);
  let archive = openArchive(dir);
  for (let i = 1; i <= 3; i++) await archive.storeInstance(storeInput(instanceDataSet(spec(i))));
  const blobs = archive.blobs as FilesystemBlobStore;
  // As a crash would leave them: a blob stored but not indexed, and a write cut short.
  await blobs.put('orphan-1', iterate([new Uint8Array(10)]));
  const tmp = join(blobs.directoryOf('lost'), '.lost.0123456789ab.tmp');
  await blobs.put('lost', iterate([new Uint8Array(1)]));
  await blobs.delete('lost');
  writeFileSync(tmp, new Uint8Array(100));
  // And damage from outside: an indexed object's file removed.
  const damaged = (await archive.index.getInstance('1.2.3.1.2'))!;
  unlinkSync(blobs.pathOf(damaged.blobKey));
  await archive.close();

  archive = openArchive(dir);
  t.after(() => void archive.close());
  const report = await archive.startupCheck();
  assert.deepEqual(report, {
    removedTemporaries: [tmp],
    droppedUnconfirmed: [],
    orphanBlobs: ['orphan-1'],
    orphanBlobCount: 1,
    orphanBlobsRemoved: false,
    missingBlobs: [{ blobKey: damaged.blobKey, sopInstanceUid: '1.2.3.1.2' }],
    missingBlobCount: 1,
    strayFiles: [],
    strayFileCount: 0,
  });
  assert.equal(existsSync(tmp), false);
  const again = await archive.startupCheck({ removeOrphanBlobs: true });
  assert.deepEqual(again.orphanBlobs, ['orphan-1']);
  assert.equal(again.orphanBlobsRemoved, true);
  assert.equal(await archive.blobs.exists('orphan-1'), false);
  assert.deepEqual((await archive.startupCheck()).orphanBlobs, []);
});

test('startup check: the report counts every orphan and missing blob and names the first reportLimit; removal takes them all', async (t) => {
  const dir = tempDir(t);
  const archive = openArchive(dir);
  t.after(() => void archive.close());
  for (let i = 1; i <= 5; i++) await archive.storeInstance(storeInput(instanceDataSet(spec(i))));
  const blobs = archive.blobs as FilesystemBlobStore;
  const lost = [];
  for (const uid of ['1.2.3.1.2', '1.2.3.1.3', '1.2.3.1.5']) {
    const entry = (await archive.index.getInstance(uid))!;
    unlinkSync(blobs.pathOf(entry.blobKey));
    lost.push({ blobKey: entry.blobKey, sopInstanceUid: uid });
  }
  for (const key of ['orphan-c', 'orphan-a', 'orphan-d', 'orphan-b']) await blobs.put(key, iterate([new Uint8Array(4)]));
  const order: string[] = [];
  for await (const e of archive.index.blobKeys()) order.push(e.sopInstanceUid);
  const expectedMissing = lost.sort((a, b) => order.indexOf(a.sopInstanceUid) - order.indexOf(b.sopInstanceUid));

  const report = await archive.startupCheck({ reportLimit: 2, removeOrphanBlobs: true });
  assert.equal(report.missingBlobCount, 3);
  assert.deepEqual(report.missingBlobs, expectedMissing.slice(0, 2), 'the first two in index order');
  assert.equal(report.orphanBlobCount, 4);
  assert.deepEqual(report.orphanBlobs, ['orphan-a', 'orphan-b'], 'the first two in key order');
  for (const key of ['orphan-a', 'orphan-b', 'orphan-c', 'orphan-d']) assert.equal(await blobs.exists(key), false, `${key} removed though not listed`);
  const again = await archive.startupCheck({ reportLimit: 0 });
  assert.deepEqual([again.missingBlobs, again.missingBlobCount, again.orphanBlobs, again.orphanBlobCount], [[], 3, [], 0]);
});

test('indexing reads the header through random access: large values are not read', async (t) => {
  const dir = tempDir(t);
  const files = new FilesystemBlobStore({ root: join(dir, 'blobs') });
  let bytesRead = 0;
  // A BlobStore without a local path (as an object store would be), counting what is read.
  const remote: BlobStore = Object.assign(Object.create(files) as BlobStore, {
    async open(key: string): Promise<BlobReader> {
      const inner = await files.open(key);
      return { key, size: inner.size, read: async (p: number, n: number) => { const b = await inner.read(p, n); bytesRead += b.length; return b; }, close: () => inner.close() };
    },
  });
  const archive = new ArchiveStore({ index: new SqliteIndexStore({ path: join(dir, 'index.db') }), blobs: remote });
  t.after(() => void archive.close());
  const ds = instanceDataSet(spec(1), { pixelBytes: 8_000_000 });
  // Data Set Trailing Padding comes after the pixel data: the parse goes on past the skipped value.
  ds.set(0xfffcfffc, 'OB', new Uint8Array(16));
  const r = await archive.storeInstance(storeInput(ds));
  assert.equal(r.status, 'inserted');
  assert.ok(r.size > 8_000_000);
  assert.ok(bytesRead < 2_100_000, `${bytesRead} bytes read to index an ${r.size}-byte object`);
  const [metadata] = await collect(archive.index.instanceMetadata('1.2.3'));
  assert.match(metadata!.json, /"FFFCFFFC":\{"vr":"OB","InlineBinary"/, 'elements after the pixel data are read');
});

test('objects are parsed for the index as they arrive, whatever their size, never read back; a deflated one above parseFromMemoryUpTo is read back', async (t) => {
  const dir = tempDir(t);
  const files = new FilesystemBlobStore({ root: join(dir, 'blobs') });
  let opened = 0;
  const counting: BlobStore = Object.assign(Object.create(files) as BlobStore, {
    async open(key: string): Promise<BlobReader> {
      opened++;
      return files.open(key);
    },
  });
  const archive = new ArchiveStore({ index: new SqliteIndexStore({ path: join(dir, 'index.db') }), blobs: counting, parseFromMemoryUpTo: 1_000_000 });
  t.after(() => void archive.close());
  for (const [i, pixelBytes, readBack] of [[1, 200_000, 0], [2, 3_000_000, 0]] as const) {
    const ds = instanceDataSet(spec(i), { pixelBytes });
    // After the pixel data, so the parse goes on past the skipped value, across chunk boundaries.
    ds.set(0xfffcfffc, 'OB', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    opened = 0;
    const r = await archive.storeInstance({ ...storeInput(ds), dataSet: iterate(dataSetChunks(ds, 7_000)) });
    assert.equal(r.status, 'inserted');
    assert.equal(opened, readBack, `${pixelBytes} bytes of pixels: blob opened ${opened} times`);
    const stored = await archive.index.getInstance(ds.string('SOPInstanceUID')!);
    assert.equal(stored!.size, r.size);
    const [metadata] = await collect(archive.index.instanceMetadata('1.2.3', { seriesInstanceUid: ds.string('SeriesInstanceUID')! }));
    assert.match(metadata!.json, /"FFFCFFFC":\{"vr":"OB","InlineBinary":"AQIDBAUGBwg="\}/, 'the element after the pixel data, read across chunks');
    assert.match(metadata!.json, /"7FE00010":\{"vr":"OW","BulkDataURI":"conduit-bulkdata:7FE00010"\}/);
    // The data set offset indexed is right: the range read back is the data set sent.
    assert.deepEqual(await readAll((await archive.openInstance(ds.string('SOPInstanceUID')!, 'data-set')).stream), Buffer.concat(dataSetChunks(ds, 7_000)));
  }
  // A deflated data set cannot be skipped through as it arrives: above the limit it is read back.
  const small = new ArchiveStore({ index: new SqliteIndexStore({ path: join(dir, 'index2.db') }), blobs: counting, parseFromMemoryUpTo: 300 });
  t.after(() => void small.close());
  const ds = instanceDataSet(spec(3, { InstitutionAddress: 'Deflated Street' }), { pixelBytes: 10_000 });
  const meta = buildFileMeta({ sopClassUid: ds.string('SOPClassUID')!, sopInstanceUid: ds.string('SOPInstanceUID')!, transferSyntaxUid: DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN });
  const bytes = encodeFile({ preamble: null, meta, dataSet: ds, transferSyntaxUid: '1.2.840.10008.1.2.1', warnings: [] }, { transferSyntaxUid: DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN });
  assert.ok(bytes.length > 300);
  opened = 0;
  assert.equal((await small.storeInstance({ part10: iterate([bytes.subarray(0, 100), bytes.subarray(100)]) })).status, 'inserted');
  assert.equal(opened, 1, 'the deflated object is read back');
  const [metadata] = await collect(small.index.instanceMetadata('1.2.3'));
  assert.match(metadata!.json, /Deflated Street/);
});

test('several stores at once share index commits', async (t) => {
  const archive = openArchive(tempDir(t));
  t.after(() => void archive.close());
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => archive.storeInstance(storeInput(instanceDataSet(spec(i, { SeriesInstanceUID: `1.2.3.${i % 4}` }))))));
  assert.ok(results.every((r) => r.status === 'inserted'));
  assert.equal((await archive.index.stats()).instances, 40);
  assert.equal(readdirSync(join((archive.blobs as FilesystemBlobStore).root)).length > 0, true);
  const index = archive.index as SqliteIndexStore;
  assert.ok(index.commitStats.batches < 40, `${index.commitStats.batches} commits for 40 stores`);
});

test('identifiers: DataSet inputs are checked against the command UIDs', async (t) => {
  const archive = openArchive(tempDir(t));
  t.after(() => void archive.close());
  const ds = instanceDataSet(spec(1));
  await assert.rejects(archive.storeInstance({ ...storeInput(ds), sopClassUid: '1.2.840.10008.5.1.4.1.1.4' }), isCode('ERR_DICOM_STORAGE_BAD_OBJECT', /SOP Class UID/));
  const empty = new DataSet();
  await assert.rejects(archive.storeInstance({ dataSet: iterate([encodeDataSet(empty, { explicitVR: true, littleEndian: true })]), sopClassUid: '1.2', sopInstanceUid: '3.4', transferSyntaxUid: '1.2.840.10008.1.2.1' }),
    isCode('ERR_DICOM_STORAGE_BAD_OBJECT'));
  assert.equal(await blobCount(archive), 0);
});

test('real-world quirks: a SOP Instance UID written as UN is indexed as a UID; File Meta Information that disagrees is reported', async (t) => {
  const archive = openArchive(tempDir(t));
  t.after(() => void archive.close());
  const ds = instanceDataSet(spec(7));
  ds.set('SOPInstanceUID', 'UN', new TextEncoder().encode('1.2.3.1.7\0'));
  const meta = buildFileMeta({ sopClassUid: ds.string('SOPClassUID')!, sopInstanceUid: '1.2.3.1.77', transferSyntaxUid: '1.2.840.10008.1.2.1' });
  const file = encodeFile({ preamble: null, meta, dataSet: ds, transferSyntaxUid: '1.2.840.10008.1.2.1', warnings: [] });
  const r = await archive.storeInstance({ part10: iterate([file]) });
  assert.equal(r.status, 'inserted');
  assert.equal(r.sopInstanceUid, '1.2.3.1.7');
  assert.deepEqual(r.warnings, ["Media Storage SOP Instance UID 1.2.3.1.77 differs from the data set's SOP Instance UID 1.2.3.1.7; archived as 1.2.3.1.7"]);
  assert.ok(await archive.index.getInstance('1.2.3.1.7'));
  assert.equal((await archive.index.instancesFor('IMAGE', '1.2.3.1.7')).length, 1, 'the indexed column holds the UID');
  assert.equal((await archive.storeInstance({ part10: iterate([file]) })).status, 'duplicate-kept', 'and duplicates are recognised');
});

test('a startup check run while stores are under way leaves them alone', async (t) => {
  const dir = tempDir(t);
  const files = new FilesystemBlobStore({ root: join(dir, 'blobs') });
  // A blob store whose listing can be held half-way, so that stores complete during the check.
  let holdListing: Promise<void> | undefined;
  const blobs: BlobStore = Object.assign(Object.create(files) as BlobStore, {
    async *list() {
      for await (const key of files.list()) yield key;
      if (holdListing) await holdListing;
    },
  });
  const archive = new ArchiveStore({ index: new SqliteIndexStore({ path: join(dir, 'index.db') }), blobs });
  t.after(() => void archive.close());
  await archive.storeInstance(storeInput(instanceDataSet(spec(100))));
  const gated = (from: number, gate: Promise<void>) => Array.from({ length: 4 }, (_, i) => {
    const ds = instanceDataSet(spec(from + i), { pixelBytes: 40_000 });
    const chunks = dataSetChunks(ds);
    async function* slow() {
      yield chunks[0]!;
      await gate;
      yield* chunks.slice(1);
    }
    return archive.storeInstance({ ...storeInput(ds), dataSet: slow() });
  });

  // 1. Stores hold temporary files while the check runs: they are not removed, not reported.
  let release1!: () => void;
  const first = gated(0, new Promise<void>((r) => { release1 = r; }));
  await new Promise((r) => setTimeout(r, 20));
  const report1 = await archive.startupCheck({ removeOrphanBlobs: true });
  release1();
  assert.ok((await Promise.all(first)).every((r) => r.status === 'inserted'));
  assert.deepEqual(report1, { removedTemporaries: [], droppedUnconfirmed: [], orphanBlobs: [], orphanBlobCount: 0, orphanBlobsRemoved: true, missingBlobs: [], missingBlobCount: 0, strayFiles: [], strayFileCount: 0 });

  // 2. Stores finish between the listing of the blobs and the scan of the index: not "missing".
  let release2!: () => void;
  let resume!: () => void;
  holdListing = new Promise<void>((r) => { resume = r; });
  const second = gated(10, new Promise<void>((r) => { release2 = r; }));
  await new Promise((r) => setTimeout(r, 20));
  const checking = archive.startupCheck();
  await new Promise((r) => setTimeout(r, 20));
  release2();
  assert.ok((await Promise.all(second)).every((r) => r.status === 'inserted'));
  resume();
  assert.deepEqual((await checking).missingBlobs, []);
  holdListing = undefined;
  assert.equal((await collect(archive.blobs.list())).length, 9);
  assert.deepEqual(await archive.startupCheck(), { removedTemporaries: [], droppedUnconfirmed: [], orphanBlobs: [], orphanBlobCount: 0, orphanBlobsRemoved: false, missingBlobs: [], missingBlobCount: 0, strayFiles: [], strayFileCount: 0 });
});
