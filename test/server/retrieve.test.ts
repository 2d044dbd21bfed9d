/**
 * C-MOVE and C-GET against `conduit serve` in this process, from a requester written with the
 * low-level API (openAssociation + DimseAssociation), with in-process DicomServers as Move
 * Destinations: success with counts and Move Originator, an unknown destination (A801), a
 * destination that rejects or is not there (A702 with the reason), C-CANCEL mid-way, a partial
 * failure (B000 with the Failed SOP Instance UID List), transcoding for a destination that accepts
 * only Implicit VR Little Endian (byte-exact) or Big Endian or Deflated, C-GET with and without
 * SCP/SCU role selection, and SOP Class Extended Negotiation (relational-retrieval).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inflateRawSync } from 'node:zlib';
import { DimseAssociation } from '../../src/ae/index.js';
import { parseDataSet } from '../../src/data/reader/data-set-parser.js';
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN,
} from '../../src/data/transfer-syntax.js';
import { encodeDataSet } from '../../src/data/writer.js';
import type { IncomingResponse } from '../../src/ae/index.js';
import { readFile } from '../../src/media/part10.js';
import { openAssociation } from '../../src/upper-layer/index.js';
import { fitErrorComment } from '../../src/dimse/index.js';
import { deferred } from '../ae/helpers.js';
import {
  archive, cancelDuringSecond, collect, CT, CT_IMAGE_STORAGE, ctSeries, dataSetBytesOf, destination, ELE, failedList, fields, identifier, LEVEL, MR_BIG_ENDIAN, MR_RLE,
  PATIENT_ID, PATIENT_ROOT_FIND, PATIENT_ROOT_MOVE, QR_TS, requester, SERIES_UID, SOP_UID, STUDY_ROOT_GET, STUDY_ROOT_MOVE, STUDY_UID, storeInto,
} from './retrieve-helpers.js';

test('C-MOVE (Study Root, STUDY): Pending responses with counts, Success, the data set byte for byte, Move Originator set', async () => {
  const dest = await destination('DEST');
  const a = await archive([dest.peer()]);
  try {
    await storeInto(a.server, [CT], await ctSeries(2));
    const study = (await readFile(CT)).dataSet.string(STUDY_UID)!;
    const r = await requester(a.server.dimsePort, { contexts: [{ abstractSyntax: STUDY_ROOT_MOVE, transferSyntaxes: QR_TS }] });
    const responses = await collect(r.dimse.request(
      { type: 'C-MOVE-RQ', affectedSopClassUid: STUDY_ROOT_MOVE, priority: 0, moveDestination: 'DEST' } as never,
      r.context(STUDY_ROOT_MOVE), identifier({ [LEVEL]: ['CS', 'STUDY'], [STUDY_UID]: ['UI', study] }),
    ));
    const final = responses.at(-1)!;
    assert.equal(final.message.status, 0x0000, final.status.description);
    const m = fields(final);
    assert.deepEqual([m.numberOfCompletedSuboperations, m.numberOfFailedSuboperations, m.numberOfWarningSuboperations], [3, 0, 0]);
    assert.equal(m.numberOfRemainingSuboperations, undefined, 'no Remaining count in a final Success (PS3.4 C.4.2.1.6)');
    const pending = responses.slice(0, -1).map((p) => fields(p).numberOfRemainingSuboperations);
    assert.deepEqual(pending, [2, 1], 'a Pending response after each sub-operation but the last');
    assert.equal(dest.received.length, 3);
    const ct = dest.received.find((x) => x.sopInstanceUid === (/* CT_small's own */ '1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322'))!;
    assert.equal(ct.transferSyntaxUid, EXPLICIT_VR_LITTLE_ENDIAN);
    assert.deepEqual(Buffer.from(ct.bytes), Buffer.from(await dataSetBytesOf(CT)), 'the stored data set, byte for byte');
    for (const x of dest.received) {
      assert.equal(x.moveOriginatorAeTitle, 'MOVER');
      assert.equal(x.moveOriginatorMessageId, fields(final).messageIdBeingRespondedTo);
      assert.equal(x.calledAeTitle, 'DEST');
    }
    await r.association.release();
  } finally {
    await a.close();
    await dest.close();
  }
});

test('C-MOVE to an unknown destination: A801 and an Error Comment naming the known AE titles', async () => {
  const dest = await destination('DEST');
  const a = await archive([dest.peer(), { name: 'pacs', aeTitle: 'PACS', host: '127.0.0.1', port: 1 }]);
  try {
    await storeInto(a.server, [CT]);
    const r = await requester(a.server.dimsePort, { contexts: [{ abstractSyntax: STUDY_ROOT_MOVE, transferSyntaxes: QR_TS }] });
    const rsp = await r.dimse.requestOne({ type: 'C-MOVE-RQ', affectedSopClassUid: STUDY_ROOT_MOVE, priority: 0, moveDestination: 'NOBODY' } as never,
      r.context(STUDY_ROOT_MOVE), identifier({ [LEVEL]: ['CS', 'STUDY'], [STUDY_UID]: ['UI', (await readFile(CT)).dataSet.string(STUDY_UID)!] }));
    assert.equal(rsp.message.status, 0xa801);
    assert.equal(rsp.status.errorComment, 'Move Destination NOBODY unknown; known: DEST, PACS');
    assert.equal(dest.received.length, 0);
    await r.association.release();
  } finally {
    await a.close();
    await dest.close();
  }
});

test('C-MOVE to a destination that rejects the association, or is not listening: A702, every instance failed, the reason', async () => {
  const strict = await destination('REALNAME', { strictCalledAeTitle: true });
  const closed = await destination('GONE');
  await closed.close();
  const a = await archive([{ ...strict.peer('wrong'), aeTitle: 'WRONGNAME' }, closed.peer()]);
  try {
    await storeInto(a.server, [CT], await ctSeries(1));
    const study = (await readFile(CT)).dataSet.string(STUDY_UID)!;
    const r = await requester(a.server.dimsePort, { contexts: [{ abstractSyntax: STUDY_ROOT_MOVE, transferSyntaxes: QR_TS }] });
    const move = (to: string) => r.dimse.requestOne({ type: 'C-MOVE-RQ', affectedSopClassUid: STUDY_ROOT_MOVE, priority: 0, moveDestination: to } as never,
      r.context(STUDY_ROOT_MOVE), identifier({ [LEVEL]: ['CS', 'STUDY'], [STUDY_UID]: ['UI', study] }));
    const rejected = await move('WRONGNAME');
    assert.equal(rejected.message.status, 0xa702);
    assert.equal(rejected.status.errorComment, `WRONGNAME@127.0.0.1:${strict.port} rejected (called AE title unknown)`);
    assert.equal(fields(rejected).numberOfFailedSuboperations, 2);
    assert.equal(failedList(rejected).length, 2);
    const refused = await move('GONE');
    assert.equal(refused.message.status, 0xa702);
    assert.equal(refused.status.errorComment, `GONE@127.0.0.1:${closed.port}: connection refused`);
    assert.equal(strict.received.length, 0);
    await r.association.release();
  } finally {
    await a.close();
    await strict.close();
  }
});

test('C-CANCEL during a C-MOVE stops it after the sub-operation under way: Cancel with the counts', async () => {
  const second = deferred();
  const proceed = deferred();
  const dest = await destination('DEST', {
    onStore: async (_req, n) => {
      if (n === 1) {
        second.resolve();
        await proceed.promise;
      }
    },
  });
  const a = await archive([dest.peer()]);
  try {
    await storeInto(a.server, [], await ctSeries(5));
    const series = (await readFile(CT)).dataSet.string(SERIES_UID)!;
    const study = (await readFile(CT)).dataSet.string(STUDY_UID)!;
    const r = await requester(a.server.dimsePort, { contexts: [{ abstractSyntax: STUDY_ROOT_MOVE, transferSyntaxes: QR_TS }] });
    const responses = await cancelDuringSecond(r, STUDY_ROOT_MOVE, { type: 'C-MOVE-RQ', affectedSopClassUid: STUDY_ROOT_MOVE, priority: 0, moveDestination: 'DEST' },
      identifier({ [LEVEL]: ['CS', 'SERIES'], [STUDY_UID]: ['UI', study], [SERIES_UID]: ['UI', series] }), second, proceed);
    const final = fields(responses.at(-1)!);
    assert.equal(final.status, 0xfe00);
    assert.deepEqual([final.numberOfRemainingSuboperations, final.numberOfCompletedSuboperations, final.numberOfFailedSuboperations], [3, 2, 0]);
    assert.equal(dest.received.length, 2);
    await r.association.release();
  } finally {
    await a.close();
    await dest.close();
  }
});

test('C-MOVE with a failed sub-operation: B000, the Failed SOP Instance UID List, the destination\'s status in the Error Comment', async () => {
  const dest = await destination('DEST', { onStore: async (req) => (req.sopInstanceUid.endsWith('.77.2') ? 0xa700 : undefined) });
  const a = await archive([dest.peer()]);
  try {
    await storeInto(a.server, [], await ctSeries(3));
    const r = await requester(a.server.dimsePort, { contexts: [{ abstractSyntax: PATIENT_ROOT_MOVE, transferSyntaxes: QR_TS }] });
    const uids = ['1.2.826.0.1.3680043.8.498.77.1', '1.2.826.0.1.3680043.8.498.77.2', '1.2.826.0.1.3680043.8.498.77.3'];
    const ct = (await readFile(CT)).dataSet;
    const final = await r.dimse.requestOne({ type: 'C-MOVE-RQ', affectedSopClassUid: PATIENT_ROOT_MOVE, priority: 0, moveDestination: 'DEST' } as never,
      r.context(PATIENT_ROOT_MOVE), identifier({
        [LEVEL]: ['CS', 'IMAGE'], [PATIENT_ID]: ['LO', ct.string(PATIENT_ID)!], [STUDY_UID]: ['UI', ct.string(STUDY_UID)!], [SERIES_UID]: ['UI', ct.string(SERIES_UID)!], [SOP_UID]: ['UI', uids],
      }));
    assert.equal(final.message.status, 0xb000);
    const m = fields(final);
    assert.deepEqual([m.numberOfCompletedSuboperations, m.numberOfFailedSuboperations], [2, 1]);
    assert.deepEqual(failedList(final), [uids[1]]);
    assert.match(final.status.errorComment ?? '', /^1 of 3 failed: DEST: A700H/);
    await r.association.release();
  } finally {
    await a.close();
    await dest.close();
  }
});

test('C-MOVE transcodes for a destination that accepts only Implicit VR LE (or Big Endian, or Deflated): the data set, byte-correct', async () => {
  const implicit = await destination('IMPLICIT', { transferSyntaxes: [IMPLICIT_VR_LITTLE_ENDIAN] });
  const big = await destination('BIG', { transferSyntaxes: [EXPLICIT_VR_BIG_ENDIAN] });
  const deflated = await destination('DEFLATED', { transferSyntaxes: [DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN] });
  const a = await archive([implicit.peer(), big.peer(), deflated.peer()]);
  try {
    await storeInto(a.server, [CT, MR_BIG_ENDIAN]);
    const r = await requester(a.server.dimsePort, { contexts: [{ abstractSyntax: STUDY_ROOT_MOVE, transferSyntaxes: QR_TS }] });
    const studies = await Promise.all([CT, MR_BIG_ENDIAN].map(async (f) => (await readFile(f)).dataSet.string(STUDY_UID)!));
    for (const to of ['IMPLICIT', 'BIG', 'DEFLATED']) {
      const final = await r.dimse.requestOne({ type: 'C-MOVE-RQ', affectedSopClassUid: STUDY_ROOT_MOVE, priority: 0, moveDestination: to } as never,
        r.context(STUDY_ROOT_MOVE), identifier({ [LEVEL]: ['CS', 'STUDY'], [STUDY_UID]: ['UI', studies] }));
      assert.equal(final.message.status, 0, `${to}: ${final.status.description}`);
    }
    const expected = async (path: string, enc: { explicitVR: boolean; littleEndian: boolean }) => {
      const f = await readFile(path, { bulkDataThreshold: Infinity });
      return Buffer.from(encodeDataSet(f.dataSet, enc, { recalculateGroupLengths: enc.explicitVR !== true }));
    };
    for (const [dest, ts, enc, inflate] of [
      [implicit, IMPLICIT_VR_LITTLE_ENDIAN, { explicitVR: false, littleEndian: true }, false],
      [big, EXPLICIT_VR_BIG_ENDIAN, { explicitVR: true, littleEndian: false }, false],
      [deflated, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, { explicitVR: true, littleEndian: true }, true],
    ] as const) {
      assert.equal(dest.received.length, 2);
      for (const x of dest.received) {
        assert.equal(x.transferSyntaxUid, ts);
        const path = x.sopInstanceUid === (await readFile(CT)).dataSet.string(SOP_UID) ? CT : MR_BIG_ENDIAN;
        const bytes = inflate ? inflateRawSync(x.bytes) : Buffer.from(x.bytes);
        // The Big Endian file's own bytes when it goes as Big Endian; otherwise Conduit's encoding of the parsed file.
        const want = path === MR_BIG_ENDIAN && ts === EXPLICIT_VR_BIG_ENDIAN ? Buffer.from(await dataSetBytesOf(path)) : await expected(path, enc);
        assert.ok(bytes.equals(want), `${path} as ${ts}: ${bytes.length} bytes received, ${want.length} expected`);
      }
    }
    await r.association.release();
  } finally {
    await a.close();
    for (const d of [implicit, big, deflated]) await d.close();
  }
});

test('C-MOVE of an object with 8 MiB of pixel data to Big Endian and Implicit VR destinations: streamed from the blob, byte-correct', async () => {
  const big = await destination('BIG', { transferSyntaxes: [EXPLICIT_VR_BIG_ENDIAN] });
  const implicit = await destination('IMPLICIT', { transferSyntaxes: [IMPLICIT_VR_LITTLE_ENDIAN] });
  const a = await archive([big.peer(), implicit.peer()]);
  try {
    const ds = (await readFile(CT, { bulkDataThreshold: Infinity })).dataSet;
    ds.set(SOP_UID, 'UI', '1.2.826.0.1.3680043.8.498.78.1');
    ds.set(0x00280010, 'US', 2048); // Rows
    ds.set(0x00280011, 'US', 2048); // Columns
    const pixels = new Uint8Array(2048 * 2048 * 2);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + (i >> 11)) & 0xff;
    ds.set(0x7fe00010, 'OW', pixels);
    ds.delete(0xfffcfffc); // so that the pixels end the data set
    await storeInto(a.server, [], [ds]);
    const r = await requester(a.server.dimsePort, { contexts: [{ abstractSyntax: STUDY_ROOT_MOVE, transferSyntaxes: QR_TS }] });
    for (const to of ['BIG', 'IMPLICIT']) {
      const final = await r.dimse.requestOne({ type: 'C-MOVE-RQ', affectedSopClassUid: STUDY_ROOT_MOVE, priority: 0, moveDestination: to } as never,
        r.context(STUDY_ROOT_MOVE), identifier({ [LEVEL]: ['CS', 'STUDY'], [STUDY_UID]: ['UI', ds.string(STUDY_UID)!] }));
      assert.equal(final.message.status, 0, `${to}: ${final.status.description}`);
    }
    for (const [dest, enc] of [[big, { explicitVR: true, littleEndian: false }], [implicit, { explicitVR: false, littleEndian: true }]] as const) {
      assert.equal(dest.received.length, 1);
      const want = Buffer.from(encodeDataSet(ds, enc, { recalculateGroupLengths: !enc.explicitVR }));
      assert.ok(Buffer.from(dest.received[0]!.bytes).equals(want), `${dest.received[0]!.transferSyntaxUid}: ${dest.received[0]!.bytes.length} bytes, ${want.length} expected`);
    }
    // The pixels went swapped in 16-bit words to the Big Endian destination.
    const tail = big.received[0]!.bytes.subarray(-pixels.length);
    assert.deepEqual([tail[0], tail[1], tail[2], tail[3]], [pixels[1], pixels[0], pixels[3], pixels[2]]);
    await r.association.release();
  } finally {
    await a.close();
    await big.close();
    await implicit.close();
  }
});

test('C-MOVE of a compressed object to a destination that accepts only uncompressed syntaxes: the sub-operation fails, saying why', async () => {
  const implicit = await destination('IMPLICIT', { transferSyntaxes: [IMPLICIT_VR_LITTLE_ENDIAN] });
  const a = await archive([implicit.peer()]);
  try {
    await storeInto(a.server, [MR_RLE]);
    const r = await requester(a.server.dimsePort, { contexts: [{ abstractSyntax: STUDY_ROOT_MOVE, transferSyntaxes: QR_TS }] });
    const mr = (await readFile(MR_RLE)).dataSet;
    const final = await r.dimse.requestOne({ type: 'C-MOVE-RQ', affectedSopClassUid: STUDY_ROOT_MOVE, priority: 0, moveDestination: 'IMPLICIT' } as never,
      r.context(STUDY_ROOT_MOVE), identifier({ [LEVEL]: ['CS', 'STUDY'], [STUDY_UID]: ['UI', mr.string(STUDY_UID)!] }));
    assert.equal(final.message.status, 0xa702);
    assert.deepEqual(failedList(final), [mr.string(SOP_UID)]);
    assert.match(final.status.errorComment ?? '', /^1 of 1 failed: not accepted as RLE Lossless$/);
    assert.equal(implicit.received.length, 0);
    await r.association.release();
  } finally {
    await a.close();
    await implicit.close();
  }
});

/** A C-GET requester: answers the C-STORE-RQs the archive sends on the association. */
async function getRequester(port: number, roles: boolean, onStore?: (n: number) => Promise<void>, storageTs: string[] = [IMPLICIT_VR_LITTLE_ENDIAN]) {
  const r = await requester(port, {
    contexts: [{ abstractSyntax: STUDY_ROOT_GET, transferSyntaxes: QR_TS }, { abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: storageTs }],
    ...(roles ? { roleSelections: [{ sopClassUid: CT_IMAGE_STORAGE, scuRole: false, scpRole: true }] } : {}),
    callingAeTitle: 'GETTER',
  });
  const received: { sopInstanceUid: string; bytes: Uint8Array; contextId: number }[] = [];
  r.dimse.on('request', (req) => void (async () => {
    const m = req.message as { messageId: number; affectedSopClassUid: string; affectedSopInstanceUid: string };
    const bytes = await req.dataSet!.collect();
    received.push({ sopInstanceUid: m.affectedSopInstanceUid, bytes, contextId: req.presentationContext.id });
    await onStore?.(received.length - 1);
    await r.dimse.send({ type: 'C-STORE-RSP', messageIdBeingRespondedTo: m.messageId, affectedSopClassUid: m.affectedSopClassUid, affectedSopInstanceUid: m.affectedSopInstanceUid, status: 0 } as never, req.presentationContext.id);
    r.dimse.requestDone(m.messageId);
  })());
  return { ...r, received };
}

test('C-GET with SCP role selection: the instances come over the same association, transcoded to the accepted syntax', async () => {
  const a = await archive();
  try {
    await storeInto(a.server, [CT], await ctSeries(2));
    const r = await getRequester(a.server.dimsePort, true);
    const ctx = r.association.findPresentationContext(CT_IMAGE_STORAGE)!;
    assert.equal(ctx.scpRole, true, 'the archive granted the SCP role');
    const ct = (await readFile(CT, { bulkDataThreshold: Infinity })).dataSet;
    const responses = await collect(r.dimse.request({ type: 'C-GET-RQ', affectedSopClassUid: STUDY_ROOT_GET, priority: 0 } as never,
      r.context(STUDY_ROOT_GET), identifier({ [LEVEL]: ['CS', 'STUDY'], [STUDY_UID]: ['UI', ct.string(STUDY_UID)!] })));
    const final = responses.at(-1)!;
    assert.equal(final.message.status, 0, final.status.description);
    assert.equal(fields(final).numberOfCompletedSuboperations, 3);
    assert.equal(r.received.length, 3);
    const own = r.received.find((x) => x.sopInstanceUid === ct.string(SOP_UID))!;
    assert.equal(own.contextId, ctx.id);
    assert.ok(Buffer.from(own.bytes).equals(Buffer.from(encodeDataSet(ct, { explicitVR: false, littleEndian: true }, { recalculateGroupLengths: true }))));
    await r.association.release();
  } finally {
    await a.close();
  }
});

test('pendingInterval longer than the retrieve: C-MOVE and C-GET send only the final response, with the counts', async () => {
  const dest = await destination('DEST');
  const a = await archive([dest.peer()], { pendingInterval: 3_600_000 });
  try {
    await storeInto(a.server, [CT], await ctSeries(2));
    const study = identifier({ [LEVEL]: ['CS', 'STUDY'], [STUDY_UID]: ['UI', (await readFile(CT)).dataSet.string(STUDY_UID)!] });
    const mover = await requester(a.server.dimsePort, { contexts: [{ abstractSyntax: STUDY_ROOT_MOVE, transferSyntaxes: QR_TS }] });
    const moved = await collect(mover.dimse.request({ type: 'C-MOVE-RQ', affectedSopClassUid: STUDY_ROOT_MOVE, priority: 0, moveDestination: 'DEST' } as never, mover.context(STUDY_ROOT_MOVE), study));
    await mover.association.release();
    const getter = await getRequester(a.server.dimsePort, true);
    const got = await collect(getter.dimse.request({ type: 'C-GET-RQ', affectedSopClassUid: STUDY_ROOT_GET, priority: 0 } as never, getter.context(STUDY_ROOT_GET), study));
    await getter.association.release();
    for (const [name, responses, received] of [['C-MOVE', moved, dest.received.length], ['C-GET', got, getter.received.length]] as const) {
      assert.deepEqual(responses.map((r) => r.message.status), [0x0000], `${name}: no Pending response, then Success`);
      assert.equal(fields(responses[0]!).numberOfCompletedSuboperations, 3, name);
      assert.equal(received, 3, name);
    }
  } finally {
    await a.close();
    await dest.close();
  }
});

test('C-GET where blobs read ahead are missing: those sub-operations fail (listed, the first named in the Error Comment), the others arrive unchanged', async () => {
  const a = await archive();
  try {
    const series = await ctSeries(4);
    await storeInto(a.server, [], series);
    const study = series[0]!.string(STUDY_UID)!;
    const stored = await a.server.archive.index.instancesFor('STUDY', study);
    assert.equal(stored.length, 4);
    // The second is read while the first is sent, the fourth while the third is.
    for (const i of [1, 3]) assert.equal(await a.server.archive.blobs.delete(stored[i]!.blobKey), true);
    const r = await getRequester(a.server.dimsePort, true, undefined, [EXPLICIT_VR_LITTLE_ENDIAN]);
    const responses = await collect(r.dimse.request({ type: 'C-GET-RQ', affectedSopClassUid: STUDY_ROOT_GET, priority: 0 } as never,
      r.context(STUDY_ROOT_GET), identifier({ [LEVEL]: ['CS', 'STUDY'], [STUDY_UID]: ['UI', study] })));
    const counts = (x: IncomingResponse) => [fields(x).numberOfRemainingSuboperations, fields(x).numberOfCompletedSuboperations, fields(x).numberOfFailedSuboperations];
    assert.deepEqual(responses.slice(0, -1).map(counts), [[3, 1, 0], [2, 1, 1], [1, 2, 1]], 'a Pending response after each sub-operation but the last');
    const final = responses.at(-1)!;
    assert.equal(final.message.status, 0xb000);
    assert.deepEqual(counts(final), [undefined, 2, 2]);
    assert.deepEqual(failedList(final), [stored[1]!.sopInstanceUid, stored[3]!.sopInstanceUid]);
    assert.equal(final.status.errorComment, fitErrorComment(`2 of 4 failed: no blob ${stored[1]!.blobKey}`), 'the reason, not the UID the list gives');
    assert.match(final.status.errorComment!, /^2 of 4 failed: no blob /);
    assert.deepEqual(r.received.map((x) => x.sopInstanceUid), [stored[0]!.sopInstanceUid, stored[2]!.sopInstanceUid]);
    for (const x of r.received) {
      const ds = series.find((d) => d.string(SOP_UID) === x.sopInstanceUid)!;
      assert.ok(Buffer.from(x.bytes).equals(Buffer.from(encodeDataSet(ds, ELE))), 'the stored data set, byte for byte');
    }
    await r.association.release();
  } finally {
    await a.close();
  }
});

test('C-GET storage contexts proposing a compressed syntax with the uncompressed ones: the archive, as sender, picks an uncompressed one', async () => {
  const a = await archive();
  try {
    await storeInto(a.server, [CT]);
    const r = await getRequester(a.server.dimsePort, true, undefined, ['1.2.840.10008.1.2.4.70', IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN]);
    assert.equal(r.association.findPresentationContext(CT_IMAGE_STORAGE)!.transferSyntax, EXPLICIT_VR_LITTLE_ENDIAN);
    const ct = (await readFile(CT)).dataSet;
    const final = await r.dimse.requestOne({ type: 'C-GET-RQ', affectedSopClassUid: STUDY_ROOT_GET, priority: 0 } as never,
      r.context(STUDY_ROOT_GET), identifier({ [LEVEL]: ['CS', 'STUDY'], [STUDY_UID]: ['UI', ct.string(STUDY_UID)!] }));
    assert.equal(final.message.status, 0, final.status.description);
    assert.ok(Buffer.from(r.received[0]!.bytes).equals(Buffer.from(await dataSetBytesOf(CT))));
    await r.association.release();
  } finally {
    await a.close();
  }
});

test('C-CANCEL during a C-GET stops it after the sub-operation under way: Cancel with the counts', async () => {
  const a = await archive();
  try {
    await storeInto(a.server, [], await ctSeries(4));
    const second = deferred();
    const proceed = deferred();
    const r = await getRequester(a.server.dimsePort, true, async (n) => {
      if (n === 1) {
        second.resolve();
        await proceed.promise;
      }
    });
    const ct = (await readFile(CT)).dataSet;
    const responses = await cancelDuringSecond(r, STUDY_ROOT_GET, { type: 'C-GET-RQ', affectedSopClassUid: STUDY_ROOT_GET, priority: 0 },
      identifier({ [LEVEL]: ['CS', 'STUDY'], [STUDY_UID]: ['UI', ct.string(STUDY_UID)!] }), second, proceed);
    const final = fields(responses.at(-1)!);
    assert.equal(final.status, 0xfe00);
    assert.deepEqual([final.numberOfRemainingSuboperations, final.numberOfCompletedSuboperations, final.numberOfFailedSuboperations], [2, 2, 0]);
    assert.equal(r.received.length, 2);
    await r.association.release();
  } finally {
    await a.close();
  }
});

test('C-GET without role selection: no sub-operation can be performed; A702, each instance failed, the Error Comment says why', async () => {
  const a = await archive();
  try {
    await storeInto(a.server, [CT]);
    const r = await getRequester(a.server.dimsePort, false);
    assert.equal(r.association.findPresentationContext(CT_IMAGE_STORAGE)!.scpRole, false);
    const ct = (await readFile(CT)).dataSet;
    const final = await r.dimse.requestOne({ type: 'C-GET-RQ', affectedSopClassUid: STUDY_ROOT_GET, priority: 0 } as never,
      r.context(STUDY_ROOT_GET), identifier({ [LEVEL]: ['CS', 'STUDY'], [STUDY_UID]: ['UI', ct.string(STUDY_UID)!] }));
    assert.equal(final.message.status, 0xa702);
    assert.deepEqual(failedList(final), [ct.string(SOP_UID)]);
    assert.match(final.status.errorComment ?? '', /^1 of 1 failed: CT Image Storage proposed without the SCP role/);
    assert.equal(r.received.length, 0);
    await r.association.release();
  } finally {
    await a.close();
  }
});

/** The Patient's Names a PATIENT level C-FIND (Patient Root) finds for a name key. */
async function patientsNamed(r: Awaited<ReturnType<typeof requester>>, name: string): Promise<string[]> {
  const found: string[] = [];
  for await (const rsp of r.dimse.request({ type: 'C-FIND-RQ', affectedSopClassUid: PATIENT_ROOT_FIND, priority: 0 } as never, r.context(PATIENT_ROOT_FIND),
    identifier({ [LEVEL]: ['CS', 'PATIENT'], [0x00100010]: ['PN', name], [PATIENT_ID]: ['LO', ''] }))) {
    if (rsp.message.status === 0xff00) found.push(parseDataSet(rsp.dataSet!, ELE).string(0x00100010)!);
    else assert.equal(rsp.message.status, 0, rsp.status.description);
  }
  return found;
}

test('extended negotiation: answers per PS3.4 C.5 (Enhanced Multi-Frame Image Conversion: no), and relational-retrieval only when agreed', async () => {
  const dest = await destination('DEST');
  const a = await archive([dest.peer()]);
  try {
    await storeInto(a.server, [CT]);
    const ct = (await readFile(CT)).dataSet;
    const contexts = [{ abstractSyntax: PATIENT_ROOT_MOVE, transferSyntaxes: QR_TS }, { abstractSyntax: PATIENT_ROOT_FIND, transferSyntaxes: QR_TS }];
    const series = identifier({ [LEVEL]: ['CS', 'SERIES'], [SERIES_UID]: ['UI', ct.string(SERIES_UID)!] });
    const move = (r: Awaited<ReturnType<typeof requester>>) => r.dimse.requestOne(
      { type: 'C-MOVE-RQ', affectedSopClassUid: PATIENT_ROOT_MOVE, priority: 0, moveDestination: 'DEST' } as never, r.context(PATIENT_ROOT_MOVE), series);

    const baseline = await requester(a.server.dimsePort, { contexts });
    assert.deepEqual(baseline.association.accept.userInformation.sopClassExtendedNegotiations, []);
    const refused = await move(baseline);
    assert.equal(refused.message.status, 0xa900, 'baseline: Patient ID and Study Instance UID are needed above the SERIES level');
    assert.match(refused.status.errorComment ?? '', /Patient ID \(0010,0020\) is needed/);
    assert.deepEqual(await patientsNamed(baseline, 'CT1^Compressed'), [], 'literal matching without fuzzy semantic matching');
    await baseline.association.release();

    const relational = await requester(a.server.dimsePort, {
      contexts,
      extended: [
        { sopClassUid: PATIENT_ROOT_MOVE, serviceClassApplicationInformation: new Uint8Array([1, 1]) },
        { sopClassUid: PATIENT_ROOT_FIND, serviceClassApplicationInformation: new Uint8Array([1, 1, 1, 1, 1]) },
      ],
    });
    const answers = Object.fromEntries(relational.association.accept.userInformation.sopClassExtendedNegotiations.map((x) => [x.sopClassUid, [...x.serviceClassApplicationInformation]]));
    assert.deepEqual(answers, { [PATIENT_ROOT_MOVE]: [1, 0], [PATIENT_ROOT_FIND]: [1, 1, 1, 1, 0] });
    const moved = await move(relational);
    assert.equal(moved.message.status, 0, moved.status.description);
    assert.equal(dest.received.length, 1);
    assert.deepEqual(await patientsNamed(relational, 'CT1^Compressed'), ['CompressedSamples^CT1'], 'fuzzy semantic matching, as agreed');
    await relational.association.release();
  } finally {
    await a.close();
    await dest.close();
  }
});
