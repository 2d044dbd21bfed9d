/**
 * DimseAssociation.requestOne's onFinal, client and server in one process on port 0: it runs in
 * the receive callback of the final response, before requestOne's promise settles, with the
 * Message ID and the window's slot already free, so a request sent from it goes out at once (its
 * first bytes written before the callback returns), and its own response is routed to it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/ae/index.js';
import { VERIFICATION, startServer, withTimeout, WAIT_MS } from './helpers.js';

test('requestOne onFinal: called in the final response\'s callback, before the promise settles; a request sent from it is written at once', async () => {
  let echoes = 0;
  const { port, close } = await startServer({ aeTitle: 'ECHO-SCP', handlers: { echo: () => void echoes++ } });
  try {
    const client = await connect({ host: '127.0.0.1', port, presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: ['1.2.840.10008.1.2'] }] });
    const pc = client.association.findPresentationContext(VERIFICATION)!;
    const order: string[] = [];
    // A write of the transport, seen from the association: the second C-ECHO-RQ's P-DATA-TF.
    const sendPData = client.association.sendPData.bind(client.association);
    client.association.sendPData = (pdvs) => {
      order.push('write');
      return sendPData(pdvs);
    };
    let second: Promise<unknown> | undefined;
    const first = client.dimse.requestOne({ type: 'C-ECHO-RQ', affectedSopClassUid: VERIFICATION } as never, pc.id, null, {
      onFinal: () => {
        order.push('onFinal');
        second = client.dimse.requestOne({ type: 'C-ECHO-RQ', affectedSopClassUid: VERIFICATION } as never, pc.id);
        // Written before requestOne returned: no slot or Message ID was still held by the first.
        order.push('returned');
      },
    }).then((rsp) => {
      order.push('first settled');
      return rsp;
    });
    const rsp = await withTimeout(first, WAIT_MS, 'the first C-ECHO-RSP');
    assert.equal(rsp.status.isSuccess, true);
    assert.ok(second !== undefined, 'onFinal was called');
    const rsp2 = await withTimeout(second, WAIT_MS, 'the second C-ECHO-RSP') as typeof rsp;
    assert.equal(rsp2.status.isSuccess, true);
    assert.deepEqual(order, ['write', 'onFinal', 'write', 'returned', 'first settled'], 'the second request written inside onFinal, before the first promise settled');
    assert.equal(echoes, 2);
    await client.release();
  } finally {
    await close();
  }
});

test('requestOne onFinal: not called when the request fails', async () => {
  const { port, close } = await startServer({ aeTitle: 'ECHO-SCP', handlers: {} });
  try {
    const client = await connect({ host: '127.0.0.1', port, presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: ['1.2.840.10008.1.2'] }] });
    const pc = client.association.findPresentationContext(VERIFICATION)!;
    let called = 0;
    await client.release();
    await assert.rejects(client.dimse.requestOne({ type: 'C-ECHO-RQ', affectedSopClassUid: VERIFICATION } as never, pc.id, null, { onFinal: () => void called++ }));
    assert.equal(called, 0);
  } finally {
    await close();
  }
});
