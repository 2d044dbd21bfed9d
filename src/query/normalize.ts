/**
 * The normal forms matching compares, shared by the in-memory matcher (matching.ts) and the index
 * columns (sql.ts columnValues), so that both decide every key the same way:
 *
 * - DA: 'YYYYMMDD'; TM: 'HHMMSS.FFFFFF'; DT and combined DA+TM: 'YYYYMMDDHHMMSS.FFFFFF'. Fixed
 *   widths, so text order is time order. A key of lower precision stands for the whole period it
 *   names ("2230" is 22:30:00.000000 to 22:30:59.999999); a stored value of lower precision is
 *   the instant its period starts.
 * - Person names: per component group, trailing empty components dropped, then folded (foldText).
 */
import type { TimezoneOffset } from './query.js';

// ---- text ----

const MARK = /\p{M}/u;
const ACCENTED_SCRIPTS = /[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}]/u;

/**
 * Case- and accent-insensitive form of text, for person name matching (PS3.4 C.2.2.2.1.1 lets
 * PN matching be "insensitive to some or all aspects of case, position, accent, or other
 * character encoding variants"):
 * 1. compatibility decomposition (NFKD): full-width Latin letters become ASCII, half-width
 *    katakana full-width, ligatures their letters;
 * 2. combining marks are dropped after Latin, Greek and Cyrillic letters only (é -> e, but the
 *    dakuten of が stays: it changes the sound, it is not an accent);
 * 3. canonical composition (NFC), then upper case, character by character (language-independent
 *    rules; a letter whose capital is two letters, like ß, stays as it is).
 * Letters with no decomposition (ø, ł, æ) are kept as they are. "?" in a PN pattern stands for one
 * character of this form (a compatibility character such as ㈱ becomes several).
 */
export function foldText(text: string): string {
  const decomposed = text.normalize('NFKD');
  let out = '';
  let afterAccentedScript = false;
  for (const ch of decomposed) {
    if (MARK.test(ch)) {
      if (afterAccentedScript) continue;
    } else afterAccentedScript = ACCENTED_SCRIPTS.test(ch);
    out += ch;
  }
  let upper = '';
  for (const ch of out.normalize('NFC')) {
    const u = ch.toUpperCase();
    // Keep one character for one: "ß" stays "ß" rather than "SS", so "?" still stands for it.
    upper += u.length === ch.length || [...u].length === 1 ? u : ch;
  }
  return upper;
}

/**
 * The three component groups of a PN value (alphabetic, ideographic, phonetic; PS3.5 §6.2.1.1),
 * each without trailing empty components and spaces ("Doe^John^^" is "Doe^John").
 */
export function personNameGroups(value: string): [string, string, string] {
  const [a = '', i = '', p = ''] = value.split('=');
  return [trimGroup(a), trimGroup(i), trimGroup(p)];
}

function trimGroup(group: string): string {
  return group.replace(/[\^ ]+$/, '');
}

/** The folded component groups of a stored PN value (the index's _a, _i, _p columns). */
export function foldedPersonNameGroups(value: string): [string, string, string] {
  const [a, i, p] = personNameGroups(value);
  return [foldText(a), foldText(i), foldText(p)];
}

// ---- dates and times ----

interface Instant {
  year: number; month: number; day: number; hour: number; minute: number; second: number;
  /** Six digits. */
  micro: string;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

function formatDateTime(t: Instant): string {
  return `${pad(t.year, 4)}${pad(t.month, 2)}${pad(t.day, 2)}${pad(t.hour, 2)}${pad(t.minute, 2)}${pad(t.second, 2)}.${t.micro}`;
}

function daysInMonth(year: number, month: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, 0);
  return d.getUTCDate();
}

/** 'YYYYMMDD' of a DA value ('YYYYMMDD', or the ACR-NEMA 'YYYY.MM.DD'), else undefined. */
export function normalizeDate(text: string): string | undefined {
  const m = /^(\d{4})\.?(\d{2})\.?(\d{2})$/.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d] = [+m[1]!, +m[2]!, +m[3]!];
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return undefined;
  return `${m[1]}${m[2]}${m[3]}`;
}

interface TimeParts { hour: number; minute?: number; second?: number; fraction?: string }

function parseTime(text: string): TimeParts | undefined {
  const m = /^(\d{2})(?::?(\d{2})(?::?(\d{2})(?:\.(\d{1,6}))?)?)?$/.exec(text.trim());
  if (!m) return undefined;
  const parts: TimeParts = { hour: +m[1]! };
  if (m[2] !== undefined) parts.minute = +m[2];
  if (m[3] !== undefined) parts.second = +m[3];
  if (m[4] !== undefined) parts.fraction = m[4];
  // PS3.5 Table 6.2-1: HH 00-23, MM 00-59, SS 00-60 (a leap second).
  if (parts.hour > 23 || (parts.minute ?? 0) > 59 || (parts.second ?? 0) > 60) return undefined;
  return parts;
}

/**
 * The period a TM value names, as 'HHMMSS.FFFFFF' bounds: "10" is 10:00:00.000000 to
 * 10:59:59.999999, "103000.5" is 10:30:00.500000 to 10:30:00.599999.
 */
export function timePeriod(text: string): { start: string; end: string } | undefined {
  const t = parseTime(text);
  if (!t) return undefined;
  const start = `${pad(t.hour, 2)}${pad(t.minute ?? 0, 2)}${pad(t.second ?? 0, 2)}.${(t.fraction ?? '').padEnd(6, '0')}`;
  const end = `${pad(t.hour, 2)}${pad(t.minute ?? 59, 2)}${pad(t.second ?? 59, 2)}.${t.second === undefined ? '999999' : (t.fraction ?? '').padEnd(6, '9')}`;
  return { start, end };
}

/** 'HHMMSS.FFFFFF' of a stored TM value (the start of its period), else undefined. */
export function normalizeTime(text: string): string | undefined {
  return timePeriod(text)?.start;
}

interface DateTimeParts {
  year: number; month?: number; day?: number; hour?: number; minute?: number; second?: number; fraction?: string;
  offsetMinutes?: number;
}

function parseDateTime(text: string): DateTimeParts | undefined {
  const m = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$/.exec(text.trim());
  if (!m) return undefined;
  // A fraction needs the seconds it divides (PS3.5 Table 6.2-1).
  if (m[7] !== undefined && m[6] === undefined) return undefined;
  const n = (s: string | undefined) => (s === undefined ? undefined : +s);
  const parts: DateTimeParts = { year: +m[1]! };
  const set = <K extends keyof DateTimeParts>(k: K, v: DateTimeParts[K] | undefined) => { if (v !== undefined) parts[k] = v; };
  set('month', n(m[2])); set('day', n(m[3])); set('hour', n(m[4])); set('minute', n(m[5])); set('second', n(m[6])); set('fraction', m[7]);
  if (m[8]) {
    const offset = parseTimezoneOffset(m[8]);
    if (!offset) return undefined;
    parts.offsetMinutes = offset.minutes;
  }
  if (parts.month !== undefined && (parts.month < 1 || parts.month > 12)) return undefined;
  if (parts.day !== undefined && (parts.day < 1 || parts.day > daysInMonth(parts.year, parts.month!))) return undefined;
  if ((parts.hour ?? 0) > 23 || (parts.minute ?? 0) > 59 || (parts.second ?? 0) > 60) return undefined;
  return parts;
}

function startOf(p: DateTimeParts): Instant {
  return {
    year: p.year, month: p.month ?? 1, day: p.day ?? 1, hour: p.hour ?? 0, minute: p.minute ?? 0, second: p.second ?? 0,
    micro: (p.fraction ?? '').padEnd(6, '0'),
  };
}

function endOf(p: DateTimeParts): Instant {
  const month = p.month ?? 12;
  return {
    year: p.year, month, day: p.day ?? daysInMonth(p.year, month), hour: p.hour ?? 23, minute: p.minute ?? 59,
    second: p.second ?? 59, micro: p.second === undefined ? '999999' : (p.fraction ?? '').padEnd(6, '9'),
  };
}

/** `t` moved by `minutes` (whole minutes, so the microseconds stay as they are). */
function shift(t: Instant, minutes: number): Instant {
  if (minutes === 0) return t;
  const d = new Date(0);
  d.setUTCFullYear(t.year, t.month - 1, t.day);
  d.setUTCHours(t.hour, t.minute + minutes, t.second, 0);
  return {
    year: Math.max(0, d.getUTCFullYear()), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(),
    minute: d.getUTCMinutes(), second: d.getUTCSeconds(), micro: t.micro,
  };
}

/**
 * The UTC period a DT value names, as 'YYYYMMDDHHMMSS.FFFFFF' bounds. The value's own offset
 * counts (PS3.4 C.2.2.2.5.3 d); a value without one is in `defaultOffset` minutes east of UTC.
 */
export function dateTimePeriod(text: string, defaultOffset = 0): { start: string; end: string } | undefined {
  const p = parseDateTime(text);
  if (!p) return undefined;
  const offset = p.offsetMinutes ?? defaultOffset;
  return { start: formatDateTime(shift(startOf(p), -offset)), end: formatDateTime(shift(endOf(p), -offset)) };
}

/** A stored DT value in UTC (the start of its period), else undefined. */
export function normalizeDateTime(text: string, defaultOffset = 0): string | undefined {
  return dateTimePeriod(text, defaultOffset)?.start;
}

/** The instant of a normalized date and time, 'YYYYMMDDHHMMSS.FFFFFF', moved to UTC from `offset`. */
export function combineDateTime(date: string, time: string, offset = 0): string {
  const t: Instant = {
    year: +date.slice(0, 4), month: +date.slice(4, 6), day: +date.slice(6, 8),
    hour: +time.slice(0, 2), minute: +time.slice(2, 4), second: +time.slice(4, 6), micro: time.slice(7, 13),
  };
  return formatDateTime(shift(t, -offset));
}

/** A normalized time of day moved to UTC from `offset` (wrapping around midnight). */
export function timeOfDayInUtc(time: string, offset: number): string {
  if (offset === 0) return time;
  const minutes = ((+time.slice(0, 2) * 60 + +time.slice(2, 4) - offset) % 1440 + 1440) % 1440;
  return `${pad(Math.floor(minutes / 60), 2)}${pad(minutes % 60, 2)}${time.slice(4)}`;
}

/** Timezone Offset From UTC: "+HHMM" / "-HHMM", -12:00 to +14:00 (PS3.3 C.12.1.1.8 / PS3.5 DT). */
export function parseTimezoneOffset(text: string): TimezoneOffset | undefined {
  const m = /^([+-])(\d{2})(\d{2})$/.exec(text.trim());
  if (!m) return undefined;
  const hours = +m[2]!;
  const minutes = +m[3]!;
  if (minutes > 59 || hours > 14) return undefined;
  const value = (m[1] === '-' ? -1 : 1) * (hours * 60 + minutes);
  if (value < -12 * 60 || value > 14 * 60) return undefined;
  return Object.freeze({ text: text.trim(), minutes: value });
}

/** The text of an offset in minutes: 60 -> "+0100". */
export function formatTimezoneOffset(minutes: number): string {
  const a = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${pad(Math.floor(a / 60), 2)}${pad(a % 60, 2)}`;
}

// ---- numbers ----

/** An IS value as an integer (PS3.5: optional sign, digits), else undefined. */
export function parseIntegerString(text: string): number | undefined {
  const t = text.trim();
  return /^[+-]?\d+$/.test(t) ? Number(t) : undefined;
}

/** A DS value as a number (PS3.5: fixed or floating point), else undefined. */
export function parseDecimalString(text: string): number | undefined {
  const t = text.trim();
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : undefined;
}
