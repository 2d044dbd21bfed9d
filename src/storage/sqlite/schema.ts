/**
 * The SQLite index schema: one table per level (patient, study, series, instance: the names
 * query/sql.ts compiles WHERE fragments against), each with the columns schemaColumns(level) gives
 * for the indexed attributes, plus the index's own columns:
 *
 *   patient   pk, key_patient_id + key_issuer (the patient's identity, UNIQUE), attributes (JSON
 *             attribute record of the level), number_of_studies / _series / _instances, created_at
 *   study     pk, patient_pk, attributes, number_of_series / _instances, created_at; the indexed
 *             columns modalities_in_study and sop_classes_in_study are maintained by the index
 *   series    pk, study_pk, attributes, number_of_instances, created_at
 *   instance  pk, series_pk, study_pk, attributes, blob_key (UNIQUE), transfer_syntax_uid, size,
 *             data_set_offset, source_aet, received_at
 *   instance_metadata  instance_pk, encoding ('deflate' or 'identity'), json (the PS3.18 JSON text)
 *   index_warning      level, uid, message (UNIQUE together), count, first_at, last_at
 *   unconfirmed_blob   blob_key of instances indexed before their blob was durable (ADR 0013)
 *   totals             one row: patients, studies, series, instances, total_size
 *   schema_version     one row: the version of the migrations applied
 *
 * Versioned migrations (MIGRATIONS) create and change the fixed part. The attribute columns follow
 * query/keys.ts: when a later version indexes one more attribute, syncColumns() adds its column and
 * fills it from each row's stored attribute record, so no instance has to be read again.
 */
import { DicomError } from '../../core/dicom-error.js';
import type { QueryLevel } from '../../query/query.js';
import { columnValues, DEFAULT_TABLES, schemaColumns } from '../../query/sql.js';
import type { AttributeRecord } from '../../query/record.js';
import type { Database } from './better-sqlite3.js';

export const TABLES = DEFAULT_TABLES;
export const LEVELS: readonly QueryLevel[] = ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'];

/** Indexed columns the index computes itself (derived attributes), not from a row's attribute record. */
export const DERIVED_COLUMNS: ReadonlySet<string> = new Set(['modalities_in_study', 'sop_classes_in_study']);

/** The columns of a level's table that hold indexed attributes (from query/sql.ts). */
export function attributeColumns(level: QueryLevel): string[] {
  return schemaColumns(level).map((c) => c.name);
}

function attributeColumnsDdl(level: QueryLevel): string {
  return schemaColumns(level).map((c) => `${c.name} ${c.type}`).join(',\n  ');
}

interface Migration {
  readonly version: number;
  readonly description: string;
  up(db: Database): void;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'patient, study, series, instance, metadata, warnings, totals',
    up(db) {
      db.exec(`
CREATE TABLE patient (
  pk INTEGER PRIMARY KEY,
  key_patient_id TEXT NOT NULL,
  key_issuer TEXT NOT NULL,
  ${attributeColumnsDdl('PATIENT')},
  attributes TEXT NOT NULL,
  number_of_studies INTEGER NOT NULL DEFAULT 0,
  number_of_series INTEGER NOT NULL DEFAULT 0,
  number_of_instances INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  UNIQUE (key_patient_id, key_issuer)
);
CREATE TABLE study (
  pk INTEGER PRIMARY KEY,
  patient_pk INTEGER NOT NULL REFERENCES patient (pk),
  ${attributeColumnsDdl('STUDY')},
  attributes TEXT NOT NULL,
  number_of_series INTEGER NOT NULL DEFAULT 0,
  number_of_instances INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX study_uid ON study (study_instance_uid);
CREATE INDEX study_patient ON study (patient_pk);
CREATE TABLE series (
  pk INTEGER PRIMARY KEY,
  study_pk INTEGER NOT NULL REFERENCES study (pk),
  ${attributeColumnsDdl('SERIES')},
  attributes TEXT NOT NULL,
  number_of_instances INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX series_uid ON series (series_instance_uid);
CREATE INDEX series_study ON series (study_pk);
CREATE TABLE instance (
  pk INTEGER PRIMARY KEY,
  series_pk INTEGER NOT NULL REFERENCES series (pk),
  study_pk INTEGER NOT NULL REFERENCES study (pk),
  ${attributeColumnsDdl('IMAGE')},
  attributes TEXT NOT NULL,
  blob_key TEXT NOT NULL,
  transfer_syntax_uid TEXT NOT NULL,
  size INTEGER NOT NULL,
  data_set_offset INTEGER NOT NULL,
  source_aet TEXT,
  received_at TEXT NOT NULL
);
CREATE UNIQUE INDEX instance_uid ON instance (sop_instance_uid);
CREATE UNIQUE INDEX instance_blob ON instance (blob_key);
CREATE INDEX instance_series ON instance (series_pk);
CREATE INDEX instance_study ON instance (study_pk);
CREATE TABLE instance_metadata (
  instance_pk INTEGER PRIMARY KEY REFERENCES instance (pk) ON DELETE CASCADE,
  encoding TEXT NOT NULL,
  json BLOB NOT NULL
);
CREATE TABLE index_warning (
  pk INTEGER PRIMARY KEY,
  level TEXT NOT NULL,
  uid TEXT NOT NULL,
  message TEXT NOT NULL,
  count INTEGER NOT NULL DEFAULT 1,
  first_at TEXT NOT NULL,
  last_at TEXT NOT NULL,
  UNIQUE (level, uid, message)
);
CREATE TABLE totals (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  patients INTEGER NOT NULL,
  studies INTEGER NOT NULL,
  series INTEGER NOT NULL,
  instances INTEGER NOT NULL,
  total_size INTEGER NOT NULL
);
INSERT INTO totals VALUES (1, 0, 0, 0, 0, 0);
`);
    },
  },
  {
    version: 2,
    description: 'unconfirmed_blob: instances indexed while their blob was being flushed (ADR 0013)',
    up(db) {
      db.exec('CREATE TABLE unconfirmed_blob (blob_key TEXT PRIMARY KEY) WITHOUT ROWID');
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Secondary indexes on the columns C-FIND and QIDO-RS match most (PS3.4 C.6 Required keys and
 * the QIDO-RS defaults); created when their column exists. GLOB 'DOE*' on the folded PN columns
 * and ranges on the dates use them.
 */
const SECONDARY_INDEXES: ReadonlyArray<readonly [table: string, column: string]> = [
  ['patient', 'patient_id'], ['patient', 'patient_name_a'], ['patient', 'patient_name_i'], ['patient', 'patient_name_p'],
  ['patient', 'patient_birth_date'],
  ['study', 'study_date'], ['study', 'study_date_time_utc'], ['study', 'accession_number'], ['study', 'study_id'],
  ['study', 'referring_physician_name_a'],
  ['series', 'modality'],
];

/** Reads the schema version, applies pending migrations, adds missing attribute columns and indexes. */
export function prepareSchema(db: Database): { version: number; addedColumns: string[] } {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = db.prepare<{ version: number }>('SELECT version FROM schema_version').get();
  let version = row?.version ?? 0;
  if (!row) db.prepare('INSERT INTO schema_version (version) VALUES (0)').run();
  if (version > SCHEMA_VERSION) {
    throw new DicomError('ERR_DICOM_STORAGE_SCHEMA', `the index database has schema version ${version}, newer than the ${SCHEMA_VERSION} this version of Conduit knows; upgrade Conduit`);
  }
  for (const m of MIGRATIONS) {
    if (m.version <= version) continue;
    try {
      db.transaction(() => {
        m.up(db);
        db.prepare('UPDATE schema_version SET version = ?').run(m.version);
      }).immediate();
    } catch (cause) {
      throw new DicomError('ERR_DICOM_STORAGE_SCHEMA', `migration ${m.version} (${m.description}) of the index database failed: ${(cause as Error).message}`, { cause });
    }
    version = m.version;
  }
  const addedColumns = db.transaction(() => syncColumns(db)).immediate();
  for (const [table, column] of SECONDARY_INDEXES) {
    if (tableColumns(db, table).has(column)) db.exec(`CREATE INDEX IF NOT EXISTS ${table}_${column} ON ${table} (${column})`);
  }
  return { version, addedColumns };
}

function tableColumns(db: Database, table: string): Set<string> {
  return new Set(db.prepare<{ name: string }>(`PRAGMA table_info(${table})`).all().map((c) => c.name));
}

/**
 * Adds the attribute columns query/keys.ts has and the tables lack, and fills them from the
 * stored attribute records (the derived columns from the child rows). Returns "table.column" of each.
 */
function syncColumns(db: Database): string[] {
  const added: string[] = [];
  for (const level of LEVELS) {
    const table = TABLES[level];
    const have = tableColumns(db, table);
    const missing = schemaColumns(level).filter((c) => !have.has(c.name));
    if (missing.length === 0) continue;
    for (const c of missing) db.exec(`ALTER TABLE ${table} ADD COLUMN ${c.name} ${c.type}`);
    added.push(...missing.map((c) => `${table}.${c.name}`));
    const fill = missing.filter((c) => !DERIVED_COLUMNS.has(c.name));
    if (fill.length) {
      const update = db.prepare(`UPDATE ${table} SET ${fill.map((c) => `${c.name} = ?`).join(', ')} WHERE pk = ?`);
      for (const row of db.prepare<{ pk: number; attributes: string }>(`SELECT pk, attributes FROM ${table}`).all()) {
        const values = columnValues(level, JSON.parse(row.attributes) as AttributeRecord);
        update.run(...fill.map((c) => values[c.name] ?? null), row.pk);
      }
    }
    if (missing.some((c) => DERIVED_COLUMNS.has(c.name))) {
      const update = db.prepare('UPDATE study SET modalities_in_study = ?, sop_classes_in_study = ? WHERE pk = ?');
      for (const { pk } of db.prepare<{ pk: number }>('SELECT pk FROM study').all()) {
        update.run(multiValued(studyModalities(db, pk)), multiValued(studySopClasses(db, pk)), pk);
      }
    }
  }
  return added;
}

/** Modalities in Study (0008,0061): the Modality of the study's series, in order of arrival. */
export function studyModalities(db: Database, studyPk: number): string[] {
  return db.prepare<{ modality: string }>('SELECT modality, min(pk) AS first FROM series WHERE study_pk = ? AND modality IS NOT NULL GROUP BY modality ORDER BY first')
    .all(studyPk).map((r) => r.modality);
}

/** SOP Classes in Study (0008,0062): the SOP Class UIDs of the study's instances, in order of arrival. */
export function studySopClasses(db: Database, studyPk: number): string[] {
  return db.prepare<{ uid: string }>('SELECT sop_class_uid AS uid, min(pk) AS first FROM instance WHERE study_pk = ? AND sop_class_uid IS NOT NULL GROUP BY sop_class_uid ORDER BY first')
    .all(studyPk).map((r) => r.uid);
}

/** Values as a multi-text column holds them, each between backslashes (query/sql.ts), or NULL for none. */
export function multiValued(values: readonly string[]): string | null {
  return values.length ? `\\${values.join('\\')}\\` : null;
}

/** The values of a multi-text column. */
export function splitMultiValued(text: string | null | undefined): string[] {
  return text ? text.slice(1, -1).split('\\') : [];
}
