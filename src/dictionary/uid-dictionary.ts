/**
 * Registered UIDs: PS3.6 Annex A, Table A-1 (and Table A-2, the well-known frames of reference),
 * from the generated rows in ./generated/uids.cts, required and parsed on first use.
 */
import { createRequire } from 'node:module';
import type { UidEntry } from './entries.js';

type UidTable = typeof import('./generated/uids.cjs');
const require = createRequire(import.meta.url);

let byUid: Map<string, UidEntry> | undefined;
function uidEntries(): Map<string, UidEntry> {
  if (byUid !== undefined) return byUid;
  const map = new Map<string, UidEntry>();
  for (const row of (require('./generated/uids.cjs') as UidTable).UID_ROWS.split('\n')) {
    const [uid, keyword, type, name, retired] = row.split('|') as [string, string, string, string, string];
    map.set(uid, { uid, name, keyword, type, retired: retired === 'R' });
  }
  return (byUid = map);
}

/**
 * The entry for a UID. A trailing NUL or space (the padding of a UI value, PS3.5 §6.2) is ignored,
 * so a value read straight from a data set matches.
 */
export function lookupUid(uid: string): UidEntry | undefined {
  const map = uidEntries();
  return map.get(uid) ?? map.get(uid.replace(/[\0 ]+$/, ''));
}

let byKeyword: Map<string, string> | undefined;
/** 'ExplicitVRLittleEndian' -> '1.2.840.10008.1.2.1'. */
export function uidForKeyword(keyword: string): string | undefined {
  if (byKeyword === undefined) {
    byKeyword = new Map();
    for (const e of uidEntries().values()) if (e.keyword) byKeyword.set(e.keyword, e.uid);
  }
  return byKeyword.get(keyword);
}

/** Every registered UID, in the order of PS3.6 Table A-1. */
export function allUids(): UidEntry[] {
  return [...uidEntries().values()];
}

/**
 * The UIDs of one type, as PS3.6 Table A-1 names it: 'Transfer Syntax', 'SOP Class',
 * 'Meta SOP Class', 'Well-known SOP Instance', 'Application Context Name', ...
 */
export function uidsOfType(type: string): UidEntry[] {
  return allUids().filter((e) => e.type === type);
}

export function transferSyntaxEntries(): UidEntry[] {
  return uidsOfType('Transfer Syntax');
}

/** SOP Classes only; Meta SOP Classes are uidsOfType('Meta SOP Class'). */
export function sopClassEntries(): UidEntry[] {
  return uidsOfType('SOP Class');
}
