/**
 * ADR 0013: an object is indexed while its blob is flushed, and acknowledged only once both are
 * durable. These tests hold a blob's durability back (the blob is whole and readable, its put()
 * not yet resolved: a flush under way) and check that the store does not resolve meanwhile, and
 * that what a power loss at that moment could leave (an index entry whose blob is missing or
 * short) is dropped at startup, counters and all, while whole blobs are kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { truncateSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DicomError } from '../../src/core/dicom-error.js';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../../src/data/transfer-syntax.js';
import { buildFileMeta } from '../../src/media/file-meta.js';
import { encodeFile } from '../../src/media/part10.js';
import { ArchiveStore } from '../../src/storage/archive-store.js';
import { FilesystemBlobStore } from '../../src/storage/filesystem/filesystem-blob-store.js';
import type { BlobInfo, BlobStore, PutOptions } from '../../src/storage/ports.js';
import { SqliteIndexStore } from '../../src/storage/sqlite/sqlite-index-store.js';
import { instanceDataSet, iterate, storeInput, tempDir } from './helpers.js';

const spec = (i: number) => ({
  PatientID: 'U1', PatientName: 'Flush^Pending', StudyInstanceUID: '2.25.13', SeriesInstanceUID: '2.25.13.1', SOPInstanceUID: `2.25.13.1.${i}`, StudyDate: '20240501',
});

/** A filesystem blob store whose put() resolves only when released (or fails then, with `fail`). */
function heldBlobs(root: string) {
  const files = new FilesystemBlobStore({ root });
  const held = new Map<string, { release: () => void; fail: (e: Error) => void }>();
  let visibleCount = 0;
  const blobs: BlobStore = Object.assign(Object.create(files) as BlobStore, {
    async put(key: string, source: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<BlobInfo> {
      const info = await files.put(key, source, { ...options, visible: (i: BlobInfo) => { visibleCount++; options.visible?.(i); } });
      await new Promise<void>((release, fail) => held.set(key, { release, fail }));
      return info;
    },
  });
  return { files, blobs, held, visible: () => visibleCount };
}

/** An archive in a temporary folder over heldBlobs(). */
function heldArchive(t: { after(fn: () => void): void }) {
  const dir = tempDir(t);
  const { blobs, held, files } = heldBlobs(join(dir, 'blobs'));
  const index = new SqliteIndexStore({ path: join(dir, 'index.db') });
  const archive = new ArchiveStore({ index, blobs });
  t.after(() => void archive.close());
  return { archive, index, held, files };
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setImmediate(r));
    if (i > 100) await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function counts(index: SqliteIndexStore): { instances: number; series: number; metadata: number; marks: number } {
  const one = (sql: string) => (index.db.prepare(sql).get() as { n: number }).n;
  return {
    instances: one('SELECT count(*) AS n FROM instance'),
    series: one('SELECT coalesce(sum(number_of_instances), 0) AS n FROM series'),
    metadata: one('SELECT count(*) AS n FROM instance_metadata'),
    marks: one('SELECT count(*) AS n FROM unconfirmed_blob'),
  };
}

test('indexed while its blob is flushed, acknowledged only once the blob is durable; the mark goes with a later commit', async (t) => {
  const { archive, index, held } = heldArchive(t);

  let resolved = false;
  const storing = archive.storeInstance(storeInput(instanceDataSet(spec(1), { pixelBytes: 200_000 }))).then((r) => { resolved = true; return r; });
  await until(async () => (await index.getInstance('2.25.13.1.1')) !== undefined && held.size === 1, 'the instance to be indexed');
  const key = [...held.keys()][0]!;
  assert.deepEqual(await index.unconfirmedBlobs.list(), [{ blobKey: key, sopInstanceUid: '2.25.13.1.1', size: await archive.blobs.size(key) }], 'indexed as unconfirmed');
  // The index commit is durable and the blob whole, yet no acknowledgement while its flush runs.
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.equal(resolved, false, 'not acknowledged before the blob is durable');
  held.get(key)!.release();
  assert.equal((await storing).status, 'inserted');
  assert.equal(counts(index).marks, 1, 'the mark is not cleared by a commit of its own');
  const next = archive.storeInstance(storeInput(instanceDataSet(spec(2))));
  await until(() => held.size === 2, 'the second put');
  await until(() => counts(index).instances === 2, 'the second commit');
  assert.deepEqual((await index.unconfirmedBlobs.list()).map((u) => u.sopInstanceUid), ['2.25.13.1.2'], 'the first mark went with the next commit');
  held.get([...held.keys()][1]!)!.release();
  await next;
});

test('a power loss during the flush: entries whose blob is missing or short are dropped at startup, whole ones kept', async (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'blobs');
  const { blobs, held } = heldBlobs(root);
  const first = new ArchiveStore({ index: new SqliteIndexStore({ path: join(dir, 'index.db') }), blobs });
  // One acknowledged instance before: it must survive.
  const settled = first.storeInstance(storeInput(instanceDataSet(spec(0))));
  await until(() => held.size === 1, 'the first put');
  held.get([...held.keys()][0]!)!.release();
  assert.equal((await settled).status, 'inserted');

  // Three stores in flight: indexed, their blobs' flushes never end (the power goes).
  const pending = [1, 2, 3].map((i) => first.storeInstance(storeInput(instanceDataSet(spec(i), { pixelBytes: 100_000 }))));
  pending.forEach((p) => p.catch(() => undefined));
  const index1 = first.index as SqliteIndexStore;
  await until(() => counts(index1).instances === 4 && held.size === 4, 'three unconfirmed entries');
  const byUid = new Map((await index1.unconfirmedBlobs.list()).map((u) => [u.sopInstanceUid, u]));
  assert.equal(byUid.size, 3);
  // What the disk holds after the power loss: one blob lost, one short, one whole.
  const files = new FilesystemBlobStore({ root });
  unlinkSync(files.pathOf(byUid.get('2.25.13.1.1')!.blobKey));
  truncateSync(files.pathOf(byUid.get('2.25.13.1.2')!.blobKey), 1000);

  // The restart (another archive on the same files, as a new process would open them).
  const restarted = new ArchiveStore({ index: new SqliteIndexStore({ path: join(dir, 'index.db') }), blobs: files });
  t.after(() => void restarted.close());
  const report = await restarted.startupCheck();
  assert.deepEqual(report.droppedUnconfirmed.map((d) => [d.sopInstanceUid, d.reason]).sort(), [
    ['2.25.13.1.1', 'its blob is missing'],
    ['2.25.13.1.2', `its blob holds 1000 of ${byUid.get('2.25.13.1.2')!.size} bytes`],
  ]);
  assert.deepEqual(report.missingBlobs, [], 'no entry left without its blob');
  assert.deepEqual(report.orphanBlobs, [], 'the short blob went with its entry');
  const index2 = restarted.index as SqliteIndexStore;
  // The whole blob is confirmed; its mark goes with the next commit, like any confirmation.
  assert.deepEqual(counts(index2), { instances: 2, series: 2, metadata: 2, marks: 1 }, 'counters follow');
  assert.ok(await index2.getInstance('2.25.13.1.0'), 'the acknowledged instance survives');
  assert.ok(await index2.getInstance('2.25.13.1.3'), 'the whole, unacknowledged one is kept');
  assert.equal((await index2.stats()).instances, 2);
  // A second check finds nothing more.
  assert.deepEqual((await restarted.startupCheck()).droppedUnconfirmed, []);
  await (first.index as SqliteIndexStore).close().catch(() => undefined);
});

test('a blob whose flush fails after it was indexed: the store fails and the entry and its mark are removed', async (t) => {
  const { archive, index, held, files } = heldArchive(t);
  const storing = archive.storeInstance(storeInput(instanceDataSet(spec(5))));
  await until(() => counts(index).instances === 1 && held.size === 1, 'the entry');
  const key = [...held.keys()][0]!;
  // A failed put removes what it wrote (the port's contract), then rejects.
  await files.delete(key);
  held.get(key)!.fail(new Error('fdatasync: EIO'));
  await assert.rejects(storing, /EIO/);
  assert.deepEqual(counts(index), { instances: 0, series: 0, metadata: 0, marks: 0 });
  assert.equal(await index.getInstance('2.25.13.1.5'), undefined);
});

test("'overwrite' replaces an acknowledged instance only once the new blob is durable (no unconfirmed entry)", async (t) => {
  const { archive, index, held } = heldArchive(t);
  const original = archive.storeInstance(storeInput(instanceDataSet(spec(7))));
  await until(() => held.size === 1, 'the first put');
  const oldKey = [...held.keys()][0]!;
  held.get(oldKey)!.release();
  await original;
  const replacing = archive.storeInstance(storeInput(instanceDataSet({ ...spec(7), StudyDate: '20250101' })), 'overwrite');
  await until(() => held.size === 2, 'the second put');
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.equal((await index.getInstance('2.25.13.1.7'))!.blobKey, oldKey, 'the old entry stands while the new blob is flushed');
  const newKey = [...held.keys()][1]!;
  assert.ok(!(await index.unconfirmedBlobs.list()).some((u) => u.blobKey === newKey), 'never marked');
  held.get(newKey)!.release();
  assert.equal((await replacing).status, 'overwritten');
  assert.notEqual((await index.getInstance('2.25.13.1.7'))!.blobKey, oldKey);
});

test('a duplicate of an instance whose blob is still being flushed is answered only after that flush; if it fails, so does the duplicate', async (t) => {
  const { archive, index, held, files } = heldArchive(t);
  // C-STORE input: the duplicate is found before its bytes are stored.
  const first = archive.storeInstance(storeInput(instanceDataSet(spec(20))));
  await until(() => counts(index).instances === 1 && held.size === 1, 'the first entry');
  let answered = false;
  const duplicate = archive.storeInstance(storeInput(instanceDataSet(spec(20)))).then((r) => { answered = true; return r; });
  for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
  assert.equal(answered, false, 'no "already stored" while the stored copy may still be lost');
  held.get([...held.keys()][0]!)!.release();
  assert.equal((await first).status, 'inserted');
  assert.equal((await duplicate).status, 'duplicate-kept');

  // Part 10 input (STOW-RS): the duplicate is found by its index write; the first copy's flush fails.
  const part10 = (i: number) => {
    const ds = instanceDataSet(spec(i));
    const meta = buildFileMeta({ sopClassUid: ds.string('SOPClassUID')!, sopInstanceUid: ds.string('SOPInstanceUID')!, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN });
    return { part10: iterate([encodeFile({ preamble: null, meta, dataSet: ds, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN, warnings: [] })]) };
  };
  const known = new Set(held.keys());
  const failing = archive.storeInstance(part10(21));
  await until(() => counts(index).instances === 2 && held.size === 2, 'the second entry');
  const failingKey = [...held.keys()].find((k) => !known.has(k))!;
  known.add(failingKey);
  const again = archive.storeInstance(part10(21));
  again.catch(() => undefined);
  await until(() => held.size === 3, 'the duplicate\'s blob');
  const againKey = [...held.keys()].find((k) => !known.has(k))!;
  held.get(againKey)!.release();
  for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
  await files.delete(failingKey);
  held.get(failingKey)!.fail(new Error('fdatasync: EIO'));
  await assert.rejects(failing, /EIO/);
  await assert.rejects(again, (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_STORAGE_IO' && /send it again/.test(e.message));
  assert.equal(await index.getInstance('2.25.13.1.21'), undefined);
  assert.equal(await files.exists(againKey), false, 'the duplicate\'s own blob is removed');
  // Sent again, it is stored.
  const third = archive.storeInstance(part10(21));
  await until(() => held.size === 4, 'the third put');
  held.get([...held.keys()].find((k) => !known.has(k) && k !== againKey)!)!.release();
  assert.equal((await third).status, 'inserted');
});
