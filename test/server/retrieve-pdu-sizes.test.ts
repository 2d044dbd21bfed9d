/**
 * The send path of a retrieve (data sets read whole into reused buffers, cut into P-DATA-TF PDUs
 * whose payloads are views of those buffers, the PDUs of a message written together) delivers every
 * data set byte for byte whatever Maximum Length the receiver announces: odd ones (the fragments
 * stay even, PS3.8 Annex E.1), ones just over a PDV's overhead, 16 KiB as DCMTK, and none (0). C-MOVE
 * to Move Destinations announcing each, and C-GET to requesters announcing each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from '../../src/media/part10.js';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../../src/data/transfer-syntax.js';
import {
  archive, collect, CT, CT_IMAGE_STORAGE, ctSeries, dataSetBytesOf, destination, fields, identifier, LEVEL, QR_TS, requester, SOP_UID,
  STUDY_ROOT_GET, STUDY_ROOT_MOVE, STUDY_UID, storeInto,
} from './retrieve-helpers.js';

/** Maximum-length-received values (0 = no limit); 1025 and 16383 are odd, 265 leaves 258-byte fragments. */
const MAXIMA = [0, 265, 1025, 4096, 16383, 16384];

/** The stored data sets, by SOP Instance UID: CT_small's own and three made from it in code. */
async function stored(): Promise<{ study: Uint8Array; expected: Map<string, Uint8Array>; files: string[]; made: Awaited<ReturnType<typeof ctSeries>> }> {
  const ct = (await readFile(CT)).dataSet;
  const made = await ctSeries(3);
  const expected = new Map<string, Uint8Array>([[ct.string(SOP_UID)!, await dataSetBytesOf(CT)]]);
  const study = identifier({ [LEVEL]: ['CS', 'STUDY'], [STUDY_UID]: ['UI', ct.string(STUDY_UID)!] });
  return { study, expected, files: [CT], made };
}

/** Every instance received once, CT_small's own equal to the file's data set, the others equal across maxima. */
function check(received: ReadonlyArray<{ sopInstanceUid: string; bytes: Uint8Array }>, expected: Map<string, Uint8Array>, maximum: number): void {
  assert.equal(received.length, 4, `four instances at maximum ${maximum}`);
  for (const r of received) {
    const want = expected.get(r.sopInstanceUid);
    if (want === undefined) expected.set(r.sopInstanceUid, r.bytes);
    else assert.ok(Buffer.from(r.bytes).equals(Buffer.from(want)), `${r.sopInstanceUid} byte for byte at maximum ${maximum}`);
  }
}

test('C-MOVE: every data set byte for byte to Move Destinations announcing odd, small, DCMTK-sized and no maximum PDU lengths', async () => {
  const dests = await Promise.all(MAXIMA.map((maxPduLength, i) => destination(`DEST${i}`, { maxPduLength, transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN] })));
  const a = await archive(dests.map((d) => d.peer()));
  try {
    const { study, expected, files, made } = await stored();
    await storeInto(a.server, files, made);
    const r = await requester(a.server.dimsePort, { contexts: [{ abstractSyntax: STUDY_ROOT_MOVE, transferSyntaxes: QR_TS }] });
    for (let i = 0; i < MAXIMA.length; i++) {
      const responses = await collect(r.dimse.request({ type: 'C-MOVE-RQ', affectedSopClassUid: STUDY_ROOT_MOVE, priority: 0, moveDestination: `DEST${i}` } as never, r.context(STUDY_ROOT_MOVE), study));
      const final = responses.at(-1)!;
      assert.equal(final.message.status, 0, `maximum ${MAXIMA[i]}: ${final.status.description}`);
      check(dests[i]!.received, expected, MAXIMA[i]!);
    }
    await r.association.release();
  } finally {
    await a.close();
    await Promise.all(dests.map((d) => d.close()));
  }
});

test('C-GET: every data set byte for byte to requesters announcing odd, small, DCMTK-sized and no maximum PDU lengths', async () => {
  const a = await archive();
  try {
    const { study, expected, files, made } = await stored();
    await storeInto(a.server, files, made);
    for (const maximumLength of MAXIMA) {
      const r = await requester(a.server.dimsePort, {
        contexts: [{ abstractSyntax: STUDY_ROOT_GET, transferSyntaxes: QR_TS }, { abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [EXPLICIT_VR_LITTLE_ENDIAN] }],
        roleSelections: [{ sopClassUid: CT_IMAGE_STORAGE, scuRole: false, scpRole: true }], callingAeTitle: 'GETTER', maximumLength,
      });
      const received: { sopInstanceUid: string; bytes: Uint8Array }[] = [];
      r.dimse.on('request', (req) => void (async () => {
        const m = req.message as { messageId: number; affectedSopClassUid: string; affectedSopInstanceUid: string };
        received.push({ sopInstanceUid: m.affectedSopInstanceUid, bytes: await req.dataSet!.collect() });
        await r.dimse.send({ type: 'C-STORE-RSP', messageIdBeingRespondedTo: m.messageId, affectedSopClassUid: m.affectedSopClassUid, affectedSopInstanceUid: m.affectedSopInstanceUid, status: 0 } as never, req.presentationContext.id);
        r.dimse.requestDone(m.messageId);
      })());
      const responses = await collect(r.dimse.request({ type: 'C-GET-RQ', affectedSopClassUid: STUDY_ROOT_GET, priority: 0 } as never, r.context(STUDY_ROOT_GET), study));
      const final = responses.at(-1)!;
      assert.equal(final.message.status, 0, `maximum ${maximumLength}: ${final.status.description}`);
      assert.equal(fields(final).numberOfCompletedSuboperations, 4);
      check(received, expected, maximumLength);
      await r.association.release();
    }
  } finally {
    await a.close();
  }
});
