/**
 * A reader for DCMTK's data dictionary file (/usr/share/libdcmtk*\/dicom.dic), used only to
 * cross-check the generated dictionary. Format, as the file's own header describes it: one entry
 * a line, five tab-separated fields (tag, VR, keyword, VM, version); a tag is (gggg,eeee) or a
 * range (gggg-gggg,eeee) / (gggg,eeee-eeee), even numbers only unless written -o- (odd) or -u-
 * (all); a later entry overrides an earlier one; '#' starts a comment line.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Parity = 'even' | 'odd' | 'all';
export interface Range {
  lo: number;
  hi: number;
  parity: Parity;
}
export interface DcmtkEntry {
  group: Range;
  element: Range;
  /** DCMTK's VR code, including its own 'up', 'xs', 'ox', 'px', 'lt', 'na'. */
  vr: string;
  /** As written; retired entries carry a RETIRED_ prefix. */
  keyword: string;
  vm: string;
  /** 'DICOM', 'DICOM/retired', 'DICOM/DICONDE', 'DICOM/DICOS', 'PRIVATE', 'ILLEGAL', 'GENERIC'. */
  version: string;
  line: number;
}
export interface DcmtkDictionary {
  path: string;
  /** The edition named in the header ("Generated automatically from DICOM PS 3.6-2022b"), or ''. */
  edition: string;
  exact: Map<number, DcmtkEntry>;
  ranges: DcmtkEntry[];
}

/** The dicom.dic of the installed DCMTK, if any. */
export function findDicomDic(): string | undefined {
  const share = '/usr/share';
  const dirs = existsSync(share) ? readdirSync(share).filter((d) => /^libdcmtk\d+$/.test(d) || d === 'dcmtk') : [];
  for (const d of dirs.sort().reverse()) {
    const p = join(share, d, 'dicom.dic');
    if (existsSync(p)) return p;
  }
  return undefined;
}

function parseRange(text: string, line: number): Range {
  let m = /^([0-9A-Fa-f]{4})$/.exec(text);
  if (m) {
    const v = parseInt(m[1]!, 16);
    return { lo: v, hi: v, parity: 'all' };
  }
  m = /^([0-9A-Fa-f]{4})-(?:([oOuUeE])-)?([0-9A-Fa-f]{4})$/.exec(text);
  if (!m) throw new Error(`dicom.dic line ${line}: bad tag part "${text}"`);
  const r = (m[2] ?? 'e').toLowerCase();
  return { lo: parseInt(m[1]!, 16), hi: parseInt(m[3]!, 16), parity: r === 'o' ? 'odd' : r === 'u' ? 'all' : 'even' };
}

export function inRange(r: Range, v: number): boolean {
  if (v < r.lo || v > r.hi) return false;
  return r.parity === 'all' || (r.parity === 'even') === ((v & 1) === 0);
}

/** How many values a range covers; DCMTK prefers the narrower of two matching ranges. */
export function rangeSize(r: Range): number {
  const n = r.hi - r.lo + 1;
  return r.parity === 'all' ? n : Math.ceil(n / 2);
}

export function parseDicomDic(path: string): DcmtkDictionary {
  const text = readFileSync(path, 'latin1');
  const edition = /Generated automatically from DICOM PS ?3\.6-(\d{4}[a-z])/.exec(text)?.[1] ?? '';
  const exact = new Map<number, DcmtkEntry>();
  const ranges: DcmtkEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const s = raw.trimEnd();
    if (s.trim() === '' || s.trimStart().startsWith('#')) return;
    const f = s.split('\t');
    if (f.length < 3) throw new Error(`dicom.dic line ${line}: too few fields`);
    const m = /^\(([^,]+),([^)]+)\)$/.exec(f[0]!.trim());
    if (!m) throw new Error(`dicom.dic line ${line}: bad tag "${f[0]}"`);
    const entry: DcmtkEntry = {
      group: parseRange(m[1]!.trim(), line),
      element: parseRange(m[2]!.trim(), line),
      vr: f[1]!.trim(),
      keyword: f[2]!.trim(),
      vm: (f[3] ?? '1').trim(),
      version: (f[4] ?? 'DICOM').trim(),
      line,
    };
    if (entry.group.lo === entry.group.hi && entry.element.lo === entry.element.hi) {
      exact.set(((entry.group.lo << 16) | entry.element.lo) >>> 0, entry);
    } else {
      const same = ranges.findIndex(
        (e) => JSON.stringify([e.group, e.element]) === JSON.stringify([entry.group, entry.element]),
      );
      if (same >= 0) ranges[same] = entry;
      else ranges.push(entry);
    }
  });
  return { path, edition, exact, ranges };
}

/** DCMTK's answer for a tag: the exact entry, else the narrowest range that holds it. */
export function dcmtkLookup(dict: DcmtkDictionary, tag: number): DcmtkEntry | undefined {
  const e = dict.exact.get(tag);
  if (e) return e;
  const group = tag >>> 16;
  const element = tag & 0xffff;
  let best: DcmtkEntry | undefined;
  for (const r of dict.ranges) {
    if (!inRange(r.group, group) || !inRange(r.element, element)) continue;
    if (!best || rangeSize(r.group) * rangeSize(r.element) < rangeSize(best.group) * rangeSize(best.element)) best = r;
  }
  return best;
}

/** A few values of a range to probe with: both ends, their neighbours, and the middle. */
export function sampleRange(r: Range): number[] {
  if (r.lo === r.hi) return [r.lo];
  const step = r.parity === 'all' ? 1 : 2;
  const first = r.parity === 'all' || (r.parity === 'even') === ((r.lo & 1) === 0) ? r.lo : r.lo + 1;
  const last = r.parity === 'all' || (r.parity === 'even') === ((r.hi & 1) === 0) ? r.hi : r.hi - 1;
  const mid = first + Math.floor((last - first) / (2 * step)) * step;
  return [...new Set([first, first + step, mid, last - step, last])].filter((v) => v >= first && v <= last);
}

/**
 * DCMTK's VR codes as lists of PS3.5 VRs. DCMTK has a few of its own: 'up' is UL holding a file
 * offset (the DICOMDIR pointers), 'xs' US or SS, 'ox' and 'px' OB or OW (px for Pixel Data),
 * 'lt' US, SS or OW (LUT data), 'na' no VR (items and delimiters).
 */
export function dcmtkVRs(vr: string): string[] {
  switch (vr) {
    case 'up': return ['UL'];
    case 'xs': return ['US', 'SS'];
    case 'ox': case 'px': return ['OB', 'OW'];
    case 'lt': return ['US', 'SS', 'OW'];
    case 'na': return [];
    default: return [vr];
  }
}
