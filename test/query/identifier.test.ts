import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataSet } from '../../src/data/data-set.js';
import { parseIdentifier } from '../../src/query/identifier.js';
import { QueryError, QueryStatus } from '../../src/query/query-error.js';
import { informationModelOfSopClass } from '../../src/query/query.js';
import { dataSet, identifier, type KeyObject } from './helpers.js';
import type { QueryLevel, QueryOptions } from '../../src/query/query.js';

const STUDY_UID = 0x0020000d;
const SERIES_UID = 0x0020000e;
const PATIENT_ID = 0x00100020;
const PATIENT_NAME = 0x00100010;
const LEVEL = 0x00080052;

function parse(level: QueryLevel, keys: KeyObject, model: 'PatientRoot' | 'StudyRoot' = 'PatientRoot', options: Partial<QueryOptions> = {}, lenient = false) {
  return parseIdentifier(identifier(level, keys), { model, options, lenient });
}

/** Asserts the parse fails with this code, status A900 (unless given) and offending elements. */
function rejects(fn: () => unknown, code: string, offending: readonly number[], status: number = QueryStatus.IdentifierDoesNotMatchSOPClass): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof QueryError, String(e));
    assert.equal(e.code, code, e.message);
    assert.equal(e.status, status);
    assert.deepEqual(e.offendingElements, offending);
    return true;
  });
}

test('a Study Root STUDY query: keys, levels, matching types, return keys', () => {
  const q = parse('STUDY', { PatientName: 'Doe*', PatientID: null, StudyDate: '20200101-', StudyInstanceUID: null, ModalitiesInStudy: 'CT' }, 'StudyRoot');
  assert.equal(q.origin, 'C-FIND');
  assert.equal(q.level, 'STUDY');
  assert.equal(q.model.name, 'StudyRoot');
  assert.deepEqual(q.keys.map((k) => [k.keyword, k.level, k.matching.type]), [
    ['StudyDate', 'STUDY', 'range'], ['ModalitiesInStudy', 'STUDY', 'single'], ['PatientName', 'STUDY', 'wildcard'],
    ['PatientID', 'STUDY', 'universal'], ['StudyInstanceUID', 'STUDY', 'universal'],
  ]);
  assert.deepEqual(q.unsupportedKeys, []);
  assert.equal(informationModelOfSopClass('1.2.840.10008.5.1.4.1.2.2.1')?.name, 'StudyRoot');
});

test('Query/Retrieve Level missing or not of the model: A900 with (0008,0052)', () => {
  rejects(() => parseIdentifier(dataSet({ PatientID: null }), { model: 'PatientRoot' }), 'ERR_DICOM_QUERY_LEVEL', [LEVEL]);
  const bad = identifier('STUDY', { StudyInstanceUID: null });
  bad.set('QueryRetrieveLevel', 'CS', 'FRAME');
  rejects(() => parseIdentifier(bad, { model: 'PatientRoot' }), 'ERR_DICOM_QUERY_LEVEL', [LEVEL]);
  // Study Root has no PATIENT level; the retired Patient/Study Only model has no SERIES level.
  rejects(() => parse('PATIENT', { PatientID: null }, 'StudyRoot'), 'ERR_DICOM_QUERY_LEVEL', [LEVEL]);
  rejects(() => parseIdentifier(identifier('SERIES', { SeriesInstanceUID: null }), { model: 'PatientStudyOnly' }), 'ERR_DICOM_QUERY_LEVEL', [LEVEL]);
});

test('hierarchical: the Unique Key of every level above needs one value (C.4.1.2.1)', () => {
  const ok = parse('SERIES', { PatientID: 'P1', StudyInstanceUID: '1.2.3', SeriesInstanceUID: null, Modality: 'CT' });
  assert.equal(ok.keys.length, 4);
  rejects(() => parse('SERIES', { PatientID: 'P1', SeriesInstanceUID: null }), 'ERR_DICOM_QUERY_UNIQUE_KEY', [STUDY_UID]);
  rejects(() => parse('SERIES', { StudyInstanceUID: '1.2.3', SeriesInstanceUID: null }), 'ERR_DICOM_QUERY_UNIQUE_KEY', [PATIENT_ID]);
  // Not a list, not a wild card, not universal.
  rejects(() => parse('SERIES', { PatientID: 'P1', StudyInstanceUID: '1.2.3\\1.2.4', SeriesInstanceUID: null }), 'ERR_DICOM_QUERY_UNIQUE_KEY', [STUDY_UID]);
  rejects(() => parse('STUDY', { PatientID: 'P*', StudyInstanceUID: null }), 'ERR_DICOM_QUERY_UNIQUE_KEY', [PATIENT_ID]);
  rejects(() => parse('STUDY', { PatientID: null, StudyInstanceUID: null }), 'ERR_DICOM_QUERY_UNIQUE_KEY', [PATIENT_ID]);
  // The Unique Key of the query level itself is required too.
  rejects(() => parse('STUDY', { PatientID: 'P1', StudyDate: null }), 'ERR_DICOM_QUERY_UNIQUE_KEY', [STUDY_UID]);
  // In Study Root, Patient ID is a Required key of the study level, not a level above.
  assert.equal(parse('SERIES', { StudyInstanceUID: '1.2.3', SeriesInstanceUID: null }, 'StudyRoot').keys.length, 2);
});

test('supplyUniqueKey: a query without its own level\'s Unique Key asks for it (Universal Matching); the levels above are still required', () => {
  const supplied = parseIdentifier(identifier('STUDY', { PatientID: 'P1', StudyDate: '20200101' }), { model: 'PatientRoot', supplyUniqueKey: true });
  const uid = supplied.keys.find((k) => k.tag === STUDY_UID);
  assert.deepEqual(uid && { keyword: uid.keyword, level: uid.level, matching: uid.matching.type }, { keyword: 'StudyInstanceUID', level: 'STUDY', matching: 'universal' });
  assert.deepEqual(supplied.keys.map((k) => k.keyword).sort(), ['PatientID', 'StudyDate', 'StudyInstanceUID']);
  // A key given is kept as given.
  const given = parseIdentifier(identifier('STUDY', { PatientID: 'P1', StudyInstanceUID: '1.2.3' }), { model: 'PatientRoot', supplyUniqueKey: true });
  assert.deepEqual(given.keys.find((k) => k.tag === STUDY_UID)!.matching.type, 'single');
  // The Unique Key of a level above is not made up: without it the query has no place in the hierarchy.
  rejects(() => parseIdentifier(identifier('STUDY', { StudyInstanceUID: null }), { model: 'PatientRoot', supplyUniqueKey: true }), 'ERR_DICOM_QUERY_UNIQUE_KEY', [PATIENT_ID]);
});

test('hierarchical: no Required or Optional keys above the query level; relational-queries allows them (C.4.1.3.2.1)', () => {
  rejects(() => parse('STUDY', { PatientID: 'P1', PatientName: 'Doe', StudyInstanceUID: null }), 'ERR_DICOM_QUERY_KEY_LEVEL', [PATIENT_NAME]);
  const relational = parse('SERIES', { PatientName: 'Doe*', StudyDate: '20200101', SeriesInstanceUID: null }, 'PatientRoot', { relational: true });
  assert.deepEqual(relational.keys.map((k) => k.keyword), ['StudyDate', 'PatientName', 'SeriesInstanceUID']);
  assert.equal(relational.options.relational, true);
});

test('keys below the query level: A900, or unsupported (FF01) when lenient', () => {
  rejects(() => parse('STUDY', { PatientID: 'P1', StudyInstanceUID: null, Modality: 'CT' }), 'ERR_DICOM_QUERY_KEY_LEVEL', [0x00080060]);
  const lenient = parse('STUDY', { StudyInstanceUID: null, Modality: 'CT', PatientName: 'X' }, 'PatientRoot', {}, true);
  assert.deepEqual(lenient.unsupportedKeys, [0x00080060, PATIENT_NAME]);
  assert.deepEqual(lenient.keys.map((k) => k.keyword), ['StudyInstanceUID']);
});

test('private and unknown attributes are unsupported optional keys (C.2.2.1.3)', () => {
  const ds = identifier('STUDY', { StudyInstanceUID: null });
  ds.set(0x00090010, 'LO', 'ACME');
  ds.set(0x00091001, 'LO', 'x');
  ds.set(0x7777_0010, 'LO', 'y');
  const q = parseIdentifier(ds, { model: 'StudyRoot' });
  assert.deepEqual(q.unsupportedKeys, [0x00090010, 0x00091001, 0x77770010]);
});

test('values that cannot be matched: A900 naming the key', () => {
  rejects(() => parse('STUDY', { StudyInstanceUID: '1.2.*' }, 'StudyRoot'), 'ERR_DICOM_QUERY_BAD_VALUE', [STUDY_UID]);
  rejects(() => parse('STUDY', { StudyInstanceUID: null, StudyDate: '20201301' }, 'StudyRoot'), 'ERR_DICOM_QUERY_BAD_VALUE', [0x00080020]);
  rejects(() => parse('STUDY', { StudyInstanceUID: null, StudyDate: '20200201-20200101' }, 'StudyRoot'), 'ERR_DICOM_QUERY_BAD_VALUE', [0x00080020]);
  rejects(() => parse('STUDY', { StudyInstanceUID: null, StudyDate: '-' }, 'StudyRoot'), 'ERR_DICOM_QUERY_BAD_VALUE', [0x00080020]);
  // C.2.2.2.5.2: "Range matching crossing midnight is not supported".
  rejects(() => parse('STUDY', { StudyInstanceUID: null, StudyTime: '2200-0200' }, 'StudyRoot'), 'ERR_DICOM_QUERY_BAD_VALUE', [0x00080030]);
  rejects(() => parse('SERIES', { SeriesInstanceUID: null, SeriesNumber: 'seven' }, 'StudyRoot', { relational: true }), 'ERR_DICOM_QUERY_BAD_VALUE', [0x00200011]);
  // C.4.1.1.3.1: Timezone Offset From UTC "shall not be sent with a zero-length value".
  rejects(() => parse('STUDY', { StudyInstanceUID: null, TimezoneOffsetFromUTC: null }, 'StudyRoot'), 'ERR_DICOM_QUERY_BAD_VALUE', [0x00080201]);
  // Sequence Matching takes exactly one item; a bad value inside names the path.
  rejects(() => parse('STUDY', { StudyInstanceUID: null, ReferencedStudySequence: [{ ReferencedSOPInstanceUID: '1' }, { ReferencedSOPInstanceUID: '2' }] }, 'StudyRoot'), 'ERR_DICOM_QUERY_BAD_VALUE', [0x00081110]);
  rejects(() => parse('STUDY', { StudyInstanceUID: null, ReferencedStudySequence: [{ ReferencedSOPInstanceUID: 'x' }] }, 'StudyRoot'), 'ERR_DICOM_QUERY_BAD_VALUE', [0x00081110, 0x00081155]);
});

test('Multiple Value Matching takes VR AE, AS, AT, CS, LO, PN, SH, UC of VM > 1 and no wild cards (C.2.2.2.8)', () => {
  const m = parse('STUDY', { StudyInstanceUID: null, ModalitiesInStudy: 'CT\\PT\\CT' }, 'StudyRoot', { multipleValueMatching: true });
  assert.deepEqual(m.keys.find((k) => k.keyword === 'ModalitiesInStudy')!.matching, { type: 'multiple', values: ['CT', 'PT'] });
  rejects(() => parse('STUDY', { StudyInstanceUID: null, ModalitiesInStudy: 'M*\\P?' }, 'StudyRoot', { multipleValueMatching: true }), 'ERR_DICOM_QUERY_BAD_VALUE', [0x00080061]);
  rejects(() => parse('STUDY', { StudyInstanceUID: null, StudyDate: '-20191231\\20200201-' }, 'StudyRoot', { multipleValueMatching: true }), 'ERR_DICOM_QUERY_BAD_VALUE', [0x00080020]);
  rejects(() => parse('STUDY', { StudyInstanceUID: null, AccessionNumber: 'A\\B' }, 'StudyRoot', { multipleValueMatching: true }), 'ERR_DICOM_QUERY_BAD_VALUE', [0x00080050]);
});

test('a lone "*" is Universal Matching for every VR (C.2.2.2.4 note 1; also taken for DA, TM, UI, IS)', () => {
  const q = parse('STUDY', { StudyInstanceUID: '*', StudyDate: '*', StudyTime: '**', AccessionNumber: '*', PatientName: '*' }, 'StudyRoot');
  for (const k of q.keys) assert.equal(k.matching.type, 'universal', k.keyword);
  rejects(() => parse('STUDY', { StudyInstanceUID: null, StudyDate: '2020*' }, 'StudyRoot'), 'ERR_DICOM_QUERY_BAD_VALUE', [0x00080020]);
});

test('options that were not negotiated: several values, Query/Retrieve View', () => {
  rejects(() => parse('STUDY', { StudyInstanceUID: null, ModalitiesInStudy: 'CT\\MR' }, 'StudyRoot'), 'ERR_DICOM_QUERY_NOT_NEGOTIATED', [0x00080061]);
  const multiple = parse('STUDY', { StudyInstanceUID: null, ModalitiesInStudy: 'CT\\MR' }, 'StudyRoot', { multipleValueMatching: true });
  assert.equal(multiple.keys.find((k) => k.keyword === 'ModalitiesInStudy')!.matching.type, 'multiple');
  rejects(() => parse('STUDY', { StudyInstanceUID: null, QueryRetrieveView: 'CLASSIC' }, 'StudyRoot'), 'ERR_DICOM_QUERY_NOT_NEGOTIATED', [0x00080053]);
  const view = parse('STUDY', { StudyInstanceUID: null, QueryRetrieveView: 'ENHANCED' }, 'StudyRoot', { enhancedMultiFrameImageConversion: true });
  assert.equal(view.view, 'ENHANCED');
  rejects(() => parse('STUDY', { StudyInstanceUID: null, QueryRetrieveView: 'OTHER' }, 'StudyRoot', { enhancedMultiFrameImageConversion: true }), 'ERR_DICOM_QUERY_BAD_VALUE', [0x00080053]);
});

test('Specific Character Set, Timezone Offset From UTC and the response-only attributes are not matching keys', () => {
  const q = parse('STUDY', { StudyInstanceUID: null, TimezoneOffsetFromUTC: '-0500', RetrieveAETitle: null, InstanceAvailability: 'ONLINE', PatientName: '山田*' }, 'StudyRoot');
  assert.deepEqual(q.characterSet, ['ISO_IR 192']);
  assert.deepEqual(q.timezoneOffset, { text: '-0500', minutes: -300 });
  assert.deepEqual(q.keys.map((k) => [k.keyword, k.matching.type]), [
    ['RetrieveAETitle', 'universal'], ['InstanceAvailability', 'universal'], ['PatientName', 'wildcard'], ['StudyInstanceUID', 'universal'],
  ]);
});

test('the matching type of each value form (C.2.2.2)', () => {
  const q = parse('STUDY', {
    StudyInstanceUID: null, PatientName: '*', StudyDescription: 'A?C', AccessionNumber: 'A1', StudyDate: '20200101',
    StudyTime: '-1200', ReferringPhysicianName: '*=*', StudyID: '""',
  }, 'StudyRoot', { emptyValueMatching: true });
  const types = Object.fromEntries(q.keys.map((k) => [k.keyword, k.matching]));
  assert.deepEqual(types.PatientName, { type: 'universal' });
  assert.deepEqual(types.ReferringPhysicianName, { type: 'universal' });
  assert.deepEqual(types.StudyDescription, { type: 'wildcard', pattern: 'A?C' });
  assert.deepEqual(types.AccessionNumber, { type: 'single', value: 'A1' });
  assert.deepEqual(types.StudyDate, { type: 'single', value: '20200101' });
  assert.deepEqual(types.StudyTime, { type: 'range', upper: '1200' });
  assert.deepEqual(types.StudyID, { type: 'empty' });
  // Combined pairs: the DA key carries the range, the TM key stays as a return key.
  const c = parse('STUDY', { StudyInstanceUID: null, StudyDate: '20060705-20060707', StudyTime: '1000-1800' }, 'StudyRoot', { combinedDateTimeMatching: true });
  assert.deepEqual(c.keys.map((k) => k.matching), [
    { type: 'combined-range', timeTag: 0x00080030, lower: { date: '20060705', time: '1000' }, upper: { date: '20060707', time: '1800' } },
    { type: 'combined', dateTag: 0x00080020 },
    { type: 'universal' },
  ]);
});

test('sequence keys: an empty item or no item is universal; item keys keep their matching', () => {
  const q = parse('STUDY', { StudyInstanceUID: null, ReferencedStudySequence: [{}], ProcedureCodeSequence: [{ CodeValue: 'X*', CodeMeaning: null }] }, 'StudyRoot');
  const byName = Object.fromEntries(q.keys.map((k) => [k.keyword, k.matching]));
  assert.deepEqual(byName.ReferencedStudySequence, { type: 'universal' });
  assert.equal(byName.ProcedureCodeSequence!.type, 'sequence');
  const empty = identifier('STUDY', { StudyInstanceUID: null });
  empty.set('ReferencedStudySequence', 'SQ', []);
  assert.deepEqual(parseIdentifier(empty, { model: 'StudyRoot' }).keys[0]!.matching, { type: 'universal' });
});

test('group lengths and command or meta groups in an Identifier are ignored', () => {
  const ds = new DataSet();
  ds.set(0x00080000, 'UL', 10);
  ds.set(0x00020010, 'UI', '1.2.840.10008.1.2');
  ds.set('QueryRetrieveLevel', 'CS', 'STUDY');
  ds.set('StudyInstanceUID', 'UI', null);
  assert.deepEqual(parseIdentifier(ds, { model: 'StudyRoot' }).keys.map((k) => k.keyword), ['StudyInstanceUID']);
});
