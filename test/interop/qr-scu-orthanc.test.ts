/**
 * Conduit's Query/Retrieve SCU (conduit find / move / get, client.find) against Orthanc (C-GET since
 * 1.7), started here with its own configuration and the in-process Move Destination (AE DEST) as a
 * modality; filled with pydicom's test files by Conduit's own C-STORE. The tests are shared with the
 * dcmqrscp ones (qr-scu-suite).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, proposalsFor, type DicomServer } from '../../src/ae/index.js';
import { ctDataSet, CT_IMAGE_STORAGE, EXPLICIT_LE } from '../ae/helpers.js';
import { readFile } from '../../src/media/part10.js';
import { TEST_FILES, compareReceived, conduit } from '../helpers/network.js';
import { peer } from '../helpers/peers.js';
import { startOrthanc, type RunningOrthanc } from '../helpers/orthanc.js';
import { defineQrScuTests, qrFiles, startDestination, type QrFile } from '../helpers/qr-scu-suite.js';

const skip = peer('orthanc');
let work: string;
let files: QrFile[] = [];
let dest: { server: DicomServer; port: number };
let orthanc: RunningOrthanc;

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'conduit-qr-orthanc-'));
  files = await qrFiles();
  dest = await startDestination('DEST', join(work, 'dest'));
  // Orthanc answers C-FIND, C-MOVE and C-GET only from known modalities unless told otherwise.
  orthanc = await startOrthanc(work, {
    Name: 'ConduitInterop',
    DicomAet: 'ORTHANC',
    DicomCheckCalledAet: false,
    DicomModalities: { dest: ['DEST', '127.0.0.1', dest.port] },
    OverwriteInstances: true,
    DicomAlwaysAllowFind: true,
    DicomAlwaysAllowMove: true,
    DicomAlwaysAllowGet: true,
  });
  const client = await connect({ host: '127.0.0.1', port: orthanc.dicomPort, calledAeTitle: 'ORTHANC', presentationContexts: proposalsFor(files) });
  for (const f of files) {
    const status = await client.store(f.path);
    if (!status.isSuccess) throw new Error(`Orthanc did not store ${f.name}: ${status.description}`);
  }
  await client.release();
});

after(async () => {
  await orthanc?.proc.stop('SIGTERM', 20_000);
  await dest?.server.close({ abort: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

defineQrScuTests('Orthanc', skip, () => ({
  host: '127.0.0.1', port: orthanc.dicomPort, aeTitle: 'ORTHANC', destination: 'DEST', destinationOut: join(work, 'dest'), files, getGoesOnAfterFailure: false,
}), () => work);

// Last: it adds a patient the shared tests do not expect.
test('conduit find on Orthanc: a non-ASCII key goes as ISO_IR 192; the ISO_IR 100 name comes back intact', { skip }, async () => {
  const ds = ctDataSet();
  ds.set('SpecificCharacterSet', 'CS', 'ISO_IR 100');
  ds.set('PatientName', 'PN', 'Müller^Jürgen');
  ds.set('PatientID', 'LO', 'LATIN1-1');
  ds.set('StudyInstanceUID', 'UI', '1.2.826.0.1.3680043.8.498.8101');
  const client = await connect({ host: '127.0.0.1', port: orthanc.dicomPort, calledAeTitle: 'ORTHANC', presentationContexts: proposalsFor([{ sopClassUid: CT_IMAGE_STORAGE, transferSyntaxUid: EXPLICIT_LE }]) });
  assert.equal((await client.store({ dataSet: ds })).code, 0);
  await client.release();
  const r = await conduit(['find', '--aec', 'ORTHANC', '-k', 'PatientName=Mü*', '-k', 'PatientID', '-k', 'StudyInstanceUID', '127.0.0.1', String(orthanc.dicomPort)]);
  assert.equal(r.status, 0, r.stderr);
  const matches = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, { Value?: unknown[] }>);
  assert.deepEqual(matches.map((m) => [m['00100010']?.Value?.[0], m['00100020']?.Value?.[0]]), [[{ Alphabetic: 'Müller^Jürgen' }, 'LATIN1-1']]);
});

test('conduit get of a compressed study from Orthanc with the defaults: JPEG Baseline and JPEG 2000 arrive as stored; JPEG Extended, not proposed, is decompressed by Orthanc', { skip }, async () => {
  const names = ['SC_rgb_jpeg_dcmtk.dcm', 'JPEG2000.dcm', 'JPEG-lossy.dcm'];
  const stored = await conduit(['store', '--aec', 'ORTHANC', '127.0.0.1', String(orthanc.dicomPort), ...names.map((n) => join(TEST_FILES, n))]);
  assert.equal(stored.status, 0, stored.stderr);
  const out = join(work, 'get-compressed');
  for (const study of ['1.2.826.0.1.3680043.8.498.12406831542731051035295345080039845114', '1.3.6.1.4.1.5962.1.2.8.20040826185059.5457']) {
    const r = await conduit(['get', '--aec', 'ORTHANC', '--out', out, '-k', `StudyInstanceUID=${study}`, '127.0.0.1', String(orthanc.dicomPort)]);
    assert.equal(r.status, 0, r.stderr);
  }
  const tsOf = async (uid: string): Promise<string> => (await readFile(join(out, `${uid}.dcm`))).transferSyntaxUid;
  assert.equal(await tsOf('1.2.276.0.7230010.3.1.4.8323329.15150.1506363677.126194'), '1.2.840.10008.1.2.4.50');
  assert.equal(await compareReceived(join(TEST_FILES, 'SC_rgb_jpeg_dcmtk.dcm'), join(out, '1.2.276.0.7230010.3.1.4.8323329.15150.1506363677.126194.dcm')), undefined);
  assert.equal(await tsOf('1.3.6.1.4.1.5962.1.1.8.1.3.20040826185059.5457'), '1.2.840.10008.1.2.4.91');
  assert.match(await tsOf('1.3.6.1.4.1.5962.1.1.8.1.5.20040826185059.5457'), /^1\.2\.840\.10008\.1\.2(\.1)?$/, 'JPEG Extended: decompressed by Orthanc to a syntax proposed');
});
