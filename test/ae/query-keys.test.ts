/**
 * Identifiers from `-k` style keys (buildIdentifier): keywords and tags, VRs from the dictionary,
 * return keys, several values, sequence items, the Specific Character Set set before the text, and
 * errors that name the key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildIdentifier } from '../../src/ae/index.js';
import { DataSet } from '../../src/data/data-set.js';
import { DicomError } from '../../src/core/dicom-error.js';

test('keywords and tags get the dictionary VR; no value is a zero-length return key; a backslash separates values', () => {
  const ds = buildIdentifier(['PatientName=DOE*', '(0010,0020)=123', '0008,0020=20200101-', 'StudyInstanceUID', 'ModalitiesInStudy=CT\\MR', 'NumberOfStudyRelatedInstances', 'Rows=512']);
  assert.equal(ds.get('PatientName')?.vr, 'PN');
  assert.equal(ds.string('PatientName'), 'DOE*');
  assert.equal(ds.get('PatientID')?.vr, 'LO');
  assert.equal(ds.string('PatientID'), '123');
  assert.equal(ds.get('StudyDate')?.vr, 'DA');
  assert.equal(ds.string('StudyDate'), '20200101-');
  assert.equal(ds.get('StudyInstanceUID')?.valueLength, 0);
  assert.deepEqual(ds.strings('ModalitiesInStudy'), ['CT', 'MR']);
  assert.equal(ds.get('NumberOfStudyRelatedInstances')?.vr, 'IS');
  assert.equal(ds.get('Rows')?.vr, 'US');
  assert.equal(ds.number('Rows'), 512);
  assert.equal(ds.has('SpecificCharacterSet'), false, 'ASCII keys need no character set');
});

test('a non-ASCII value sets ISO_IR 192 first; an explicit character set is used for the text', () => {
  const utf8 = buildIdentifier({ PatientName: '山田^太郎', PatientID: null });
  assert.equal(utf8.string('SpecificCharacterSet'), 'ISO_IR 192');
  assert.deepEqual([...utf8.get('PatientName')!.bytes.subarray(0, 3)], [0xe5, 0xb1, 0xb1]);
  assert.equal(utf8.string('PatientName'), '山田^太郎');
  const latin1 = buildIdentifier(['PatientName=Müller'], { characterSet: 'ISO_IR 100' });
  assert.equal(latin1.string('SpecificCharacterSet'), 'ISO_IR 100');
  assert.equal(latin1.get('PatientName')!.bytes[1], 0xfc);
  const asKey = buildIdentifier(['PatientName=Müller', 'SpecificCharacterSet=ISO_IR 100']);
  assert.equal(asKey.get('PatientName')!.bytes[1], 0xfc, 'the character set key applies to every key, whatever its place');
});

test('sequence paths build items; a bare sequence is an empty sequence key', () => {
  const ds = buildIdentifier(['ReferencedStudySequence[1].ReferencedSOPInstanceUID=1.2.3', 'ReferencedStudySequence.ReferencedSOPClassUID', 'ProcedureCodeSequence']);
  const items = ds.items('ReferencedStudySequence');
  assert.equal(items.length, 2);
  assert.equal(items[1]!.string('ReferencedSOPInstanceUID'), '1.2.3');
  assert.ok(items[0]!.has('ReferencedSOPClassUID'));
  assert.deepEqual(ds.items('ProcedureCodeSequence'), []);
  assert.ok(ds.has('ProcedureCodeSequence'));
});

test('a DataSet is used as it is; the level option sets (0008,0052)', () => {
  const given = new DataSet();
  given.set('PatientID', 'LO', 'X');
  assert.equal(buildIdentifier(given), given);
  assert.equal(buildIdentifier(['PatientID=1'], { level: 'PATIENT' }).string('QueryRetrieveLevel'), 'PATIENT');
});

test('bad keys are refused with the key named', () => {
  const refuses = (keys: string[], re: RegExp) => assert.throws(() => buildIdentifier(keys), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_INVALID_ARGUMENT' && re.test(e.message));
  refuses(['PatientNam=DOE'], /unknown attribute "PatientNam" in the key "PatientNam=DOE"/);
  refuses(['=DOE'], /names no attribute/);
  refuses(['PatientName.PatientID=1'], /is not a sequence/);
  refuses(['(0009,1001)=x'], /no VR is known for \(0009,1001\)/);
  refuses(['Rows=many'], /cannot be encoded as US/);
  refuses(['ReferencedStudySequence=1'], /is a sequence/);
});
