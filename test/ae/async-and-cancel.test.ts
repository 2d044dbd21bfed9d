/**
 * Component tests of DimseAssociation's request lifecycle, client and server in one process on
 * port 0: the asynchronous operations window (negotiated, filled, never exceeded), responses of
 * concurrent requests routed by Message ID Being Responded To, C-CANCEL when the caller leaves a
 * multi-response loop early (PS3.7 §9.3.2.3), the DIMSE timeout, and requests whose data set
 * source fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { connect, DIMSE_CHANNEL, type AssociationClient, type DimseTrace, type GenericRequest, type IncomingResponse } from '../../src/ae/index.js';
import { DicomError } from '../../src/core/dicom-error.js';
import { DataSet } from '../../src/data/data-set.js';
import { Priority, Status } from '../../src/dimse/index.js';
import {
  CT_IMAGE_STORAGE, EXPLICIT_LE, STUDY_ROOT_FIND, VERIFICATION, ctDataSet, dataSetBytesIn, deferred, nextEvent, parseIn, proposalsForCt, readAll,
  startServer, withTimeout, WAIT_MS,
} from './helpers.js';

/** DIMSE traces of the messages one connection sent and received, while the test runs. */
function traceMessages(t: { after(fn: () => void): void }): DimseTrace[] {
  const traces: DimseTrace[] = [];
  const onMessage = (m: unknown) => traces.push(m as DimseTrace);
  diagnosticsChannel.subscribe(DIMSE_CHANNEL, onMessage);
  t.after(() => diagnosticsChannel.unsubscribe(DIMSE_CHANNEL, onMessage));
  return traces;
}

const count = (traces: DimseTrace[], connectionId: string, direction: 'sent' | 'received', type: string) =>
  traces.filter((m) => m.connectionId === connectionId && m.direction === direction && m.type === type).length;

const findContexts = [{ abstractSyntax: STUDY_ROOT_FIND, transferSyntaxes: [EXPLICIT_LE] }, { abstractSyntax: VERIFICATION, transferSyntaxes: [EXPLICIT_LE] }];

function identifier(patientId: string): Uint8Array {
  const ds = new DataSet();
  ds.set(0x00080052, 'CS', 'STUDY');
  ds.set(0x00100020, 'LO', patientId);
  ds.set(0x0020000d, 'UI', '');
  return dataSetBytesIn(ds, EXPLICIT_LE);
}
const patientIdOf = (bytes: Uint8Array | null) => (bytes ? parseIn(bytes, EXPLICIT_LE).string(0x00100020) : undefined);

function find(client: AssociationClient, patientId: string): AsyncGenerator<IncomingResponse> {
  const pc = client.association.findPresentationContext(STUDY_ROOT_FIND)!;
  return client.dimse.request({ type: 'C-FIND-RQ', affectedSopClassUid: STUDY_ROOT_FIND, priority: Priority.MEDIUM } as never, pc.id, identifier(patientId));
}

/**
 * Stores `total` objects at once to an SCP whose handler holds each (after reading its data set)
 * until `window` handlers are in at the same time; returns the most seen at once and the C-STORE-RQs
 * the client had sent at that moment.
 */
async function fillWindow(t: { after(fn: () => void): void }, proposed: number | undefined, performed: number | undefined, expectedWindow: number, total: number) {
  const traces = traceMessages(t);
  let inFlight = 0;
  let most = 0;
  const allIn = deferred();
  const gate = deferred();
  const { port, close } = await startServer({
    aeTitle: 'ASYNC-SCP',
    ...(performed !== undefined ? { maxOperationsPerformed: performed } : {}),
    handlers: {
      async store(req) {
        await readAll(req.dataSet);
        most = Math.max(most, ++inFlight);
        if (inFlight === expectedWindow) allIn.resolve();
        await gate.promise;
        inFlight--;
      },
    },
  });
  try {
    const client = await connect({
      host: '127.0.0.1', port, presentationContexts: proposalsForCt(),
      ...(proposed !== undefined ? { asynchronousOperationsWindow: proposed } : {}),
    });
    const stores = Array.from({ length: total }, () => client.store({ dataSet: ctDataSet() }));
    await withTimeout(allIn.promise, WAIT_MS, `${expectedWindow} stores in the SCP's handler at once`);
    // The SCP answers nothing until the gate opens, so nothing beyond the window may have gone out.
    await new Promise(setImmediate);
    const sentWhenFull = count(traces, client.association.connectionId, 'sent', 'C-STORE-RQ');
    gate.resolve();
    const statuses = await withTimeout(Promise.all(stores), WAIT_MS, 'the stores to complete');
    assert.deepEqual(statuses.map((s) => s.code), statuses.map(() => Status.Success));
    const negotiated = client.association.accept.userInformation.asynchronousOperationsWindow;
    await client.release();
    return { most, sentWhenFull, negotiated };
  } finally {
    gate.resolve();
    await close();
  }
}

test('asynchronous operations window: 4 proposed, 4 performed: 4 stores in the handler at once, never more', async (t) => {
  const r = await fillWindow(t, 4, 4, 4, 7);
  assert.deepEqual(r.negotiated, { maximumNumberOperationsInvoked: 4, maximumNumberOperationsPerformed: 1 });
  assert.equal(r.sentWhenFull, 4, 'C-STORE-RQs sent while 4 were outstanding');
  assert.equal(r.most, 4);
});

test('asynchronous operations window: the smaller side holds (8 proposed, the SCP performs 3)', async (t) => {
  const r = await fillWindow(t, 8, 3, 3, 6);
  assert.deepEqual(r.negotiated, { maximumNumberOperationsInvoked: 3, maximumNumberOperationsPerformed: 1 });
  assert.equal(r.sentWhenFull, 3);
  assert.equal(r.most, 3);
});

test('asynchronous operations window: an SCP that offers none keeps the default of 1 (operations one at a time)', async (t) => {
  const r = await fillWindow(t, 4, undefined, 1, 3);
  assert.equal(r.negotiated, undefined, 'no window item in the A-ASSOCIATE-AC');
  assert.equal(r.sentWhenFull, 1);
  assert.equal(r.most, 1);
});

test('concurrent requests from several callers: each gets its own responses, routed by Message ID, answered out of order', async (t) => {
  const traces = traceMessages(t);
  const arrived: GenericRequest[] = [];
  const allArrived = deferred();
  const { port, close } = await startServer({
    aeTitle: 'QR-SCP', maxOperationsPerformed: 3, abstractSyntaxes: { [STUDY_ROOT_FIND]: [EXPLICIT_LE], [VERIFICATION]: [EXPLICIT_LE] },
    handlers: {
      async request(g) {
        arrived.push(g);
        if (arrived.length === 3) allArrived.resolve();
        await allArrived.promise;
        if (g !== arrived[0]) return; // the first one to arrive answers for all three, interleaved
        const ids = await Promise.all(arrived.map(async (r) => patientIdOf(await r.request.dataSet!.collect())!));
        const order = [2, 0, 1];
        for (const round of [1, 2]) {
          for (const i of order) await arrived[i]!.respond({ status: Status.Pending }, identifier(`${ids[i]}-${round}`));
        }
        for (const i of order.reverse()) await arrived[i]!.respond({ status: Status.Success });
      },
    },
  });
  try {
    const client = await connect({ host: '127.0.0.1', port, presentationContexts: findContexts, asynchronousOperationsWindow: 3 });
    const callers = ['ALPHA', 'BRAVO', 'CHARLIE'].map(async (patientId) => {
      const got: { id: number; status: number; patientId: string | undefined }[] = [];
      for await (const rsp of find(client, patientId)) got.push({ id: (rsp.message as { messageIdBeingRespondedTo: number }).messageIdBeingRespondedTo, status: rsp.status.code, patientId: patientIdOf(rsp.dataSet) });
      return { patientId, got };
    });
    const results = await withTimeout(Promise.all(callers), WAIT_MS, 'three concurrent C-FINDs');
    for (const { patientId, got } of results) {
      assert.deepEqual(got.map((g) => [g.status, g.patientId]), [[Status.Pending, `${patientId}-1`], [Status.Pending, `${patientId}-2`], [Status.Success, undefined]]);
      assert.equal(new Set(got.map((g) => g.id)).size, 1, 'all responses answer one Message ID');
    }
    assert.equal(new Set(results.map((r) => r.got[0]!.id)).size, 3, 'three distinct Message IDs');
    const received = traces.filter((m) => m.connectionId === client.association.connectionId && m.direction === 'received').map((m) => m.type);
    assert.equal(received.length, 9);
    // still usable, and nothing left outstanding
    assert.equal((await client.echo()).code, Status.Success);
    await client.release();
  } finally {
    await close();
  }
});

test('C-CANCEL: leaving the for-await loop after 3 Pending responses cancels the C-FIND; the SCP sees `cancelled` promptly; the association stays usable', async (t) => {
  const traces = traceMessages(t);
  const cancelSeen = deferred<{ at: number; reason: unknown }>();
  const handlerDone = deferred<number>();
  const { server, port, close } = await startServer({
    aeTitle: 'QR-SCP', abstractSyntaxes: { [STUDY_ROOT_FIND]: [EXPLICIT_LE], [VERIFICATION]: [EXPLICIT_LE] },
    handlers: {
      async request({ request, respond }) {
        const query = patientIdOf(await request.dataSet!.collect());
        request.cancelled.addEventListener('abort', () => cancelSeen.resolve({ at: performance.now(), reason: request.cancelled.reason }), { once: true });
        let n = 0;
        // Matches keep coming until the SCU cancels (PS3.4 C.4.1.2.3: then a Cancel response).
        while (!request.cancelled.aborted) {
          await respond({ status: Status.Pending }, identifier(`${query}-${++n}`));
          await new Promise(setImmediate);
        }
        await respond({ status: Status.Cancel });
        handlerDone.resolve(n);
      },
    },
  });
  const handlerErrors: unknown[] = [];
  server.on('handlerError', (e) => handlerErrors.push(e));
  try {
    const client = await connect({ host: '127.0.0.1', port, presentationContexts: findContexts });
    const got: IncomingResponse[] = [];
    for await (const rsp of find(client, 'ENDLESS')) {
      got.push(rsp);
      if (got.length === 3) break;
    }
    const leftAt = performance.now();
    assert.deepEqual(got.map((r) => [r.status.code, patientIdOf(r.dataSet)]), [1, 2, 3].map((i) => [Status.Pending, `ENDLESS-${i}`]));
    const seen = await withTimeout(cancelSeen.promise, WAIT_MS, 'the SCP to see the C-CANCEL-RQ');
    assert.ok(seen.at - leftAt < 1000, `the SCP saw the cancel ${Math.round(seen.at - leftAt)} ms after the loop was left`);
    assert.equal((seen.reason as DicomError).code, 'ERR_DICOM_DIMSE_CANCELLED');
    const pendingSent = await withTimeout(handlerDone.promise, WAIT_MS, 'the SCP handler to finish');
    assert.ok(pendingSent >= 3);
    // The window is 1: this echo goes out only once the Cancel response ended the C-FIND.
    assert.equal((await withTimeout(client.echo(), WAIT_MS, 'an echo after the cancel')).code, Status.Success);
    const clientId = client.association.connectionId;
    assert.equal(count(traces, clientId, 'sent', 'C-CANCEL-RQ'), 1);
    assert.equal(traces.filter((m) => m.direction === 'received' && m.type === 'C-CANCEL-RQ' && m.connectionId !== clientId).length, 1);
    assert.equal(count(traces, clientId, 'received', 'C-FIND-RSP'), pendingSent + 1, 'every response, the Cancel one included, was received (and the extra ones dropped)');
    assert.equal(traces.filter((m) => m.connectionId === clientId && m.type === 'C-FIND-RSP').at(-1)?.status, Status.Cancel);
    assert.deepEqual(handlerErrors, []);
    await client.release();
  } finally {
    await close();
  }
});

test('C-CANCEL before the SCP first asks for `cancelled`: the signal it then gets is already aborted, with the reason', async (t) => {
  const traces = traceMessages(t);
  const handlerDone = deferred<{ aborted: boolean; reason: unknown }>();
  const { port, close } = await startServer({
    aeTitle: 'QR-SCP', abstractSyntaxes: { [STUDY_ROOT_FIND]: [EXPLICIT_LE] },
    handlers: {
      async request({ request, respond }) {
        await request.dataSet!.collect();
        let n = 0;
        // Answers without looking at `cancelled` until the C-CANCEL-RQ has been received.
        while (!traces.some((m) => m.direction === 'received' && m.type === 'C-CANCEL-RQ')) {
          await respond({ status: Status.Pending }, identifier(`LATE-${++n}`));
          await new Promise(setImmediate);
        }
        handlerDone.resolve({ aborted: request.cancelled.aborted, reason: request.cancelled.reason });
        await respond({ status: Status.Cancel });
      },
    },
  });
  try {
    const client = await connect({ host: '127.0.0.1', port, presentationContexts: findContexts });
    let got = 0;
    for await (const rsp of find(client, 'LATE')) {
      assert.equal(rsp.status.code, Status.Pending);
      if (++got === 2) break;
    }
    const seen = await withTimeout(handlerDone.promise, WAIT_MS, 'the SCP handler to look at `cancelled`');
    assert.equal(seen.aborted, true);
    assert.equal((seen.reason as DicomError).code, 'ERR_DICOM_DIMSE_CANCELLED');
    await client.release();
  } finally {
    await close();
  }
});

test('leaving the loop at the final response sends no C-CANCEL', async (t) => {
  const traces = traceMessages(t);
  const { port, close } = await startServer({
    aeTitle: 'QR-SCP', abstractSyntaxes: { [STUDY_ROOT_FIND]: [EXPLICIT_LE] },
    handlers: {
      async request({ request, respond }) {
        await request.dataSet!.collect();
        await respond({ status: Status.Pending }, identifier('ONE'));
        await respond({ status: Status.Success });
      },
    },
  });
  try {
    const client = await connect({ host: '127.0.0.1', port, presentationContexts: findContexts });
    const statuses: number[] = [];
    for await (const rsp of find(client, 'Q')) statuses.push(rsp.status.code);
    assert.deepEqual(statuses, [Status.Pending, Status.Success]);
    const again = await client.dimse.requestOne({ type: 'C-FIND-RQ', affectedSopClassUid: STUDY_ROOT_FIND, priority: Priority.MEDIUM } as never, client.association.findPresentationContext(STUDY_ROOT_FIND)!.id, identifier('Q'));
    assert.equal(again.status.code, Status.Success);
    await client.release();
    assert.equal(traces.filter((m) => m.type === 'C-CANCEL-RQ').length, 0);
  } finally {
    await close();
  }
});

test('DIMSE timeout: an SCP that never answers makes the request reject with ERR_DICOM_ASSOCIATION_TIMEOUT within the configured time', async () => {
  const DIMSE_TIMEOUT = 300;
  const release = deferred<number>();
  let calls = 0;
  const { port, close } = await startServer({
    aeTitle: 'SILENT-SCP',
    handlers: { echo: () => (++calls === 1 ? release.promise : Status.Success) },
  });
  try {
    const client = await connect({ host: '127.0.0.1', port, dimseTimeout: DIMSE_TIMEOUT });
    const started = performance.now();
    await assert.rejects(client.echo(), (e: DicomError) => {
      assert.ok(e instanceof DicomError);
      assert.equal(e.code, 'ERR_DICOM_ASSOCIATION_TIMEOUT');
      assert.match(e.message, /300 ms/);
      return true;
    });
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= DIMSE_TIMEOUT - 5 && elapsed < DIMSE_TIMEOUT + 1000, `rejected after ${Math.round(elapsed)} ms`);
    // The timed-out request gave its slot back (window 1); its late answer (a Warning) is dropped,
    // not given to the next request.
    release.resolve(Status.Warning);
    assert.equal((await client.echo()).code, Status.Success);
    assert.equal((await client.echo()).code, Status.Success);
    await client.release();
  } finally {
    release.resolve(Status.Warning);
    await close();
  }
});

test('a data set source failing before anything is sent: the request rejects with its error, no C-CANCEL, the next request goes at once', async (t) => {
  const traces = traceMessages(t);
  const { port, close } = await startServer({ aeTitle: 'STORE-SCP', handlers: { store: async (r) => void (await readAll(r.dataSet)) } });
  try {
    // A long DIMSE timeout: a slot held by a phantom request would show up as a test timeout.
    const client = await connect({ host: '127.0.0.1', port, presentationContexts: [...proposalsForCt(), { abstractSyntax: VERIFICATION, transferSyntaxes: [EXPLICIT_LE] }], dimseTimeout: 60_000 });
    async function* unreadable(): AsyncGenerator<Uint8Array> {
      throw new Error('ENOENT: the source vanished');
    }
    const identity = { sopClassUid: CT_IMAGE_STORAGE, sopInstanceUid: '1.2.3.4', transferSyntaxUid: EXPLICIT_LE };
    await assert.rejects(client.store({ stream: unreadable(), ...identity }), /ENOENT/);
    await assert.rejects(client.store({ stream: new Uint8Array(101), ...identity }), (e: DicomError) => e.code === 'ERR_DICOM_DIMSE_ODD_LENGTH');
    assert.equal((await withTimeout(client.echo(), WAIT_MS, 'an echo after the failed stores')).code, Status.Success);
    assert.equal((await withTimeout(client.store({ dataSet: ctDataSet() }), WAIT_MS, 'a store after the failed ones')).code, Status.Success);
    assert.equal(traces.filter((m) => m.type === 'C-CANCEL-RQ').length, 0);
    await client.release();
  } finally {
    await close();
  }
});

test('a data set source failing halfway through the message: the association is aborted (the peer could not tell where the message ended)', async () => {
  const { server, port, close } = await startServer({ aeTitle: 'STORE-SCP', maxPduLength: 4096, handlers: { store: async (r) => void (await readAll(r.dataSet)) } });
  server.on('handlerError', () => undefined);
  try {
    const client = await connect({ host: '127.0.0.1', port, presentationContexts: proposalsForCt() });
    const aborted = nextEvent(server, 'aborted');
    async function* halfway(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(64 * 1024);
      throw new Error('EIO: read failed');
    }
    await assert.rejects(client.store({ stream: halfway(), sopClassUid: CT_IMAGE_STORAGE, sopInstanceUid: '1.2.3.5', transferSyntaxUid: EXPLICIT_LE }), /EIO/);
    await aborted;
    await withTimeout(client.association.closed, WAIT_MS, 'the association to close');
    await assert.rejects(client.echo(), DicomError);
  } finally {
    await close();
  }
});
