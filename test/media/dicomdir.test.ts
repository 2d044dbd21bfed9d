/**
 * File-sets built in code: File IDs, the DICOMDIR layout (every offset points at the record it
 * names), the record keys and the Type 1 keys filled in, the profile checks, update (add, remove)
 * and inactive or dangling records when reading. Peers check the same files in
 * test/interop/dicomdir-interop.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DicomError } from '../../src/core/dicom-error.js';
import { DataSet } from '../../src/data/data-set.js';
import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from '../../src/data/transfer-syntax.js';
import { buildFileMeta } from '../../src/media/file-meta.js';
import { readFile, writeFile } from '../../src/media/part10.js';
import {
  encodeDicomDir, fileIdProblem, FileSet, flattenRecords, parseDicomDir, recordTypeFor, type DirectoryRecord, type ReadDicomDir,
} from '../../src/media/dicomdir/index.js';

const CT = '1.2.840.10008.5.1.4.1.1.2';
const BASIC_TEXT_SR = '1.2.840.10008.5.1.4.1.1.88.11';
const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'conduit-dicomdir-'));
}

interface InstanceSpec {
  sopInstanceUid: string;
  patientId?: string;
  studyUid?: string;
  seriesUid?: string;
  instanceNumber?: string;
  sopClassUid?: string;
  transferSyntaxUid?: string;
  omit?: string[];
}

/** Writes a small CT instance (no pixel data) as a Part 10 file and returns its path. */
async function writeInstance(dir: string, spec: InstanceSpec): Promise<string> {
  const ds = new DataSet();
  const values: Array<[string, string]> = [
    ['SpecificCharacterSet', 'ISO_IR 100'],
    ['ImageType', 'ORIGINAL\\PRIMARY'],
    ['SOPClassUID', spec.sopClassUid ?? CT],
    ['SOPInstanceUID', spec.sopInstanceUid],
    ['StudyDate', '20240102'],
    ['StudyTime', '101500'],
    ['AccessionNumber', 'A1'],
    ['Modality', 'CT'],
    ['StudyDescription', 'Chest'],
    ['PatientName', 'Müller^Jürgen'],
    ['PatientID', spec.patientId ?? 'P1'],
    ['StudyInstanceUID', spec.studyUid ?? '1.2.3.1'],
    ['SeriesInstanceUID', spec.seriesUid ?? '1.2.3.1.1'],
    ['StudyID', 'S1'],
    ['SeriesNumber', '1'],
    ['InstanceNumber', spec.instanceNumber ?? '1'],
  ];
  for (const [keyword, value] of values) {
    if (spec.omit?.includes(keyword)) continue;
    ds.set(keyword, undefined, keyword === 'ImageType' ? value.split('\\') : value);
  }
  ds.set('Rows', undefined, 2);
  ds.set('Columns', undefined, 2);
  const ts = spec.transferSyntaxUid ?? EXPLICIT_VR_LITTLE_ENDIAN;
  const path = join(dir, `in-${spec.sopInstanceUid}.dcm`);
  await writeFile(path, { preamble: null, meta: buildFileMeta({ sopClassUid: spec.sopClassUid ?? CT, sopInstanceUid: spec.sopInstanceUid, transferSyntaxUid: ts }), dataSet: ds, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN, warnings: [] }, { transferSyntaxUid: ts === JPEG_BASELINE ? undefined : ts });
  if (ts === JPEG_BASELINE) {
    // A JPEG file only by its meta (the check is on the transfer syntax, not on the pixels).
    const file = await readFile(path);
    file.meta.set(0x00020010, 'UI', JPEG_BASELINE);
    file.transferSyntaxUid = JPEG_BASELINE;
    await writeFile(path, file);
  }
  return path;
}

/** Checks that every offset in the file names the start of a record, and the tree is the one built. */
function assertLayout(bytes: Uint8Array, read: ReadDicomDir): void {
  const starts = new Set(read.records.map((r) => r.offset));
  for (const r of read.records) {
    if (r.next) assert.ok(starts.has(r.next), `next ${r.next} of the record at ${r.offset} is a record`);
    if (r.lower) assert.ok(starts.has(r.lower), `lower ${r.lower} of the record at ${r.offset} is a record`);
    // The item tag (FFFE,E000) is at the offset.
    assert.deepEqual([...bytes.subarray(r.offset, r.offset + 4)], [0xfe, 0xff, 0x00, 0xe0]);
  }
  assert.deepEqual(read.warnings, []);
  assert.deepEqual(read.orphans, []);
  assert.equal(read.records.length, flattenRecords(read.roots).length);
}

function shape(records: readonly DirectoryRecord[]): unknown[] {
  return records.map((r) => [r.type, r.keys.string('PatientID') ?? r.keys.string('StudyInstanceUID') ?? r.keys.string('SeriesInstanceUID') ?? r.keys.string(0x00041511), shape(r.children)]);
}

test('File IDs: at most 8 components of 1 to 8 characters A-Z, 0-9 and _ (PS3.10 §8.2, §8.5)', () => {
  assert.equal(fileIdProblem(['PT000000', 'ST000000', 'IM_1']), undefined);
  assert.match(fileIdProblem(['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I'])!, /9 components/);
  assert.match(fileIdProblem(['IMAGE0001'])!, /9 characters/);
  assert.match(fileIdProblem(['im1'])!, /outside A-Z/);
  assert.match(fileIdProblem(['IM.DCM'])!, /outside A-Z/);
  assert.match(fileIdProblem([])!, /at least one/);
});

test('record types: images are IMAGE, SR and RT get their own, non-storage classes are refused', () => {
  assert.deepEqual(recordTypeFor(CT), { recordType: 'IMAGE' });
  assert.deepEqual(recordTypeFor(BASIC_TEXT_SR), { recordType: 'SR DOCUMENT' });
  assert.deepEqual(recordTypeFor('1.2.840.10008.5.1.4.1.1.481.5'), { recordType: 'RT PLAN' });
  assert.deepEqual(recordTypeFor('1.2.840.10008.5.1.4.1.1.11.1'), { recordType: 'PRESENTATION' });
  assert.match((recordTypeFor('1.2.840.10008.1.1') as { problem: string }).problem, /not a Media Storage SOP Class/);
  assert.match((recordTypeFor('1.2.840.10008.5.1.4.38.1') as { problem: string }).problem, /no place under PATIENT/);
});

test('a new file-set: records PATIENT/STUDY/SERIES/IMAGE, keys copied, offsets pointing at their records', async () => {
  const dir = tempDir();
  try {
    const inputs = [
      await writeInstance(dir, { sopInstanceUid: '1.2.3.1.1.1' }),
      await writeInstance(dir, { sopInstanceUid: '1.2.3.1.1.2', instanceNumber: '2' }),
      await writeInstance(dir, { sopInstanceUid: '1.2.3.1.2.1', seriesUid: '1.2.3.1.2' }),
      await writeInstance(dir, { sopInstanceUid: '1.2.4.1.1.1', patientId: 'P2', studyUid: '1.2.4.1', seriesUid: '1.2.4.1.1' }),
    ];
    const out = join(dir, 'fs');
    const set = await FileSet.create(out, { fileSetId: 'CONDUIT TEST' });
    for (const p of inputs) assert.equal((await set.add(p)).status, 'added');
    const notes = join(dir, 'notes.txt');
    writeFileSync(notes, 'Chest CT, two patients.\n');
    await set.setDescriptor(notes, { characterSet: 'ISO_IR 100' });
    await set.write();
    const bytes = readFileSync(join(out, 'DICOMDIR'));
    const read = parseDicomDir(bytes);
    assertLayout(bytes, read);
    assert.equal(read.fileSetId, 'CONDUIT TEST');
    assert.deepEqual(read.descriptorFileId, ['README']);
    assert.equal(read.descriptorCharacterSet, 'ISO_IR 100');
    assert.equal(readFileSync(join(out, 'README'), 'utf8'), 'Chest CT, two patients.\n');
    assert.deepEqual(shape(read.roots), [
      ['PATIENT', 'P1', [['STUDY', '1.2.3.1', [
        ['SERIES', '1.2.3.1.1', [['IMAGE', '1.2.3.1.1.1', []], ['IMAGE', '1.2.3.1.1.2', []]]],
        ['SERIES', '1.2.3.1.2', [['IMAGE', '1.2.3.1.2.1', []]]],
      ]]]],
      ['PATIENT', 'P2', [['STUDY', '1.2.4.1', [['SERIES', '1.2.4.1.1', [['IMAGE', '1.2.4.1.1.1', []]]]]]]],
    ]);
    const patient = read.roots[0]!;
    assert.equal(patient.keys.string('PatientName'), 'Müller^Jürgen', 'text decoded with the Specific Character Set copied into the record');
    const study = patient.children[0]!;
    assert.deepEqual([study.keys.string('StudyDate'), study.keys.string('StudyTime'), study.keys.string('StudyID'), study.keys.string('AccessionNumber')], ['20240102', '101500', 'S1', 'A1']);
    const image = study.children[0]!.children[1]!;
    assert.equal(image.keys.string('InstanceNumber'), '2');
    assert.deepEqual(image.keys.strings('ImageType'), ['ORIGINAL', 'PRIMARY'], 'STD-GEN-CD adds Image Type (PS3.11 Table D.3-2)');
    assert.equal(image.keys.string(0x00041512), EXPLICIT_VR_LITTLE_ENDIAN);
    // The File ID names the copied file, which is the input byte for byte.
    const fileId = image.keys.strings(0x00041500);
    assert.deepEqual(fileId, ['PT000000', 'ST000000', 'SE000000', 'IM000001']);
    assert.deepEqual(readFileSync(join(out, ...fileId)), readFileSync(inputs[1]!));
    assert.equal(read.records[0]!.offset, read.roots[0]!.offset);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('update: adding and removing instances keeps every offset right, and empty upper records and folders go', async () => {
  const dir = tempDir();
  try {
    const out = join(dir, 'fs');
    const set = await FileSet.create(out);
    await set.add(await writeInstance(dir, { sopInstanceUid: '9.1' }));
    await set.add(await writeInstance(dir, { sopInstanceUid: '9.2', instanceNumber: '2' }));
    await set.write();

    const again = await FileSet.open(out);
    assert.equal(again.instances().length, 2);
    const added = await again.add(await writeInstance(dir, { sopInstanceUid: '9.3', patientId: 'P9', studyUid: '9.9', seriesUid: '9.9.9' }));
    assert.deepEqual(added.fileId, ['PT000001', 'ST000000', 'SE000000', 'IM000000']);
    const same = await again.add(await writeInstance(dir, { sopInstanceUid: '9.2', instanceNumber: '2' }));
    assert.equal(same.status, 'duplicate');
    assert.match(same.warnings[0]!, /in the file-set already/);
    const removedId = await again.remove('9.1');
    assert.equal(existsSync(join(out, ...removedId)), false);
    await again.write();
    let bytes = readFileSync(join(out, 'DICOMDIR'));
    let read = parseDicomDir(bytes);
    assertLayout(bytes, read);
    assert.deepEqual(shape(read.roots), [
      ['PATIENT', 'P1', [['STUDY', '1.2.3.1', [['SERIES', '1.2.3.1.1', [['IMAGE', '9.2', []]]]]]]],
      ['PATIENT', 'P9', [['STUDY', '9.9', [['SERIES', '9.9.9', [['IMAGE', '9.3', []]]]]]]],
    ]);
    // The last instance of patient P1 takes its series, study and patient records and folders along.
    const third = await FileSet.open(out);
    await third.remove('9.2');
    await third.write();
    bytes = readFileSync(join(out, 'DICOMDIR'));
    read = parseDicomDir(bytes);
    assertLayout(bytes, read);
    assert.deepEqual(shape(read.roots), [['PATIENT', 'P9', [['STUDY', '9.9', [['SERIES', '9.9.9', [['IMAGE', '9.3', []]]]]]]]]);
    assert.equal(existsSync(join(out, 'PT000000')), false);
    await assert.rejects(third.remove('9.1'), (err: DicomError) => err.code === 'ERR_DICOM_MEDIA_NOT_FOUND');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a Type 1 key missing from an instance is filled in with a warning, and the instance is kept', async () => {
  const dir = tempDir();
  try {
    const input = await writeInstance(dir, { sopInstanceUid: '7.1', omit: ['PatientID', 'StudyID', 'SeriesNumber', 'InstanceNumber', 'StudyTime'] });
    const set = await FileSet.create(join(dir, 'fs'));
    const result = await set.add(input);
    assert.equal(result.status, 'added');
    assert.deepEqual(result.warnings.map((w) => /: (\w+) \(/.exec(w)?.[1]), ['PatientID', 'StudyTime', 'StudyID', 'SeriesNumber', 'InstanceNumber']);
    await set.write();
    const read = parseDicomDir(readFileSync(join(dir, 'fs', 'DICOMDIR')));
    const patient = read.roots[0]!;
    const study = patient.children[0]!;
    assert.match(patient.keys.string('PatientID')!, /^CONDUIT\d{6}$/);
    assert.equal(study.keys.string('StudyTime'), '000000');
    assert.equal(study.keys.string('StudyID'), '1');
    assert.equal(study.children[0]!.keys.string('SeriesNumber'), '1');
    assert.equal(study.children[0]!.children[0]!.keys.string('InstanceNumber'), '1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one PATIENT record per Patient ID (PS3.11 D.3.3): an instance with another name goes under it, with a warning', async () => {
  const dir = tempDir();
  try {
    const set = await FileSet.create(join(dir, 'fs'));
    await set.add(await writeInstance(dir, { sopInstanceUid: '8.1' }));
    const other = await writeInstance(dir, { sopInstanceUid: '8.2', studyUid: '8.9', seriesUid: '8.9.1' });
    const file = await readFile(other);
    file.dataSet.set('PatientName', undefined, 'Other^Name');
    await writeFile(other, file);
    const result = await set.add(other);
    assert.match(result.warnings.join('\n'), /Patient's Name "Other\^Name" differs from "Müller\^Jürgen" of the PATIENT record with Patient ID P1/);
    assert.equal(set.roots.length, 1);
    assert.equal(set.roots[0]!.children.length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('profiles: what does not fit is refused by name; uncompressed syntaxes are written as Explicit VR Little Endian', async () => {
  const dir = tempDir();
  try {
    const jpeg = await writeInstance(dir, { sopInstanceUid: '5.1', transferSyntaxUid: JPEG_BASELINE });
    const implicit = await writeInstance(dir, { sopInstanceUid: '5.2', transferSyntaxUid: IMPLICIT_VR_LITTLE_ENDIAN });
    const cd = await FileSet.create(join(dir, 'cd'));
    await assert.rejects(cd.add(jpeg), (err: DicomError) => {
      assert.equal(err.code, 'ERR_DICOM_MEDIA_PROFILE');
      assert.match(err.message, /JPEG Baseline.*1\.2\.840\.10008\.1\.2\.4\.50.*not allowed by STD-GEN-CD.*allows Explicit VR Little Endian/);
      return true;
    });
    const result = await cd.add(implicit);
    assert.match(result.warnings[0]!, /written as Explicit VR Little Endian, not Implicit VR Little Endian/);
    const written = await readFile(join(dir, 'cd', ...result.fileId));
    assert.equal(written.transferSyntaxUid, EXPLICIT_VR_LITTLE_ENDIAN);
    assert.equal(written.dataSet.string('PatientID'), 'P1');

    const dvd = await FileSet.create(join(dir, 'dvd'), { profile: 'STD-GEN-DVD-JPEG' });
    const added = await dvd.add(jpeg);
    assert.equal(added.status, 'added');
    await dvd.write();
    const read = parseDicomDir(readFileSync(join(dir, 'dvd', 'DICOMDIR')));
    const image = read.roots[0]!.children[0]!.children[0]!.children[0]!;
    assert.equal(image.keys.string(0x00041512), JPEG_BASELINE);
    assert.deepEqual([image.keys.number('Rows'), image.keys.number('Columns')], [2, 2], 'Rows and Columns are Type 1 keys of STD-GEN-DVD-JPEG (PS3.11 Table H.3-2)');

    const lax = await FileSet.create(join(dir, 'lax'), { anyTransferSyntax: true });
    const kept = await lax.add(jpeg);
    assert.equal(kept.status, 'added');
    assert.match(kept.warnings[0]!, /kept in JPEG Baseline .* the file-set does not conform to STD-GEN-CD/);
    assert.equal((await readFile(join(dir, 'lax', ...kept.fileId))).transferSyntaxUid, JPEG_BASELINE);

    const sr = await writeInstance(dir, { sopInstanceUid: '5.3', sopClassUid: '1.2.840.10008.1.1' });
    await assert.rejects(cd.add(sr), /Verification SOP Class\) is not a Media Storage SOP Class/);
    await assert.rejects(FileSet.create(join(dir, 'x'), { profile: 'STD-NOPE' }), (err: DicomError) => err.code === 'ERR_DICOM_MEDIA_PROFILE' && /STD-GEN-USB-J2K/.test(err.message));
    await assert.rejects(FileSet.create(join(dir, 'y'), { fileSetId: 'lower case' }), (err: DicomError) => err.code === 'ERR_DICOM_MEDIA_FILE_ID');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reading: an inactive record is marked, a dangling or looping offset ends its entity with a warning', async () => {
  const dir = tempDir();
  try {
    const set = await FileSet.create(join(dir, 'fs'));
    await set.add(await writeInstance(dir, { sopInstanceUid: '3.1' }));
    await set.add(await writeInstance(dir, { sopInstanceUid: '3.2', patientId: 'P2', studyUid: '3.9', seriesUid: '3.9.1' }));
    await set.write();
    const dicomdir = parseDicomDir(readFileSync(join(dir, 'fs', 'DICOMDIR')));
    dicomdir.roots[1]!.children[0]!.children[0]!.children[0]!.inUse = false;
    const bytes = encodeDicomDir(dicomdir);
    const read = parseDicomDir(bytes);
    assert.deepEqual(read.records.map((r) => r.inUse), [true, true, true, true, true, true, true, false]);
    writeFileSync(join(dir, 'fs', 'DICOMDIR'), bytes);
    const opened = await FileSet.open(join(dir, 'fs'));
    assert.deepEqual(opened.instances().map((i) => i.sopInstanceUid), ['3.1']);
    assert.match(opened.warnings.join('\n'), /1 inactive directory record\(s\) left out/);

    // The first patient's next offset (the item's first element's value, 8 + 8 bytes in) made to point nowhere, then at itself.
    const first = read.roots[0]!.offset!;
    const patched = Uint8Array.from(bytes);
    new DataView(patched.buffer).setUint32(first + 16, 12345, true);
    const dangling = parseDicomDir(patched);
    assert.equal(dangling.roots.length, 1);
    assert.match(dangling.warnings.join('\n'), /offset 12345 is not the start of a directory record/);
    assert.equal(dangling.orphans.length, 4);
    new DataView(patched.buffer).setUint32(first + 16, first, true);
    const looping = parseDicomDir(patched);
    assert.equal(looping.roots.length, 1);
    assert.match(looping.warnings.join('\n'), /reached twice \(a loop\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a DICOMDIR whose sequence and items have undefined lengths: the same records, offsets found past the delimiters', async () => {
  const dir = tempDir();
  try {
    const set = await FileSet.create(join(dir, 'fs'));
    await set.add(await writeInstance(dir, { sopInstanceUid: '6.1' }));
    await set.add(await writeInstance(dir, { sopInstanceUid: '6.2', patientId: 'P2', studyUid: '6.9', seriesUid: '6.9.1' }));
    await set.write();
    const defined = parseDicomDir(readFileSync(join(dir, 'fs', 'DICOMDIR')));
    const bytes = encodeDicomDir(defined, { lengths: 'undefined' });
    const read = parseDicomDir(bytes);
    assertLayout(bytes, read);
    assert.deepEqual(shape(read.roots), shape(defined.roots));
    // Each item ends with an item delimiter, so the offsets grow by 8 bytes per record before.
    assert.deepEqual(read.records.map((r, i) => r.offset - defined.records[i]!.offset), read.records.map((_, i) => 8 * i));
    // (FFFE,E000) with length FFFFFFFFH.
    assert.deepEqual([...bytes.subarray(read.records[0]!.offset + 4, read.records[0]!.offset + 8)], [0xff, 0xff, 0xff, 0xff]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that is not a DICOMDIR is refused with ERR_DICOM_MEDIA_BAD_DICOMDIR', async () => {
  const dir = tempDir();
  try {
    const path = await writeInstance(dir, { sopInstanceUid: '4.1' });
    assert.throws(() => parseDicomDir(readFileSync(path)), (err: DicomError) => err.code === 'ERR_DICOM_MEDIA_BAD_DICOMDIR' && /not a DICOMDIR/.test(err.message));
    await assert.rejects(FileSet.open(join(dir, 'none')), (err: DicomError) => err.code === 'ERR_DICOM_MEDIA_NOT_FOUND');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
