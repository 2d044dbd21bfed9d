/**
 * sendMessage with a group sender (several PDUs in one transport write) over a data set source
 * that reuses its buffers (services/storage ReadBufferRing): the same PDUs as one by one, and no
 * PDU ever carries bytes of a buffer the source has refilled since.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeCommand } from '../../src/dimse/command.js';
import { MAX_GROUP_BYTES, sendMessage, type DataSetSource } from '../../src/dimse/fragmenter.js';
import type { PresentationDataValue } from '../../src/dimse/presentation-data-value.js';
import { ReadBufferRing } from '../../src/services/storage/file-source.js';
import { FULL_MESSAGES } from './fixtures.js';

const COMMAND = encodeCommand(FULL_MESSAGES['C-STORE-RQ']);

function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

type Pdu = Array<{ isCommand: boolean; isLast: boolean; data: number[] }>;
const snapshot = (pdvs: PresentationDataValue[]): Pdu => pdvs.map((p) => ({ isCommand: p.isCommand, isLast: p.isLast, data: Array.from(p.data) }));

/** PDU by PDU, each copied as it is sent: the reference. */
async function oneByOne(dataSet: DataSetSource, maxPduLength: number): Promise<Pdu[]> {
  const out: Pdu[] = [];
  await sendMessage(async (pdvs) => void out.push(snapshot(pdvs)), COMMAND, dataSet, { presentationContextId: 1, maxPduLength });
  return out;
}

/**
 * A source that reads `data` through a ReadBufferRing the way file-source does, and a "socket" that
 * copies what it was given only later (asynchronously, like a write the kernel did not take at
 * once): flushed() resolves once it has. A buffer refilled too early shows up as wrong bytes.
 */
async function grouped(data: Uint8Array, chunk: number, maxPduLength: number): Promise<{ pdus: Pdu[]; groups: number[] }> {
  const pending: PresentationDataValue[][] = [];
  const written: Pdu[] = [];
  const groups: number[] = [];
  let flushWaiters: Array<() => void> = [];
  const writeLater = (): void => {
    setImmediate(() => {
      for (const pdvs of pending.splice(0)) written.push(snapshot(pdvs));
      const w = flushWaiters;
      flushWaiters = [];
      for (const f of w) f();
    });
  };
  const flushed = (): Promise<void> => (pending.length === 0 ? Promise.resolve() : new Promise((r) => flushWaiters.push(r)));
  const ring = new ReadBufferRing(flushed, chunk, 2);
  async function* source(): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < data.length; at += chunk) {
      const buf = await ring.acquire();
      // Scribble over the buffer first: bytes still needed from its last use would be lost.
      buf.fill(0xee);
      const n = Math.min(chunk, data.length - at);
      buf.set(data.subarray(at, at + n));
      yield buf.subarray(0, n);
    }
  }
  const send = (pdvs: PresentationDataValue[]): Promise<void> => {
    groups.push(1);
    pending.push(pdvs);
    writeLater();
    return Promise.resolve();
  };
  await sendMessage(send, COMMAND, source(), { presentationContextId: 1, maxPduLength }, async (pdus) => {
    groups.push(pdus.length);
    pending.push(...pdus);
    writeLater();
  });
  await flushed();
  return { pdus: written, groups };
}

test('grouped sending through reused buffers: the same PDUs as one by one (chunks smaller, equal and larger than a fragment)', async () => {
  const data = bytes(100_000);
  for (const [chunk, maxPduLength] of [[4096, 16384], [100, 256], [16378, 16384], [1 << 16, 1024], [30, 1000]] as const) {
    const expected = await oneByOne(data, maxPduLength);
    const { pdus, groups } = await grouped(data, chunk, maxPduLength);
    assert.deepEqual(pdus, expected, `chunk ${chunk}, maximum ${maxPduLength}`);
    if (chunk > maxPduLength) assert.ok(groups.some((g) => g > 1), 'PDUs cut from one chunk leave together');
  }
});

test('property: any data set length, chunk size and maximum: grouped through two reused buffers equals one by one', async () => {
  await fc.assert(fc.asyncProperty(
    fc.integer({ min: 0, max: 20_000 }).map((n) => n * 2),
    fc.integer({ min: 1, max: 9000 }),
    fc.integer({ min: 8, max: 12_000 }),
    async (length, chunk, maxPduLength) => {
      const data = bytes(length, length);
      assert.deepEqual((await grouped(data, chunk, maxPduLength)).pdus, await oneByOne(data, maxPduLength));
    },
  ), { numRuns: 60 });
});

test('a group never exceeds MAX_GROUP_BYTES (a large in-memory data set goes out in bounded groups)', async () => {
  const data = new Uint8Array(5 * MAX_GROUP_BYTES);
  const sizes: number[] = [];
  await sendMessage(async () => undefined, COMMAND, data, { presentationContextId: 1, maxPduLength: 16384 }, async (pdus) => {
    let n = 0;
    for (const pdvs of pdus) for (const p of pdvs) n += 6 + p.data.length;
    sizes.push(n);
  });
  assert.ok(sizes.length >= 5);
  assert.ok(sizes.every((n) => n <= MAX_GROUP_BYTES + 16384), `group sizes ${sizes.join(', ')}`);
});
