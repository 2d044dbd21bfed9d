/**
 * The pure parts of the Query/Retrieve SCP: extended negotiation answers (PS3.4 C.5), the retrieve
 * target of an Identifier (baseline and relational, C.4.2.2.1), the final status of a retrieve from
 * its sub-operations (C.4.2.3.1), the counts sent with each status (C.4.2.1.6), and the choice of
 * presentation context for a stored instance (transcoding among uncompressed syntaxes only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSet } from '../../src/data/data-set.js';
import { ServiceError } from '../../src/dimse/index.js';
import {
  agreedQueryOptions, agreedRelationalRetrieval, answerExtendedNegotiation,
} from '../../src/services/query-retrieve/extended-negotiation.js';
import { countFields, performSubOperations, retrieveTarget, type SubOperationOptions, type SubOperationResult } from '../../src/services/query-retrieve/retrieve.js';
import { contextForInstance, DataSetBuffers, IN_MEMORY_LIMIT, proposalsForInstances, storedDataSetBytes } from '../../src/services/query-retrieve/stored-data-set.js';
import { FilesystemBlobStore } from '../../src/storage/filesystem/filesystem-blob-store.js';
import { DicomError } from '../../src/core/dicom-error.js';
import { deferred } from '../ae/helpers.js';
import type { StoredInstance } from '../../src/storage/ports.js';

const FIND = '1.2.840.10008.5.1.4.1.2.1.1';
const MOVE = '1.2.840.10008.5.1.4.1.2.2.2';
const GET = '1.2.840.10008.5.1.4.1.2.1.3';
const CT = '1.2.840.10008.5.1.4.1.1.2';
const ELE = '1.2.840.10008.1.2.1';
const ILE = '1.2.840.10008.1.2';
const EBE = '1.2.840.10008.1.2.2';
const DEFLATED = '1.2.840.10008.1.2.1.99';
const JPEG = '1.2.840.10008.1.2.4.50';

test('extended negotiation: each offered sub-field echoed when supported, the answer no longer than the offer', () => {
  assert.deepEqual([...answerExtendedNegotiation(FIND, new Uint8Array([1, 1, 1, 1, 1]))!], [1, 1, 1, 1, 0]);
  assert.deepEqual([...answerExtendedNegotiation(FIND, new Uint8Array([1, 1, 1, 1, 1, 1, 1, 1]))!], [1, 1, 1, 1, 0, 1, 1], 'bytes 6 and 7: Empty and Multiple Value Matching');
  assert.deepEqual(agreedQueryOptions(new Uint8Array([0, 0, 0, 0, 0, 1, 0])).emptyValueMatching, true);
  assert.deepEqual(agreedQueryOptions(new Uint8Array([0, 0, 0, 0, 0, 0, 1])).multipleValueMatching, true);
  assert.deepEqual([...answerExtendedNegotiation(FIND, new Uint8Array([1]))!], [1], 'one byte offered, one byte answered (PS3.4 C.5.1.1)');
  assert.deepEqual([...answerExtendedNegotiation(FIND, new Uint8Array([0, 1, 0, 1]))!], [0, 1, 0, 1]);
  assert.deepEqual([...answerExtendedNegotiation(MOVE, new Uint8Array([1, 1]))!], [1, 0]);
  assert.deepEqual([...answerExtendedNegotiation(GET, new Uint8Array([1, 1, 1]))!], [1, 0], 'bytes past the table are not answered');
  assert.equal(answerExtendedNegotiation(CT, new Uint8Array([1])), undefined, 'not a Query/Retrieve SOP class');
  assert.deepEqual(agreedQueryOptions(new Uint8Array([1, 0, 1])), {
    relational: true, combinedDateTimeMatching: false, fuzzySemanticMatching: true, timezoneQueryAdjustment: false, enhancedMultiFrameImageConversion: false,
    emptyValueMatching: false, multipleValueMatching: false,
  });
  assert.deepEqual(agreedQueryOptions(undefined), {});
  assert.equal(agreedRelationalRetrieval(new Uint8Array([1, 0])), true);
  assert.equal(agreedRelationalRetrieval(undefined), false);
});

function identifier(level: string, keys: Record<number, string | string[]>): DataSet {
  const ds = new DataSet();
  ds.set(0x00080052, 'CS', level);
  for (const [tag, v] of Object.entries(keys)) ds.set(Number(tag), Number(tag) === 0x00100020 ? 'LO' : 'UI', v);
  return ds;
}

function refusal(fn: () => unknown): ServiceError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ServiceError);
    return err;
  }
  assert.fail('no ServiceError');
}

test('retrieve target: baseline needs one Unique Key value per level above; relational-retrieval does not', () => {
  const series = identifier('SERIES', { 0x0020000e: ['1.2.3', '1.2.4'] });
  const missing = refusal(() => retrieveTarget(series, 'PatientRoot'));
  assert.equal(missing.status, 0xa900);
  assert.deepEqual(missing.offendingElement, [0x00100020]);
  assert.deepEqual(retrieveTarget(series, 'PatientRoot', { relational: true }), { level: 'SERIES', uids: ['1.2.3', '1.2.4'], above: {} });
  const full = identifier('SERIES', { 0x00100020: 'P1', 0x0020000d: '1.2', 0x0020000e: '1.2.3' });
  assert.deepEqual(retrieveTarget(full, 'PatientRoot'), { level: 'SERIES', uids: ['1.2.3'], above: { PATIENT: 'P1', STUDY: '1.2' } });
  assert.deepEqual(retrieveTarget(identifier('STUDY', { 0x0020000d: ['1.2', '1.3'] }), 'StudyRoot').uids, ['1.2', '1.3']);
  assert.equal(refusal(() => retrieveTarget(identifier('PATIENT', { 0x00100020: ['A', 'B'] }), 'PatientRoot')).status, 0xa900, 'one Patient ID');
  assert.equal(refusal(() => retrieveTarget(identifier('PATIENT', { 0x00100020: 'A' }), 'StudyRoot')).status, 0xa900, 'no PATIENT level in Study Root');
  const noLevel = new DataSet();
  noLevel.set(0x0020000d, 'UI', '1.2');
  assert.equal(refusal(() => retrieveTarget(noLevel, 'StudyRoot')).errorComment, 'the Identifier has no Query/Retrieve Level (0008,0052) (PS3.4 C.4.2.1.4.1)',
    'said as C-FIND says it, not as a level named ""');
  assert.deepEqual(refusal(() => retrieveTarget(identifier('IMAGE', { 0x0020000d: '1.2', 0x0020000e: '1.2.3' }), 'StudyRoot')).offendingElement, [0x00080018]);
  assert.equal(refusal(() => retrieveTarget(identifier('SERIES', { 0x0020000d: ['1.2', '1.3'], 0x0020000e: '1.2.3' }), 'StudyRoot')).status, 0xa900,
    'a list above the level');
  const view = identifier('STUDY', { 0x0020000d: '1.2' });
  view.set(0x00080053, 'CS', 'CLASSIC');
  assert.deepEqual(refusal(() => retrieveTarget(view, 'StudyRoot')).offendingElement, [0x00080053], 'Query/Retrieve View without Enhanced Multi-Frame Image Conversion');
});

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

function instance(uid: string, transferSyntaxUid = ELE): StoredInstance {
  return { sopInstanceUid: uid, sopClassUid: CT, transferSyntaxUid, seriesInstanceUid: '1.2.3', studyInstanceUid: '1.2', blobKey: uid, size: 0, dataSetOffset: 0 };
}

async function outcome(statuses: number[], options: { cancelAfter?: number } = {}) {
  const instances = statuses.map((_, i) => instance(`1.9.${i}`));
  const cancel = new AbortController();
  let n = 0;
  const responses = [];
  for await (const r of performSubOperations(instances, {
    cancelled: cancel.signal,
    store: async (): Promise<SubOperationResult> => {
      const status = statuses[n++]!;
      if (n === options.cancelAfter) {
        // C-CANCEL arrives while this sub-operation is under way.
        await Promise.resolve();
        cancel.abort();
      }
      return { status, errorComment: `status ${status}` };
    },
  })) responses.push(r);
  return { responses, final: responses.at(-1)! };
}

test('retrieve outcome: Success, B000 with failures or warnings, A702 when all failed, FE00 on cancel (PS3.4 C.4.2.3.1)', async () => {
  const ok = await outcome([0, 0, 0]);
  assert.deepEqual(ok.responses.map((r) => r.status), [0xff00, 0xff00, 0x0000]);
  assert.equal(ok.final.identifier, null, 'no Failed SOP Instance UID List when nothing failed');
  assert.deepEqual(countFields(ok.responses[0]!), { numberOfRemainingSuboperations: 2, numberOfCompletedSuboperations: 1, numberOfFailedSuboperations: 0, numberOfWarningSuboperations: 0 });
  assert.deepEqual(countFields(ok.final), { numberOfCompletedSuboperations: 3, numberOfFailedSuboperations: 0, numberOfWarningSuboperations: 0 }, 'no Remaining in a final response');

  const some = await outcome([0, 0xa700, 0xb000]);
  assert.equal(some.final.status, 0xb000);
  assert.deepEqual(some.final.identifier!.strings(0x00080058), ['1.9.1']);
  assert.equal(some.final.errorComment, '1 of 3 failed: status 42752');
  assert.deepEqual(some.final.counts, { remaining: 0, completed: 1, failed: 1, warning: 1 });

  assert.equal((await outcome([0xb000, 0xb007])).final.status, 0xb000, 'all warnings: Warning');
  const none = await outcome([0xa700, 0xc000]);
  assert.equal(none.final.status, 0xa702, 'all failed: Refused');
  assert.deepEqual(none.final.identifier!.strings(0x00080058), ['1.9.0', '1.9.1']);

  const cancelled = await outcome([0, 0, 0, 0], { cancelAfter: 2 });
  assert.deepEqual(cancelled.responses.map((r) => r.status), [0xff00, 0xfe00]);
  assert.deepEqual(countFields(cancelled.final), { numberOfRemainingSuboperations: 2, numberOfCompletedSuboperations: 2, numberOfFailedSuboperations: 0, numberOfWarningSuboperations: 0 });

  assert.deepEqual((await outcome([])).responses.map((r) => r.status), [0x0000], 'nothing to retrieve: Success');
});

test('context for a stored instance: its own syntax, else an uncompressed one in the order ELE, ILE, EBE, Deflated; compressed only as stored', () => {
  const ctx = (id: number, transferSyntax: string, abstractSyntax = CT) => ({ id, abstractSyntax, transferSyntax });
  assert.equal((contextForInstance([ctx(1, ILE), ctx(3, EBE)], instance('1', EBE)) as { id: number }).id, 3);
  assert.equal((contextForInstance([ctx(1, DEFLATED), ctx(3, EBE), ctx(5, ILE)], instance('1', ELE)) as { id: number }).id, 5);
  assert.equal((contextForInstance([ctx(1, DEFLATED)], instance('1', EBE)) as { id: number }).id, 1);
  assert.deepEqual(contextForInstance([ctx(1, ELE), ctx(3, ILE)], instance('1', JPEG)), { reason: 'not accepted as JPEG Baseline (Process 1)' });
  assert.deepEqual(contextForInstance([ctx(1, ELE, '1.2.840.10008.5.1.4.1.1.4')], instance('1')), { reason: 'CT Image Storage not accepted' });
  assert.deepEqual(proposalsForInstances([instance('1', EBE), instance('2', JPEG), instance('3', DEFLATED)]), [
    { abstractSyntax: CT, transferSyntaxes: [EBE, DEFLATED, ELE, ILE] },
    { abstractSyntax: CT, transferSyntaxes: [JPEG] },
  ]);
});

test('sub-operations: each begins before the Pending response of the one before; the next instance is prepared right after; none after the last or once cancelled', async () => {
  const instances = ['1.9.0', '1.9.1', '1.9.2', '1.9.3'].map((u) => instance(u));
  const events: string[] = [];
  const cancel = new AbortController();
  const drain = async (options: Partial<SubOperationOptions>) => {
    for await (const r of performSubOperations(instances, {
      cancelled: cancel.signal,
      prepare: (i) => events.push(`prepare ${i.sopInstanceUid}`),
      // The C-STORE-RSP comes at a later turn of the event loop, as from the network.
      store: async (i): Promise<SubOperationResult> => {
        events.push(`store ${i.sopInstanceUid}`);
        await nextTurn();
        return { status: 0 };
      },
      ...options,
    })) events.push(`${r.status.toString(16)} ${r.counts.remaining}`);
  };
  await drain({});
  assert.deepEqual(events, [
    'store 1.9.0', 'prepare 1.9.1',
    'store 1.9.1', 'prepare 1.9.2', 'ff00 3',
    'store 1.9.2', 'prepare 1.9.3', 'ff00 2',
    'store 1.9.3', 'ff00 1',
    '0 0',
  ], 'the one under way counts as Remaining in the Pending response of the one before');

  events.length = 0;
  await drain({ readAhead: 2 });
  assert.deepEqual(events, [
    'store 1.9.0', 'prepare 1.9.1', 'prepare 1.9.2',
    'store 1.9.1', 'prepare 1.9.2', 'prepare 1.9.3', 'ff00 3',
    'store 1.9.2', 'prepare 1.9.3', 'ff00 2',
    'store 1.9.3', 'ff00 1',
    '0 0',
  ], 'readAhead 2: told of the next two, again while they are among the next two');

  events.length = 0;
  await drain({
    store: async (i): Promise<SubOperationResult> => {
      events.push(`store ${i.sopInstanceUid}`);
      await nextTurn();
      // C-CANCEL arrives while the second sub-operation is under way, the third being read ahead.
      if (i.sopInstanceUid === '1.9.1') cancel.abort();
      return { status: 0 };
    },
  });
  assert.deepEqual(events, ['store 1.9.0', 'prepare 1.9.1', 'store 1.9.1', 'prepare 1.9.2', 'ff00 3', 'fe00 2'],
    'nothing prepared or stored after C-CANCEL; the one read ahead is Remaining');
});

test('sub-operations: a store that throws is a failed sub-operation (0110H); a consumer leaving early waits for the one under way', async () => {
  const instances = ['1.9.0', '1.9.1', '1.9.2'].map((u) => instance(u));
  const responses = [];
  for await (const r of performSubOperations(instances, {
    store: (i) => {
      if (i.sopInstanceUid === '1.9.0') throw new Error('synchronous');
      if (i.sopInstanceUid === '1.9.1') return Promise.reject(new Error('asynchronous'));
      return Promise.resolve({ status: 0 });
    },
  })) responses.push(r);
  const final = responses.at(-1)!;
  assert.equal(final.status, 0xb000);
  assert.deepEqual(final.counts, { remaining: 0, completed: 1, failed: 2, warning: 0 });
  assert.deepEqual(final.identifier!.strings(0x00080058), ['1.9.0', '1.9.1']);
  assert.equal(final.errorComment, '2 of 3 failed: synchronous');

  const answer = deferred<SubOperationResult>();
  let returned = false;
  const left = (async () => {
    for await (const r of performSubOperations(instances, {
      store: (i) => (i.sopInstanceUid === '1.9.0' ? Promise.resolve({ status: 0 }) : answer.promise),
    })) if (r.status === 0xff00) break;
    returned = true;
  })();
  // The loop has broken after the first Pending response, with 1.9.1 under way.
  await new Promise((r) => setImmediate(r));
  assert.equal(returned, false, 'the loop does not end while a sub-operation is under way');
  answer.resolve({ status: 0 });
  await left;
  assert.equal(returned, true);
});

test('stored data set bytes: small ones in one reused buffer (readInto), evened for Deflated; the index and the blob disagreeing is an error', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'conduit-qr-bytes-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const blobs = new FilesystemBlobStore({ root, fsync: false });
  const file = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
  await blobs.put('k1', [file] as unknown as AsyncIterable<Uint8Array>);
  const stored = { ...instance('1', ELE), blobKey: 'k1', size: 1000, dataSetOffset: 132 };
  const buffers = new DataSetBuffers();
  const first = await storedDataSetBytes(blobs, stored, ELE, buffers);
  assert.ok(first instanceof Uint8Array);
  assert.deepEqual(Buffer.from(first), Buffer.from(file.subarray(132)));
  buffers.give(first);
  const second = await storedDataSetBytes(blobs, stored, ELE, buffers) as Uint8Array;
  assert.equal(second.buffer, first.buffer, 'the buffer given back is reused');
  assert.deepEqual(Buffer.from(second), Buffer.from(file.subarray(132)));

  const odd = await storedDataSetBytes(blobs, { ...stored, transferSyntaxUid: DEFLATED, dataSetOffset: 131 }, DEFLATED, buffers) as Uint8Array;
  assert.equal(odd.length, 870, 'a deflate stream of odd length gets one NUL');
  assert.deepEqual(Buffer.from(odd.subarray(0, 869)), Buffer.from(file.subarray(131)));
  assert.equal(odd[869], 0);

  await assert.rejects(storedDataSetBytes(blobs, { ...stored, size: 2000 }, ELE, buffers), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_STORAGE_IO');
  await assert.rejects(storedDataSetBytes(blobs, { ...stored, blobKey: 'missing' }, ELE, buffers), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_STORAGE_NOT_FOUND');
  // Without a buffer pool (or a store without readInto): open() + read(), the same bytes.
  assert.deepEqual(Buffer.from(await storedDataSetBytes(blobs, stored, ELE) as Uint8Array), Buffer.from(file.subarray(132)));
  // Above IN_MEMORY_LIMIT the bytes are streamed.
  const streamed = await storedDataSetBytes(blobs, { ...stored, size: IN_MEMORY_LIMIT + 200 }, ELE, buffers);
  assert.ok(!(streamed instanceof Uint8Array));
  let n = 0;
  for await (const chunk of streamed as AsyncIterable<Uint8Array>) n += chunk.length;
  assert.equal(n, 868, 'streamed, up to the end of the blob');
});
