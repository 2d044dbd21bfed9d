/**
 * `conduit media`: create (what is refused and skipped is said, the rest is written), read (the
 * tree), add and remove, import into the archive directly and into a running server over DIMSE,
 * export of a study from the archive as a file-set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDicomDir } from '../../src/media/dicomdir/index.js';
import { loadConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/serve.js';
import { peer, PYDICOM_DATA, PYTHON } from '../helpers/peers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin/conduit');
const FILES = join(PYDICOM_DATA, 'test_files');
const CT = join(FILES, 'CT_small.dcm');
const noFiles = existsSync(CT) ? peer('pydicom') : 'pydicom test files are not installed';
const CR_STUDY = '1.3.6.1.4.1.5962.1.1.0.0.0.1196527414.5534.0.1';

function conduit(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI without blocking this process's event loop (a server runs in it). */
function conduitAsync(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

test('media create, read, add, remove', { skip: noFiles }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-media-cli-'));
  try {
    const out = join(dir, 'fs');
    const created = conduit('media', 'create', '--file-set-id', 'DEMO', out, CT, join(FILES, 'JPEG2000.dcm'), join(FILES, 'dicomdirtests', '77654033', 'CR1'), join(FILES, 'dicomdirtests', 'README.txt'));
    assert.equal(created.status, 1, 'a refused instance makes the status 1');
    assert.match(created.stderr, /refused: .*JPEG2000\.dcm: .*JPEG 2000 Image Compression .* is not allowed by STD-GEN-CD .*\[ERR_DICOM_MEDIA_PROFILE\]/);
    assert.match(created.stderr, /skipped .*README\.txt: not a DICOM file/);
    assert.match(created.stdout, /\(STD-GEN-CD\): 2 instances, 2 patients, 2 studies, 2 series; added 2, already there 0, refused 1, failed 0, skipped 1/);

    const read = conduit('media', 'read', out);
    assert.equal(read.status, 0, read.stderr);
    const lines = read.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /File-set ID "DEMO", Explicit VR Little Endian, 8 records/);
    assert.match(lines[1]!, /^PATIENT {2}PatientName=CompressedSamples\^CT1 {2}PatientID=1CT1$/);
    assert.match(lines[2]!, /^ {2}STUDY {2}StudyDate=20040119 {2}StudyTime=072730 /);
    assert.match(lines[3]!, /^ {4}SERIES {2}Modality=CT /);
    assert.match(lines[4]!, /^ {6}IMAGE {2}ImageType=ORIGINAL\\PRIMARY\\AXIAL {2}InstanceNumber=1 {2}-> PT000000\\ST000000\\SE000000\\IM000000 \[CT Image Storage, Explicit VR Little Endian\]$/);
    assert.equal(lines.length, 9);

    const added = conduit('media', 'add', out, join(FILES, 'MR_small.dcm'));
    assert.equal(added.status, 0, added.stderr);
    assert.match(added.stdout, /3 instances, 3 patients/);
    const removed = conduit('media', 'remove', out, '1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322', '1.2.3.4');
    assert.equal(removed.status, 1, 'one UID was not there');
    assert.match(removed.stdout, /removed 1\.3\.6\.1\.4\.1\.5962\.1\.1\.1\.1\.1\.20040119072730\.12322 \(PT000000\\ST000000\\SE000000\\IM000000\)/);
    assert.match(removed.stderr, /SOP Instance 1\.2\.3\.4 is not in the file-set \[ERR_DICOM_MEDIA_NOT_FOUND\]/);
    const after = await readDicomDir(join(out, 'DICOMDIR'));
    assert.deepEqual(after.roots.map((r) => r.keys.string('PatientID')), ['77654033', '4MR1']);
    assert.equal(existsSync(join(out, 'PT000000')), false);

    const empty = conduit('media', 'create', join(dir, 'empty'), join(FILES, 'dicomdirtests', 'README.txt'), join(FILES, 'JPEG2000.dcm'));
    assert.equal(empty.status, 1);
    assert.match(empty.stderr, /no instance to write: STD-GEN-CD allows no DICOMDIR without records; nothing written/);
    assert.equal(existsSync(join(dir, 'empty', 'DICOMDIR')), false);
    const lax = conduit('media', 'create', '--any-transfer-syntax', join(dir, 'lax'), join(FILES, 'JPEG2000.dcm'));
    assert.equal(lax.status, 0, lax.stderr);
    assert.match(lax.stderr, /warning: .*JPEG2000\.dcm: kept in JPEG 2000 Image Compression .*does not conform to STD-GEN-CD/);

    const exists = conduit('media', 'create', out, CT);
    assert.equal(exists.status, 1);
    assert.match(exists.stderr, /DICOMDIR exists already/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('media import into the archive, export of a study from it, import over DIMSE into conduit serve', { skip: noFiles }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-media-cli-'));
  try {
    const source = join(FILES, 'dicomdirtests');
    const data = join(dir, 'data');
    const imported = conduit('media', 'import', source, '--data', data);
    assert.equal(imported.status, 0, imported.stderr);
    assert.match(imported.stdout, /^imported 31 of 31 instances\n$/);
    const again = conduit('media', 'import', source, '--data', data);
    assert.match(again.stdout, /imported 0 of 31 instances \(31 already there\)/);

    const out = join(dir, 'export');
    const zip = join(dir, 'export.zip');
    const exported = conduit('media', 'export', '--data', data, '--study', CR_STUDY, '--zip', zip, out);
    assert.equal(exported.status, 0, exported.stderr);
    assert.match(exported.stdout, /3 instances, 1 patients, 1 studies, 3 series; added 3/);
    assert.match(exported.stdout, /export\.zip: 4 files/);
    // Python's zipfile checks every CRC and reads the names; the files are the folder's, byte for byte.
    const check = spawnSync(PYTHON, ['-c', `
import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
names = z.namelist()
print(names[0], len(names))
for n in names:
    assert z.read(n) == open(os.path.join(sys.argv[2], *n.split('/')), 'rb').read(), n
`, zip, out], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    assert.equal(check.stdout, 'DICOMDIR 4\n');
    const read = await readDicomDir(join(out, 'DICOMDIR'));
    assert.equal(read.roots[0]!.children[0]!.keys.string('StudyInstanceUID'), CR_STUDY);
    const missing = conduit('media', 'export', '--data', data, '--study', '1.2.3', join(dir, 'none'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nothing in the archive/);

    const serverData = join(dir, 'served');
    const server = await startServer(loadConfig({ flags: { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir: serverData }, env: {} }));
    try {
      const sent = await conduitAsync('media', 'import', out, '--host', '127.0.0.1', '--port', String(server.dimsePort), '--aec', 'ARCHIVE');
      assert.equal(sent.status, 0, sent.stderr);
      assert.match(sent.stdout, /imported 3 of 3 instances/);
      const stored = await server.archive.index.instancesFor('STUDY', CR_STUDY);
      assert.equal(stored.length, 3);
    } finally {
      await server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
