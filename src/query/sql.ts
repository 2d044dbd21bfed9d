/**
 * A query's conditions (conditions.ts) as a SQL WHERE fragment on the index's columns, with bound
 * parameters, for SQLite now and PostgreSQL later through a small dialect object; what SQL cannot
 * say exactly (keys on attributes that are not columns, sequence keys, fuzzy person names,
 * wildcards in multi-valued columns) is left to a post-filter that runs the in-memory matcher.
 * The WHERE fragment and the post-filter together select exactly what matches() selects; the
 * column values come from columnValues(), which reads records through the same normal forms.
 *
 * Schema convention (schemaColumns): one table per level (patient, study, series, instance by
 * default; IndexSchema renames them), one column per indexed attribute (keys.ts) named by the
 * snake_case keyword, plus:
 * - PN: <col> (the value) and <col>_a, <col>_i, <col>_p (folded component groups, normalize.ts);
 * - TM: <col>_utc, the time of day moved to UTC by the record's Timezone Offset From UTC;
 * - a DA with its TM indexed: <date_col>_time (date and time as written, 'YYYYMMDDHHMMSS.FFFFFF')
 *   and <date_col>_time_utc (the same instant in UTC);
 * - multi-valued attributes: "\v1\v2\" (each value between backslashes).
 * A column is NULL when the record has no value.
 */
import type { Tag } from '../data/tag.js';
import type { Condition, Period } from './conditions.js';
import { queryConditions } from './conditions.js';
import { indexedAttribute, indexedAttributes, type IndexedAttribute } from './keys.js';
import { attributeValues, evaluateConditions, periodValues } from './matching.js';
import { foldedPersonNameGroups, parseDecimalString, parseIntegerString } from './normalize.js';
import type { Query, QueryLevel } from './query.js';
import type { Candidate } from './record.js';

/** What differs between SQL engines, as far as the WHERE fragments go. */
export interface SqlDialect {
  readonly name: string;
  /** The placeholder of the n-th parameter (1-based). */
  placeholder(n: number): string;
  /**
   * A case-sensitive match of a text column against a DICOM wild card pattern ("*" any sequence,
   * "?" one character); `bind` adds a parameter and returns its placeholder.
   */
  wildcard(column: string, pattern: string, bind: (value: unknown) => string): string;
  /** True when the text column contains `needle` as a substring. */
  contains(column: string, needle: string, bind: (value: unknown) => string): string;
}

/**
 * SQLite: GLOB is case-sensitive and counts UTF-8 characters ("?" is one character), where
 * SQLite's LIKE folds ASCII case. Its only special characters besides "*" and "?" are "[" (a
 * character class), escaped as "[[]"; "%", "_" and "\" are ordinary.
 */
export const SQLITE: SqlDialect = Object.freeze({
  name: 'sqlite',
  placeholder: () => '?',
  wildcard: (column: string, pattern: string, bind: (value: unknown) => string) => `${column} GLOB ${bind(pattern.replace(/\[/g, '[[]'))}`,
  contains: (column: string, needle: string, bind: (value: unknown) => string) => `instr(${column}, ${bind(needle)}) > 0`,
});

/** Escapes "%", "_" and "\" for LIKE ... ESCAPE '\', and turns "*" and "?" into "%" and "_". */
export function likePattern(pattern: string): string {
  return pattern.replace(/[\\%_]/g, '\\$&').replace(/\*/g, '%').replace(/\?/g, '_');
}

/**
 * A dialect on LIKE ... ESCAPE '\' (case-sensitive in PostgreSQL; SQLite needs
 * PRAGMA case_sensitive_like = ON for that, which the tests use to check this translation).
 */
export function likeDialect(name: string, placeholder: (n: number) => string, containsFunction = 'strpos'): SqlDialect {
  return Object.freeze({
    name,
    placeholder,
    wildcard: (column: string, pattern: string, bind: (value: unknown) => string) => `${column} LIKE ${bind(likePattern(pattern))} ESCAPE '\\'`,
    contains: (column: string, needle: string, bind: (value: unknown) => string) => `${containsFunction}(${column}, ${bind(needle)}) > 0`,
  });
}

/** PostgreSQL: $1, $2 ... placeholders; LIKE is case-sensitive (the PN columns are folded already). */
export const POSTGRESQL: SqlDialect = likeDialect('postgresql', (n) => `$${n}`);

/** Names the table (or alias in the caller's SELECT) that holds a level's columns. */
export interface IndexSchema {
  table(level: QueryLevel): string;
}

export const DEFAULT_TABLES: Readonly<Record<QueryLevel, string>> = Object.freeze({ PATIENT: 'patient', STUDY: 'study', SERIES: 'series', IMAGE: 'instance' });
export const DEFAULT_SCHEMA: IndexSchema = Object.freeze({ table: (level: QueryLevel) => DEFAULT_TABLES[level] });

export type SqlType = 'TEXT' | 'INTEGER' | 'REAL';

export interface SchemaColumn {
  readonly name: string;
  readonly type: SqlType;
  readonly attribute: IndexedAttribute;
}

/** The columns of a level's table, from keys.ts INDEXED_ATTRIBUTES. */
export function schemaColumns(level: QueryLevel): SchemaColumn[] {
  const out: SchemaColumn[] = [];
  for (const a of indexedAttributes()) {
    if (a.level !== level) continue;
    const col = (name: string, type: SqlType = 'TEXT') => out.push({ name, type, attribute: a });
    switch (a.kind) {
      case 'person-name': col(a.column); col(`${a.column}_a`); col(`${a.column}_i`); col(`${a.column}_p`); break;
      case 'time': col(a.column); col(`${a.column}_utc`); break;
      case 'date':
        col(a.column);
        if (a.pairedTime) { col(`${a.column}_time`); col(`${a.column}_time_utc`); }
        break;
      case 'integer': col(a.column, 'INTEGER'); break;
      case 'decimal': col(a.column, 'REAL'); break;
      default: col(a.column);
    }
  }
  return out;
}

/** The values of a level's columns for a record (the entity merged with its ancestors is fine). */
export function columnValues(level: QueryLevel, candidate: Candidate): Record<string, string | number | null> {
  const names = columnPlan(level).names;
  const values = columnValueList(level, candidate);
  const row: Record<string, string | number | null> = {};
  for (let i = 0; i < names.length; i++) row[names[i]!] = values[i]!;
  return row;
}

/**
 * columnValues() as a list in schemaColumns() order: what an INSERT binds, on the path of every
 * stored instance (the row object with its built keys, the filter of every level's attributes and
 * the look-up of a date's paired time cost the index ~25 us per instance; a plan per level is made once).
 */
export function columnValueList(level: QueryLevel, candidate: Candidate): Array<string | number | null> {
  const out: Array<string | number | null> = [];
  for (const { attribute: a, pairedTimeTag } of columnPlan(level).attributes) {
    switch (a.kind) {
      case 'person-name': {
        const first = attributeValues(candidate, a.tag)[0];
        const groups = first === undefined ? ['', '', ''] : foldedPersonNameGroups(first);
        const empty = groups.every((g) => g === '');
        out.push(empty ? null : first!, groups[0] || null, groups[1] || null, groups[2] || null);
        break;
      }
      case 'multi-text': {
        const values = attributeValues(candidate, a.tag);
        out.push(values.length ? `\\${values.join('\\')}\\` : null);
        break;
      }
      case 'date':
        out.push(periodValues(candidate, 'date', a.tag)[0] ?? null);
        if (pairedTimeTag !== undefined) {
          out.push(periodValues(candidate, 'pair-local', a.tag, pairedTimeTag)[0] ?? null);
          out.push(periodValues(candidate, 'pair-utc', a.tag, pairedTimeTag)[0] ?? null);
        }
        break;
      case 'time':
        out.push(periodValues(candidate, 'time', a.tag)[0] ?? null);
        out.push(periodValues(candidate, 'time-utc', a.tag)[0] ?? null);
        break;
      case 'date-time': out.push(periodValues(candidate, 'date-time', a.tag)[0] ?? null); break;
      case 'integer': {
        const first = attributeValues(candidate, a.tag)[0];
        out.push(first === undefined ? null : parseIntegerString(first) ?? null);
        break;
      }
      case 'decimal': {
        const first = attributeValues(candidate, a.tag)[0];
        out.push(first === undefined ? null : parseDecimalString(first) ?? null);
        break;
      }
      default: out.push(attributeValues(candidate, a.tag)[0] ?? null);
    }
  }
  return out;
}

interface ColumnPlan {
  readonly attributes: ReadonlyArray<{ readonly attribute: IndexedAttribute; readonly pairedTimeTag: Tag | undefined }>;
  readonly names: readonly string[];
}
const COLUMN_PLANS = new Map<QueryLevel, ColumnPlan>();

function columnPlan(level: QueryLevel): ColumnPlan {
  let plan = COLUMN_PLANS.get(level);
  if (!plan) {
    const all = indexedAttributes();
    const attributes = all.filter((a) => a.level === level).map((a) => ({
      attribute: a,
      pairedTimeTag: a.kind === 'date' && a.pairedTime ? all.find((t) => t.keyword === a.pairedTime)!.tag : undefined,
    }));
    plan = { attributes, names: schemaColumns(level).map((c) => c.name) };
    COLUMN_PLANS.set(level, plan);
  }
  return plan;
}

export interface CompiledWhere {
  /** A boolean SQL expression ("1 = 1" when every key is left to the post-filter). */
  readonly sql: string;
  readonly params: readonly unknown[];
  /** The conditions SQL could not express; `postFilter` evaluates them. */
  readonly postConditions: readonly Condition[];
  /** The attributes the post-filter reads: the index must give their values to it (none when empty). */
  readonly postFilterTags: readonly Tag[];
  /** Applies the rest of the query to a record the SQL selected (always true when nothing is left). */
  readonly postFilter: (record: Candidate) => boolean;
}

/**
 * The WHERE fragment selecting the entities of `level` that match the query, on the columns of
 * that level's table and of its ancestors' (which the caller joins under the schema's names).
 */
export function compileWhere(query: Query, level: QueryLevel, dialect: SqlDialect, schema: IndexSchema = DEFAULT_SCHEMA): CompiledWhere {
  const params: unknown[] = [];
  const bind = (value: unknown) => {
    params.push(value);
    return dialect.placeholder(params.length);
  };
  const parts: string[] = [];
  const post: Condition[] = [];
  const depth = LEVEL_ORDER.indexOf(level);
  for (const c of queryConditions(query)) {
    const mark = params.length;
    const sql = translate(c, { bind, dialect, schema, depth });
    if (sql === undefined) {
      params.length = mark;
      post.push(c);
    } else parts.push(sql);
  }
  const postTags = [...new Set(post.flatMap(tagsOf))];
  return Object.freeze({
    sql: parts.length ? parts.join(' AND ') : '1 = 1',
    params: Object.freeze(params),
    postConditions: Object.freeze(post),
    postFilterTags: Object.freeze(postTags),
    postFilter: post.length ? (record: Candidate) => evaluateConditions(post, record) : () => true,
  });
}

const LEVEL_ORDER: readonly QueryLevel[] = ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'];

interface Translation {
  bind(value: unknown): string;
  readonly dialect: SqlDialect;
  readonly schema: IndexSchema;
  /** Depth of the selected level: columns of deeper tables are not joined. */
  readonly depth: number;
}

function tagsOf(c: Condition): Tag[] {
  if (c.op === 'between' && c.pairTag !== undefined) return [c.tag, c.pairTag];
  return [c.tag];
}

function column(t: Translation, tag: Tag): { attr: IndexedAttribute; col: string } | undefined {
  const attr = indexedAttribute(tag);
  if (!attr || LEVEL_ORDER.indexOf(attr.level) > t.depth) return undefined;
  return { attr, col: `${t.schema.table(attr.level)}.${attr.column}` };
}

function translate(c: Condition, t: Translation): string | undefined {
  switch (c.op) {
    case 'equals': case 'in': {
      const at = column(t, c.tag);
      if (!at) return undefined;
      const values = c.op === 'equals' ? [c.value] : c.values;
      if (at.attr.kind === 'text' || at.attr.kind === 'uid') {
        return values.length === 1 ? `${at.col} = ${t.bind(values[0])}` : `${at.col} IN (${values.map((v) => t.bind(v)).join(', ')})`;
      }
      if (at.attr.kind === 'multi-text') return or(values.map((v) => t.dialect.contains(at.col, `\\${v}\\`, t.bind)));
      return undefined;
    }
    case 'wildcard': {
      const at = column(t, c.tag);
      if (!at || (at.attr.kind !== 'text' && at.attr.kind !== 'uid')) return undefined;
      return t.dialect.wildcard(at.col, c.pattern, t.bind);
    }
    case 'number': {
      const at = column(t, c.tag);
      if (!at || (at.attr.kind !== 'integer' && at.attr.kind !== 'decimal') || at.attr.vr === 'FL') return undefined;
      return `${at.col} = ${t.bind(c.value)}`;
    }
    case 'person-name': {
      const at = column(t, c.tag);
      if (!at || at.attr.kind !== 'person-name') return undefined;
      const dialect = t.dialect;
      const test = (col: string, p: { wildcard: boolean; text: string }) => (p.wildcard ? dialect.wildcard(col, p.text, t.bind) : `${col} = ${t.bind(p.text)}`);
      const groups = ['_a', '_i', '_p'].map((s) => at.col + s);
      if (c.anyGroup) return or(groups.map((g) => test(g, c.anyGroup!)));
      const parts = c.groups!.map((p, i) => (p ? test(groups[i]!, p) : undefined)).filter((x): x is string => x !== undefined);
      return parts.length === 1 ? parts[0] : `(${parts.join(' AND ')})`;
    }
    case 'between': {
      const at = column(t, c.tag);
      if (!at) return undefined;
      let col: string | undefined;
      switch (c.on) {
        case 'date': if (at.attr.kind === 'date') col = at.col; break;
        case 'time': if (at.attr.kind === 'time') col = at.col; break;
        case 'time-utc': if (at.attr.kind === 'time') col = `${at.col}_utc`; break;
        case 'date-time': if (at.attr.kind === 'date-time') col = at.col; break;
        case 'pair-local': case 'pair-utc':
          if (at.attr.kind === 'date' && at.attr.pairedTime && indexedAttribute(c.pairTag!)?.keyword === at.attr.pairedTime) {
            col = `${at.col}_time${c.on === 'pair-utc' ? '_utc' : ''}`;
          }
          break;
      }
      if (col === undefined) return undefined;
      return or(c.periods.map((p) => period(col!, p, t)));
    }
    case 'empty': {
      const at = column(t, c.tag);
      return at ? `${at.col} IS NULL` : undefined;
    }
    case 'all': {
      const parts = c.parts.map((p) => translate(p, t));
      if (parts.some((p) => p === undefined)) return undefined;
      return parts.length === 1 ? parts[0] : `(${(parts as string[]).map((p) => `(${p})`).join(' AND ')})`;
    }
    case 'person-name-fuzzy': case 'sequence': return undefined;
  }
}

function period(col: string, p: Period, t: Translation): string {
  const parts: string[] = [];
  if (p.lower !== undefined) parts.push(`${col} >= ${t.bind(p.lower)}`);
  if (p.upper !== undefined) parts.push(`${col} <= ${t.bind(p.upper)}`);
  return parts.length ? parts.join(' AND ') : `${col} IS NOT NULL`;
}

function or(parts: readonly string[]): string {
  return parts.length === 1 ? parts[0]! : `(${parts.map((p) => (p.includes(' AND ') ? `(${p})` : p)).join(' OR ')})`;
}
