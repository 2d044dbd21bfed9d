/**
 * The read-ahead of a retrieve's C-STORE sub-operations (server/dimse/context.ts), against a blob
 * store and an association that record what they are asked and answer when told: the next
 * C-STORE-RQ is sent before the Pending response of the one before, READ_AHEAD instances are read
 * while one is on the wire, no more than READ_AHEAD_BYTES of them, and streamed or transcoded ones
 * are not read ahead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DimseAssociation } from '../../src/ae/index.js';
import { READ_AHEAD, READ_AHEAD_BYTES, storeSubOperation } from '../../src/server/dimse/context.js';
import { performSubOperations, type RetrieveResponse } from '../../src/services/query-retrieve/retrieve.js';
import type { ArchiveStore } from '../../src/storage/index.js';
import type { BlobStore, StoredInstance } from '../../src/storage/ports.js';
import { deferred, type Deferred } from '../ae/helpers.js';

const CT = '1.2.840.10008.5.1.4.1.1.2';
const ELE = '1.2.840.10008.1.2.1';
const ILE = '1.2.840.10008.1.2';
const MIB = 1 << 20;

function instances(n: number, size: number): StoredInstance[] {
  return Array.from({ length: n }, (_, i) => ({
    sopInstanceUid: `1.9.${i}`, sopClassUid: CT, transferSyntaxUid: ELE, seriesInstanceUid: '1.2.3', studyInstanceUid: '1.2', blobKey: `k${i}`, size: size + 132, dataSetOffset: 132,
  }));
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A retrieve of `list` whose C-STORE-RSPs come when `answer()` is called; `log` says what happened, in order. */
function harness(list: StoredInstance[], contextSyntax = ELE, cancelled?: AbortSignal) {
  const log: string[] = [];
  const answers: Deferred<unknown>[] = [];
  const onFinals: Array<(() => void) | undefined> = [];
  const blobs = {
    readInto: (key: string, _position: number, target: Uint8Array) => {
      log.push(`read ${key}`);
      return Promise.resolve(target.length);
    },
    open: (key: string) => {
      log.push(`open ${key}`);
      return Promise.reject(new Error('not expected'));
    },
  } as unknown as BlobStore;
  const dimse = {
    requestOne: (message: { affectedSopInstanceUid: string }, _pc: number, _data: unknown, options: { onFinal?: () => void } = {}) => {
      log.push(`send ${message.affectedSopInstanceUid}`);
      const answer = deferred<unknown>();
      answers.push(answer);
      onFinals.push(options.onFinal);
      return answer.promise;
    },
  } as unknown as DimseAssociation;
  const store = storeSubOperation({ blobs } as ArchiveStore, {
    dimse, peerName: 'DEST', contextFor: () => ({ id: 1, abstractSyntax: CT, transferSyntax: contextSyntax }), ...(cancelled ? { cancelled } : {}),
  });
  const responses = performSubOperations(list, { store, prepare: store.prepare, readAhead: READ_AHEAD, ...(cancelled ? { cancelled } : {}) })[Symbol.asyncIterator]();
  return {
    log,
    /**
     * Answers the C-STORE under way with Success, as DimseAssociation does: onFinal (if given) in
     * the response's callback, then the promise.
     */
    answer: () => {
      const i = answers.length - 1;
      log.push(`rsp ${i}`);
      onFinals[i]?.();
      answers[i]!.resolve({ message: { status: 0 }, status: { description: '0000H Success' } });
    },
    next: async (): Promise<RetrieveResponse> => {
      const r = await responses.next();
      log.push(`${r.value!.status.toString(16)} ${r.value!.counts.remaining}`);
      return r.value!;
    },
  };
}

test('read-ahead: READ_AHEAD instances read while one is on the wire; the next C-STORE-RQ goes before the Pending response of the one before', async () => {
  assert.equal(READ_AHEAD, 2);
  const h = harness(instances(4, MIB / 2));
  const first = h.next();
  await nextTurn();
  await nextTurn();
  assert.deepEqual(h.log, ['read k0', 'send 1.9.0', 'read k1', 'read k2'], 'two read ahead while the first is on the wire');
  h.answer();
  await first;
  assert.deepEqual(h.log.slice(4), ['rsp 0', 'send 1.9.1', 'ff00 3'], 'the read-ahead instance sent before the Pending response, with no read in between');
  await nextTurn();
  assert.deepEqual(h.log.slice(7), ['read k3']);
  h.answer();
  await h.next();
  h.answer();
  await h.next();
  assert.deepEqual(h.log.slice(8), ['rsp 1', 'send 1.9.2', 'ff00 2', 'rsp 2', 'send 1.9.3', 'ff00 1']);
  h.answer();
  assert.equal((await h.next()).status, 0);
  assert.deepEqual(h.log.filter((l) => l.startsWith('read')), ['read k0', 'read k1', 'read k2', 'read k3'], 'each blob read once');
});

test('read-ahead: no more than READ_AHEAD_BYTES held ahead; nothing read ahead for a transcoded instance', async () => {
  const big = Math.floor(READ_AHEAD_BYTES / 2) + 2;
  const h = harness(instances(3, big));
  const first = h.next();
  await nextTurn();
  await nextTurn();
  assert.deepEqual(h.log, ['read k0', 'send 1.9.0', 'read k1'], 'the second one would pass READ_AHEAD_BYTES');
  h.answer();
  await first;
  await nextTurn();
  assert.deepEqual(h.log.slice(3), ['rsp 0', 'send 1.9.1', 'ff00 2', 'read k2'], 'read once the one before was taken');

  // Transcoded from Explicit to Implicit VR Little Endian: parsed from the blob at its turn (open()), not read ahead.
  const t = harness(instances(2, 100), ILE);
  await t.next();
  await t.next();
  assert.deepEqual(t.log, ['open k0', 'open k1', 'ff00 1', 'a702 0'], 'each opened at its turn (here failing), none read ahead');
});

test('read-ahead with the cancellation signal: the next C-STORE-RQ is sent in the C-STORE-RSP\'s callback, once; after C-CANCEL, none', async () => {
  const controller = new AbortController();
  const h = harness(instances(4, MIB / 2), ELE, controller.signal);
  const first = h.next();
  await nextTurn();
  await nextTurn();
  assert.deepEqual(h.log, ['read k0', 'send 1.9.0', 'read k1', 'read k2']);
  h.answer();
  assert.deepEqual(h.log.slice(4), ['rsp 0', 'send 1.9.1'], 'sent in the response\'s callback, before any promise settled');
  await first;
  assert.deepEqual(h.log.slice(6), ['ff00 3'], 'not sent a second time when performSubOperations begins it');
  await nextTurn();
  h.answer();
  assert.deepEqual(h.log.slice(7), ['read k3', 'rsp 1', 'send 1.9.2']);
  assert.equal((await h.next()).counts.remaining, 2);
  // C-CANCEL-RQ: the sub-operation under way ends, no other begins (PS3.4 C.4.3.3.1: Cancel with the rest as Remaining).
  controller.abort();
  h.answer();
  assert.deepEqual(h.log.slice(10), ['ff00 2', 'rsp 2'], 'nothing sent after the cancel');
  const final = await h.next();
  assert.equal(final.status, 0xfe00);
  assert.deepEqual(final.counts, { remaining: 1, completed: 3, failed: 0, warning: 0 });
  assert.equal(h.log.filter((l) => l.startsWith('send')).length, 3);
});

test('read-ahead with the cancellation signal: an instance not yet read is sent at its turn, as without it', async () => {
  const big = Math.floor(READ_AHEAD_BYTES / 2) + 2;
  const h = harness(instances(3, big), ELE, new AbortController().signal);
  const first = h.next();
  await nextTurn();
  await nextTurn();
  assert.deepEqual(h.log, ['read k0', 'send 1.9.0', 'read k1']);
  h.answer();
  assert.deepEqual(h.log.slice(3), ['rsp 0', 'send 1.9.1'], 'k1 read ahead: sent in the callback');
  await first;
  h.answer();
  assert.deepEqual(h.log.slice(5), ['ff00 2', 'rsp 1'], 'k2 not read yet (READ_AHEAD_BYTES): not sent in the callback');
  await h.next();
  await nextTurn();
  assert.deepEqual(h.log.slice(7), ['read k2', 'ff00 1', 'send 1.9.2'], 'read and sent at its turn');
  h.answer();
  assert.equal((await h.next()).status, 0);
});
