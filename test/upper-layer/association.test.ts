/**
 * Component tests: requestor and acceptor of this implementation in one process on port 0.
 * P-DATA both ways (in order, back-pressure), releases both ways and colliding, aborts both ways,
 * A-P-ABORT on transport loss, timeouts, limits, and the diagnostics channel traces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { createHash } from 'node:crypto';
import {
  AssociationListener, openAssociation, AssociationAbortedError, AssociationRejectedError, PDU_CHANNEL, ASSOCIATION_CHANNEL, STATE_CHANNEL, PduType,
  encodePdu, decodeAAssociateRq,
} from '../../src/upper-layer/index.js';
import type { AcceptancePolicy, Association, AssociationListenerOptions, AssociationTimeouts, AssociationRequestOptions, PduTrace, PresentationDataValue, StateTrace } from '../../src/upper-layer/index.js';
import { DicomError } from '../../src/core/dicom-error.js';
import { CT_IMAGE_STORAGE, EXPLICIT_LE, IMPLEMENTATION_UID, IMPLICIT_LE, VERIFICATION, pdv, sampleAc } from './fixtures.js';
import { RawPeer, RawServer, deferred, withTimeout, WAIT_MS } from './wire-helpers.js';

const POLICY: AcceptancePolicy = {
  abstractSyntaxes: {
    [VERIFICATION]: { transferSyntaxes: [IMPLICIT_LE] },
    [CT_IMAGE_STORAGE]: { transferSyntaxes: [EXPLICIT_LE, IMPLICIT_LE], roles: { scu: true, scp: true } },
  },
  maximumLength: 65536,
  implementationClassUid: IMPLEMENTATION_UID,
  implementationVersionName: 'ACCEPTOR',
};

async function pair(
  listenerOptions: Partial<AssociationListenerOptions> = {},
  requestOptions: Partial<AssociationRequestOptions> = {},
): Promise<{ listener: AssociationListener; requestor: Association; acceptor: Association; close: () => Promise<void> }> {
  const listener = await AssociationListener.listen({ host: '127.0.0.1', policy: POLICY, ...listenerOptions });
  const accepted = deferred<Association>();
  listener.on('association', (a) => accepted.resolve(a));
  const requestor = await openAssociation({
    host: '127.0.0.1', port: listener.address().port, callingAeTitle: 'REQUESTOR', calledAeTitle: 'ACCEPTOR',
    presentationContexts: [
      { abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] },
      { abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [IMPLICIT_LE, EXPLICIT_LE] },
      { abstractSyntax: '1.2.3.4', transferSyntaxes: [IMPLICIT_LE] },
    ],
    roleSelections: [{ sopClassUid: CT_IMAGE_STORAGE, scuRole: true, scpRole: true }],
    implementationClassUid: IMPLEMENTATION_UID, implementationVersionName: 'REQUESTOR', maximumLength: 32768,
    ...requestOptions,
  });
  const acceptor = await withTimeout(accepted.promise, WAIT_MS, 'the association at the acceptor');
  for (const a of [requestor, acceptor]) a.on('aborted', () => undefined);
  return { listener, requestor, acceptor, close: () => listener.close({ abort: true }) };
}

function collect(a: Association): PresentationDataValue[] {
  const out: PresentationDataValue[] = [];
  a.on('pdata', (pdvs) => out.push(...pdvs));
  return out;
}

test('receivePDataInPieces: a P-DATA-TF spread over reads comes in pieces whose bytes, order, contexts and last flags are what was sent', async () => {
  const { requestor, acceptor, close } = await pair();
  try {
    acceptor.receivePDataInPieces();
    const pieces = collect(acceptor);
    const done = deferred<void>();
    acceptor.on('pdata', (pdvs) => {
      if (pdvs.some((p) => p.isLast && !p.isCommand)) done.resolve();
    });
    // PDUs of ~64 KiB (the acceptor's maximum): more than one socket read each.
    const sent = [new Uint8Array(60_000).map((_, i) => i & 0xff), new Uint8Array(65_000).fill(7), new Uint8Array(30_001).fill(9)];
    await requestor.sendPData([pdv(3, [1, 2, 3, 4], true, true)]);
    for (const [k, data] of sent.entries()) await requestor.sendPData([pdv(3, data, false, k === sent.length - 1)]);
    await withTimeout(done.promise, WAIT_MS, 'the last piece');
    assert.deepEqual(pieces.filter((p) => p.isCommand).map((p) => [...p.data]).flat(), [1, 2, 3, 4]);
    const data = pieces.filter((p) => !p.isCommand);
    assert.ok(data.length > sent.length, `the data came in pieces (${data.length} for ${sent.length} PDVs)`);
    assert.ok(data.every((p) => p.presentationContextId === 3));
    assert.deepEqual(data.map((p) => p.isLast), data.map((_, i) => i === data.length - 1), 'isLast only on the last piece');
    assert.ok(Buffer.concat(data.map((p) => p.data)).equals(Buffer.concat(sent)), 'the bytes sent, in order');
  } finally {
    await close();
  }
});

test('negotiated on both ends: contexts, transfer syntaxes, roles, maximum lengths, implementation', async () => {
  const { requestor, acceptor, close } = await pair();
  for (const a of [requestor, acceptor]) {
    assert.equal(a.state, 'Sta6');
    assert.deepEqual([...a.presentationContexts.values()].map((p) => [p.id, p.result, p.transferSyntax, p.scuRole, p.scpRole]), [
      [1, 0, IMPLICIT_LE, true, false],
      [3, 0, EXPLICIT_LE, true, true],
      [5, 3, '', true, false],
    ]);
    assert.equal(a.acceptedPresentationContexts().length, 2);
    assert.equal(a.findPresentationContext(CT_IMAGE_STORAGE)?.id, 3);
    assert.equal(a.callingAeTitle, 'REQUESTOR');
    assert.equal(a.calledAeTitle, 'ACCEPTOR');
  }
  assert.equal(requestor.peerMaximumLength, 65536);
  assert.equal(requestor.maxSendPduLength, 65536);
  assert.equal(acceptor.peerMaximumLength, 32768);
  assert.equal(acceptor.maxSendPduLength, 32768);
  assert.equal(requestor.accept.userInformation.implementationVersionName, 'ACCEPTOR');
  assert.equal(acceptor.request.userInformation.implementationVersionName, 'REQUESTOR');
  assert.deepEqual(requestor.localRoles(3), { scu: true, scp: true });
  assert.deepEqual(acceptor.localRoles(1), { scu: false, scp: true });
  assert.equal(requestor.isRequestor, true);
  assert.equal(acceptor.isRequestor, false);
  assert.equal(acceptor.peer?.remoteAddress, '127.0.0.1');
  await requestor.release();
  await close();
});

test('P-DATA both ways: PDVs arrive in order, whole, with their flags', async () => {
  const { requestor, acceptor, close } = await pair();
  const atAcceptor = collect(acceptor);
  const atRequestor = collect(requestor);
  const done = deferred<void>();
  acceptor.on('pdata', (pdvs) => {
    if (pdvs.some((p) => p.isLast && !p.isCommand && p.data[0] === 99)) done.resolve();
  });
  for (let i = 0; i < 100; i++) {
    await requestor.sendPData([pdv(1, [i, i], true, false), pdv(3, new Uint8Array(1000 + i).fill(i), false, i === 99)]);
  }
  await requestor.sendPData([pdv(3, [99], false, true)]);
  await withTimeout(done.promise, WAIT_MS, 'the last PDV');
  assert.equal(atAcceptor.length, 201);
  for (let i = 0; i < 100; i++) {
    assert.deepEqual([atAcceptor[2 * i]!.presentationContextId, atAcceptor[2 * i]!.isCommand, atAcceptor[2 * i]!.isLast, Array.from(atAcceptor[2 * i]!.data)], [1, true, false, [i, i]]);
    assert.equal(atAcceptor[2 * i + 1]!.data.length, 1000 + i);
  }
  const back = deferred<void>();
  requestor.once('pdata', () => back.resolve());
  await acceptor.sendPData([pdv(1, [5, 6, 7], true, true)]);
  await withTimeout(back.promise, WAIT_MS, 'P-DATA at the requestor');
  assert.deepEqual(Array.from(atRequestor[0]!.data), [5, 6, 7]);
  await requestor.release();
  await close();
});

test('sendPData refuses PDVs on unaccepted contexts and PDUs over the peer\'s maximum length', async () => {
  const { requestor, close } = await pair();
  await assert.rejects(requestor.sendPData([pdv(5, [1])]), { code: 'ERR_DICOM_INVALID_ARGUMENT' });
  await assert.rejects(requestor.sendPData([pdv(7, [1])]), { code: 'ERR_DICOM_INVALID_ARGUMENT' });
  await assert.rejects(requestor.sendPData([]), { code: 'ERR_DICOM_INVALID_ARGUMENT' });
  await assert.rejects(requestor.sendPData([pdv(1, new Uint8Array(65536 - 6 + 1))]), { code: 'ERR_DICOM_INVALID_ARGUMENT' });
  await requestor.sendPData([pdv(1, new Uint8Array(65536 - 6))]);
  await requestor.release();
  await close();
});

test('back-pressure: with the receiver paused, sendPData waits for drain; 64 MiB arrive intact and in order', async () => {
  const { requestor, acceptor, close } = await pair({ policy: { ...POLICY, maximumLength: 1 << 20 } }, { maxSendPduLength: 1 << 20 });
  const hashOut = createHash('sha256');
  const hashIn = createHash('sha256');
  let received = 0;
  const total = 64;
  const allIn = deferred<void>();
  acceptor.on('pdata', (pdvs) => {
    for (const p of pdvs) {
      hashIn.update(p.data);
      received += p.data.length;
    }
    if (received === total * ((1 << 20) - 6)) allIn.resolve();
  });
  acceptor.pauseReceiving();
  let waited = 0;
  const chunk = new Uint8Array((1 << 20) - 6);
  for (let i = 0; i < total; i++) {
    chunk.fill(i & 0xff);
    chunk[0] = i >> 8;
    const data = chunk.slice();
    hashOut.update(data);
    const sent = requestor.sendPData([pdv(3, data, false, i === total - 1)]);
    let settled = false;
    void sent.then(() => { settled = true; });
    await Promise.resolve();
    if (!settled) {
      waited++;
      if (waited === 1) acceptor.resumeReceiving();
    }
    await sent;
  }
  assert.ok(waited > 0, 'sendPData waited for drain at least once');
  await withTimeout(allIn.promise, 20_000, 'all data');
  assert.equal(hashIn.digest('hex'), hashOut.digest('hex'));
  await requestor.release();
  await close();
});

test('release by the requestor: both ends see released, then close without error', async () => {
  const { requestor, acceptor, close } = await pair();
  const events: string[] = [];
  acceptor.on('releaseRequested', () => events.push('acceptor releaseRequested'));
  acceptor.on('released', () => events.push('acceptor released'));
  requestor.on('released', () => events.push('requestor released'));
  const closed = deferred<DicomError | undefined>();
  acceptor.on('close', (e) => closed.resolve(e));
  await requestor.release();
  assert.equal(await withTimeout(closed.promise, WAIT_MS, 'close'), undefined);
  await requestor.closed;
  assert.deepEqual(events.sort(), ['acceptor releaseRequested', 'acceptor released', 'requestor released']);
  assert.equal(requestor.state, 'Sta1');
  assert.equal(acceptor.state, 'Sta1');
  await close();
});

test('release by the acceptor; onReleaseRequest lets the requestor finish sending first (AR-7 in Sta8)', async () => {
  const { requestor, acceptor, close } = await pair();
  const got = collect(acceptor);
  requestor.onReleaseRequest = async () => {
    assert.equal(requestor.state, 'Sta8');
    await requestor.sendPData([pdv(1, [1, 2, 3], true, true)]);
  };
  await acceptor.release();
  await acceptor.closed;
  await requestor.closed;
  assert.deepEqual(got.map((p) => Array.from(p.data)), [[1, 2, 3]]);
  await close();
});

test('release collision (PS3.8 §7.2.2): both ends release at once and both confirmations arrive', async () => {
  const { requestor, acceptor, close } = await pair();
  await Promise.all([requestor.release(), acceptor.release()]);
  await Promise.all([requestor.closed, acceptor.closed]);
  await close();
});

test('abort by either end: the other gets A-ABORT (source 0, received) and close with the error', async () => {
  for (const who of ['requestor', 'acceptor'] as const) {
    const { requestor, acceptor, close } = await pair();
    const [aborter, other] = who === 'requestor' ? [requestor, acceptor] : [acceptor, requestor];
    const aborted = deferred<DicomError>();
    other.on('aborted', (e) => aborted.resolve(e));
    const closed = deferred<DicomError | undefined>();
    other.on('close', (e) => closed.resolve(e));
    aborter.abort();
    const e = await withTimeout(aborted.promise, WAIT_MS, 'aborted');
    assert.ok(e instanceof AssociationAbortedError);
    assert.deepEqual([e.code, e.source, e.reason, e.direction], ['ERR_DICOM_ASSOCIATION_ABORTED', 0, 0, 'received']);
    assert.equal(await closed.promise, e);
    await aborter.closed;
    aborter.abort(); // no-op once over
    await close();
  }
});

test('a pending release is rejected by an abort, and operations after the end are refused', async () => {
  const { requestor, acceptor, close } = await pair();
  acceptor.onReleaseRequest = () => new Promise(() => undefined); // never answers
  const releasing = requestor.release();
  const seen = deferred<void>();
  acceptor.on('releaseRequested', () => seen.resolve());
  await seen.promise;
  acceptor.abort();
  await assert.rejects(releasing, { code: 'ERR_DICOM_ASSOCIATION_ABORTED' });
  await requestor.closed;
  await assert.rejects(requestor.sendPData([pdv(1, [1])]), { code: 'ERR_DICOM_ASSOCIATION_STATE' });
  await assert.rejects(requestor.release(), { code: 'ERR_DICOM_ASSOCIATION_STATE' });
  await close();
});

test('A-P-ABORT on transport loss: the association emits aborted and close with ERR_DICOM_ASSOCIATION_CONNECTION_LOST', async () => {
  const { server, peer, a } = await onRawPeer();
  const aborted = deferred<DicomError>();
  a.on('aborted', (e) => aborted.resolve(e));
  const closed = deferred<DicomError | undefined>();
  a.on('close', (e) => closed.resolve(e));
  peer.destroy();
  assert.equal((await withTimeout(aborted.promise, WAIT_MS, 'aborted')).code, 'ERR_DICOM_ASSOCIATION_CONNECTION_LOST');
  assert.equal((await closed.promise)?.code, 'ERR_DICOM_ASSOCIATION_CONNECTION_LOST');
  await server.close();
});

test('release timeout: no A-RELEASE-RP in time aborts the association (A-ABORT sent) and rejects release()', async () => {
  const { server, peer, a } = await onRawPeer({ release: 50, artim: 50 });
  const releasing = a.release();
  assert.equal((await peer.nextPdu()).type, PduType.AReleaseRq);
  await assert.rejects(releasing, { code: 'ERR_DICOM_ASSOCIATION_TIMEOUT' });
  const abort = await peer.nextPdu();
  assert.deepEqual([abort.type, abort.body[2], abort.body[3]], [PduType.AAbort, 0, 0]);
  await peer.waitClosed();
  await server.close();
});

test('idle timeout: an association with no PDU for the idle time is aborted', async () => {
  const { requestor, acceptor, close } = await pair({ timeouts: { idle: 60 } });
  const aborted = deferred<DicomError>();
  requestor.on('aborted', (e) => aborted.resolve(e));
  const local = deferred<DicomError>();
  acceptor.on('aborted', (e) => local.resolve(e));
  assert.equal((await withTimeout(local.promise, WAIT_MS, 'idle abort')).code, 'ERR_DICOM_ASSOCIATION_TIMEOUT');
  const e = await withTimeout(aborted.promise, WAIT_MS, 'A-ABORT at the requestor');
  assert.ok(e instanceof AssociationAbortedError && e.source === 0);
  await close();
});

test('association request timeout: an acceptor that never answers makes openAssociation reject', async () => {
  const server = await RawServer.listen();
  const opening = openAssociation({
    host: '127.0.0.1', port: server.port, callingAeTitle: 'SCU', calledAeTitle: 'RAW', timeouts: { associationRequest: 50, artim: 50 },
    presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }], implementationClassUid: IMPLEMENTATION_UID,
  });
  const peer = await server.nextConnection();
  await assert.rejects(opening, { code: 'ERR_DICOM_ASSOCIATION_TIMEOUT' });
  peer.destroy();
  await server.close();
});

test('rejections reach openAssociation with result, source and reason', async () => {
  const listener = await AssociationListener.listen({ host: '127.0.0.1', policy: { ...POLICY, calledAeTitle: (t) => t === 'ONLY' } });
  await assert.rejects(openAssociation({
    host: '127.0.0.1', port: listener.address().port, callingAeTitle: 'SCU', calledAeTitle: 'OTHER',
    presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }], implementationClassUid: IMPLEMENTATION_UID,
  }), (e: unknown) => e instanceof AssociationRejectedError && e.result === 1 && e.source === 1 && e.reason === 7);
  await listener.close();
});

test('maxAssociations: beyond the limit, A-ASSOCIATE-RJ 2/3/2 (transient, local-limit-exceeded)', async () => {
  const { listener, requestor, close } = await pair({ maxAssociations: 1 });
  await assert.rejects(openAssociation({
    host: '127.0.0.1', port: listener.address().port, callingAeTitle: 'SCU', calledAeTitle: 'ACCEPTOR',
    presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }], implementationClassUid: IMPLEMENTATION_UID,
  }), (e: unknown) => e instanceof AssociationRejectedError && e.result === 2 && e.source === 3 && e.reason === 2);
  await requestor.release();
  await close();
});

test('a decision callback that throws gives the requestor a transient rejection and the listener a decisionFailed event', async () => {
  const listener = await AssociationListener.listen({ host: '127.0.0.1', onAssociationRequest: () => { throw new Error('boom'); } });
  const failed = deferred<Error>();
  listener.on('decisionFailed', (e) => failed.resolve(e));
  await assert.rejects(openAssociation({
    host: '127.0.0.1', port: listener.address().port, callingAeTitle: 'SCU', calledAeTitle: 'X',
    presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }], implementationClassUid: IMPLEMENTATION_UID,
  }), (e: unknown) => e instanceof AssociationRejectedError && e.result === 2 && e.source === 1 && e.reason === 1);
  assert.equal((await failed.promise).message, 'boom');
  await listener.close();
});

test('PDVs sent by the acceptor at once are kept for the requestor until it listens', async () => {
  const listener = await AssociationListener.listen({ host: '127.0.0.1', policy: POLICY });
  listener.on('association', (a) => void a.sendPData([pdv(1, [42], true, true)]));
  const requestor = await openAssociation({
    host: '127.0.0.1', port: listener.address().port, callingAeTitle: 'SCU', calledAeTitle: 'X',
    presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }], implementationClassUid: IMPLEMENTATION_UID,
  });
  // Let the P-DATA arrive before anyone listens.
  await new Promise((r) => setTimeout(r, 20));
  const got = deferred<number[]>();
  requestor.on('pdata', (pdvs) => got.resolve(Array.from(pdvs[0]!.data)));
  assert.deepEqual(await withTimeout(got.promise, WAIT_MS, 'queued P-DATA'), [42]);
  await requestor.release();
  await listener.close();
});

test('bad requestor options are refused before any connection', async () => {
  const base: AssociationRequestOptions = {
    host: '127.0.0.1', port: 1, callingAeTitle: 'SCU', calledAeTitle: 'X',
    presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }], implementationClassUid: IMPLEMENTATION_UID,
  };
  for (const bad of [
    { callingAeTitle: 'THIS_AE_TITLE_IS_TOO_LONG' },
    { calledAeTitle: '   ' },
    { calledAeTitle: 'BACK\\SLASH' },
    { presentationContexts: [] },
    { presentationContexts: [{ id: 2, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }] },
    { presentationContexts: [{ id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }, { id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }] },
    { presentationContexts: [{ abstractSyntax: 'CT Image Storage', transferSyntaxes: [IMPLICIT_LE] }] },
    { presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [] }] },
    { implementationClassUid: 'x' },
  ] as Array<Partial<AssociationRequestOptions>>) {
    await assert.rejects(openAssociation({ ...base, ...bad }), { code: 'ERR_DICOM_INVALID_ARGUMENT' }, JSON.stringify(bad));
  }
});

test('presentation context IDs are assigned odd and unique around explicit ones', async () => {
  const server = await RawServer.listen();
  const opening = openAssociation({
    host: '127.0.0.1', port: server.port, callingAeTitle: 'SCU', calledAeTitle: 'RAW',
    presentationContexts: [
      { abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] },
      { id: 3, abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [IMPLICIT_LE] },
      { abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [EXPLICIT_LE] },
    ],
    implementationClassUid: IMPLEMENTATION_UID,
  });
  opening.catch(() => undefined);
  const peer: RawPeer = await server.nextConnection();
  const rq = decodeAAssociateRq((await peer.nextPdu()).body);
  assert.deepEqual(rq.presentationContexts.map((p) => p.id), [1, 3, 5]);
  peer.destroy();
  await assert.rejects(opening);
  await server.close();
});

test('diagnostics channels: every PDU sent and received, and the association lifecycle', async () => {
  const pdus: PduTrace[] = [];
  const phases: string[] = [];
  const onPdu = (m: unknown): void => { pdus.push(m as PduTrace); };
  const onAssociation = (m: unknown): void => { phases.push((m as { phase: string }).phase); };
  diagnosticsChannel.subscribe(PDU_CHANNEL, onPdu);
  diagnosticsChannel.subscribe(ASSOCIATION_CHANNEL, onAssociation);
  try {
    const { requestor, acceptor, close } = await pair();
    await requestor.sendPData([pdv(1, [1])]);
    await requestor.release();
    await acceptor.closed;
    await close();
    const id = requestor.connectionId;
    assert.deepEqual(pdus.filter((p) => p.connectionId === id).map((p) => `${p.direction} ${p.name}`),
      ['sent A-ASSOCIATE-RQ', 'received A-ASSOCIATE-AC', 'sent P-DATA-TF', 'sent A-RELEASE-RQ', 'received A-RELEASE-RP']);
    assert.deepEqual(pdus.filter((p) => p.connectionId === acceptor.connectionId).map((p) => `${p.direction} ${p.name}`),
      ['received A-ASSOCIATE-RQ', 'sent A-ASSOCIATE-AC', 'received P-DATA-TF', 'received A-RELEASE-RQ', 'sent A-RELEASE-RP']);
    for (const p of ['connection', 'established', 'released', 'closed']) assert.ok(phases.includes(p), p);
  } finally {
    diagnosticsChannel.unsubscribe(PDU_CHANNEL, onPdu);
    diagnosticsChannel.unsubscribe(ASSOCIATION_CHANNEL, onAssociation);
  }
});

test('the listener serves many associations at once', async () => {
  const listener = await AssociationListener.listen({ host: '127.0.0.1', policy: POLICY });
  listener.on('association', (a) => a.on('pdata', (pdvs) => void a.sendPData(pdvs.map((p) => ({ ...p, data: p.data.slice() })))));
  await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const a = await openAssociation({
      host: '127.0.0.1', port: listener.address().port, callingAeTitle: `SCU${i}`, calledAeTitle: 'X',
      presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }], implementationClassUid: IMPLEMENTATION_UID,
    });
    const echoed = deferred<number>();
    a.on('pdata', (pdvs) => echoed.resolve(pdvs[0]!.data[0]!));
    await a.sendPData([pdv(1, [i])]);
    assert.equal(await withTimeout(echoed.promise, WAIT_MS, 'echo'), i);
    await a.release();
  }));
  await listener.close();
  assert.equal(listener.connectionCount, 0);
});

test('listener.close({ abort: true }) aborts its associations (the requestor gets A-ABORT) and resolves when all are closed', async () => {
  const { listener, requestor, acceptor } = await pair();
  const atRequestor = deferred<DicomError>();
  requestor.on('aborted', (e) => atRequestor.resolve(e));
  const atAcceptor = deferred<DicomError>();
  acceptor.on('aborted', (e) => atAcceptor.resolve(e));
  await listener.close({ abort: true });
  assert.equal(listener.connectionCount, 0);
  assert.ok((await atRequestor.promise) instanceof AssociationAbortedError);
  assert.equal((await atAcceptor.promise).code, 'ERR_DICOM_ASSOCIATION_ABORTED');
  await requestor.closed;
});

/** An association opened by this implementation to a scripted raw peer that accepts it. */
async function onRawPeer(timeouts?: AssociationTimeouts): Promise<{ server: RawServer; peer: RawPeer; a: Association }> {
  const server = await RawServer.listen();
  const opening = openAssociation({
    host: '127.0.0.1', port: server.port, callingAeTitle: 'SCU', calledAeTitle: 'RAW', ...(timeouts !== undefined ? { timeouts } : {}),
    presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }], implementationClassUid: IMPLEMENTATION_UID,
  });
  const peer = await server.nextConnection();
  const rq = decodeAAssociateRq((await peer.nextPdu()).body);
  peer.send(encodePdu(sampleAc(rq)));
  const a = await opening;
  a.on('aborted', () => undefined);
  return { server, peer, a };
}

test('sendPDataGroup: the same bytes on the wire as one sendPData per PDU, in one write; flushed() once they are out', async () => {
  const { server, peer, a } = await onRawPeer();
  // PDUs with small payloads (copied beside their headers) and large ones (written as views).
  const pdus: PresentationDataValue[][] = [
    [pdv(1, [1, 2, 3, 4], true, false)],
    [pdv(1, [5, 6], true, true), pdv(1, new Uint8Array(3000).fill(7), false, false)],
    [pdv(1, new Uint8Array(20000).map((_, i) => i & 0xff), false, false)],
    [pdv(1, [9, 9], false, true)],
  ];
  const expected = Buffer.concat(pdus.map((pdvs) => encodePdu({ type: PduType.PDataTf, presentationDataValues: pdvs })));
  const received: Buffer[] = [];
  peer.socket.on('data', (chunk: Buffer) => received.push(chunk));
  const writes: number[] = [];
  const socket = (a as unknown as { dul: { transport: { socket: { _writev: unknown; _write: unknown } } } }).dul.transport.socket;
  // Count the writes handed to the socket's handle: one writev for the whole group.
  const { _writev: writev, _write: write } = socket as unknown as Record<string, (...args: unknown[]) => unknown>;
  socket._writev = function (this: unknown, chunks: unknown[], cb: unknown) { writes.push(chunks.length); return writev!.call(this, chunks, cb); };
  socket._write = function (this: unknown, chunk: unknown, enc: unknown, cb: unknown) { writes.push(1); return write!.call(this, chunk, enc, cb); };
  await a.sendPDataGroup(pdus);
  await a.flushed();
  assert.equal(writes.length, 1, `one write to the socket, not ${writes.length}`);
  await withTimeout((async () => {
    while (Buffer.concat(received).length < expected.length) await new Promise((r) => setTimeout(r, 5));
  })(), WAIT_MS, 'the bytes of the group');
  assert.ok(Buffer.concat(received).equals(expected), 'byte-identical to the PDUs encoded one by one');
  // A PDU over the peer's limit in the middle: those before it are sent, the call rejects.
  await assert.rejects(a.sendPDataGroup([[pdv(1, [1, 1], false, false)], [pdv(3, [2, 2])]]), { code: 'ERR_DICOM_INVALID_ARGUMENT' });
  peer.destroy();
  await a.closed;
  await a.flushed();
  await server.close();
});

test('sendPDataGroup traced: one P-DATA request (Evt9, DT-1) and one PDU trace per PDU of the group, the same bytes as untraced', async () => {
  const { server, peer, a } = await onRawPeer();
  const pdus: PresentationDataValue[][] = [
    [pdv(1, [1, 2], true, true), pdv(1, new Uint8Array(3000).fill(7), false, false)],
    [pdv(1, new Uint8Array(5000).fill(8), false, false)],
    [pdv(1, [9, 9], false, true)],
  ];
  const one = Buffer.concat(pdus.map((pdvs) => encodePdu({ type: PduType.PDataTf, presentationDataValues: pdvs })));
  const received: Buffer[] = [];
  peer.socket.on('data', (chunk: Buffer) => received.push(chunk));
  const transitions: StateTrace[] = [];
  const sent: PduTrace[] = [];
  const onState = (m: unknown) => void transitions.push(m as StateTrace);
  const onPdu = (m: unknown) => void ((m as PduTrace).direction === 'sent' && sent.push(m as PduTrace));
  try {
    await a.sendPDataGroup(pdus); // untraced: one primitive stands for the group
    diagnosticsChannel.subscribe(STATE_CHANNEL, onState);
    diagnosticsChannel.subscribe(PDU_CHANNEL, onPdu);
    try {
      await a.sendPDataGroup(pdus);
    } finally {
      diagnosticsChannel.unsubscribe(STATE_CHANNEL, onState);
      diagnosticsChannel.unsubscribe(PDU_CHANNEL, onPdu);
    }
    const mine = transitions.filter((t) => t.connectionId === a.connectionId);
    assert.deepEqual(mine.map((t) => [t.from, t.event, t.action, t.to]), pdus.map(() => ['Sta6', 'Evt9', 'DT-1', 'Sta6']));
    assert.deepEqual(sent.filter((t) => t.connectionId === a.connectionId).map((t) => t.length), pdus.map((pdvs) => pdvs.reduce((n, x) => n + 6 + x.data.length, 0)));
    await withTimeout((async () => {
      while (Buffer.concat(received).length < 2 * one.length) await new Promise((r) => setTimeout(r, 5));
    })(), WAIT_MS, 'the bytes of both groups');
    assert.ok(Buffer.concat(received).equals(Buffer.concat([one, one])), 'untraced and traced: the PDUs encoded one by one, twice');
  } finally {
    peer.destroy();
    await a.closed;
    await server.close();
  }
});

test('sendPData and sendPDataGroup hand large payloads to the socket as the caller\'s views, not copies', async () => {
  const { server, peer, a } = await onRawPeer();
  const written: Uint8Array[] = [];
  const socket = (a as unknown as { dul: { transport: { socket: Record<string, (...args: unknown[]) => unknown> } } }).dul.transport.socket;
  const { _writev: writev, _write: write } = socket;
  socket._writev = function (this: unknown, chunks: unknown, cb: unknown) {
    for (const c of chunks as Array<{ chunk: Uint8Array }>) written.push(c.chunk);
    return writev!.call(this, chunks, cb);
  };
  socket._write = function (this: unknown, chunk: unknown, enc: unknown, cb: unknown) {
    written.push(chunk as Uint8Array);
    return write!.call(this, chunk, enc, cb);
  };
  const payloads = [0, 1, 2].map((k) => new Uint8Array(20000).fill(k + 1));
  try {
    await a.sendPData([pdv(1, payloads[0]!, false, false)]);
    await a.sendPDataGroup([[pdv(1, payloads[1]!, false, false)], [pdv(1, payloads[2]!, false, true)]]);
    await a.flushed();
    for (const p of payloads) {
      assert.ok(written.some((w) => w.buffer === p.buffer && w.byteOffset === p.byteOffset && w.length === p.length),
        'the payload went to the socket as the caller\'s own bytes (a copy doubles the memory allocated per byte sent)');
    }
  } finally {
    peer.destroy();
    await a.closed;
    await server.close();
  }
});
