/**
 * File-set export over HTTP in `conduit serve`: a study (and a patient) downloaded as a ZIP, unzipped
 * by Info-ZIP's unzip (or Python's zipfile), read back with Conduit's DICOMDIR reader and pydicom's
 * FileSet, every instance identical to the one stored; a profile the instances do not fit is 409
 * before anything is sent; an unknown study 404.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileSet, readDicomDir } from '../../src/media/dicomdir/index.js';
import { parseBuffer } from '../../src/media/part10.js';
import { loadConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/serve.js';
import { iterate, tempDir } from '../storage/helpers.js';
import { PYDICOM_DATA, PYTHON, peer } from '../helpers/peers.js';

const ORACLE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/interop/dicomdir-pydicom.py');
const CT = join(PYDICOM_DATA, 'test_files/CT_small.dcm');
const MR = join(PYDICOM_DATA, 'test_files/MR_small.dcm');
const J2K = join(PYDICOM_DATA, 'test_files/JPEG2000.dcm');

function unzip(zip: string, into: string): void {
  mkdirSync(into, { recursive: true });
  const r = spawnSync(PYTHON, ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; z.extractall(sys.argv[2])', zip, into], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

test('export: a study as a zipped DICOMDIR file-set over HTTP, read by Conduit and pydicom, instances identical', { skip: peer('pydicom') }, async (t) => {
  const dataDir = tempDir(t, 'conduit-export-');
  const server = await startServer(loadConfig({ flags: { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir }, env: {} }));
  t.after(() => server.close());
  const stored = new Map<string, Buffer>();
  for (const f of [CT, MR, J2K]) {
    const r = await server.archive.storeInstance({ part10: iterate([readFileSync(f)]), sourceAet: 'TEST' });
    stored.set(r.sopInstanceUid, readFileSync(f));
  }
  const ct = parseBuffer(readFileSync(CT)).dataSet;
  const study = ct.string('StudyInstanceUID')!.trim();
  const base = `http://127.0.0.1:${server.httpPort}`;

  const res = await fetch(`${base}/export/studies/${study}`);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), 'application/zip');
  assert.match(res.headers.get('content-disposition')!, /attachment; filename="study-[0-9.]+\.zip"/);
  const zipPath = join(dataDir, 'study.zip');
  writeFileSync(zipPath, Buffer.from(await res.arrayBuffer()));
  const out = join(dataDir, 'unzipped');
  unzip(zipPath, out);

  // Conduit's reader: one instance, the CT, byte for byte as stored (Explicit VR LE fits STD-GEN-CD).
  const dir = await readDicomDir(join(out, 'DICOMDIR'));
  assert.deepEqual(dir.warnings, []);
  const set = await FileSet.open(out);
  const instances = set.instances();
  assert.equal(instances.length, 1);
  assert.equal(instances[0]!.sopInstanceUid, ct.string('SOPInstanceUID')!.trim());
  assert.ok(readFileSync(instances[0]!.path).equals(stored.get(instances[0]!.sopInstanceUid)!), 'the instance as stored');
  assert.equal(set.profile.id, 'STD-GEN-CD');

  // pydicom's FileSet finds the same instance at the same File ID.
  const r = spawnSync(PYTHON, [ORACLE, join(out, 'DICOMDIR')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const view = JSON.parse(r.stdout) as { instances?: string[]; fileSetError?: string };
  assert.equal(view.fileSetError, undefined);
  assert.deepEqual(view.instances, [instances[0]!.fileId.join('/')]);

  // A patient: every study of theirs (the MR's patient has one).
  const mr = parseBuffer(readFileSync(MR)).dataSet;
  const patientZip = await fetch(`${base}/export/patients/${encodeURIComponent(mr.string('PatientID')!.trim())}`);
  assert.equal(patientZip.status, 200);
  writeFileSync(join(dataDir, 'patient.zip'), Buffer.from(await patientZip.arrayBuffer()));
  unzip(join(dataDir, 'patient.zip'), join(dataDir, 'patient'));
  const patientSet = await FileSet.open(join(dataDir, 'patient'));
  assert.deepEqual(patientSet.instances().map((i) => i.sopInstanceUid), [mr.string('SOPInstanceUID')!.trim()]);

  // The JPEG 2000 study does not fit STD-GEN-CD: 409 naming it; with anyTransferSyntax it goes in as stored.
  const j2k = parseBuffer(readFileSync(J2K)).dataSet;
  const j2kStudy = j2k.string('StudyInstanceUID')!.trim();
  const refused = await fetch(`${base}/export/studies/${j2kStudy}`);
  assert.equal(refused.status, 409);
  assert.match(((await refused.json()) as { error: { message: string } }).error.message, /STD-GEN-CD.*1\.2\.840\.10008\.1\.2\.4\.90|JPEG 2000/);
  const kept = await fetch(`${base}/export/studies/${j2kStudy}?anyTransferSyntax=true&fileSetId=J2K`);
  assert.equal(kept.status, 200);
  writeFileSync(join(dataDir, 'j2k.zip'), Buffer.from(await kept.arrayBuffer()));
  unzip(join(dataDir, 'j2k.zip'), join(dataDir, 'j2k'));
  const j2kDir = await readDicomDir(join(dataDir, 'j2k', 'DICOMDIR'));
  assert.equal(j2kDir.fileSetId, 'J2K');
  const [j2kInstance] = (await FileSet.open(join(dataDir, 'j2k'), { anyTransferSyntax: true })).instances();
  assert.ok(readFileSync(j2kInstance!.path).equals(readFileSync(J2K)));

  // A general-purpose DVD profile by name; an unknown profile 400; an unknown study 404.
  assert.equal((await fetch(`${base}/export/studies/${study}?profile=STD-GEN-DVD-RAM`)).status, 200);
  const badProfile = await fetch(`${base}/export/studies/${study}?profile=NOPE`);
  assert.equal(badProfile.status, 400);
  assert.match(((await badProfile.json()) as { error: { message: string } }).error.message, /STD-GEN-CD/);
  assert.equal((await fetch(`${base}/export/studies/1.2.3.4`)).status, 404);
  assert.equal((await fetch(`${base}/export/studies/not-a-uid`)).status, 400);
});
