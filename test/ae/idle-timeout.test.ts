/**
 * The acceptor's idle timeout (AssociationTimeouts.idle, `conduit serve`'s idleTimeoutSeconds): an
 * association that waits for its peer and receives nothing for the idle time is aborted (A-ABORT,
 * then the connection closes), whether the peer stalls between requests, inside a PDU or inside a
 * C-STORE's data set; a slow sender that keeps sending, and a handler that takes its time, are not cut.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type DicomServer } from '../../src/ae/index.js';
import type { DicomError } from '../../src/core/dicom-error.js';
import { Status } from '../../src/dimse/status.js';
import { PduType } from '../../src/upper-layer/pdu/pdu-type.js';
import { encodeAAssociateRq } from '../../src/upper-layer/pdu/a-associate-rq.js';
import { sampleRq } from '../upper-layer/fixtures.js';
import { RawPeer } from '../upper-layer/wire-helpers.js';
import { CT_IMAGE_STORAGE, EXPLICIT_LE, WAIT_MS, ctDataSet, dataSetBytesIn, deferred, nextEvent, pixelDataHeader, proposalsForCt, readAll, startServer, withTimeout } from './helpers.js';

const IDLE_MS = 400;

function abortedEvent(server: DicomServer): Promise<[unknown, DicomError]> {
  return nextEvent<[unknown, DicomError]>(server, 'aborted', WAIT_MS + IDLE_MS);
}

/** A raw requestor with an established association (A-ASSOCIATE-AC read). */
async function associatedRawPeer(port: number): Promise<RawPeer> {
  const peer = await RawPeer.connect(port);
  peer.send(encodeAAssociateRq(sampleRq()));
  assert.equal((await peer.nextPdu()).type, PduType.AAssociateAc);
  return peer;
}

/** The peer sees an A-ABORT (source 0, service-user: PS3.8 Table 9-26), then the connection closes. */
async function assertAbortedByAcceptor(peer: RawPeer): Promise<void> {
  const pdu = await peer.nextPdu(WAIT_MS + IDLE_MS);
  assert.equal(pdu.type, PduType.AAbort);
  assert.equal(pdu.body[2], 0, 'A-ABORT source');
  await peer.waitClosed();
}

test('idle timeout: a peer that associates and then sends nothing is aborted, and its slot is free at once', async (t) => {
  const { server, port, close } = await startServer({
    aeTitle: 'SCP', maxAssociations: 1, timeouts: { idle: IDLE_MS, artim: IDLE_MS }, handlers: { store: () => Status.Success },
  });
  t.after(close);
  const aborted = abortedEvent(server);
  const peer = await associatedRawPeer(port);
  const started = performance.now();
  const pdu = await peer.nextPdu(WAIT_MS + IDLE_MS);
  assert.equal(pdu.type, PduType.AAbort);
  assert.equal(pdu.body[2], 0, 'A-ABORT source (0: service-user, PS3.8 Table 9-26)');
  assert.ok(performance.now() - started >= IDLE_MS * 0.9, 'aborted before the idle time');
  const [, error] = await aborted;
  assert.equal(error.code, 'ERR_DICOM_ASSOCIATION_TIMEOUT');
  assert.match(error.message, /nothing received from the peer for 400 ms/);
  // The stalled peer does not close its side: its slot of maxAssociations (1) is free all the same.
  assert.equal(peer.closedYet, false);
  const next = await connect({ host: '127.0.0.1', port, presentationContexts: proposalsForCt() });
  await next.release();
  // ARTIM (PS3.8 §9.1.5, Sta13) closes the connection the peer left open.
  await peer.waitClosed(WAIT_MS + IDLE_MS);
});

test('idle timeout: a peer that stalls inside a PDU is aborted', async (t) => {
  const { server, port, close } = await startServer({ aeTitle: 'SCP', timeouts: { idle: IDLE_MS, artim: IDLE_MS }, handlers: { store: () => Status.Success } });
  t.after(close);
  const aborted = abortedEvent(server);
  const peer = await associatedRawPeer(port);
  // A P-DATA-TF header announcing 1000 bytes, and 10 of them.
  const head = Buffer.alloc(16);
  head[0] = PduType.PDataTf;
  head.writeUInt32BE(1000, 2);
  head.writeUInt32BE(994, 6); // one PDV item of the rest
  head[10] = 1; // presentation context 1 (Verification)
  head[11] = 0x03; // a command, its last fragment
  peer.send(head);
  await assertAbortedByAcceptor(peer);
  assert.equal((await aborted)[1].code, 'ERR_DICOM_ASSOCIATION_TIMEOUT');
});

/** A C-STORE data set: the Pixel Data of `chunks` x `chunkBytes` comes from `pace` before each chunk. */
function pacedStore(chunks: number, chunkBytes: number, pace: () => Promise<void>) {
  const ds = ctDataSet();
  ds.delete(0x7fe00010);
  const pixelHeader = pixelDataHeader(chunks * chunkBytes);
  async function* stream(): AsyncGenerator<Uint8Array> {
    yield dataSetBytesIn(ds, EXPLICIT_LE);
    yield pixelHeader;
    for (let i = 0; i < chunks; i++) {
      await pace();
      yield new Uint8Array(chunkBytes).fill(i & 0xff);
    }
  }
  return { stream: stream(), sopClassUid: CT_IMAGE_STORAGE, sopInstanceUid: ds.string('SOPInstanceUID')!, transferSyntaxUid: EXPLICIT_LE };
}

test('idle timeout: a C-STORE whose data set stalls is aborted, and the handler sees its data set fail', async (t) => {
  const handlerOutcome = deferred<string>();
  const { server, port, close } = await startServer({
    aeTitle: 'SCP', timeouts: { idle: IDLE_MS }, maxPduLength: 16 * 1024,
    handlers: {
      store: async (req) => {
        try {
          await readAll(req.dataSet);
          handlerOutcome.resolve('read to the end');
        } catch (err) {
          handlerOutcome.resolve(`failed: ${(err as DicomError).code}`);
          throw err;
        }
        return Status.Success;
      },
    },
  });
  t.after(close);
  const aborted = abortedEvent(server);
  const client = await connect({ host: '127.0.0.1', port, presentationContexts: proposalsForCt() });
  // Two chunks go, then the source yields nothing more until the server has given up on it.
  let sent = 0;
  const storing = client.store(pacedStore(4, 32 * 1024, () => (sent++ < 2 ? Promise.resolve() : aborted.then(() => undefined))));
  await assert.rejects(withTimeout(storing, WAIT_MS + IDLE_MS, 'the store'), { code: 'ERR_DICOM_ASSOCIATION_ABORTED' });
  assert.equal((await aborted)[1].code, 'ERR_DICOM_ASSOCIATION_TIMEOUT');
  assert.match(await withTimeout(handlerOutcome.promise, WAIT_MS, 'the handler'), /^failed: /);
});

test('idle timeout: a slow sender that keeps sending is not cut, however long the whole takes', async (t) => {
  const { port, close } = await startServer({
    aeTitle: 'SCP', timeouts: { idle: IDLE_MS }, maxPduLength: 16 * 1024,
    handlers: { store: async (req) => void await readAll(req.dataSet) },
  });
  t.after(close);
  const client = await connect({ host: '127.0.0.1', port, presentationContexts: proposalsForCt() });
  const started = performance.now();
  // A chunk (4 PDUs) every IDLE_MS / 8: about 3 idle times in all.
  const status = await withTimeout(client.store(pacedStore(24, 64 * 1024, () => sleep(IDLE_MS / 8))), WAIT_MS * 2, 'the slow store');
  assert.equal(status.code, Status.Success);
  assert.ok(performance.now() - started > IDLE_MS * 2, 'the store was not slower than the idle time: the test proves nothing');
  await client.release();
});

test('idle timeout: time spent performing the peer\'s request does not count', async (t) => {
  const { server, port, close } = await startServer({
    aeTitle: 'SCP', timeouts: { idle: IDLE_MS },
    handlers: {
      store: async (req) => {
        await readAll(req.dataSet);
        // A slow disk: the peer waits for the response, and owes nothing meanwhile.
        await sleep(IDLE_MS * 3);
        return Status.Success;
      },
    },
  });
  t.after(close);
  let abortedError: DicomError | undefined;
  server.on('aborted', (_info, e) => {
    abortedError = e;
  });
  const client = await connect({ host: '127.0.0.1', port, presentationContexts: proposalsForCt() });
  const status = await withTimeout(client.store({ dataSet: ctDataSet() }), WAIT_MS, 'the store');
  assert.equal(status.code, Status.Success);
  assert.equal(abortedError, undefined);
  await client.release();
});
