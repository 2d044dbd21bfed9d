/**
 * `conduit serve`'s HTTP port over TLS (httpTlsKey/httpTlsCert): curl --cacert and Conduit's own
 * DICOMweb client (`conduit web ... --ca`, or NODE_EXTRA_CA_CERTS) reach it; a STOW-RS and WADO-RS
 * round trip keeps the data set byte for byte, and QIDO-RS's Retrieve URLs say https. A client
 * that does not trust the certificate, plain http:// to the port, and a key that is not the
 * certificate's fail in words. The server runs in this process (port 0), the CLI spawned.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFile } from '../../src/media/part10.js';
import { loadConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/serve.js';
import { conduit, makeCertificates, run } from '../helpers/network.js';
import { IN_CI } from '../helpers/peers.js';
import { CT, dataSetBytesOf } from './retrieve-helpers.js';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const skip = has('openssl') ? undefined : 'openssl is not installed (it makes the test certificates)';
const CT_UID = '1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322';

test('HTTPS on the HTTP port: curl --cacert, conduit web --ca and NODE_EXTRA_CA_CERTS; STOW-RS then WADO-RS byte for byte; untrusted and plain http fail in words', { skip }, async () => {
  if (!has('curl') && IN_CI) throw new Error('curl is not installed; CI requires it');
  const work = mkdtempSync(join(tmpdir(), 'conduit-https-'));
  try {
    const c = await makeCertificates(work);
    const server = await startServer(loadConfig({
      flags: { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir: join(work, 'data'), httpTlsKey: c.serverKey, httpTlsCert: c.serverCert },
      env: {},
    }));
    try {
      const url = `https://localhost:${server.httpPort}/dicom-web`;
      const stow = await conduit(['web', 'stow', '--ca', c.ca, url, CT]);
      assert.equal(stow.status, 0, stow.stderr);
      assert.match(stow.stdout, /^stored 1, failed 0/);

      const out = join(work, 'wado');
      const study = (await readFile(CT)).dataSet.string(0x0020000d)!;
      const wado = await conduit(['web', 'wado', '--ca', c.ca, '--study', study, '--out', out, url]);
      assert.equal(wado.status, 0, wado.stderr);
      const retrieved = join(out, `${CT_UID}.dcm`);
      const bytes = readFileSync(retrieved).subarray((await readFile(retrieved)).dataSetOffset);
      assert.deepEqual(bytes, Buffer.from(await dataSetBytesOf(CT)), 'the data set stored over HTTPS comes back byte for byte');

      const qido = await conduit(['web', 'qido', '--ca', c.ca, url], { env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } });
      assert.equal(qido.status, 0, qido.stderr);
      const found = JSON.parse(qido.stdout.trim()) as Record<string, { Value?: unknown[] }>;
      assert.equal(found['00081190']!.Value![0], `${url}/studies/${study}`, 'the Retrieve URL has the https scheme the request came with');

      const extra = await conduit(['web', 'qido', url], { env: { ...process.env, NODE_EXTRA_CA_CERTS: c.ca } });
      assert.equal(extra.status, 0, `NODE_EXTRA_CA_CERTS: ${extra.stderr}`);

      const untrusted = await conduit(['web', 'qido', url], { env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } });
      assert.equal(untrusted.status, 1);
      assert.match(untrusted.stderr, /TLS to localhost:\d+ failed: .*\(give (it|its CA) with --ca\) \[ERR_DICOM_TRANSPORT\]/);
      const otherCa = await conduit(['web', 'qido', '--ca', c.otherCa, url]);
      assert.equal(otherCa.status, 1);
      assert.match(otherCa.stderr, /TLS to localhost:\d+ failed/);
      const plain = await conduit(['web', 'qido', `http://localhost:${server.httpPort}/dicom-web`]);
      assert.equal(plain.status, 1);
      assert.match(plain.stderr, /\(if the port speaks HTTPS, use an https:\/\/ URL\)/);
      const notPem = await conduit(['web', 'qido', '--ca', c.serverKey, url]);
      assert.notEqual(notPem.status, 0);
      assert.match(notPem.stderr, /--ca .*server\.key holds no certificate in PEM form/);

      if (has('curl')) {
        const curl = await run('curl', ['-sS', '--cacert', c.ca, '-H', 'Accept: application/dicom+json', `${url}/studies/${study}/series`]);
        assert.equal(curl.status, 0, curl.stderr);
        assert.equal((JSON.parse(curl.stdout) as unknown[]).length, 1);
        const refused = await run('curl', ['-sS', `${url}/studies`]);
        assert.notEqual(refused.status, 0, 'curl without the CA does not trust the certificate');
      }
    } finally {
      await server.close();
    }
    await assert.rejects(startServer(loadConfig({
      flags: { dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir: join(work, 'data2'), httpTlsKey: c.clientKey, httpTlsCert: c.serverCert },
      env: {},
    })), /httpTlsKey .*client\.key is not the private key of httpTlsCert .*server\.pem/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('HTTPS with client certificates (httpTlsCa): conduit web --client-cert/--client-key and curl --cert get through; no certificate, or one of another CA, is refused in words', { skip }, async () => {
  if (!has('curl') && IN_CI) throw new Error('curl is not installed; CI requires it');
  const work = mkdtempSync(join(tmpdir(), 'conduit-mtls-'));
  const servers: Array<Awaited<ReturnType<typeof startServer>>> = [];
  try {
    const c = await makeCertificates(work);
    const logged: string[] = [];
    const start = async (httpTlsCa: string[], dir: string) => {
      const s = await startServer(loadConfig({
        flags: { dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir: join(work, dir), httpTlsKey: c.serverKey, httpTlsCert: c.serverCert, httpTlsCa },
        env: {},
      }), (level, message) => logged.push(`${level} ${message}`));
      servers.push(s);
      return `https://localhost:${s.httpPort}/dicom-web`;
    };
    const url = await start([c.ca], 'data');
    const client = ['--client-cert', c.clientCert, '--client-key', c.clientKey];

    const stow = await conduit(['web', 'stow', '--ca', c.ca, ...client, url, CT]);
    assert.equal(stow.status, 0, stow.stderr);
    assert.match(stow.stdout, /^stored 1, failed 0/);
    const study = (await readFile(CT)).dataSet.string(0x0020000d)!;
    const qido = await conduit(['web', 'qido', '--ca', c.ca, ...client, url]);
    assert.equal(qido.status, 0, qido.stderr);
    assert.equal((JSON.parse(qido.stdout.trim()) as Record<string, { Value?: unknown[] }>)['0020000D']!.Value![0], study);

    const none = await conduit(['web', 'qido', '--ca', c.ca, url]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /TLS to localhost:\d+ failed: the server requires a client certificate \(give one with --client-cert and --client-key\) \[ERR_DICOM_TRANSPORT\]/);
    // The server's side: the refused client is logged, with why.
    await until(() => logged.some((l) => /^warn an HTTPS connection from 127\.0\.0\.1 failed: the TLS handshake failed: the client sent no certificate, and this server requires one/.test(l)), logged);
    const halfPair = await conduit(['web', 'qido', '--ca', c.ca, '--client-cert', c.clientCert, url]);
    assert.equal(halfPair.status, 1);
    assert.match(halfPair.stderr, /--client-cert and --client-key go together/);
    const wrongKey = await conduit(['web', 'qido', '--ca', c.ca, '--client-cert', c.clientCert, '--client-key', c.serverKey, url]);
    assert.equal(wrongKey.status, 1);
    assert.match(wrongKey.stderr, /--client-key .*server\.key is not the private key of --client-cert .*client\.pem/);

    // A server that trusts another CA than the one that signed the client certificate.
    const otherUrl = await start([c.otherCa], 'data2');
    const untrusted = await conduit(['web', 'qido', '--ca', c.ca, ...client, otherUrl]);
    assert.equal(untrusted.status, 1);
    assert.match(untrusted.stderr, /reset the connection over HTTPS \(a server that requires client certificates does so when it does not trust the one given with --client-cert\)/);
    await until(() => logged.some((l) => /^warn an HTTPS connection from 127\.0\.0\.1 failed: the TLS handshake failed: the client's certificate does not verify against the trusted CAs/.test(l)), logged);

    if (has('curl')) {
      const ok = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', c.ca, '--cert', c.clientCert, '--key', c.clientKey, `${url}/studies/${study}/series`]);
      assert.equal(ok.status, 0, ok.stderr);
      assert.equal(ok.stdout, '200');
      const refused = await run('curl', ['-sS', '-o', '/dev/null', '--cacert', c.ca, `${url}/studies`]);
      assert.notEqual(refused.status, 0, 'curl without a client certificate is refused');
      assert.match(refused.stderr, /certificate required/);
    }
  } finally {
    for (const s of servers) await s.close();
    rmSync(work, { recursive: true, force: true });
  }
  assert.throws(() => loadConfig({ flags: { httpTlsCa: ['/x/ca.pem'] }, env: {} }), /configuration: httpTlsCa: needs httpTlsKey and httpTlsCert/);
});

/** Resolves once `done()` holds, checking as the event loop turns (10 s at most: then fails showing `seen`). */
async function until(done: () => boolean, seen: readonly string[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`not logged within 10 s; the log:\n${seen.join('\n')}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** `conduit serve` with `args` until it has said where it listens (two lines), then SIGTERM: its stdout and stderr once closed. */
async function serveLines(args: string[]): Promise<{ stdout: string; stderr: string; status: number | null }> {
  const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../bin/conduit');
  const child = spawn(process.execPath, [bin, 'serve', '--dimse-port', '0', '--http-port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // 'close', not 'exit': stderr is read to its end by then.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.split('\n').length > 2) resolve();
      });
      void exited.then((code) => reject(new Error(`serve exited ${code} before listening: ${stderr}`)));
      setTimeout(() => reject(new Error(`serve did not report its ports within 20 s: ${stderr}`)), 20_000).unref();
    });
    child.kill('SIGTERM');
    const status = await exited;
    return { stdout, stderr, status };
  } finally {
    child.kill('SIGKILL');
  }
}

test('conduit serve says https in its first lines, handles SIGTERM sent as soon as they are read, and warns when DIMSE is TLS but DICOMweb plain HTTP on a non-loopback address', { skip }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'conduit-https-cli-'));
  try {
    const c = await makeCertificates(work);
    const both = await serveLines(['--host', '127.0.0.1', '--data', join(work, 'a'), '--tls-key', c.serverKey, '--tls-cert', c.serverCert,
      '--http-tls-key', c.serverKey, '--http-tls-cert', c.serverCert, '--peer', 'pacs=PACS@127.0.0.1:2762+tls']);
    // SIGTERM as soon as the lines are read: handled (status 0, 'shutting down'), not fatal.
    assert.equal(both.status, 0, both.stderr);
    assert.match(both.stderr, /info shutting down/);
    assert.match(both.stdout, /listening for DIMSE on port \d+ \(TLS\)/);
    assert.match(both.stdout, /DICOMweb on https:\/\/127\.0\.0\.1:\d+\/dicom-web/);
    assert.doesNotMatch(both.stderr, /plain HTTP/);
    const dimseOnly = await serveLines(['--host', '0.0.0.0', '--data', join(work, 'b'), '--tls-key', c.serverKey, '--tls-cert', c.serverCert]);
    assert.equal(dimseOnly.status, 0, dimseOnly.stderr);
    assert.match(dimseOnly.stdout, /DICOMweb on http:\/\//);
    assert.match(dimseOnly.stderr, /warn the DIMSE port speaks TLS but DICOMweb is plain HTTP: set httpTlsKey and httpTlsCert/);
    const badPeer = await conduit(['serve', '--dimse-port', '0', '--http-port', '0', '--data', join(work, 'c'), '--peer', 'pacs=PACS@h:2762+ssl']);
    assert.equal(badPeer.status, 1);
    assert.match(badPeer.stderr, /^conduit serve: configuration: peer: "\+ssl" in "pacs=PACS@h:2762\+ssl" is not \+tls/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('conduit serve re-reads its TLS files on SIGHUP: renewed certificates on the DIMSE and HTTPS ports for new connections; files that cannot be used are refused and the old kept', { skip }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'conduit-tls-reload-'));
  const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../bin/conduit');
  let child: ReturnType<typeof spawn> | undefined;
  try {
    for (const d of ['first', 'renewed']) mkdirSync(join(work, d));
    const first = await makeCertificates(join(work, 'first'));
    const renewed = await makeCertificates(join(work, 'renewed'));
    // The files serve names, first holding the first CA's certificate.
    const key = join(work, 'serve.key');
    const cert = join(work, 'serve.pem');
    copyFileSync(first.serverKey, key);
    copyFileSync(first.serverCert, cert);
    const serve = spawn(process.execPath, [bin, 'serve', '--dimse-port', '0', '--http-port', '0', '--host', '127.0.0.1', '--data', join(work, 'data'),
      '--tls-key', key, '--tls-cert', cert, '--http-tls-key', key, '--http-tls-cert', cert], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = serve;
    let stdout = '';
    let stderr = '';
    const waiters: Array<() => void> = [];
    serve.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); waiters.forEach((w) => w()); });
    serve.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); waiters.forEach((w) => w()); });
    const exited = new Promise<number | null>((resolve) => serve.on('close', (code) => resolve(code)));
    const waitFor = (what: () => RegExpMatchArray | null, label: string) => new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = what();
        if (m) resolve(m);
      };
      waiters.push(check);
      check();
      setTimeout(() => reject(new Error(`no ${label} within 20 s: ${stdout}\n${stderr}`)), 20_000).unref();
    });
    const dimsePort = (await waitFor(() => /listening for DIMSE on port (\d+) \(TLS\)/.exec(stdout), 'DIMSE line'))[1]!;
    const url = (await waitFor(() => /DICOMweb on (https:\/\/[^\s]+\/dicom-web)/.exec(stdout), 'DICOMweb line'))[1]!;
    const echo = (ca: string) => conduit(['echo', '--tls-ca', ca, '--aec', 'CONDUIT', '127.0.0.1', dimsePort]);
    const qido = (ca: string) => conduit(['web', 'qido', '--ca', ca, url]);
    assert.equal((await echo(first.ca)).status, 0);
    assert.equal((await qido(first.ca)).status, 0);

    copyFileSync(renewed.serverKey, key);
    copyFileSync(renewed.serverCert, cert);
    serve.kill('SIGHUP');
    await waitFor(() => /info reloaded the TLS certificates: DIMSE port, HTTPS port/.exec(stderr), 'reload line');
    const renewedEcho = await echo(renewed.ca);
    assert.equal(renewedEcho.status, 0, renewedEcho.stderr);
    assert.equal((await qido(renewed.ca)).status, 0, 'HTTPS presents the renewed certificate');
    const oldEcho = await echo(first.ca);
    assert.equal(oldEcho.status, 1, 'the first certificate is no longer presented');
    assert.match(oldEcho.stderr, /TLS to 127\.0\.0\.1:\d+ failed/);

    writeFileSync(key, 'not a key\n');
    serve.kill('SIGHUP');
    await waitFor(() => /error reloading the TLS certificates failed, those in use are kept: .*serve\.key holds no private key/.exec(stderr), 'refusal line');
    assert.equal((await echo(renewed.ca)).status, 0, 'the renewed certificate stays in use');
    assert.equal((await qido(renewed.ca)).status, 0);

    serve.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  } finally {
    child?.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  }
});
