/**
 * Cutting messages into PDVs and P-DATA-TF PDUs (PS3.8 §9.3.5, Annex D.1, Annex E.1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DicomError } from '../../src/core/dicom-error.js';
import { encodeCommand } from '../../src/dimse/command.js';
import {
  DEFAULT_UNLIMITED_FRAGMENT_LENGTH, fragmentMessage, maxFragmentLength, sendMessage, type DataSetSource, type FragmentOptions,
} from '../../src/dimse/fragmenter.js';
import {
  messageControlHeader, parseMessageControlHeader, pDataTfVariableLength, type PresentationDataValue,
} from '../../src/dimse/presentation-data-value.js';
import { FULL_MESSAGES } from './fixtures.js';

async function batches(command: Uint8Array, dataSet: DataSetSource | null, options: FragmentOptions): Promise<PresentationDataValue[][]> {
  const out: PresentationDataValue[][] = [];
  for await (const b of fragmentMessage(command, dataSet, options)) out.push(b);
  return out;
}

function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Checks PS3.8 Annex E.1 and the peer's maximum on a message's PDUs; returns command and data set. */
function checkAndJoin(all: PresentationDataValue[][], options: FragmentOptions, expectData: boolean): { command: Uint8Array; data: Uint8Array | null } {
  const limit = options.maxPduLength === 0 ? (options.unlimitedFragmentLength ?? DEFAULT_UNLIMITED_FRAGMENT_LENGTH) + 6 : options.maxPduLength;
  const command: Uint8Array[] = [];
  const data: Uint8Array[] = [];
  let commandDone = false;
  let dataDone = false;
  let sawData = false;
  for (const pdus of all) {
    assert.ok(pdus.length >= 1 && pdus.length <= 2);
    assert.ok(pDataTfVariableLength(pdus) <= limit, `PDU of ${pDataTfVariableLength(pdus)} > ${limit}`);
    for (let i = 1; i < pdus.length; i++) assert.notEqual(pdus[i]!.isCommand, pdus[i - 1]!.isCommand, 'two PDVs of one kind in a PDU');
    for (const pdv of pdus) {
      assert.equal(pdv.presentationContextId, options.presentationContextId);
      assert.equal(pdv.data.length % 2, 0, 'odd fragment');
      if (pdv.isCommand) {
        assert.ok(!commandDone && pdv.data.length > 0);
        command.push(pdv.data);
        commandDone = pdv.isLast;
      } else {
        assert.ok(commandDone && !dataDone, 'data before the command ended, or after the data set ended');
        sawData = true;
        data.push(pdv.data);
        dataDone = pdv.isLast;
      }
    }
  }
  assert.ok(commandDone);
  assert.equal(sawData, expectData);
  if (expectData) assert.ok(dataDone);
  const joined = concat(data);
  if (expectData && joined.length > 0) assert.ok(data.every((d) => d.length > 0), 'empty PDV in a non-empty data set');
  return { command: concat(command), data: expectData ? joined : null };
}

const ECHO = encodeCommand(FULL_MESSAGES['C-ECHO-RQ']);
const STORE = encodeCommand(FULL_MESSAGES['C-STORE-RQ']);

test('the Message Control Header bits (PS3.8 Annex E.2)', () => {
  assert.equal(messageControlHeader(false, false), 0x00);
  assert.equal(messageControlHeader(true, false), 0x01);
  assert.equal(messageControlHeader(false, true), 0x02);
  assert.equal(messageControlHeader(true, true), 0x03);
  assert.deepEqual(parseMessageControlHeader(0xfd), { isCommand: true, isLast: false }); // bits 2-7 not checked
  assert.deepEqual(parseMessageControlHeader(0x02), { isCommand: false, isLast: true });
});

test('a small command alone goes out in one PDU; with a small data set, both share it', async () => {
  const options = { presentationContextId: 3, maxPduLength: 16384 };
  assert.deepEqual(await batches(ECHO, null, options), [[{ presentationContextId: 3, isCommand: true, isLast: true, data: ECHO }]]);
  const data = bytes(100);
  assert.deepEqual(await batches(STORE, data, options), [[
    { presentationContextId: 3, isCommand: true, isLast: true, data: STORE },
    { presentationContextId: 3, isCommand: false, isLast: true, data },
  ]]);
});

test('the maximum counts the variable field: each PDV costs 6 bytes beside its fragment', async () => {
  assert.equal(maxFragmentLength({ presentationContextId: 1, maxPduLength: 16384 }), 16378);
  assert.equal(maxFragmentLength({ presentationContextId: 1, maxPduLength: 16385 }), 16378);
  assert.equal(maxFragmentLength({ presentationContextId: 1, maxPduLength: 8 }), 2);
  assert.equal(maxFragmentLength({ presentationContextId: 1, maxPduLength: 0 }), DEFAULT_UNLIMITED_FRAGMENT_LENGTH);
  assert.equal(maxFragmentLength({ presentationContextId: 1, maxPduLength: 0, unlimitedFragmentLength: 4097 }), 4096);
  // A full PDU: one data PDV of 16378 bytes -> variable field of exactly 16384.
  const data = bytes(16378 * 3);
  const all = await batches(STORE, data, { presentationContextId: 1, maxPduLength: 16384 });
  assert.equal(all.length, 4);
  assert.equal(pDataTfVariableLength(all[0]!), 16384);
  assert.equal(all[0]![1]!.data.length, 16378 - STORE.length - 6);
  assert.deepEqual(all.slice(1, 3).map((b) => pDataTfVariableLength(b)), [16384, 16384]);
  assert.deepEqual(checkAndJoin(all, { presentationContextId: 1, maxPduLength: 16384 }, true), { command: STORE, data });
});

test('with a tiny maximum the command itself is cut, and the last command fragment shares a PDU only when data fits', async () => {
  const options = { presentationContextId: 5, maxPduLength: 20 };
  const data = bytes(40);
  const all = await batches(STORE, data, options);
  assert.deepEqual(checkAndJoin(all, options, true), { command: STORE, data });
  assert.equal(all.filter((b) => b[0]!.isCommand).length, Math.ceil(STORE.length / 14));
});

test('fragments of an in-memory data set are views of it, not copies', async () => {
  const data = bytes(100_000);
  const all = await batches(STORE, data, { presentationContextId: 1, maxPduLength: 4096 });
  let offset = 0;
  for (const pdv of all.flat().filter((p) => !p.isCommand)) {
    assert.equal(pdv.data.buffer, data.buffer);
    assert.equal(pdv.data.byteOffset, offset);
    offset += pdv.data.length;
  }
  assert.equal(offset, data.length);
});

test('a streamed data set: chunks of any size, views where a fragment lies in one chunk', async () => {
  const data = bytes(50_001 + 1);
  const chunks: Uint8Array[] = [];
  for (let o = 0, k = 0; o < data.length; k++) {
    const n = [1, 7, 999, 4093, 12_345][k % 5]!;
    chunks.push(data.slice(o, o + n));
    o += n;
  }
  async function* source() {
    for (const c of chunks) yield c;
  }
  const options = { presentationContextId: 7, maxPduLength: 2048 };
  const all = await batches(STORE, source(), options);
  assert.deepEqual(checkAndJoin(all, options, true).data, data);
  const buffers = new Set(chunks.map((c) => c.buffer));
  const copies = all.flat().filter((p) => !p.isCommand && !buffers.has(p.data.buffer as ArrayBuffer)).length;
  assert.ok(copies <= chunks.length, `${copies} gathered fragments for ${chunks.length} chunks`);
  assert.ok(copies < all.length / 2);
});

test('the data set is pulled only as PDUs are taken: bounded memory whatever its size', async () => {
  const chunk = bytes(65536);
  let pulled = 0;
  const total = 4096; // 256 MiB, never held: the same chunk is yielded again and again
  async function* huge() {
    for (let i = 0; i < total; i++) {
      pulled++;
      yield chunk;
    }
  }
  const options = { presentationContextId: 1, maxPduLength: 16384 };
  let sent = 0;
  let maxAhead = 0;
  for await (const pdus of fragmentMessage(STORE, huge(), options)) {
    for (const p of pdus) if (!p.isCommand) sent += p.data.length;
    maxAhead = Math.max(maxAhead, pulled * chunk.length - sent);
    assert.ok(pDataTfVariableLength(pdus) <= 16384);
  }
  assert.equal(sent, total * chunk.length);
  assert.ok(maxAhead <= 2 * chunk.length, `read ${maxAhead} bytes ahead of the PDUs taken`);
});

test('sendMessage sends one PDU at a time, waiting for each', async () => {
  const data = bytes(10_000);
  const sent: PresentationDataValue[][] = [];
  let inFlight = 0;
  await sendMessage(async (pdvs) => {
    inFlight++;
    assert.equal(inFlight, 1);
    await new Promise((r) => setImmediate(r));
    sent.push(pdvs);
    inFlight--;
  }, STORE, data, { presentationContextId: 9, maxPduLength: 1000 });
  assert.deepEqual(checkAndJoin(sent, { presentationContextId: 9, maxPduLength: 1000 }, true), { command: STORE, data });
});

test('a failed send stops the message and closes the data set source', async () => {
  let closed = false;
  async function* source() {
    try {
      for (let i = 0; i < 100; i++) yield bytes(1000);
    } finally {
      closed = true;
    }
  }
  let calls = 0;
  await assert.rejects(sendMessage(async () => {
    if (++calls === 3) throw new Error('socket closed');
  }, STORE, source(), { presentationContextId: 1, maxPduLength: 1000 }), /socket closed/);
  assert.equal(closed, true);
});

test('an empty data set is one empty last data PDV; a synchronous iterable is a source too', async () => {
  const options = { presentationContextId: 1, maxPduLength: 16384 };
  for (const empty of [new Uint8Array(0), [], [new Uint8Array(0), new Uint8Array(0)]]) {
    const all = await batches(STORE, empty, options);
    assert.deepEqual(all, [[{ presentationContextId: 1, isCommand: true, isLast: true, data: STORE }, { presentationContextId: 1, isCommand: false, isLast: true, data: new Uint8Array(0) }]]);
  }
  const all = await batches(STORE, [bytes(3), bytes(5)], options);
  assert.deepEqual(checkAndJoin(all, options, true).data, concat([bytes(3), bytes(5)]));
});

test('odd lengths and impossible options are refused', async () => {
  const odd = (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_DIMSE_ODD_LENGTH';
  const invalid = (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_INVALID_ARGUMENT';
  const options = { presentationContextId: 1, maxPduLength: 16384 };
  await assert.rejects(batches(STORE, bytes(101), options), odd);
  await assert.rejects(batches(STORE, [bytes(50), bytes(51)], options), odd);
  await assert.rejects(batches(STORE.subarray(1), null, options), odd);
  await assert.rejects(batches(new Uint8Array(0), null, options), odd);
  for (const presentationContextId of [0, 2, 256, 1.5]) await assert.rejects(batches(ECHO, null, { presentationContextId, maxPduLength: 0 }), invalid);
  for (const maxPduLength of [7, 1, -1, 1.5, 2 ** 32]) await assert.rejects(batches(ECHO, null, { presentationContextId: 1, maxPduLength }), invalid);
  await assert.rejects(batches(ECHO, null, { presentationContextId: 1, maxPduLength: 0, unlimitedFragmentLength: 1 }), invalid);
  await assert.rejects(batches(STORE, ['text' as unknown as Uint8Array], options), invalid);
});

test('property: any command, data set, chunking and maximum -> PDUs within the maximum that join back to the input', async () => {
  await fc.assert(fc.asyncProperty(
    fc.integer({ min: 1, max: 300 }).map((n) => bytes(n * 2, 7)),
    fc.option(fc.integer({ min: 0, max: 12_000 }).map((n) => bytes(n * 2, 3)), { nil: null }),
    fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 10 }),
    fc.oneof(fc.constant(0), fc.integer({ min: 8, max: 300 }), fc.integer({ min: 300, max: 70_000 })),
    fc.integer({ min: 0, max: 127 }).map((n) => n * 2 + 1),
    async (command, data, sizes, maxPduLength, presentationContextId) => {
      const options = { presentationContextId, maxPduLength, unlimitedFragmentLength: 5000 };
      let source: DataSetSource | null = data;
      if (data && sizes.length > 1) {
        const chunks: Uint8Array[] = [];
        for (let o = 0, k = 0; o < data.length; k++) {
          chunks.push(data.subarray(o, o + sizes[k % sizes.length]!));
          o += sizes[k % sizes.length]!;
        }
        source = (async function* () {
          yield* chunks;
        })();
      }
      const all = await batches(command, source, options);
      const joined = checkAndJoin(all, options, data !== null);
      assert.deepEqual(joined.command, command);
      if (data) assert.deepEqual(joined.data, data);
    },
  ), { numRuns: 250 });
});
