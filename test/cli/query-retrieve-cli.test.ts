/**
 * `conduit find` (and the argument handling of move and get) against `conduit serve`'s C-FIND in
 * this process: a non-ASCII key goes as ISO_IR 192 and the match comes back as JSON with the name
 * intact; a failure status is printed with its Error Comment and exits 1; bad keys and options are
 * refused before connecting. The retrieves themselves are tested against real peers (interop/qr-scu-*).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, DicomServer, proposalsFor, QUERY_RETRIEVE_SOP_CLASS } from '../../src/ae/index.js';
import { DataSet } from '../../src/data/data-set.js';
import { encodeDataSet } from '../../src/data/writer.js';
import { Status } from '../../src/dimse/index.js';
import { ProgressBar } from '../../src/cli/progress.js';
import { loadConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { ctDataSet, CT_IMAGE_STORAGE, EXPLICIT_LE } from '../ae/helpers.js';
import { Background, BIN, conduit, makeCertificates, withTimeout } from '../helpers/network.js';

const hasOpenssl = spawnSync('sh', ['-c', 'command -v openssl'], { stdio: 'ignore' }).status === 0;

let dataDir: string;
let server: RunningServer;
const STUDY_A = '1.2.826.0.1.3680043.8.498.7001';
const STUDY_B = '1.2.826.0.1.3680043.8.498.7002';

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'conduit-find-cli-'));
  server = await startServer(loadConfig({ flags: { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir }, env: {} }));
  const client = await connect({ host: '127.0.0.1', port: server.dimsePort, presentationContexts: proposalsFor([{ sopClassUid: CT_IMAGE_STORAGE, transferSyntaxUid: EXPLICIT_LE }]) });
  for (const [study, name, date] of [[STUDY_A, '山田^太郎', '20200105'], [STUDY_B, 'Doe^John', '20191231']] as const) {
    const ds = ctDataSet();
    ds.set('SpecificCharacterSet', 'CS', 'ISO_IR 192');
    ds.set('PatientName', 'PN', name);
    ds.set('PatientID', 'LO', `ID-${date}`);
    ds.set('StudyInstanceUID', 'UI', study);
    ds.set('StudyDate', 'DA', date);
    ds.set('SeriesInstanceUID', 'UI', `${study}.1`);
    assert.equal((await client.store({ dataSet: ds })).code, 0);
  }
  await client.release();
});

after(async () => {
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('find: a non-ASCII name matches (ISO_IR 192) and prints one JSON line per match', async () => {
  const r = await conduit(['find', '--aec', 'ARCHIVE', '-k', 'PatientName=山田*', '-k', 'StudyInstanceUID', '-k', 'StudyDate', '127.0.0.1', String(server.dimsePort)]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, { Value?: unknown[] }>);
  assert.equal(lines.length, 1);
  assert.deepEqual(lines[0]!['00100010']?.Value, [{ Alphabetic: '山田^太郎' }]);
  assert.deepEqual(lines[0]!['0020000D']?.Value, [STUDY_A]);
  assert.deepEqual(lines[0]!['00080020']?.Value, ['20200105']);
  assert.match(r.stderr, /^conduit find: 1 match; 0000H/);
});

test('find: a date range and Patient Root at PATIENT level', async () => {
  const range = await conduit(['find', '--aec', 'ARCHIVE', '-q', '-k', 'StudyDate=-20191231', '-k', 'StudyInstanceUID', '127.0.0.1', String(server.dimsePort)]);
  assert.equal(range.status, 0, range.stderr);
  assert.equal(range.stderr, '', '--quiet: no summary');
  assert.deepEqual(range.stdout.trim().split('\n').map((l) => (JSON.parse(l) as Record<string, { Value: string[] }>)['0020000D']!.Value[0]), [STUDY_B]);
  const patients = await conduit(['find', '--aec', 'ARCHIVE', '-P', '-k', 'PatientID', '-k', 'PatientName', '127.0.0.1', String(server.dimsePort)]);
  assert.equal(patients.status, 0, patients.stderr);
  const ids = patients.stdout.trim().split('\n').map((l) => (JSON.parse(l) as Record<string, { Value: string[] }>)['00100020']!.Value[0]).sort();
  assert.deepEqual(ids, ['ID-20191231', 'ID-20200105']);
});

test('find --fuzzy / --empty-value: asked for by extended negotiation (PS3.4 C.5.1.1), agreed by serve and applied; a peer that does not agree is named in a warning', async (t) => {
  const port = String(server.dimsePort);
  const fuzzy = await conduit(['find', '--aec', 'ARCHIVE', '--fuzzy', '-k', 'PatientName=john do', '-k', 'StudyInstanceUID', '127.0.0.1', port]);
  assert.equal(fuzzy.status, 0, fuzzy.stderr);
  assert.deepEqual(fuzzy.stdout.trim().split('\n').map((l) => (JSON.parse(l) as Record<string, { Value: string[] }>)['0020000D']!.Value[0]), [STUDY_B]);
  assert.doesNotMatch(fuzzy.stderr, /warning/);
  const literal = await conduit(['find', '--aec', 'ARCHIVE', '-k', 'PatientName=john do', '-k', 'StudyInstanceUID', '127.0.0.1', port]);
  assert.equal(literal.stdout, '', 'without --fuzzy the name is matched literally');
  const empty = await conduit(['find', '--aec', 'ARCHIVE', '--empty-value', '-k', 'StudyDescription=""', '-k', 'StudyInstanceUID', '127.0.0.1', port]);
  assert.equal(empty.stdout.trim().split('\n').length, 2, 'neither study has a Study Description');

  // A C-FIND SCP that answers no extended negotiation (DCMTK's dcmqrscp, Orthanc): the options are 0.
  const plain = new DicomServer({
    aeTitle: 'PLAIN-QR', host: '127.0.0.1', port: 0,
    abstractSyntaxes: { [QUERY_RETRIEVE_SOP_CLASS.STUDY.FIND]: [EXPLICIT_LE] },
    handlers: {
      async request(req) {
        await req.request.dataSet!.collect();
        await req.respond({ status: Status.Success });
      },
    },
  });
  const listening = await plain.listen();
  t.after(() => plain.close({ abort: true }));
  const warned = await conduit(['find', '--fuzzy', '--empty-value', '-k', 'PatientName=john do', '127.0.0.1', String(listening.port)]);
  assert.equal(warned.status, 0, warned.stderr);
  assert.match(warned.stderr, /^conduit find: warning: the peer did not agree fuzzy semantic matching of person names \(PS3\.4 C\.5\): it answers without it\n/);
  assert.match(warned.stderr, /\nconduit find: warning: the peer did not agree Empty Value Matching/);
});

test('find: a failure status is printed with its Error Comment and exits 1', async () => {
  const r = await conduit(['find', '--aec', 'ARCHIVE', '-k', 'StudyDate=20201340', '-k', 'StudyInstanceUID', '127.0.0.1', String(server.dimsePort)]);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /conduit find: 0 matches; A900H .*\(.*20201340.*\)/);
});

test('find, move, get: bad keys and options are refused before connecting, naming what is wrong', async () => {
  // Port 9 (discard) is never contacted: the arguments fail first.
  const bogus = await conduit(['find', '-k', 'PatientNme=X', '127.0.0.1', '9']);
  assert.equal(bogus.status, 1);
  assert.match(bogus.stderr, /unknown attribute "PatientNme" in the key "PatientNme=X"/);
  const both = await conduit(['get', '-P', '-S', '-k', 'StudyInstanceUID=1.2', '127.0.0.1', '9']);
  assert.equal(both.status, 1);
  assert.match(both.stderr, /either -P .* or -S/);
  const noDest = await conduit(['move', '-k', 'StudyInstanceUID=1.2', '127.0.0.1', '9']);
  assert.notEqual(noDest.status, 0);
  assert.match(noDest.stderr, /--dest/);
  const level = await conduit(['find', '--level', 'FRAME', '127.0.0.1', '9']);
  assert.notEqual(level.status, 0);
  assert.match(level.stderr, /PATIENT, STUDY, SERIES or IMAGE/);
  // --out naming a file: said in words with the option, not Node's "EEXIST: file already exists, mkdir".
  const file = join(dataDir, 'not-a-folder');
  writeFileSync(file, 'x');
  const out = await conduit(['get', '--out', file, '-k', 'StudyInstanceUID=1.2', '127.0.0.1', '9']);
  assert.equal(out.status, 1);
  assert.equal(out.stderr, `conduit get: --out ${file}: a file is there, not a folder [ERR_DICOM_INVALID_ARGUMENT]\n`);
});

test('the progress bar without bytes counts sub-operations, and takes a total learnt on the way', () => {
  const bar = new ProgressBar({ isTTY: false, write: () => true }, 0, 0, { bytes: false });
  bar.update(3, 0, 10);
  const text = bar.render(60);
  assert.match(text, /3\/10 files$/);
  assert.doesNotMatch(text, /MB/);
});

test('find over TLS: the server certificate verified against --tls-ca; another CA fails in words', { skip: hasOpenssl ? undefined : 'openssl is not installed' }, async (t) => {
  const certs = await makeCertificates(mkdtempSync(join(dataDir, 'tls-')));
  const server = new DicomServer({
    aeTitle: 'TLS-QR', host: '127.0.0.1', port: 0,
    tls: { key: readFileSync(certs.serverKey), cert: readFileSync(certs.serverCert) },
    abstractSyntaxes: { [QUERY_RETRIEVE_SOP_CLASS.STUDY.FIND]: [EXPLICIT_LE] },
    handlers: {
      async request(req) {
        await req.request.dataSet!.collect();
        const m = new DataSet();
        m.set('QueryRetrieveLevel', 'CS', 'STUDY');
        m.set('StudyInstanceUID', 'UI', '1.2.3.4');
        await req.respond({ status: Status.Pending }, encodeDataSet(m, { explicitVR: true, littleEndian: true }));
        await req.respond({ status: Status.Success });
      },
    },
  });
  const { port } = await server.listen();
  t.after(() => server.close({ abort: true }));
  const ok = await conduit(['find', '--tls-ca', certs.ca, '-k', 'StudyInstanceUID', 'localhost', String(port)]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual((JSON.parse(ok.stdout) as Record<string, { Value: string[] }>)['0020000D']!.Value, ['1.2.3.4']);
  const wrong = await conduit(['find', '--tls-ca', certs.otherCa, '-k', 'StudyInstanceUID', 'localhost', String(port)]);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /conduit find: TLS to localhost:\d+ failed/);
});

test('move: SIGINT sends C-CANCEL; the SCP stops, the summary gives its Cancel response, exit status 130', async (t) => {
  let performed = 0;
  let cancelled = false;
  let started!: () => void;
  const firstDone = new Promise<void>((resolve) => (started = resolve));
  const scp = new DicomServer({
    aeTitle: 'SLOW-QR', host: '127.0.0.1', port: 0,
    abstractSyntaxes: { [QUERY_RETRIEVE_SOP_CLASS.STUDY.MOVE]: [EXPLICIT_LE] },
    handlers: {
      async request(req) {
        await req.request.dataSet!.collect();
        const total = 60_000;
        for (let i = 0; i < total; i++) {
          if (req.request.cancelled.aborted) {
            cancelled = true;
            await req.respond({ status: Status.Cancel, numberOfRemainingSuboperations: total - i, numberOfCompletedSuboperations: i, numberOfFailedSuboperations: 0, numberOfWarningSuboperations: 0 } as never);
            return;
          }
          performed++;
          await req.respond({ status: Status.Pending, numberOfRemainingSuboperations: total - i - 1, numberOfCompletedSuboperations: i + 1, numberOfFailedSuboperations: 0, numberOfWarningSuboperations: 0 } as never);
          if (i === 0) started();
          await new Promise((r) => setTimeout(r, 5));
        }
        await req.respond({ status: Status.Success, numberOfCompletedSuboperations: total, numberOfFailedSuboperations: 0, numberOfWarningSuboperations: 0 } as never);
      },
    },
  });
  const { port } = await scp.listen();
  t.after(() => scp.close({ abort: true }));
  const child = Background.start('conduit move', process.execPath, [BIN, 'move', '--dest', 'ANY', '-k', 'StudyInstanceUID=1.2.3', '127.0.0.1', String(port)]);
  t.after(() => child.stop('SIGKILL'));
  await withTimeout(Promise.race([firstDone, child.exited.then(() => { throw new Error(`conduit move exited: ${child.stderr}`); })]), 20_000, 'the first sub-operation');
  child.child.kill('SIGINT');
  const exit = await withTimeout(child.exited, 20_000, 'conduit move to exit');
  assert.equal(exit.status, 130, child.stderr);
  assert.ok(cancelled, 'the SCP saw C-CANCEL-RQ');
  assert.ok(performed < 60_000);
  assert.match(child.stderr, /cancelling \(C-CANCEL\)/);
  assert.match(child.stdout, new RegExp(`^completed ${performed}, failed 0, warnings 0; FE00H`));
});
