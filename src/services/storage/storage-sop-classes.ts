/**
 * The Storage SOP Classes (PS3.4 Annex B.5, Table B.5-1) as the dictionary knows them: every SOP
 * Class whose name says it stores objects, and the few whose names do not say so.
 */
import { sopClassEntries } from '../../dictionary/index.js';

// Storage SOP Classes without "Storage" in their name (PS3.4 B.5).
const EXTRA = new Set<string>([
  '1.2.840.10008.5.1.4.1.1.11.1', // Grayscale Softcopy Presentation State Storage
]);
const NOT_STORAGE = /Storage Commitment|Storage Management|Storage Service Class|Media Storage Directory/;

let cache: readonly string[] | undefined;

/** UIDs of every Storage SOP Class, retired ones included (peers still send them). */
export function storageSopClassUids(): readonly string[] {
  if (!cache) {
    cache = sopClassEntries()
      .filter((e) => (/Storage/.test(e.name) && !NOT_STORAGE.test(e.name)) || EXTRA.has(e.uid))
      .map((e) => e.uid);
  }
  return cache;
}

export function isStorageSopClass(uid: string): boolean {
  return storageSopClassUids().includes(uid);
}
