// PLACEHOLDER: replaced by the generated dictionary (tools/gen-dictionary).
import type { VR } from '../data/vr.js';

export interface TagEntry {
  tag: number;
  /** Possible VRs; more than one for "US or SS" style entries; empty for item and delimitation tags. */
  vrs: readonly VR[];
  vm: string;
  keyword: string;
  name: string;
  retired: boolean;
}
export interface UidEntry {
  uid: string;
  name: string;
  keyword: string;
  type: string;
  retired: boolean;
}
export const DICTIONARY_EDITION = 'placeholder';
const TAGS = new Map<number, TagEntry>([
  [0x00020010, { tag: 0x00020010, vrs: ['UI'], vm: '1', keyword: 'TransferSyntaxUID', name: 'Transfer Syntax UID', retired: false }],
  [0x00080005, { tag: 0x00080005, vrs: ['CS'], vm: '1-n', keyword: 'SpecificCharacterSet', name: 'Specific Character Set', retired: false }],
  [0x00100010, { tag: 0x00100010, vrs: ['PN'], vm: '1', keyword: 'PatientName', name: "Patient's Name", retired: false }],
]);
export function lookupTag(tag: number): TagEntry | undefined {
  return TAGS.get(tag);
}
export function tagForKeyword(keyword: string): number | undefined {
  for (const e of TAGS.values()) if (e.keyword === keyword) return e.tag;
  return undefined;
}
export function lookupPrivateTag(_creator: string, _tag: number): TagEntry | undefined {
  return undefined;
}
export function lookupUid(_uid: string): UidEntry | undefined {
  return undefined;
}
