/**
 * The matching type of a key from its value (PS3.4 C.2.2.2), shared by the C-FIND Identifier
 * parser and the QIDO-RS query parameter parser: the values arrive already decoded and split at
 * backslashes; this decides Universal, Single Value, List of UID, Wild Card, Range, Empty Value
 * and Multiple Value Matching, checks the value can be matched, and pairs DA and TM ranges for
 * combined date-time matching.
 */
import { formatTag, type Tag } from '../data/tag.js';
import type { VR } from '../data/vr.js';
import { pairedTimeTag } from './keys.js';
import { describeTag } from './record.js';
import { dateTimePeriod, normalizeDate, parseDecimalString, parseIntegerString, timePeriod } from './normalize.js';
import { QueryError, QueryStatus } from './query-error.js';
import type { Matching, MatchingKey, QueryOptions } from './query.js';

/** PS3.4 C.2.2.2.4: the VRs Wild Card Matching applies to. */
const WILDCARD_VRS: ReadonlySet<VR> = new Set<VR>(['AE', 'CS', 'LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UR', 'UT']);
/** PS3.4 C.2.2.2.8: the VRs Multiple Value Matching applies to (with a defined VM greater than 1). */
const MULTIPLE_VALUE_VRS: ReadonlySet<VR> = new Set<VR>(['AE', 'AS', 'AT', 'CS', 'LO', 'PN', 'SH', 'UC']);
const NUMBER_VRS: ReadonlySet<VR> = new Set<VR>(['IS', 'DS', 'US', 'UL', 'SS', 'SL', 'SV', 'UV', 'FL', 'FD']);
/** VRs whose values this engine cannot compare (their keys can only be return keys). */
export const UNMATCHABLE_VRS: ReadonlySet<VR> = new Set<VR>(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

const UID = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/;

export function badValue(path: readonly Tag[], message: string, status = QueryStatus.IdentifierDoesNotMatchSOPClass): QueryError {
  // The error's message ends with the last tag; a path into sequences is spelt out.
  const where = path.length > 1 ? ` in ${path.map(formatTag).join('.')}` : '';
  return new QueryError('ERR_DICOM_QUERY_BAD_VALUE', `${message}${where}`, { offendingElements: path, status });
}

/**
 * The matching of a key with `values` (decoded, split at backslashes, padding removed; [] for a
 * zero-length value). `path` is the key's tag path, for errors.
 */
export function matchingOfValues(vr: VR, values: readonly string[], options: QueryOptions, path: readonly Tag[]): Matching {
  // C.2.2.2.3: zero length; a value of only delimiters holds no value either.
  if (values.every((v) => v === '')) return { type: 'universal' };
  // C.2.2.2.7: "" (two QUOTATION MARK characters) asks for entities with no value.
  if (values.length === 1 && values[0] === '""' && options.emptyValueMatching) return { type: 'empty' };
  // C.2.2.2.4 note 1: "*" is Universal Matching. Conduit takes a lone "*" so for every VR, dates
  // and UIDs included, since SCUs send it for "any" (docs/query-matching.md).
  if (values.length === 1 && /^\*+$/.test(values[0]!.trim())) return { type: 'universal' };
  if (vr === 'UI') {
    for (const v of values) if (!UID.test(v) || v.length > 64) throw badValue(path, `"${v}" is not a UID`);
    // C.2.2.2.2: several UIDs are a List of UID Matching.
    return values.length > 1 ? { type: 'uid-list', values: [...new Set(values)] } : { type: 'single', value: values[0]! };
  }
  if (values.length > 1) {
    if (!options.multipleValueMatching) {
      // C.2.2.2.8 note 4: without the negotiation "the semantics of multiple values in a Key
      // Attribute is undefined"; answering A900 says so rather than guessing.
      throw new QueryError('ERR_DICOM_QUERY_NOT_NEGOTIATED',
        `the key has ${values.length} values; that needs Multiple Value Matching (PS3.4 C.2.2.2.8), which was not negotiated`,
        { offendingElements: path });
    }
    return multipleValueMatching(vr, values, path);
  }
  return singleMatching(vr, values[0]!, path);
}

/**
 * C.2.2.2.8 (PS3.4 2024): for an attribute of VR AE, AS, AT, CS, LO, PN, SH or UC with a defined
 * VM greater than 1, several key values match an entity only when "each and every value in the
 * Key Attribute matches a value in the corresponding Attribute in the entity" (a logical AND; the
 * order does not matter), and "Key Attribute Values shall not include wild cards". The standard
 * gives no meaning to several values of any other attribute, so they are refused.
 */
function multipleValueMatching(vr: VR, values: readonly string[], path: readonly Tag[]): Matching {
  const vm = path.length ? describeTag(path[path.length - 1]!).vm : '1';
  if (!MULTIPLE_VALUE_VRS.has(vr) || vm === '1') {
    throw badValue(path, `Multiple Value Matching applies to attributes of VR ${[...MULTIPLE_VALUE_VRS].join(', ')} with a VM greater than 1 (PS3.4 C.2.2.2.8), not to one of VR ${vr} and VM ${vm}`);
  }
  const distinct = [...new Set(values.filter((v) => v !== ''))];
  for (const v of distinct) if (/[*?]/.test(v)) throw badValue(path, `"${v}": Multiple Value Matching values shall not include wild cards (PS3.4 C.2.2.2.8)`);
  if (distinct.length === 1) return { type: 'single', value: distinct[0]! };
  return { type: 'multiple', values: distinct };
}

function singleMatching(vr: VR, value: string, path: readonly Tag[]): Matching {
  if (vr === 'DA' || vr === 'TM' || vr === 'DT') return dateTimeMatching(vr, value, path);
  if (WILDCARD_VRS.has(vr) && /[*?]/.test(value)) {
    // C.2.2.2.4 note 1: "*" alone is Universal Matching. For PN, "*" in every group is too.
    const groups = vr === 'PN' ? value.split('=') : [value];
    if (groups.every((g) => /^\*+$/.test(g))) return { type: 'universal' };
    return { type: 'wildcard', pattern: value };
  }
  if (NUMBER_VRS.has(vr)) {
    const ok = vr === 'IS' || vr === 'US' || vr === 'UL' || vr === 'SS' || vr === 'SL' || vr === 'SV' || vr === 'UV'
      ? parseIntegerString(value) !== undefined : parseDecimalString(value) !== undefined;
    if (!ok) throw badValue(path, `"${value}" is not a number of VR ${vr}`);
  }
  return { type: 'single', value };
}

function valid(vr: VR, text: string): boolean {
  if (vr === 'DA') return normalizeDate(text) !== undefined;
  if (vr === 'TM') return timePeriod(text) !== undefined;
  return dateTimePeriod(text) !== undefined;
}

/** Start of a bound's period, for checking that a range is not reversed. */
function startOf(vr: VR, text: string): string {
  if (vr === 'DA') return normalizeDate(text)!;
  if (vr === 'TM') return timePeriod(text)!.start;
  return dateTimePeriod(text)!.start;
}

/**
 * C.2.2.2.5: "<a>-<b>", "-<b>", "<a>-"; without "-" a single value (C.2.2.2.1 b). A DT may carry a
 * negative UTC offset, so every "-" is tried as the range separator (C.2.2.2.1.3 note 3).
 */
function dateTimeMatching(vr: VR, value: string, path: readonly Tag[]): Matching {
  const text = value.trim();
  if (!text.includes('-')) {
    if (!valid(vr, text)) throw badValue(path, `"${value}" is not a ${vr} value`);
    return { type: 'single', value: text };
  }
  for (let i = text.indexOf('-'); i >= 0; i = text.indexOf('-', i + 1)) {
    const lower = text.slice(0, i).trim();
    const upper = text.slice(i + 1).trim();
    if (lower === '' && upper === '') break;
    if ((lower === '' || valid(vr, lower)) && (upper === '' || valid(vr, upper))) {
      // C.2.2.2.5.1-3: "<date1> is less or equal to <date2>"; a range crossing midnight is not supported.
      // A TM range is checked once it is known not to be half of a combined range (finishKeys).
      if (vr !== 'TM' && lower !== '' && upper !== '' && startOf(vr, lower) > startOf(vr, upper)) {
        throw badValue(path, `range "${value}" ends before it starts`);
      }
      const m: { type: 'range'; lower?: string; upper?: string } = { type: 'range' };
      if (lower !== '') m.lower = lower;
      if (upper !== '') m.upper = upper;
      return m;
    }
  }
  throw badValue(path, `"${value}" is not a ${vr} range`);
}

/**
 * The last step on the keys of one data set (the Identifier, or a sequence item): PS3.4
 * C.2.2.2.5.4, with combined date-time matching negotiated a DA key and its TM key that are
 * ranges of the same form (both bounds, only the upper, only the lower) become one range on the
 * instant, the TM key staying as a return key; then TM ranges left alone must not be reversed
 * (C.2.2.2.5.2: "Range matching crossing midnight is not supported").
 */
export function finishKeys(keys: MatchingKey[], options: QueryOptions, parentPath: readonly Tag[]): MatchingKey[] {
  const byTag = new Map(keys.map((k) => [k.tag, k]));
  if (options.combinedDateTimeMatching) {
    for (const date of keys) {
      if (date.vr !== 'DA' || date.matching.type !== 'range') continue;
      const timeTag = pairedTimeTag(date.tag);
      const time = timeTag === undefined ? undefined : byTag.get(timeTag);
      if (!time || time.matching.type !== 'range') continue;
      const d = date.matching;
      const t = time.matching;
      if ((d.lower === undefined) !== (t.lower === undefined) || (d.upper === undefined) !== (t.upper === undefined)) continue;
      const combined: { type: 'combined-range'; timeTag: Tag; lower?: { date: string; time: string }; upper?: { date: string; time: string } } = { type: 'combined-range', timeTag: time.tag };
      if (d.lower !== undefined) combined.lower = { date: normalizeDate(d.lower)!, time: t.lower! };
      if (d.upper !== undefined) combined.upper = { date: normalizeDate(d.upper)!, time: t.upper! };
      if (combined.lower && combined.upper && combined.lower.date + timePeriod(combined.lower.time)!.start > combined.upper.date + timePeriod(combined.upper.time)!.start) {
        throw badValue([...parentPath, date.tag], 'combined date and time range ends before it starts');
      }
      byTag.set(date.tag, { ...date, matching: combined });
      byTag.set(time.tag, { ...time, matching: { type: 'combined', dateTag: date.tag } });
    }
  }
  for (const key of byTag.values()) {
    const r = key.matching;
    if (key.vr === 'TM' && r.type === 'range' && r.lower !== undefined && r.upper !== undefined && timePeriod(r.lower)!.start > timePeriod(r.upper)!.start) {
      throw badValue([...parentPath, key.tag], `range "${r.lower}-${r.upper}" crosses midnight, which PS3.4 C.2.2.2.5.2 does not support`);
    }
  }
  return keys.map((k) => byTag.get(k.tag)!);
}
