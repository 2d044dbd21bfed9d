/**
 * C-CANCEL of a C-FIND with many matches against `conduit serve` (PS3.4 C.4.1.2.3, PS3.7 §9.3.2.3):
 * the SCP stops between matches and answers FE00H Cancel, rather than sending every match first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/ae/index.js';
import { DataSet } from '../../src/data/data-set.js';
import { Status } from '../../src/dimse/status.js';
import { withTimeout } from '../ae/helpers.js';
import { archive, storeInto } from './retrieve-helpers.js';

const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
const STUDY_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.2.1';
const STUDIES = 300;

/** One instance in a study of its own, with what the index needs. */
function instance(i: number): DataSet {
  const ds = new DataSet();
  ds.set(0x00080016, 'UI', SECONDARY_CAPTURE);
  ds.set(0x00080018, 'UI', `1.2.826.0.1.3680043.8.498.99.3.${i}`);
  ds.set(0x00100010, 'PN', `CANCEL^${i}`);
  ds.set(0x00100020, 'LO', `PID${i}`);
  ds.set(0x0020000d, 'UI', `1.2.826.0.1.3680043.8.498.99.1.${i}`);
  ds.set(0x0020000e, 'UI', `1.2.826.0.1.3680043.8.498.99.2.${i}`);
  ds.set(0x00080060, 'CS', 'OT');
  return ds;
}

test('C-FIND of many studies, cancelled after 2 matches: the SCP answers FE00H Cancel before it has sent them all', async () => {
  const a = await archive();
  try {
    await storeInto(a.server, [], Array.from({ length: STUDIES }, (_, i) => instance(i)));
    const client = await connect({
      host: '127.0.0.1', port: a.server.dimsePort, calledAeTitle: 'ARCHIVE',
      presentationContexts: [{ abstractSyntax: STUDY_ROOT_FIND, transferSyntaxes: ['1.2.840.10008.1.2.1'] }],
    });
    try {
      // The whole search, to know what a cancel saves.
      const all = await client.find({ QueryRetrieveLevel: 'STUDY', StudyInstanceUID: '', PatientName: 'CANCEL*' }).all();
      assert.equal(all.matches.length, STUDIES);
      assert.equal(all.status.code, Status.Success);
      const op = client.find({ QueryRetrieveLevel: 'STUDY', StudyInstanceUID: '', PatientName: 'CANCEL*' });
      let seen = 0;
      await withTimeout((async () => {
        for await (const _ of op) if (++seen === 2) break;
      })(), 10_000, 'the cancelled C-FIND');
      assert.equal(seen, 2);
      // The final response comes after the C-CANCEL-RQ: Cancel, not a Success after every match.
      assert.equal(op.status?.code, Status.Cancel, `final status ${op.status?.code.toString(16)}: the C-CANCEL-RQ was read only after the search had ended`);
      // The association is still usable.
      assert.equal((await client.find({ QueryRetrieveLevel: 'STUDY', StudyInstanceUID: '1.2.826.0.1.3680043.8.498.99.1.7' }).all()).matches.length, 1);
    } finally {
      await client.release();
    }
  } finally {
    await a.close();
  }
});
