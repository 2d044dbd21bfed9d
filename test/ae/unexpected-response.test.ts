/**
 * A response whose Message ID Being Responded To names no request awaiting one (PS3.7 §9.1.1.1.1):
 * the requestor aborts the association at once (A-ABORT, source 2, reason 5) with
 * ERR_DICOM_DIMSE_UNEXPECTED_RESPONSE, rather than waiting for the response that will not come
 * until its DIMSE timeout. Late responses to a request given up on at its timeout are dropped.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type AssociationClient } from '../../src/ae/index.js';
import { decodeCommand, encodeCommand, NO_DATA_SET, type DimseMessage } from '../../src/dimse/index.js';
import { PduType, decodeAAssociateRq, encodePdu } from '../../src/upper-layer/index.js';
import { VERIFICATION, IMPLICIT_LE, pdv, sampleAc } from '../upper-layer/fixtures.js';
import { RawServer, type RawPeer } from '../upper-layer/wire-helpers.js';
import { withTimeout } from './helpers.js';

/** A scripted acceptor (raw socket) with an association of the client's. */
async function scripted(t: TestContext, dimseTimeout: number): Promise<{ client: AssociationClient; peer: RawPeer }> {
  const server = await RawServer.listen();
  const connecting = connect({ host: '127.0.0.1', port: server.port, dimseTimeout, presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }] });
  const peer = await server.nextConnection();
  t.after(async () => {
    peer.destroy();
    await server.close();
  });
  peer.send(encodePdu(sampleAc(decodeAAssociateRq((await peer.nextPdu()).body))));
  return { client: await connecting, peer };
}

/** The C-ECHO-RQ's Message ID, from its P-DATA-TF (one PDV: item length, context ID, header, command). */
async function nextEchoRq(peer: RawPeer): Promise<number> {
  const pdu = await peer.nextPdu();
  assert.equal(pdu.type, PduType.PDataTf);
  const rq = decodeCommand(pdu.body.subarray(6)) as DimseMessage & { messageId: number };
  assert.equal(rq.type, 'C-ECHO-RQ');
  return rq.messageId;
}

function echoRsp(peer: RawPeer, messageIdBeingRespondedTo: number): void {
  const rsp = { type: 'C-ECHO-RSP', messageIdBeingRespondedTo, affectedSopClassUid: VERIFICATION, status: 0 } as unknown as DimseMessage;
  peer.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(1, encodeCommand(rsp, NO_DATA_SET))] }));
}

test('a C-ECHO-RSP for a Message ID never sent: A-ABORT at once, ERR_DICOM_DIMSE_UNEXPECTED_RESPONSE', async (t) => {
  const { client, peer } = await scripted(t, 60_000);
  const echo = client.echo();
  const id = await nextEchoRq(peer);
  echoRsp(peer, id + 100);
  // Well within the DIMSE timeout (60 s).
  await assert.rejects(withTimeout(echo, 5000, 'the echo to fail'), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'ERR_DICOM_DIMSE_UNEXPECTED_RESPONSE', e.message);
    assert.match(e.message, new RegExp(`C-ECHO-RSP \\(status 0000H.*\\) for Message ID ${id + 100}, which is no request of this end awaiting a response`));
    return true;
  });
  const abort = await peer.nextPdu();
  assert.equal(abort.type, PduType.AAbort);
  assert.deepEqual([abort.body[2], abort.body[3]], [2, 5], 'A-ABORT source 2 (service-provider), reason 5 (unexpected PDU parameter)');
});

test('a second final response to a request already answered: A-ABORT', async (t) => {
  const { client, peer } = await scripted(t, 60_000);
  const echo = client.echo();
  const id = await nextEchoRq(peer);
  echoRsp(peer, id);
  assert.equal((await echo).code, 0);
  echoRsp(peer, id);
  const abort = await peer.nextPdu();
  assert.equal(abort.type, PduType.AAbort);
  await assert.rejects(client.echo(), { code: 'ERR_DICOM_DIMSE_UNEXPECTED_RESPONSE' });
});

test('a late response to a request that timed out is dropped; the association goes on', async (t) => {
  const { client, peer } = await scripted(t, 200);
  const first = client.echo();
  const late = await nextEchoRq(peer);
  await assert.rejects(first, { code: 'ERR_DICOM_ASSOCIATION_TIMEOUT' });
  echoRsp(peer, late);
  const second = client.echo();
  const id = await nextEchoRq(peer);
  assert.notEqual(id, late);
  echoRsp(peer, id);
  assert.equal((await withTimeout(second, 5000, 'the second echo')).code, 0);
  assert.equal(peer.pending, 0, 'the late response was answered with a PDU (an A-ABORT?)');
});
