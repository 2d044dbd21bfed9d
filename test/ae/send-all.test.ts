/**
 * DimseAssociation.sendAll, client and server in one process on port 0: several messages with
 * in-memory data sets go out in order, each whole (multi-PDU ones too, at a small Maximum Length),
 * in a few grouped writes rather than one per message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type GenericRequest } from '../../src/ae/index.js';
import { DataSet } from '../../src/data/data-set.js';
import { MAX_GROUP_BYTES, Priority, Status, type DimseMessage } from '../../src/dimse/index.js';
import { EXPLICIT_LE, STUDY_ROOT_FIND, dataSetBytesIn, parseIn, startServer, withTimeout, WAIT_MS } from './helpers.js';

function identifier(patientId: string, padding = 0): Uint8Array {
  const ds = new DataSet();
  ds.set(0x00080052, 'CS', 'STUDY');
  ds.set(0x00100020, 'LO', patientId);
  if (padding > 0) ds.set(0x00104000, 'LT', 'x'.repeat(padding));
  return dataSetBytesIn(ds, EXPLICIT_LE);
}

async function run(count: number, padding: number, maxPduLength: number) {
  const calls = { group: 0, single: 0 };
  const { port, close } = await startServer({
    aeTitle: 'BATCH-SCP', abstractSyntaxes: { [STUDY_ROOT_FIND]: [EXPLICIT_LE] },
    handlers: {
      async request(g: GenericRequest) {
        await g.request.dataSet?.collect();
        const association = g.association.association;
        const group = association.sendPDataGroup.bind(association);
        const single = association.sendPData.bind(association);
        association.sendPDataGroup = (pdus) => { calls.group++; return group(pdus); };
        association.sendPData = (pdvs) => { calls.single++; return single(pdvs); };
        const base = { type: 'C-FIND-RSP', messageIdBeingRespondedTo: (g.request.message as { messageId: number }).messageId, affectedSopClassUid: STUDY_ROOT_FIND };
        const messages = Array.from({ length: count }, (_, i) => ({ message: { ...base, status: Status.Pending } as DimseMessage, dataSet: identifier(`P${i}`, padding) }));
        messages.push({ message: { ...base, status: Status.Success } as DimseMessage, dataSet: null as never });
        await g.dimse.sendAll(messages, g.request.presentationContext.id);
      },
    },
  });
  try {
    const client = await connect({ host: '127.0.0.1', port, maxPduLength, presentationContexts: [{ abstractSyntax: STUDY_ROOT_FIND, transferSyntaxes: [EXPLICIT_LE] }] });
    const pc = client.association.findPresentationContext(STUDY_ROOT_FIND)!;
    const got: Array<[number, string | undefined, number]> = [];
    await withTimeout((async () => {
      for await (const rsp of client.dimse.request({ type: 'C-FIND-RQ', affectedSopClassUid: STUDY_ROOT_FIND, priority: Priority.MEDIUM } as never, pc.id, identifier('*'))) {
        const ds = rsp.dataSet ? parseIn(rsp.dataSet, EXPLICIT_LE) : undefined;
        got.push([rsp.status.code, ds?.string(0x00100020), ds?.get(0x00104000)?.bytes.length ?? 0]);
      }
    })(), WAIT_MS, 'the responses');
    await client.release();
    return { got, calls };
  } finally {
    await close();
  }
}

test('sendAll: 300 small responses arrive whole and in order, in one grouped write', async () => {
  const { got, calls } = await run(300, 0, 16384);
  assert.equal(got.length, 301);
  got.slice(0, 300).forEach(([status, id], i) => assert.deepEqual([status, id], [Status.Pending, `P${i}`]));
  assert.deepEqual(got[300], [Status.Success, undefined, 0]);
  assert.deepEqual(calls, { group: 1, single: 0 });
});

test('sendAll: messages of several PDUs each (4 KiB Maximum Length), over MAX_GROUP_BYTES in all, arrive whole, in a few writes', async () => {
  const padding = 10_000;
  const count = Math.ceil((2.5 * MAX_GROUP_BYTES) / padding);
  const { got, calls } = await run(count, padding, 4096);
  assert.equal(got.length, count + 1);
  got.slice(0, count).forEach(([status, id, padded], i) => assert.deepEqual([status, id, padded], [Status.Pending, `P${i}`, padding]));
  assert.ok(calls.group + calls.single >= 3 && calls.group + calls.single <= 4, `${JSON.stringify(calls)}: one write per MAX_GROUP_BYTES`);
});
