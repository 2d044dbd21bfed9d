/**
 * TLS on both sides (PS3.15 secure transport): server verification against a CA, client
 * authentication, and refusals. Certificates are made for the run with the openssl command line
 * in a temporary directory; without openssl the tests skip with a one-line reason.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssociationListener, checkTlsCredentials, openAssociation } from '../../src/upper-layer/index.js';
import type { AcceptancePolicy, Association, AssociationRequestOptions, TlsServerOptions } from '../../src/upper-layer/index.js';
import { DicomError } from '../../src/core/dicom-error.js';
import { IMPLEMENTATION_UID, IMPLICIT_LE, VERIFICATION, pdv } from './fixtures.js';
import { deferred, withTimeout, WAIT_MS } from './wire-helpers.js';

const hasOpenssl = spawnSync('sh', ['-c', 'command -v openssl'], { stdio: 'ignore' }).status === 0;
const skip = hasOpenssl ? undefined : 'openssl is not installed; cannot make test certificates';

const POLICY: AcceptancePolicy = {
  abstractSyntaxes: { [VERIFICATION]: { transferSyntaxes: [IMPLICIT_LE] } },
  maximumLength: 65536,
  implementationClassUid: IMPLEMENTATION_UID,
};

let dir = '';
const pem: Record<string, string> = {};

function openssl(...args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

function makeCa(name: string): void {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`,
    '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
}

function makeLeaf(name: string, ca: string, ext: string): void {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
}

before(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'conduit-tls-'));
  makeCa('ca');
  makeCa('other-ca');
  makeLeaf('server', 'ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  makeLeaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  for (const f of ['ca.crt', 'other-ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key']) pem[f] = readFileSync(join(dir, f), 'utf8');
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function tlsListener(tls: Partial<TlsServerOptions> = {}): Promise<{ listener: AssociationListener; accepted: Promise<Association> }> {
  const listener = await AssociationListener.listen({ host: '127.0.0.1', policy: POLICY, tls: { cert: pem['server.crt']!, key: pem['server.key']!, ...tls } });
  const accepted = deferred<Association>();
  listener.on('association', (a) => accepted.resolve(a));
  return { listener, accepted: accepted.promise };
}

function request(port: number, extra: Partial<AssociationRequestOptions>): Promise<Association> {
  return openAssociation({
    host: '127.0.0.1', port, callingAeTitle: 'TLS-SCU', calledAeTitle: 'TLS-SCP',
    presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }], implementationClassUid: IMPLEMENTATION_UID,
    ...extra,
  });
}

test('TLS: the requestor verifies the acceptor against its CA; P-DATA goes through', { skip }, async () => {
  const { listener, accepted } = await tlsListener();
  const a = await request(listener.address().port, { tls: { ca: pem['ca.crt']! } });
  const acceptor = await withTimeout(accepted, WAIT_MS, 'association');
  assert.equal(a.peer?.tls?.authorized, true);
  assert.ok(a.peer?.tls?.protocol?.startsWith('TLS'));
  const got = deferred<number[]>();
  acceptor.on('pdata', (pdvs) => got.resolve(Array.from(pdvs[0]!.data)));
  await a.sendPData([pdv(1, [1, 2, 3])]);
  assert.deepEqual(await withTimeout(got.promise, WAIT_MS, 'P-DATA over TLS'), [1, 2, 3]);
  await a.release();
  await listener.close();
});

test('TLS: client authentication (requestCert) with a certificate from the trusted CA', { skip }, async () => {
  const { listener, accepted } = await tlsListener({ ca: pem['ca.crt']!, requestCert: true, rejectUnauthorized: true });
  const a = await request(listener.address().port, { tls: { ca: pem['ca.crt']!, cert: pem['client.crt']!, key: pem['client.key']!, servername: 'localhost' } });
  const acceptor = await withTimeout(accepted, WAIT_MS, 'association');
  assert.equal(acceptor.peer?.tls?.authorized, true);
  assert.equal(acceptor.peer?.tls?.peerCertificate?.subject.CN, 'client');
  await a.release();
  await listener.close();
});

test('TLS: an acceptor whose certificate does not verify is refused (ERR_DICOM_TRANSPORT)', { skip }, async () => {
  const { listener } = await tlsListener();
  await assert.rejects(request(listener.address().port, { tls: { ca: pem['other-ca.crt']! } }), (e: unknown) => {
    assert.ok(e instanceof DicomError);
    assert.equal(e.code, 'ERR_DICOM_TRANSPORT');
    assert.ok(e.cause instanceof Error);
    return true;
  });
  await listener.close();
});

test('TLS: a requestor without a client certificate is refused when one is required; the listener goes on', { skip }, async () => {
  const { listener, accepted } = await tlsListener({ ca: pem['ca.crt']!, requestCert: true, rejectUnauthorized: true });
  await assert.rejects(request(listener.address().port, { tls: { ca: pem['ca.crt']! } }), (e: unknown) =>
    e instanceof DicomError && ['ERR_DICOM_TRANSPORT', 'ERR_DICOM_ASSOCIATION_CONNECTION_LOST'].includes(e.code));
  const a = await request(listener.address().port, { tls: { ca: pem['ca.crt']!, cert: pem['client.crt']!, key: pem['client.key']! } });
  await withTimeout(accepted, WAIT_MS, 'association');
  await a.release();
  await listener.close();
});

test('TLS: a plain TCP requestor cannot associate with a TLS acceptor', { skip }, async () => {
  const { listener } = await tlsListener();
  await assert.rejects(request(listener.address().port, { timeouts: { associationRequest: 2000 } }), (e: unknown) => e instanceof DicomError);
  await listener.close();
});

test('TLS credentials that cannot be used are named in words, not in OpenSSL\'s (ERR_DICOM_INVALID_ARGUMENT)', { skip }, async () => {
  const invalid = (pattern: RegExp) => (e: unknown) => {
    assert.ok(e instanceof DicomError, String(e));
    assert.equal(e.code, 'ERR_DICOM_INVALID_ARGUMENT');
    assert.match(e.message, pattern);
    assert.doesNotMatch(e.message, /routines::/);
    return true;
  };
  const names = { key: '--tls-key c.key', cert: '--tls-cert s.crt', ca: ['--tls-ca ca.crt', '--tls-ca k.key'] };
  // The server's key with the client's certificate: both valid PEM, not a pair.
  assert.throws(() => checkTlsCredentials({ key: pem['server.key']!, cert: pem['client.crt']! }, names), invalid(/^--tls-key c\.key is not the private key of --tls-cert s\.crt$/));
  assert.throws(() => checkTlsCredentials({ key: pem['client.crt']!, cert: pem['client.crt']! }, names), invalid(/--tls-key c\.key holds no private key/));
  assert.throws(() => checkTlsCredentials({ key: pem['client.key']!, cert: pem['client.key']! }, names), invalid(/--tls-cert s\.crt holds no certificate/));
  // A CA file with no certificate in it: OpenSSL ignores it, and every server would then fail to verify.
  assert.throws(() => checkTlsCredentials({ ca: [pem['ca.crt']!, pem['client.key']!] }, names), invalid(/--tls-ca k\.key holds no certificate/));
  openssl('pkey', '-in', 'client.key', '-aes256', '-passout', 'pass:x', '-out', 'encrypted.key');
  assert.throws(() => checkTlsCredentials({ key: readFileSync(join(dir, 'encrypted.key')), cert: pem['client.crt']! }, names), invalid(/--tls-key c\.key is encrypted/));
  assert.doesNotThrow(() => checkTlsCredentials({ key: pem['client.key']!, cert: pem['client.crt']!, ca: pem['ca.crt']! }, names));
  // The library's connect and listen: the same words, with the option names.
  await assert.rejects(request(1, { tls: { ca: pem['ca.crt']!, key: pem['server.key']!, cert: pem['client.crt']! } }), invalid(/^tls\.key is not the private key of tls\.cert$/));
  await assert.rejects(AssociationListener.listen({ host: '127.0.0.1', policy: POLICY, tls: { cert: pem['server.crt']!, key: pem['client.key']! } }), invalid(/^tls\.key is not the private key of tls\.cert$/));
});

test('TLS: a handshake that fails is reported by the listener (connectionFailed, ERR_DICOM_TRANSPORT, in words), not dropped silently', { skip }, async () => {
  const { listener } = await tlsListener({ ca: pem['ca.crt']!, requestCert: true, rejectUnauthorized: true });
  try {
    const failures: DicomError[] = [];
    const next = (): Promise<DicomError> => withTimeout(new Promise<DicomError>((done) => listener.once('connectionFailed', (e) => {
      failures.push(e);
      done(e);
    })), WAIT_MS, 'connectionFailed');
    let failed = next();
    await assert.rejects(request(listener.address().port, { tls: { ca: pem['ca.crt']! } }));
    let e = await failed;
    assert.equal(e.code, 'ERR_DICOM_TRANSPORT');
    assert.equal(e.message, 'the TLS handshake failed: the client sent no certificate, and this server requires one');
    assert.ok(e.cause instanceof Error);
    // Plain DICOM to the TLS port: its A-ASSOCIATE-RQ is not a TLS record.
    failed = next();
    await assert.rejects(request(listener.address().port, { timeouts: { associationRequest: 2000 } }));
    e = await failed;
    assert.equal(e.message, 'the TLS handshake failed: the client does not speak TLS (plain DICOM to a TLS port?)');
    // A client certificate from a CA the listener does not trust: TLS 1.3 tells the server only after
    // the client's side is done, as a reset; the socket's authorizationError says why.
    makeLeaf('stranger', 'other-ca', 'extendedKeyUsage=clientAuth\n');
    failed = next();
    await assert.rejects(request(listener.address().port, {
      tls: { ca: pem['ca.crt']!, cert: readFileSync(join(dir, 'stranger.crt')), key: readFileSync(join(dir, 'stranger.key')) },
      timeouts: { associationRequest: 5000 },
    }));
    e = await failed;
    assert.match(e.message, /^the TLS handshake failed: the client's certificate does not verify against the trusted CAs \([A-Z_]+\)$/);
    assert.equal(failures.length, 3);
  } finally {
    await listener.close();
  }
});
