/**
 * In-memory matching of a query against a candidate (a DataSet, an attribute record or an
 * EntityRecord; record.ts), per PS3.4 C.2.2.2. The keys are first compiled into conditions
 * (conditions.ts), which the SQL translation reads too.
 *
 * Choices the standard leaves to the implementation (to be stated in the conformance statement):
 * - Text is matched as decoded Unicode: a key and a value in different character sets (say an
 *   ISO 2022 IR 87 Identifier and a UTF-8 record) match when they are the same characters; "?"
 *   is one Unicode character, not one byte.
 * - Except PN, matching is case-sensitive and exact (C.2.2.2.1, C.2.2.2.4).
 * - PN literal matching is insensitive to case and to accents on Latin, Greek and Cyrillic
 *   letters, per component group (conditions.ts personNameCondition; normalize.ts foldText).
 * - PN fuzzy semantic matching (when negotiated, or fuzzymatching=true in QIDO-RS): the key is cut
 *   into words at "^", "=", spaces and commas; every word must be the beginning of a different
 *   word of the value (any group, any order), case- and accent-insensitively; "*" and "?" keep
 *   their meaning inside a word. "Smith^Mary" matches "Mary^Smith", "SMITH, MARY" and
 *   "Smithers^Maryanne"; "Mar" alone matches "Smith^Mary".
 * - DA, TM, DT are matched by meaning: a key names a period ("2230" is 22:30:00 to 22:30:59.999999,
 *   a DT "2006" the whole year), a stored value is the instant its period starts, and a value that
 *   cannot be read as a date or time is no value.
 * - A value beyond the VM of an attribute whose VM is 1 is ignored (a malformed "A\B" in Patient
 *   ID is "A"), as the index stores one value for such attributes.
 * - Timezone Offset From UTC (0008,0201) in an Identifier is used only when timezone query
 *   adjustment applies (C.2.2.2); it is never matched as a key.
 */
import { type Tag } from '../data/tag.js';
import type { VR } from '../data/vr.js';
import { queryConditions, fuzzyTokens, type Condition, type NamePattern } from './conditions.js';
import {
  combineDateTime, foldText, foldedPersonNameGroups, normalizeDate, normalizeDateTime, normalizeTime,
  parseDecimalString, parseIntegerString, parseTimezoneOffset, personNameGroups, timeOfDayInUtc,
} from './normalize.js';
import type { Query } from './query.js';
import { describeTag, findAttribute, valuesOf, type Candidate } from './record.js';

/** True when the candidate matches every key of the query. */
export function matches(query: Query, candidate: Candidate): boolean {
  return evaluateConditions(queryConditions(query), candidate);
}

/** True when the candidate satisfies every condition. */
export function evaluateConditions(conditions: readonly Condition[], candidate: Candidate): boolean {
  for (const c of conditions) if (!evaluateCondition(c, candidate)) return false;
  return true;
}

const TIMEZONE_OFFSET_FROM_UTC = 0x00080201;

/** The record's Timezone Offset From UTC in minutes (0 when it has none). */
export function recordOffset(candidate: Candidate): number {
  const text = valuesOf(findAttribute(candidate, TIMEZONE_OFFSET_FROM_UTC, 'TimezoneOffsetFromUTC', 'SH'))[0];
  return (text === undefined ? undefined : parseTimezoneOffset(text))?.minutes ?? 0;
}

/**
 * The non-empty values of an attribute of a candidate, the first only where the dictionary's VM
 * is 1 (the module comment says why).
 */
export function attributeValues(candidate: Candidate, tag: Tag): readonly string[] {
  const { keyword, vr, vm } = describeTag(tag);
  const values = valuesOf(findAttribute(candidate, tag, keyword, vr));
  return vm === '1' && values.length > 1 ? values.slice(0, 1) : values;
}

/** The items of a sequence attribute of a candidate ([] when absent or not a sequence). */
export function attributeItems(candidate: Candidate, tag: Tag): readonly Candidate[] {
  const { keyword, vr } = describeTag(tag);
  const found = findAttribute(candidate, tag, keyword, vr);
  return found.kind === 'items' ? found.items : [];
}

/**
 * The normalized values a period condition compares (the same the index stores in its columns):
 * see conditions.ts PeriodOn.
 */
export function periodValues(candidate: Candidate, on: string, tag: Tag, pairTag?: Tag): string[] {
  const values = attributeValues(candidate, tag);
  switch (on) {
    case 'date': return defined(values.map(normalizeDate));
    case 'time': return defined(values.map(normalizeTime));
    case 'date-time': {
      const offset = recordOffset(candidate);
      return defined(values.map((v) => normalizeDateTime(v, offset)));
    }
    case 'time-utc': {
      const offset = recordOffset(candidate);
      return defined(values.map(normalizeTime)).map((t) => timeOfDayInUtc(t, offset));
    }
    default: {
      // pair-local / pair-utc: the first date and the first time of the pair, both needed.
      const date = values[0] === undefined ? undefined : normalizeDate(values[0]);
      const timeText = pairTag === undefined ? undefined : attributeValues(candidate, pairTag)[0];
      const time = timeText === undefined ? undefined : normalizeTime(timeText);
      if (date === undefined || time === undefined) return [];
      return [combineDateTime(date, time, on === 'pair-utc' ? recordOffset(candidate) : 0)];
    }
  }
}

function defined<T>(list: readonly (T | undefined)[]): T[] {
  return list.filter((x): x is T => x !== undefined);
}

export function evaluateCondition(c: Condition, candidate: Candidate): boolean {
  switch (c.op) {
    case 'equals': return attributeValues(candidate, c.tag).some((v) => v === c.value);
    case 'in': return attributeValues(candidate, c.tag).some((v) => c.values.includes(v));
    case 'wildcard': {
      const re = wildcardRegExp(c.pattern);
      return attributeValues(candidate, c.tag).some((v) => re.test(v));
    }
    case 'number': return attributeValues(candidate, c.tag).some((v) => numberEquals(v, c.value, c.vr));
    case 'person-name': return attributeValues(candidate, c.tag).some((v) => personNameMatches(v, c.anyGroup, c.groups));
    case 'person-name-fuzzy': return attributeValues(candidate, c.tag).some((v) => fuzzyNameMatch(c.tokens, v));
    case 'between': {
      const values = periodValues(candidate, c.on, c.tag, c.pairTag);
      return values.some((v) => c.periods.some((p) => (p.lower === undefined || v >= p.lower) && (p.upper === undefined || v <= p.upper)));
    }
    case 'empty': return isEmpty(candidate, c.tag, c.kind);
    case 'all': return c.parts.every((p) => evaluateCondition(p, candidate));
    case 'sequence': return attributeItems(candidate, c.tag).some((item) => evaluateConditions(c.item, item));
  }
}

/** Empty Value Matching: absent, zero length, or nothing that reads as a value of the VR. */
export function isEmpty(candidate: Candidate, tag: Tag, kind: string): boolean {
  if (kind === 'sequence') {
    const { keyword, vr } = describeTag(tag);
    const found = findAttribute(candidate, tag, keyword, vr);
    return found.kind === 'absent' || (found.kind === 'items' ? found.items.length === 0 : valuesOf(found).length === 0);
  }
  const values = attributeValues(candidate, tag);
  switch (kind) {
    case 'person-name': return values.every((v) => personNameGroups(v).every((g) => g === ''));
    case 'date': return periodValues(candidate, 'date', tag).length === 0;
    case 'time': return periodValues(candidate, 'time', tag).length === 0;
    case 'date-time': return periodValues(candidate, 'date-time', tag).length === 0;
    case 'integer': return values.every((v) => parseIntegerString(v) === undefined);
    case 'decimal': return values.every((v) => parseDecimalString(v) === undefined);
    default: return values.length === 0;
  }
}

function numberEquals(text: string, value: number, vr: VR): boolean {
  const n = vr === 'IS' ? parseIntegerString(text) : vr === 'DS' ? parseDecimalString(text) : Number(text);
  if (n === undefined || Number.isNaN(n)) return false;
  // FL values are single precision: compare the key at that precision too.
  return vr === 'FL' ? Math.fround(n) === Math.fround(value) : n === value;
}

const regExps = new Map<string, RegExp>();
/** "*" any sequence of characters (also none), "?" exactly one character (PS3.4 C.2.2.2.4). */
export function wildcardRegExp(pattern: string): RegExp {
  let re = regExps.get(pattern);
  if (!re) {
    const source = pattern.split(/([*?])/).map((p) => (p === '*' ? '.*' : p === '?' ? '.' : p.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&'))).join('');
    re = new RegExp(`^${source}$`, 'su');
    if (regExps.size > 1000) regExps.clear();
    regExps.set(pattern, re);
  }
  return re;
}

function patternMatches(p: NamePattern, folded: string): boolean {
  return p.wildcard ? wildcardRegExp(p.text).test(folded) : folded === p.text;
}

function personNameMatches(value: string, anyGroup: NamePattern | undefined, groups: readonly (NamePattern | undefined)[] | undefined): boolean {
  const folded = foldedPersonNameGroups(value);
  if (anyGroup) return folded.some((g) => g !== '' && patternMatches(anyGroup, g));
  return groups!.every((p, i) => p === undefined || patternMatches(p, folded[i]!));
}

/** The fuzzy semantic described in the module comment. */
export function fuzzyNameMatch(keyTokens: readonly string[], value: string): boolean {
  if (keyTokens.length === 0) return true;
  const words = value.split(/[=^\s,]+/u).filter((t) => t !== '').map(foldText);
  if (words.length < keyTokens.length) return false;
  const used = new Array<boolean>(words.length).fill(false);
  const prefix = keyTokens.map((t) => wildcardRegExp(`${t}*`));
  // Backtracking assignment of key words to distinct value words; names have a handful of words.
  const assign = (i: number): boolean => {
    if (i === keyTokens.length) return true;
    for (let j = 0; j < words.length; j++) {
      if (used[j] || !prefix[i]!.test(words[j]!)) continue;
      used[j] = true;
      if (assign(i + 1)) return true;
      used[j] = false;
    }
    return false;
  };
  return assign(0);
}

export { fuzzyTokens };
