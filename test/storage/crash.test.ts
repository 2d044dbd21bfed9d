/**
 * Crash test: a child process floods storeInstance and reports each acknowledged instance; it is
 * SIGKILLed mid-flood; the archive is reopened and must hold every acknowledged instance byte for
 * byte, index nothing partial, and clean up or report what the crash left behind.
 *
 * SIGKILL stops the process at an arbitrary point (inside a blob write, between the blob and the
 * index commit, inside a group commit); it does not lose what the kernel has accepted, so it tests
 * that the order of operations is right, not the fsyncs (a power cut would; see ADR 0007).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SqliteIndexStore } from '../../src/storage/sqlite/sqlite-index-store.js';
import { readStoredObject } from '../../src/storage/stored-object.js';
import { collect, crashInstance, openArchive, readAll, storeInput, tempDir } from './helpers.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'crash-child.js');

/** Runs the child until `killAfter` acknowledgements (plus a random moment), SIGKILLs it; returns every acknowledgement it printed. */
async function floodAndKill(dir: string, killAfter: number, extraMs: number): Promise<Map<string, string>> {
  const child = spawn(process.execPath, [CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const acks = new Map<string, string>();
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
  let killing = false;
  for await (const line of createInterface({ input: child.stdout })) {
    const [word, uid, hash] = line.split(' ');
    if (word !== 'ACK') continue;
    acks.set(uid!, hash!);
    if (acks.size >= killAfter && !killing) {
      killing = true;
      setTimeout(() => child.kill('SIGKILL'), extraMs);
    }
  }
  const signal = await exited;
  assert.equal(signal, 'SIGKILL', `the child ended by itself: ${stderr}`);
  return acks;
}

for (const [round, killAfter, extraMs] of [[1, 3, 0], [2, 40, 3], [3, 150, 11]] as const) {
  test(`crash ${round}: SIGKILL after ${killAfter} acknowledged stores; every acknowledged instance survives, nothing partial is indexed`, { timeout: 120_000 }, async (t) => {
    const dir = tempDir(t, 'conduit-crash-');
    const acks = await floodAndKill(dir, killAfter, extraMs);
    assert.ok(acks.size >= killAfter);

    const archive = openArchive(dir);
    t.after(() => void archive.close());
    const report = await archive.startupCheck();
    assert.deepEqual(report.missingBlobs, [], 'no index entry without its blob');
    // SIGKILL loses nothing the kernel accepted, and a blob is whole under its key before its entry
    // is committed (ADR 0013): entries still unconfirmed must all have whole blobs.
    assert.deepEqual(report.droppedUnconfirmed, [], 'no entry committed before its blob was whole');

    // Every acknowledged instance: indexed, its data set byte-identical to what was sent.
    for (const [uid, hash] of acks) {
      const instance = await archive.index.getInstance(uid);
      assert.ok(instance, `acknowledged ${uid} is indexed`);
      const bytes = await readAll((await archive.openInstance(uid, 'data-set')).stream);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), hash, `${uid} byte-identical`);
    }

    // Every indexed instance (acknowledged or not, the crash may have hit between commit and ACK) is complete.
    const indexed = await collect(archive.index.blobKeys());
    for (const { blobKey, sopInstanceUid } of indexed) {
      const reader = await archive.blobs.open(blobKey);
      try {
        const file = await readStoredObject(reader, { bulkDataThreshold: 256 });
        assert.equal(file.dataSet.string('SOPInstanceUID'), sopInstanceUid);
        assert.equal(file.meta.string(0x00020003), sopInstanceUid);
        assert.equal(file.dataSet.get('PixelData')!.bulk!.offset + file.dataSet.get('PixelData')!.bulk!.length, reader.size, 'whole object');
      } finally {
        await reader.close();
      }
    }
    assert.ok(indexed.length >= acks.size);

    // The counters kept in each transaction agree with the rows.
    const db = (archive.index as SqliteIndexStore).db;
    const wrong = db.prepare(`SELECT
      (SELECT count(*) FROM series WHERE number_of_instances != (SELECT count(*) FROM instance WHERE series_pk = series.pk)) +
      (SELECT count(*) FROM study WHERE number_of_instances != (SELECT count(*) FROM instance WHERE study_pk = study.pk)
        OR number_of_series != (SELECT count(*) FROM series WHERE study_pk = study.pk)) +
      (SELECT count(*) FROM patient WHERE number_of_studies != (SELECT count(*) FROM study WHERE patient_pk = patient.pk)) AS n`).get() as { n: number };
    assert.equal(wrong.n, 0);
    const stats = await archive.index.stats();
    assert.equal(stats.instances, indexed.length);
    assert.equal((db.prepare('SELECT count(*) AS n FROM instance_metadata').get() as { n: number }).n, indexed.length);

    // What the crash left: temporary files removed, blobs stored but never indexed reported, then removed.
    t.diagnostic(`${acks.size} acknowledged, ${indexed.length} indexed, ${report.removedTemporaries.length} temporary files removed, ${report.orphanBlobs.length} orphan blobs`);
    const cleaned = await archive.startupCheck({ removeOrphanBlobs: true });
    assert.deepEqual(cleaned.removedTemporaries, []);
    assert.deepEqual(cleaned.orphanBlobs, report.orphanBlobs);
    assert.equal((await collect(archive.blobs.list())).length, indexed.length);

    // The archive goes on working.
    const after = crashInstance(1_000_000 + round);
    assert.equal((await archive.storeInstance(storeInput(after))).status, 'inserted');
  });
}
