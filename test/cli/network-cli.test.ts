/**
 * `conduit listen`, `conduit echo` and `conduit store` run as child processes, as a user runs them
 * (node bin/conduit ...): the listener's port read from its first line, pydicom's test files sent
 * and the received files' data sets compared with the sent ones, failures told in words, TLS, and a
 * graceful shutdown on SIGTERM. A DicomServer in this process stands in where a peer must answer
 * with failure or warning statuses.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { connect, DicomServer, proposalsFor } from '../../src/ae/index.js';
import { planAssociations } from '../../src/cli/commands/store.js';
import { ProgressBar } from '../../src/cli/progress.js';
import type { SendableFile } from '../../src/services/storage/file-source.js';
import { peer } from '../helpers/peers.js';
import {
  TEST_FILES, compareAll, conduit, copyInto, freePort, makeCertificates, roundsOfUniqueInstances, startConduitListen, storableCorpus,
  withTimeout, type Background, type CorpusFile,
} from '../helpers/network.js';

const noFiles = existsSync(join(TEST_FILES, 'CT_small.dcm')) ? peer('pydicom') : 'pydicom test files are not installed';
const hasOpenssl = spawnSync('sh', ['-c', 'command -v openssl'], { stdio: 'ignore' }).status === 0;

let work: string;
let out: string;
let listen: { proc: Background; port: number };
let corpus: CorpusFile[] = [];

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'conduit-net-cli-'));
  out = join(work, 'out');
  listen = await startConduitListen(out);
  if (!noFiles) corpus = await storableCorpus();
});

after(async () => {
  await listen?.proc.stop('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** Resolves once `re` matches what `proc` wrote on stderr (a pipe read a little after the line was written). */
function stderrMatch(proc: Background, re: RegExp): Promise<void> {
  return withTimeout(new Promise<void>((done) => {
    const check = (): void => {
      if (re.test(proc.stderr)) done();
    };
    proc.child.stderr?.on('data', check);
    check();
  }), 10_000, `${re} on stderr`);
}

function clearOut(): void {
  for (const n of readdirSync(out)) rmSync(join(out, n), { force: true });
}

// ---- echo ----

test('listen prints its port first; echo against it succeeds with the status and the round-trip time', async () => {
  assert.match(listen.proc.stdout.split('\n')[0]!, /^listening on port \d+ as CONDUIT, writing to /);
  const r = await conduit(['echo', '127.0.0.1', String(listen.port)]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^C-ECHO to ANY-SCP at 127\.0\.0\.1:\d+: 0000H Success, round trip [\d.]+ ms \(association [\d.]+ ms\)\n$/);
  const r3 = await conduit(['echo', '--aet', 'ECHOSCU', '--repeat', '3', 'localhost', String(listen.port)]);
  assert.equal(r3.status, 0, r3.stderr);
  assert.equal(r3.stdout.trim().split('\n').length, 3);
  await listen.proc.waitFor(/from ECHOSCU \(.*\) to ANY-SCP/);
});

test('echo: a refused connection is said in words and exits 1', async () => {
  const port = await freePort();
  const r = await conduit(['echo', '127.0.0.1', String(port)]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`connection refused by 127\\.0\\.0\\.1:${port}: nothing is listening there \\[ERR_DICOM_TRANSPORT\\]`));
});

test('echo at a port that is not DICOM (an HTTP server, e.g. conduit serve\'s DICOMweb port): said in words, exits 1', async () => {
  const http = await import('node:http');
  const server = http.createServer((_req, res) => res.writeHead(400).end());
  // Node's HTTP server answers a request line it cannot parse with "HTTP/1.1 400 Bad Request".
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as net.AddressInfo).port;
    const r = await conduit(['echo', '127.0.0.1', String(port)]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${port} answered with bytes that are not a DICOM PDU \\(they begin "HTTP/1\\.1 4`), r.stderr);
    assert.match(r.stderr, /an HTTP server\? \(DICOMweb is not DIMSE\) \[ERR_DICOM_ASSOCIATION_ABORTED\]\n$/, r.stderr);
  } finally {
    server.close();
  }
});

test('echo --tls at a port without TLS that resets the handshake (as storescp without +tls does): said so, exits 1', async () => {
  const plain = net.createServer((s) => {
    s.on('error', () => undefined);
    s.once('data', () => s.resetAndDestroy());
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  try {
    const port = (plain.address() as net.AddressInfo).port;
    const r = await conduit(['echo', '--tls', '--timeout', '5', '127.0.0.1', String(port)]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `conduit echo: 127.0.0.1:${port} reset the connection during the TLS handshake: does the port speak TLS? (a DICOM port without it, such as storescp without +tls, resets it) [ERR_DICOM_TRANSPORT]\n`);
  } finally {
    plain.close();
  }
});

test('echo: an association rejected names result, source and reason', async () => {
  const strict = await startConduitListen(join(work, 'strict'), ['--aet', 'ARCHIVE', '--strict-aet', '--accept-calling', 'GOOD']);
  try {
    const wrongCalled = await conduit(['echo', '--aec', 'WRONG', '127.0.0.1', String(strict.port)]);
    assert.equal(wrongCalled.status, 1);
    assert.match(wrongCalled.stderr, /association rejected: result 1 \(rejected-permanent\), source 1 \(service-user\), reason 7 \(called-AE-title-not-recognized\)/);
    const wrongCalling = await conduit(['echo', '--aec', 'ARCHIVE', '--aet', 'BAD', '127.0.0.1', String(strict.port)]);
    assert.equal(wrongCalling.status, 1);
    assert.match(wrongCalling.stderr, /reason 3 \(calling-AE-title-not-recognized\)/);
    const right = await conduit(['echo', '--aec', 'ARCHIVE', '--aet', 'GOOD', '127.0.0.1', String(strict.port)]);
    assert.equal(right.status, 0, right.stderr);
    await strict.proc.waitFor(/rejected an association from CONDUIT: result 1 \(rejected-permanent\), source 1 \(service-user\), reason 7 \(called-AE-title-not-recognized\)/);
  } finally {
    await strict.proc.stop();
  }
});

test('echo: a peer that never answers times out after --timeout', async () => {
  const silent = net.createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const port = (silent.address() as net.AddressInfo).port;
    // What starting the CLI costs on this machine now: an echo refused at once (nothing listens).
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const baselineStart = Date.now();
    const refused = await conduit(['echo', '--timeout', '0.5', '127.0.0.1', String(closedPort)]);
    const baseline = Date.now() - baselineStart;
    assert.equal(refused.status, 1);
    const started = Date.now();
    const r = await conduit(['echo', '--timeout', '0.5', '127.0.0.1', String(port)]);
    const elapsed = Date.now() - started;
    assert.equal(r.status, 1);
    assert.match(r.stderr, /timed out: the A-ASSOCIATE-RQ to 127\.0\.0\.1:\d+ took more than 500 ms \[ERR_DICOM_ASSOCIATION_TIMEOUT\]/);
    // The process ends once it has said so (0.5 s after start-up), not after the transport's
    // 5 s close timeout: the extra time over a start-up that fails at once stays well below 5 s.
    assert.ok(elapsed - baseline < 3000, `${elapsed} ms against ${baseline} ms for a refused echo`);
  } finally {
    silent.close();
  }
});

test('echo and store: bad arguments are refused before connecting', async () => {
  const r = await conduit(['echo', '--aec', 'A_TITLE_LONGER_THAN_16', '127.0.0.1', '104']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /expected an AE title/);
  const p = await conduit(['store', '127.0.0.1', '70000', 'x.dcm']);
  assert.notEqual(p.status, 0);
  assert.match(p.stderr, /expected a TCP port number/);
  const notDicom = join(work, 'not-dicom');
  mkdirSync(notDicom);
  writeFileSync(join(notDicom, 'notes.txt'), 'no DICOM here');
  const nothing = await conduit(['store', '127.0.0.1', String(listen.port), notDicom]);
  assert.equal(nothing.status, 1);
  assert.match(nothing.stderr, /skipped .*notes\.txt: not a DICOM file\n.*no DICOM files to send/);
});

// ---- store ----

test('store: every storable pydicom test file arrives with its data set unchanged (a folder tree per round of unique instances)', { skip: noFiles }, async () => {
  assert.ok(corpus.length > 100, `only ${corpus.length} storable files found`);
  const rounds = roundsOfUniqueInstances(corpus);
  for (const [i, round] of rounds.entries()) {
    clearOut();
    const dir = join(work, `round-${i}`);
    copyInto(dir, round);
    const r = await conduit(['store', '--aet', 'STORESCU', '127.0.0.1', String(listen.port), dir]);
    assert.equal(r.status, 0, `round ${i}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^sent ${round.length}, failed 0, warnings 0, skipped 0; [\\d.]+ MB in [\\d.]+ s \\([\\d.]+ instances/s, [\\d.]+ MB/s\\)\\n$`));
    assert.deepEqual(await compareAll(round, out), [], `round ${i}`);
  }
  await listen.proc.waitFor(/from STORESCU .*\n.*stored .*\.dcm \(CT Image Storage, \d+ bytes\)/);
});

test('listen counts the objects of an association in words that agree: "released, 1 object"', { skip: noFiles }, async () => {
  clearOut();
  const r = await conduit(['store', '--aet', 'ONEOBJECT', '127.0.0.1', String(listen.port), corpus[0]!.path]);
  assert.equal(r.status, 0, r.stderr);
  const n = (await listen.proc.waitFor(/association (\d+): from ONEOBJECT /))[1]!;
  await listen.proc.waitFor(new RegExp(`association ${n}: released, 1 object\\n`));
});

test('listen says when a connection fails before any association (bytes that are not a PDU), but not for a peer that connects and hangs up (a port check)', async () => {
  const failedLines = (): number => listen.proc.stderr.split('\n').filter((l) => l.includes('failed before any association')).length;
  const before = failedLines();
  await new Promise<void>((done) => net.connect(listen.port, '127.0.0.1', function (this: net.Socket) {
    this.end();
  }).on('close', () => done()));
  const http = net.connect(listen.port, '127.0.0.1', () => http.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  http.on('error', () => undefined);
  // The answer is an A-ABORT; the connection ends (and the failure is told) once this end closes (PS3.8 Sta13).
  http.once('data', () => http.destroy());
  await stderrMatch(listen.proc, /conduit listen: a connection from \S+ failed before any association: unknown PDU type 47H/);
  assert.equal(failedLines(), before + 1, listen.proc.stderr);
});

test('listen warns when an object replaces a file of the same SOP Instance UID (storescp does too), not when the name is new', { skip: noFiles }, async () => {
  const l = await startConduitListen(join(work, 'replaced'), ['--quiet']);
  try {
    const ct = join(TEST_FILES, 'CT_small.dcm');
    const first = await conduit(['store', '127.0.0.1', String(l.port), ct, join(TEST_FILES, 'MR_small.dcm')]);
    assert.equal(first.status, 0, first.stderr);
    const again = await conduit(['store', '127.0.0.1', String(l.port), ct]);
    assert.equal(again.status, 0, again.stderr);
    const warning = /conduit listen: association 2: warning: \S+\/1\.3\.6\.1\.4\.1\.5962\.1\.1\.1\.1\.1\.20040119072730\.12322\.dcm replaced the file of that name \(an object with the same SOP Instance UID\)\n/;
    // Written before the C-STORE-RSP went; its pipe may be read a little after the store's exit.
    await stderrMatch(l.proc, warning);
    assert.equal(l.proc.stderr.match(/warning:/g)?.length, 1, l.proc.stderr);
  } finally {
    await l.proc.stop();
  }
});

test('store of the whole pydicom folder: non-DICOM files and DICOMDIRs skipped with a note, unreadable files listed as failures, exit 1', { skip: noFiles }, async () => {
  clearOut();
  const r = await conduit(['store', '127.0.0.1', String(listen.port), TEST_FILES]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /skipped .*test_files\/README\.txt: not a DICOM file/);
  assert.match(r.stderr, /skipped .*dicomdirtests\/DICOMDIR: a DICOMDIR, not sent/);
  assert.match(r.stderr, /failed: .*rtplan_truncated\.dcm: value length 50 exceeds the 29 bytes remaining .*\[ERR_DICOM_TRUNCATED\]/);
  assert.match(r.stderr, /failed: .*nested_priv_SQ\.dcm: cannot read it: .*no SOP Class UID/);
  const m = r.stdout.match(/^sent (\d+), failed (\d+), warnings 0, skipped (\d+);/);
  assert.ok(m, r.stdout);
  assert.ok(Number(m[1]) >= corpus.length, r.stdout);
  assert.equal(Number(m[2]), r.stderr.split('\n').filter((l) => l.startsWith('conduit store: failed:')).length);
});

test('store of a folder with links and special files: a link to a file is sent; a link to a folder, a broken link and a FIFO are skipped with a note each', { skip: noFiles }, async () => {
  clearOut();
  const tree = mkdtempSync(join(work, 'links-'));
  const elsewhere = mkdtempSync(join(work, 'elsewhere-'));
  copyInto(elsewhere, corpus.filter((f) => f.name === 'MR_small.dcm'));
  symlinkSync(join(TEST_FILES, 'CT_small.dcm'), join(tree, 'ct.dcm'));
  symlinkSync(elsewhere, join(tree, 'study'));
  symlinkSync(join(work, 'not-there'), join(tree, 'gone.dcm'));
  const fifo = spawnSync('mkfifo', [join(tree, 'pipe')]).status === 0;
  const r = await conduit(['store', '127.0.0.1', String(listen.port), tree], { timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^sent 1, failed 0, warnings 0, skipped ${fifo ? 3 : 2};`));
  assert.match(r.stderr, /skipped \S+\/study: a link to a folder, not followed \(name the folder itself to send it\)/);
  assert.match(r.stderr, /skipped \S+\/gone\.dcm: a broken link/);
  if (fifo) assert.match(r.stderr, /skipped \S+\/pipe: not a regular file \(a FIFO, socket or device\)/);
  assert.deepEqual(await compareAll(corpus.filter((f) => f.name === 'CT_small.dcm'), out), []);
});

test('store with --max-contexts 2: the files go over several associations, all arrive', { skip: noFiles }, async () => {
  clearOut();
  const round = roundsOfUniqueInstances(corpus)[0]!.slice(0, 40);
  const dir = join(work, 'split');
  copyInto(dir, round);
  const before = (listen.proc.stdout.match(/: released,/g) ?? []).length;
  const r = await conduit(['store', '--max-contexts', '2', '--max-pdu', '4096', '127.0.0.1', String(listen.port), dir]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(await compareAll(round, out), []);
  const kinds = new Set(round.map((f) => `${f.sopClassUid}|${f.transferSyntaxUid}`)).size;
  await withTimeout((async () => {
    while ((listen.proc.stdout.match(/: released,/g) ?? []).length - before < 3) await new Promise((res) => setTimeout(res, 20));
  })(), 5000, 'the releases to be logged');
  assert.ok(kinds > 3, `${kinds} kinds of files`);
});

test('planAssociations keeps each association within its presentation context limit and every file once', () => {
  const files: SendableFile[] = [];
  for (let i = 0; i < 300; i++) {
    files.push({ path: `f${i}`, sopClassUid: `1.2.3.${i % 150}`, sopInstanceUid: `9.${i}`, transferSyntaxUid: i % 3 === 0 ? '1.2.840.10008.1.2.4.50' : '1.2.840.10008.1.2', dataSetOffset: 0, size: 1 });
  }
  for (const limit of [1, 2, 7, 128]) {
    const groups = planAssociations(files, limit);
    for (const g of groups) assert.ok(proposalsFor(g).length <= Math.max(limit, 2), `a group of ${proposalsFor(g).length} contexts for a limit of ${limit}`);
    assert.deepEqual(groups.flat().map((f) => f.path).sort(), files.map((f) => f.path).sort());
  }
  assert.equal(planAssociations(files.slice(0, 10), 128).length, 1);
});

test('store: failure and warning statuses are listed with their Error Comment; exit 1', { skip: noFiles }, async () => {
  let n = 0;
  const server = new DicomServer({
    aeTitle: 'PICKY',
    handlers: {
      store: async (req) => {
        for await (const chunk of req.dataSet) void chunk;
        n++;
        if (n === 2) return { status: 0xa700, errorComment: 'disk full' };
        if (n === 3) return { status: 0xb000, errorComment: 'coerced PatientName' };
        return undefined;
      },
    },
  });
  const { port } = await server.listen();
  try {
    const files = ['CT_small.dcm', 'MR_small.dcm', 'rtplan.dcm', 'rtdose.dcm'].map((f) => join(TEST_FILES, f));
    const r = await conduit(['store', '--aec', 'PICKY', '127.0.0.1', String(port), ...files]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^sent 3, failed 1, warnings 1, skipped 0;/);
    assert.match(r.stderr, /failed: .*MR_small\.dcm: A700H Refused: Out of Resources \(disk full\)/);
    assert.match(r.stderr, /warning: .*rtplan\.dcm: B000H Warning: Coercion of Data Elements \(coerced PatientName\)/);
  } finally {
    await server.close({ abort: true });
  }
});

test('store: an unreachable peer fails every file with one clear reason', { skip: noFiles }, async () => {
  const port = await freePort();
  const r = await conduit(['store', '127.0.0.1', String(port), join(TEST_FILES, 'CT_small.dcm'), join(TEST_FILES, 'MR_small.dcm')]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^sent 0, failed 2,/);
  assert.match(r.stderr, /conduit store: connection refused by 127\.0\.0\.1:\d+: nothing is listening there/);
  assert.match(r.stderr, /failed: .*MR_small\.dcm: not sent: connection refused/);
});

test('store: many files not sent for one reason are one line (first and last), each with --verbose', { skip: noFiles }, async () => {
  const port = await freePort();
  const files = ['CT_small.dcm', 'MR_small.dcm', 'rtplan.dcm', 'rtdose.dcm', 'JPEG2000.dcm'].map((f) => join(TEST_FILES, f));
  const r = await conduit(['store', '127.0.0.1', String(port), ...files]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^sent 0, failed 5,/);
  const notSent = r.stderr.split('\n').filter((l) => l.includes('not sent'));
  assert.equal(notSent.length, 1, r.stderr);
  assert.match(notSent[0]!, /^conduit store: failed: 5 files not sent: connection refused.*: \S*CT_small\.dcm \.\.\. \S*JPEG2000\.dcm \(--verbose lists each\)$/);
  const verbose = await conduit(['store', '--verbose', '127.0.0.1', String(port), ...files]);
  for (const f of files) assert.match(verbose.stderr, new RegExp(`failed: \\S*${basename(f).replace('.', '\\.')}: not sent: connection refused`));
});

test('store falls back to an uncompressed syntax the peer accepts: Big Endian and Implicit files to an Explicit-only SCP', { skip: noFiles }, async () => {
  const received = join(work, 'fallback');
  mkdirSync(received);
  const { writeReceivedObject } = await import('../../src/services/storage/part10-sink.js');
  const server = new DicomServer({
    aeTitle: 'EXPLICIT',
    acceptAnyStorageTransferSyntax: false,
    abstractSyntaxes: Object.fromEntries(['1.2.840.10008.5.1.4.1.1.4', '1.2.840.10008.5.1.4.1.1.481.2', '1.2.840.10008.1.1']
      .map((uid) => [uid, ['1.2.840.10008.1.2.1']])),
    handlers: { store: async (req) => void await writeReceivedObject(received, { ...req, sourceAet: req.association.callingAeTitle }, req.dataSet) },
  });
  const { port } = await server.listen();
  try {
    const sent = corpus.filter((f) => ['MR_small_bigendian.dcm', 'rtdose.dcm'].includes(f.name));
    assert.equal(sent.length, 2);
    const r = await conduit(['store', '127.0.0.1', String(port), ...sent.map((f) => f.path)]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(await compareAll(sent, received), []);
  } finally {
    await server.close({ abort: true });
  }
});

// ---- listen: options, shutdown ----

test('listen --quiet prints only its first line; --no-fsync still writes whole files', { skip: noFiles }, async () => {
  const dir = join(work, 'quiet');
  const q = await startConduitListen(dir, ['--quiet', '--no-fsync']);
  try {
    const r = await conduit(['store', '127.0.0.1', String(q.port), join(TEST_FILES, 'CT_small.dcm')]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(await compareAll(corpus.filter((f) => f.name === 'CT_small.dcm'), dir), []);
  } finally {
    await q.proc.stop('SIGTERM');
  }
  assert.deepEqual(q.proc.stdout.trim().split('\n').filter((l) => !/^(SIGTERM|stopped)/.test(l)).length, 1, q.proc.stdout);
});

test('listen on SIGTERM stops listening, lets a running association finish, then exits 0', { skip: noFiles }, async () => {
  const dir = join(work, 'graceful');
  const l = await startConduitListen(dir);
  const client = await connect({
    host: '127.0.0.1', port: l.port,
    presentationContexts: proposalsFor([{ sopClassUid: '1.2.840.10008.5.1.4.1.1.2', transferSyntaxUid: '1.2.840.10008.1.2.1' }]),
  });
  l.proc.child.kill('SIGTERM');
  await l.proc.waitFor(/SIGTERM: no longer listening; waiting up to 30 s for 1 association/);
  // New connections are refused now...
  const refused = await conduit(['echo', '--timeout', '2', '127.0.0.1', String(l.port)]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /connection refused|reset the connection|closed/);
  // ...while the open association still stores.
  const status = await client.store(join(TEST_FILES, 'CT_small.dcm'));
  assert.ok(status.isSuccess, status.description);
  await client.release();
  const exit = await withTimeout(l.proc.exited, 10_000, 'listen to exit');
  assert.deepEqual(exit, { status: 0, signal: null });
  assert.match(l.proc.stdout, /stopped\n$/);
  assert.deepEqual(await compareAll(corpus.filter((f) => f.name === 'CT_small.dcm'), dir), []);
});

test('listen: a second signal aborts what is still running at once', async () => {
  const l = await startConduitListen(join(work, 'twice'));
  const client = await connect({ host: '127.0.0.1', port: l.port });
  const closed = new Promise<void>((r) => client.association.once('close', () => r()));
  l.proc.child.kill('SIGTERM');
  await l.proc.waitFor(/SIGTERM: no longer listening; waiting up to 30 s for 1 association/);
  l.proc.child.kill('SIGTERM');
  await withTimeout(closed, 5000, 'the association to be aborted');
  const exit = await withTimeout(l.proc.exited, 5000, 'listen to exit');
  assert.equal(exit.status, 0);
  assert.match(l.proc.stdout, /SIGTERM: aborting 1 association/);
});

test('listen: the shutdown timeout aborts what is still running', async () => {
  const l = await startConduitListen(join(work, 'impatient'), ['--shutdown-timeout', '0.3']);
  const client = await connect({ host: '127.0.0.1', port: l.port });
  const aborted = new Promise<void>((r) => client.association.once('close', () => r()));
  l.proc.child.kill('SIGINT');
  await withTimeout(aborted, 10_000, 'the association to be aborted');
  const exit = await withTimeout(l.proc.exited, 10_000, 'listen to exit');
  assert.equal(exit.status, 0);
  assert.match(l.proc.stdout, /shutdown timeout: aborting 1 association/);
});

test('listen: an output folder that cannot be created is an error at start', async () => {
  const file = join(work, 'a-file');
  writeFileSync(file, 'x');
  const r = await conduit(['listen', '--port', '0', '--out', join(file, 'sub')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /conduit listen: cannot create .*a-file\/sub/);
});

// ---- TLS ----

test('TLS: listen with a certificate, echo and store verifying it against the CA; a wrong CA fails clearly', { skip: noFiles ?? (hasOpenssl ? undefined : 'openssl is not installed') }, async () => {
  const certs = await makeCertificates(mkdtempSync(join(work, 'tls-')));
  const dir = join(work, 'tls-out');
  const l = await startConduitListen(dir, ['--tls-key', certs.serverKey, '--tls-cert', certs.serverCert, '--tls-ca', certs.ca]);
  try {
    assert.match(l.proc.stdout, /listening on port \d+ as CONDUIT \(TLS\)/);
    const client = ['--tls-ca', certs.ca, '--tls-key', certs.clientKey, '--tls-cert', certs.clientCert];
    const ok = await conduit(['echo', ...client, 'localhost', String(l.port)]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /0000H Success.*TLSv1\.[23]/);
    const stored = await conduit(['store', ...client, '127.0.0.1', String(l.port), join(TEST_FILES, 'CT_small.dcm')]);
    assert.equal(stored.status, 0, stored.stderr);
    assert.deepEqual(await compareAll(corpus.filter((f) => f.name === 'CT_small.dcm'), dir), []);
    const wrongCa = await conduit(['echo', '--tls-ca', certs.otherCa, '--tls-key', certs.clientKey, '--tls-cert', certs.clientCert, 'localhost', String(l.port)]);
    assert.equal(wrongCa.status, 1);
    assert.match(wrongCa.stderr, /TLS to localhost:\d+ failed: /);
    const noClientCert = await conduit(['echo', '--tls-ca', certs.ca, 'localhost', String(l.port)]);
    assert.equal(noClientCert.status, 1, 'the server requires a client certificate');
    const plain = await conduit(['echo', '--timeout', '3', '127.0.0.1', String(l.port)]);
    assert.equal(plain.status, 1);
    // The listener says why each of them never got as far as an association (an administrator's only clue).
    await stderrMatch(l.proc, /conduit listen: a connection from .* failed before any association: the TLS handshake failed: the client sent no certificate, and this server requires one\n/);
    await stderrMatch(l.proc, /conduit listen: a connection from \S+ failed before any association: the TLS handshake failed: the client does not speak TLS \(plain DICOM to a TLS port\?\)\n/);
    // A client certificate the listener does not trust (the other CA's own, self-signed): both ends say so.
    const untrusted = await conduit(['echo', '--tls-ca', certs.ca, '--tls-key', join(dirname(certs.otherCa), 'other-ca.key'), '--tls-cert', certs.otherCa, 'localhost', String(l.port)]);
    assert.equal(untrusted.status, 1);
    assert.match(untrusted.stderr, /closed the connection before answering the A-ASSOCIATE-RQ \(over TLS, a server closes so when it does not trust the client certificate: is --tls-cert signed by a CA it trusts\?\)/);
    await stderrMatch(l.proc, /failed before any association: the TLS handshake failed: the client's certificate does not verify against the trusted CAs \([A-Z_]+\)\n/);
    // A key that is not the certificate's, a key file given as the CA: one line naming the files, not OpenSSL's words.
    const mismatch = await conduit(['echo', '--tls-ca', certs.ca, '--tls-key', certs.serverKey, '--tls-cert', certs.clientCert, 'localhost', String(l.port)]);
    assert.equal(mismatch.status, 1);
    assert.equal(mismatch.stderr, `conduit echo: --tls-key ${certs.serverKey} is not the private key of --tls-cert ${certs.clientCert} [ERR_DICOM_INVALID_ARGUMENT]\n`);
    const keyAsCa = await conduit(['listen', '--port', '0', '--out', dir, '--tls-key', certs.serverKey, '--tls-cert', certs.serverCert, '--tls-ca', certs.clientKey]);
    assert.equal(keyAsCa.status, 1);
    assert.match(keyAsCa.stderr, /^conduit listen: --tls-ca \S+client\.key holds no certificate in PEM form/);
  } finally {
    await l.proc.stop();
  }
});

// ---- the progress bar ----

test('the progress bar draws only on a terminal, and fits the width', () => {
  const written: string[] = [];
  const stream = { isTTY: false, columns: 60, write: (t: string) => written.push(t) > 0 };
  const quiet = new ProgressBar(stream, 10, 10e6);
  quiet.update(10, 10e6);
  quiet.finish();
  assert.deepEqual(written, []);
  const bar = new ProgressBar({ ...stream, isTTY: true }, 10, 10e6);
  bar.update(5, 5e6);
  bar.update(10, 10e6);
  const text = bar.render(60);
  assert.ok(text.length <= 60, text);
  assert.match(text, /^\[#+\] 10\/10 files {2}10\.0\/10\.0 MB {2}[\d.]+ MB\/s$/);
  assert.match(written.join(''), /\r\x1b\[K\[#+-*\] 5\/10 files/);
  bar.note('a note');
  bar.finish();
  assert.match(written.join(''), /\r\x1b\[Ka note\n\r\x1b\[K\[/);
  assert.ok(new ProgressBar(stream, 1, 1).render(20).length < 20);
});
