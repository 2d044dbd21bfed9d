/**
 * Orthanc (Debian package orthanc) and `conduit serve` (in this process) retrieving from each
 * other: Orthanc, with the archive configured as a DICOM modality, C-MOVEs a study from it to itself
 * (POST /modalities/conduit/move); and the archive, with Orthanc configured as a --peer, C-MOVEs a
 * study to Orthanc when movescu asks it to. What Orthanc then holds is checked over its REST API
 * against the files stored (Orthanc writes through DCMTK, which re-encodes: compared normalized).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, describeFile, proposalsFor } from '../../src/ae/index.js';
import { readFile } from '../../src/media/part10.js';
import { loadConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { peer, PYDICOM_DATA } from '../helpers/peers.js';
import { Background, compareAll, freePort, run, waitForPort, withTimeout, type CorpusFile } from '../helpers/network.js';

const skip = peer('orthanc') ?? peer('dcmtk');
const ORTHANC = existsSync('/usr/sbin/Orthanc') ? '/usr/sbin/Orthanc' : 'Orthanc';
const FILES = ['CT_small.dcm', 'MR_small.dcm', 'rtplan.dcm', 'SC_rgb_jpeg_dcmtk.dcm'].map((n) => join(PYDICOM_DATA, 'test_files', n));

let work: string;
let server: RunningServer;
let orthanc: { proc: Background; url: string };
const corpus: CorpusFile[] = [];

async function rest<T>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(`${orthanc.url}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: HTTP ${r.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Orthanc's instances, downloaded into a fresh folder. */
async function orthancInstances(name: string): Promise<string> {
  const dir = join(work, name);
  mkdirSync(dir);
  for (const id of await rest<string[]>('GET', '/instances')) {
    const res = await fetch(`${orthanc.url}/instances/${id}/file`);
    assert.ok(res.ok);
    writeFileSync(join(dir, `${id}.dcm`), Buffer.from(await res.arrayBuffer()));
  }
  return dir;
}

async function deleteAll(): Promise<void> {
  for (const id of await rest<string[]>('GET', '/instances')) await rest('DELETE', `/instances/${id}`);
}

/** The archive with Orthanc as a peer, and Orthanc with the archive as a modality: each needs the other's port. */
async function startBoth(): Promise<void> {
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const [dicomPort, httpPort] = [await freePort(), await freePort()];
    if (dicomPort === httpPort) continue;
    server = await startServer(loadConfig({
      flags: { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir: join(work, `data-${attempt}`), peers: [`orthanc=ORTHANC@127.0.0.1:${dicomPort}`] },
      env: {},
    }));
    const storage = join(work, `orthanc-db-${attempt}`);
    mkdirSync(storage, { recursive: true });
    const config = join(work, `orthanc-${attempt}.json`);
    writeFileSync(config, JSON.stringify({
      Name: 'ConduitRetrieve', StorageDirectory: storage, IndexDirectory: storage, Plugins: [], HttpPort: httpPort, RemoteAccessAllowed: false,
      AuthenticationEnabled: false, DicomServerEnabled: true, DicomAet: 'ORTHANC', DicomPort: dicomPort, DicomCheckCalledAet: false,
      DicomModalities: { conduit: ['ARCHIVE', '127.0.0.1', server.dimsePort] }, OverwriteInstances: true, SaveJobs: false,
    }, null, 2));
    const proc = Background.start('Orthanc', ORTHANC, [config], { cwd: work });
    const url = `http://127.0.0.1:${httpPort}`;
    try {
      await withTimeout((async () => {
        for (;;) {
          if (!proc.alive) throw new Error(`Orthanc exited:\n${proc.stderr.slice(-2000)}`);
          if (await fetch(`${url}/system`).then((r) => r.ok, () => false)) return;
          await new Promise((r) => setTimeout(r, 100));
        }
      })(), 60_000, 'Orthanc to answer GET /system');
      await waitForPort(dicomPort, { alive: () => proc.alive });
      orthanc = { proc, url };
      return;
    } catch (e) {
      last = String(e);
      await proc.stop('SIGKILL');
      await server.close();
    }
  }
  throw new Error(`Orthanc did not start: ${last}`);
}

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'conduit-orthanc-retrieve-'));
  await startBoth();
  const described = await Promise.all(FILES.map((f) => describeFile(f)));
  const client = await connect({ host: '127.0.0.1', port: server.dimsePort, calledAeTitle: 'ARCHIVE', presentationContexts: proposalsFor(described) });
  for (const d of described) {
    assert.equal((await client.store(d)).code, 0, d.path);
    corpus.push({ path: d.path, name: d.path, sopClassUid: d.sopClassUid, sopInstanceUid: d.sopInstanceUid, transferSyntaxUid: d.transferSyntaxUid });
  }
  await client.release();
});

after(async () => {
  await orthanc?.proc.stop('SIGTERM', 20_000);
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function studyOf(path: string): Promise<string> {
  return (await readFile(path)).dataSet.string(0x0020000d)!;
}

test('Orthanc C-MOVEs studies from conduit serve to itself (POST /modalities/conduit/move): they arrive unchanged', { skip }, async () => {
  await deleteAll();
  for (const f of corpus) {
    await rest('POST', '/modalities/conduit/move', { Level: 'Study', Resources: [{ StudyInstanceUID: await studyOf(f.path) }], TargetAet: 'ORTHANC' });
  }
  const dir = await orthancInstances('moved-by-orthanc');
  assert.deepEqual(await compareAll(corpus, dir, { exact: false }), []);
});

test('movescu asks conduit serve to C-MOVE a study to Orthanc (a --peer): Orthanc holds it (GET /instances), unchanged', { skip }, async () => {
  await deleteAll();
  const ct = corpus.find((f) => f.path.endsWith('CT_small.dcm'))!;
  const jpeg = corpus.find((f) => f.path.endsWith('SC_rgb_jpeg_dcmtk.dcm'))!;
  const r = await run('movescu', ['-v', '-S', '-aec', 'ARCHIVE', '-aem', 'ORTHANC', '-k', 'QueryRetrieveLevel=STUDY',
    '-k', `StudyInstanceUID=${await studyOf(ct.path)}\\${await studyOf(jpeg.path)}`, '127.0.0.1', String(server.dimsePort)], { timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout + r.stderr, /Received Final Move Response \(Success\)/);
  const ids = await rest<string[]>('GET', '/instances');
  assert.equal(ids.length, 2);
  assert.deepEqual(await compareAll([ct, jpeg], await orthancInstances('moved-to-orthanc'), { exact: false }), []);
});
