/**
 * Conduit's network commands against Orthanc (Debian package orthanc), started here with its own
 * configuration: free DICOM and HTTP ports, AE ORTHANC, storage in a temporary folder, Conduit's
 * listener registered as a modality, TCP_NODELAY=1. `conduit store` sends pydicom's test files into
 * it (checked over its REST API: the instance count, and each stored file's data set against the
 * file sent); Orthanc sends them back with C-STORE into `conduit listen` (triggered with
 * POST /modalities/{name}/store), and those must match too.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peer } from '../helpers/peers.js';
import {
  Background, compareAll, conduit, copyInto, roundsOfUniqueInstances, startConduitListen, storableCorpus, type CorpusFile,
} from '../helpers/network.js';
import { startOrthanc, type RunningOrthanc } from '../helpers/orthanc.js';

const skip = peer('orthanc');

let work: string;
let rounds: CorpusFile[][] = [];
let roundDirs: string[] = [];
let listen: { proc: Background; port: number; out: string };
let orthanc: RunningOrthanc;

async function rest<T>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(`${orthanc.url}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: HTTP ${r.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

async function instanceIds(): Promise<string[]> {
  return rest<string[]>('GET', '/instances');
}

async function deleteAll(): Promise<void> {
  for (const id of await instanceIds()) await rest('DELETE', `/instances/${id}`);
}

function clear(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const n of readdirSync(dir)) rmSync(join(dir, n), { recursive: true, force: true });
}

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'conduit-orthanc-net-'));
  rounds = roundsOfUniqueInstances(await storableCorpus());
  roundDirs = rounds.map((r, i) => {
    const dir = join(work, `round-${i}`);
    copyInto(dir, r);
    return dir;
  });
  const out = join(work, 'listen-out');
  listen = { ...(await startConduitListen(out)), out };
  orthanc = await startOrthanc(work, { modalities: { conduit: ['CONDUIT', '127.0.0.1', listen.port] } });
});

after(async () => {
  await orthanc?.proc.stop('SIGTERM', 20_000);
  await listen?.proc.stop('SIGKILL');
  if (work) rmSync(work, { recursive: true, force: true });
});

/**
 * Orthanc refuses, with C000H, the few pydicom files whose data set DCMTK (inside it) does not see
 * as an instance (no SOP Class or Instance UID where DCMTK looks, Pixel Data of odd length in RLE).
 */
function refusedByOrthanc(stderr: string): Set<string> {
  const refused = new Set<string>();
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('conduit store: failed:')) continue;
    assert.match(line, /: C000H Error: Cannot understand$|peer accepted no presentation context/, stderr);
    refused.add(line.match(/failed: (.*?): /)![1]!);
  }
  return refused;
}

test('conduit store into Orthanc: the instances arrive (GET /instances) with their data sets unchanged (GET /instances/{id}/file)', { skip }, async () => {
  let stored = 0;
  for (const [i, round] of rounds.entries()) {
    await deleteAll();
    const r = await conduit(['store', '--aec', 'ORTHANC', '127.0.0.1', String(orthanc.dicomPort), roundDirs[i]!], { timeout: 120_000 });
    const refused = refusedByOrthanc(r.stderr);
    const sent = round.filter((f) => !refused.has(join(roundDirs[i]!, f.name)));
    assert.match(r.stdout, new RegExp(`^sent ${sent.length}, failed ${refused.size},`), r.stderr);
    const ids = await instanceIds();
    assert.equal(ids.length, sent.length, `round ${i}: Orthanc holds ${ids.length} instances for ${sent.length} stored`);
    const fetched = join(work, `from-orthanc-${i}`);
    mkdirSync(fetched);
    for (const id of ids) {
      const res = await fetch(`${orthanc.url}/instances/${id}/file`);
      assert.ok(res.ok);
      writeFileSync(join(fetched, `${id}.dcm`), Buffer.from(await res.arrayBuffer()));
    }
    // Orthanc writes what it receives through DCMTK, which re-encodes (explicit sequence lengths...).
    assert.deepEqual(await compareAll(sent, fetched, { exact: false }), [], `round ${i}`);
    stored += sent.length;
  }
  assert.ok(stored > 120, `${stored} instances stored`);
});

test('Orthanc C-STOREs into conduit listen (POST /modalities/conduit/store): the files arrive unchanged', { skip }, async () => {
  let received = 0;
  for (const [i, round] of rounds.entries()) {
    await deleteAll();
    clear(listen.out);
    const r = await conduit(['store', '--aec', 'ORTHANC', '127.0.0.1', String(orthanc.dicomPort), roundDirs[i]!], { timeout: 120_000 });
    const refused = refusedByOrthanc(r.stderr);
    const held = round.filter((f) => !refused.has(join(roundDirs[i]!, f.name)));
    const ids = await instanceIds();
    const answer = await rest<{ FailedInstancesCount?: number; InstancesCount?: number }>('POST', '/modalities/conduit/store', { Resources: ids, Synchronous: true });
    assert.equal(answer.FailedInstancesCount ?? 0, 0, JSON.stringify(answer));
    assert.deepEqual(await compareAll(held, listen.out, { exact: false }), [], `round ${i}`);
    received += held.length;
  }
  assert.ok(received > 120, `${received} instances received`);
  assert.match(listen.proc.stdout, /from ORTHANC \(.*\) to CONDUIT/);
});

test('conduit echo to Orthanc, and Orthanc echoes conduit listen (POST /modalities/conduit/echo)', { skip }, async () => {
  const r = await conduit(['echo', '--aec', 'ORTHANC', '127.0.0.1', String(orthanc.dicomPort)]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /0000H Success/);
  await rest('POST', '/modalities/conduit/echo', {});
  await listen.proc.waitFor(/from ORTHANC .*\n(.*\n)*.*: C-ECHO/);
});
