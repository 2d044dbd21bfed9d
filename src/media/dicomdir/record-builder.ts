/**
 * Builds the keys of directory records from an instance's data set: the keys of PS3.3 F.5 for the
 * record type plus the profile's additional keys (PS3.11). A Type 1 key the instance lacks is
 * filled in with a warning, as DCMTK's `dcmmkdir --invent` does, so that the instance is kept.
 */
import { randomUUID } from 'node:crypto';
import { DataSet } from '../../data/data-set.js';
import { DataElement } from '../../data/element.js';
import { SPECIFIC_CHARACTER_SET } from '../../data/tag.js';
import type { VR } from '../../data/vr.js';
import { lookupTag, tagForKeyword } from '../../dictionary/index.js';
import type { ApplicationProfile } from './profiles.js';
import { RECORD_KEYS, type RecordKey } from './record-types.js';

/** A UID under the 2.25 root (PS3.5 B.2), for a UID an instance lacks. */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
}

function tagOf(keyword: string): number {
  const t = tagForKeyword(keyword);
  if (t === undefined) throw new Error(`record key ${keyword} is not in the dictionary`);
  return t;
}

function hasValue(e: DataElement | undefined): e is DataElement {
  if (!e) return false;
  if (e.items) return e.items.length > 0;
  return e.valueLength > 0 && e.bytes.some((b) => b !== 0x20 && b !== 0);
}

/** The keys of a record type under a profile. */
export function keysFor(recordType: string, profile: ApplicationProfile): RecordKey[] {
  const base = RECORD_KEYS[recordType] ?? [];
  const extra = profile.additionalKeys[recordType] ?? [];
  return [...base, ...extra.filter((x) => !base.some((b) => b.keyword === x.keyword))];
}

/** Values filled in for a missing Type 1 key: `fill` gives a value for the context, else one by VR. */
export type Filler = (keyword: string) => string | undefined;

function defaultValue(vr: VR, source: DataSet): string | null {
  switch (vr) {
    case 'DA': return source.string('ContentDate') ?? source.string('SeriesDate') ?? source.string('AcquisitionDate') ?? today();
    case 'TM': return source.string('ContentTime') ?? source.string('SeriesTime') ?? source.string('AcquisitionTime') ?? '000000';
    case 'IS': case 'US': case 'UL': return '1';
    case 'DS': return '0';
    case 'UI': return newUid();
    case 'SQ': return null;
    default: return 'UNKNOWN';
  }
}

function today(): string {
  return new Date().toISOString().slice(0, 10).replace(/-/g, '');
}

/**
 * Copies the keys of `recordType` from `source` into a new record data set. `fill` supplies values
 * for missing Type 1 keys where the caller knows better (counters, UIDs shared by a group); each
 * filled-in key adds a warning to `warnings`.
 */
export function buildRecordKeys(recordType: string, source: DataSet, profile: ApplicationProfile, fill: Filler, warnings: string[], what: string): DataSet {
  const keys = new DataSet();
  const scs = source.get(SPECIFIC_CHARACTER_SET);
  if (scs && hasValue(scs)) keys.add(scs);
  for (const key of keysFor(recordType, profile)) {
    const t = tagOf(key.keyword);
    const e = valueIn(source, key.keyword, t);
    if (hasValue(e)) {
      addCopy(keys, e);
      continue;
    }
    if (key.type === '2') keys.set(t, undefined, null);
    else if (key.type === '1') {
      const vr = lookupTag(t)!.vrs[0]!;
      const value = fill(key.keyword) ?? defaultValue(vr, source);
      if (value === null) keys.set(t, vr, []);
      else if (vr === 'US' || vr === 'UL') keys.set(t, vr, Number(value));
      else keys.set(t, vr, value);
      warnings.push(`${what}: ${key.keyword} ${lookupTagText(t)} is Type 1 in the ${recordType} record but missing from the instance; filled in with ${value === null ? 'an empty sequence' : `"${value}"`}`);
    }
  }
  return keys;
}

/**
 * Keys whose record value is not the instance's top-level element of the same tag (PS3.3 F.5.21,
 * SR Document and Key Object Document records).
 */
const SPECIAL_SOURCES: Readonly<Record<string, (source: DataSet) => DataElement | undefined>> = {
  // Only the items that modify the document title: the root's HAS CONCEPT MOD children.
  ContentSequence: (source) => {
    const items = source.items('ContentSequence').filter((item) => item.string('RelationshipType')?.trim() === 'HAS CONCEPT MOD');
    if (items.length === 0) return undefined;
    return DataElement.sequence(tagOf('ContentSequence'), items);
  },
  // Required when the document is VERIFIED: the Verification DateTime of the last verifying observer.
  VerificationDateTime: (source) => {
    if (source.string('VerificationFlag')?.trim() !== 'VERIFIED') return undefined;
    const observers = source.items('VerifyingObserverSequence');
    return observers[observers.length - 1]?.get('VerificationDateTime');
  },
};

function valueIn(source: DataSet, keyword: string, t: number): DataElement | undefined {
  const special = SPECIAL_SOURCES[keyword];
  return special ? special(source) : source.get(t);
}

/** Adds keys of `recordType` that `source` has and `keys` lacks (1C keys "present in any instance below"). */
export function addMissingConditionalKeys(keys: DataSet, recordType: string, source: DataSet, profile: ApplicationProfile): void {
  for (const key of keysFor(recordType, profile)) {
    if (key.type !== '1C' && key.type !== '3') continue;
    const t = tagOf(key.keyword);
    const e = valueIn(source, key.keyword, t);
    if (!keys.has(t) && hasValue(e)) addCopy(keys, e);
  }
}

function addCopy(keys: DataSet, e: DataElement): void {
  keys.add(e);
  if (e.items) for (const item of e.items) item.parent = keys;
}

function lookupTagText(t: number): string {
  const hex = t.toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}
