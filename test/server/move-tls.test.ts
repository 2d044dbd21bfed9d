/**
 * C-MOVE to a Move Destination marked +tls (PS3.15 Annex B.1), in this process: `conduit serve`
 * over TLS presents its own certificate (tlsKey/tlsCert) to a destination that requires a client
 * certificate and verifies the destination's against tlsCa; the data sets arrive byte for byte. A
 * destination whose certificate does not verify, one that requires a client certificate the archive
 * does not have, and one that does not speak TLS fail the move with an Error Comment in words
 * (A702, every instance failed) and a log line saying what to do; without tlsCa, Node's CA list
 * decides, and tlsNoVerify accepts any certificate. Certificates made with openssl.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, describeFile, proposalsFor, queryRetrieveProposals, type ConnectOptions } from '../../src/ae/index.js';
import { readFile } from '../../src/media/part10.js';
import { makeCertificates } from '../helpers/network.js';
import { archive, CT, ctSeries, dataSetBytesOf, destination, logRecorder, storeInto, STUDY_UID } from './retrieve-helpers.js';

const hasOpenssl = spawnSync('sh', ['-c', 'command -v openssl'], { stdio: 'ignore' }).status === 0;
const skip = hasOpenssl ? undefined : 'openssl is not installed (it makes the test certificates)';

async function moveStudy(options: ConnectOptions, destinationAe: string) {
  const client = await connect({ ...options, presentationContexts: queryRetrieveProposals(['MOVE'], ['STUDY']) });
  try {
    const study = (await readFile(CT)).dataSet.string(STUDY_UID)!;
    return await client.move({ QueryRetrieveLevel: 'STUDY', StudyInstanceUID: study }, { destination: destinationAe }).done();
  } finally {
    await client.release();
  }
}

test('C-MOVE to a +tls peer: over TLS with the archive\'s certificate as the client certificate, verified against tlsCa; byte for byte', { skip }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'conduit-move-tls-'));
  try {
    const c = await makeCertificates(work);
    const pem = (f: string) => readFileSync(f);
    // The destination requires a client certificate that verifies against the test CA.
    const dest = await destination('DEST', { tls: { key: pem(c.serverKey), cert: pem(c.serverCert), ca: pem(c.ca), requestCert: true, rejectUnauthorized: true } });
    const logs = logRecorder();
    const a = await archive([{ ...dest.peer(), tls: true }], { tlsKey: c.serverKey, tlsCert: c.serverCert, tlsCa: [c.ca] }, logs.log);
    try {
      const requestorTls = { ca: pem(c.ca), key: pem(c.clientKey), cert: pem(c.clientCert) };
      const at = { host: '127.0.0.1', port: a.server.dimsePort, calledAeTitle: 'ARCHIVE', tls: requestorTls };
      const series = await ctSeries(2);
      const described = await describeFile(CT);
      const store = await connect({ ...at, presentationContexts: proposalsFor([described]) });
      for (const ds of [described, ...series.map((dataSet) => ({ dataSet }))]) assert.equal((await store.store(ds)).code, 0);
      await store.release();

      const result = await moveStudy(at, 'DEST');
      assert.equal(result.status.code, 0x0000, result.status.errorComment);
      assert.equal(result.completed, 3);
      assert.equal(dest.received.length, 3);
      const ct = dest.received.find((x) => x.sopInstanceUid === '1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322')!;
      assert.deepEqual(Buffer.from(ct.bytes), Buffer.from(await dataSetBytesOf(CT)), 'the stored data set, byte for byte');
      assert.match(await logs.line(/C-MOVE from CONDUIT to DEST \(/), /\(127\.0\.0\.1:\d+, TLS\): 3 instances/);
    } finally {
      await a.close();
      await dest.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('C-MOVE to +tls peers that cannot be reached over TLS: A702 with the reason in the Error Comment, and what to do in the log', { skip }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'conduit-move-tls-'));
  try {
    const c = await makeCertificates(work);
    const pem = (f: string) => readFileSync(f);
    const strict = await destination('STRICT', { tls: { key: pem(c.serverKey), cert: pem(c.serverCert), ca: pem(c.ca), requestCert: true, rejectUnauthorized: true } });
    const plain = await destination('PLAIN');
    // No tlsKey/tlsCert: the DIMSE port is plain, and the archive has no client certificate.
    const logs = logRecorder();
    const a = await archive([{ ...strict.peer(), tls: true }, { ...plain.peer(), tls: true }], { tlsCa: [c.ca] }, logs.log);
    // Trusting only another CA: STRICT's certificate does not verify.
    const untrusting = logRecorder();
    const b = await archive([{ ...strict.peer(), tls: true }], { tlsCa: [c.otherCa] }, untrusting.log);
    try {
      await storeInto(a.server, [CT]);
      await storeInto(b.server, [CT]);
      const at = (port: number) => ({ host: '127.0.0.1', port, calledAeTitle: 'ARCHIVE' });

      const unverified = await moveStudy(at(b.server.dimsePort), 'STRICT');
      assert.equal(unverified.status.code, 0xa702);
      assert.equal(unverified.status.errorComment, 'TLS to STRICT failed: certificate verify failed');
      assert.equal(unverified.failed, 1);
      assert.match(await untrusting.line(/C-MOVE from CONDUIT: TLS to STRICT failed/),
        new RegExp(`self-signed certificate in certificate chain; 127\\.0\\.0\\.1:${strict.port}: its certificate chains to a CA not in tlsCa`));

      const noClientCertificate = await moveStudy(at(a.server.dimsePort), 'STRICT');
      assert.equal(noClientCertificate.status.code, 0xa702);
      assert.equal(noClientCertificate.status.errorComment, 'TLS to STRICT failed: it requires a client certificate');
      assert.match(await logs.line(/TLS to STRICT failed/), /set tlsKey and tlsCert/);

      const notTls = await moveStudy(at(a.server.dimsePort), 'PLAIN');
      assert.equal(notTls.status.code, 0xa702);
      assert.match(notTls.status.errorComment ?? '', /^TLS to PLAIN failed: /);
      assert.match(await logs.line(/TLS to PLAIN failed/), /is \+tls right for this peer\?|remove \+tls from the peer/);
      assert.equal(strict.received.length + plain.received.length, 0);

      // A destination that asks no client certificate: without tlsCa its certificate is checked
      // against Node's CA list, which does not hold the test CA; tlsNoVerify accepts it.
      const lax = await destination('LAX', { tls: { key: pem(c.serverKey), cert: pem(c.serverCert) } });
      const nodeList = await archive([{ ...lax.peer(), tls: true }]);
      const noVerify = await archive([{ ...lax.peer(), tls: true }], { tlsNoVerify: true });
      try {
        await storeInto(nodeList.server, [CT]);
        await storeInto(noVerify.server, [CT]);
        const byNodeList = await moveStudy(at(nodeList.server.dimsePort), 'LAX');
        assert.equal(byNodeList.status.errorComment, 'TLS to LAX failed: certificate verify failed');
        assert.equal(lax.received.length, 0);
        const unverifiedOk = await moveStudy(at(noVerify.server.dimsePort), 'LAX');
        assert.equal(unverifiedOk.status.code, 0x0000, unverifiedOk.status.errorComment);
        assert.equal(lax.received.length, 1);
      } finally {
        await nodeList.close();
        await noVerify.close();
        await lax.close();
      }

      // STRICT without +tls: the Error Comment and the log suggest +tls.
      const notMarked = logRecorder();
      const c2 = await archive([{ ...strict.peer() }], {}, notMarked.log);
      try {
        await storeInto(c2.server, [CT]);
        const plainToTls = await moveStudy(at(c2.server.dimsePort), 'STRICT');
        assert.equal(plainToTls.status.code, 0xa702);
        assert.equal(plainToTls.status.errorComment, `STRICT@127.0.0.1:${strict.port}: closed unanswered (needs +tls?)`);
        assert.match(await notMarked.line(/C-MOVE from CONDUIT: STRICT@/), /if it does, mark the peer \+tls/);
      } finally {
        await c2.close();
      }
    } finally {
      await a.close();
      await b.close();
      await strict.close();
      await plain.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
