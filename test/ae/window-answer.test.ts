/**
 * The asynchronous operations window an SCU uses is the one it proposed, narrowed by the acceptor's
 * answer (PS3.7 D.3.3.3, 0 = unlimited), never wider: an acceptor answering more than proposed (here
 * 0, unlimited, to a proposal of 2) does not let more requests out than the caller asked for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/ae/index.js';
import { PduType, decodeAAssociateRq, encodePdu } from '../../src/upper-layer/index.js';
import { VERIFICATION, IMPLICIT_LE, sampleAc } from '../upper-layer/fixtures.js';
import { RawServer } from '../upper-layer/wire-helpers.js';

test('an acceptor answering a wider window than proposed: the SCU keeps to the window it proposed', async (t) => {
  const server = await RawServer.listen();
  const connecting = connect({
    host: '127.0.0.1', port: server.port, presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }], asynchronousOperationsWindow: 2,
  });
  const peer = await server.nextConnection();
  t.after(async () => {
    peer.destroy();
    await server.close();
  });
  const rqPdu = await peer.nextPdu();
  assert.equal(rqPdu.type, PduType.AAssociateRq);
  const rq = decodeAAssociateRq(rqPdu.body);
  assert.deepEqual(rq.userInformation.asynchronousOperationsWindow, { maximumNumberOperationsInvoked: 2, maximumNumberOperationsPerformed: 1 });
  const ac = sampleAc(rq);
  ac.userInformation.asynchronousOperationsWindow = { maximumNumberOperationsInvoked: 0, maximumNumberOperationsPerformed: 0 };
  peer.send(encodePdu(ac));
  const client = await connecting;
  // Four C-ECHOs at once: the window lets two out; the others wait for a response that never comes.
  const echoes = Array.from({ length: 4 }, () => client.echo().catch(() => undefined));
  assert.equal((await peer.nextPdu()).type, PduType.PDataTf);
  assert.equal((await peer.nextPdu()).type, PduType.PDataTf);
  // Requests past the window would have been written in the same turn of the event loop as the
  // first two (one process, loopback), so read with them.
  await new Promise((r) => setImmediate(r));
  assert.equal(peer.pending, 0, `${peer.pending} more requests sent past the window of 2`);
  client.association.abort();
  await Promise.all(echoes);
});
