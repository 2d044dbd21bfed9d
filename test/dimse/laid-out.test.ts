/**
 * Data sets read into slots (dimse/laid-out.ts) and the PDUs written around them in place
 * (upper-layer/pdu/p-data-tf.ts, encodeLaidOutPDataTf): the bytes on the wire are P-DATA-TF PDUs
 * that decode to the command and the data set, each PDU within the peer's maximum, every fragment
 * even, the same PDVs as laidOutPdvLists gives, for fragment lengths from 2 to larger than the buffer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { COMMAND_RESERVE, dataSetLayout, laidOutMessage, SlotBuffer } from '../../src/dimse/index.js';
import { decodePDataTf, encodeLaidOutPDataTf, encodePDataTf, laidOutPdvLists, SINGLE_PDV_HEADER_LENGTH } from '../../src/upper-layer/index.js';
import type { LaidOutPdvs } from '../../src/upper-layer/index.js';

/** What readv does: fills the slots in order with `source`'s bytes; returns the count. */
function readInto(slots: Uint8Array[], source: Uint8Array): number {
  let at = 0;
  for (const s of slots) {
    const n = Math.min(s.length, source.length - at);
    s.set(source.subarray(at, at + n));
    at += n;
    if (n < s.length) break;
  }
  return at;
}

const bytes = (n: number, seed: number): Uint8Array => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

/** Splits `wire` into P-DATA-TF PDUs (checking type and length against `max`) and decodes each. */
function decodeWire(wire: Uint8Array, max: number): { command: Uint8Array; dataSet: Uint8Array; pdus: number } {
  const command: Uint8Array[] = [];
  const dataSet: Uint8Array[] = [];
  let at = 0;
  let pdus = 0;
  let lastSeen = { command: false, data: false };
  while (at < wire.length) {
    assert.equal(wire[at], 0x04, `P-DATA-TF at ${at}`);
    const length = new DataView(wire.buffer, wire.byteOffset + at + 2, 4).getUint32(0);
    assert.ok(length <= max, `PDU-length ${length} within ${max}`);
    const pdu = decodePDataTf(wire.subarray(at + 6, at + 6 + length));
    for (const pdv of pdu.presentationDataValues) {
      assert.equal(pdv.presentationContextId, 7);
      assert.equal(pdv.data.length % 2, 0, 'even fragment');
      if (pdv.isCommand) {
        assert.ok(!lastSeen.command && dataSet.length === 0, 'command fragments first, once');
        command.push(pdv.data);
        lastSeen.command = pdv.isLast;
      } else {
        assert.ok(lastSeen.command && !lastSeen.data, 'data fragments after the whole command');
        dataSet.push(pdv.data);
        lastSeen.data = pdv.isLast;
      }
    }
    at += 6 + length;
    pdus++;
  }
  assert.ok(lastSeen.command && lastSeen.data, 'both ended by a last fragment');
  return { command: Buffer.concat(command), dataSet: Buffer.concat(dataSet), pdus };
}

test('a data set read into slots from its first byte (readWhole) and from a file\'s first byte (a head in front): the wire decodes to the command and the data set, every PDU within the maximum', () => {
  // Peer maxima: tiny, small odd, DCMTK's default, larger than the buffer.
  for (const maxPdu of [8, 255, 1001, 16384, 4 << 20]) {
    const layout = dataSetLayout(maxPdu);
    const F = layout.fragmentLength;
    for (const bufferSize of [4096, 1 << 16]) {
      for (const [head, firstSlot] of [[0, F], [132, F + 128], [350, F + 128], [4000, F + 128]] as const) {
        for (const length of [0, 2, 6, F - 2, F, F + 2, 3 * F, 3000, 20_000, 60_000]) {
          const slots = new SlotBuffer(new Uint8Array(bufferSize), layout);
          const file = bytes(head + length, length);
          const got = readInto(slots.slots(firstSlot), file);
          const laid = slots.laidOut(firstSlot, got, head);
          const capacity = slots.slots(firstSlot).reduce((n, s) => n + s.length, 0);
          if (got >= capacity) {
            assert.equal(laid, undefined, 'a full read is not known to be whole');
            continue;
          }
          if (head > got) continue;
          assert.ok(laid, `laid out: max ${maxPdu}, head ${head}, length ${length}`);
          assert.deepEqual(Buffer.concat([...laid.chunks()]), Buffer.from(file.subarray(head)), 'chunks() are the data set');
          const command = bytes(40, 1);
          const message = laidOutMessage(command, laid, 7, F);
          if (message === undefined) {
            // Only when the room in front is too small (a data set at the buffer's very front).
            assert.ok(laid.at - 2 * SINGLE_PDV_HEADER_LENGTH - command.length < 0 || command.length > F, 'refused only for want of room');
            continue;
          }
          const wire = encodeLaidOutPDataTf(message);
          const decoded = decodeWire(wire, F + 6);
          assert.deepEqual(Buffer.from(decoded.command), Buffer.from(command));
          assert.deepEqual(Buffer.from(decoded.dataSet), Buffer.from(file.subarray(head)));
          // The same bytes as the PDV lists encoded one PDU at a time.
          assert.deepEqual(Buffer.from(wire), Buffer.concat(laidOutPdvLists(message).map((pdvs) => encodePDataTf(pdvs))));
        }
      }
    }
  }
});

test('slots: at most 1,024 (a readv reads no more), the last cut short by the buffer; the reserve in front', () => {
  const layout = dataSetLayout(8); // 2-byte fragments
  const slots = new SlotBuffer(new Uint8Array(1 << 16), layout).slots(2);
  assert.equal(slots.length, 1024);
  assert.equal(slots[0]!.byteOffset, COMMAND_RESERVE);
  assert.equal(slots[1]!.byteOffset, COMMAND_RESERVE + 2 + SINGLE_PDV_HEADER_LENGTH);
  const wide = new SlotBuffer(new Uint8Array(50_000), dataSetLayout(16384)).slots(16378);
  assert.equal(wide.at(-1)!.byteOffset + wide.at(-1)!.length, 50_000, 'the last slot ends at the buffer\'s end');
  assert.ok(wide.every((s) => s.length <= 16378));
});

test('a data set starting at an odd offset in the read: not laid out (the slots would cut odd fragments), unless it ends in the first slot', () => {
  const layout = dataSetLayout(1001);
  const slots = new SlotBuffer(new Uint8Array(1 << 16), layout);
  const first = layout.fragmentLength + 128;
  const file = bytes(133 + 5000, 3);
  assert.equal(slots.laidOut(first, readInto(slots.slots(first), file), 133), undefined);
  const short = bytes(133 + 100, 3);
  assert.ok(slots.laidOut(first, readInto(slots.slots(first), short), 133), 'one fragment, the last: its parity is the data set\'s');
});

test('laid-out PDVs whose runs do not follow one another are refused, nothing written', () => {
  const buffer = new Uint8Array(200);
  const bad: LaidOutPdvs = {
    buffer, presentationContextId: 1, fragmentLength: 20,
    runs: [{ isCommand: true, at: 12, firstLength: 10, length: 10 }, { isCommand: false, at: 40, firstLength: 20, length: 30 }],
  };
  assert.throws(() => encodeLaidOutPDataTf(bad), { code: 'ERR_DICOM_INVALID_ARGUMENT' });
  assert.ok(buffer.every((b) => b === 0));
  const tooLong: LaidOutPdvs = { buffer, presentationContextId: 1, fragmentLength: 20, runs: [{ isCommand: true, at: 12, firstLength: 22, length: 22 }] };
  assert.throws(() => encodeLaidOutPDataTf(tooLong), { code: 'ERR_DICOM_INVALID_ARGUMENT' });
});

test('property: any fragment length, head and data set length give PDUs that decode to the command and data set', () => {
  fc.assert(fc.property(
    fc.integer({ min: 4, max: 3000 }).map((n) => n * 2 + 1), // odd peer maxima too
    fc.integer({ min: 0, max: 2000 }).map((n) => n * 2),
    fc.integer({ min: 0, max: 20_000 }).map((n) => n * 2),
    fc.boolean(),
    (maxPdu, head, length, fromFileStart) => {
      const layout = dataSetLayout(maxPdu);
      const F = layout.fragmentLength;
      const start = fromFileStart ? head + 128 : 0;
      const firstSlot = fromFileStart ? F + 128 : F;
      const slots = new SlotBuffer(new Uint8Array(32 * 1024), layout);
      const file = bytes(start + length, maxPdu);
      const got = readInto(slots.slots(firstSlot), file);
      const laid = slots.laidOut(firstSlot, got, start);
      if (laid === undefined) return;
      const message = laidOutMessage(bytes(20, 9), laid, 7, F);
      if (message === undefined) return;
      const decoded = decodeWire(encodeLaidOutPDataTf(message), F + 6);
      assert.deepEqual(Buffer.from(decoded.dataSet), Buffer.from(file.subarray(start)));
    },
  ), { numRuns: 300 });
});
