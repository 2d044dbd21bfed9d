import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DicomError } from '../../src/core/dicom-error.js';
import { DataSet } from '../../src/data/data-set.js';
import { parseIdentifier } from '../../src/query/identifier.js';
import { parseQidoQuery } from '../../src/query/qido-parameters.js';
import type { InformationModelName, QueryLevel, QueryOptions } from '../../src/query/query.js';
import type { EntityRecord } from '../../src/query/record.js';
import { buildFindResponse } from '../../src/query/response.js';
import { BULK_DATA_MARKER_PREFIX, buildInstanceIndexRecord, parseBulkDataMarker } from '../../src/storage/index-record.js';
import { SCHEMA_VERSION } from '../../src/storage/sqlite/schema.js';
import { SqliteIndexStore } from '../../src/storage/sqlite/sqlite-index-store.js';
import { BASIC_TEXT_SR, collect, CT_IMAGE, indexRecord, instanceDataSet, MR_IMAGE, tempDir, type InstanceSpec } from './helpers.js';

function isCode(code: string) {
  return (e: unknown) => e instanceof DicomError && e.code === code;
}

/** A C-FIND query from keys (null: zero length, a return key). */
function cfind(level: QueryLevel, keys: Record<string, string | null>, model: InformationModelName = 'StudyRoot', options: Partial<QueryOptions> = { relational: true }) {
  const ds = new DataSet();
  const text = JSON.stringify(keys);
  if (/[^\x00-\x7f]/.test(text)) ds.set('SpecificCharacterSet', 'CS', 'ISO_IR 192');
  for (const [k, v] of Object.entries(keys)) ds.set(k, undefined, v === null ? null : v.split('\\'));
  ds.set('QueryRetrieveLevel', 'CS', level);
  return parseIdentifier(ds, { model, options });
}

const uidOf = (level: QueryLevel) => ({ PATIENT: 'PatientID', STUDY: 'StudyInstanceUID', SERIES: 'SeriesInstanceUID', IMAGE: 'SOPInstanceUID' })[level];
async function found(index: SqliteIndexStore, q: ReturnType<typeof cfind>, options = {}): Promise<EntityRecord[]> {
  return collect(index.find(q, q.level, options));
}
const uids = (level: QueryLevel, entities: readonly EntityRecord[]) => entities.map((e) => (e.attributes as Record<string, unknown>)[uidOf(level)]);

/** Two patients, three studies, five series, nine instances. */
const SPECS: InstanceSpec[] = [
  { PatientID: 'P1', PatientName: 'Doe^John', PatientBirthDate: '19700101', PatientSex: 'M', StudyInstanceUID: '1.1', StudyDate: '20240110', StudyTime: '101500', AccessionNumber: 'A1', StudyDescription: 'CHEST', SeriesInstanceUID: '1.1.1', Modality: 'CT', SeriesNumber: '2', SOPInstanceUID: '1.1.1.1', InstanceNumber: '2' },
  { PatientID: 'P1', PatientName: 'Doe^John', PatientBirthDate: '19700101', PatientSex: 'M', StudyInstanceUID: '1.1', StudyDate: '20240110', StudyTime: '101500', AccessionNumber: 'A1', StudyDescription: 'CHEST', SeriesInstanceUID: '1.1.1', Modality: 'CT', SeriesNumber: '2', SOPInstanceUID: '1.1.1.2', InstanceNumber: '1' },
  { PatientID: 'P1', PatientName: 'Doe^John', PatientBirthDate: '19700101', PatientSex: 'M', StudyInstanceUID: '1.1', StudyDate: '20240110', StudyTime: '101500', AccessionNumber: 'A1', StudyDescription: 'CHEST', SeriesInstanceUID: '1.1.2', Modality: 'SR', SeriesNumber: '1', SOPInstanceUID: '1.1.2.1', SOPClassUID: BASIC_TEXT_SR },
  { PatientID: 'P1', PatientName: 'Doe^John', PatientBirthDate: '19700101', PatientSex: 'M', StudyInstanceUID: '1.2', StudyDate: '20240301', StudyTime: '080000', AccessionNumber: 'A2', StudyDescription: 'HEAD', SeriesInstanceUID: '1.2.1', Modality: 'MR', SeriesNumber: '1', SOPInstanceUID: '1.2.1.1', SOPClassUID: MR_IMAGE },
  { PatientID: 'P1', PatientName: 'Doe^John', PatientBirthDate: '19700101', PatientSex: 'M', StudyInstanceUID: '1.2', StudyDate: '20240301', StudyTime: '080000', AccessionNumber: 'A2', StudyDescription: 'HEAD', SeriesInstanceUID: '1.2.1', Modality: 'MR', SeriesNumber: '1', SOPInstanceUID: '1.2.1.2', SOPClassUID: MR_IMAGE },
  { PatientID: 'P2', PatientName: 'Müller^Jürgen', PatientSex: 'M', StudyInstanceUID: '2.1', StudyDate: '20231231', AccessionNumber: 'B1', InstitutionAddress: 'Bahnhofstrasse 1', SeriesInstanceUID: '2.1.1', Modality: 'CT', SeriesNumber: '5', SOPInstanceUID: '2.1.1.1' },
  { PatientID: 'P2', PatientName: 'Müller^Jürgen', PatientSex: 'M', StudyInstanceUID: '2.1', StudyDate: '20231231', AccessionNumber: 'B1', InstitutionAddress: 'Bahnhofstrasse 1', SeriesInstanceUID: '2.1.1', Modality: 'CT', SeriesNumber: '5', SOPInstanceUID: '2.1.1.2' },
  { PatientID: 'P2', PatientName: 'Müller^Jürgen', PatientSex: 'M', StudyInstanceUID: '2.1', StudyDate: '20231231', AccessionNumber: 'B1', InstitutionAddress: 'Bahnhofstrasse 1', SeriesInstanceUID: '2.1.1', Modality: 'CT', SeriesNumber: '5', SOPInstanceUID: '2.1.1.3' },
  { PatientID: 'P2', PatientName: 'Müller^Jürgen', PatientSex: 'M', StudyInstanceUID: '2.1', StudyDate: '20231231', AccessionNumber: 'B1', InstitutionAddress: 'Bahnhofstrasse 1', SeriesInstanceUID: '2.1.2', Modality: 'PT', SeriesNumber: '6', SOPInstanceUID: '2.1.2.1' },
];

async function populated(t: { after(fn: () => void): void }, options = {}): Promise<SqliteIndexStore> {
  const index = new SqliteIndexStore({ path: join(tempDir(t), 'index.db'), ...options });
  t.after(() => void index.close());
  for (const spec of SPECS) assert.equal((await index.insertInstance(indexRecord(spec), 'reject')).status, 'inserted');
  return index;
}

test('find at every level, with derived attributes', async (t) => {
  const index = await populated(t);
  const patients = await found(index, cfind('PATIENT', { PatientID: null, PatientName: null }, 'PatientRoot'));
  assert.deepEqual(uids('PATIENT', patients), ['P1', 'P2']);
  assert.deepEqual(patients[0]!.derived, { NumberOfPatientRelatedStudies: 2, NumberOfPatientRelatedSeries: 3, NumberOfPatientRelatedInstances: 5 });
  assert.deepEqual(patients[1]!.derived, { NumberOfPatientRelatedStudies: 1, NumberOfPatientRelatedSeries: 2, NumberOfPatientRelatedInstances: 4 });

  const studies = await found(index, cfind('STUDY', { StudyInstanceUID: null, PatientID: 'P1' }));
  assert.deepEqual(uids('STUDY', studies), ['1.1', '1.2']);
  assert.deepEqual(studies[0]!.derived, {
    NumberOfPatientRelatedStudies: 2, NumberOfPatientRelatedSeries: 3, NumberOfPatientRelatedInstances: 5,
    NumberOfStudyRelatedSeries: 2, NumberOfStudyRelatedInstances: 3, ModalitiesInStudy: ['CT', 'SR'], SOPClassesInStudy: [CT_IMAGE, BASIC_TEXT_SR],
  });
  assert.equal((studies[0]!.attributes as Record<string, unknown>)['PatientName'], 'Doe^John');
  assert.equal(studies[0]!.instanceAvailability, 'ONLINE');

  const series = await found(index, cfind('SERIES', { StudyInstanceUID: '2.1', SeriesInstanceUID: null }));
  assert.deepEqual(uids('SERIES', series), ['2.1.1', '2.1.2']);
  assert.equal(series[0]!.derived?.NumberOfSeriesRelatedInstances, 3);
  assert.equal(series[1]!.derived?.NumberOfSeriesRelatedInstances, 1);

  const images = await found(index, cfind('IMAGE', { SeriesInstanceUID: '1.1.1', SOPInstanceUID: null }));
  assert.deepEqual(uids('IMAGE', images), ['1.1.1.1', '1.1.1.2']);
  assert.equal((images[0]!.attributes as Record<string, unknown>)['StudyDescription'], 'CHEST', 'ancestors merged in');
  assert.equal((images[0]!.attributes as Record<string, unknown>)['AvailableTransferSyntaxUID'], '1.2.840.10008.1.2.1');

  // The response builder reads the EntityRecord as it is.
  const response = buildFindResponse(cfind('STUDY', { StudyInstanceUID: '1.1', ModalitiesInStudy: null, NumberOfStudyRelatedInstances: null }), studies[0]!);
  assert.deepEqual(response.strings('ModalitiesInStudy'), ['CT', 'SR']);
  assert.deepEqual(response.strings('NumberOfStudyRelatedInstances'), ['3']);
});

test('matching through SQL and the post-filter: names, dates, derived, QIDO-RS', async (t) => {
  const index = await populated(t);
  const studyUids = async (keys: Record<string, string | null>, options?: Partial<QueryOptions>) => uids('STUDY', await found(index, cfind('STUDY', { StudyInstanceUID: null, ...keys }, 'StudyRoot', { relational: true, ...options })));
  assert.deepEqual(await studyUids({ PatientName: 'doe*' }), ['1.1', '1.2']);
  assert.deepEqual(await studyUids({ PatientName: 'MULLER^JURGEN' }), ['2.1'], 'PN folded: case and accents');
  assert.deepEqual(await studyUids({ StudyDate: '20240101-' }), ['1.1', '1.2']);
  assert.deepEqual(await studyUids({ StudyDate: '-20240110' }), ['1.1', '2.1']);
  assert.deepEqual(await studyUids({ AccessionNumber: 'A?' }), ['1.1', '1.2']);
  assert.deepEqual(await studyUids({ ModalitiesInStudy: 'CT' }), ['1.1', '2.1']);
  // PS3.4 C.2.2.2.8: every key value must be among the study's modalities.
  assert.deepEqual(await studyUids({ ModalitiesInStudy: 'SR\\PT' }, { multipleValueMatching: true }), []);
  assert.deepEqual(await studyUids({ ModalitiesInStudy: 'SR\\CT' }, { multipleValueMatching: true }), ['1.1']);
  assert.deepEqual(await studyUids({ ModalitiesInStudy: 'CT\\PT' }, { multipleValueMatching: true }), ['2.1']);
  assert.deepEqual(await studyUids({ NumberOfStudyRelatedInstances: '2' }), ['1.2'], 'derived, by the post-filter');
  assert.deepEqual(await studyUids({ StudyDescription: '""' }, { emptyValueMatching: true }), ['2.1']);
  // Not in any level's record: read from the study's first instance.
  assert.deepEqual(await studyUids({ InstitutionAddress: 'Bahnhof*' }), ['2.1']);
  const withAddress = await found(index, cfind('STUDY', { StudyInstanceUID: '2.1', InstitutionAddress: null }));
  assert.equal((withAddress[0]!.attributes as Record<string, unknown>)['InstitutionAddress'], 'Bahnhofstrasse 1');
  assert.equal((withAddress[0]!.attributes as Record<string, unknown>)['SOPInstanceUID'], undefined, 'not the instance\'s own attributes');

  const qido = parseQidoQuery('PatientID=P1&Modality=MR&includefield=SeriesDescription', { level: 'SERIES' });
  assert.deepEqual(uids('SERIES', await collect(index.find(qido, 'SERIES'))), ['1.2.1']);
  const instances = parseQidoQuery('SOPClassUID=' + BASIC_TEXT_SR, { level: 'IMAGE', studyInstanceUID: '1.1' });
  assert.deepEqual(uids('IMAGE', await collect(index.find(instances, 'IMAGE'))), ['1.1.2.1']);
});

test('limit and offset, with and without a post-filter', async (t) => {
  const index = await populated(t);
  const all = cfind('IMAGE', { SOPInstanceUID: null });
  assert.deepEqual(uids('IMAGE', await found(index, all, { offset: 2, limit: 3 })), ['1.1.2.1', '1.2.1.1', '1.2.1.2']);
  // NumberOfSeriesRelatedInstances is left to the post-filter: offset and limit apply after it.
  const filtered = cfind('SERIES', { SeriesInstanceUID: null, NumberOfSeriesRelatedInstances: '1' });
  assert.deepEqual(uids('SERIES', await found(index, filtered)), ['1.1.2', '2.1.2']);
  assert.deepEqual(uids('SERIES', await found(index, filtered, { offset: 1 })), ['2.1.2']);
  assert.deepEqual(uids('SERIES', await found(index, filtered, { limit: 1 })), ['1.1.2']);
  assert.deepEqual(await found(index, all, { limit: 0 }), []);
});

test('hasInstance: whether an instance is indexed, as getInstance tells', async (t) => {
  const index = await populated(t);
  assert.equal(await index.hasInstance('1.2.1.2'), true);
  assert.ok(await index.getInstance('1.2.1.2'));
  assert.equal(await index.hasInstance('9.9.9'), false);
  assert.equal(await index.getInstance('9.9.9'), undefined);
  await index.deleteInstance('1.2.1.2');
  assert.equal(await index.hasInstance('1.2.1.2'), false);
});

test('duplicates: keep, reject, overwrite', async (t) => {
  const index = await populated(t);
  const again = indexRecord(SPECS[0]!, 'other-blob');
  assert.deepEqual(await index.insertInstance(again, 'keep'), { status: 'duplicate-kept', warnings: [] });
  assert.deepEqual(await index.insertInstance(again, 'reject'), { status: 'rejected', warnings: [] });
  assert.equal((await index.getInstance('1.1.1.1'))!.blobKey, 'blob-1.1.1.1');
  const result = await index.insertInstance(again, 'overwrite');
  assert.equal(result.status, 'overwritten');
  assert.equal(result.replacedBlobKey, 'blob-1.1.1.1');
  assert.equal((await index.getInstance('1.1.1.1'))!.blobKey, 'other-blob');
  assert.deepEqual(await index.stats(), { patients: 2, studies: 3, series: 5, instances: 9, totalSize: 9000 });
  const studies = await found(index, cfind('STUDY', { StudyInstanceUID: '1.1' }));
  assert.equal(studies[0]!.derived?.NumberOfStudyRelatedInstances, 3);

  // Overwriting with an object that now belongs elsewhere moves it, counts follow.
  const moved = indexRecord({ ...SPECS[5]!, SOPInstanceUID: '1.2.1.2' }, 'moved-blob');
  assert.equal((await index.insertInstance(moved, 'overwrite')).status, 'overwritten');
  const [s12] = await found(index, cfind('STUDY', { StudyInstanceUID: '1.2' }));
  const [s21] = await found(index, cfind('STUDY', { StudyInstanceUID: '2.1' }));
  assert.equal(s12!.derived?.NumberOfStudyRelatedInstances, 1);
  assert.equal(s21!.derived?.NumberOfStudyRelatedInstances, 5);
  assert.deepEqual((await index.stats()).instances, 9);
});

test('deletes keep every count and derived attribute right and remove emptied parents', async (t) => {
  const index = await populated(t);
  let r = await index.deleteInstance('1.1.2.1');
  assert.deepEqual(r, { instances: 1, blobKeys: ['blob-1.1.2.1'] });
  const [s11] = await found(index, cfind('STUDY', { StudyInstanceUID: '1.1' }));
  assert.deepEqual(s11!.derived, {
    NumberOfPatientRelatedStudies: 2, NumberOfPatientRelatedSeries: 2, NumberOfPatientRelatedInstances: 4,
    NumberOfStudyRelatedSeries: 1, NumberOfStudyRelatedInstances: 2, ModalitiesInStudy: ['CT'], SOPClassesInStudy: [CT_IMAGE],
  });
  assert.deepEqual(uids('SERIES', await found(index, cfind('SERIES', { StudyInstanceUID: '1.1', SeriesInstanceUID: null }))), ['1.1.1']);

  r = await index.deleteSeries('2.1.2');
  assert.deepEqual(r.blobKeys, ['blob-2.1.2.1']);
  const [s21] = await found(index, cfind('STUDY', { StudyInstanceUID: '2.1' }));
  assert.deepEqual(s21!.derived?.ModalitiesInStudy, ['CT']);
  assert.equal(s21!.derived?.NumberOfStudyRelatedSeries, 1);

  r = await index.deleteStudy('1.2');
  assert.deepEqual(r.blobKeys, ['blob-1.2.1.1', 'blob-1.2.1.2']);
  const [p1] = await found(index, cfind('PATIENT', { PatientID: 'P1' }, 'PatientRoot'));
  assert.deepEqual(p1!.derived, { NumberOfPatientRelatedStudies: 1, NumberOfPatientRelatedSeries: 1, NumberOfPatientRelatedInstances: 2 });

  assert.deepEqual(await index.stats(), { patients: 2, studies: 2, series: 2, instances: 5, totalSize: 5000 });
  r = await index.deletePatient('P2');
  assert.equal(r.instances, 3);
  assert.deepEqual(await index.deleteStudy('9.9.9'), { instances: 0, blobKeys: [] });
  // The last instance of the last study takes the patient with it.
  await index.deleteInstance('1.1.1.1');
  r = await index.deleteInstance('1.1.1.2');
  assert.equal(r.instances, 1);
  assert.deepEqual(await index.stats(), { patients: 0, studies: 0, series: 0, instances: 0, totalSize: 0 });
  assert.deepEqual(await found(index, cfind('PATIENT', { PatientID: null }, 'PatientRoot')), []);
});

test('instancesFor: by patient, study, series, instance; ordered by series and instance number', async (t) => {
  const index = await populated(t);
  const study = await index.instancesFor('STUDY', '1.1');
  // Series 1 (SR) before series 2 (CT); in series 2 instance number 1 before 2.
  assert.deepEqual(study.map((i) => i.sopInstanceUid), ['1.1.2.1', '1.1.1.2', '1.1.1.1']);
  assert.deepEqual(study[0], {
    sopInstanceUid: '1.1.2.1', sopClassUid: BASIC_TEXT_SR, transferSyntaxUid: '1.2.840.10008.1.2.1', seriesInstanceUid: '1.1.2',
    studyInstanceUid: '1.1', blobKey: 'blob-1.1.2.1', size: 1000, dataSetOffset: 200,
  });
  assert.deepEqual((await index.instancesFor('PATIENT', ['P2'])).map((i) => i.sopInstanceUid), ['2.1.1.1', '2.1.1.2', '2.1.1.3', '2.1.2.1']);
  assert.deepEqual((await index.instancesFor('SERIES', ['1.2.1', '2.1.2'])).map((i) => i.sopInstanceUid), ['1.2.1.1', '1.2.1.2', '2.1.2.1']);
  assert.deepEqual((await index.instancesFor('IMAGE', ['2.1.1.2', 'x', '1.1.1.1'])).map((i) => i.sopInstanceUid), ['1.1.1.1', '2.1.1.2']);
  assert.deepEqual(await index.instancesFor('STUDY', []), []);
  const details = await index.getInstance('2.1.1.1');
  assert.equal(details!.patientId, 'P2');
  assert.equal(details!.issuerOfPatientId, '');
  assert.deepEqual(details!.receivedAt, new Date('2024-01-02T03:04:05Z'));
  assert.equal(await index.getInstance('nope'), undefined);
});

test('metadata JSON per instance: whole data set, bulk values as markers, by study or series', async (t) => {
  const index = new SqliteIndexStore({ path: join(tempDir(t), 'index.db') });
  t.after(() => void index.close());
  for (const [i, series] of [[1, '5.1.1'], [2, '5.1.2'], [3, '5.1.1']] as const) {
    const ds = instanceDataSet({ PatientID: 'P5', StudyInstanceUID: '5.1', SeriesInstanceUID: series, SOPInstanceUID: `5.1.${i}`, InstitutionAddress: 'Somewhere' }, { pixelBytes: 5000 });
    await index.insertInstance(buildInstanceIndexRecord(ds, { blobKey: `b${i}`, size: 1, dataSetOffset: 0, transferSyntaxUid: '1.2.840.10008.1.2.1' }), 'keep');
  }
  const all = await collect(index.instanceMetadata('5.1'));
  assert.deepEqual(all.map((m) => [m.sopInstanceUid, m.seriesInstanceUid]), [['5.1.1', '5.1.1'], ['5.1.2', '5.1.2'], ['5.1.3', '5.1.1']]);
  const json = JSON.parse(all[0]!.json) as Record<string, { vr: string; Value?: unknown[]; BulkDataURI?: string }>;
  assert.deepEqual(json['00080081'], { vr: 'ST', Value: ['Somewhere'] });
  assert.equal(json['7FE00010']!.BulkDataURI, `${BULK_DATA_MARKER_PREFIX}7FE00010`);
  assert.deepEqual(parseBulkDataMarker(json['7FE00010']!.BulkDataURI!), { path: [0x7fe00010], items: [] });
  assert.deepEqual(json['00280010'], { vr: 'US', Value: [50] });
  assert.deepEqual((await collect(index.instanceMetadata('5.1', { seriesInstanceUid: '5.1.1' }))).map((m) => m.sopInstanceUid), ['5.1.1', '5.1.3']);
  assert.deepEqual(await collect(index.instanceMetadata('nope')), []);
  assert.deepEqual(parseBulkDataMarker(`${BULK_DATA_MARKER_PREFIX}00540016/0/00181074`), { path: [0x00540016, 0x00181074], items: [0] });
  assert.equal(parseBulkDataMarker(`${BULK_DATA_MARKER_PREFIX}0054001/0`), undefined);
});

test('patient identity: a study keeps its first patient; differing attributes keep the first values, with warnings', async (t) => {
  const index = await populated(t);
  const other = indexRecord({ ...SPECS[0]!, PatientID: 'P9', PatientName: 'Other^Name', SOPInstanceUID: '1.1.1.9' });
  const result = await index.insertInstance(other, 'keep');
  assert.equal(result.status, 'inserted');
  assert.equal(result.warnings.length, 1);
  assert.match(result.warnings[0]!, /^STUDY 1\.1: arrived with Patient ID "P9".*indexed under Patient ID "P1".*keeps its patient/);
  assert.equal((await index.getInstance('1.1.1.9'))!.patientId, 'P1');
  assert.deepEqual(uids('PATIENT', await found(index, cfind('PATIENT', { PatientID: null }, 'PatientRoot'))), ['P1', 'P2']);

  const renamed = indexRecord({ ...SPECS[0]!, PatientName: 'Doe^Johnny', StudyDescription: 'THORAX', SOPInstanceUID: '1.1.1.8' });
  const r2 = await index.insertInstance(renamed, 'keep');
  assert.deepEqual(r2.warnings, [
    'PATIENT P1: PatientName received as "Doe^Johnny" differs from the indexed "Doe^John"; the indexed value is kept',
    'STUDY 1.1: StudyDescription received as "THORAX" differs from the indexed "CHEST"; the indexed value is kept',
  ]);
  await index.insertInstance(indexRecord({ ...SPECS[0]!, PatientName: 'Doe^Johnny', SOPInstanceUID: '1.1.1.7' }), 'keep');
  const warnings = await index.warnings();
  const name = warnings.find((w) => w.level === 'PATIENT')!;
  assert.equal(name.count, 2);
  assert.equal(name.uid, 'P1');
  assert.equal(warnings.length, 3);
  // A study with the same Patient ID under another issuer is another patient.
  await index.insertInstance(indexRecord({ ...SPECS[5]!, IssuerOfPatientID: 'HOSP-B', StudyInstanceUID: '3.1', SeriesInstanceUID: '3.1.1', SOPInstanceUID: '3.1.1.1' }), 'keep');
  assert.deepEqual((await index.stats()).patients, 3);
});

test('a series indexed under another study is a conflict; nothing of the instance is indexed', async (t) => {
  const index = await populated(t);
  const before = await index.stats();
  await assert.rejects(index.insertInstance(indexRecord({ ...SPECS[5]!, StudyInstanceUID: '7.7', SeriesInstanceUID: '1.1.1', SOPInstanceUID: '7.7.7' }), 'keep'),
    (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_STORAGE_CONFLICT' && /series 1\.1\.1 .* under study 1\.1, not under 7\.7/.test(e.message));
  assert.deepEqual(await index.stats(), before);
  assert.deepEqual(await found(index, cfind('STUDY', { StudyInstanceUID: '7.7' })), [], 'the new study was rolled back');
});

test('schema: versioned, reopened, missing attribute columns re-added and filled from the stored records', async (t) => {
  const path = join(tempDir(t), 'index.db');
  let index = new SqliteIndexStore({ path });
  for (const spec of SPECS) await index.insertInstance(indexRecord(spec), 'keep');
  assert.equal((index.db.prepare('SELECT version FROM schema_version').get() as { version: number }).version, SCHEMA_VERSION);
  // As if this version of Conduit indexed one attribute more than the one that made the database.
  index.db.exec('DROP INDEX IF EXISTS study_accession_number; ALTER TABLE study DROP COLUMN accession_number; ALTER TABLE study DROP COLUMN modalities_in_study');
  await index.close();
  index = new SqliteIndexStore({ path });
  t.after(() => void index.close());
  assert.deepEqual(uids('STUDY', await found(index, cfind('STUDY', { StudyInstanceUID: null, AccessionNumber: 'B1' }))), ['2.1']);
  assert.deepEqual(uids('STUDY', await found(index, cfind('STUDY', { StudyInstanceUID: null, ModalitiesInStudy: 'SR' }))), ['1.1']);
  assert.deepEqual((await index.stats()).instances, 9);
  index.db.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION + 1);
  assert.throws(() => new SqliteIndexStore({ path }), isCode('ERR_DICOM_STORAGE_SCHEMA'));
});

test('a closed index refuses work', async (t) => {
  const index = new SqliteIndexStore({ path: join(tempDir(t), 'index.db') });
  await index.close();
  await index.close();
  await assert.rejects(index.insertInstance(indexRecord(SPECS[0]!), 'keep'), isCode('ERR_DICOM_STORAGE_CLOSED'));
  assert.throws(() => index.find(cfind('STUDY', { StudyInstanceUID: null }), 'STUDY'), isCode('ERR_DICOM_STORAGE_CLOSED'));
  await assert.rejects(index.stats(), isCode('ERR_DICOM_STORAGE_CLOSED'));
});

test('an index record needs the four UIDs', () => {
  const ds = instanceDataSet({ StudyInstanceUID: '1', SeriesInstanceUID: '2' });
  assert.throws(() => buildInstanceIndexRecord(ds, { blobKey: 'k', size: 0, dataSetOffset: 0, transferSyntaxUid: '1.2.840.10008.1.2.1' }),
    (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_STORAGE_BAD_OBJECT' && /SOPInstanceUID/.test(e.message));
});
