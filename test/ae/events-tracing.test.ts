/**
 * Observability of the network API, client and server in one process on port 0: DicomServer's
 * lifecycle events (association, released, aborted, rejected), the DIMSE message traces on
 * node:diagnostics_channel 'conduit:dimse:message', and the Upper Layer's 'conduit:upper-layer:*'
 * channels (PDUs, state machine transitions, association phases).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import net from 'node:net';
import { connect, DIMSE_CHANNEL, type AssociationInfo, type DimseTrace } from '../../src/ae/index.js';
import type { DicomError } from '../../src/core/dicom-error.js';
import { Status } from '../../src/dimse/index.js';
import {
  ASSOCIATION_CHANNEL, AssociationAbortedError, buildAssociateRq, encodePdu, PDU_CHANNEL, STATE_CHANNEL, type AssociationTrace, type PduTrace, type StateTrace,
} from '../../src/upper-layer/index.js';
import { IMPLICIT_LE, VERIFICATION, ctDataSet, nextEvent, proposalsForCt, readAll, startServer, withTimeout, WAIT_MS } from './helpers.js';

/** Everything published on `name` while the test runs. */
function record<T>(t: { after(fn: () => void): void }, name: string): T[] {
  const seen: T[] = [];
  const onMessage = (m: unknown) => seen.push(m as T);
  diagnosticsChannel.subscribe(name, onMessage);
  t.after(() => diagnosticsChannel.unsubscribe(name, onMessage));
  return seen;
}

test('lifecycle events: association (with who and from where), then released on A-RELEASE', async () => {
  const { server, port, close } = await startServer({ aeTitle: 'EVENTS-SCP', handlers: {} });
  const events: string[] = [];
  for (const e of ['association', 'released', 'aborted', 'rejected'] as const) server.on(e, () => events.push(e));
  try {
    const associated = nextEvent<[AssociationInfo]>(server, 'association');
    const client = await connect({ host: '127.0.0.1', port, callingAeTitle: 'TRACER', calledAeTitle: 'EVENTS-SCP' });
    const [info] = await associated;
    assert.equal(info.callingAeTitle, 'TRACER');
    assert.equal(info.calledAeTitle, 'EVENTS-SCP');
    assert.equal(info.remoteAddress, '127.0.0.1');
    assert.equal(typeof info.connectionId, 'string');
    assert.notEqual(info.connectionId, client.association.connectionId, 'each end has its own connection id');
    assert.equal(info.association.isRequestor, false);
    assert.equal((await client.echo()).code, Status.Success);
    const released = nextEvent<[AssociationInfo]>(server, 'released');
    await client.release();
    const [releasedInfo] = await released;
    assert.equal(releasedInfo, info, 'the same AssociationInfo is given to every event of one association');
    await withTimeout(info.association.closed, WAIT_MS, 'the server side to close');
    assert.deepEqual(events, ['association', 'released']);
  } finally {
    await close();
  }
});

test('lifecycle events: aborted when the SCU aborts (A-ABORT received) and when the server aborts on close (A-ABORT sent)', async () => {
  const { server, port, close } = await startServer({ aeTitle: 'EVENTS-SCP', handlers: {} });
  const released: AssociationInfo[] = [];
  server.on('released', (i) => released.push(i));
  try {
    const first = await connect({ host: '127.0.0.1', port });
    first.association.on('aborted', () => undefined);
    const aborted = nextEvent<[AssociationInfo, DicomError]>(server, 'aborted');
    first.abort();
    const [info, error] = await aborted;
    assert.equal(info.callingAeTitle, 'CONDUIT');
    assert.ok(error instanceof AssociationAbortedError);
    assert.equal(error.code, 'ERR_DICOM_ASSOCIATION_ABORTED');
    assert.equal(error.direction, 'received');
    assert.equal(error.source, 0);

    const second = await connect({ host: '127.0.0.1', port });
    const clientSaw = nextEvent<[DicomError]>(second.association, 'aborted');
    const serverAborted = nextEvent<[AssociationInfo, DicomError]>(server, 'aborted');
    await close(); // close({ abort: true }): A-ABORT to every open association
    const [, serverError] = await serverAborted;
    assert.equal((serverError as AssociationAbortedError).direction, 'sent');
    const [clientError] = await clientSaw;
    assert.equal((clientError as AssociationAbortedError).direction, 'received');
    await assert.rejects(second.echo(), (e: DicomError) => e.code === 'ERR_DICOM_ASSOCIATION_ABORTED' || e.code === 'ERR_DICOM_ASSOCIATION_STATE');
    assert.deepEqual(released, []);
  } finally {
    await close();
  }
});

test('lifecycle events: rejected, with the reason in words and the calling AE title', async () => {
  const { server, port, close } = await startServer({ aeTitle: 'EVENTS-SCP', allowedCallingAeTitles: ['FRIEND'], handlers: {} });
  let associations = 0;
  server.on('association', () => associations++);
  try {
    const rejected = nextEvent<[string, string | undefined]>(server, 'rejected');
    await assert.rejects(connect({ host: '127.0.0.1', port, callingAeTitle: 'STRANGER' }), (e: DicomError) => e.code === 'ERR_DICOM_ASSOCIATION_REJECTED');
    const [reason, calling] = await rejected;
    assert.match(reason, /reason 3/);
    assert.equal(calling?.trim(), 'STRANGER');
    assert.equal(associations, 0);
  } finally {
    await close();
  }
});

test(`'${DIMSE_CHANNEL}': each message sent and received, at both ends, in causal order`, async (t) => {
  const traces = record<DimseTrace>(t, DIMSE_CHANNEL);
  const { server, port, close } = await startServer({ aeTitle: 'TRACE-SCP', handlers: { store: async (r) => void (await readAll(r.dataSet)) } });
  try {
    const associated = nextEvent<[AssociationInfo]>(server, 'association');
    const client = await connect({ host: '127.0.0.1', port, presentationContexts: proposalsForCt() });
    const [info] = await associated;
    const clientId = client.association.connectionId;
    const serverId = info.connectionId;
    const ctContext = client.association.acceptedPresentationContexts()[0]!.id;
    const store = await client.store({ dataSet: ctDataSet() });
    assert.equal(store.code, Status.Success);
    await client.release();
    const mine = traces.filter((m) => m.connectionId === clientId || m.connectionId === serverId);
    assert.deepEqual(mine.map((m) => [m.connectionId === clientId ? 'client' : 'server', m.direction, m.type, m.presentationContextId, m.messageId, m.status]), [
      ['client', 'sent', 'C-STORE-RQ', ctContext, 1, undefined],
      ['server', 'received', 'C-STORE-RQ', ctContext, 1, undefined],
      ['server', 'sent', 'C-STORE-RSP', ctContext, undefined, Status.Success],
      ['client', 'received', 'C-STORE-RSP', ctContext, undefined, Status.Success],
    ]);
  } finally {
    await close();
  }
});

test(`'conduit:upper-layer:*': PDUs, state transitions and association phases of one association, at both ends`, async (t) => {
  const pdus = record<PduTrace>(t, PDU_CHANNEL);
  const states = record<StateTrace>(t, STATE_CHANNEL);
  const phases = record<AssociationTrace>(t, ASSOCIATION_CHANNEL);
  assert.equal(PDU_CHANNEL, 'conduit:upper-layer:pdu');
  assert.equal(STATE_CHANNEL, 'conduit:upper-layer:state');
  assert.equal(ASSOCIATION_CHANNEL, 'conduit:upper-layer:association');
  const { server, port, close } = await startServer({ aeTitle: 'TRACE-SCP', handlers: {} });
  try {
    const associated = nextEvent<[AssociationInfo]>(server, 'association');
    const client = await connect({ host: '127.0.0.1', port });
    const [info] = await associated;
    assert.equal((await client.echo()).code, Status.Success);
    await client.release();
    await withTimeout(Promise.all([client.association.closed, info.association.closed]), WAIT_MS, 'both ends to close');
    const clientId = client.association.connectionId;
    const serverId = info.connectionId;

    const pduNames = (id: string) => pdus.filter((p) => p.connectionId === id).map((p) => `${p.direction} ${p.name}`);
    assert.deepEqual(pduNames(clientId), ['sent A-ASSOCIATE-RQ', 'received A-ASSOCIATE-AC', 'sent P-DATA-TF', 'received P-DATA-TF', 'sent A-RELEASE-RQ', 'received A-RELEASE-RP']);
    assert.deepEqual(pduNames(serverId), ['received A-ASSOCIATE-RQ', 'sent A-ASSOCIATE-AC', 'received P-DATA-TF', 'sent P-DATA-TF', 'received A-RELEASE-RQ', 'sent A-RELEASE-RP']);
    const rq = pdus.find((p) => p.connectionId === clientId && p.name === 'A-ASSOCIATE-RQ')!;
    assert.ok(rq.length > 0 && rq.pdu !== undefined, 'the decoded PDU and its length come with the trace');

    // PS3.8 Table 9-10, requestor: Sta1 -AE-1-> Sta4 -AE-2-> Sta5 -AE-3-> Sta6 -AR-1-> Sta7 -AR-3-> Sta1.
    const path = (id: string) => states.filter((s) => s.connectionId === id).map((s) => `${s.from}>${s.action}>${s.to}`);
    const clientPath = path(clientId);
    for (const step of ['Sta1>AE-1>Sta4', 'Sta4>AE-2>Sta5', 'Sta5>AE-3>Sta6', 'Sta6>AR-1>Sta7', 'Sta7>AR-3>Sta1']) {
      assert.ok(clientPath.includes(step), `requestor transition ${step} in ${clientPath.join(', ')}`);
    }
    assert.ok(clientPath.indexOf('Sta5>AE-3>Sta6') < clientPath.indexOf('Sta6>AR-1>Sta7'));
    // acceptor: Sta2 -AE-6-> Sta3 -AE-7-> Sta6 ... A-RELEASE-RQ -AR-2-> Sta8 -AR-4-> Sta13.
    const serverPath = path(serverId);
    for (const step of ['Sta2>AE-6>Sta3', 'Sta3>AE-7>Sta6', 'Sta6>AR-2>Sta8', 'Sta8>AR-4>Sta13']) {
      assert.ok(serverPath.includes(step), `acceptor transition ${step} in ${serverPath.join(', ')}`);
    }
    for (const s of states.filter((x) => x.connectionId === clientId || x.connectionId === serverId)) {
      assert.match(s.event, /^Evt\d+$/);
    }

    const phaseList = (id: string) => phases.filter((p) => p.connectionId === id).map((p) => p.phase);
    assert.deepEqual(phaseList(clientId), ['established', 'released', 'closed']);
    assert.deepEqual(phaseList(serverId), ['connection', 'established', 'released', 'closed']);
    const established = phases.find((p) => p.connectionId === serverId && p.phase === 'established')!;
    assert.equal(established.role, 'acceptor');
    assert.equal(String(established.callingAeTitle).trim(), 'CONDUIT');
  } finally {
    await close();
  }
});

test('lifecycle events: aborted with ERR_DICOM_ASSOCIATION_CONNECTION_LOST when the peer\'s connection drops without A-ABORT', async () => {
  const { server, port, close } = await startServer({ aeTitle: 'EVENTS-SCP', handlers: {} });
  try {
    const associated = nextEvent<[AssociationInfo]>(server, 'association');
    const aborted = nextEvent<[AssociationInfo, DicomError]>(server, 'aborted');
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    await nextEvent(socket, 'connect');
    socket.write(encodePdu(buildAssociateRq({
      callingAeTitle: 'VANISHING', calledAeTitle: 'EVENTS-SCP', implementationClassUid: '1.2.826.0.1.3680043.10.1234',
      presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }],
    })));
    const [ac] = await nextEvent<[Buffer]>(socket, 'data');
    assert.equal(ac[0], 0x02, 'A-ASSOCIATE-AC');
    const [info] = await associated;
    assert.equal(info.callingAeTitle, 'VANISHING');
    socket.destroy();
    const [abortedInfo, error] = await aborted;
    assert.equal(abortedInfo, info);
    assert.equal(error.code, 'ERR_DICOM_ASSOCIATION_CONNECTION_LOST');
  } finally {
    await close();
  }
});

test('close() without abort: stops accepting, lets open associations finish, resolves once they are released', async () => {
  const { server, port } = await startServer({ aeTitle: 'EVENTS-SCP', handlers: {} });
  const client = await connect({ host: '127.0.0.1', port });
  let closed = false;
  const closing = server.close().then(() => void (closed = true));
  try {
    await assert.rejects(connect({ host: '127.0.0.1', port, timeouts: { connect: WAIT_MS } }), (e: DicomError) => e.code === 'ERR_DICOM_TRANSPORT');
    assert.equal((await client.echo()).code, Status.Success, 'the open association still works');
    assert.equal(closed, false);
    await client.release();
    await withTimeout(closing, WAIT_MS, 'close() after the last release');
  } finally {
    client.abort();
    await server.close({ abort: true });
  }
});
