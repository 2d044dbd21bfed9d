import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { DicomError } from '../../src/core/dicom-error.js';
import { FilesystemBlobStore } from '../../src/storage/filesystem/filesystem-blob-store.js';
import { TemporaryNames } from '../../src/storage/filesystem/temporary-names.js';
import { isValidBlobKey } from '../../src/storage/ports.js';
import { storageError } from '../../src/storage/storage-error.js';
import { collect, iterate, readAll, tempDir } from './helpers.js';

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * seed + 7) & 0xff);

function isCode(code: string) {
  return (e: unknown) => e instanceof DicomError && e.code === code;
}

/** Counts fsync and fdatasync calls on file handles (files and directories alike) while `fn` runs. */
async function countingSyncs<T>(dir: string, fn: () => Promise<T>): Promise<{ result: T; syncs: number; datasyncs: number }> {
  const probe = await open(join(dir, '.probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void>; datasync: () => Promise<void> };
  await probe.close();
  const { sync, datasync } = proto;
  let syncs = 0;
  let datasyncs = 0;
  proto.sync = function (this: unknown) {
    syncs++;
    return sync.call(this);
  };
  proto.datasync = function (this: unknown) {
    datasyncs++;
    return datasync.call(this);
  };
  // put() flushes its file, and the directories it keeps open, through plain descriptors (node:fs callbacks).
  const fdatasync = fs.fdatasync;
  (fs as { fdatasync: unknown }).fdatasync = (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
    datasyncs++;
    fdatasync(fd, cb);
  };
  const fsync = fs.fsync;
  (fs as { fsync: unknown }).fsync = (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
    syncs++;
    fsync(fd, cb);
  };
  try {
    return { result: await fn(), syncs, datasyncs };
  } finally {
    proto.sync = sync;
    proto.datasync = datasync;
    (fs as { fdatasync: unknown }).fdatasync = fdatasync;
    (fs as { fsync: unknown }).fsync = fsync;
  }
}

test('put, get, getRange, readInto, size, exists, list, delete', async (t) => {
  const root = tempDir(t);
  const store = new FilesystemBlobStore({ root });
  const data = bytes(3_000_000, 3);
  const info = await store.put('key-1', iterate([data.subarray(0, 1000), data.subarray(1000, 2_500_000), data.subarray(2_500_000)]));
  assert.deepEqual(info, { key: 'key-1', size: data.length });
  assert.deepEqual(await readAll(await store.get('key-1')), Buffer.from(data));
  assert.deepEqual(await readAll(await store.getRange('key-1', 10, 20)), Buffer.from(data.subarray(10, 20)));
  assert.deepEqual(await readAll(await store.getRange('key-1', 2_999_990, 4_000_000)), Buffer.from(data.subarray(2_999_990)));
  assert.equal((await readAll(await store.getRange('key-1', 5, 5))).length, 0);
  assert.equal(await store.size('key-1'), data.length);
  assert.equal(await store.exists('key-1'), true);
  assert.equal(await store.exists('key-2'), false);
  await store.put('key-2', iterate([]));
  assert.equal(await store.size('key-2'), 0);
  assert.deepEqual((await collect(store.list())).sort(), ['key-1', 'key-2']);
  const reader = await store.open('key-1');
  assert.equal(reader.size, data.length);
  assert.deepEqual(Buffer.from(await reader.read(2_999_000, 5000)), Buffer.from(data.subarray(2_999_000)));
  await reader.close();
  const into = new Uint8Array(5000);
  assert.equal(await store.readInto!('key-1', 1000, into), 5000);
  assert.deepEqual(Buffer.from(into), Buffer.from(data.subarray(1000, 6000)));
  assert.equal(await store.readInto!('key-1', 2_999_000, into), 1000, 'fewer bytes at the end of the blob');
  assert.deepEqual(Buffer.from(into.subarray(0, 1000)), Buffer.from(data.subarray(2_999_000)));
  await assert.rejects(store.readInto!('nothing', 0, into), isCode('ERR_DICOM_STORAGE_NOT_FOUND'));
  await assert.rejects(store.readInto!('.bad', 0, into), isCode('ERR_DICOM_STORAGE_BAD_KEY'));
  assert.equal(await store.delete('key-1'), true);
  assert.equal(await store.delete('key-1'), false);
  await assert.rejects(store.get('key-1'), isCode('ERR_DICOM_STORAGE_NOT_FOUND'));
  await assert.rejects(store.size('key-1'), isCode('ERR_DICOM_STORAGE_NOT_FOUND'));
  await assert.rejects(store.getRange('key-2', 5, 2), isCode('ERR_DICOM_INVALID_ARGUMENT'));
});

test('keys map to <root>/<sha256[0..2]>/<sha256[2..4]>/<key>; bad keys are refused', async (t) => {
  const root = tempDir(t);
  const store = new FilesystemBlobStore({ root });
  await store.put('abc', iterate([bytes(10)]));
  // sha256("abc") = ba7816bf...
  assert.equal(relative(root, store.pathOf('abc')), join('ba', '78', 'abc'));
  assert.ok(existsSync(join(root, 'ba', '78', 'abc')));
  for (const bad of ['', '.hidden', '../x', 'a/b', 'a\\b', 'x'.repeat(201), 'é']) {
    assert.equal(isValidBlobKey(bad), false, bad);
    await assert.rejects(store.put(bad, iterate([])), isCode('ERR_DICOM_STORAGE_BAD_KEY'), bad);
  }
  assert.equal(isValidBlobKey('1f0e-A_b.c'), true);
});

test('durable put: bytes go to a temporary file in the target directory, then are renamed into place', async (t) => {
  const root = tempDir(t);
  const store = new FilesystemBlobStore({ root });
  const dir = store.directoryOf('slow');
  let seenDuring: string[] = [];
  async function* slow() {
    yield bytes(100);
    // The put is under way: only a temporary file exists, in the blob's own directory.
    seenDuring = readdirSync(dir);
    yield bytes(100, 5);
  }
  await store.put('slow', slow());
  assert.equal(seenDuring.length, 1);
  assert.match(seenDuring[0]!, /^\.slow\.[0-9a-f]{12}\.tmp$/);
  assert.deepEqual(readdirSync(dir), ['slow']);
  assert.equal(readFileSync(join(dir, 'slow')).length, 200);
});

test('durable put fsyncs the file and its directory (and new directories into their parents)', async (t) => {
  const root = tempDir(t);
  const store = new FilesystemBlobStore({ root });
  const first = await countingSyncs(root, () => store.put('a1', iterate([bytes(10)])));
  // the file (fdatasync) + blob directory + the new <cd> entry in <ab> + <ab> in the root (+ the root's parent)
  assert.equal(first.datasyncs, 1, 'the file');
  assert.ok(first.syncs >= 3, `first put: ${first.syncs} directory fsyncs`);
  const second = await countingSyncs(root, () => store.put('a1', iterate([bytes(20)])));
  assert.deepEqual([second.datasyncs, second.syncs], [1, 1], 'the file and its directory');
  // A new <cd> under an existing <ab>: <cd> in <ab> is flushed, the root (unchanged) is not.
  const top = await countingSyncs(root, () => store.put('ab12.x', iterate([bytes(10)]), { fresh: true }));
  assert.deepEqual([top.datasyncs, top.syncs], [1, 3], 'new <ab> and <cd>: the file, <cd>, <ab>, the root');
  const leaf = await countingSyncs(root, () => store.put('ab34.y', iterate([bytes(10)]), { fresh: true }));
  assert.deepEqual([leaf.datasyncs, leaf.syncs], [1, 2], 'new <cd> only: the file, <cd>, <ab>');
  const off = new FilesystemBlobStore({ root, fsync: false });
  const none = await countingSyncs(root, () => off.put('a2', iterate([bytes(10)])));
  assert.deepEqual([none.datasyncs, none.syncs], [0, 0]);
  await store.close();
});

test('keys "hhhh.<rest>" name their own directory; concurrent puts into one directory share its fsyncs, each after its rename', async (t) => {
  const root = tempDir(t);
  const store = new FilesystemBlobStore({ root });
  assert.equal(relative(root, store.pathOf('0a1b.x-1')), join('0a', '1b', '0a1b.x-1'));
  assert.equal(relative(root, store.pathOf('0A1B.x')), join(...(() => { const h = createHash('sha256').update('0A1B.x').digest('hex'); return [h.slice(0, 2), h.slice(2, 4)]; })(), '0A1B.x'), 'upper case: hashed');
  await store.put('0a1b.first', iterate([bytes(10)]));
  // Observe each directory fsync (on the descriptor the store keeps open: node:fs callbacks):
  // which blobs were renamed into place when it began.
  const fsync = fs.fsync;
  const seen: string[][] = [];
  (fs as { fsync: unknown }).fsync = (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
    seen.push(readdirSync(join(root, '0a', '1b')).filter((n) => !n.startsWith('.')).sort());
    fsync(fd, cb);
  };
  const keys = Array.from({ length: 12 }, (_, i) => `0a1b.k${String(i).padStart(2, '0')}`);
  try {
    await Promise.all(keys.map(async (k) => {
      await store.put(k, iterate([bytes(1000, keys.indexOf(k))]));
      // Resolved: an fsync begun after this blob's rename has completed.
      assert.ok(seen.some((names) => names.includes(k)), `${k}: no directory fsync after its rename`);
    }));
  } finally {
    (fs as { fsync: unknown }).fsync = fsync;
  }
  assert.ok(seen.length < keys.length, `${seen.length} directory fsyncs for ${keys.length} concurrent puts`);
  for (const k of keys) assert.deepEqual(await readAll(await store.get(k)), Buffer.from(bytes(1000, keys.indexOf(k))));
  await store.close();
});

test('a failing source leaves nothing: no blob, no temporary file; an existing blob is kept', async (t) => {
  const root = tempDir(t);
  const store = new FilesystemBlobStore({ root });
  await store.put('k', iterate([bytes(50)]));
  async function* broken() {
    yield bytes(1000);
    throw new Error('association aborted');
  }
  await assert.rejects(store.put('k', broken()), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_STORAGE_IO' && /association aborted/.test(e.message));
  await assert.rejects(store.put('new', broken()), isCode('ERR_DICOM_STORAGE_IO'));
  assert.deepEqual(readdirSync(store.directoryOf('k')), ['k']);
  assert.equal(await store.size('k'), 50);
  assert.deepEqual(readdirSync(store.directoryOf('new')), []);
});

test('put replaces an existing blob atomically', async (t) => {
  const root = tempDir(t);
  const store = new FilesystemBlobStore({ root });
  await store.put('k', iterate([bytes(50)]));
  await store.put('k', iterate([bytes(70, 9)]));
  assert.deepEqual(await readAll(await store.get('k')), Buffer.from(bytes(70, 9)));
});

test('recover() removes the temporary files a crash left and reports them; blobs stay', async (t) => {
  const root = tempDir(t);
  const store = new FilesystemBlobStore({ root });
  await store.put('kept', iterate([bytes(10)]));
  const dir = store.directoryOf('lost');
  await store.put('lost', iterate([bytes(1)]));
  await store.delete('lost');
  const stray = join(dir, '.lost.0123456789ab.tmp');
  writeFileSync(stray, bytes(300));
  const other = join(store.directoryOf('kept'), '.kept.aaaaaaaaaaaa.tmp');
  writeFileSync(other, bytes(3));
  assert.deepEqual(await collect(store.list()), ['kept'], 'temporary files are not blobs');
  const removed = await store.recover();
  assert.deepEqual(removed.sort(), [other, stray].sort());
  assert.equal(existsSync(stray), false);
  assert.deepEqual(await collect(store.list()), ['kept']);
  assert.deepEqual(await store.recover(), []);
  // A file that is not ours in a shard directory is neither a blob nor removed.
  writeFileSync(join(dir, '.notes'), 'x');
  assert.deepEqual(await store.recover(), []);
  assert.equal(basename(dirname(stray)).length, 2);
});

test('system errors become storage errors: ENOSPC is ERR_DICOM_STORAGE_FULL, ENOENT NOT_FOUND', () => {
  const full = storageError('ERR_DICOM_STORAGE_IO', 'cannot store blob x', Object.assign(new Error('no space'), { code: 'ENOSPC' }));
  assert.equal(full.code, 'ERR_DICOM_STORAGE_FULL');
  assert.equal(storageError('ERR_DICOM_STORAGE_INDEX', 'commit', Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })).code, 'ERR_DICOM_STORAGE_FULL');
  assert.equal(storageError('ERR_DICOM_STORAGE_IO', 'x', Object.assign(new Error('gone'), { code: 'ENOENT' })).code, 'ERR_DICOM_STORAGE_NOT_FOUND');
  const other = storageError('ERR_DICOM_STORAGE_IO', 'x', new Error('EIO'));
  assert.equal(other.code, 'ERR_DICOM_STORAGE_IO');
  assert.ok(other.cause instanceof Error);
  const same = new DicomError('ERR_DICOM_STORAGE_CONFLICT', 'c');
  assert.equal(storageError('ERR_DICOM_STORAGE_IO', 'x', same), same);
});

test('a closed store refuses work', async (t) => {
  const store = new FilesystemBlobStore({ root: tempDir(t) });
  await store.close();
  await assert.rejects(store.put('k', iterate([])), isCode('ERR_DICOM_STORAGE_CLOSED'));
});

test('temporary names: ".<key>.<12 hex>.tmp", each put its own; a name that exists already is not reused', async (t) => {
  const dir = tempDir(t);
  const names = new TemporaryNames();
  const a = await names.create(dir, 'k');
  const b = await names.create(dir, 'k');
  assert.match(basename(a.path), /^\.k\.[0-9a-f]{12}\.tmp$/);
  assert.notEqual(a.path, b.path);
  // The name the next create would take (the counter's next value) exists: another is made.
  const next = b.path.replace(/([0-9a-f]{4})\.tmp$/, (_, n: string) => `${((parseInt(n, 16) + 1) & 0xffff).toString(16).padStart(4, '0')}.tmp`);
  writeFileSync(next, 'left by someone else');
  const c = await names.create(dir, 'k');
  assert.notEqual(c.path, next);
  assert.match(basename(c.path), /^\.k\.[0-9a-f]{12}\.tmp$/);
  assert.equal(readFileSync(next, 'utf8'), 'left by someone else');
  for (const f of [a, b, c]) fs.closeSync(f.fd);
});
