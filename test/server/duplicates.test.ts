/**
 * The duplicate policies of `conduit serve` (README: `--duplicates keep|overwrite|reject`) seen from
 * a modality and from the log: a second C-STORE of a SOP Instance UID already stored, with other
 * content, answers Success and changes nothing (keep), replaces it (overwrite), or is refused with
 * 0111H Duplicate SOP Instance (PS3.7 Annex C) and an Error Comment (reject); the log says which.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, proposalsFor } from '../../src/ae/index.js';
import { parseDataSet } from '../../src/data/reader/data-set-parser.js';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../../src/data/transfer-syntax.js';
import { archive, ctSeries, ELE, identifier, LEVEL, logRecorder, QR_TS, requester, STUDY_UID } from './retrieve-helpers.js';

const STUDY_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.2.1';
const PATIENT_NAME = 0x00100010;

async function patientNameOfStudy(port: number, study: string): Promise<string | undefined> {
  const r = await requester(port, { contexts: [{ abstractSyntax: STUDY_ROOT_FIND, transferSyntaxes: QR_TS }] });
  let name: string | undefined;
  for await (const rsp of r.dimse.request({ type: 'C-FIND-RQ', affectedSopClassUid: STUDY_ROOT_FIND, priority: 0 } as never, r.context(STUDY_ROOT_FIND),
    identifier({ [LEVEL]: ['CS', 'STUDY'], [STUDY_UID]: ['UI', study], [PATIENT_NAME]: ['PN', ''] }))) {
    if (rsp.message.status === 0xff00) name = parseDataSet(rsp.dataSet!, ELE).string(PATIENT_NAME);
  }
  await r.association.release();
  return name;
}

for (const policy of ['keep', 'overwrite', 'reject'] as const) {
  test(`duplicate policy ${policy}: what the second C-STORE answers, what is kept, what the log says`, async () => {
    const recorder = logRecorder();
    const a = await archive([], { duplicatePolicy: policy }, recorder.log);
    try {
      const [first] = await ctSeries(1);
      const [second] = await ctSeries(1);
      second!.set(PATIENT_NAME, 'PN', 'Changed^Name');
      const uid = first!.string(0x00080018)!;
      const client = await connect({
        host: '127.0.0.1', port: a.server.dimsePort, calledAeTitle: 'ARCHIVE', callingAeTitle: 'MODALITY',
        presentationContexts: proposalsFor([{ sopClassUid: first!.string(0x00080016)!, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN }]),
      });
      assert.equal((await client.store({ dataSet: first! })).code, 0);
      const again = await client.store({ dataSet: second! });
      await client.release();
      const study = first!.string(STUDY_UID)!;
      const name = await patientNameOfStudy(a.server.dimsePort, study);
      const said = recorder.lines.filter((l) => l.includes(uid));
      if (policy === 'reject') {
        assert.equal(again.code, 0x0111, 'Duplicate SOP Instance');
        assert.match(again.errorComment ?? '', /already stored/);
      } else assert.equal(again.code, 0);
      assert.equal(name, policy === 'overwrite' ? 'Changed^Name' : first!.string(PATIENT_NAME));
      const expected = {
        keep: `C-STORE of ${uid} from MODALITY: already stored; the stored instance is kept and this one discarded (duplicatePolicy keep)`,
        overwrite: `C-STORE of ${uid} from MODALITY: already stored; replaced by this one (duplicatePolicy overwrite)`,
        reject: `C-STORE of ${uid} from MODALITY: already stored; refused with 0111H (duplicatePolicy reject)`,
      }[policy];
      assert.deepEqual(said, [expected], recorder.lines.join('\n'));
    } finally {
      await a.close();
    }
  });
}
