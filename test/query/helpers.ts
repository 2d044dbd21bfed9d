/** Builders shared by the query tests: Identifiers from plain objects, and an in-memory SQLite index. */
import { createRequire } from 'node:module';
import { DataSet } from '../../src/data/data-set.js';
import { lookupTag, tagForKeyword } from '../../src/dictionary/index.js';

const BINARY_NUMBERS = new Set(['US', 'UL', 'SS', 'SL', 'FL', 'FD']);
import { parseIdentifier, type ParseIdentifierOptions } from '../../src/query/identifier.js';
import type { QueryLevel, QueryOptions, Query } from '../../src/query/query.js';
import type { AttributeRecord } from '../../src/query/record.js';
import { columnValues, compileWhere, schemaColumns, DEFAULT_TABLES, type SqlDialect } from '../../src/query/sql.js';

/** Key values: a string (backslashes split values), an array of strings, null (zero length), or items. */
export type KeySpec = string | readonly string[] | null | readonly KeyObject[];
export interface KeyObject { readonly [keyword: string]: KeySpec }

export function dataSet(keys: KeyObject, charset?: readonly string[], parent?: DataSet): DataSet {
  const ds = new DataSet(parent ? { parent } : {});
  // Text outside ASCII needs a character set: UTF-8 unless the test names one.
  const cs = charset ?? (!parent && /[^\x00-\x7f]/.test(JSON.stringify(keys)) ? ['ISO_IR 192'] : undefined);
  if (cs) ds.set('SpecificCharacterSet', 'CS', [...cs]);
  for (const [keyword, value] of Object.entries(keys)) {
    if (tagForKeyword(keyword) === undefined) throw new Error(`unknown keyword ${keyword}`);
    if (Array.isArray(value) && value.length && typeof value[0] === 'object') {
      ds.set(keyword, 'SQ', (value as KeyObject[]).map((item) => dataSet(item, undefined, ds)));
    } else if (value === null) ds.set(keyword, undefined, null);
    else if (Array.isArray(value) && value.length === 0) ds.set(keyword, undefined, []);
    else {
      const values = typeof value === 'string' ? value.split('\\') : (value as string[]);
      const vr = lookupTag(tagForKeyword(keyword)!)!.vrs[0]!;
      ds.set(keyword, undefined, BINARY_NUMBERS.has(vr) ? values.map(Number) : values);
    }
  }
  return ds;
}

/** A C-FIND Identifier at `level` with the keys given. */
export function identifier(level: QueryLevel, keys: KeyObject, charset?: readonly string[]): DataSet {
  const ds = dataSet(keys, charset);
  ds.set('QueryRetrieveLevel', 'CS', level);
  return ds;
}

/** A relational Study Root query (the least constrained), with options. */
export function query(level: QueryLevel, keys: KeyObject, options: Partial<QueryOptions> = {}, more: Partial<ParseIdentifierOptions> & { charset?: readonly string[] } = {}): Query {
  return parseIdentifier(identifier(level, keys, more.charset), { model: more.model ?? 'StudyRoot', options: { relational: true, ...options }, ...(more.lenient !== undefined ? { lenient: more.lenient } : {}) });
}

// ---- SQLite ----

export interface Statement { all(...params: unknown[]): unknown[]; run(...params: unknown[]): { lastInsertRowid: number | bigint } }
export interface Database { exec(sql: string): void; prepare(sql: string): Statement; pragma(s: string): unknown; close(): void }
const require = createRequire(import.meta.url);

/** better-sqlite3, or undefined with the reason when it cannot be loaded. */
export function openDatabase(): Database | string {
  try {
    const Ctor = require('better-sqlite3') as new (file: string) => Database;
    return new Ctor(':memory:');
  } catch (e) {
    return `better-sqlite3 is not available: ${(e as Error).message.split('\n')[0]}`;
  }
}

const LEVELS: readonly QueryLevel[] = ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'];

/** Tables patient, study, series, instance from schemaColumns, each row pointing at its parent. */
export function createIndex(db: Database): void {
  LEVELS.forEach((level, i) => {
    const cols = schemaColumns(level).map((c) => `${c.name} ${c.type}`);
    const parent = i > 0 ? [`parent_id INTEGER`] : [];
    db.exec(`CREATE TABLE ${DEFAULT_TABLES[level]} (id INTEGER PRIMARY KEY, record_id INTEGER, ${[...parent, ...cols].join(', ')})`);
  });
}

/**
 * Inserts merged records (each the attributes of an entity at `level` and its ancestors) as one
 * row per level, every record its own chain; returns nothing, the rows carry record_id.
 */
export function insertRecords(db: Database, level: QueryLevel, records: readonly AttributeRecord[]): void {
  const depth = LEVELS.indexOf(level);
  records.forEach((record, recordId) => {
    let parent: number | bigint | undefined;
    for (let i = 0; i <= depth; i++) {
      const l = LEVELS[i]!;
      const values = columnValues(l, record);
      const names = ['record_id', ...(i > 0 ? ['parent_id'] : []), ...Object.keys(values)];
      const params = [recordId, ...(i > 0 ? [parent] : []), ...Object.values(values)];
      parent = db.prepare(`INSERT INTO ${DEFAULT_TABLES[l]} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`).run(...params).lastInsertRowid;
    }
  });
}

/** The record ids the index selects for a query at `level`: SQL, then the post-filter. */
export function selectIds(db: Database, q: Query, level: QueryLevel, dialect: SqlDialect, records: readonly AttributeRecord[]): number[] {
  const where = compileWhere(q, level, dialect);
  const depth = LEVELS.indexOf(level);
  let from = DEFAULT_TABLES[LEVELS[depth]!];
  for (let i = depth; i > 0; i--) from += ` JOIN ${DEFAULT_TABLES[LEVELS[i - 1]!]} ON ${DEFAULT_TABLES[LEVELS[i - 1]!]}.id = ${DEFAULT_TABLES[LEVELS[i]!]}.parent_id`;
  const rows = db.prepare(`SELECT ${DEFAULT_TABLES[LEVELS[depth]!]}.record_id AS id FROM ${from} WHERE ${where.sql}`).all(...where.params) as Array<{ id: number }>;
  return rows.map((r) => r.id).filter((id) => where.postFilter(records[id]!)).sort((a, b) => a - b);
}
