/**
 * C-MOVE to DCMTK's storescp +tls from `conduit serve` (in this process): storescu +tls stores into
 * the archive (its DIMSE port TLS, requiring a client certificate), `conduit move --tls-*` asks it
 * (DCMTK 3.6's movescu has no TLS) to move to storescp +tls +cf CA, which requires the archive's
 * client certificate, a peer marked +tls; every object arrives byte for byte. Then the failures,
 * with their Error Comment: the archive trusting another CA than storescp's (movescu -d to a plain
 * DIMSE port shows "certificate verify failed"), and a storescp that does not trust the archive's
 * certificate (conduit move shows it). Certificates made with openssl; DCMTK runs with TCP_NODELAY=1.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from '../../src/media/part10.js';
import { loadConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { peer } from '../helpers/peers.js';
import { compareAll, conduit, makeCertificates, run, startOnFreePort, storableCorpus, type Background, type Certificates, type CorpusFile } from '../helpers/network.js';

const skipDcmtk = peer('dcmtk');
const dcmtkTls = !skipDcmtk && /\+tls\s+--enable-tls/.test(spawnSync('storescp', ['--help'], { encoding: 'utf8' }).stdout ?? '');
const hasOpenssl = spawnSync('sh', ['-c', 'command -v openssl'], { stdio: 'ignore' }).status === 0;
const skip = skipDcmtk ?? (!dcmtkTls ? 'DCMTK was built without TLS support (storescp --help lists no +tls)' : !hasOpenssl ? 'openssl is not installed' : undefined);

let work: string;
let c: Certificates;
let files: CorpusFile[];
/** The Study Instance UID of each file. */
const studyOf = new Map<CorpusFile, string>();
const servers: RunningServer[] = [];
const peers: Array<{ proc: Background }> = [];

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'conduit-dcmtk-move-tls-'));
  mkdirSync(join(work, 'tls'));
  c = await makeCertificates(join(work, 'tls'));
  const corpus = await storableCorpus();
  files = ['CT_small.dcm', 'MR_small.dcm', 'rtplan.dcm'].map((n) => corpus.find((f) => f.name === n)!);
  for (const f of files) studyOf.set(f, (await readFile(f.path, { untilTag: 0x0020000f })).dataSet.string(0x0020000d)!);
});

after(async () => {
  for (const s of servers) await s.close();
  for (const p of peers) await p.proc.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** storescp +tls as AE `aeTitle`, trusting client certificates of `ca`, writing into a new folder. */
async function storescpTls(aeTitle: string, ca: string): Promise<{ port: number; out: string }> {
  const out = join(work, aeTitle);
  mkdirSync(out);
  const scp = await startOnFreePort(`storescp +tls ${aeTitle}`, 'storescp', (port) => ['-aet', aeTitle, '+tls', c.serverKey, c.serverCert, '+cf', ca, '+xa', '+B', '-od', out, String(port)]);
  peers.push(scp);
  return { port: scp.port, out };
}

async function archive(name: string, flags: Record<string, unknown>): Promise<RunningServer> {
  const server = await startServer(loadConfig({ flags: { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir: join(work, name), ...flags }, env: {} }));
  servers.push(server);
  return server;
}

/** DCMTK's TLS options for a requestor with the client certificate, trusting the test CA. */
const dcmtkClient = (): string[] => ['+tls', c.clientKey, c.clientCert, '+cf', c.ca];

async function storeAll(port: number, tls: string[]): Promise<void> {
  const r = await run('storescu', ['-aec', 'ARCHIVE', ...tls, '127.0.0.1', String(port), ...files.map((f) => f.path)], { timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
}

function movescu(port: number, destination: string, study: string) {
  return run('movescu', ['-d', '-S', '-aec', 'ARCHIVE', '-aem', destination, '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${study}`, '127.0.0.1', String(port)], { timeout: 120_000 });
}

/** `conduit move` over TLS with the client certificate. */
function conduitMove(port: number, destination: string, study: string) {
  return conduit(['move', '--aec', 'ARCHIVE', '--dest', destination, '--tls-key', c.clientKey, '--tls-cert', c.clientCert, '--tls-ca', c.ca,
    '-k', `StudyInstanceUID=${study}`, '127.0.0.1', String(port)], { timeout: 120_000 });
}

test('conduit serve (TLS) moving to storescp +tls +cf CA, a +tls peer, with its certificate: every object arrives byte for byte', { skip }, async () => {
  const dest = await storescpTls('STORESCP', c.ca);
  const server = await archive('data-ok', { tlsKey: c.serverKey, tlsCert: c.serverCert, tlsCa: [c.ca], peers: [`dest=STORESCP@127.0.0.1:${dest.port}+tls`] });
  await storeAll(server.dimsePort, dcmtkClient());
  for (const f of files) {
    const r = await conduitMove(server.dimsePort, 'STORESCP', studyOf.get(f)!);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /0000H Success/, f.name);
  }
  assert.equal(readdirSync(dest.out).length, files.length);
  assert.deepEqual(await compareAll(files, dest.out, { exact: true }), []);
});

test('C-MOVE to a +tls peer whose certificate does not verify, or that does not trust the archive\'s: A702, the Error Comment says so', { skip }, async () => {
  const dest = await storescpTls('STORESCP2', c.ca);
  const strict = await storescpTls('STRICT', c.otherCa);
  // A plain DIMSE port; the archive trusts only another CA than the one of storescp's certificate.
  const untrusting = await archive('data-other-ca', { tlsCa: [c.otherCa], peers: [`dest=STORESCP2@127.0.0.1:${dest.port}+tls`] });
  await storeAll(untrusting.dimsePort, []);
  const ct = files[0]!;
  const unverified = await movescu(untrusting.dimsePort, 'STORESCP2', studyOf.get(ct)!);
  const out1 = unverified.stdout + unverified.stderr;
  assert.match(out1, /Move response with error status \(Refused: OutOfResourcesSubOperations\)|A702/, out1);
  assert.match(out1, /\(0000,0902\) LO \[TLS to STORESCP2 failed: certificate verify failed\]/, out1);

  // storescp trusts only client certificates of another CA than the archive's.
  const refused = await archive('data-refused', { tlsKey: c.serverKey, tlsCert: c.serverCert, peers: [`strict=STRICT@127.0.0.1:${strict.port}+tls`], tlsCa: [c.ca] });
  await storeAll(refused.dimsePort, dcmtkClient());
  const notTrusted = await conduitMove(refused.dimsePort, 'STRICT', studyOf.get(ct)!);
  const out2 = notTrusted.stdout + notTrusted.stderr;
  assert.equal(notTrusted.status, 1, out2);
  assert.match(out2, /A702H Refused: Out of Resources - unable to perform sub-operations \(TLS to STRICT failed: it does not trust our certificate\)/, out2);
  assert.equal(readdirSync(dest.out).length + readdirSync(strict.out).length, 0);
});
