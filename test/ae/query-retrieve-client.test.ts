/**
 * Component tests of the Query/Retrieve SCU (client.find / move / get), client and SCPs in one
 * process on port 0: the Identifier that goes out (keys, level, character set), matches decoded
 * with their Specific Character Set, a failure status as a value with its Error Comment, C-CANCEL
 * when the loop is left early (the SCP sees it, the loop ends promptly, the final status is Cancel,
 * the association goes on), C-MOVE progress and the Failed SOP Instance UID List, and C-GET with
 * the SCP role negotiated and the C-STOREs answered on the same association.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connect, DimseAssociation, queryRetrieveProposals, retrieveProposals, QUERY_RETRIEVE_SOP_CLASS, type GenericRequest, type IncomingRequest,
} from '../../src/ae/index.js';
import type { DicomError } from '../../src/core/dicom-error.js';
import { DataSet } from '../../src/data/data-set.js';
import { readFile } from '../../src/media/part10.js';
import { Status, type DimseMessage } from '../../src/dimse/index.js';
import { AssociationListener, negotiate, type Association } from '../../src/upper-layer/index.js';
import {
  CT_IMAGE_STORAGE, EXPLICIT_LE, IMPLICIT_LE, ctDataSet, dataSetBytesIn, deferred, newUid, parseIn, proposalsForCt, readAll, startServer, withTimeout, WAIT_MS,
} from './helpers.js';

const STUDY_FIND = QUERY_RETRIEVE_SOP_CLASS.STUDY.FIND;

/** An SCP whose C-FIND handler is `onFind(identifier, respond, request)`. */
async function findScp(onFind: (identifier: DataSet, respond: GenericRequest['respond'], req: GenericRequest) => Promise<void>) {
  return startServer({
    aeTitle: 'QR-SCP',
    abstractSyntaxes: { [STUDY_FIND]: [EXPLICIT_LE, IMPLICIT_LE], [QUERY_RETRIEVE_SOP_CLASS.PATIENT.FIND]: [IMPLICIT_LE] },
    handlers: {
      async request(req) {
        const ts = req.request.presentationContext.transferSyntax;
        const identifier = parseIn(await req.request.dataSet!.collect(), ts);
        await onFind(identifier, (fields, ds) => req.respond(fields, ds ?? null), req);
      },
    },
  });
}

function match(ts: string, fill: (ds: DataSet) => void): Uint8Array {
  const ds = new DataSet();
  fill(ds);
  return dataSetBytesIn(ds, ts);
}

test('find: the Identifier carries the keys, the level and ISO_IR 192; matches come decoded in their character set (else the query\'s)', async (t) => {
  let received: DataSet | undefined;
  const scp = await findScp(async (identifier, respond, req) => {
    received = identifier;
    const ts = req.request.presentationContext.transferSyntax;
    await respond({ status: Status.Pending }, match(ts, (ds) => {
      ds.set('SpecificCharacterSet', 'CS', 'ISO_IR 192');
      ds.set('QueryRetrieveLevel', 'CS', 'STUDY');
      ds.set('PatientName', 'PN', 'Ørsted^Hans');
      ds.set('StudyInstanceUID', 'UI', '1.2.3.1');
    }));
    await respond({ status: Status.Pending }, match(ts, (ds) => {
      ds.set('SpecificCharacterSet', 'CS', 'ISO_IR 100');
      ds.set('QueryRetrieveLevel', 'CS', 'STUDY');
      ds.set('PatientName', 'PN', 'Øster^Åse');
      ds.set('StudyInstanceUID', 'UI', '1.2.3.2');
    }));
    // An SCP that answers in the query's character set (UTF-8) without saying so.
    await respond({ status: Status.Pending }, match(ts, (ds) => {
      ds.set('SpecificCharacterSet', 'CS', 'ISO_IR 192');
      ds.set('PatientName', 'PN', 'Øyen^Åse');
      ds.set('StudyInstanceUID', 'UI', '1.2.3.3');
      ds.delete('SpecificCharacterSet');
    }));
    await respond({ status: Status.Success });
  });
  t.after(() => scp.close());
  const client = await connect({ host: '127.0.0.1', port: scp.port, presentationContexts: queryRetrieveProposals(['FIND'], ['STUDY']) });
  t.after(() => client.abort());
  const op = client.find(['PatientName=Ø*', 'StudyDate=20200101-', 'StudyInstanceUID', 'ReferencedStudySequence[0].ReferencedSOPClassUID=1.2.840.10008.3.1.2.3.1']);
  const { matches, status } = await op.all();
  assert.equal(status.code, Status.Success);
  assert.deepEqual(matches.map((m) => m.string('PatientName')), ['Ørsted^Hans', 'Øster^Åse', 'Øyen^Åse']);
  assert.deepEqual(matches.map((m) => m.string('StudyInstanceUID')), ['1.2.3.1', '1.2.3.2', '1.2.3.3']);
  assert.ok(received);
  assert.equal(received.string('QueryRetrieveLevel'), 'STUDY');
  assert.equal(received.string('SpecificCharacterSet'), 'ISO_IR 192');
  assert.equal(received.string('PatientName'), 'Ø*');
  assert.equal(received.get('PatientName')?.vr, 'PN');
  assert.equal(received.string('StudyDate'), '20200101-');
  assert.equal(received.get('StudyDate')?.vr, 'DA');
  assert.ok(received.has('StudyInstanceUID') && received.get('StudyInstanceUID')!.valueLength === 0, 'a return key has zero length');
  assert.equal(received.items('ReferencedStudySequence')[0]?.string('ReferencedSOPClassUID'), '1.2.840.10008.3.1.2.3.1');
  await client.release();
});

test('find: a failure status ends the loop and is a value with its Error Comment; the association goes on', async (t) => {
  let calls = 0;
  const scp = await findScp(async (identifier, respond) => {
    calls++;
    if (identifier.string('PatientID') === 'BAD') await respond({ status: Status.IdentifierDoesNotMatchSOPClass, errorComment: 'no such key here' } as never);
    else await respond({ status: Status.Success });
  });
  t.after(() => scp.close());
  const client = await connect({ host: '127.0.0.1', port: scp.port, presentationContexts: queryRetrieveProposals(['FIND'], ['PATIENT']) });
  t.after(() => client.abort());
  const op = client.find({ PatientID: 'BAD', PatientName: null }, { model: 'PATIENT' });
  let n = 0;
  for await (const _ of op) n++;
  assert.equal(n, 0);
  assert.equal(op.status?.code, 0xa900);
  assert.equal(op.status?.isFailure, true);
  assert.equal(op.status?.errorComment, 'no such key here');
  const given = new DataSet();
  given.set('PatientID', 'LO', 'OK');
  const again = await client.find(given, { model: 'PATIENT', level: 'PATIENT' }).all();
  assert.equal(again.status.code, Status.Success);
  assert.equal(calls, 2);
  assert.equal(given.has('QueryRetrieveLevel'), false, "the caller's data set is not changed");
  // The model decides the SOP class: Study Root was not proposed here.
  await assert.rejects(client.find({ PatientID: 'x' }).all(), /did not accept Study Root C-FIND.*not proposed/);
  await client.release();
});

test('find/move: a context the peer rejected is named with the peer\'s Result/Reason, not as one to propose (PS3.8 Table 9-18)', async (t) => {
  const scp = await findScp(async (_identifier, respond) => respond({ status: Status.Success }));
  t.after(() => scp.close());
  // The SCP takes C-FIND only: the C-MOVE context comes back with result 3.
  const client = await connect({ host: '127.0.0.1', port: scp.port, presentationContexts: queryRetrieveProposals(['FIND', 'MOVE'], ['STUDY']) });
  t.after(() => client.abort());
  await assert.rejects(client.move({ StudyInstanceUID: '1.2.3' }, { destination: 'X' }).done(), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'ERR_DICOM_SOP_CLASS_NOT_SUPPORTED');
    assert.match(e.message, /did not accept Study Root C-MOVE \(1\.2\.840\.10008\.5\.1\.4\.1\.2\.2\.2\): rejected with result 3 \(abstract-syntax-not-supported\)/);
    assert.doesNotMatch(e.message, /propose it/);
    return true;
  });
  assert.equal((await client.find({ PatientID: 'x' }).all()).status.code, Status.Success, 'the association goes on');
  await client.release();
});

test('find: leaving the loop early sends C-CANCEL; the SCP sees it, the loop ends promptly with Cancel, and the association goes on', async (t) => {
  const cancelSeen = deferred();
  let sent = 0;
  const scp = await findScp(async (identifier, respond, req) => {
    const ts = req.request.presentationContext.transferSyntax;
    if (identifier.string('PatientID') === 'AFTER') {
      await respond({ status: Status.Pending }, match(ts, (ds) => ds.set('PatientID', 'LO', 'AFTER')));
      await respond({ status: Status.Success });
      return;
    }
    req.request.cancelled.addEventListener('abort', () => cancelSeen.resolve());
    // An endless stream of matches, until cancelled (PS3.4 C.4.1.2.3: then FE00).
    for (let i = 0; i < 100_000 && !req.request.cancelled.aborted; i++) {
      await respond({ status: Status.Pending }, match(ts, (ds) => ds.set('PatientID', 'LO', `P${i}`)));
      sent++;
      await new Promise(setImmediate);
    }
    await respond({ status: Status.Cancel });
  });
  t.after(() => scp.close());
  const client = await connect({ host: '127.0.0.1', port: scp.port, presentationContexts: queryRetrieveProposals() });
  t.after(() => client.abort());
  const op = client.find({ PatientID: '*' });
  const got: string[] = [];
  const started = Date.now();
  await withTimeout((async () => {
    for await (const m of op) {
      got.push(m.string('PatientID')!);
      if (got.length === 3) break;
    }
  })(), WAIT_MS, 'the loop to end after break');
  assert.ok(Date.now() - started < WAIT_MS);
  assert.deepEqual(got, ['P0', 'P1', 'P2']);
  await withTimeout(cancelSeen.promise, WAIT_MS, 'the SCP to see C-CANCEL-RQ');
  assert.equal(op.status?.code, Status.Cancel, 'the final response, read after C-CANCEL, is Cancel');
  assert.ok(sent < 100_000, 'the SCP stopped');
  const next = await client.find({ PatientID: 'AFTER' }).all();
  assert.deepEqual(next.matches.map((m) => m.string('PatientID')), ['AFTER']);
  assert.equal(next.status.code, Status.Success);
  await client.release();
});

test('move: progress with sub-operation counts, the instances at the destination, failures in the Failed SOP Instance UID List', async (t) => {
  const uids = [newUid(), newUid(), newUid()];
  const stored: string[] = [];
  const dest = await startServer({
    aeTitle: 'DEST',
    handlers: {
      async store(req) {
        await readAll(req.dataSet);
        if (req.sopInstanceUid === uids[1]) return { status: Status.RefusedOutOfResources, errorComment: 'disk full' };
        stored.push(req.sopInstanceUid);
        assert.equal(req.moveOriginatorAeTitle, 'MOVER');
        return Status.Success;
      },
    },
  });
  t.after(() => dest.close());
  let moveRq: (DimseMessage & { moveDestination?: string; priority?: number }) | undefined;
  let identifier: DataSet | undefined;
  const scp = await startServer({
    aeTitle: 'QR-SCP',
    abstractSyntaxes: { [QUERY_RETRIEVE_SOP_CLASS.STUDY.MOVE]: [EXPLICIT_LE] },
    handlers: {
      async request(req) {
        moveRq = req.request.message as typeof moveRq;
        identifier = parseIn(await req.request.dataSet!.collect(), EXPLICIT_LE);
        const sub = await connect({ host: '127.0.0.1', port: dest.port, callingAeTitle: 'QR-SCP', calledAeTitle: 'DEST', presentationContexts: proposalsForCt() });
        const counts = { numberOfRemainingSuboperations: uids.length, numberOfCompletedSuboperations: 0, numberOfFailedSuboperations: 0, numberOfWarningSuboperations: 0 };
        const failed: string[] = [];
        for (const uid of uids) {
          const status = await sub.store({ dataSet: ctDataSet(uid) }, { moveOriginatorAeTitle: req.association.callingAeTitle, moveOriginatorMessageId: 1 });
          counts.numberOfRemainingSuboperations--;
          if (status.isSuccess) counts.numberOfCompletedSuboperations++;
          else {
            counts.numberOfFailedSuboperations++;
            failed.push(uid);
          }
          if (counts.numberOfRemainingSuboperations > 0) await req.respond({ status: Status.Pending, ...counts } as never);
        }
        await sub.release();
        const list = new DataSet();
        list.set('FailedSOPInstanceUIDList', 'UI', failed);
        const { numberOfRemainingSuboperations: _, ...finalCounts } = counts;
        await req.respond({ status: Status.SubOperationsCompleteOneOrMoreFailures, errorComment: '1 failed', ...finalCounts } as never, dataSetBytesIn(list, EXPLICIT_LE));
      },
    },
  });
  t.after(() => scp.close());
  const client = await connect({ host: '127.0.0.1', port: scp.port, callingAeTitle: 'MOVER', presentationContexts: queryRetrieveProposals(['MOVE']) });
  t.after(() => client.abort());
  const progress = [];
  const op = client.move({ StudyInstanceUID: '1.2.826.0.1.3680043.8.498.100' }, { destination: 'DEST', priority: 1 });
  for await (const p of op) progress.push(p);
  assert.equal(moveRq?.moveDestination, 'DEST');
  assert.equal(moveRq?.priority, 1);
  assert.equal(identifier?.string('QueryRetrieveLevel'), 'STUDY');
  assert.equal(identifier?.string('StudyInstanceUID'), '1.2.826.0.1.3680043.8.498.100');
  assert.deepEqual(progress.map((p) => [p.final, p.remaining, p.completed, p.failed]), [[false, 2, 1, 0], [false, 1, 1, 1], [true, undefined, 2, 1]]);
  const last = progress.at(-1)!;
  assert.equal(last, op.result);
  assert.equal(last.status.code, 0xb000);
  assert.equal(last.status.errorComment, '1 failed');
  assert.deepEqual(last.failedSopInstanceUids, [uids[1]]);
  assert.deepEqual(stored, [uids[0], uids[2]]);
  await client.release();
});

/**
 * A C-GET SCP from the low-level pieces (the DicomServer's handlers cannot send on the association):
 * it accepts the GET context and CT storage with the SCP/SCU roles proposed, and answers a C-GET
 * with C-STORE-RQs of `instances` on the same association.
 */
async function getScp(instances: DataSet[], seen: { roles?: boolean; statuses: number[] }) {
  const listener = await AssociationListener.listen({
    host: '127.0.0.1',
    port: 0,
    onAssociationRequest: (rq) => negotiate(rq, {
      abstractSyntaxes: {
        [QUERY_RETRIEVE_SOP_CLASS.STUDY.GET]: { transferSyntaxes: [EXPLICIT_LE] },
        [CT_IMAGE_STORAGE]: { transferSyntaxes: [EXPLICIT_LE], roles: { scu: true, scp: true } },
      },
      maximumLength: 64 * 1024,
      implementationClassUid: '1.2.3.4',
    }),
  });
  listener.on('association', (association: Association) => {
    const dimse = new DimseAssociation(association);
    dimse.on('request', (req: IncomingRequest) => void (async () => {
      const m = req.message as DimseMessage & { messageId: number; affectedSopClassUid: string };
      await req.dataSet?.collect();
      const storePc = [...association.presentationContexts.values()].find((pc) => pc.abstractSyntax === CT_IMAGE_STORAGE)!;
      seen.roles = storePc.scpRole;
      let completed = 0;
      let failed = 0;
      for (const [i, ds] of instances.entries()) {
        const rsp = await dimse.requestOne({
          type: 'C-STORE-RQ', affectedSopClassUid: CT_IMAGE_STORAGE, affectedSopInstanceUid: ds.string('SOPInstanceUID')!, priority: 0,
          moveOriginatorApplicationEntityTitle: undefined,
        } as never, storePc.id, dataSetBytesIn(ds, EXPLICIT_LE));
        seen.statuses.push(rsp.status.code);
        if (rsp.status.isSuccess) completed++;
        else failed++;
        if (i < instances.length - 1) {
          await dimse.send({
            type: 'C-GET-RSP', messageIdBeingRespondedTo: m.messageId, affectedSopClassUid: m.affectedSopClassUid, status: Status.Pending,
            numberOfRemainingSuboperations: instances.length - i - 1, numberOfCompletedSuboperations: completed, numberOfFailedSuboperations: failed, numberOfWarningSuboperations: 0,
          } as never, req.presentationContext.id);
        }
      }
      await dimse.send({
        type: 'C-GET-RSP', messageIdBeingRespondedTo: m.messageId, affectedSopClassUid: m.affectedSopClassUid, status: failed ? 0xb000 : Status.Success,
        numberOfCompletedSuboperations: completed, numberOfFailedSuboperations: failed, numberOfWarningSuboperations: 0,
      } as never, req.presentationContext.id);
      dimse.requestDone(m.messageId);
    })());
  });
  return { port: listener.address().port, close: () => listener.close({ abort: true }) };
}

test('get: proposes the SCP role, receives the C-STOREs on the same association and writes them durably; onStore statuses reach the SCP', async (t) => {
  const instances = [ctDataSet(), ctDataSet(), ctDataSet()];
  const seen: { roles?: boolean; statuses: number[] } = { statuses: [] };
  const scp = await getScp(instances, seen);
  t.after(() => scp.close());
  const dir = mkdtempSync(join(tmpdir(), 'conduit-get-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const storage = retrieveProposals({ storageSopClasses: [CT_IMAGE_STORAGE] });
  const client = await connect({
    host: '127.0.0.1', port: scp.port, presentationContexts: [...queryRetrieveProposals(['GET']), ...storage.presentationContexts], roleSelections: storage.roleSelections,
  });
  t.after(() => client.abort());
  // A folder not there yet is made, as `conduit get --out` makes it (README: `{ outputDirectory: 'study/' }`).
  const out = join(dir, 'study', 'ct');
  const op = client.get({ StudyInstanceUID: '1.2.826.0.1.3680043.8.498.100' }, { outputDirectory: out });
  const final = await op.done();
  assert.equal(seen.roles, true, 'the SCP role was negotiated');
  assert.equal(final.status.code, Status.Success);
  assert.equal(final.completed, 3);
  assert.deepEqual(seen.statuses, [0, 0, 0]);
  for (const ds of instances) {
    const uid = ds.string('SOPInstanceUID')!;
    const file = await readFile(join(out, `${uid}.dcm`));
    assert.equal(file.transferSyntaxUid, EXPLICIT_LE);
    assert.deepEqual(Buffer.from(readFileSync(join(out, `${uid}.dcm`)).subarray(file.dataSetOffset)), Buffer.from(dataSetBytesIn(ds, EXPLICIT_LE)));
  }

  // onStore decides the C-STORE-RSP status; a refusal is counted as failed by the SCP.
  seen.statuses = [];
  const refused = instances[1]!.string('SOPInstanceUID');
  const got: string[] = [];
  const second = await client.get({ StudyInstanceUID: '1.2.826.0.1.3680043.8.498.100' }, {
    onStore: async (instance) => {
      await readAll(instance.dataSet);
      got.push(instance.sopInstanceUid);
      return instance.sopInstanceUid === refused ? { status: Status.RefusedOutOfResources, errorComment: 'no room' } : undefined;
    },
  }).done();
  assert.deepEqual(seen.statuses, [0, 0xa700, 0]);
  assert.equal(second.failed, 1);
  assert.equal(got.length, 3);
  // A folder that cannot be made fails before the C-GET-RQ goes, naming it, not once per sub-operation.
  writeFileSync(join(dir, 'a-file'), '');
  const requestsBefore = seen.statuses.length;
  await assert.rejects(client.get({ StudyInstanceUID: '1.2.826.0.1.3680043.8.498.100' }, { outputDirectory: join(dir, 'a-file', 'sub') }).done(),
    (e: DicomError) => e.code === 'ERR_DICOM_IO' && e.message.includes(`cannot create the output directory ${join(dir, 'a-file', 'sub')}`));
  assert.equal(seen.statuses.length, requestsBefore, 'no C-STORE sub-operation was attempted');
  await client.release();
});

test('get: a C-STORE-RQ outside a C-GET is refused', async (t) => {
  // An SCP that answers the C-GET's store sub-operations for a client that is not in a C-GET cannot be
  // staged with a real peer; here the SCP sends a C-STORE while the client only runs a C-FIND.
  const listener = await AssociationListener.listen({
    host: '127.0.0.1', port: 0,
    policy: {
      abstractSyntaxes: { [STUDY_FIND]: { transferSyntaxes: [EXPLICIT_LE] }, [CT_IMAGE_STORAGE]: { transferSyntaxes: [EXPLICIT_LE], roles: { scu: true, scp: true } } },
      maximumLength: 64 * 1024, implementationClassUid: '1.2.3.4',
    },
  });
  t.after(() => listener.close({ abort: true }));
  let storeStatus: number | undefined;
  listener.on('association', (association: Association) => {
    const dimse = new DimseAssociation(association);
    dimse.on('request', (req) => void (async () => {
      const m = req.message as DimseMessage & { messageId: number };
      await req.dataSet?.collect();
      const storePc = [...association.presentationContexts.values()].find((pc) => pc.abstractSyntax === CT_IMAGE_STORAGE)!;
      const ds = ctDataSet();
      storeStatus = (await dimse.requestOne({ type: 'C-STORE-RQ', affectedSopClassUid: CT_IMAGE_STORAGE, affectedSopInstanceUid: ds.string('SOPInstanceUID')!, priority: 0 } as never, storePc.id, dataSetBytesIn(ds, EXPLICIT_LE))).status.code;
      await dimse.send({ type: 'C-FIND-RSP', messageIdBeingRespondedTo: m.messageId, affectedSopClassUid: STUDY_FIND, status: Status.Success } as never, req.presentationContext.id);
    })());
  });
  const storage = retrieveProposals({ storageSopClasses: [CT_IMAGE_STORAGE] });
  const client = await connect({
    host: '127.0.0.1', port: listener.address().port, presentationContexts: [...queryRetrieveProposals(['FIND']), ...storage.presentationContexts], roleSelections: storage.roleSelections,
  });
  t.after(() => client.abort());
  const result = await client.find({ PatientID: '1' }).all();
  assert.equal(result.status.code, Status.Success);
  assert.equal(storeStatus, Status.RefusedNotAuthorized);
  await client.release();
});

test('move: leaving the loop early sends C-CANCEL; the SCP stops its sub-operations and the final response (Cancel) is the result', async (t) => {
  const cancelSeen = deferred();
  let performed = 0;
  const scp = await startServer({
    aeTitle: 'QR-SCP',
    abstractSyntaxes: { [QUERY_RETRIEVE_SOP_CLASS.STUDY.MOVE]: [EXPLICIT_LE] },
    handlers: {
      async request(req) {
        await req.request.dataSet!.collect();
        req.request.cancelled.addEventListener('abort', () => cancelSeen.resolve());
        const total = 10_000;
        for (let i = 0; i < total; i++) {
          if (req.request.cancelled.aborted) {
            // PS3.4 C.4.2.1.5: Cancel with the counts so far; the remaining ones are not counted.
            await req.respond({ status: Status.Cancel, numberOfRemainingSuboperations: total - i, numberOfCompletedSuboperations: i, numberOfFailedSuboperations: 0, numberOfWarningSuboperations: 0 } as never);
            return;
          }
          performed++;
          await req.respond({ status: Status.Pending, numberOfRemainingSuboperations: total - i - 1, numberOfCompletedSuboperations: i + 1, numberOfFailedSuboperations: 0, numberOfWarningSuboperations: 0 } as never);
          await new Promise(setImmediate);
        }
        await req.respond({ status: Status.Success, numberOfCompletedSuboperations: total, numberOfFailedSuboperations: 0, numberOfWarningSuboperations: 0 } as never);
      },
    },
  });
  t.after(() => scp.close());
  const client = await connect({ host: '127.0.0.1', port: scp.port, presentationContexts: queryRetrieveProposals(['MOVE']) });
  t.after(() => client.abort());
  const op = client.move({ StudyInstanceUID: '1.2.3' }, { destination: 'ANYWHERE' });
  await withTimeout((async () => {
    for await (const p of op) if (p.completed === 2) break;
  })(), WAIT_MS, 'the loop to end after break');
  await withTimeout(cancelSeen.promise, WAIT_MS, 'the SCP to see C-CANCEL-RQ');
  assert.equal(op.result?.final, true);
  assert.equal(op.result?.status.code, Status.Cancel);
  assert.ok(op.result!.completed >= 2 && op.result!.completed === performed, `${op.result!.completed} completed, ${performed} performed`);
  assert.ok(performed < 10_000);
  await client.release();
});
