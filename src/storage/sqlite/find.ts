/**
 * IndexStore.find for SQLite: the query's WHERE fragment (query/sql.ts compileWhere) on the level's
 * table joined with its ancestors selects the primary keys of the matches in one statement (a
 * better-sqlite3 statement cannot stay open across the awaits of an async iteration, and paging
 * the search itself would run it again for every page); their rows are then read in chunks,
 * each built as an EntityRecord (the attribute records of the entity and its ancestors merged,
 * the derived attributes from the counters the index keeps, PS3.4 C.3.4 Table C.3-1) and given to
 * the post-filter. The keys are a snapshot: an entity deleted meanwhile is skipped.
 *
 * limit and offset go to SQL when the post-filter has nothing to do; otherwise they are applied to
 * what the post-filter lets through.
 *
 * When the query names an attribute that no level record holds (index-record.ts), the entity's
 * representative instance (its first stored) lends those attributes from its metadata: an IMAGE
 * entity its own, a series, study or patient that of its first instance.
 */
import { inflateRawSync } from 'node:zlib';
import type { DicomJsonDataSet } from '../../data/json-model.js';
import type { Tag } from '../../data/tag.js';
import { lookupTag } from '../../dictionary/index.js';
import type { Query, QueryLevel } from '../../query/query.js';
import type { AttributeRecord, AttributeValue, DerivedAttributes, EntityRecord } from '../../query/record.js';
import { compileWhere, SQLITE } from '../../query/sql.js';
import { attributeRecordFromJson, isCoveredAt } from '../index-record.js';
import type { FindOptions } from '../ports.js';
import type { Database, Statement } from './better-sqlite3.js';
import { splitMultiValued } from './schema.js';

const CHUNK = 256;

const FROM: Readonly<Record<QueryLevel, string>> = {
  PATIENT: 'patient',
  STUDY: 'study JOIN patient ON patient.pk = study.patient_pk',
  SERIES: 'series JOIN study ON study.pk = series.study_pk JOIN patient ON patient.pk = study.patient_pk',
  IMAGE: 'instance JOIN series ON series.pk = instance.series_pk JOIN study ON study.pk = instance.study_pk JOIN patient ON patient.pk = study.patient_pk',
};

const SELECT: Readonly<Record<QueryLevel, string>> = {
  PATIENT: 'patient.pk AS pk, patient.pk AS patient_pk, patient.attributes AS attributes, patient.number_of_studies AS a, patient.number_of_series AS b, patient.number_of_instances AS c',
  STUDY: 'study.pk AS pk, study.patient_pk AS patient_pk, study.attributes AS attributes, study.number_of_series AS a, study.number_of_instances AS b, study.modalities_in_study AS modalities, study.sop_classes_in_study AS sop_classes',
  SERIES: 'series.pk AS pk, series.study_pk AS study_pk, study.patient_pk AS patient_pk, series.attributes AS attributes, series.number_of_instances AS a',
  IMAGE: 'instance.pk AS pk, instance.series_pk AS series_pk, instance.study_pk AS study_pk, study.patient_pk AS patient_pk, instance.attributes AS attributes',
};

const TABLE: Readonly<Record<QueryLevel, string>> = { PATIENT: 'patient', STUDY: 'study', SERIES: 'series', IMAGE: 'instance' };

interface Row {
  pk: number;
  patient_pk: number;
  study_pk?: number;
  series_pk?: number;
  attributes: string;
  a?: number;
  b?: number;
  c?: number;
  modalities?: string | null;
  sop_classes?: string | null;
}

interface Loaded {
  readonly attributes: AttributeRecord;
  readonly derived: DerivedAttributes;
}

/** Reads entities by primary key, with a cache per find() (the rows of a page share ancestors). */
export class EntityLoader {
  private readonly patient: Statement<{ attributes: string; a: number; b: number; c: number }>;
  private readonly study: Statement<{ attributes: string; a: number; b: number; modalities: string | null; sop_classes: string | null }>;
  private readonly series: Statement<{ attributes: string; a: number }>;
  private readonly metadata: Statement<{ encoding: string; json: Uint8Array | string }>;
  private readonly representative: Readonly<Record<QueryLevel, Statement<{ pk: number }>>>;

  constructor(private readonly db: Database) {
    this.patient = db.prepare('SELECT attributes, number_of_studies AS a, number_of_series AS b, number_of_instances AS c FROM patient WHERE pk = ?');
    this.study = db.prepare('SELECT attributes, number_of_series AS a, number_of_instances AS b, modalities_in_study AS modalities, sop_classes_in_study AS sop_classes FROM study WHERE pk = ?');
    this.series = db.prepare('SELECT attributes, number_of_instances AS a FROM series WHERE pk = ?');
    this.metadata = db.prepare('SELECT encoding, json FROM instance_metadata WHERE instance_pk = ?');
    this.representative = {
      PATIENT: db.prepare('SELECT instance.pk AS pk FROM instance JOIN study ON study.pk = instance.study_pk WHERE study.patient_pk = ? ORDER BY instance.pk LIMIT 1'),
      STUDY: db.prepare('SELECT pk FROM instance WHERE study_pk = ? ORDER BY pk LIMIT 1'),
      SERIES: db.prepare('SELECT pk FROM instance WHERE series_pk = ? ORDER BY pk LIMIT 1'),
      IMAGE: db.prepare('SELECT pk FROM instance WHERE pk = ?'),
    };
  }

  /** The metadata JSON text of an instance, or undefined when none was stored. */
  metadataText(instancePk: number): string | undefined {
    const row = this.metadata.get(instancePk);
    return row ? decodeMetadata(row.encoding, row.json) : undefined;
  }

  /** A cache of parsed ancestors for the duration of one search. */
  session(): EntitySession {
    return new EntitySession(this);
  }

  loadPatient(pk: number): Loaded {
    const r = this.patient.get(pk)!;
    return { attributes: JSON.parse(r.attributes) as AttributeRecord, derived: patientDerived(r.a, r.b, r.c) };
  }
  loadStudy(pk: number): Loaded {
    const r = this.study.get(pk)!;
    return { attributes: JSON.parse(r.attributes) as AttributeRecord, derived: studyDerived(r.a, r.b, r.modalities, r.sop_classes) };
  }
  loadSeries(pk: number): Loaded {
    const r = this.series.get(pk)!;
    return { attributes: JSON.parse(r.attributes) as AttributeRecord, derived: { NumberOfSeriesRelatedInstances: r.a } };
  }
  representativeRecord(level: QueryLevel, pk: number): AttributeRecord | undefined {
    const instance = this.representative[level].get(pk);
    const text = instance ? this.metadataText(instance.pk) : undefined;
    if (text === undefined) return undefined;
    const record = attributeRecordFromJson(JSON.parse(text) as DicomJsonDataSet) as Record<string, AttributeValue>;
    // Only what no level record holds: the level records are the truth for their attributes (an
    // attribute absent there is absent), and those of lower levels are not the entity's.
    for (const key of Object.keys(record)) if (isCoveredAt(key, 'IMAGE')) delete record[key];
    return record;
  }
}

class EntitySession {
  private readonly patients = new Map<number, Loaded>();
  private readonly studies = new Map<number, Loaded>();
  private readonly series = new Map<number, Loaded>();
  constructor(readonly loader: EntityLoader) {}

  patient(pk: number): Loaded {
    return cached(this.patients, pk, () => this.loader.loadPatient(pk));
  }
  study(pk: number): Loaded {
    return cached(this.studies, pk, () => this.loader.loadStudy(pk));
  }
  seriesOf(pk: number): Loaded {
    return cached(this.series, pk, () => this.loader.loadSeries(pk));
  }
}

function cached(map: Map<number, Loaded>, pk: number, load: () => Loaded): Loaded {
  let v = map.get(pk);
  if (!v) {
    if (map.size > 1000) map.clear();
    v = load();
    map.set(pk, v);
  }
  return v;
}

export function decodeMetadata(encoding: string, json: Uint8Array | string): string {
  if (typeof json === 'string') return json;
  const bytes = encoding === 'deflate' ? inflateRawSync(json) : json;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

function patientDerived(studies: number, series: number, instances: number): DerivedAttributes {
  return { NumberOfPatientRelatedStudies: studies, NumberOfPatientRelatedSeries: series, NumberOfPatientRelatedInstances: instances };
}

function studyDerived(series: number, instances: number, modalities: string | null | undefined, sopClasses: string | null | undefined): DerivedAttributes {
  return {
    NumberOfStudyRelatedSeries: series,
    NumberOfStudyRelatedInstances: instances,
    ModalitiesInStudy: splitMultiValued(modalities),
    SOPClassesInStudy: splitMultiValued(sopClasses),
  };
}

/** True when the query reads an attribute no level record holds (see the module comment). */
export function needsMetadata(query: Query, level: QueryLevel, postFilterTags: readonly Tag[]): boolean {
  const tags = new Set<Tag>([...query.keys.map((k) => k.tag), ...postFilterTags]);
  const include = query.qido?.includeFields;
  if (include !== undefined && include !== 'all') for (const path of include) tags.add(path[0]!);
  for (const t of tags) if (!isCoveredAt(lookupTag(t)?.keyword ?? '', level)) return true;
  return false;
}

/** A small cache of prepared statements by SQL text. */
export class StatementCache {
  private readonly map = new Map<string, Statement<Row>>();
  constructor(private readonly db: Database, private readonly size = 200) {}
  get(sql: string): Statement<Row> {
    return this.cached(sql, false);
  }
  /** A statement returning the first column of each row only. */
  pluck(sql: string): Statement<unknown> {
    return this.cached(`/* pluck */ ${sql}`, true) as Statement<unknown>;
  }
  private cached(key: string, pluck: boolean): Statement<Row> {
    let s = this.map.get(key);
    if (s) {
      this.map.delete(key);
      this.map.set(key, s);
      return s;
    }
    s = this.db.prepare<Row>(key);
    if (pluck) s.pluck(true);
    this.map.set(key, s);
    if (this.map.size > this.size) this.map.delete(this.map.keys().next().value!);
    return s;
  }
}

/** The search itself (IndexStore.find). */
export async function* findEntities(
  statements: StatementCache, loader: EntityLoader, query: Query, level: QueryLevel, options: FindOptions = {}, isOpen: () => boolean = () => true,
): AsyncGenerator<EntityRecord> {
  const where = compileWhere(query, level, SQLITE);
  const table = TABLE[level];
  const filtered = where.postConditions.length > 0;
  const limit = options.limit ?? Infinity;
  let skip = options.offset ?? 0;
  if (limit <= 0) return;
  // One search for the keys of every match, in order of arrival (LIMIT -1: no limit)...
  const search = statements.pluck(`SELECT ${table}.pk FROM ${FROM[level]} WHERE (${where.sql}) ORDER BY ${table}.pk LIMIT ? OFFSET ?`);
  const sqlLimit = filtered || limit === Infinity ? -1 : limit;
  const pks = search.all(...where.params, sqlLimit, filtered ? 0 : skip) as number[];
  if (!filtered) skip = 0;
  // ...then their rows, a chunk at a time.
  const rows = statements.get(`SELECT ${SELECT[level]} FROM ${FROM[level]} WHERE ${table}.pk IN (SELECT value FROM json_each(?)) ORDER BY ${table}.pk`);
  const metadata = needsMetadata(query, level, where.postFilterTags);
  const session = loader.session();
  let returned = 0;
  for (let i = 0; i < pks.length; i += CHUNK) {
    if (!isOpen()) return;
    for (const row of rows.all(JSON.stringify(pks.slice(i, i + CHUNK)))) {
      const entity = buildEntity(level, row, session, metadata);
      if (filtered && !where.postFilter(entity)) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      yield entity;
      if (++returned >= limit) return;
    }
  }
}

function buildEntity(level: QueryLevel, row: Row, session: EntitySession, metadata: boolean): EntityRecord {
  const parts: AttributeRecord[] = [];
  let derived: DerivedAttributes = {};
  const own = JSON.parse(row.attributes) as AttributeRecord;
  if (metadata) {
    const lent = session.loader.representativeRecord(level, row.pk);
    if (lent) parts.push(lent);
  }
  if (level === 'PATIENT') {
    derived = patientDerived(row.a!, row.b!, row.c!);
  } else {
    const patient = session.patient(row.patient_pk);
    parts.push(patient.attributes);
    derived = { ...patient.derived };
    if (level === 'STUDY') {
      derived = { ...derived, ...studyDerived(row.a!, row.b!, row.modalities, row.sop_classes) };
    } else {
      const study = session.study(row.study_pk!);
      parts.push(study.attributes);
      derived = { ...derived, ...study.derived };
      if (level === 'SERIES') {
        derived = { ...derived, NumberOfSeriesRelatedInstances: row.a! };
      } else {
        const series = session.seriesOf(row.series_pk!);
        parts.push(series.attributes);
        derived = { ...derived, ...series.derived };
      }
    }
  }
  parts.push(own);
  return { level, attributes: Object.assign({}, ...parts) as AttributeRecord, derived, instanceAvailability: 'ONLINE' };
}
