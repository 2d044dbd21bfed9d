/**
 * IndexStore.find for SQLite: the query's WHERE fragment (query/sql.ts compileWhere) on the level's
 * table joined with its ancestors selects the primary keys of the matches in one statement (a
 * better-sqlite3 statement cannot stay open across the awaits of an async iteration, and paging
 * the search itself would run it again for every page); their rows are then read in chunks,
 * each built as an EntityRecord (the attribute records of the entity and its ancestors as layers,
 * query/record.ts, not merged; the derived attributes from the counters the index keeps, PS3.4
 * C.3.4 Table C.3-1) and given to the post-filter. The keys are a snapshot: an entity deleted meanwhile is skipped.
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
import { mergeLayers, type AttributeRecord, type AttributeValue, type DerivedAttributes, type EntityRecord } from '../../query/record.js';
import { compileWhere, SQLITE } from '../../query/sql.js';
import { attributeRecordFromJson, isCoveredAt } from '../index-record.js';
import type { FindOptions } from '../ports.js';
import type { Database, Statement } from './better-sqlite3.js';
import { splitMultiValued } from './schema.js';

/**
 * Rows are read FIRST_CHUNK at a time at first (the first matches answered early), then CHUNK at a
 * time.
 */
const FIRST_CHUNK = 8;
const CHUNK = 256;

const FROM: Readonly<Record<QueryLevel, string>> = {
  PATIENT: 'patient',
  STUDY: 'study JOIN patient ON patient.pk = study.patient_pk',
  SERIES: 'series JOIN study ON study.pk = series.study_pk JOIN patient ON patient.pk = study.patient_pk',
  IMAGE: 'instance JOIN series ON series.pk = instance.series_pk JOIN study ON study.pk = instance.study_pk JOIN patient ON patient.pk = study.patient_pk',
};

// Each row carries the entity and its ancestors: keys, attribute records, counters.
const PATIENT_COLUMNS = 'patient.pk AS p_pk, patient.attributes AS p_attributes, patient.number_of_studies AS p_studies, patient.number_of_series AS p_series, patient.number_of_instances AS p_instances';
const STUDY_COLUMNS = 'study.pk AS st_pk, study.attributes AS st_attributes, study.number_of_series AS st_series, study.number_of_instances AS st_instances, study.modalities_in_study AS st_modalities, study.sop_classes_in_study AS st_sop_classes';
const SERIES_COLUMNS = 'series.pk AS se_pk, series.attributes AS se_attributes, series.number_of_instances AS se_instances';
const SELECT: Readonly<Record<QueryLevel, string>> = {
  PATIENT: PATIENT_COLUMNS,
  STUDY: `${STUDY_COLUMNS}, ${PATIENT_COLUMNS}`,
  SERIES: `${SERIES_COLUMNS}, ${STUDY_COLUMNS}, ${PATIENT_COLUMNS}`,
  IMAGE: `instance.pk AS i_pk, instance.attributes AS i_attributes, ${SERIES_COLUMNS}, ${STUDY_COLUMNS}, ${PATIENT_COLUMNS}`,
};

const TABLE: Readonly<Record<QueryLevel, string>> = { PATIENT: 'patient', STUDY: 'study', SERIES: 'series', IMAGE: 'instance' };

interface Row {
  p_pk: number; p_attributes: string; p_studies: number; p_series: number; p_instances: number;
  st_pk?: number; st_attributes?: string; st_series?: number; st_instances?: number; st_modalities?: string | null; st_sop_classes?: string | null;
  se_pk?: number; se_attributes?: string; se_instances?: number;
  i_pk?: number; i_attributes?: string;
}

/** A level's record with those of its ancestors (EntityRecord.layers) and the derived attributes of all of them. */
interface Loaded {
  readonly layers: readonly AttributeRecord[];
  readonly derived: DerivedAttributes;
}

/** Parsed level records kept between searches, at most this many per level. */
const PARSED_RECORDS = 20_000;
const NO_VALUES: readonly string[] = Object.freeze([]);

/**
 * Reads what find() needs besides its rows: the representative instance's metadata; and keeps the
 * level records it parsed, frozen, between searches: a record is reused only while its row holds
 * the very same JSON text (a changed record is parsed again), so repeated queries over the same
 * studies do not parse them again.
 */
export class EntityLoader {
  private readonly parsedRecords: Readonly<Record<'PATIENT' | 'STUDY' | 'SERIES', Map<number, { readonly json: string; readonly record: AttributeRecord }>>> = {
    PATIENT: new Map(), STUDY: new Map(), SERIES: new Map(),
  };
  /** Modalities / SOP Classes in Study as stored (few distinct texts), split once. */
  private readonly multiValuedTexts = new Map<string, readonly string[]>();
  private readonly metadata: Statement<{ encoding: string; json: Uint8Array | string }>;
  private readonly representative: Readonly<Record<QueryLevel, Statement<{ pk: number }>>>;

  constructor(db: Database) {
    this.metadata = db.prepare('SELECT encoding, json FROM instance_metadata WHERE instance_pk = ?');
    this.representative = {
      PATIENT: db.prepare('SELECT instance.pk AS pk FROM instance JOIN study ON study.pk = instance.study_pk WHERE study.patient_pk = ? ORDER BY instance.pk LIMIT 1'),
      STUDY: db.prepare('SELECT pk FROM instance WHERE study_pk = ? ORDER BY pk LIMIT 1'),
      SERIES: db.prepare('SELECT pk FROM instance WHERE series_pk = ? ORDER BY pk LIMIT 1'),
      IMAGE: db.prepare('SELECT pk FROM instance WHERE pk = ?'),
    };
  }

  /** The level record of row `pk` whose JSON text is `json`, parsed and frozen. */
  levelRecord(level: 'PATIENT' | 'STUDY' | 'SERIES', pk: number, json: string): AttributeRecord {
    const map = this.parsedRecords[level];
    const known = map.get(pk);
    if (known !== undefined && known.json === json) return known.record;
    const record = Object.freeze(JSON.parse(json) as AttributeRecord);
    if (map.size >= PARSED_RECORDS) map.clear();
    map.set(pk, { json, record });
    return record;
  }

  /** A multi-valued column's values (schema.ts splitMultiValued), frozen and shared. */
  multiValued(text: string | null | undefined): readonly string[] {
    if (!text) return NO_VALUES;
    let values = this.multiValuedTexts.get(text);
    if (values === undefined) {
      if (this.multiValuedTexts.size >= PARSED_RECORDS) this.multiValuedTexts.clear();
      values = Object.freeze(splitMultiValued(text));
      this.multiValuedTexts.set(text, values);
    }
    return values;
  }

  /** The metadata JSON text of an instance, or undefined when none was stored. */
  metadataText(instancePk: number): string | undefined {
    const row = this.metadata.get(instancePk);
    return row ? decodeMetadata(row.encoding, row.json) : undefined;
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

/**
 * Levels parsed once per search (the rows of an instance search share their series and study), each
 * with its ancestors' layers and derived attributes: an entity is built from them without copying.
 * What is cached is frozen, as it is shared by the entities of the search.
 */
class EntitySession {
  private readonly patients = new Map<number, Loaded>();
  private readonly studies = new Map<number, Loaded>();
  private readonly series = new Map<number, Loaded>();
  constructor(readonly loader: EntityLoader) {}

  patient(r: Row): Loaded {
    return cached(this.patients, r.p_pk, () => loaded(this.loader.levelRecord('PATIENT', r.p_pk, r.p_attributes), undefined, patientDerived(r.p_studies, r.p_series, r.p_instances)));
  }
  study(r: Row): Loaded {
    return cached(this.studies, r.st_pk!, () => loaded(
      this.loader.levelRecord('STUDY', r.st_pk!, r.st_attributes!), this.patient(r), studyDerived(r.st_series!, r.st_instances!, this.loader.multiValued(r.st_modalities), this.loader.multiValued(r.st_sop_classes)),
    ));
  }
  seriesOf(r: Row): Loaded {
    return cached(this.series, r.se_pk!, () => loaded(this.loader.levelRecord('SERIES', r.se_pk!, r.se_attributes!), this.study(r), { NumberOfSeriesRelatedInstances: r.se_instances! }));
  }
}

function loaded(own: AttributeRecord, parent: Loaded | undefined, derived: DerivedAttributes): Loaded {
  return Object.freeze({
    layers: Object.freeze(parent ? [own, ...parent.layers] : [own]),
    derived: Object.freeze(parent ? { ...parent.derived, ...derived } : derived),
  });
}

/**
 * What find() yields: the layers of the entity and its ancestors, looked through by matching and
 * responses (query/record.ts findAttribute); `attributes`, their merge, is built when first read.
 */
class LayeredEntity implements EntityRecord {
  readonly instanceAvailability = 'ONLINE';
  private merged: AttributeRecord | undefined;
  constructor(readonly level: QueryLevel, readonly layers: readonly AttributeRecord[], readonly derived: DerivedAttributes) {}
  get attributes(): AttributeRecord {
    return (this.merged ??= mergeLayers(this.layers));
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

function studyDerived(series: number, instances: number, modalities: readonly string[], sopClasses: readonly string[]): DerivedAttributes {
  return { NumberOfStudyRelatedSeries: series, NumberOfStudyRelatedInstances: instances, ModalitiesInStudy: modalities, SOPClassesInStudy: sopClasses };
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
  private readonly map = new Map<string, Statement<Record<string, unknown>>>();
  constructor(private readonly db: Database, private readonly size = 200) {}
  get(sql: string): Statement<Record<string, unknown>> {
    return this.cached(sql, false);
  }
  /** A statement returning the first column of each row only. */
  pluck(sql: string): Statement<unknown> {
    return this.cached(`/* pluck */ ${sql}`, true) as Statement<unknown>;
  }
  private cached(key: string, pluck: boolean): Statement<Record<string, unknown>> {
    let s = this.map.get(key);
    if (s) {
      this.map.delete(key);
      this.map.set(key, s);
      return s;
    }
    s = this.db.prepare(key);
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
  const session = new EntitySession(loader);
  let returned = 0;
  for (let i = 0, n = FIRST_CHUNK; i < pks.length; i += n, n = CHUNK) {
    if (!isOpen()) return;
    for (const row of rows.all(JSON.stringify(pks.slice(i, i + n)))) {
      const entity = buildEntity(level, row as unknown as Row, session, metadata);
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

/**
 * IndexStore.count: one COUNT in SQL when the post-filter has nothing to do; otherwise the matches
 * the post-filter lets through, counted as find() would yield them.
 */
export async function countEntities(statements: StatementCache, loader: EntityLoader, query: Query, level: QueryLevel, isOpen: () => boolean = () => true): Promise<number> {
  const where = compileWhere(query, level, SQLITE);
  if (where.postConditions.length === 0) {
    return statements.pluck(`SELECT COUNT(*) FROM ${FROM[level]} WHERE (${where.sql})`).get(...where.params) as number;
  }
  let n = 0;
  for await (const _ of findEntities(statements, loader, query, level, {}, isOpen)) n++;
  return n;
}

function buildEntity(level: QueryLevel, row: Row, session: EntitySession, metadata: boolean): EntityRecord {
  let pk: number;
  let found: Loaded;
  let layers: readonly AttributeRecord[];
  switch (level) {
    case 'PATIENT': pk = row.p_pk; found = session.patient(row); layers = found.layers; break;
    case 'STUDY': pk = row.st_pk!; found = session.study(row); layers = found.layers; break;
    case 'SERIES': pk = row.se_pk!; found = session.seriesOf(row); layers = found.layers; break;
    case 'IMAGE':
      pk = row.i_pk!;
      found = session.seriesOf(row);
      layers = [JSON.parse(row.i_attributes!) as AttributeRecord, ...found.layers];
      break;
  }
  if (metadata) {
    const lent = session.loader.representativeRecord(level, pk);
    if (lent) layers = [...layers, lent];
  }
  return new LayeredEntity(level, layers, found.derived);
}
