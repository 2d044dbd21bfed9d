/**
 * The flushes the archive's durability rests on, observed: GroupSync (a flush begun after each
 * caller's request covers it; callers arriving during a flush share the next one), and the SQLite
 * index flushing its write-ahead log itself (walSync 'thread-pool'): a write resolves only after an
 * fdatasync of the -wal file that began after its COMMIT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { fstatSync, statSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { GroupSync } from '../../src/storage/group-sync.js';
import { CommitQueue } from '../../src/storage/sqlite/commit-queue.js';
import { SqliteIndexStore } from '../../src/storage/sqlite/sqlite-index-store.js';
import { indexRecord, tempDir } from './helpers.js';

test('GroupSync: each sync() resolves after a flush that began after the call; callers during a flush share the next', async () => {
  const flushes: Array<{ began: number; finish: () => void }> = [];
  let clock = 0;
  let lastFinished = -1;
  const group = new GroupSync(() => new Promise<void>((resolve) => {
    const f = { began: clock++, finish: () => { lastFinished = f.began; resolve(); } };
    flushes.push(f);
  }));
  const asked: Array<{ at: number; coveredBy?: number }> = [];
  const ask = () => {
    const a: { at: number; coveredBy?: number } = { at: clock++ };
    asked.push(a);
    void group.sync().then(() => { a.coveredBy = lastFinished; });
  };
  ask();
  assert.equal(flushes.length, 1, 'the first caller starts a flush at once');
  ask(); ask(); ask();
  assert.equal(flushes.length, 1, 'callers during a flush wait: no second flush yet');
  assert.equal(group.busy, true);
  flushes[0]!.finish();
  await new Promise((r) => setImmediate(r));
  assert.equal(flushes.length, 2, 'one more flush for the three that waited');
  ask();
  flushes[1]!.finish();
  await new Promise((r) => setImmediate(r));
  assert.equal(flushes.length, 3, 'the caller that came during the second flush gets a third');
  flushes[2]!.finish();
  await new Promise((r) => setImmediate(r));
  assert.equal(group.busy, false);
  assert.deepEqual(asked.map((a) => a.coveredBy), [1, 5, 5, 5, 7], 'which flush resolved each caller');
  for (const a of asked) assert.ok(a.coveredBy! > a.at, `the caller at ${a.at} is covered by a flush begun after it`);
});

test('GroupSync: a failed flush rejects its callers; the next caller gets a new flush', async () => {
  let fail = true;
  let runs = 0;
  const group = new GroupSync(async () => { runs++; if (fail) throw new Error('EIO'); });
  await assert.rejects(group.sync(), /EIO/);
  fail = false;
  await group.sync();
  assert.equal(runs, 2);
});

test('CommitQueue with its own flush: a batch settles only when the flush after its COMMIT has resolved', async () => {
  const log: string[] = [];
  let release!: () => void;
  const queue = new CommitQueue(
    (body) => { log.push('BEGIN'); body(); log.push('COMMIT'); },
    (work) => work(),
    {},
    () => { log.push('flush'); return new Promise<void>((r) => { release = () => { log.push('flushed'); r(); }; }); },
  );
  const done = Promise.all([queue.submit(() => log.push('a')), queue.submit(() => log.push('b'))]).then(() => log.push('resolved'));
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ['BEGIN', 'a', 'b', 'COMMIT', 'flush'], 'committed, not resolved before the flush');
  release();
  await done;
  assert.deepEqual(log.slice(-2), ['flushed', 'resolved']);
});

/** Records fdatasync calls (descriptor, and whether they had completed) while `fn` runs. */
async function watchingFdatasync<T>(fn: (events: string[]) => Promise<T>): Promise<{ result: T; fds: number[]; events: string[] }> {
  const original = fs.fdatasync;
  const fds: number[] = [];
  const events: string[] = [];
  (fs as { fdatasync: unknown }).fdatasync = (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
    fds.push(fd);
    events.push('fdatasync');
    original(fd, (err) => {
      events.push('synced');
      cb(err);
    });
  };
  syncBuiltinESMExports();
  try {
    return { result: await fn(events), fds, events };
  } finally {
    (fs as { fdatasync: unknown }).fdatasync = original;
    syncBuiltinESMExports();
  }
}

test('SQLite index: commits made durable by an fdatasync of the write-ahead log on the thread pool before the writes resolve', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'index.db');
  const index = new SqliteIndexStore({ path });
  assert.equal(index.db.pragma('synchronous', { simple: true }), 1, 'SQLite itself at NORMAL: no fsync inside COMMIT');
  const { fds, events } = await watchingFdatasync(async (events) => {
    const records = Array.from({ length: 12 }, (_, i) => indexRecord({ PatientID: 'W', StudyInstanceUID: '2.25.70', SeriesInstanceUID: '2.25.70.1', SOPInstanceUID: `2.25.70.1.${i}` }));
    await Promise.all(records.map((r) => index.insertInstance(r, 'keep').then(() => events.push('resolved'))));
  });
  assert.ok(fds.length >= 1 && fds.length <= 3, `${fds.length} log flushes for 12 concurrent inserts`);
  const wal = statSync(`${path}-wal`);
  for (const fd of fds) assert.equal(fstatSync(fd).ino, wal.ino, 'the flush is of the -wal file');
  assert.ok(events.indexOf('synced') >= 0 && events.indexOf('synced') < events.indexOf('resolved'), `no write resolved before a flush completed: ${events.join(' ')}`);
  assert.equal(index.commitStats.writes, 12);
  await index.close();

  const inline = new SqliteIndexStore({ path: join(dir, 'inline.db'), walSync: 'sqlite' });
  assert.equal(inline.db.pragma('synchronous', { simple: true }), 2, "walSync 'sqlite': SQLite's FULL");
  const none = await watchingFdatasync(() => inline.insertInstance(indexRecord({ PatientID: 'X', StudyInstanceUID: '2.25.71', SeriesInstanceUID: '2.25.71.1', SOPInstanceUID: '2.25.71.1.1' }), 'keep'));
  assert.equal(none.fds.length, 0);
  await inline.close();
});
