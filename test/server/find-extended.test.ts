/**
 * C-FIND options agreed by SOP Class Extended Negotiation on the served archive (PS3.4 C.5.1.1,
 * Tables C.5-1 and C.5-2: bytes 6 Empty Value Matching and 7 Multiple Value Matching), seen as a
 * requester sees them: the answer in the A-ASSOCIATE-AC, and what the same keys find with and
 * without the option.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataSet } from '../../src/data/data-set.js';
import { parseDataSet } from '../../src/data/reader/data-set-parser.js';
import { archive, ELE, identifier, LEVEL, QR_TS, requester, storeInto, STUDY_UID } from './retrieve-helpers.js';

const STUDY_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.2.1';
const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const ACCESSION = 0x00080050;
const MODALITIES_IN_STUDY = 0x00080061;

/** An instance of study `n` with this Modality and, when given, this Accession Number. */
function instance(n: number, series: number, modality: string, accession?: string): DataSet {
  const ds = new DataSet();
  ds.set(0x00080016, 'UI', CT_IMAGE_STORAGE);
  ds.set(0x00080018, 'UI', `1.2.826.0.1.3680043.8.498.77.${n}.${series}`);
  ds.set(0x00100010, 'PN', `Patient^${n}`);
  ds.set(0x00100020, 'LO', `P${n}`);
  ds.set(STUDY_UID, 'UI', `1.2.826.0.1.3680043.8.498.78.${n}`);
  ds.set(0x0020000e, 'UI', `1.2.826.0.1.3680043.8.498.79.${n}.${series}`);
  ds.set(0x00080060, 'CS', modality);
  if (accession !== undefined) ds.set(ACCESSION, 'SH', accession);
  return ds;
}

async function studies(r: Awaited<ReturnType<typeof requester>>, keys: Record<number, [string, string | string[]]>): Promise<{ status: number; uids: string[] }> {
  const uids: string[] = [];
  let status = -1;
  for await (const rsp of r.dimse.request({ type: 'C-FIND-RQ', affectedSopClassUid: STUDY_ROOT_FIND, priority: 0 } as never, r.context(STUDY_ROOT_FIND),
    identifier({ [LEVEL]: ['CS', 'STUDY'], [STUDY_UID]: ['UI', ''], ...keys }))) {
    if (rsp.message.status === 0xff00) uids.push(parseDataSet(rsp.dataSet!, ELE).string(STUDY_UID)!);
    else status = rsp.message.status;
  }
  return { status, uids: uids.sort() };
}

test('C-FIND extended negotiation: Empty Value Matching (byte 6) and Multiple Value Matching (byte 7) are agreed and applied', async () => {
  const a = await archive();
  try {
    await storeInto(a.server, [], [
      instance(1, 1, 'CT', 'ACC1'), instance(1, 2, 'PT', 'ACC1'),
      instance(2, 1, 'CT', ''),
      instance(3, 1, 'PT'),
    ]);
    const study = (n: number) => `1.2.826.0.1.3680043.8.498.78.${n}`;
    const contexts = [{ abstractSyntax: STUDY_ROOT_FIND, transferSyntaxes: QR_TS }];

    const agreed = await requester(a.server.dimsePort, {
      contexts, extended: [{ sopClassUid: STUDY_ROOT_FIND, serviceClassApplicationInformation: new Uint8Array([0, 0, 0, 0, 0, 1, 1]) }],
    });
    const answer = agreed.association.accept.userInformation.sopClassExtendedNegotiations.find((x) => x.sopClassUid === STUDY_ROOT_FIND);
    assert.deepEqual([...answer!.serviceClassApplicationInformation], [0, 0, 0, 0, 0, 1, 1], 'both offered, both agreed (PS3.4 C.5.1.1)');
    assert.deepEqual(await studies(agreed, { [ACCESSION]: ['SH', '""'] }), { status: 0, uids: [study(2), study(3)] },
      'PS3.4 C.2.2.2.7: "" matches a zero-length value and an absent one');
    assert.deepEqual(await studies(agreed, { [MODALITIES_IN_STUDY]: ['CS', ['CT', 'PT']] }), { status: 0, uids: [study(1)] },
      'PS3.4 C.2.2.2.8: each value must be one of the entity\'s');
    await agreed.association.release();

    const baseline = await requester(a.server.dimsePort, { contexts });
    assert.deepEqual(await studies(baseline, { [ACCESSION]: ['SH', '""'] }), { status: 0, uids: [] }, 'without the option "" is a value like any other');
    assert.equal((await studies(baseline, { [MODALITIES_IN_STUDY]: ['CS', ['CT', 'PT']] })).status, 0xa900,
      'without the option several values of a CS key are refused (C.2.2.2.8 note: their meaning is undefined)');
    await baseline.association.release();
  } finally {
    await a.close();
  }
});
