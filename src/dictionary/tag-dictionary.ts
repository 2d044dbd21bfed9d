/**
 * Standard data elements: PS3.6 §6 Table 6-1 (with the repeating groups of PS3.5 §7.6 and the
 * command elements of PS3.7 Annex E), from the generated rows in ./generated/tags.ts.
 *
 * Nothing is loaded at import, so a program that never looks a tag up (the CLI's --help) pays
 * nothing for the tables; the first lookup loads them (a synchronous require of the generated
 * CommonJS module) and builds an index, and each row is parsed when its tag is first looked up.
 */
import { createRequire } from 'node:module';
import type { VR } from '../data/vr.js';
import type { RepeatingTagEntry, TagEntry } from './entries.js';

type TagTables = typeof import('./generated/tags.cjs');
type KeywordTable = typeof import('./generated/tag-keywords.cjs');
const require = createRequire(import.meta.url);
let tables: TagTables | undefined;
const tagTables = (): TagTables => (tables ??= require('./generated/tags.cjs') as TagTables);

const vrLists = new Map<string, readonly VR[]>();
/** 'US/SS' -> ['US', 'SS'], shared and frozen; the generator has checked every code is a VR. */
export function vrList(field: string): readonly VR[] {
  let vrs = vrLists.get(field);
  if (vrs === undefined) {
    vrs = Object.freeze(field === '' ? [] : (field.split('/') as VR[]));
    vrLists.set(field, vrs);
  }
  return vrs;
}

/** A copy of `entry` that names `tag`, the tag actually looked up. */
export function withTag(entry: TagEntry, tag: number): TagEntry {
  return { tag, vrs: entry.vrs, vm: entry.vm, keyword: entry.keyword, name: entry.name, retired: entry.retired };
}

// The index (tag -> row) is built on first use from a literal array of numbers, which is cheap;
// a row becomes a TagEntry only when its tag is first looked up, and that object is then reused
// (frozen, since every caller shares it).
let rowOf: Map<number, number> | undefined;
let rows: string[] | undefined;
let entries: Array<TagEntry | undefined> | undefined;
let tagNumbers: readonly number[] = [];
function buildIndex(): Map<number, number> {
  const { TAG_NUMBERS, TAG_ROWS } = tagTables();
  const index = new Map<number, number>();
  for (let i = 0; i < TAG_NUMBERS.length; i++) index.set(TAG_NUMBERS[i]!, i);
  tagNumbers = TAG_NUMBERS;
  rows = TAG_ROWS.split('\n');
  entries = new Array<TagEntry | undefined>(rows.length);
  return (rowOf = index);
}
function entryAt(i: number): TagEntry {
  const f = rows![i]!.split('|');
  const tag = tagNumbers[i]!;
  return (entries![i] = Object.freeze({ tag, vrs: vrList(f[1]!), vm: f[2]!, keyword: f[3]!, name: f[4]!, retired: f[5] === 'R' }));
}

interface RepeatingTable {
  /** Bits of the tag that the masks in this table fix (F where the mask has a digit, 0 where 'x'). */
  bits: number;
  byValue: Map<number, RepeatingTagEntry>;
}
let repeating: RepeatingTable[] | undefined;
let repeatingList: RepeatingTagEntry[] | undefined;
function repeatingTables(): RepeatingTable[] {
  if (repeating !== undefined) return repeating;
  const tables = new Map<number, RepeatingTable>();
  const list: RepeatingTagEntry[] = [];
  for (const row of tagTables().REPEATER_ROWS.split('\n')) {
    const f = row.split('|');
    const mask = f[0]!;
    const bits = parseInt(mask.replace(/[0-9A-F]/g, 'F').replace(/x/g, '0'), 16);
    const value = parseInt(mask.replace(/x/g, '0'), 16);
    const entry: RepeatingTagEntry = Object.freeze({
      tag: parseInt(f[6]!, 16), vrs: vrList(f[1]!), vm: f[2]!, keyword: f[3]!, name: f[4]!, retired: f[5] === 'R', mask,
    });
    list.push(entry);
    let table = tables.get(bits);
    if (table === undefined) tables.set(bits, (table = { bits, byValue: new Map() }));
    table.byValue.set(value, entry);
  }
  // Most specific masks first, so a narrower mask wins over a wider one that also matches.
  const popcount = (n: number) => n.toString(2).replace(/0/g, '').length;
  repeatingList = list;
  return (repeating = [...tables.values()].sort((a, b) => popcount(b.bits) - popcount(a.bits)));
}

// PS3.5 §7.2: (gggg,0000) is the length of any group; PS3.5 §7.8.1: (gggg,0010-00FF) in an odd
// group reserves a block of private elements and names its creator.
const GROUP_LENGTH: TagEntry = { tag: 0, vrs: vrList('UL'), vm: '1', keyword: 'GenericGroupLength', name: 'Generic Group Length', retired: false };
const PRIVATE_GROUP_LENGTH: TagEntry = { tag: 0, vrs: vrList('UL'), vm: '1', keyword: 'PrivateGroupLength', name: 'Private Group Length', retired: false };
const PRIVATE_CREATOR: TagEntry = { tag: 0, vrs: vrList('LO'), vm: '1', keyword: 'PrivateCreator', name: 'Private Creator', retired: false };

/**
 * The dictionary entry for `tag`: the exact entry, else a group length, a private creator, or a
 * repeating group/element such as (60xx,3000); `tag` in the result is always the tag asked for.
 * Other private tags need their creator: see lookupPrivateTag.
 */
export function lookupTag(tag: number): TagEntry | undefined {
  const i = (rowOf ?? buildIndex()).get(tag);
  if (i !== undefined) return entries![i] ?? entryAt(i);
  // a tag built with << | and no >>> 0 is negative for groups 8000 and up
  return tag < 0 ? lookupTag(tag >>> 0) : derivedEntry(tag);
}

function derivedEntry(tag: number): TagEntry | undefined {
  const group = tag >>> 16;
  const element = tag & 0xffff;
  if (element === 0) return withTag(group & 1 ? PRIVATE_GROUP_LENGTH : GROUP_LENGTH, tag);
  // Odd groups are private (PS3.5 §7.8); no repeating group of PS3.5 §7.6 is odd, so they stop here.
  if (group & 1) return element >= 0x10 && element <= 0xff ? withTag(PRIVATE_CREATOR, tag) : undefined;
  for (const table of repeating ?? repeatingTables()) {
    const entry = table.byValue.get((tag & table.bits) >>> 0);
    if (entry !== undefined) return withTag(entry, tag);
  }
  return undefined;
}

let byKeyword: Map<string, number> | undefined;
/** The tag of a keyword; for a repeating entry, the smallest tag it stands for ((60xx,3000) -> 0x60003000). */
export function tagForKeyword(keyword: string): number | undefined {
  if (byKeyword === undefined) {
    byKeyword = new Map();
    const { TAG_NUMBERS } = tagTables();
    const keywords = (require('./generated/tag-keywords.cjs') as KeywordTable).TAG_KEYWORDS.split('\n');
    for (let i = 0; i < keywords.length; i++) if (keywords[i]) byKeyword.set(keywords[i]!, TAG_NUMBERS[i]!);
    repeatingTables();
    for (const e of repeatingList!) if (e.keyword) byKeyword.set(e.keyword, e.tag);
  }
  return byKeyword.get(keyword);
}

/** Every entry with a single tag, in tag order. */
export function allTagEntries(): TagEntry[] {
  if (rowOf === undefined) buildIndex();
  return tagNumbers.map((_, i) => entries![i] ?? entryAt(i));
}

/** Every repeating-group and repeating-element entry ((60xx,3000), (1000,xxx0), ...). */
export function repeatingTagEntries(): readonly RepeatingTagEntry[] {
  repeatingTables();
  return repeatingList!;
}
