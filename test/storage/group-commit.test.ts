import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DicomError } from '../../src/core/dicom-error.js';
import { CommitQueue } from '../../src/storage/sqlite/commit-queue.js';
import { SqliteIndexStore } from '../../src/storage/sqlite/sqlite-index-store.js';
import { indexRecord, tempDir } from './helpers.js';

/** A fake database: records what runs in which transaction, and can fail a COMMIT. */
function fakeDatabase() {
  const log: string[] = [];
  let failNextCommit = false;
  const transaction = (body: () => void) => {
    log.push('BEGIN');
    const mark = log.length;
    body();
    if (failNextCommit) {
      failNextCommit = false;
      log.splice(mark - 1);
      throw new Error('disk I/O error');
    }
    log.push('COMMIT');
  };
  const savepoint = <T>(work: () => T): T => {
    const mark = log.length;
    try {
      return work();
    } catch (e) {
      log.splice(mark);
      throw e;
    }
  };
  return { log, transaction, savepoint, failCommit: () => { failNextCommit = true; } };
}

test('writes submitted together share one transaction; each settles after that COMMIT', async () => {
  const db = fakeDatabase();
  const queue = new CommitQueue(db.transaction, db.savepoint, {});
  const settled: string[] = [];
  const writes = [1, 2, 3, 4].map((n) => queue.submit(() => {
    db.log.push(`w${n}`);
    return n;
  }).then((v) => {
    settled.push(`${v} after ${db.log.join(' ')}`);
    return v;
  }));
  assert.deepEqual(db.log, [], 'nothing runs before the batch');
  assert.deepEqual(await Promise.all(writes), [1, 2, 3, 4]);
  assert.deepEqual(db.log, ['BEGIN', 'w1', 'w2', 'w3', 'w4', 'COMMIT']);
  for (const s of settled) assert.match(s, /COMMIT$/);
  assert.deepEqual(queue.stats, { batches: 1, writes: 4, largestBatch: 4 });
});

test('a failing write is rolled back alone; the others of its batch commit', async () => {
  const db = fakeDatabase();
  const queue = new CommitQueue(db.transaction, db.savepoint, {});
  const a = queue.submit(() => db.log.push('a'));
  const b = queue.submit(() => {
    db.log.push('b');
    throw new Error('constraint failed');
  });
  const c = queue.submit(() => db.log.push('c'));
  const results = await Promise.allSettled([a, b, c]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.match(((results[1] as PromiseRejectedResult).reason as Error).message, /constraint failed/);
  assert.deepEqual(db.log, ['BEGIN', 'a', 'c', 'COMMIT']);
});

test('a failed COMMIT rejects every write of the batch', async () => {
  const db = fakeDatabase();
  const queue = new CommitQueue(db.transaction, db.savepoint, {});
  db.failCommit();
  const results = await Promise.allSettled([queue.submit(() => 1), queue.submit(() => 2)]);
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  assert.deepEqual(db.log, []);
  assert.equal(await queue.submit(() => 3), 3, 'the next batch goes on');
});

test('maxBatch splits batches; maxDelayMs waits for more; disabled: one transaction per write', async () => {
  const db = fakeDatabase();
  const small = new CommitQueue(db.transaction, db.savepoint, { maxBatch: 2 });
  await Promise.all([1, 2, 3, 4, 5].map((n) => small.submit(() => n)));
  assert.deepEqual(small.stats, { batches: 3, writes: 5, largestBatch: 2 });

  // A lone writer does not wait; once batches hold several writes, the queue waits for more.
  const delayed = new CommitQueue(db.transaction, db.savepoint, { maxDelayMs: 30 });
  const lone = delayed.submit(() => 'lone');
  await new Promise((r) => setTimeout(r, 5));
  const late = delayed.submit(() => 'late');
  assert.deepEqual(await Promise.all([lone, late]), ['lone', 'late']);
  assert.deepEqual(delayed.stats, { batches: 2, writes: 2, largestBatch: 1 });
  await Promise.all([delayed.submit(() => 1), delayed.submit(() => 2), delayed.submit(() => 3)]);
  const first = delayed.submit(() => 'first');
  await new Promise((r) => setTimeout(r, 5));
  const second = delayed.submit(() => 'second');
  assert.deepEqual(await Promise.all([first, second]), ['first', 'second']);
  assert.deepEqual(delayed.stats, { batches: 4, writes: 7, largestBatch: 3 });

  const off = new CommitQueue(db.transaction, db.savepoint, false);
  await Promise.all([1, 2, 3].map((n) => off.submit(() => n)));
  assert.deepEqual(off.stats, { batches: 3, writes: 3, largestBatch: 1 });
  await assert.rejects(off.submit(() => { throw new Error('x'); }), /x/);

  off.close();
  await assert.rejects(off.submit(() => 1), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_STORAGE_CLOSED');
});

test('SQLite: concurrent inserts are grouped; each caller sees its instance committed (another connection reads it) when it resolves', async (t) => {
  const path = join(tempDir(t), 'index.db');
  const index = new SqliteIndexStore({ path });
  t.after(() => void index.close());
  const Database = createRequire(import.meta.url)('better-sqlite3') as new (p: string, o?: object) => { prepare(s: string): { get(...a: unknown[]): unknown }; close(): void };
  const reader = new Database(path, { readonly: true });
  t.after(() => reader.close());
  const visible = reader.prepare('SELECT count(*) AS n FROM instance WHERE sop_instance_uid = ?');
  const n = 60;
  const checks = Array.from({ length: n }, (_, i) => {
    const record = indexRecord({ PatientID: `P${i % 3}`, StudyInstanceUID: `9.${i % 5}`, SeriesInstanceUID: `9.${i % 5}.${i % 10}`, SOPInstanceUID: `9.9.${i}` });
    return index.insertInstance(record, 'keep').then((r) => {
      assert.equal(r.status, 'inserted');
      // Committed, and visible to a separate connection, by the time this caller hears of it.
      return (visible.get(record.sopInstanceUid) as { n: number }).n;
    });
  });
  assert.deepEqual(await Promise.all(checks), new Array(n).fill(1));
  assert.ok(index.commitStats.batches < n / 4, `${index.commitStats.batches} transactions for ${n} inserts`);
  assert.equal((await index.stats()).instances, n);
});

test('SQLite: a failing insert in a batch does not fail the others', async (t) => {
  const index = new SqliteIndexStore({ path: join(tempDir(t), 'index.db') });
  t.after(() => void index.close());
  await index.insertInstance(indexRecord({ PatientID: 'P', StudyInstanceUID: '1', SeriesInstanceUID: '1.1', SOPInstanceUID: '1.1.1' }), 'keep');
  const batch = [
    index.insertInstance(indexRecord({ PatientID: 'P', StudyInstanceUID: '1', SeriesInstanceUID: '1.1', SOPInstanceUID: '1.1.2' }), 'keep'),
    // Series 1.1 belongs to study 1: a conflict.
    index.insertInstance(indexRecord({ PatientID: 'Q', StudyInstanceUID: '2', SeriesInstanceUID: '1.1', SOPInstanceUID: '2.1.1' }), 'keep'),
    // Same blob key as an indexed instance: a constraint violation from SQLite itself.
    index.insertInstance(indexRecord({ PatientID: 'P', StudyInstanceUID: '1', SeriesInstanceUID: '1.1', SOPInstanceUID: '1.1.3' }, 'blob-1.1.1'), 'keep'),
    index.insertInstance(indexRecord({ PatientID: 'R', StudyInstanceUID: '3', SeriesInstanceUID: '3.1', SOPInstanceUID: '3.1.1' }), 'keep'),
  ];
  const results = await Promise.allSettled(batch);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled']);
  assert.equal(((results[1] as PromiseRejectedResult).reason as DicomError).code, 'ERR_DICOM_STORAGE_CONFLICT');
  assert.equal(((results[2] as PromiseRejectedResult).reason as DicomError).code, 'ERR_DICOM_STORAGE_INDEX');
  assert.equal(index.commitStats.largestBatch, 4);
  assert.deepEqual(await index.stats(), { patients: 2, studies: 2, series: 2, instances: 3, totalSize: 3000 });
  assert.equal(await index.getInstance('2.1.1'), undefined);
  assert.equal(await index.getInstance('1.1.3'), undefined);
});

test('a write alone in its batch runs without a savepoint: if it throws, its transaction is rolled back whole', async () => {
  const db = fakeDatabase();
  let savepoints = 0;
  const counting = <T>(work: () => T): T => {
    savepoints++;
    return db.savepoint(work);
  };
  const rolledBack = (body: () => void) => {
    const mark = db.log.length;
    try {
      db.transaction(body);
    } catch (e) {
      db.log.splice(mark);
      throw e;
    }
  };
  const queue = new CommitQueue(rolledBack, counting, {});
  assert.equal(await queue.submit(() => db.log.push('a')), 2);
  await assert.rejects(queue.submit(() => {
    db.log.push('b');
    throw new Error('constraint failed');
  }), /constraint failed/);
  assert.deepEqual(db.log, ['BEGIN', 'a', 'COMMIT']);
  assert.equal(savepoints, 0);
  await Promise.all([queue.submit(() => 1), queue.submit(() => 2)]);
  assert.equal(savepoints, 2, 'each write of a batch of several has its savepoint');
});

test('SQLite: a lone insert that fails leaves nothing of itself, and the confirmations its transaction took along are taken by the next', async (t) => {
  const index = new SqliteIndexStore({ path: join(tempDir(t), 'index.db') });
  t.after(() => void index.close());
  await index.insertInstance(indexRecord({ PatientID: 'P', StudyInstanceUID: '1', SeriesInstanceUID: '1.1', SOPInstanceUID: '1.1.1' }), 'keep', { blobUnconfirmed: true });
  index.unconfirmedBlobs.confirm(['blob-1.1.1']);
  // Series 1.1 belongs to study 1: patient Q and study 2 are inserted, then the conflict is raised.
  await assert.rejects(
    index.insertInstance(indexRecord({ PatientID: 'Q', StudyInstanceUID: '2', SeriesInstanceUID: '1.1', SOPInstanceUID: '2.1.1' }), 'keep'),
    (e: unknown) => e instanceof DicomError && /indexed under study 1/.test(String((e as Error).cause ?? e)),
  );
  assert.deepEqual(await index.stats(), { patients: 1, studies: 1, series: 1, instances: 1, totalSize: 1000 });
  assert.equal(index.unconfirmedBlobs.pendingConfirmations, 1, 'the rolled-back forget is pending again');
  assert.deepEqual((await index.unconfirmedBlobs.list()).map((u) => u.blobKey), ['blob-1.1.1']);
  await index.insertInstance(indexRecord({ PatientID: 'P', StudyInstanceUID: '1', SeriesInstanceUID: '1.1', SOPInstanceUID: '1.1.2' }), 'keep');
  assert.equal(index.unconfirmedBlobs.pendingConfirmations, 0);
  assert.deepEqual(await index.unconfirmedBlobs.list(), []);
});

test('SQLite: a batch whose COMMIT fails (a deferred foreign key) rolls back, and the confirmations it took along are taken by the next', async (t) => {
  const index = new SqliteIndexStore({ path: join(tempDir(t), 'index.db') });
  t.after(() => void index.close());
  await index.insertInstance(indexRecord({ PatientID: 'P', StudyInstanceUID: '1', SeriesInstanceUID: '1.1', SOPInstanceUID: '1.1.1' }), 'keep', { blobUnconfirmed: true });
  index.unconfirmedBlobs.confirm(['blob-1.1.1']);
  // The write itself succeeds; the foreign key check it deferred fails the COMMIT (the study
  // still names the deleted patient).
  const store = index as unknown as { db: { pragma(s: string): unknown; prepare(s: string): { run(): unknown } }; write<T>(work: () => T): Promise<T> };
  await assert.rejects(store.write(() => {
    store.db.pragma('defer_foreign_keys = ON');
    store.db.prepare('DELETE FROM patient').run();
  }), /FOREIGN KEY/);
  assert.deepEqual(await index.stats(), { patients: 1, studies: 1, series: 1, instances: 1, totalSize: 1000 });
  assert.equal(index.unconfirmedBlobs.pendingConfirmations, 1, 'the forget rolled back with the COMMIT is pending again');
  await index.insertInstance(indexRecord({ PatientID: 'P', StudyInstanceUID: '1', SeriesInstanceUID: '1.1', SOPInstanceUID: '1.1.2' }), 'keep');
  assert.equal(index.unconfirmedBlobs.pendingConfirmations, 0);
  assert.deepEqual(await index.unconfirmedBlobs.list(), []);
});

test('with a flush of its own, writes arriving while the log is flushed commit together once it ends, each settling after its own flush', async () => {
  const db = fakeDatabase();
  const flushes: Array<{ log: string; done: () => void }> = [];
  const durable = () => new Promise<void>((resolve) => { flushes.push({ log: db.log.join(' '), done: resolve }); });
  const queue = new CommitQueue(db.transaction, db.savepoint, {}, durable);
  const settled: string[] = [];
  const write = (name: string) => queue.submit(() => db.log.push(name)).then(() => { settled.push(name); });
  const a = write('a');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(db.log, ['BEGIN', 'a', 'COMMIT'], 'a lone write commits at the next turn, without a wait');
  assert.equal(flushes.length, 1);
  // Arriving while a's flush runs: they need the next flush anyway, so they wait for this one to end.
  const later = [write('b'), write('c')];
  await new Promise((r) => setTimeout(r, 5));
  const d = write('d');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(db.log, ['BEGIN', 'a', 'COMMIT'], 'held while the log is flushed');
  assert.deepEqual(settled, []);
  flushes[0]!.done();
  await a;
  assert.deepEqual(settled, ['a']);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(db.log, ['BEGIN', 'a', 'COMMIT', 'BEGIN', 'b', 'c', 'd', 'COMMIT'], 'one transaction for the three');
  assert.equal(flushes.length, 2, 'and one flush after it');
  assert.deepEqual(settled, ['a'], 'not settled before their flush');
  flushes[1]!.done();
  await Promise.all([...later, d]);
  assert.deepEqual(settled, ['a', 'b', 'c', 'd']);
  assert.deepEqual(queue.stats, { batches: 2, writes: 4, largestBatch: 3 });
  // Idle again: the next write commits at once, with no wait for a timer after a batch of three.
  const e = write('e');
  await new Promise((r) => setImmediate(r));
  assert.equal(flushes.length, 3);
  assert.deepEqual(db.log.slice(-3), ['BEGIN', 'e', 'COMMIT']);
  flushes[2]!.done();
  await e;
});

test('a failed flush rejects its batch; the writes held meanwhile commit and flush after it', async () => {
  const db = fakeDatabase();
  const flushes: Array<{ ok: () => void; fail: (e: Error) => void }> = [];
  const durable = () => new Promise<void>((resolve, reject) => { flushes.push({ ok: resolve, fail: reject }); });
  const queue = new CommitQueue(db.transaction, db.savepoint, {}, durable);
  const a = queue.submit(() => 'a');
  await new Promise((r) => setImmediate(r));
  const b = queue.submit(() => 'b');
  flushes[0]!.fail(new Error('EIO'));
  await assert.rejects(a, /EIO/);
  await new Promise((r) => setImmediate(r));
  assert.equal(flushes.length, 2);
  flushes[1]!.ok();
  assert.equal(await b, 'b');
});
