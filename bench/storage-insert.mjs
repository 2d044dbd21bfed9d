#!/usr/bin/env node
/**
 * Archive insert throughput (not a test): instances/s with and without group commit, with
 * synchronous=FULL and NORMAL. Run by hand after `npx tsc -p .`:
 *
 *   node bench/storage-insert.mjs
 *   RECORDS=20000 OBJECTS=2000 CONCURRENCY=64 node bench/storage-insert.mjs
 *
 * index    IndexStore.insertInstance alone: RECORDS index records (built beforehand from data sets,
 *          as storeInstance builds them, with metadata JSON) submitted with CONCURRENCY calls
 *          outstanding, as many associations storing at once would.
 * archive  ArchiveStore.storeInstance end to end: OBJECTS objects of ~OBJECT_BYTES bytes (a small
 *          CT-like data set) from STORE_CONCURRENCY senders: Part 10 file written to a
 *          FilesystemBlobStore (temporary file, fsync, rename, directory fsync), parsed back,
 *          indexed; the promise resolves when durable and indexed.
 * Each cell runs with a fresh index under TMPDIR; the figures are the median of RUNS runs. The blob
 * cells share one blob directory whose 65,536 shard directories are created beforehand, as they
 * are in an archive of a million objects (creating them, 1 to 3 extra directory fsyncs each,
 * otherwise dominates the first few thousand stores).
 * Group commit "on" is the default (maxBatch 256; waits up to maxDelayMs = 2 ms for more writes when
 * the previous batch held several); "never wait" is maxDelayMs 0 (batches form only from what
 * arrived by the next event-loop turn).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DataSet } from '../dist/src/data/data-set.js';
import { encodeDataSet } from '../dist/src/data/writer.js';
import { ArchiveStore, FilesystemBlobStore, SqliteIndexStore, buildInstanceIndexRecord } from '../dist/src/storage/index.js';

const RECORDS = Number(process.env.RECORDS ?? 20_000);
const OBJECTS = Number(process.env.OBJECTS ?? 2_000);
const OBJECT_BYTES = Number(process.env.OBJECT_BYTES ?? 50_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 64);
const STORE_CONCURRENCY = Number(process.env.STORE_CONCURRENCY ?? 16);
const RUNS = Number(process.env.RUNS ?? 3);

function dataSet(i, pixelBytes) {
  const ds = new DataSet();
  const study = Math.floor(i / 200);
  const series = Math.floor(i / 50);
  const values = {
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.2', SOPInstanceUID: `2.25.9.${study}.${series}.${i}`, StudyDate: '20240601', StudyTime: '101010',
    AccessionNumber: `A${study}`, Modality: 'CT', ReferringPhysicianName: 'Who^Doctor', PatientName: `Patient^Number${study % 97}`,
    PatientID: `P${study % 97}`, PatientBirthDate: '19700101', PatientSex: 'F', StudyInstanceUID: `2.25.9.${study}`,
    SeriesInstanceUID: `2.25.9.${study}.${series}`, StudyID: '1', SeriesNumber: String(series % 10), InstanceNumber: String(i % 50),
    ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'], StudyDescription: 'CT CHEST', SeriesDescription: 'AXIAL 1mm', BodyPartExamined: 'CHEST',
    Manufacturer: 'ACME', InstitutionName: 'General Hospital', SliceThickness: '1', KVP: '120',
  };
  for (const [k, v] of Object.entries(values)) ds.set(k, undefined, v);
  const side = Math.floor(Math.sqrt(pixelBytes / 2));
  ds.set('Rows', 'US', side);
  ds.set('Columns', 'US', side);
  ds.set('BitsAllocated', 'US', 16);
  ds.set('PixelData', 'OW', new Uint8Array(side * side * 2).fill(i & 0xff));
  return ds;
}

async function pool(n, concurrency, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await fn(next++);
  }));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const CELLS = [
  ['FULL', {}, 'on (default: wait <= 2 ms when busy)'],
  ['FULL', { maxDelayMs: 0 }, 'on, never wait'],
  ['FULL', false, 'off'],
  ['NORMAL', {}, 'on (default)'],
  ['NORMAL', false, 'off'],
];

process.stderr.write(`building ${RECORDS} index records...\n`);
const records = Array.from({ length: RECORDS }, (_, i) => buildInstanceIndexRecord(dataSet(i, 2000), {
  blobKey: `k${i}`, size: 1000, dataSetOffset: 300, transferSyntaxUid: '1.2.840.10008.1.2.1',
}));
const objects = Array.from({ length: OBJECTS }, (_, i) => {
  const ds = dataSet(i, OBJECT_BYTES);
  return { bytes: encodeDataSet(ds, { explicitVR: true, littleEndian: true }), sopClassUid: ds.string('SOPClassUID'), sopInstanceUid: ds.string('SOPInstanceUID') };
});

console.log(`\n### index: insertInstance, ${RECORDS} records, ${CONCURRENCY} outstanding (median of ${RUNS})\n`);
console.log('| synchronous | group commit | instances/s | transactions | largest batch |');
console.log('|---|---|---:|---:|---:|');
for (const [sync, group, label] of CELLS) {
  const rates = [];
  let batches = 0, largest = 0;
  for (let run = 0; run < RUNS; run++) {
    const dir = mkdtempSync(join(tmpdir(), 'conduit-insert-'));
    const index = new SqliteIndexStore({ path: join(dir, 'index.db'), synchronous: sync, groupCommit: group });
    const t0 = performance.now();
    await pool(RECORDS, CONCURRENCY, (i) => index.insertInstance(records[i], 'keep'));
    rates.push(RECORDS / ((performance.now() - t0) / 1000));
    ({ batches, largestBatch: largest } = index.commitStats);
    await index.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`| ${sync} | ${label} | ${Math.round(median(rates))} | ${batches} | ${largest} |`);
}

console.log(`\n### archive: storeInstance (blob fsync + parse + index), ${OBJECTS} objects of ~${Math.round(objects[0].bytes.length / 1000)} kB, ${STORE_CONCURRENCY} senders (median of ${RUNS})\n`);
console.log('| synchronous | group commit | instances/s | MB/s | transactions |');
console.log('|---|---|---:|---:|---:|');
const blobRoot = mkdtempSync(join(tmpdir(), 'conduit-store-blobs-'));
const hex = (n) => n.toString(16).padStart(2, '0');
for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b++) mkdirSync(join(blobRoot, hex(a), hex(b)), { recursive: true });
for (const [sync, group, label] of CELLS) {
  const rates = [];
  let batches = 0;
  for (let run = 0; run < RUNS; run++) {
    const dir = mkdtempSync(join(tmpdir(), 'conduit-store-'));
    const archive = new ArchiveStore({
      index: new SqliteIndexStore({ path: join(dir, 'index.db'), synchronous: sync, groupCommit: group }),
      blobs: new FilesystemBlobStore({ root: blobRoot }),
    });
    const t0 = performance.now();
    await pool(OBJECTS, STORE_CONCURRENCY, async (i) => {
      const o = objects[i];
      async function* chunks() { for (let p = 0; p < o.bytes.length; p += 16_384) yield o.bytes.subarray(p, p + 16_384); }
      const r = await archive.storeInstance({ dataSet: chunks(), sopClassUid: o.sopClassUid, sopInstanceUid: o.sopInstanceUid, transferSyntaxUid: '1.2.840.10008.1.2.1' });
      if (r.status !== 'inserted') throw new Error(r.status);
    });
    rates.push(OBJECTS / ((performance.now() - t0) / 1000));
    batches = archive.index.commitStats.batches;
    await archive.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const rate = median(rates);
  console.log(`| ${sync} | ${label} | ${Math.round(rate)} | ${(rate * objects[0].bytes.length / 1e6).toFixed(1)} | ${batches} |`);
}
rmSync(blobRoot, { recursive: true, force: true });
