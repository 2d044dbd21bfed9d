import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DataSet } from '../../src/data/data-set.js';
import { lookupTag } from '../../src/dictionary/index.js';
import { parseQidoQuery } from '../../src/query/qido-parameters.js';
import type { AttributeRecord, EntityRecord } from '../../src/query/record.js';
import { buildFindResponse, buildQidoResult } from '../../src/query/response.js';
import { dataSet, query } from './helpers.js';

const keywords = (ds: DataSet) => ds.elements().map((e) => lookupTag(e.tag)!.keyword);

const study: AttributeRecord = {
  PatientName: 'Doe^John', PatientID: 'P1', PatientBirthDate: '19700101', PatientSex: 'M', PatientComments: 'not asked for',
  StudyInstanceUID: '1.2.3', StudyDate: '20200102', StudyTime: '101500', AccessionNumber: 'A1', StudyDescription: 'CHEST',
  ReferencedStudySequence: [
    { ReferencedSOPClassUID: '1.2.1', ReferencedSOPInstanceUID: '1.5' },
    { ReferencedSOPClassUID: '1.2.2', ReferencedSOPInstanceUID: '1.6' },
  ],
};

test('C-FIND response: the request keys, Query/Retrieve Level, Retrieve AE Title, derived attributes; nothing else (C.4.1.1.3.2)', () => {
  const q = query('STUDY', {
    StudyInstanceUID: null, PatientName: 'Doe*', StudyDate: null, ModalitiesInStudy: null, NumberOfStudyRelatedSeries: null,
    NumberOfStudyRelatedInstances: null, SOPClassesInStudy: null, ReferringPhysicianName: null, InstanceAvailability: null,
  });
  const entity: EntityRecord = {
    attributes: study, instanceAvailability: 'ONLINE',
    derived: { ModalitiesInStudy: ['CT', 'SR'], NumberOfStudyRelatedSeries: 2, NumberOfStudyRelatedInstances: 120, SOPClassesInStudy: ['1.2.840.10008.5.1.4.1.1.2'] },
  };
  const r = buildFindResponse(q, entity, { retrieveAETitles: ['ARCHIVE'] });
  assert.deepEqual(keywords(r), [
    'StudyDate', 'QueryRetrieveLevel', 'RetrieveAETitle', 'InstanceAvailability', 'ModalitiesInStudy', 'SOPClassesInStudy',
    'ReferringPhysicianName', 'PatientName', 'StudyInstanceUID', 'NumberOfStudyRelatedSeries', 'NumberOfStudyRelatedInstances',
  ]);
  assert.equal(r.string('QueryRetrieveLevel'), 'STUDY');
  assert.equal(r.string('RetrieveAETitle'), 'ARCHIVE');
  assert.equal(r.string('InstanceAvailability'), 'ONLINE');
  assert.deepEqual(r.strings('ModalitiesInStudy'), ['CT', 'SR']);
  assert.equal(r.string('NumberOfStudyRelatedInstances'), '120');
  // A key the entity has no value for is returned with zero length.
  assert.equal(r.get('ReferringPhysicianName')!.bytes.length, 0);
  assert.equal(r.has('SpecificCharacterSet'), false);
  assert.equal(r.has('PatientComments'), false);
});

test('C-FIND response: the Unique Keys of the levels above are returned even when not asked (C.4.1.3.1.1)', () => {
  const q = query('SERIES', { SeriesInstanceUID: null, Modality: 'CT' }, {}, { model: 'PatientRoot' });
  const r = buildFindResponse(q, { ...study, SeriesInstanceUID: '1.2.3.4', Modality: 'CT', SeriesNumber: '3' });
  assert.deepEqual(keywords(r), ['QueryRetrieveLevel', 'RetrieveAETitle', 'Modality', 'PatientID', 'StudyInstanceUID', 'SeriesInstanceUID']);
  assert.equal(r.string('PatientID'), 'P1');
});

test('C-FIND response: a sequence key returns the matching items with the requested item keys only (C.2.2.2.6)', () => {
  const q = query('STUDY', { StudyInstanceUID: null, ReferencedStudySequence: [{ ReferencedSOPInstanceUID: '1.6', ReferencedSOPClassUID: null }] });
  const r = buildFindResponse(q, study);
  const items = r.items('ReferencedStudySequence');
  assert.equal(items.length, 1);
  assert.equal(items[0]!.string('ReferencedSOPInstanceUID'), '1.6');
  assert.equal(items[0]!.string('ReferencedSOPClassUID'), '1.2.2');
  // An empty item asks for the whole sequence.
  const all = buildFindResponse(query('STUDY', { StudyInstanceUID: null, ReferencedStudySequence: [{}] }), study);
  assert.equal(all.items('ReferencedStudySequence').length, 2);
  assert.equal(all.items('ReferencedStudySequence')[1]!.string('ReferencedSOPClassUID'), '1.2.2');
});

test('C-FIND response: the Specific Character Set of the request when it can hold the text, else UTF-8', () => {
  const charset = ['', 'ISO 2022 IR 87'];
  const q = query('STUDY', { StudyInstanceUID: null, PatientName: '山田*' }, {}, { charset });
  const japanese = dataSet({ StudyInstanceUID: '1.2.3', PatientName: 'Yamada^Tarou=山田^太郎=やまだ^たろう' }, ['ISO_IR 192']);
  const r = buildFindResponse(q, japanese);
  assert.deepEqual(r.strings('SpecificCharacterSet'), ['', 'ISO 2022 IR 87']);
  assert.equal(r.string('PatientName'), 'Yamada^Tarou=山田^太郎=やまだ^たろう');
  // Hangul is not in ISO 2022 IR 87 (JIS X 0208): the response falls back to ISO_IR 192.
  const r2 = buildFindResponse(query('STUDY', { StudyInstanceUID: null, PatientName: null }, {}, { charset }), { StudyInstanceUID: '1.2', PatientName: '홍^길동' });
  assert.deepEqual(r2.strings('SpecificCharacterSet'), ['ISO_IR 192']);
  assert.equal(r2.string('PatientName'), '홍^길동');
});

test('C-FIND response with timezone query adjustment: times in the query\'s offset (C.2.2.2)', () => {
  const q = query('STUDY', { StudyInstanceUID: null, StudyDate: null, StudyTime: null, TimezoneOffsetFromUTC: '-0500' }, { timezoneQueryAdjustment: true });
  const r = buildFindResponse(q, { StudyInstanceUID: '1.2', StudyDate: '20200102', StudyTime: '030000', TimezoneOffsetFromUTC: '+0100' });
  // 03:00 at +0100 is 02:00 UTC, 21:00 the day before at -0500.
  assert.equal(r.string('StudyDate'), '20200101');
  assert.equal(r.string('StudyTime'), '210000');
  assert.equal(r.string('TimezoneOffsetFromUTC'), '-0500');
  // Without the option, the entity's own offset goes with its times.
  const plain = buildFindResponse(query('STUDY', { StudyInstanceUID: null, StudyTime: null }), { StudyInstanceUID: '1.2', StudyTime: '030000', TimezoneOffsetFromUTC: '+0100' });
  assert.equal(plain.string('StudyTime'), '030000');
  assert.equal(plain.string('TimezoneOffsetFromUTC'), '+0100');
});

test('QIDO-RS study result: the default attributes, the derived counts, includefield, Retrieve URL', () => {
  const q = parseQidoQuery('PatientName=Doe*&includefield=StudyDescription', { level: 'STUDY' });
  const r = buildQidoResult(q, { attributes: study, derived: { ModalitiesInStudy: ['CT'], NumberOfStudyRelatedSeries: 1, NumberOfStudyRelatedInstances: 3 }, retrieveURL: 'http://h/studies/1.2.3' });
  assert.deepEqual(keywords(r), [
    'StudyDate', 'StudyTime', 'AccessionNumber', 'ModalitiesInStudy', 'ReferringPhysicianName', 'StudyDescription', 'RetrieveURL',
    'PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'StudyInstanceUID', 'StudyID', 'NumberOfStudyRelatedSeries',
    'NumberOfStudyRelatedInstances',
  ]);
  assert.equal(r.string('RetrieveURL'), 'http://h/studies/1.2.3');
  assert.equal(r.string('NumberOfStudyRelatedInstances'), '3');
  const all = buildQidoResult(parseQidoQuery('includefield=all', { level: 'STUDY' }), study);
  assert.ok(all.has('PatientComments') && all.has('ReferencedStudySequence'));
});

test('QIDO-RS series and instance results carry the study (and series) defaults unless the path scopes them', () => {
  const record = { ...study, SeriesInstanceUID: '1.2.3.4', Modality: 'CT', SeriesNumber: '3', SOPInstanceUID: '1.2.3.4.5', SOPClassUID: '1.2.840.10008.5.1.4.1.1.2', InstanceNumber: '1', Rows: 512 };
  const unscoped = buildQidoResult(parseQidoQuery('', { level: 'SERIES' }), record);
  assert.ok(unscoped.has('StudyDate') && unscoped.has('Modality') && unscoped.has('PatientName'));
  const scoped = buildQidoResult(parseQidoQuery('', { level: 'SERIES', studyInstanceUID: '1.2.3' }), record);
  assert.ok(!scoped.has('PatientName') && scoped.has('Modality') && scoped.has('StudyInstanceUID'));
  const instance = buildQidoResult(parseQidoQuery('', { level: 'IMAGE', studyInstanceUID: '1.2.3', seriesInstanceUID: '1.2.3.4' }), record);
  assert.deepEqual(keywords(instance), ['SOPClassUID', 'SOPInstanceUID', 'Rows', 'Columns', 'BitsAllocated', 'NumberOfFrames', 'StudyInstanceUID', 'SeriesInstanceUID', 'InstanceNumber'].sort((a, b) => instanceOrder(a) - instanceOrder(b)));
  assert.equal(instance.number('Rows'), 512);
});

test('QIDO-RS: includefield attributes of a level below the search are not returned (PS3.18 10.6.3.3.2)', () => {
  const record = { ...study, SeriesInstanceUID: '1.2.3.4', Modality: 'CT', SeriesNumber: '3', SOPInstanceUID: '1.2.3.4.5', InstanceNumber: '1' };
  const series = buildQidoResult(parseQidoQuery('includefield=SOPInstanceUID&includefield=InstanceNumber&includefield=StudyDescription&includefield=BodyPartExamined', { level: 'SERIES' }), record);
  assert.ok(!series.has('SOPInstanceUID') && !series.has('InstanceNumber'));
  assert.ok(series.has('StudyDescription') && series.has('BodyPartExamined'));
  const study1 = buildQidoResult(parseQidoQuery('includefield=all', { level: 'STUDY' }), record);
  assert.ok(!study1.has('SOPInstanceUID') && !study1.has('Modality') && !study1.has('SeriesInstanceUID'));
  assert.ok(study1.has('PatientComments'));
});

const ORDER: Record<string, number> = { SOPClassUID: 0x00080016, SOPInstanceUID: 0x00080018, StudyInstanceUID: 0x0020000d, SeriesInstanceUID: 0x0020000e, InstanceNumber: 0x00200013, Rows: 0x00280010, Columns: 0x00280011, BitsAllocated: 0x00280100, NumberOfFrames: 0x00280008 };
function instanceOrder(k: string): number { return ORDER[k]!; }
