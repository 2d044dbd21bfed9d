/** The shapes of the dictionary's entries; PS3.6 §6 (data elements) and Annex A (UIDs). */
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
/** A repeating-group or repeating-element entry; `tag` is the smallest tag `mask` stands for. */
export interface RepeatingTagEntry extends TagEntry {
  /** Eight characters as PS3.6 writes them, 'x' for any hex digit: '60xx3000', '1000xxx0'. */
  mask: string;
}
export interface UidEntry {
  uid: string;
  name: string;
  keyword: string;
  type: string;
  retired: boolean;
}
