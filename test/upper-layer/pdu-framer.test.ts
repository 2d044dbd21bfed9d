/** The framer: every split of the byte stream gives the same PDUs; limits and garbage are refused early. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AbortReason, PduError, PduFramer, PduType, decodePdu, encodePdu, encodeAAssociateRq } from '../../src/upper-layer/index.js';
import type { PDataTf, Pdu, PresentationDataValue } from '../../src/upper-layer/index.js';
import { concat, fullRq, pdv } from './fixtures.js';

const STREAM: Pdu[] = [
  fullRq(),
  { type: PduType.PDataTf, presentationDataValues: [pdv(1, [1, 2, 3, 4]), pdv(3, new Uint8Array(300).fill(5), false, true)] },
  { type: PduType.PDataTf, presentationDataValues: [pdv(1, [])] },
  { type: PduType.AReleaseRq },
  { type: PduType.AReleaseRp },
  { type: PduType.AAbort, source: 2, reason: 6 },
];
const BYTES = concat(...STREAM.map(encodePdu));

function frameAll(chunks: Uint8Array[], maxPduLength = 1 << 20): Array<{ type: number; body: number[] }> {
  const framer = new PduFramer({ maxPduLength });
  const out: Array<{ type: number; body: number[] }> = [];
  for (const c of chunks) framer.push(c, (type, body) => out.push({ type, body: Array.from(body) }));
  assert.equal(framer.buffered, 0);
  return out;
}

const EXPECTED = frameAll([BYTES]);

test('one chunk: every PDU, in order', () => {
  assert.deepEqual(EXPECTED.map((p) => p.type), [1, 4, 4, 5, 6, 7]);
  assert.deepEqual(EXPECTED[0]!.body, Array.from(encodeAAssociateRq(fullRq()).subarray(6)));
});

test('split at every byte offset into two chunks', () => {
  for (let i = 0; i <= BYTES.length; i++) {
    assert.deepEqual(frameAll([BYTES.subarray(0, i), BYTES.subarray(i)]), EXPECTED, `split at ${i}`);
  }
});

test('split at every pair of offsets into three chunks (around the headers)', () => {
  // All pairs would be quadratic in the stream; the headers are where the state changes, so pair
  // every offset with every offset within 12 bytes after it.
  for (let i = 0; i <= BYTES.length; i++) {
    for (let j = i; j <= Math.min(BYTES.length, i + 12); j++) {
      assert.deepEqual(frameAll([BYTES.subarray(0, i), BYTES.subarray(i, j), BYTES.subarray(j)]), EXPECTED, `split at ${i}, ${j}`);
    }
  }
});

test('one byte at a time', () => {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < BYTES.length; i++) chunks.push(BYTES.subarray(i, i + 1));
  assert.deepEqual(frameAll(chunks), EXPECTED);
});

test('arbitrary chunkings (fast-check)', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: BYTES.length }), { maxLength: 30 }), (cuts) => {
    const points = [0, ...cuts.sort((a, b) => a - b), BYTES.length];
    const chunks = points.slice(1).map((p, k) => BYTES.subarray(points[k]!, p));
    assert.deepEqual(frameAll(chunks), EXPECTED);
  }), { numRuns: 300 });
});

test('a PDU within one chunk is a view of it (zero copy); one spread over chunks is gathered', () => {
  const framer = new PduFramer({ maxPduLength: 1 << 20 });
  const bodies: Uint8Array[] = [];
  framer.push(BYTES, (_t, body) => bodies.push(body));
  for (const b of bodies) assert.equal(b.buffer, BYTES.buffer);
  const p = encodePdu(STREAM[1]!);
  const split: Uint8Array[] = [];
  framer.push(p.subarray(0, 10), (_t, b) => split.push(b));
  framer.push(p.subarray(10), (_t, b) => split.push(b));
  assert.equal(split.length, 1);
  assert.notEqual(split[0]!.buffer, p.buffer);
  assert.deepEqual(Array.from(split[0]!), Array.from(p.subarray(6)));
});

function expectFramerError(chunks: Uint8Array[], reason: number, maxPduLength = 1 << 20): { error: PduError; delivered: number[] } {
  const framer = new PduFramer({ maxPduLength, maxAssociatePduLength: 4096 });
  const delivered: number[] = [];
  let error: PduError | undefined;
  for (const c of chunks) {
    try {
      framer.push(c, (type) => delivered.push(type));
    } catch (e) {
      assert.ok(e instanceof PduError);
      error = e;
    }
  }
  assert.ok(error !== undefined, 'expected a framing error');
  assert.equal(error.abortReason, reason);
  assert.ok(framer.isFailed);
  return { error, delivered };
}

test('an unknown PDU type is refused at its first byte, after the PDUs before it were delivered', () => {
  const http = new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n');
  const { error, delivered } = expectFramerError([concat(encodePdu({ type: PduType.AReleaseRq }), http)], AbortReason.UnrecognizedPdu);
  assert.deepEqual(delivered, [5]);
  assert.equal(error.code, 'ERR_DICOM_PDU_UNRECOGNIZED');
  expectFramerError([Uint8Array.of(0x00)], AbortReason.UnrecognizedPdu);
  expectFramerError([Uint8Array.of(0x08, 0, 0, 0, 0, 4)], AbortReason.UnrecognizedPdu);
});

test('a P-DATA-TF longer than the announced maximum is refused from its header (reason 6, ERR_DICOM_PDU_TOO_LARGE)', () => {
  const big = encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(1, new Uint8Array(1000))] });
  const { error } = expectFramerError([big.subarray(0, 6)], AbortReason.InvalidPduParameterValue, 1000);
  assert.equal(error.code, 'ERR_DICOM_PDU_TOO_LARGE');
  // exactly at the limit is fine
  assert.equal(frameAll([big], 1006).length, 1);
});

test('an A-ASSOCIATE-RQ over the associate limit, and fixed-size PDUs of another length, are refused from their header', () => {
  expectFramerError([Uint8Array.of(1, 0, 0, 0, 0x10, 0x01)], AbortReason.InvalidPduParameterValue);
  expectFramerError([Uint8Array.of(5, 0, 0, 0, 0, 5)], AbortReason.InvalidPduParameterValue);
  expectFramerError([Uint8Array.of(7, 0, 0xff, 0xff, 0xff, 0xff)], AbortReason.InvalidPduParameterValue);
});

test('after an error, input is dropped', () => {
  const framer = new PduFramer({ maxPduLength: 100 });
  assert.throws(() => framer.push(Uint8Array.of(9), () => undefined));
  let n = 0;
  framer.push(encodePdu({ type: PduType.AReleaseRq }), () => n++);
  assert.equal(n, 0);
});

// ---- streamed P-DATA-TF (the onPData handler) ----

const PDATA_STREAM: Pdu[] = [
  { type: PduType.PDataTf, presentationDataValues: [pdv(1, new Uint8Array(40).fill(1), true, false), pdv(1, [2, 3], true, true)] },
  { type: PduType.PDataTf, presentationDataValues: [pdv(1, new Uint8Array(300).map((_, i) => i & 0xff), false, false), pdv(1, [], false, false), pdv(1, [9, 9, 9], false, false)] },
  { type: PduType.AReleaseRq },
  { type: PduType.PDataTf, presentationDataValues: [pdv(3, new Uint8Array(77).fill(7), false, true), pdv(5, [4], true, true), pdv(5, [], false, true)] },
];
const PDATA_BYTES = concat(...PDATA_STREAM.map(encodePdu));

interface Segment { pdu?: number; id?: number; command?: boolean; last?: boolean; data?: number[] }

/**
 * What DIMSE sees: PDUs other than P-DATA-TF by type, and PDV fragments with consecutive pieces of
 * one item run merged (PDV and PDU boundaries carry no meaning above the framer; isLast does).
 */
function streamed(chunks: Uint8Array[], stream: boolean): Segment[] {
  const framer = new PduFramer({ maxPduLength: 1 << 20 });
  const out: Segment[] = [];
  const add = (p: PresentationDataValue): void => {
    const prev = out[out.length - 1];
    if (prev?.data !== undefined && !prev.last && prev.id === p.presentationContextId && prev.command === p.isCommand) {
      prev.data.push(...p.data);
      prev.last = p.isLast;
    } else {
      out.push({ id: p.presentationContextId, command: p.isCommand, last: p.isLast, data: Array.from(p.data) });
    }
  };
  const onPdu = (type: number, body: Uint8Array): void => {
    if (type === PduType.PDataTf) for (const p of (decodePdu(type, body) as PDataTf).presentationDataValues) add(p);
    else out.push({ pdu: type });
  };
  for (const c of chunks) framer.push(c, onPdu, stream ? (pieces) => pieces.forEach(add) : undefined);
  assert.equal(framer.buffered, 0);
  assert.equal(framer.streaming, false);
  return out;
}

const PDATA_EXPECTED = streamed([PDATA_BYTES], false);

test('streamed P-DATA-TF: split at every byte offset, the same fragments, commands and last flags as gathered', () => {
  assert.equal(PDATA_EXPECTED.length, 6);
  for (let i = 0; i <= PDATA_BYTES.length; i++) {
    assert.deepEqual(streamed([PDATA_BYTES.subarray(0, i), PDATA_BYTES.subarray(i)], true), PDATA_EXPECTED, `split at ${i}`);
  }
  const bytes: Uint8Array[] = [];
  for (let i = 0; i < PDATA_BYTES.length; i++) bytes.push(PDATA_BYTES.subarray(i, i + 1));
  assert.deepEqual(streamed(bytes, true), PDATA_EXPECTED, 'one byte at a time');
});

test('streamed P-DATA-TF: arbitrary chunkings (fast-check)', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: PDATA_BYTES.length }), { maxLength: 40 }), (cuts) => {
    const points = [0, ...cuts.sort((a, b) => a - b), PDATA_BYTES.length];
    assert.deepEqual(streamed(points.slice(1).map((p, k) => PDATA_BYTES.subarray(points[k]!, p)), true), PDATA_EXPECTED);
  }), { numRuns: 300 });
});

test('streamed P-DATA-TF: pieces are views of the chunks, handed on before the PDU is complete', () => {
  const framer = new PduFramer({ maxPduLength: 1 << 20 });
  const pdu = encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(1, new Uint8Array(1000).fill(3), false, true)] });
  const first = pdu.slice(0, 500);
  const got: PresentationDataValue[][] = [];
  framer.push(first, () => assert.fail('not gathered'), (pieces) => got.push(pieces));
  assert.equal(got.length, 1, 'the first bytes are handed on at once');
  assert.equal(got[0]![0]!.data.buffer, first.buffer, 'a view, not a copy');
  assert.equal(got[0]![0]!.data.length, 500 - 12);
  assert.equal(got[0]![0]!.isLast, false);
  assert.ok(framer.streaming);
  framer.push(pdu.slice(500), () => assert.fail('not gathered'), (pieces) => got.push(pieces));
  assert.equal(got[1]![0]!.isLast, true);
  assert.equal(framer.streaming, false);
});

test('streamed P-DATA-TF: an item-length that does not fit, or a tail too short for an item, is refused as when gathered', () => {
  const good = encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(1, new Uint8Array(20), false, true)] });
  const badLength = good.slice();
  badLength[9] = 200; // item-length low byte: 22 -> 200, past the PDU's end
  const shortTail = concat(Uint8Array.of(4, 0, 0, 0, 0, 26 + 3), good.subarray(6), Uint8Array.of(0, 0, 0));
  for (const bytes of [badLength, shortTail]) {
    let gathered: unknown;
    try {
      decodePdu(PduType.PDataTf, bytes.subarray(6));
    } catch (e) {
      gathered = e;
    }
    assert.ok(gathered instanceof PduError);
    for (const at of [6, 8, 12, 20]) { // after the PDU header, before the end of its body: streamed
      const framer = new PduFramer({ maxPduLength: 1 << 20 });
      const error = (() => {
        try {
          framer.push(bytes.subarray(0, at), () => undefined, () => undefined);
          framer.push(bytes.subarray(at), () => undefined, () => undefined);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      assert.ok(error instanceof PduError, `split at ${at}`);
      assert.equal(error.abortReason, AbortReason.InvalidPduParameterValue);
      assert.equal(error.message, gathered.message, `split at ${at}: the same report as the gathered decode`);
      assert.ok(framer.isFailed);
    }
  }
});
