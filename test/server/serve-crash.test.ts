/**
 * Crash test of the whole server process: `conduit serve` runs as a child, several associations
 * flood it with C-STOREs, it is SIGKILLed after a random number of Success responses, and is started
 * again on the same data folder. Then:
 * - every instance whose C-STORE-RSP Success arrived (before or after the kill: a response already
 *   on the wire was sent after the object was durable) is in the archive, its data set
 *   byte-identical to what was sent;
 * - no partial instance is indexed (every indexed blob parses to its end, counters agree);
 * - the temporary files of the writes the kill interrupted are removed at start, one log line each;
 * - the restarted server answers C-FIND over what it holds, and stores again.
 * One more association holds a C-STORE open mid-data-set when the kill comes, so each round has at
 * least one interrupted write. SIGKILL does not lose what the kernel accepted: this tests the order
 * of operations across the whole process (network, blob, index, response), not the fsyncs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type AssociationClient } from '../../src/ae/index.js';
import { DataSet } from '../../src/data/data-set.js';
import { parseDataSet } from '../../src/data/reader/data-set-parser.js';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../../src/data/transfer-syntax.js';
import { encodeDataSet } from '../../src/data/writer.js';
import { ArchiveStore } from '../../src/storage/archive-store.js';
import { FilesystemBlobStore } from '../../src/storage/filesystem/filesystem-blob-store.js';
import { SqliteIndexStore } from '../../src/storage/sqlite/sqlite-index-store.js';
import { readStoredObject } from '../../src/storage/stored-object.js';
import { Background, BIN, withTimeout } from '../helpers/network.js';
import { collect, CT_IMAGE, crashInstance, instanceDataSet, readAll, tempDir } from '../storage/helpers.js';

const STUDY_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.2.1';
const ELE = { explicitVR: true, littleEndian: true };
const ASSOCIATIONS = 4;

interface Sent { readonly uid: string; readonly hash: string }

function startServe(dataDir: string): { proc: Background; port: Promise<number> } {
  const proc = Background.start('conduit serve', process.execPath, [BIN, 'serve', '--dimse-port', '0', '--http-port', '0', '--host', '127.0.0.1', '--data', dataDir, '--aet', 'ARCHIVE']);
  return { proc, port: proc.waitFor(/listening for DIMSE on port (\d+)/).then((m) => Number(m[1])) };
}

function client(port: number): Promise<AssociationClient> {
  return connect({
    host: '127.0.0.1', port, calledAeTitle: 'ARCHIVE', callingAeTitle: 'FLOOD',
    presentationContexts: [
      { abstractSyntax: CT_IMAGE, transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN] },
      { abstractSyntax: STUDY_ROOT_FIND, transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN] },
    ],
  });
}

/** Temporary files (".<key>.<random>.tmp") under the blob tree. */
function temporaryFiles(blobs: string): string[] {
  if (!existsSync(blobs)) return [];
  return readdirSync(blobs, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /^\..+\.tmp$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Polls (every 10 ms, up to `ms`) until `check` holds. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Floods the server from ASSOCIATIONS associations plus one that stalls mid-object; SIGKILLs it once
 * `killAfter` Success responses have arrived and the stalled write's temporary file exists.
 * Returns every Success response received, before and after the kill.
 */
async function floodAndKill(proc: Background, port: number, blobs: string, first: number, killAfter: number): Promise<Sent[]> {
  const acked: Sent[] = [];
  let next = first;
  let killed = false;
  let release!: () => void;
  const stalled = new Promise<void>((r) => { release = r; });
  const tmpBefore = new Set(temporaryFiles(blobs));

  // The stalled C-STORE: half of a 2 MB object, then nothing until the server is gone.
  const staller = await client(port);
  const big = encodeDataSet(instanceDataSet({
    PatientID: 'STALL', StudyInstanceUID: `2.25.9.${first}`, SeriesInstanceUID: `2.25.9.${first}.1`, SOPInstanceUID: `2.25.9.${first}.1.1`,
  }, { pixelBytes: 2_000_000 }), ELE);
  async function* half(): AsyncGenerator<Uint8Array> {
    yield big.subarray(0, big.length >> 1);
    await stalled;
  }
  const stalledStore = staller.store({ stream: half(), sopClassUid: CT_IMAGE, sopInstanceUid: `2.25.9.${first}.1.1`, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN })
    .then((s) => assert.fail(`the stalled store completed: ${s.description}`), () => undefined);

  const kill = () => {
    if (killed) return;
    killed = true;
    proc.child.kill('SIGKILL');
  };
  const stalledWriteOpen = until(() => temporaryFiles(blobs).some((f) => !tmpBefore.has(f)), 10_000, 'the stalled write\'s temporary file');

  const flooders = Array.from({ length: ASSOCIATIONS }, async () => {
    const c = await client(port);
    while (!killed) {
      const ds = crashInstance(next++);
      const bytes = encodeDataSet(ds, ELE);
      const uid = ds.string('SOPInstanceUID')!;
      const hash = createHash('sha256').update(bytes).digest('hex');
      let status;
      try {
        status = await c.store({ stream: bytes, sopClassUid: CT_IMAGE, sopInstanceUid: uid, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN });
      } catch {
        assert.ok(killed, 'a store failed before the kill');
        return;
      }
      assert.equal(status.code, 0, `${uid}: ${status.description}`);
      acked.push({ uid, hash });
      if (acked.length >= killAfter) void stalledWriteOpen.then(kill);
    }
    c.abort();
  });
  await withTimeout(Promise.all(flooders), 30_000, `${killAfter} acknowledged stores and the kill`);
  await stalledWriteOpen;
  const exit = await proc.exited;
  assert.equal(exit.signal, 'SIGKILL', `the server ended by itself: ${proc.stderr}`);
  release();
  await stalledStore;
  return acked;
}

/** C-FIND, Study Root, STUDY level: the sum of Number of Study Related Instances over all studies. */
async function instancesByFind(port: number): Promise<number> {
  const c = await client(port);
  try {
    const pc = c.association.findPresentationContext(STUDY_ROOT_FIND)!;
    const identifier = new DataSet();
    identifier.set(0x00080052, 'CS', 'STUDY');
    identifier.set(0x0020000d, 'UI', '');
    identifier.set(0x00201208, 'IS', null);
    let total = 0;
    let final = -1;
    for await (const rsp of c.dimse.request({ type: 'C-FIND-RQ', affectedSopClassUid: STUDY_ROOT_FIND, priority: 0 } as never, pc.id, encodeDataSet(identifier, ELE))) {
      if (rsp.message.status === 0xff00) total += parseDataSet(rsp.dataSet!, ELE).number(0x00201208)!;
      else final = rsp.message.status;
    }
    assert.equal(final, 0);
    return total;
  } finally {
    await c.release();
  }
}

// [round, fewest, most] acknowledged responses before the kill: a random count in that range.
for (const [round, fewest, most] of [[1, 1, 8], [2, 20, 60], [3, 80, 160]] as const) {
  test(`serve crash ${round}: SIGKILL after ${fewest}-${most} acknowledged C-STOREs over ${ASSOCIATIONS} associations; restarted, it holds every one`, { timeout: 60_000 }, async (t) => {
    const dataDir = tempDir(t, 'conduit-serve-crash-');
    const blobs = join(dataDir, 'blobs');
    const killAfter = fewest + Math.floor(Math.random() * (most - fewest + 1));
    t.diagnostic(`kill after ${killAfter} Success responses`);

    const first = startServe(dataDir);
    t.after(() => first.proc.stop('SIGKILL'));
    const acked = await floodAndKill(first.proc, await first.port, blobs, round * 100_000, killAfter);
    assert.ok(acked.length >= killAfter);
    const interrupted = temporaryFiles(blobs);
    assert.ok(interrupted.length >= 1, 'the stalled write left its temporary file');

    // Restart on the same folder: the interrupted writes are removed and named, one line each.
    const second = startServe(dataDir);
    t.after(() => second.proc.stop('SIGKILL'));
    const port = await second.port;
    const removed = [...second.proc.stderr.matchAll(/ warn removed an interrupted write: (\S+)$/gm)].map((m) => m[1]!).sort();
    assert.deepEqual(removed, interrupted, 'each temporary file reported at start');
    assert.deepEqual(temporaryFiles(blobs), [], 'and removed');
    const orphanLine = /(\d+) files? in \S+ (?:is|are) not in the index/.exec(second.proc.stderr);
    // Entries indexed while their blob was flushed (ADR 0013) all have whole blobs after a SIGKILL.
    assert.doesNotMatch(second.proc.stderr, /dropped instance/, 'no entry committed before its blob was whole');

    // The restarted server finds what it holds.
    const found = await instancesByFind(port);
    const stopped = await second.proc.stop('SIGTERM');
    assert.equal(stopped.status, 0, second.proc.stderr);

    const archive = new ArchiveStore({
      index: new SqliteIndexStore({ path: join(dataDir, 'index.sqlite') }),
      blobs: new FilesystemBlobStore({ root: blobs }),
    });
    try {
      const stats = await archive.index.stats();
      assert.equal(found, stats.instances, 'C-FIND counts what the index holds');
      // Every acknowledged instance: its data set byte-identical to what was sent.
      for (const { uid, hash } of acked) {
        const bytes = await readAll((await archive.openInstance(uid, 'data-set')).stream);
        assert.equal(createHash('sha256').update(bytes).digest('hex'), hash, `${uid} byte-identical`);
      }
      // Every indexed instance (acknowledged or not: the kill may fall between commit and response) is whole.
      const indexed = await collect(archive.index.blobKeys());
      assert.ok(indexed.length >= acked.length);
      for (const { blobKey, sopInstanceUid } of indexed) {
        const reader = await archive.blobs.open(blobKey);
        try {
          const file = await readStoredObject(reader, { bulkDataThreshold: 256 });
          assert.equal(file.dataSet.string('SOPInstanceUID'), sopInstanceUid);
          const pixels = file.dataSet.get('PixelData')!.bulk!;
          assert.equal(pixels.offset + pixels.length, reader.size, `${sopInstanceUid} whole`);
        } finally {
          await reader.close();
        }
      }
      assert.equal(indexed.filter((e) => e.sopInstanceUid.startsWith('2.25.9.')).length, 0, 'the stalled object is not indexed');
      const db = (archive.index as SqliteIndexStore).db;
      const wrong = db.prepare(`SELECT
        (SELECT count(*) FROM series WHERE number_of_instances != (SELECT count(*) FROM instance WHERE series_pk = series.pk)) +
        (SELECT count(*) FROM study WHERE number_of_instances != (SELECT count(*) FROM instance WHERE study_pk = study.pk)) AS n`).get() as { n: number };
      assert.equal(wrong.n, 0, 'derived counts agree with the rows');
      // Nothing else is left: no temporary file, no index entry without its blob; blobs stored but
      // never indexed (the kill between a blob and its commit) are what the start reported.
      const check = await archive.startupCheck();
      assert.deepEqual(check.removedTemporaries, []);
      assert.deepEqual(check.missingBlobs, []);
      assert.deepEqual(check.droppedUnconfirmed, []);
      assert.equal(check.orphanBlobCount, orphanLine ? Number(orphanLine[1]) : 0);
      t.diagnostic(`${acked.length} acknowledged, ${indexed.length} indexed, ${interrupted.length} interrupted writes removed, ${check.orphanBlobCount} orphan blobs`);
    } finally {
      await archive.close();
    }
  });
}
