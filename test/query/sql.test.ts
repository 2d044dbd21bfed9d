import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { matches } from '../../src/query/matching.js';
import { parseQidoQuery } from '../../src/query/qido-parameters.js';
import { QueryError } from '../../src/query/query-error.js';
import type { Query, QueryOptions } from '../../src/query/query.js';
import type { AttributeRecord } from '../../src/query/record.js';
import { POSTGRESQL, SQLITE, columnValueList, columnValues, compileWhere, likeDialect, likePattern, schemaColumns } from '../../src/query/sql.js';
import { createIndex, insertRecords, openDatabase, query, selectIds, type Database, type KeyObject } from './helpers.js';

/** SQLite through LIKE ... ESCAPE, as PostgreSQL would run it (case_sensitive_like makes LIKE case-sensitive). */
const SQLITE_LIKE = likeDialect('sqlite-like', () => '?', 'instr');

function withDatabase(t: { skip(reason: string): void }, fn: (db: Database) => void): void {
  const db = openDatabase();
  if (typeof db === 'string') {
    if (process.env.CI === 'true') throw new Error(db);
    t.skip(db);
    return;
  }
  try {
    db.pragma('case_sensitive_like = ON');
    createIndex(db);
    fn(db);
  } finally {
    db.close();
  }
}

test('schema columns: one per indexed attribute, with the PN, TM and DA+TM search columns', () => {
  assert.deepEqual(schemaColumns('PATIENT').map((c) => `${c.name} ${c.type}`), [
    'patient_name TEXT', 'patient_name_a TEXT', 'patient_name_i TEXT', 'patient_name_p TEXT', 'patient_id TEXT', 'issuer_of_patient_id TEXT',
    'patient_birth_date TEXT', 'patient_birth_date_time TEXT', 'patient_birth_date_time_utc TEXT', 'patient_birth_time TEXT',
    'patient_birth_time_utc TEXT', 'patient_sex TEXT',
  ]);
  assert.ok(schemaColumns('SERIES').some((c) => c.name === 'series_number' && c.type === 'INTEGER'));
  assert.ok(schemaColumns('IMAGE').some((c) => c.name === 'sop_instance_uid'));
  assert.deepEqual(columnValues('STUDY', { StudyDate: '20200102', StudyTime: '1015', TimezoneOffsetFromUTC: '+0100', ModalitiesInStudy: ['CT', 'MR'], StudyInstanceUID: '1.2' }), {
    study_instance_uid: '1.2', study_date: '20200102', study_date_time: '20200102101500.000000', study_date_time_utc: '20200102091500.000000',
    study_time: '101500.000000', study_time_utc: '091500.000000', accession_number: null, study_id: null, referring_physician_name: null,
    referring_physician_name_a: null, referring_physician_name_i: null, referring_physician_name_p: null, study_description: null,
    modalities_in_study: '\\CT\\MR\\', sop_classes_in_study: null,
  });
  assert.deepEqual(columnValues('PATIENT', { PatientName: 'Müller^Jürgen=ミュラー' }).patient_name_a, 'MULLER^JURGEN');
});

test('columnValueList: the values of columnValues in schemaColumns order, every kind of column', () => {
  const record = {
    PatientName: 'Müller^Jürgen=ミュラー', PatientID: 'P1', PatientBirthDate: '19700101', PatientBirthTime: '0630', PatientSex: 'M',
    StudyDate: '20200102', StudyTime: '1015', TimezoneOffsetFromUTC: '+0100', ModalitiesInStudy: ['CT', 'MR'], StudyInstanceUID: '1.2',
    ReferringPhysicianName: 'Doe^Jane', SeriesNumber: '7', SeriesInstanceUID: '1.2.3', Modality: 'CT', InstanceNumber: '12', SOPInstanceUID: '1.2.3.4',
  };
  for (const level of ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'] as const) {
    const names = schemaColumns(level).map((c) => c.name);
    const list = columnValueList(level, record);
    assert.equal(list.length, names.length, level);
    assert.deepEqual(Object.fromEntries(names.map((n, i) => [n, list[i]])), columnValues(level, record), level);
  }
  const patient = columnValueList('PATIENT', record);
  assert.deepEqual(patient.slice(0, 2), ['Müller^Jürgen=ミュラー', 'MULLER^JURGEN'], 'a person name and its folded groups');
  assert.ok(patient.includes('19700101063000.000000'), 'the birth date with its paired time');
  assert.ok(columnValueList('STUDY', record).includes('\\CT\\MR\\'));
  assert.ok(columnValueList('SERIES', record).includes(7), 'an integer column');
  assert.deepEqual(columnValueList('IMAGE', {}).every((v) => v === null), true, 'nothing known: every column NULL');
});

test('WHERE fragments with bound parameters; wild cards escaped for GLOB and for LIKE', () => {
  const q = query('STUDY', { StudyInstanceUID: '1.2.3\\1.2.4', AccessionNumber: '10%_[*', PatientName: 'doe^*', StudyDate: '20200101-', PatientComments: 'x*' });
  const sqlite = compileWhere(q, 'STUDY', SQLITE);
  assert.equal(sqlite.sql, 'study.study_date >= ? AND study.accession_number GLOB ? AND (patient.patient_name_a GLOB ? OR patient.patient_name_i GLOB ? OR patient.patient_name_p GLOB ?) AND study.study_instance_uid IN (?, ?)');
  assert.deepEqual(sqlite.params, ['20200101', '10%_[[]*', 'DOE^*', 'DOE^*', 'DOE^*', '1.2.3', '1.2.4']);
  // Patient Comments is not a column: the post-filter decides it.
  assert.deepEqual(sqlite.postFilterTags, [0x00104000]);
  assert.equal(sqlite.postFilter({ PatientComments: 'xy' }), true);
  assert.equal(sqlite.postFilter({ PatientComments: 'yx' }), false);
  const pg = compileWhere(q, 'STUDY', POSTGRESQL);
  assert.equal(pg.sql, "study.study_date >= $1 AND study.accession_number LIKE $2 ESCAPE '\\' AND (patient.patient_name_a LIKE $3 ESCAPE '\\' OR patient.patient_name_i LIKE $4 ESCAPE '\\' OR patient.patient_name_p LIKE $5 ESCAPE '\\') AND study.study_instance_uid IN ($6, $7)");
  assert.deepEqual(pg.params.slice(0, 2), ['20200101', '10\\%\\_[%']);
  assert.equal(likePattern('a\\b?c*'), 'a\\\\b_c%');
  // Nothing to say in SQL: always true, everything in the post-filter.
  const none = compileWhere(query('STUDY', { StudyInstanceUID: null }), 'STUDY', SQLITE);
  assert.equal(none.sql, '1 = 1');
  assert.equal(none.postFilter({}), true);
});

test('columns of levels below the selected one are not used (their keys go to the post-filter)', () => {
  const q = query('IMAGE', { SOPInstanceUID: null, Modality: 'CT' });
  assert.equal(compileWhere(q, 'IMAGE', SQLITE).sql, 'series.modality = ?');
  const asStudy = compileWhere(q, 'STUDY', SQLITE);
  assert.equal(asStudy.sql, '1 = 1');
  assert.equal(asStudy.postConditions.length, 1);
});

const RECORDS: AttributeRecord[] = [
  { PatientName: 'Doe^John', PatientID: 'P_1', StudyInstanceUID: '1.1', StudyDate: '20200101', StudyTime: '0930', AccessionNumber: '100%', ModalitiesInStudy: ['CT', 'SR'], SeriesInstanceUID: '1.1.1', Modality: 'CT', SeriesNumber: '1' },
  { PatientName: 'DOE^JANE', PatientID: 'P%1', StudyInstanceUID: '1.2', StudyDate: '20200102', StudyTime: '1030', TimezoneOffsetFromUTC: '+0100', AccessionNumber: '100_', ModalitiesInStudy: ['MR'], SeriesInstanceUID: '1.2.1', Modality: 'MR', SeriesNumber: '007', ReferencedStudySequence: [{ ReferencedSOPInstanceUID: '9.9' }] },
  { PatientName: 'Yamada^Tarou=山田^太郎=やまだ^たろう', PatientID: 'P[1]', StudyInstanceUID: '1.3', StudyDate: '20200103', AccessionNumber: '100x', SeriesInstanceUID: '1.3.1', Modality: 'ct', SeriesNumber: '7' },
  { PatientID: 'P4', StudyInstanceUID: '1.4', SeriesInstanceUID: '1.4.1' },
];

const CASES: Array<[KeyObject, Partial<QueryOptions>, number[]]> = [
  [{ PatientName: 'doe*' }, {}, [0, 1]],
  [{ PatientName: '山田*' }, {}, [2]],
  [{ PatientName: 'やまだ^たろう' }, {}, [2]],
  [{ PatientID: 'P_1' }, {}, [0]],
  [{ PatientID: 'P%*' }, {}, [1]],
  [{ PatientID: 'P[*' }, {}, [2]],
  [{ PatientID: 'P?1' }, {}, [0, 1]],
  [{ AccessionNumber: '100%' }, {}, [0]],
  [{ AccessionNumber: '100_' }, {}, [1]],
  [{ AccessionNumber: '100?' }, {}, [0, 1, 2]],
  [{ Modality: 'CT' }, {}, [0]],
  [{ Modality: 'c?' }, {}, [2]],
  [{ ModalitiesInStudy: 'SR' }, {}, [0]],
  [{ ModalitiesInStudy: 'MR\\SR' }, { multipleValueMatching: true }, []],
  [{ ModalitiesInStudy: 'SR\\CT' }, { multipleValueMatching: true }, [0]],
  [{ ModalitiesInStudy: 'M*' }, {}, [1]],
  [{ SeriesNumber: '7' }, {}, [1, 2]],
  [{ StudyDate: '20200102-' }, {}, [1, 2]],
  [{ StudyTime: '0900-1000' }, {}, [0]],
  [{ StudyTime: '0900-1000', TimezoneOffsetFromUTC: '+0000' }, { timezoneQueryAdjustment: true }, [0, 1]],
  [{ StudyDate: '20200101-20200102', StudyTime: '1000-1100' }, { combinedDateTimeMatching: true }, [1]],
  [{ AccessionNumber: '""' }, { emptyValueMatching: true }, [3]],
  [{ PatientName: '""' }, { emptyValueMatching: true }, [3]],
  [{ PatientName: 'Jane^Doe' }, { fuzzySemanticMatching: true }, [1]],
  [{ ReferencedStudySequence: [{ ReferencedSOPInstanceUID: '9.9' }] }, {}, [1]],
  [{ StudyInstanceUID: '1.2\\1.4' }, {}, [1, 3]],
];

test('SQLite runs the fragments: GLOB and LIKE dialects select what the matcher selects', (t) => {
  withDatabase(t, (db) => {
    insertRecords(db, 'SERIES', RECORDS);
    for (const [keys, options, expected] of CASES) {
      const q = query('SERIES', { SeriesInstanceUID: null, ...keys }, options);
      const inMemory = RECORDS.flatMap((r, i) => (matches(q, r) ? [i] : []));
      assert.deepEqual(inMemory, expected, `matcher ${JSON.stringify(keys)}`);
      assert.deepEqual(selectIds(db, q, 'SERIES', SQLITE, RECORDS), expected, `GLOB ${JSON.stringify(keys)}`);
      assert.deepEqual(selectIds(db, q, 'SERIES', SQLITE_LIKE, RECORDS), expected, `LIKE ${JSON.stringify(keys)}`);
    }
    const qido = parseQidoQuery('PatientName=DOE*&includefield=all', { level: 'SERIES', studyInstanceUID: '1.2' });
    assert.deepEqual(selectIds(db, qido, 'SERIES', SQLITE, RECORDS), [1]);
  });
});

// ---- the cross-check: random records, random queries, SQL + post-filter == matcher ----

const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });

const NAMES = ['Doe^John', 'DOE^JOHN', 'Doe^Jane', 'Müller^Jürgen', 'MULLER^JURGEN', 'Yamada^Tarou=山田^太郎=やまだ^たろう', 'O\'Brien^Ann^^', 'Smith, Mary', '^', '100%^_x'];
const IDS = ['P1', 'P_1', 'P%1', 'p1', 'P[1]', 'ID 7', 'A-1/2', 'x.(y)+$^|{z}', ''];
const DATES = ['20200101', '20200102', '20200131', '2020.02.01', '19991231', 'bad', ''];
const TIMES = ['00', '0930', '093000.5', '1030', '235959', '12', '2400', ''];
const OFFSETS = ['+0100', '-0500', '+0000', '+0530'];
const DESCRIPTIONS = ['CHEST', 'chest', 'CHEST PA', 'Head [contrast]', '50% dose', 'a_b', 'Ünïcode ✓', 'X-Ray \\ not', 'Abdomen/Pelvis', ''];
const MODALITIES = ['CT', 'MR', 'SR', 'PT', 'ct'];
const NUMBERS = ['1', '01', '7', '007', '12', '-3', 'x', ''];

const recordArb: fc.Arbitrary<AttributeRecord> = fc.record({
  PatientName: maybe(pick(NAMES)),
  PatientID: maybe(pick(IDS)),
  PatientSex: maybe(pick(['M', 'F', 'O', ''])),
  PatientBirthDate: maybe(pick(DATES)),
  StudyDate: maybe(pick(DATES)),
  StudyTime: maybe(pick(TIMES)),
  TimezoneOffsetFromUTC: maybe(pick(OFFSETS)),
  AccessionNumber: maybe(pick(IDS)),
  StudyDescription: maybe(pick(DESCRIPTIONS)),
  ReferringPhysicianName: maybe(pick(NAMES)),
  ModalitiesInStudy: maybe(fc.subarray(MODALITIES, { minLength: 0, maxLength: 3 })),
  Modality: maybe(pick(MODALITIES)),
  SeriesNumber: maybe(pick(NUMBERS)),
  SeriesDescription: maybe(pick(DESCRIPTIONS)),
  SeriesDate: maybe(pick(DATES)),
  SeriesTime: maybe(pick(TIMES)),
  BodyPartExamined: maybe(pick(['CHEST', 'HEAD', 'chest'])),
  ProtocolName: maybe(pick(DESCRIPTIONS)),
  OtherPatientNames: maybe(fc.subarray(NAMES.slice(0, 4), { maxLength: 2 })),
}).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as AttributeRecord);

/** Key values built from the same pools, plus wild cards and ranges. */
const textKey = (pool: readonly string[]) => fc.oneof(
  pick(pool),
  pick(pool).chain((v) => fc.integer({ min: 0, max: Math.max(0, v.length) }).map((n) => `${v.slice(0, n)}*`)),
  pick(pool).map((v) => v.replace(/[A-Za-z]/, '?')),
  pick(['*', '""', '', '?*', '*%*', '*_*', '*[*']),
);
const dateKey = fc.oneof(pick(DATES.slice(0, 5)), fc.tuple(pick(['', ...DATES.slice(0, 5)]), pick(['', ...DATES.slice(0, 5)])).map(([a, b]) => `${a}-${b}`), pick(['""', '']));
const timeKey = fc.oneof(pick(TIMES.slice(0, 6)), fc.tuple(pick(['', ...TIMES.slice(0, 6)]), pick(['', ...TIMES.slice(0, 6)])).map(([a, b]) => `${a}-${b}`), pick(['""', '']));

const KEY_ARBS: Record<string, fc.Arbitrary<string>> = {
  PatientName: textKey(NAMES),
  PatientID: textKey(IDS),
  PatientSex: textKey(['M', 'F']),
  PatientBirthDate: dateKey,
  StudyDate: dateKey,
  StudyTime: timeKey,
  AccessionNumber: textKey(IDS),
  StudyDescription: textKey(DESCRIPTIONS),
  ReferringPhysicianName: textKey(NAMES),
  ModalitiesInStudy: fc.oneof(textKey(MODALITIES), fc.subarray(MODALITIES, { minLength: 2, maxLength: 3 }).map((m) => m.join('\\'))),
  Modality: textKey(MODALITIES),
  SeriesNumber: pick(['1', '7', '007', '-3', '12']),
  SeriesDescription: textKey(DESCRIPTIONS),
  SeriesDate: dateKey,
  SeriesTime: timeKey,
  BodyPartExamined: textKey(['CHEST', 'HEAD']),
  ProtocolName: textKey(DESCRIPTIONS),
  OtherPatientNames: textKey(NAMES),
  TimezoneOffsetFromUTC: pick(OFFSETS),
};

// One to three keys (with the date and time of a pair often together), and random options.
const queryArb = fc.record({
  keys: fc.oneof(
    fc.subarray(Object.keys(KEY_ARBS), { minLength: 1, maxLength: 3 }),
    pick([['StudyDate', 'StudyTime'], ['SeriesDate', 'SeriesTime', 'TimezoneOffsetFromUTC'], ['StudyDate', 'StudyTime', 'TimezoneOffsetFromUTC'], ['StudyTime', 'TimezoneOffsetFromUTC']]),
  ).chain((names) => fc.record(Object.fromEntries(names.map((n) => [n, KEY_ARBS[n]!])) as Record<string, fc.Arbitrary<string>>)),
  options: fc.record({
    combinedDateTimeMatching: fc.boolean(),
    timezoneQueryAdjustment: fc.boolean(),
    fuzzySemanticMatching: fc.boolean(),
    emptyValueMatching: fc.boolean(),
    multipleValueMatching: fc.boolean(),
  }),
});

function tryQuery(keys: Record<string, string | undefined>, options: Partial<QueryOptions>): Query | undefined {
  const present = Object.fromEntries(Object.entries(keys).filter(([, v]) => v !== undefined).map(([k, v]) => [k, v === '' ? null : v!]));
  try {
    return query('SERIES', { SeriesInstanceUID: null, ...present }, options);
  } catch (e) {
    if (e instanceof QueryError) return undefined; // an invalid random key (reversed range, ...)
    throw e;
  }
}

test('cross-check: for random records and queries, SQL + post-filter selects exactly what the matcher selects', (t) => {
  withDatabase(t, (db) => {
    let checked = 0;
    let nonTrivial = 0;
    fc.assert(fc.property(fc.array(recordArb, { minLength: 1, maxLength: 25 }), fc.array(queryArb, { minLength: 1, maxLength: 8 }), (records, queries) => {
      for (const table of ['instance', 'series', 'study', 'patient']) db.exec(`DELETE FROM ${table}`);
      insertRecords(db, 'SERIES', records);
      for (const { keys, options } of queries) {
        const q = tryQuery(keys, options);
        if (!q) continue;
        const expected = records.flatMap((r, i) => (matches(q, r) ? [i] : []));
        for (const dialect of [SQLITE, SQLITE_LIKE]) {
          const got = selectIds(db, q, 'SERIES', dialect, records);
          assert.deepEqual(got, expected, `${dialect.name}: ${JSON.stringify(keys)} ${JSON.stringify(options)}\n${compileWhere(q, 'SERIES', dialect).sql}`);
        }
        checked++;
        if (expected.length > 0 && expected.length < records.length) nonTrivial++;
      }
    }), { numRuns: 300, seed: 20260101 });
    // The generators must produce queries that split the records, or the check proves little.
    assert.ok(checked > 500, `only ${checked} queries were valid`);
    assert.ok(nonTrivial > 100, `only ${nonTrivial} queries selected some but not all records`);
  });
});
