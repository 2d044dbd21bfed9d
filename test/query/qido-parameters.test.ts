import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matches } from '../../src/query/matching.js';
import { parseQidoQuery } from '../../src/query/qido-parameters.js';
import { QueryError } from '../../src/query/query-error.js';

function rejects400(fn: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof QueryError, String(e));
    assert.equal(e.code, code, e.message);
    assert.equal(e.httpStatus, 400);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

test('a study search: keys by keyword and by tag, includefield, limit, offset, fuzzymatching (PS3.18 §8.3.4)', () => {
  const q = parseQidoQuery('PatientName=Doe*&00080020=20200101-&includefield=00081030,ModalitiesInStudy&includefield=StudyID&limit=10&offset=5&fuzzymatching=true', { level: 'STUDY' });
  assert.equal(q.origin, 'QIDO-RS');
  assert.equal(q.model.name, 'StudyRoot');
  assert.equal(q.options.relational, true);
  assert.equal(q.options.fuzzySemanticMatching, true);
  assert.deepEqual(q.keys.map((k) => [k.keyword, k.matching.type]), [['StudyDate', 'range'], ['PatientName', 'wildcard']]);
  assert.deepEqual(q.qido!.includeFields, [[0x00081030], [0x00080061], [0x00200010]]);
  assert.equal(q.qido!.limit, 10);
  assert.equal(q.qido!.offset, 5);
  assert.equal(matches(q, { PatientName: 'Mary^Doeson', StudyDate: '20210101' }), true);
});

test('names of parameters and hex digits are case-insensitive (ABNF, RFC 5234 §2.3); keywords are not', () => {
  const q = parseQidoQuery([['INCLUDEFIELD', 'ALL'], ['FuzzyMatching', 'TRUE'], ['0020000d', '1.2.3'], ['Limit', '1']], { level: 'STUDY' });
  assert.equal(q.qido!.includeFields, 'all');
  assert.equal(q.options.fuzzySemanticMatching, true);
  assert.equal(q.keys[0]!.keyword, 'StudyInstanceUID');
  rejects400(() => parseQidoQuery('patientname=Doe', { level: 'STUDY' }), 'ERR_DICOM_QUERY_PARAMETER', /"patientname"/);
  rejects400(() => parseQidoQuery('NoSuchKeyword=1', { level: 'STUDY' }), 'ERR_DICOM_QUERY_PARAMETER');
});

test('sequence keys by dotted path, merged into one item', () => {
  const q = parseQidoQuery('00081110.00081150=1.2.840.10008.3.1.2.3.1&ReferencedStudySequence.ReferencedSOPInstanceUID=1.2.3', { level: 'STUDY' });
  assert.equal(q.keys.length, 1);
  const m = q.keys[0]!.matching;
  assert.equal(m.type, 'sequence');
  assert.deepEqual(m.type === 'sequence' && m.item.map((k) => [k.keyword, k.matching]), [
    ['ReferencedSOPClassUID', { type: 'single', value: '1.2.840.10008.3.1.2.3.1' }],
    ['ReferencedSOPInstanceUID', { type: 'single', value: '1.2.3' }],
  ]);
  rejects400(() => parseQidoQuery('PatientName.PatientID=1', { level: 'STUDY' }), 'ERR_DICOM_QUERY_PARAMETER', /not a sequence/);
  rejects400(() => parseQidoQuery('ReferencedStudySequence=1', { level: 'STUDY' }), 'ERR_DICOM_QUERY_PARAMETER', /sequence/);
  // includefield may name a path too
  assert.deepEqual(parseQidoQuery('includefield=RequestAttributesSequence.ScheduledProcedureStepID', { level: 'SERIES' }).qido!.includeFields, [[0x00400275, 0x00400009]]);
});

test('UID lists are comma-separated (uid-list-match); several values of other attributes need multiplevaluematching', () => {
  const q = parseQidoQuery('StudyInstanceUID=1.2.3,1.2.4', { level: 'STUDY' });
  assert.deepEqual(q.keys[0]!.matching, { type: 'uid-list', values: ['1.2.3', '1.2.4'] });
  rejects400(() => parseQidoQuery('ModalitiesInStudy=CT\\MR', { level: 'STUDY' }), 'ERR_DICOM_QUERY_PARAMETER', /Multiple Value Matching/);
  const m = parseQidoQuery('ModalitiesInStudy=CT\\MR&multiplevaluematching=true', { level: 'STUDY' });
  assert.equal(m.keys[0]!.matching.type, 'multiple');
  // A comma in a name is a comma.
  assert.deepEqual(parseQidoQuery('PatientName=Smith, Mary', { level: 'STUDY' }).keys[0]!.matching, { type: 'single', value: 'Smith, Mary' });
});

test('emptyvaluematching, and what the origin server does not support (Warning 299)', () => {
  const q = parseQidoQuery('AccessionNumber=""&emptyvaluematching=true', { level: 'STUDY' });
  assert.deepEqual(q.keys[0]!.matching, { type: 'empty' });
  assert.equal(matches(q, {}), true);
  const unsupported = parseQidoQuery('AccessionNumber=""&emptyvaluematching=true&fuzzymatching=true', { level: 'STUDY', supports: { emptyValueMatching: false, fuzzyMatching: false } });
  assert.deepEqual(unsupported.qido!.unsupportedParameters, ['fuzzymatching', 'emptyvaluematching']);
  assert.deepEqual(unsupported.keys[0]!.matching, { type: 'single', value: '""' });
  assert.equal(unsupported.options.fuzzySemanticMatching, false);
});

test('the resource path scopes the search', () => {
  const q = parseQidoQuery('Modality=CT', { level: 'IMAGE', studyInstanceUID: '1.2.3', seriesInstanceUID: '1.2.3.4' });
  assert.deepEqual(q.keys.map((k) => [k.keyword, k.matching.type]), [['Modality', 'single'], ['StudyInstanceUID', 'single'], ['SeriesInstanceUID', 'single']]);
  assert.equal(q.qido!.studyInstanceUID, '1.2.3');
  rejects400(() => parseQidoQuery('StudyInstanceUID=9.9', { level: 'SERIES', studyInstanceUID: '1.2.3' }), 'ERR_DICOM_QUERY_PARAMETER', /path/);
  assert.equal(parseQidoQuery('StudyInstanceUID=1.2.3', { level: 'SERIES', studyInstanceUID: '1.2.3' }).keys.length, 1);
});

test('keys below the searched level are refused with what to use instead (PS3.18 §10.6.1.2.1)', () => {
  rejects400(() => parseQidoQuery('Modality=CT&PatientID=1', { level: 'STUDY' }), 'ERR_DICOM_QUERY_PARAMETER', /Modality is a SERIES level attribute.*ModalitiesInStudy/);
  rejects400(() => parseQidoQuery('SOPClassUID=1.2', { level: 'STUDY' }), 'ERR_DICOM_QUERY_PARAMETER', /SOPClassesInStudy/);
  rejects400(() => parseQidoQuery('SOPClassUID=1.2', { level: 'SERIES' }), 'ERR_DICOM_QUERY_PARAMETER', /search \/instances instead/);
  rejects400(() => parseQidoQuery('Modality=', { level: 'STUDY' }), 'ERR_DICOM_QUERY_PARAMETER', /SERIES level/);
  const q = parseQidoQuery('Modality=CT&PatientID=1', { level: 'SERIES' });
  assert.deepEqual(q.unsupportedKeys, []);
  assert.deepEqual(q.keys.map((k) => k.keyword), ['Modality', 'PatientID']);
});

test('bad parameters: 400 with what was wrong', () => {
  rejects400(() => parseQidoQuery('limit=-1', { level: 'STUDY' }), 'ERR_DICOM_QUERY_PARAMETER', /limit/);
  rejects400(() => parseQidoQuery('offset=x', { level: 'STUDY' }), 'ERR_DICOM_QUERY_PARAMETER', /offset/);
  rejects400(() => parseQidoQuery('fuzzymatching=yes', { level: 'STUDY' }), 'ERR_DICOM_QUERY_PARAMETER', /true or false/);
  rejects400(() => parseQidoQuery('includefield=all&includefield=PatientName', { level: 'STUDY' }), 'ERR_DICOM_QUERY_PARAMETER', /all/);
  rejects400(() => parseQidoQuery('PatientID=1&PatientID=2', { level: 'STUDY' }), 'ERR_DICOM_QUERY_PARAMETER', /more than once/);
  rejects400(() => parseQidoQuery('StudyDate=2020-01-01', { level: 'STUDY' }), 'ERR_DICOM_QUERY_PARAMETER', /DA/);
  assert.throws(() => parseQidoQuery('StudyDate=20200201-20200101', { level: 'STUDY' }), (e: unknown) => e instanceof QueryError && e.httpStatus === 400);
});

test('a bad value names its tag once (the 400 body a user reads)', () => {
  for (const query of ['StudyDate=2023-01', 'StudyInstanceUID=abc', 'ReferencedStudySequence.ReferencedSOPInstanceUID=x']) {
    assert.throws(() => parseQidoQuery(query, { level: 'STUDY' }), (e: unknown) => {
      assert.ok(e instanceof QueryError);
      assert.equal(e.code, 'ERR_DICOM_QUERY_PARAMETER');
      assert.equal(e.message.match(/\(tag /g)?.length, 1, e.message);
      return true;
    });
  }
});

test('records and URLSearchParams are accepted; percent-decoding is the caller\'s URL parser\'s', () => {
  const fromRecord = parseQidoQuery({ PatientName: '山田*', includefield: ['PatientSex', 'PatientAge'] }, { level: 'STUDY' });
  assert.deepEqual(fromRecord.keys[0]!.matching, { type: 'wildcard', pattern: '山田*' });
  assert.equal(matches(fromRecord, { PatientName: 'Yamada^Tarou=山田^太郎' }), true);
  const fromUrl = parseQidoQuery(new URL('http://x/studies?PatientName=%E5%B1%B1%E7%94%B0*').searchParams, { level: 'STUDY' });
  assert.deepEqual(fromUrl.keys[0]!.matching, { type: 'wildcard', pattern: '山田*' });
});
