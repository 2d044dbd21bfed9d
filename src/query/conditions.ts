/**
 * A query's keys compiled into conditions on normalized values (normalize.ts). Both evaluators
 * read these: matching.ts in memory and sql.ts as WHERE fragments, so a key means the same thing
 * to both. This is where the matching types of PS3.4 C.2.2.2 and the negotiated options meet:
 *
 * - DA, TM, DT keys become periods ('between'); a single value is the period it names
 *   (PS3.4 C.2.2.2.1.3 note 2: "Range Matching ... with both values in the range the same").
 * - Combined date-time matching (C.2.2.2.5.4) compares the DA+TM pair as one instant.
 * - Timezone query adjustment (C.2.2.2.1.3): a TM key, the DA key beside it, and a DT key without
 *   an offset are in the query's Timezone Offset From UTC; stored values are in the record's own
 *   Timezone Offset From UTC (0008,0201), or UTC when it has none. They are compared in UTC.
 */
import type { Tag } from '../data/tag.js';
import type { VR } from '../data/vr.js';
import { pairedDateTag, pairedTimeTag } from './keys.js';
import { combineDateTime, dateTimePeriod, foldText, normalizeDate, parseDecimalString, parseIntegerString, timeOfDayInUtc, timePeriod } from './normalize.js';
import type { Matching, MatchingKey, Query, QueryOptions, TimezoneOffset } from './query.js';

/**
 * What a 'between' condition compares:
 * date 'YYYYMMDD'; time 'HHMMSS.FFFFFF'; date-time: a DT in UTC;
 * pair-local: the DA+TM pair as written; pair-utc: the pair moved to UTC by the record's offset;
 * time-utc: the TM moved to UTC by the record's offset (time of day).
 */
export type PeriodOn = 'date' | 'time' | 'date-time' | 'pair-local' | 'pair-utc' | 'time-utc';

export interface Period {
  /** Inclusive; undefined for an open end. */
  readonly lower?: string;
  readonly upper?: string;
}

/** A PN pattern on one component group: folded text, exact or with wildcards. */
export interface NamePattern {
  readonly wildcard: boolean;
  /** Folded literal text, with '*' and '?' as wildcards when `wildcard`. */
  readonly text: string;
}

/** What an 'empty' condition reads to decide there is no value. */
export type ValueKind = 'text' | 'person-name' | 'date' | 'time' | 'date-time' | 'integer' | 'decimal' | 'sequence';

export type Condition =
  /** Exactly one of the values (case-sensitive, C.2.2.2.1). */
  | { readonly op: 'equals'; readonly tag: Tag; readonly vr: VR; readonly value: string }
  /** List of UID Matching (C.2.2.2.2). */
  | { readonly op: 'in'; readonly tag: Tag; readonly vr: VR; readonly values: readonly string[] }
  /** Wild Card Matching (C.2.2.2.4), case-sensitive. */
  | { readonly op: 'wildcard'; readonly tag: Tag; readonly vr: VR; readonly pattern: string }
  /** Numbers by value (IS "007" is 7; PS3.4 C.2.2.2.1 leaves IS/DS matching to the implementation). */
  | { readonly op: 'number'; readonly tag: Tag; readonly vr: VR; readonly value: number }
  /**
   * PN literal matching (C.2.2.2.1.1, C.2.2.2.4): folded text. `anyGroup`: one pattern tried on each
   * component group; otherwise one pattern per group (undefined: that group is not constrained).
   */
  | { readonly op: 'person-name'; readonly tag: Tag; readonly anyGroup?: NamePattern; readonly groups?: readonly [NamePattern | undefined, NamePattern | undefined, NamePattern | undefined] }
  /** PN fuzzy semantic matching (C.2.2.2.1.1, negotiated): see matching.ts fuzzyNameMatch. */
  | { readonly op: 'person-name-fuzzy'; readonly tag: Tag; readonly tokens: readonly string[] }
  /** Range Matching (C.2.2.2.5) and single values of DA/TM/DT: any of the periods. */
  | { readonly op: 'between'; readonly tag: Tag; readonly on: PeriodOn; readonly pairTag?: Tag; readonly periods: readonly Period[] }
  /** Empty Value Matching (C.2.2.2.7). */
  | { readonly op: 'empty'; readonly tag: Tag; readonly kind: ValueKind }
  /** Multiple Value Matching (C.2.2.2.8): every part holds (each key value is one of the entity's values). */
  | { readonly op: 'all'; readonly tag: Tag; readonly parts: readonly Condition[] }
  /** Sequence Matching (C.2.2.2.6): one item satisfies every item condition. */
  | { readonly op: 'sequence'; readonly tag: Tag; readonly item: readonly Condition[] };

interface CompileContext {
  readonly options: QueryOptions;
  /** The query's offset when timezone query adjustment applies, else undefined. */
  readonly adjustment: TimezoneOffset | undefined;
}

const compiled = new WeakMap<Query, readonly Condition[]>();

/** The conditions of every matching key of the query (universal keys give none). */
export function queryConditions(query: Query): readonly Condition[] {
  let c = compiled.get(query);
  if (!c) {
    const adjustment = query.options.timezoneQueryAdjustment ? query.timezoneOffset : undefined;
    c = Object.freeze(compileKeys(query.keys, { options: query.options, adjustment }));
    compiled.set(query, c);
  }
  return c;
}

function compileKeys(keys: readonly MatchingKey[], ctx: CompileContext): Condition[] {
  const out: Condition[] = [];
  for (const key of keys) {
    const c = compileKey(key, keys, ctx);
    if (c) out.push(c);
  }
  return out;
}

function compileKey(key: MatchingKey, siblings: readonly MatchingKey[], ctx: CompileContext): Condition | undefined {
  const m = key.matching;
  switch (m.type) {
    case 'universal': case 'combined': return undefined;
    case 'sequence': {
      const item = compileKeys(m.item, ctx);
      return item.length ? { op: 'sequence', tag: key.tag, item } : undefined;
    }
    case 'empty': return { op: 'empty', tag: key.tag, kind: valueKind(key.vr) };
    case 'combined-range': {
      const at = ctx.adjustment?.minutes ?? 0;
      const period: { lower?: string; upper?: string } = {};
      if (m.lower) period.lower = combineDateTime(m.lower.date, timePeriod(m.lower.time)!.start, at);
      if (m.upper) period.upper = combineDateTime(m.upper.date, timePeriod(m.upper.time)!.end, at);
      return { op: 'between', tag: key.tag, on: ctx.adjustment ? 'pair-utc' : 'pair-local', pairTag: m.timeTag, periods: [period] };
    }
    case 'multiple': {
      const parts = m.values.map((value) => compileValue(key, { type: 'single', value }, siblings, ctx)).filter((c): c is Condition => c !== undefined);
      return parts.length ? { op: 'all', tag: key.tag, parts } : undefined;
    }
    default: return compileValue(key, m, siblings, ctx);
  }
}

export function valueKind(vr: VR): ValueKind {
  switch (vr) {
    case 'PN': return 'person-name';
    case 'DA': return 'date';
    case 'TM': return 'time';
    case 'DT': return 'date-time';
    case 'IS': case 'US': case 'UL': case 'SS': case 'SL': case 'SV': case 'UV': return 'integer';
    case 'DS': case 'FL': case 'FD': return 'decimal';
    case 'SQ': return 'sequence';
    default: return 'text';
  }
}

/** One value's matching (single, uid-list, wildcard, range, universal) as a condition. */
function compileValue(key: MatchingKey, m: Matching, siblings: readonly MatchingKey[], ctx: CompileContext): Condition | undefined {
  const { tag, vr } = key;
  if (m.type === 'universal') return undefined;
  if (m.type === 'uid-list') return { op: 'in', tag, vr, values: m.values };
  if (vr === 'DA' || vr === 'TM' || vr === 'DT') {
    let lower: string | undefined;
    let upper: string | undefined;
    if (m.type === 'single') lower = upper = m.value;
    else if (m.type === 'range') ({ lower, upper } = m);
    else return undefined;
    return compilePeriod(key, lower, upper, siblings, ctx);
  }
  if (vr === 'PN') {
    if (m.type !== 'single' && m.type !== 'wildcard') return undefined;
    const text = m.type === 'single' ? m.value : m.pattern;
    if (ctx.options.fuzzySemanticMatching) {
      const tokens = fuzzyTokens(text);
      return tokens.length ? { op: 'person-name-fuzzy', tag, tokens } : undefined;
    }
    return personNameCondition(tag, text, m.type === 'wildcard');
  }
  if (m.type === 'wildcard') return { op: 'wildcard', tag, vr, pattern: m.pattern };
  if (m.type !== 'single') return undefined;
  const kind = valueKind(vr);
  if (kind === 'integer' || kind === 'decimal') {
    const n = kind === 'integer' ? parseIntegerString(m.value) : parseDecimalString(m.value);
    // The parsers reject values that are not numbers, so n is defined here.
    return { op: 'number', tag, vr, value: n! };
  }
  return { op: 'equals', tag, vr, value: m.value };
}

function compilePeriod(key: MatchingKey, lower: string | undefined, upper: string | undefined, siblings: readonly MatchingKey[], ctx: CompileContext): Condition {
  const { tag, vr } = key;
  const at = ctx.adjustment?.minutes;
  if (vr === 'DT') {
    const period: { lower?: string; upper?: string } = {};
    if (lower !== undefined) period.lower = dateTimePeriod(lower, at ?? 0)!.start;
    if (upper !== undefined) period.upper = dateTimePeriod(upper, at ?? 0)!.end;
    return { op: 'between', tag, on: 'date-time', periods: [period] };
  }
  if (vr === 'DA') {
    const d1 = lower === undefined ? undefined : normalizeDate(lower)!;
    const d2 = upper === undefined ? undefined : normalizeDate(upper)!;
    const timeTag = pairedTimeTag(tag);
    const time = timeTag === undefined ? undefined : siblings.find((k) => k.tag === timeTag);
    // C.2.2.2.1.3: the DA "associated" with an adjusted TM key moves to UTC with it.
    if (at !== undefined && time && isRestricting(time.matching)) {
      const period: { lower?: string; upper?: string } = {};
      if (d1) period.lower = combineDateTime(d1, '000000.000000', at);
      if (d2) period.upper = combineDateTime(d2, '235959.999999', at);
      return { op: 'between', tag, on: 'pair-utc', pairTag: timeTag, periods: [period] };
    }
    const period: { lower?: string; upper?: string } = {};
    if (d1) period.lower = d1;
    if (d2) period.upper = d2;
    return { op: 'between', tag, on: 'date', periods: [period] };
  }
  // TM. "Prior" starts at midnight, "subsequent" ends before the next midnight (C.2.2.2.5.2).
  const t1 = lower === undefined ? undefined : timePeriod(lower)!.start;
  const t2 = upper === undefined ? undefined : timePeriod(upper)!.end;
  if (at === undefined) {
    const period: { lower?: string; upper?: string } = {};
    if (t1) period.lower = t1;
    if (t2) period.upper = t2;
    return { op: 'between', tag, on: 'time', periods: [period] };
  }
  const u1 = timeOfDayInUtc(t1 ?? '000000.000000', at);
  const u2 = timeOfDayInUtc(t2 ?? '235959.999999', at);
  // A local day is a whole UTC day too when shifted, but a local range may wrap past UTC midnight.
  const periods: Period[] = u1 <= u2 ? [{ lower: u1, upper: u2 }] : [{ lower: u1, upper: '235959.999999' }, { lower: '000000.000000', upper: u2 }];
  return { op: 'between', tag, on: 'time-utc', periods };
}

function isRestricting(m: Matching): boolean {
  return m.type === 'single' || m.type === 'range' || m.type === 'multiple';
}

/** Wildcard patterns are folded piece by piece, so that a folded character never becomes a wildcard. */
export function foldPattern(pattern: string): string {
  return pattern.split(/([*?])/).map((part) => (part === '*' || part === '?' ? part : foldText(part))).join('');
}

function namePattern(text: string, wildcard: boolean): NamePattern | undefined {
  const trimmed = text.replace(/[\^ ]+$/, '');
  if (trimmed === '') return undefined;
  if (wildcard && /^\*+$/.test(trimmed)) return undefined;
  return { wildcard: wildcard && /[*?]/.test(trimmed), text: wildcard ? foldPattern(trimmed) : foldText(trimmed) };
}

/**
 * PN literal matching, by component group (PS3.5 §6.2.1.1, PS3.4 C.2.2.2.1.1 note): a key with
 * one group is tried on each of the value's groups (so "山田^太郎" finds
 * "Yamada^Tarou=山田^太郎=やまだ^たろう"); a key with "=" constrains each of its non-empty groups
 * on the value's group of the same place. Trailing empty components do not count ("Doe^John^"
 * is "Doe^John"). Case and accents are not significant (normalize.ts foldText).
 */
function personNameCondition(tag: Tag, text: string, wildcard: boolean): Condition | undefined {
  const groups = text.split('=');
  if (groups.length === 1) {
    const anyGroup = namePattern(text, wildcard);
    return anyGroup ? { op: 'person-name', tag, anyGroup } : undefined;
  }
  const patterns = [0, 1, 2].map((i) => namePattern(groups[i] ?? '', wildcard)) as [NamePattern | undefined, NamePattern | undefined, NamePattern | undefined];
  if (patterns.every((p) => p === undefined)) return undefined;
  return { op: 'person-name', tag, groups: patterns };
}

/** The words of a name for fuzzy matching: components and space/comma separated parts, folded. */
export function fuzzyTokens(text: string): string[] {
  return text.split(/[=^\s,]+/u).filter((t) => t !== '' && !/^\*+$/.test(t)).map((t) => foldPattern(t));
}
