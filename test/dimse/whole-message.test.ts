/**
 * A message whose data set is in memory, cut at once (fragmentWholeMessage) and sent in one write
 * (sendMessage with a group sender): the same PDUs as the streaming path (fragmentMessage) for any
 * command, data set and maximum PDU length, with the last-fragment bit on the last PDV of the
 * command and of the data set only (PS3.8 Annex E.2); an odd data set refused before anything is
 * sent; a WholeDataSetSource sent whole, or streamed when it cannot give its bytes in one piece.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DicomError } from '../../src/core/dicom-error.js';
import { encodeCommand } from '../../src/dimse/command.js';
import {
  fragmentMessage, fragmentWholeMessage, MAX_GROUP_BYTES, sendMessage, type DataSetSource, type FragmentOptions, type WholeDataSetSource,
} from '../../src/dimse/fragmenter.js';
import type { PresentationDataValue } from '../../src/dimse/presentation-data-value.js';
import { FULL_MESSAGES } from './fixtures.js';

const STORE = encodeCommand(FULL_MESSAGES['C-STORE-RQ']);

function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

type Pdu = Array<{ presentationContextId: number; isCommand: boolean; isLast: boolean; data: number[] }>;
const snapshot = (pdvs: PresentationDataValue[]): Pdu => pdvs.map((p) => ({ presentationContextId: p.presentationContextId, isCommand: p.isCommand, isLast: p.isLast, data: Array.from(p.data) }));

/** The streaming path's PDUs, the data set given in chunks of `chunk` bytes. */
async function streamed(command: Uint8Array, data: Uint8Array | null, options: FragmentOptions, chunk: number): Promise<Pdu[]> {
  let source: DataSetSource | null = data;
  if (data !== null) {
    source = (async function* () {
      for (let at = 0; at < data.length; at += chunk) yield data.subarray(at, at + chunk);
      if (data.length === 0) yield data;
    })();
  }
  const out: Pdu[] = [];
  for await (const pdvs of fragmentMessage(command, source, options)) out.push(snapshot(pdvs));
  return out;
}

test('property: fragmentWholeMessage gives the PDUs fragmentMessage gives, for any command, data set, chunking and maximum', async () => {
  await fc.assert(fc.asyncProperty(
    fc.integer({ min: 1, max: 300 }).map((n) => bytes(n * 2, 7)),
    fc.option(fc.integer({ min: 0, max: 30_000 }).map((n) => bytes(n * 2, 3)), { nil: null }),
    fc.oneof(fc.constant(0), fc.integer({ min: 8, max: 300 }), fc.integer({ min: 300, max: 70_000 }), fc.constantFrom(16384, 65536)),
    fc.integer({ min: 1, max: 20_000 }),
    fc.integer({ min: 0, max: 127 }).map((n) => n * 2 + 1),
    async (command, data, maxPduLength, chunk, presentationContextId) => {
      const options = { presentationContextId, maxPduLength, unlimitedFragmentLength: 5000 };
      const whole = fragmentWholeMessage(command, data, options).map(snapshot);
      assert.deepEqual(whole, await streamed(command, data, options, chunk));
    },
  ), { numRuns: 300 });
});

test('the last-fragment bit: only on the last command PDV and on the last data PDV, which ends the last PDU', () => {
  for (const maxPduLength of [16384, 1000, 64, 0]) {
    for (const length of [0, 2, 16_000, 16_372, 16_378, 100_000, 526_080]) {
      const pdus = fragmentWholeMessage(STORE, bytes(length), { presentationContextId: 5, maxPduLength, unlimitedFragmentLength: 4096 });
      const pdvs = pdus.flat();
      const lastCommand = pdvs.filter((p) => p.isCommand && p.isLast);
      const lastData = pdvs.filter((p) => !p.isCommand && p.isLast);
      assert.equal(lastCommand.length, 1, `one last command fragment (${maxPduLength}, ${length})`);
      assert.equal(lastData.length, 1, `one last data fragment (${maxPduLength}, ${length})`);
      assert.equal(pdvs.at(-1), lastData[0], 'the last data fragment ends the message');
      const commandEnd = pdvs.indexOf(lastCommand[0]!);
      assert.ok(pdvs.slice(commandEnd + 1).every((p) => !p.isCommand), 'no command fragment after the last one');
      assert.equal(pdvs.filter((p) => !p.isCommand).reduce((n, p) => n + p.data.length, 0), length);
    }
  }
  const noData = fragmentWholeMessage(STORE, null, { presentationContextId: 1, maxPduLength: 16384 }).flat();
  assert.deepEqual(noData.map((p) => [p.isCommand, p.isLast]), [[true, true]]);
});

test('an odd in-memory data set is refused before any PDU is sent', async () => {
  const odd = (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_DIMSE_ODD_LENGTH';
  assert.throws(() => fragmentWholeMessage(STORE, bytes(101), { presentationContextId: 1, maxPduLength: 16384 }), odd);
  let sent = 0;
  const count = async (): Promise<void> => void sent++;
  await assert.rejects(sendMessage(count, STORE, bytes(40_001), { presentationContextId: 1, maxPduLength: 16384 }, count), odd);
  assert.equal(sent, 0, 'nothing sent');
});

test('sendMessage with a group sender: an in-memory message of 33 PDUs goes out in one group, the PDUs of the streaming path', async () => {
  const data = bytes(526_080);
  const options = { presentationContextId: 3, maxPduLength: 16384 };
  const groups: Pdu[][] = [];
  const single: Pdu[] = [];
  await sendMessage(async (pdvs) => void single.push(snapshot(pdvs)), STORE, data, options, async (pdus) => void groups.push(pdus.map(snapshot)));
  assert.equal(single.length, 0);
  assert.equal(groups.length, 1, 'one write');
  assert.equal(groups[0]!.length, 33);
  assert.deepEqual(groups[0], await streamed(STORE, data, options, 65536));
});

test('a large in-memory message goes out in groups of about MAX_GROUP_BYTES, in order', async () => {
  const data = bytes(3 * MAX_GROUP_BYTES + 1000);
  const options = { presentationContextId: 1, maxPduLength: 16384 };
  const all: Pdu[] = [];
  const sizes: number[] = [];
  await sendMessage(async (pdvs) => void all.push(snapshot(pdvs)), STORE, data, options, async (pdus) => {
    sizes.push(pdus.reduce((n, pdvs) => n + pdvs.reduce((m, p) => m + 6 + p.data.length, 0), 0));
    for (const pdvs of pdus) all.push(snapshot(pdvs));
  });
  assert.ok(sizes.length >= 3 && sizes.length <= 4, `groups ${sizes.join(', ')}`);
  assert.ok(sizes.every((n) => n <= MAX_GROUP_BYTES + 16384));
  assert.deepEqual(all, await streamed(STORE, data, options, 100_000));
});

/** A WholeDataSetSource over `data` that gives it whole or not, and counts what was asked. */
function wholeSource(data: Uint8Array, giveWhole: boolean): WholeDataSetSource & { asked: { whole: number; chunks: number } } {
  const asked = { whole: 0, chunks: 0 };
  return {
    asked,
    async whole() {
      asked.whole++;
      return giveWhole ? data : undefined;
    },
    async *[Symbol.asyncIterator]() {
      for (let at = 0; at < data.length; at += 10_000) {
        asked.chunks++;
        yield data.subarray(at, at + 10_000);
      }
    },
  };
}

test('a WholeDataSetSource: sent whole when it gives its bytes (no chunk pulled), streamed when it cannot', async () => {
  const data = bytes(100_000);
  const options = { presentationContextId: 1, maxPduLength: 16384 };
  const expected = await streamed(STORE, data, options, 4096);
  for (const giveWhole of [true, false]) {
    const source = wholeSource(data, giveWhole);
    const writes: Pdu[][] = [];
    await sendMessage(async (pdvs) => void writes.push([snapshot(pdvs)]), STORE, source, options, async (pdus) => void writes.push(pdus.map(snapshot)));
    assert.deepEqual(writes.flat(), expected, giveWhole ? 'whole' : 'streamed');
    assert.equal(source.asked.whole, 1);
    if (giveWhole) {
      assert.equal(source.asked.chunks, 0, 'no chunk pulled');
      assert.equal(writes.length, 1, 'one write');
    } else {
      assert.equal(source.asked.chunks, 10);
    }
  }
});
