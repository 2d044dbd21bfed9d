import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, describeFile, proposalsFor } from '../../src/ae/index.js';
import { DataSet } from '../../src/data/data-set.js';
import { parseDataSet } from '../../src/data/reader/data-set-parser.js';
import { encodeDataSet } from '../../src/data/writer.js';
import { loadConfig } from '../../src/server/config.js';
import { AssociationRejectedError, RejectReason, RejectSource } from '../../src/upper-layer/errors.js';
import { startServer } from '../../src/server/serve.js';
import { makeCertificates } from '../helpers/network.js';
import { PYDICOM_DATA } from '../helpers/peers.js';

const STUDY_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.2.1';
const FILES = ['CT_small.dcm', 'MR_small.dcm'].map((f) => join(PYDICOM_DATA, 'test_files', f));
const ELE = { explicitVR: true, littleEndian: true };

async function findStudies(port: number): Promise<string[]> {
  const client = await connect({ host: '127.0.0.1', port, calledAeTitle: 'ARCHIVE', presentationContexts: [{ abstractSyntax: STUDY_ROOT_FIND, transferSyntaxes: ['1.2.840.10008.1.2.1'] }] });
  try {
    const pc = client.association.findPresentationContext(STUDY_ROOT_FIND)!;
    const identifier = new DataSet();
    identifier.set(0x00080052, 'CS', 'STUDY');
    identifier.set(0x00100010, 'PN', '*');
    identifier.set(0x0020000d, 'UI', '');
    identifier.set(0x00201208, 'IS', null); // Number of Study Related Instances, a derived attribute
    const found: string[] = [];
    let final = -1;
    for await (const rsp of client.dimse.request({ type: 'C-FIND-RQ', affectedSopClassUid: STUDY_ROOT_FIND, priority: 0 } as never, pc.id, encodeDataSet(identifier, ELE))) {
      if (rsp.message.status === 0xff00) {
        const ds = parseDataSet(rsp.dataSet!, ELE);
        assert.equal(ds.number(0x00201208), 1, 'one instance per study');
        found.push(ds.string(0x0020000d)!);
      } else final = rsp.message.status;
    }
    assert.equal(final, 0, 'C-FIND ends with Success');
    return found.sort();
  } finally {
    await client.release();
  }
}

test('conduit serve stores durably, indexes, answers C-FIND, and keeps the archive across restarts', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'conduit-serve-'));
  try {
    const config = loadConfig({ flags: { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir }, env: {} });
    let server = await startServer(config);
    const described = await Promise.all(FILES.map((f) => describeFile(f)));
    const client = await connect({ host: '127.0.0.1', port: server.dimsePort, calledAeTitle: 'ARCHIVE', presentationContexts: proposalsFor(described) });
    for (const f of described) assert.equal((await client.store(f)).code, 0);
    await client.release();
    const expected = (await Promise.all(FILES.map(async (f) => (await import('../../src/media/part10.js')).readFile(f)))).map((d) => d.dataSet.string(0x0020000d)!).sort();
    assert.deepEqual(await findStudies(server.dimsePort), expected);
    assert.equal((await server.archive.index.stats()).instances, 2);
    await server.close();

    server = await startServer(config);
    try {
      assert.deepEqual(await findStudies(server.dimsePort), expected, 'the index survives a restart');
    } finally {
      await server.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('AE title policy: any titles by default; restrictToPeers refuses an unknown calling title (reason 3), checkCalledAeTitle a wrong called title (reason 7)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'conduit-serve-'));
  const rejection = (reason: number) => (e: unknown) => {
    assert.ok(e instanceof AssociationRejectedError, String(e));
    assert.equal(e.source, RejectSource.ServiceUser);
    assert.equal(e.reason, reason);
    return true;
  };
  try {
    const base = { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir };
    const open = await startServer(loadConfig({ flags: base, env: {} }));
    try {
      const any = await connect({ host: '127.0.0.1', port: open.dimsePort, callingAeTitle: 'WHOEVER', calledAeTitle: 'NOT-ARCHIVE' });
      assert.equal((await any.echo()).code, 0, 'by default any calling and called title is answered');
      await any.release();
    } finally {
      await open.close();
    }
    const flags = { ...base, peers: ['MODALITY=CT1@127.0.0.1:104'], restrictToPeers: true };
    const strict = await startServer(loadConfig({ flags, env: { CONDUIT_CHECK_CALLED_AET: 'true' } }));
    try {
      const port = strict.dimsePort;
      await assert.rejects(connect({ host: '127.0.0.1', port, callingAeTitle: 'STRANGER', calledAeTitle: 'ARCHIVE' }), rejection(RejectReason.CallingAeTitleNotRecognized));
      await assert.rejects(connect({ host: '127.0.0.1', port, callingAeTitle: 'CT1', calledAeTitle: 'OTHER' }), rejection(RejectReason.CalledAeTitleNotRecognized));
      const ok = await connect({ host: '127.0.0.1', port, callingAeTitle: 'CT1', calledAeTitle: 'ARCHIVE' });
      assert.equal((await ok.echo()).code, 0);
      await ok.release();
    } finally {
      await strict.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('DIMSE over TLS: tlsKey + tlsCert make the port TLS only; tlsCa asks requestors for a certificate it verifies; bad settings stop the start in words', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'conduit-serve-'));
  try {
    const certs = await makeCertificates(mkdtempSync(join(dataDir, 'tls-')));
    const base = { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir: join(dataDir, 'archive') };
    const logged: string[] = [];
    const server = await startServer(loadConfig({ flags: { ...base, tlsKey: certs.serverKey, tlsCert: certs.serverCert }, env: { CONDUIT_TLS_CA: certs.ca } }), (_level, message) => logged.push(message));
    try {
      const port = server.dimsePort;
      const client = await connect({ host: 'localhost', port, calledAeTitle: 'ARCHIVE', tls: { ca: readFileSync(certs.ca), key: readFileSync(certs.clientKey), cert: readFileSync(certs.clientCert) } });
      assert.equal((await client.echo()).code, 0, 'C-ECHO over TLS with a trusted client certificate');
      await client.release();
      await assert.rejects(connect({ host: 'localhost', port, calledAeTitle: 'ARCHIVE', tls: { ca: readFileSync(certs.ca) } }), 'no client certificate: refused');
      await assert.rejects(connect({ host: '127.0.0.1', port, calledAeTitle: 'ARCHIVE', timeouts: { associationRequest: 5000 } }), 'plain TCP to the TLS port fails');
      // The administrator learns why those modalities got nowhere.
      const failed = logged.filter((l) => /^a connection from \S+ failed before any association: the TLS handshake failed: /.test(l));
      assert.equal(failed.length, 2, logged.join('\n'));
      assert.match(failed.join('\n'), /the client sent no certificate, and this server requires one|certificate/);
      assert.match(failed.join('\n'), /does not speak TLS \(plain DICOM to a TLS port\?\)/);
    } finally {
      await server.close();
    }
    assert.throws(() => loadConfig({ flags: { ...base, tlsKey: certs.serverKey }, env: {} }), /configuration: tlsCert: missing: tlsKey and tlsCert go together/);
    assert.throws(() => loadConfig({ flags: { ...base, tlsCa: [certs.ca] }, env: {} }), /configuration: tlsCa: needs tlsKey and tlsCert/);
    await assert.rejects(startServer(loadConfig({ flags: { ...base, tlsKey: certs.clientKey, tlsCert: certs.serverCert }, env: {} })), (e: Error) => {
      assert.match(e.message, /tlsKey .*client\.key/, e.message);
      return true;
    });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a C-FIND without a Query/Retrieve Level is refused with A900 and an Error Comment', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'conduit-serve-'));
  const server = await startServer(loadConfig({ flags: { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir }, env: {} }));
  try {
    const client = await connect({ host: '127.0.0.1', port: server.dimsePort, presentationContexts: [{ abstractSyntax: STUDY_ROOT_FIND, transferSyntaxes: ['1.2.840.10008.1.2.1'] }] });
    const pc = client.association.findPresentationContext(STUDY_ROOT_FIND)!;
    const identifier = new DataSet();
    identifier.set(0x00100010, 'PN', '*');
    const rsp = await client.dimse.requestOne({ type: 'C-FIND-RQ', affectedSopClassUid: STUDY_ROOT_FIND, priority: 0 } as never, pc.id, encodeDataSet(identifier, ELE));
    assert.equal(rsp.message.status & 0xff00, 0xa900);
    assert.match(rsp.status.errorComment ?? '', /Query\/Retrieve Level/);
    await client.release();
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('configuration: flags override environment override file; bad values name the setting', () => {
  const c = loadConfig({ flags: { aeTitle: 'FLAG' }, env: { CONDUIT_AET: 'ENV', CONDUIT_DIMSE_PORT: '4242', CONDUIT_PEERS: 'pacs=PACS@10.0.0.1:104' } });
  assert.equal(c.aeTitle, 'FLAG');
  assert.equal(c.dimsePort, 4242);
  assert.deepEqual(c.peers, [{ name: 'pacs', aeTitle: 'PACS', host: '10.0.0.1', port: 104 }]);
  assert.equal(c.httpPort, 8042);
  assert.throws(() => loadConfig({ flags: { duplicatePolicy: 'sometimes' }, env: {} }), /duplicatePolicy/);
  assert.throws(() => loadConfig({ flags: { peers: ['nonsense'] }, env: {} }), /NAME=AET@HOST:PORT/);
  assert.throws(() => loadConfig({ flags: { aeTitle: 'THIS AE TITLE IS TOO LONG' }, env: {} }), /aeTitle/);
  assert.equal(c.moveAssociations, 2, 'default');
  assert.equal(loadConfig({ env: { CONDUIT_MOVE_ASSOCIATIONS: '3' } }).moveAssociations, 3);
  assert.equal(loadConfig({ flags: { moveAssociations: '1' }, env: { CONDUIT_MOVE_ASSOCIATIONS: '3' } }).moveAssociations, 1);
  for (const n of ['0', '9']) assert.throws(() => loadConfig({ flags: { moveAssociations: n }, env: {} }), /moveAssociations: \d is not 1 to 8/);
  assert.equal(c.pendingInterval, 100, 'default: a Pending C-MOVE/C-GET response at most every 100 ms');
  assert.equal(loadConfig({ env: { CONDUIT_PENDING_INTERVAL: '0' } }).pendingInterval, 0);
  assert.equal(loadConfig({ flags: { pendingInterval: '250' }, env: { CONDUIT_PENDING_INTERVAL: '0' } }).pendingInterval, 250);
  assert.throws(() => loadConfig({ flags: { pendingInterval: '-1' }, env: {} }), /pendingInterval/);
});

test('conduit serve (what npm start runs) starts, says where it listens (DIMSE and DICOMweb), and stops cleanly on SIGTERM', async () => {
  const { spawn } = await import('node:child_process');
  const dataDir = mkdtempSync(join(tmpdir(), 'conduit-serve-cli-'));
  const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../bin/conduit');
  const child = spawn(process.execPath, [bin, 'serve', '--dimse-port', '0', '--http-port', '0', '--host', '127.0.0.1', '--data', dataDir, '--log-level', 'silent'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const [line, httpLine] = await new Promise<string[]>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 2) resolve(out.split('\n'));
      });
      child.on('exit', (code) => reject(new Error(`serve exited ${code} before listening`)));
      setTimeout(() => reject(new Error('serve did not report its port within 20 s')), 20_000).unref();
    });
    const port = Number(/on port (\d+)/.exec(line)?.[1]);
    assert.ok(port > 0, line);
    const client = await connect({ host: '127.0.0.1', port });
    assert.equal((await client.echo()).code, 0);
    await client.release();
    const url = /DICOMweb on (http:\S+)/.exec(httpLine!)?.[1];
    assert.ok(url, httpLine);
    const res = await fetch(`${url}/studies`, { headers: { accept: 'application/dicom+json' } });
    assert.equal(res.status, 204, 'an empty archive has no studies');
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
  } finally {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('conduit serve on a port already in use (DIMSE, then HTTP): one line naming the port and the reason, exit status 1, no stack trace', async () => {
  const { spawn } = await import('node:child_process');
  const net = await import('node:net');
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const busy = (taken.address() as import('node:net').AddressInfo).port;
  const dataDir = mkdtempSync(join(tmpdir(), 'conduit-serve-busy-'));
  const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../bin/conduit');
  const run = (ports: string[]) => new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'serve', ...ports, '--host', '127.0.0.1', '--data', dataDir, '--log-level', 'silent'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not exit within 20 s: ${stderr}`));
    }, 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
  try {
    for (const [ports, what] of [[['--dimse-port', String(busy), '--http-port', '0'], 'DIMSE'], [['--dimse-port', '0', '--http-port', String(busy)], 'HTTP']] as const) {
      const { code, stderr } = await run([...ports]);
      assert.equal(code, 1, stderr);
      assert.match(stderr, new RegExp(`^conduit serve: cannot listen for ${what} on 127\\.0\\.0\\.1:${busy}: .*address already in use.* \\[ERR_DICOM_TRANSPORT\\]\\n$`), stderr);
    }
  } finally {
    taken.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('C-STORE of an object the archive cannot index: C000 "Cannot understand" naming what is missing (PS3.4 Table B.2-1), not 0110', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'conduit-serve-bad-'));
  const server = await startServer(loadConfig({ flags: { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir }, env: {} }));
  try {
    const ct = '1.2.840.10008.5.1.4.1.1.2';
    const client = await connect({ host: '127.0.0.1', port: server.dimsePort, presentationContexts: [{ abstractSyntax: ct, transferSyntaxes: ['1.2.840.10008.1.2.1'] }] });
    const ds = new DataSet();
    ds.set('SOPClassUID', 'UI', ct);
    ds.set('PatientID', 'LO', 'P1');
    ds.set('SeriesInstanceUID', 'UI', '1.2.3.4');
    ds.set('SOPInstanceUID', 'UI', '1.2.3.4.5'); // no Study Instance UID
    const status = await client.store({ dataSet: ds });
    assert.equal(status.code, 0xc000, status.toString());
    assert.equal(status.errorComment, 'the data set has no StudyInstanceUID, needed to index it', 'whole, within the 64 characters of LO');
    assert.deepEqual(status.offendingElement, [0x0020000d]);
    await client.release();
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
