/**
 * Bad input at the acceptor, from a raw peer: each gets the A-ASSOCIATE-RJ or A-ABORT (source and
 * reason) the standard calls for, and the listener goes on serving other associations.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AssociationListener, PduType, encodePdu, encodeAAssociateRq, openAssociation } from '../../src/upper-layer/index.js';
import type { AAssociateRj, AAssociateRq, AcceptancePolicy, Association } from '../../src/upper-layer/index.js';
import { DicomError } from '../../src/core/dicom-error.js';
import { CT_IMAGE_STORAGE, IMPLEMENTATION_UID, IMPLICIT_LE, VERIFICATION, concat, pdv, sampleRq } from './fixtures.js';
import { RawPeer, deferred, withTimeout, WAIT_MS } from './wire-helpers.js';

const POLICY: AcceptancePolicy = {
  abstractSyntaxes: { [VERIFICATION]: { transferSyntaxes: [IMPLICIT_LE] } },
  calledAeTitle: (t) => t === 'ANY-SCP',
  callingAeTitle: (t) => t !== 'BANNED',
  maximumLength: 4096,
  implementationClassUid: IMPLEMENTATION_UID,
};

let listener: AssociationListener;
const rejected: Array<[number, number, number]> = [];
const failed: DicomError[] = [];
const established: Association[] = [];

before(async () => {
  listener = await AssociationListener.listen({ host: '127.0.0.1', policy: POLICY, timeouts: { artim: 400 } });
  listener.on('rejected', (rj) => rejected.push([rj.result, rj.source, rj.reason]));
  listener.on('connectionFailed', (e) => failed.push(e));
  listener.on('association', (a) => {
    established.push(a);
    a.on('aborted', () => undefined);
  });
});
after(() => listener.close({ abort: true }));

function nextFailure(): Promise<DicomError> {
  const d = deferred<DicomError>();
  listener.once('connectionFailed', (e) => d.resolve(e));
  return withTimeout(d.promise, WAIT_MS, 'connectionFailed');
}

async function peer(): Promise<RawPeer> {
  return RawPeer.connect(listener.address().port);
}

async function expectAbort(p: RawPeer, source: number, reason: number): Promise<void> {
  const pdu = await p.nextPdu();
  assert.deepEqual([pdu.type, pdu.body.length, pdu.body[2], pdu.body[3]], [PduType.AAbort, 4, source, reason]);
}

async function expectReject(p: RawPeer, result: number, source: number, reason: number): Promise<void> {
  const pdu = await p.nextPdu();
  assert.deepEqual([pdu.type, pdu.body[1], pdu.body[2], pdu.body[3]], [PduType.AAssociateRj, result, source, reason]);
  // PS3.8 §9.1.4: after the RJ the requestor closes; the acceptor waits (Sta13), then ARTIM closes.
  p.end();
  await p.waitClosed();
}

/** A normal association still works: the listener was not disturbed. */
async function stillServing(): Promise<void> {
  const a = await openAssociation({
    host: '127.0.0.1', port: listener.address().port, callingAeTitle: 'GOOD', calledAeTitle: 'ANY-SCP',
    presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }], implementationClassUid: IMPLEMENTATION_UID,
  });
  assert.equal(a.findPresentationContext(VERIFICATION)?.transferSyntax, IMPLICIT_LE);
  await a.release();
}

async function associated(): Promise<RawPeer> {
  const p = await peer();
  p.send(encodePdu(sampleRq({ presentationContexts: [{ id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }] })));
  assert.equal((await p.nextPdu()).type, PduType.AAssociateAc);
  return p;
}

test('wrong protocol version: A-ASSOCIATE-RJ result 1, source 2, reason 2 (protocol-version-not-supported)', async () => {
  const p = await peer();
  p.send(encodePdu(sampleRq({ protocolVersion: 2 })));
  await expectReject(p, 1, 2, 2);
  assert.deepEqual(rejected.at(-1), [1, 2, 2]);
  await stillServing();
});

test('unknown PDU type (an HTTP request): A-ABORT source 2, reason 1, and the connection closes', async () => {
  const failure = nextFailure();
  const p = await peer();
  p.send(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  await expectAbort(p, 2, 1);
  await p.waitClosed(); // ARTIM (400 ms) closes it if the peer does not
  assert.equal((await failure).code, 'ERR_DICOM_PDU_UNRECOGNIZED');
  await stillServing();
});

test('P-DATA-TF before the association: A-ABORT source 2, reason 2 (unexpected PDU)', async () => {
  const failure = nextFailure();
  const p = await peer();
  p.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(1, [1, 2, 3])] }));
  await expectAbort(p, 2, 2);
  p.end();
  await p.waitClosed();
  assert.equal((await failure).code, 'ERR_DICOM_PDU_UNEXPECTED');
  await stillServing();
});

test('A-RELEASE-RQ, A-ASSOCIATE-AC, A-ASSOCIATE-RJ before the association: A-ABORT source 2, reason 2', async () => {
  for (const bytes of [
    encodePdu({ type: PduType.AReleaseRq }),
    encodePdu({ type: PduType.AAssociateRj, result: 1, source: 1, reason: 1 }),
  ]) {
    const p = await peer();
    p.send(bytes);
    await expectAbort(p, 2, 2);
    p.destroy();
  }
  await stillServing();
});

test('an A-ASSOCIATE-RQ with a hostile PDU-length: A-ABORT source 2, reason 6, before any body is read', async () => {
  const failure = nextFailure();
  const p = await peer();
  p.send(Uint8Array.of(0x01, 0x00, 0x7f, 0xff, 0xff, 0xff));
  await expectAbort(p, 2, 6);
  p.destroy();
  assert.equal((await failure).code, 'ERR_DICOM_PDU_TOO_LARGE');
  await stillServing();
});

test('a malformed A-ASSOCIATE-RQ (item running past the PDU): A-ABORT source 2, reason 6', async () => {
  const bytes = encodeAAssociateRq(sampleRq());
  const broken = bytes.slice(0, bytes.length - 5);
  new DataView(broken.buffer).setUint32(2, broken.length - 6);
  const p = await peer();
  p.send(broken);
  await expectAbort(p, 2, 6);
  p.destroy();
  await stillServing();
});

test('an A-ASSOCIATE-RQ with a presentation context item of the AC form: A-ABORT source 2, reason 5', async () => {
  const bytes = encodeAAssociateRq(sampleRq());
  bytes[74 + 25] = 0x21;
  const p = await peer();
  p.send(bytes);
  await expectAbort(p, 2, 5);
  p.destroy();
});

test('AE titles policy: called AE title unknown (1/1/7), calling AE title refused (1/1/3)', async () => {
  const p = await peer();
  p.send(encodePdu(sampleRq({ calledAeTitle: 'SOMEONE-ELSE' })));
  await expectReject(p, 1, 1, 7);
  const q = await peer();
  q.send(encodePdu(sampleRq({ callingAeTitle: 'BANNED' })));
  await expectReject(q, 1, 1, 3);
  await stillServing();
});

test('after the association: a P-DATA-TF over the announced maximum length is A-ABORT 2/6', async () => {
  const p = await associated();
  p.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(1, new Uint8Array(5000))] }));
  await expectAbort(p, 2, 6);
  p.destroy();
  await stillServing();
});

test('after the association: a PDV on a presentation context not accepted is A-ABORT 2/6', async () => {
  const p = await associated();
  p.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(3, [1])] }));
  await expectAbort(p, 2, 6);
  p.destroy();
});

test('after the association: a second A-ASSOCIATE-RQ is A-ABORT 2/2, garbage is 2/1', async () => {
  const p = await associated();
  p.send(encodePdu(sampleRq()));
  await expectAbort(p, 2, 2);
  p.destroy();
  const q = await associated();
  q.send(Uint8Array.of(0xff, 1, 2, 3));
  await expectAbort(q, 2, 1);
  q.destroy();
  await stillServing();
});

test('a connection that never sends an A-ASSOCIATE-RQ is closed by ARTIM', async () => {
  const p = await peer();
  await p.waitClosed(WAIT_MS);
  assert.equal(p.pending, 0, 'nothing is sent: AA-2 only closes');
});

test('a connection closed halfway through an A-ASSOCIATE-RQ is reported, and nothing breaks', async () => {
  const failure = nextFailure();
  const p = await peer();
  p.send(encodePdu(sampleRq()).subarray(0, 30));
  p.end();
  const e = await failure;
  assert.equal(e.code, 'ERR_DICOM_ASSOCIATION_CONNECTION_LOST');
  await stillServing();
});

test('an A-ASSOCIATE-RQ sent one byte at a time is understood', async () => {
  const p = await peer();
  const bytes = encodePdu(sampleRq({ presentationContexts: [{ id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }] }));
  for (let i = 0; i < bytes.length; i++) {
    p.socket.write(bytes.subarray(i, i + 1));
    if (i % 20 === 0) await new Promise((r) => setImmediate(r));
  }
  assert.equal((await p.nextPdu()).type, PduType.AAssociateAc);
  p.send(encodePdu({ type: PduType.AReleaseRq }));
  assert.equal((await p.nextPdu()).type, PduType.AReleaseRp);
  p.end();
  await p.waitClosed();
});

test('many bad connections at once do not stop good ones', async () => {
  const bad: Promise<void>[] = [];
  const rq: AAssociateRq = sampleRq({ presentationContexts: [{ id: 1, abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [IMPLICIT_LE] }] });
  for (let i = 0; i < 20; i++) {
    bad.push((async () => {
      const p = await peer();
      const variant = i % 4;
      if (variant === 0) p.send(Uint8Array.of(9, 9, 9, 9, 9, 9));
      else if (variant === 1) p.send(encodePdu(sampleRq({ protocolVersion: 0 })));
      else if (variant === 2) p.send(concat(encodePdu(rq), Uint8Array.of(0x42)));
      else p.send(encodePdu({ type: PduType.AAbort, source: 0, reason: 0 }));
      // An answer (RJ or A-ABORT), or for the A-ABORT sent in Sta2 the close (AA-2).
      const answer = await p.nextPdu().then((x) => x.type, () => 'closed');
      assert.equal(answer, [PduType.AAbort, PduType.AAssociateRj, PduType.AAssociateAc, 'closed'][variant]);
      // The RQ was accepted before the stray byte after it was read: then A-ABORT 2/1 (AA-8 in Sta6).
      if (variant === 2) await expectAbort(p, 2, 1);
      p.destroy();
    })());
  }
  const good = Array.from({ length: 5 }, () => stillServing());
  await Promise.all([...bad, ...good]);
});

test('rejected and failed connections were reported', () => {
  const rj: AAssociateRj['reason'][] = rejected.map((r) => r[2]);
  assert.ok(rj.includes(2) && rj.includes(7) && rj.includes(3));
  assert.ok(failed.some((e) => e.code === 'ERR_DICOM_PDU_INVALID_PARAMETER'));
});
