/**
 * Reassembling PDVs into messages with streamed data sets (PS3.8 Annex E.1): round trips through
 * the fragmenter, back-pressure, and the errors that call for an A-ABORT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DicomError } from '../../src/core/dicom-error.js';
import { MessageAssembler, type IncomingMessage, type MessageAssemblerOptions } from '../../src/dimse/assembler.js';
import { decodeCommandSet, encodeCommand } from '../../src/dimse/command.js';
import { CommandTag, Priority } from '../../src/dimse/command-elements.js';
import { DataSetStream } from '../../src/dimse/data-set-stream.js';
import { DimseProtocolError } from '../../src/dimse/dimse-protocol-error.js';
import { fragmentMessage } from '../../src/dimse/fragmenter.js';
import type { DimseMessage } from '../../src/dimse/messages.js';
import type { PresentationDataValue } from '../../src/dimse/presentation-data-value.js';
import { commandBytes, element, FULL_MESSAGES, text, us } from './fixtures.js';

function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + seed) & 0xff;
  return b;
}

interface Harness {
  assembler: MessageAssembler;
  messages: IncomingMessage[];
  rejected: Array<{ error: DimseProtocolError; presentationContextId: number }>;
}

function harness(options: Partial<MessageAssemblerOptions> = {}): Harness {
  const messages: IncomingMessage[] = [];
  const rejected: Harness['rejected'] = [];
  const assembler = new MessageAssembler({
    onMessage: (m) => messages.push(m),
    onRejected: (error, presentationContextId) => rejected.push({ error, presentationContextId }),
    ...options,
  });
  return { assembler, messages, rejected };
}

const cmd = (data: Uint8Array, isLast = true, presentationContextId = 1): PresentationDataValue => ({ presentationContextId, isCommand: true, isLast, data });
const dat = (data: Uint8Array, isLast = true, presentationContextId = 1): PresentationDataValue => ({ presentationContextId, isCommand: false, isLast, data });

const STORE = encodeCommand(FULL_MESSAGES['C-STORE-RQ']);
const ECHO = encodeCommand(FULL_MESSAGES['C-ECHO-RQ']);

function protocolError(fn: () => unknown, code: string, abort: { source: number; reason: number }): DimseProtocolError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof DimseProtocolError, String(e));
    assert.equal(e.code, code);
    assert.deepEqual(e.answer, { kind: 'abort', abort });
    return e;
  }
  assert.fail('no error');
}

test('a command without data set is emitted when its last fragment arrives', () => {
  const h = harness();
  assert.equal(h.assembler.push([cmd(ECHO.subarray(0, 10), false)]), true);
  assert.equal(h.messages.length, 0);
  assert.equal(h.assembler.idle, false);
  h.assembler.push([cmd(ECHO.subarray(10))]);
  assert.equal(h.messages.length, 1);
  const m = h.messages[0]!;
  assert.deepEqual(m.command, { ...FULL_MESSAGES['C-ECHO-RQ'], commandDataSetType: 0x0101 });
  assert.equal(m.dataSet, null);
  assert.equal(m.presentationContextId, 1);
  assert.equal(m.commandSet.number(CommandTag.MessageID), 5);
  assert.equal(h.assembler.idle, true);
});

test('the data set is handed over as a stream before it has arrived, and flows in as PDVs come', async () => {
  const h = harness();
  const part1 = bytes(1000, 1);
  const part2 = bytes(500, 2);
  h.assembler.push([cmd(STORE), dat(part1, false)]);
  assert.equal(h.messages.length, 1);
  const stream = h.messages[0]!.dataSet!;
  assert.ok(stream instanceof DataSetStream);
  assert.equal(stream.complete, false);
  const reader = stream[Symbol.asyncIterator]();
  assert.deepEqual(await reader.next(), { value: part1, done: false });
  const pending = reader.next();
  h.assembler.push([dat(part2)]);
  assert.deepEqual(await pending, { value: part2, done: false });
  assert.deepEqual(await reader.next(), { value: undefined, done: true });
  assert.equal(stream.complete, true);
  assert.equal(stream.received, 1500);
  assert.equal(h.assembler.idle, true);
});

test('back-pressure: push() asks to pause above the high-water mark; drained() waits for the consumer', async () => {
  const h = harness({ highWaterMark: 1000 });
  h.assembler.push([cmd(STORE)]);
  const stream = h.messages[0]!.dataSet!;
  assert.equal(h.assembler.push([dat(bytes(400), false)]), true);
  assert.equal(h.assembler.push([dat(bytes(400), false)]), true);
  assert.equal(h.assembler.push([dat(bytes(400), false)]), false);
  assert.equal(h.assembler.buffered, 1200);
  let drained = false;
  const wait = h.assembler.drained().then(() => {
    drained = true;
  });
  const reader = stream[Symbol.asyncIterator]();
  await reader.next();
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, false, 'still 800 buffered, above half the mark');
  await reader.next();
  await wait;
  assert.equal(h.assembler.buffered, 400);
  assert.equal(await h.assembler.drained(), undefined, 'resolves at once below the mark');
});

test('back-pressure end to end: a slow consumer holds the reader, memory stays under the mark plus one PDU', async () => {
  const highWaterMark = 64 * 1024;
  const h = harness({ highWaterMark });
  const data = bytes(2_000_000);
  let maxBuffered = 0;
  let received = 0;
  let pauses = 0;
  const consumer = (async () => {
    while (h.messages.length === 0) await new Promise((r) => setImmediate(r));
    for await (const chunk of h.messages[0]!.dataSet!) {
      received += chunk.length;
      await new Promise((r) => setImmediate(r));
    }
  })();
  for await (const pdus of fragmentMessage(STORE, data, { presentationContextId: 1, maxPduLength: 16384 })) {
    if (!h.assembler.push(pdus)) {
      pauses++;
      await h.assembler.drained();
    }
    maxBuffered = Math.max(maxBuffered, h.assembler.buffered);
  }
  await consumer;
  assert.equal(received, data.length);
  assert.ok(pauses > 0);
  assert.ok(maxBuffered < highWaterMark + 16384, `buffered ${maxBuffered}`);
});

test('discard(): buffered bytes are released and what follows is dropped', async () => {
  const h = harness({ highWaterMark: 100 });
  h.assembler.push([cmd(STORE), dat(bytes(200), false)]);
  assert.equal(h.assembler.buffered, 200);
  h.messages[0]!.dataSet!.discard();
  assert.equal(h.assembler.buffered, 0);
  assert.equal(h.assembler.push([dat(bytes(200), false)]), true);
  assert.equal(h.assembler.push([dat(bytes(200))]), true);
  assert.equal(h.assembler.buffered, 0);
  h.assembler.push([cmd(ECHO)]);
  assert.equal(h.messages.length, 2);
  assert.deepEqual(await h.messages[0]!.dataSet!.collect(), new Uint8Array(0));
});

test('breaking out of for-await discards the rest; a data set can be read only once', async () => {
  const h = harness();
  h.assembler.push([cmd(STORE), dat(bytes(10), false)]);
  const stream = h.messages[0]!.dataSet!;
  for await (const chunk of stream) {
    assert.equal(chunk.length, 10);
    break;
  }
  h.assembler.push([dat(bytes(10))]);
  assert.equal(h.assembler.buffered, 0);
  assert.throws(() => stream[Symbol.asyncIterator](), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_INVALID_ARGUMENT');
});

test('PDVs of several messages in one PDU, and empty PDVs, are taken in (receivers must, PS3.8 Annex E.1)', async () => {
  const h = harness();
  const data = bytes(64);
  h.assembler.push([cmd(ECHO), cmd(STORE.subarray(0, 20), false), cmd(new Uint8Array(0), false), cmd(STORE.subarray(20)), dat(data.subarray(0, 32), false), dat(new Uint8Array(0), false), dat(data.subarray(32), false), dat(new Uint8Array(0))]);
  assert.deepEqual(h.messages.map((m) => m.command.type), ['C-ECHO-RQ', 'C-STORE-RQ']);
  assert.deepEqual(await h.messages[1]!.dataSet!.collect(), data);
});

test('a data fragment with no command before it, or before the command\'s last fragment: A-ABORT (unexpected PDU parameter)', () => {
  let h = harness();
  protocolError(() => h.assembler.push([dat(bytes(4))]), 'ERR_DICOM_DIMSE_UNEXPECTED_PDV', { source: 2, reason: 5 });
  h = harness();
  const e = protocolError(() => h.assembler.push([cmd(STORE.subarray(0, 20), false), dat(bytes(4))]), 'ERR_DICOM_DIMSE_UNEXPECTED_PDV', { source: 2, reason: 5 });
  assert.match(e.message, /before the last fragment of the command/);
  // The assembler stays failed.
  assert.throws(() => h.assembler.push([cmd(ECHO)]), (x: unknown) => x === e);
  // A command that said "no data set" followed by data.
  h = harness();
  protocolError(() => h.assembler.push([cmd(ECHO), dat(bytes(4))]), 'ERR_DICOM_DIMSE_UNEXPECTED_PDV', { source: 2, reason: 5 });
});

test('a command fragment inside a data set (the data set\'s last bit never came): A-ABORT, and the stream fails', async () => {
  const h = harness();
  h.assembler.push([cmd(STORE), dat(bytes(10), false)]);
  const stream = h.messages[0]!.dataSet!;
  const e = protocolError(() => h.assembler.push([cmd(ECHO)]), 'ERR_DICOM_DIMSE_UNEXPECTED_PDV', { source: 2, reason: 5 });
  await assert.rejects(stream.collect(), (x: unknown) => x === e);
  assert.equal(h.assembler.buffered, 0);
});

test('a presentation context that changes within a message: A-ABORT (invalid PDU parameter value)', () => {
  let h = harness();
  protocolError(() => h.assembler.push([cmd(STORE.subarray(0, 20), false, 1), cmd(STORE.subarray(20), true, 3)]), 'ERR_DICOM_DIMSE_CONTEXT_MISMATCH', { source: 2, reason: 6 });
  h = harness();
  protocolError(() => h.assembler.push([cmd(STORE, true, 1), dat(bytes(4), true, 3)]), 'ERR_DICOM_DIMSE_CONTEXT_MISMATCH', { source: 2, reason: 6 });
  h = harness({ isAcceptedPresentationContext: (id) => id === 1 });
  h.assembler.push([cmd(ECHO, true, 1)]);
  protocolError(() => h.assembler.push([cmd(ECHO, true, 5)]), 'ERR_DICOM_DIMSE_CONTEXT_MISMATCH', { source: 2, reason: 6 });
});

test('a command set that never ends, or cannot be read: A-ABORT', () => {
  let h = harness({ maxCommandLength: 1024 });
  h.assembler.push([cmd(bytes(1000), false)]);
  protocolError(() => h.assembler.push([cmd(bytes(100), false)]), 'ERR_DICOM_DIMSE_COMMAND_TOO_LONG', { source: 2, reason: 6 });
  h = harness();
  protocolError(() => h.assembler.push([cmd(ECHO.subarray(0, ECHO.length - 4))]), 'ERR_DICOM_DIMSE_BAD_COMMAND', { source: 2, reason: 6 });
  h = harness();
  protocolError(() => h.assembler.push([cmd(commandBytes(element(0, 0x0110, us(1))))]), 'ERR_DICOM_DIMSE_BAD_COMMAND', { source: 2, reason: 6 });
});

test('an unknown request is rejected with its response; its data set is dropped and the next message goes through', async () => {
  const h = harness();
  const unknown = commandBytes(element(0, 0x0002, text('1.2.3', 0)), element(0, 0x0100, us(0x0055)), element(0, 0x0110, us(12)), element(0, 0x0800, us(0x0001)));
  h.assembler.push([cmd(unknown, true, 3), dat(bytes(100), false, 3)]);
  h.assembler.push([dat(bytes(100), true, 3)]);
  assert.equal(h.messages.length, 0);
  assert.equal(h.rejected.length, 1);
  const { error, presentationContextId } = h.rejected[0]!;
  assert.equal(presentationContextId, 3);
  assert.equal(error.code, 'ERR_DICOM_DIMSE_UNKNOWN_COMMAND');
  assert.equal(error.answer.kind, 'response');
  if (error.answer.kind === 'response') assert.equal(decodeCommandSet(error.answer.command).number(CommandTag.CommandField), 0x8055);
  assert.equal(h.assembler.buffered, 0);
  h.assembler.push([cmd(ECHO)]);
  assert.equal(h.messages.length, 1);
});

test('close(): a data set still arriving fails with ERR_DICOM_DIMSE_DATA_SET_INCOMPLETE; a finished one stays readable', async () => {
  const h = harness();
  h.assembler.push([cmd(STORE), dat(bytes(10))]);
  h.assembler.push([cmd(STORE), dat(bytes(10), false)]);
  const cause = new Error('connection reset');
  h.assembler.close(cause);
  await assert.rejects(h.messages[1]!.dataSet!.collect(), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_DIMSE_DATA_SET_INCOMPLETE' && e.cause === cause);
  assert.deepEqual(await h.messages[0]!.dataSet!.collect(), bytes(10));
  assert.throws(() => h.assembler.push([cmd(ECHO)]), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_INVALID_ARGUMENT');
  await h.assembler.drained();
});

test('an exception from a callback comes out of push() after the whole PDU was taken in', async () => {
  const seen: string[] = [];
  const assembler = new MessageAssembler({
    onMessage: (m) => {
      seen.push(m.command.type);
      if (m.command.type === 'C-STORE-RQ') throw new Error('handler bug');
    },
    onRejected: () => {},
  });
  assert.throws(() => assembler.push([cmd(STORE), dat(bytes(8))]), /handler bug/);
  assert.equal(assembler.idle, true, 'the data PDV after the command was taken in');
  assembler.push([cmd(ECHO)]);
  assert.deepEqual(seen, ['C-STORE-RQ', 'C-ECHO-RQ']);
});

test('property: messages fragmented with any maximum and chunking are reassembled exactly', async () => {
  const uid = fc.array(fc.integer({ min: 1, max: 999_999 }), { minLength: 2, maxLength: 10 }).map((p) => p.join('.')).filter((s) => s.length <= 64);
  const message = fc.oneof(
    fc.record({ id: fc.integer({ min: 1, max: 65535 }), cls: uid, inst: uid }).map(({ id, cls, inst }): DimseMessage => ({ type: 'C-STORE-RQ', messageId: id, affectedSopClassUid: cls, affectedSopInstanceUid: inst, priority: Priority.MEDIUM })),
    fc.integer({ min: 1, max: 65535 }).map((id): DimseMessage => ({ type: 'C-FIND-RSP', messageIdBeingRespondedTo: id, status: 0xff00, commandDataSetType: 1 })),
    fc.integer({ min: 1, max: 65535 }).map((id): DimseMessage => ({ type: 'C-ECHO-RQ', messageId: id, affectedSopClassUid: '1.2.840.10008.1.1' })),
  );
  await fc.assert(fc.asyncProperty(
    fc.array(fc.record({ message, length: fc.integer({ min: 0, max: 8_000 }), chunk: fc.integer({ min: 1, max: 5000 }) }), { minLength: 1, maxLength: 4 }),
    fc.oneof(fc.constant(0), fc.integer({ min: 8, max: 200 }), fc.integer({ min: 200, max: 40_000 })),
    fc.integer({ min: 0, max: 127 }).map((n) => n * 2 + 1),
    async (items, maxPduLength, presentationContextId) => {
      const h = harness({ highWaterMark: 1 << 30 });
      const expected: Array<{ command: DimseMessage; data: Uint8Array | null }> = [];
      for (const { message: m, length, chunk } of items) {
        const data = m.type === 'C-ECHO-RQ' ? null : bytes(length * 2, length);
        const source = data && (async function* () {
          for (let o = 0; o < data.length; o += chunk) yield data.subarray(o, o + chunk);
        })();
        const command = encodeCommand(m);
        expected.push({ command: { ...m, commandDataSetType: m.commandDataSetType ?? (m.type === 'C-ECHO-RQ' ? 0x0101 : 1) }, data });
        for await (const pdus of fragmentMessage(command, source, { presentationContextId, maxPduLength, unlimitedFragmentLength: 3000 })) h.assembler.push(pdus);
      }
      assert.equal(h.assembler.idle, true);
      assert.equal(h.messages.length, items.length);
      for (let i = 0; i < items.length; i++) {
        const got = h.messages[i]!;
        assert.equal(got.presentationContextId, presentationContextId);
        assert.deepEqual(got.command, expected[i]!.command);
        if (expected[i]!.data === null) assert.equal(got.dataSet, null);
        else assert.deepEqual(await got.dataSet!.collect(), expected[i]!.data);
      }
    },
  ), { numRuns: 150 });
});
