/**
 * IndexStore.find against the in-memory matcher: random patients, studies, series and instances
 * (with inconsistent patient data in later instances, which the index must resolve as "first one
 * wins"), random deletions, random queries at every level; the entities find() returns, their
 * order and their derived attributes must be what matches() selects from a model built here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DataSet } from '../../src/data/data-set.js';
import { parseIdentifier } from '../../src/query/identifier.js';
import { matches } from '../../src/query/matching.js';
import { QueryError } from '../../src/query/query-error.js';
import type { InformationModelName, Query, QueryLevel, QueryOptions } from '../../src/query/query.js';
import type { AttributeRecord, DerivedAttributes, EntityRecord } from '../../src/query/record.js';
import { attributeRecordOf, buildInstanceIndexRecord, levelRecords, storedLevelOf } from '../../src/storage/index-record.js';
import { SqliteIndexStore } from '../../src/storage/sqlite/sqlite-index-store.js';
import { BASIC_TEXT_SR, collect, CT_IMAGE, instanceDataSet, MR_IMAGE, type InstanceSpec } from './helpers.js';

const PATIENTS: InstanceSpec[] = [
  { PatientID: 'P1', PatientName: 'Doe^John', PatientBirthDate: '19700101', PatientSex: 'M' },
  { PatientID: 'P1', IssuerOfPatientID: 'B', PatientName: 'Doe^Jane', PatientSex: 'F' },
  { PatientID: 'p2', PatientName: 'Müller^Jürgen', PatientBirthDate: '19800229' },
  { PatientName: 'Anonymous' },
];
const STUDIES: InstanceSpec[] = [
  { StudyInstanceUID: '1.1', StudyDate: '20240110', StudyTime: '101500', AccessionNumber: 'A1', StudyDescription: 'CHEST' },
  { StudyInstanceUID: '1.2', StudyDate: '20240301', AccessionNumber: 'A2', StudyDescription: 'HEAD', ReferringPhysicianName: 'Who^Doctor' },
  { StudyInstanceUID: '1.3', StudyDate: '20231231', StudyTime: '2359', TimezoneOffsetFromUTC: '+0100' },
  { StudyInstanceUID: '1.4', AccessionNumber: 'A_4', StudyDescription: 'chest pa' },
  { StudyInstanceUID: '1.5', StudyDate: '20240110', AccessionNumber: 'A1', StudyDescription: 'Ünïcode' },
];
const SERIES: Array<InstanceSpec & { study: number }> = [
  { study: 0, SeriesInstanceUID: '1.1.1', Modality: 'CT', SeriesNumber: '1', BodyPartExamined: 'CHEST' },
  { study: 0, SeriesInstanceUID: '1.1.2', Modality: 'SR', SeriesNumber: '2' },
  { study: 1, SeriesInstanceUID: '1.2.1', Modality: 'MR', SeriesNumber: '1', SeriesDescription: 'T1' },
  { study: 1, SeriesInstanceUID: '1.2.2', Modality: 'MR', SeriesNumber: '2', SeriesDescription: 'T2' },
  { study: 2, SeriesInstanceUID: '1.3.1', Modality: 'CT', SeriesDate: '20231231', SeriesTime: '235900' },
  { study: 3, SeriesInstanceUID: '1.4.1', Modality: 'PT' },
  { study: 4, SeriesInstanceUID: '1.5.1', Modality: 'CT', SeriesNumber: '7' },
  { study: 4, SeriesInstanceUID: '1.5.2', Modality: 'ct', SeriesNumber: '007' },
];
const SOP_CLASSES = [CT_IMAGE, MR_IMAGE, BASIC_TEXT_SR];
const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);

const instanceArb = fc.record({
  patient: fc.nat({ max: PATIENTS.length - 1 }),
  series: fc.nat({ max: SERIES.length - 1 }),
  sopClass: pick(SOP_CLASSES),
  instanceNumber: fc.option(pick(['1', '2', '10', '02']), { nil: undefined }),
  address: fc.option(pick(['Main Street 1', 'Bahnhofstrasse 2']), { nil: undefined }),
  noise: fc.boolean(),
});
type InstancePick = typeof instanceArb extends fc.Arbitrary<infer T> ? T : never;

function specOf(p: InstancePick, i: number): InstanceSpec {
  const { study, ...series } = SERIES[p.series]!;
  const studySpec = STUDIES[study]!;
  return {
    ...PATIENTS[p.patient]!,
    ...studySpec,
    // Later instances sometimes disagree with the first about the study: the first one wins.
    ...(p.noise ? { StudyDescription: 'NOISE', SeriesDescription: 'NOISE' } : {}),
    ...series,
    SOPInstanceUID: `9.${i}`,
    SOPClassUID: p.sopClass,
    InstanceNumber: p.instanceNumber,
    InstitutionAddress: p.address,
  };
}

// ---- the model ----

interface Node { record: AttributeRecord; children: string[] }
interface Model {
  patients: Map<string, Node>;
  studies: Map<string, Node & { patient: string }>;
  series: Map<string, Node & { study: string; modality: string | undefined }>;
  instances: Map<string, { record: AttributeRecord; series: string; sopClass: string; full: AttributeRecord }>;
}

function buildModel(specs: readonly InstanceSpec[]): Model {
  const m: Model = { patients: new Map(), studies: new Map(), series: new Map(), instances: new Map() };
  for (const spec of specs) {
    const ds = instanceDataSet(spec);
    const levels = levelRecords(ds, '1.2.840.10008.1.2.1');
    const r = buildInstanceIndexRecord(ds, { blobKey: 'x', size: 1, dataSetOffset: 0, transferSyntaxUid: '1.2.840.10008.1.2.1' });
    const patientKey = `${r.patientId}|${r.issuerOfPatientId}`;
    let study = m.studies.get(r.studyInstanceUid);
    if (!study) {
      if (!m.patients.has(patientKey)) m.patients.set(patientKey, { record: levels.patient, children: [] });
      m.patients.get(patientKey)!.children.push(r.studyInstanceUid);
      study = { record: levels.study, children: [], patient: patientKey };
      m.studies.set(r.studyInstanceUid, study);
    }
    if (!m.series.has(r.seriesInstanceUid)) {
      m.series.set(r.seriesInstanceUid, { record: levels.series, children: [], study: r.studyInstanceUid, modality: spec['Modality'] as string | undefined });
      study.children.push(r.seriesInstanceUid);
    }
    m.series.get(r.seriesInstanceUid)!.children.push(r.sopInstanceUid);
    m.instances.set(r.sopInstanceUid, { record: levels.instance, series: r.seriesInstanceUid, sopClass: r.sopClassUid, full: attributeRecordOf(ds) });
  }
  return m;
}

function removeInstance(m: Model, uid: string): void {
  const inst = m.instances.get(uid)!;
  m.instances.delete(uid);
  const series = m.series.get(inst.series)!;
  series.children = series.children.filter((c) => c !== uid);
  if (series.children.length) return;
  m.series.delete(inst.series);
  const study = m.studies.get(series.study)!;
  study.children = study.children.filter((c) => c !== inst.series);
  if (study.children.length) return;
  m.studies.delete(series.study);
  const patient = m.patients.get(study.patient)!;
  patient.children = patient.children.filter((c) => c !== series.study);
  if (patient.children.length === 0) m.patients.delete(study.patient);
}

const LEVELS: readonly QueryLevel[] = ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'];

/** The entities of a level as the index should see them, in order of creation. */
function entities(m: Model, level: QueryLevel): Array<{ id: string; entity: EntityRecord }> {
  const instancesOfSeries = (s: string) => m.series.get(s)!.children;
  const seriesOfStudy = (s: string) => [...m.series.keys()].filter((k) => m.series.get(k)!.study === s);
  const instancesOfStudy = (s: string) => [...m.instances.keys()].filter((k) => m.series.get(m.instances.get(k)!.series)!.study === s);
  const studiesOfPatient = (p: string) => [...m.studies.keys()].filter((k) => m.studies.get(k)!.patient === p);
  const patientDerived = (p: string): DerivedAttributes => {
    const studies = studiesOfPatient(p);
    return {
      NumberOfPatientRelatedStudies: studies.length,
      NumberOfPatientRelatedSeries: studies.flatMap(seriesOfStudy).length,
      NumberOfPatientRelatedInstances: studies.flatMap(instancesOfStudy).length,
    };
  };
  const studyDerived = (s: string): DerivedAttributes => ({
    NumberOfStudyRelatedSeries: seriesOfStudy(s).length,
    NumberOfStudyRelatedInstances: instancesOfStudy(s).length,
    ModalitiesInStudy: [...new Set(seriesOfStudy(s).map((k) => m.series.get(k)!.modality).filter((x): x is string => x !== undefined))],
    SOPClassesInStudy: [...new Set(instancesOfStudy(s).map((k) => m.instances.get(k)!.sopClass))],
  });
  // The representative instance lends what no level record holds (sqlite/find.ts).
  const lent = (instanceUid: string | undefined): AttributeRecord => {
    if (instanceUid === undefined) return {};
    const out: Record<string, unknown> = { ...m.instances.get(instanceUid)!.full };
    for (const k of Object.keys(out)) if (storedLevelOf(k) !== undefined || k === 'TimezoneOffsetFromUTC') delete out[k];
    return out as AttributeRecord;
  };
  const first = (uids: readonly string[]) => [...m.instances.keys()].find((k) => uids.includes(k));
  const out: Array<{ id: string; entity: EntityRecord }> = [];
  if (level === 'PATIENT') {
    for (const [key, p] of m.patients) {
      out.push({ id: key, entity: { attributes: { ...lent(first(studiesOfPatient(key).flatMap(instancesOfStudy))), ...p.record }, derived: patientDerived(key) } });
    }
  } else if (level === 'STUDY') {
    for (const [uid, s] of m.studies) {
      out.push({ id: uid, entity: { attributes: { ...lent(first(instancesOfStudy(uid))), ...m.patients.get(s.patient)!.record, ...s.record }, derived: { ...patientDerived(s.patient), ...studyDerived(uid) } } });
    }
  } else if (level === 'SERIES') {
    for (const [uid, se] of m.series) {
      const s = m.studies.get(se.study)!;
      out.push({ id: uid, entity: { attributes: { ...lent(first(instancesOfSeries(uid))), ...m.patients.get(s.patient)!.record, ...s.record, ...se.record }, derived: { ...patientDerived(s.patient), ...studyDerived(se.study), NumberOfSeriesRelatedInstances: se.children.length } } });
    }
  } else {
    for (const [uid, i] of m.instances) {
      const se = m.series.get(i.series)!;
      const s = m.studies.get(se.study)!;
      out.push({ id: uid, entity: { attributes: { ...lent(uid), ...m.patients.get(s.patient)!.record, ...s.record, ...se.record, ...i.record }, derived: { ...patientDerived(s.patient), ...studyDerived(se.study), NumberOfSeriesRelatedInstances: se.children.length } } });
    }
  }
  return out;
}

function idOf(level: QueryLevel, e: EntityRecord): string {
  const a = e.attributes as Record<string, unknown>;
  if (level === 'PATIENT') return `${(a['PatientID'] as string | undefined) ?? ''}|${(a['IssuerOfPatientID'] as string | undefined) ?? ''}`;
  return a[{ STUDY: 'StudyInstanceUID', SERIES: 'SeriesInstanceUID', IMAGE: 'SOPInstanceUID' }[level]] as string;
}

// ---- queries ----

const textKey = (pool: readonly string[]) => fc.oneof(
  pick(pool),
  pick(pool).chain((v) => fc.nat({ max: v.length }).map((n) => `${v.slice(0, n)}*`)),
  pick(pool).map((v) => v.replace(/[A-Za-z]/, '?')),
  pick(['*', '""']),
);
const KEYS: Record<string, { level: QueryLevel; arb: fc.Arbitrary<string> }> = {
  PatientName: { level: 'PATIENT', arb: textKey(['Doe^John', 'doe^jane', 'MULLER^JURGEN', 'Anonymous', 'Doe']) },
  PatientID: { level: 'PATIENT', arb: textKey(['P1', 'p2', 'P']) },
  PatientSex: { level: 'PATIENT', arb: pick(['M', 'F', '""']) },
  PatientBirthDate: { level: 'PATIENT', arb: pick(['19700101', '1975-', '-19750101', '""']) },
  NumberOfPatientRelatedStudies: { level: 'PATIENT', arb: pick(['1', '2', '3']) },
  StudyDate: { level: 'STUDY', arb: pick(['20240110', '20240101-', '-20240101', '20231231-20240110', '""']) },
  StudyTime: { level: 'STUDY', arb: pick(['1000-1100', '2300-', '""']) },
  AccessionNumber: { level: 'STUDY', arb: textKey(['A1', 'A2', 'A_4', 'A']) },
  StudyDescription: { level: 'STUDY', arb: textKey(['CHEST', 'chest pa', 'HEAD', 'Ünïcode', 'NOISE']) },
  ReferringPhysicianName: { level: 'STUDY', arb: textKey(['who', 'Who^Doctor']) },
  ModalitiesInStudy: { level: 'STUDY', arb: pick(['CT', 'MR', 'SR', 'PT', 'ct', 'C*']) },
  NumberOfStudyRelatedInstances: { level: 'STUDY', arb: pick(['1', '2', '3', '4']) },
  NumberOfStudyRelatedSeries: { level: 'STUDY', arb: pick(['1', '2']) },
  InstitutionAddress: { level: 'STUDY', arb: textKey(['Main Street 1', 'Bahnhofstrasse 2']) },
  Modality: { level: 'SERIES', arb: pick(['CT', 'MR', 'ct', 'C?', '*T']) },
  SeriesNumber: { level: 'SERIES', arb: pick(['1', '2', '7']) },
  SeriesDescription: { level: 'SERIES', arb: textKey(['T1', 'T2', 'NOISE']) },
  BodyPartExamined: { level: 'SERIES', arb: pick(['CHEST', '""']) },
  NumberOfSeriesRelatedInstances: { level: 'SERIES', arb: pick(['1', '2', '3']) },
  SOPClassUID: { level: 'IMAGE', arb: pick(SOP_CLASSES) },
  InstanceNumber: { level: 'IMAGE', arb: pick(['1', '2', '10']) },
};

const queryArb = fc.record({
  level: pick(LEVELS),
  keys: fc.subarray(Object.keys(KEYS), { minLength: 1, maxLength: 3 }).chain((names) => fc.record(Object.fromEntries(names.map((n) => [n, KEYS[n]!.arb])) as Record<string, fc.Arbitrary<string>>)),
  options: fc.record({ emptyValueMatching: fc.boolean(), combinedDateTimeMatching: fc.boolean() }),
});

function makeQuery(level: QueryLevel, keys: Record<string, string>, options: Partial<QueryOptions>): Query | undefined {
  const model: InformationModelName = level === 'PATIENT' ? 'PatientRoot' : 'StudyRoot';
  const ds = new DataSet();
  ds.set('SpecificCharacterSet', 'CS', 'ISO_IR 192');
  ds.set('QueryRetrieveLevel', 'CS', level);
  // Every query carries the Unique Key of its level (PS3.4 C.4.1.3.2.1), here as a return key.
  ds.set({ PATIENT: 'PatientID', STUDY: 'StudyInstanceUID', SERIES: 'SeriesInstanceUID', IMAGE: 'SOPInstanceUID' }[level], undefined, null);
  for (const [k, v] of Object.entries(keys)) {
    // A key at a level below the query's is not allowed; an InstitutionAddress key is at the query level.
    const keyLevel = k === 'InstitutionAddress' ? level : KEYS[k]!.level;
    if (LEVELS.indexOf(keyLevel) > LEVELS.indexOf(level)) continue;
    ds.set(k, undefined, v);
  }
  try {
    return parseIdentifier(ds, { model, options: { relational: true, ...options } });
  } catch (e) {
    if (e instanceof QueryError) return undefined;
    throw e;
  }
}

test('property: find() selects, orders and derives exactly what the matcher selects from the model', async () => {
  let checked = 0;
  let nonTrivial = 0;
  await fc.assert(fc.asyncProperty(
    fc.array(instanceArb, { minLength: 1, maxLength: 30 }),
    fc.array(fc.nat(), { maxLength: 6 }),
    fc.array(queryArb, { minLength: 1, maxLength: 10 }),
    async (picks, deletions, queries) => {
      const specs = picks.map(specOf);
      const index = new SqliteIndexStore({ path: ':memory:' });
      try {
        // Concurrent submissions: group commit keeps them in submission order.
        const results = await Promise.all(specs.map((spec) => index.insertInstance(buildInstanceIndexRecord(instanceDataSet(spec), {
          blobKey: `b-${spec['SOPInstanceUID']}`, size: 1, dataSetOffset: 0, transferSyntaxUid: '1.2.840.10008.1.2.1',
        }), 'reject')));
        assert.ok(results.every((r) => r.status === 'inserted'));
        const model = buildModel(specs);
        for (const d of deletions) {
          const uids = [...model.instances.keys()];
          if (uids.length === 0) break;
          const uid = uids[d % uids.length]!;
          await index.deleteInstance(uid);
          removeInstance(model, uid);
        }
        for (const { level, keys, options } of queries) {
          const q = makeQuery(level, keys, options);
          if (!q) continue;
          const all = entities(model, level);
          const expected = all.filter((e) => matches(q, e.entity));
          const got = await collect(index.find(q, level));
          const label = `${level} ${JSON.stringify(keys)} ${JSON.stringify(options)}`;
          assert.deepEqual(got.map((e) => idOf(level, e)), expected.map((e) => e.id), label);
          got.forEach((e, i) => assert.deepEqual(e.derived, expected[i]!.entity.derived, `derived of ${expected[i]!.id}: ${label}`));
          checked++;
          if (expected.length > 0 && expected.length < all.length) nonTrivial++;
        }
        const stats = await index.stats();
        assert.deepEqual([stats.patients, stats.studies, stats.series, stats.instances], [model.patients.size, model.studies.size, model.series.size, model.instances.size]);
      } finally {
        await index.close();
      }
    },
  ), { numRuns: 250, seed: 20260107 });
  assert.ok(checked > 400, `only ${checked} queries were valid`);
  assert.ok(nonTrivial > 150, `only ${nonTrivial} queries selected some but not all entities`);
});
