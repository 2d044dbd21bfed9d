/**
 * Cross-checks the generated dictionary (pydicom's transcription of PS3.6) against DCMTK's
 * independent one (dicom.dic). Both are asked about the same tags: every tag either lists, and
 * sample tags from every repeating group or range. Each disagreement must fall into one of the
 * explained categories below; any other disagreement fails the test. Counts are printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allTagEntries, DICTIONARY_EDITION, lookupTag, repeatingTagEntries, type TagEntry } from '../../src/dictionary/index.js';
import { peer } from '../helpers/peers.js';
import { dcmtkLookup, dcmtkVRs, findDicomDic, parseDicomDic, sampleRange, type DcmtkDictionary, type DcmtkEntry } from './dcmtk-dic.js';

type Kind = 'only-conduit' | 'only-dcmtk' | 'vr' | 'vm' | 'keyword' | 'retired';
interface Difference {
  tag: number;
  kind: Kind;
  ours: TagEntry | undefined;
  theirs: DcmtkEntry | undefined;
}
interface Category {
  id: string;
  reason: string;
  explains(d: Difference): boolean;
}

const group = (t: number) => t >>> 16;
const element = (t: number) => t & 0xffff;
const hex = (t: number) => `(${group(t).toString(16).toUpperCase().padStart(4, '0')},${element(t).toString(16).toUpperCase().padStart(4, '0')})`;

// Data elements added to PS3.6 between 2022a (pydicom 2.3.1) and 2022b (the edition of DCMTK's dicom.dic).
const ADDED_AFTER_2022A = new Set([0x00060001, 0x00080017, 0x00080019, 0x00081088, 0x00200027]);
// Retired ACR-NEMA elements that PS3.6 defines with masks; dicom.dic's range notation cannot say
// "xxx0", so DCMTK lists one tag for each (its file says so in a comment) and Conduit the mask.
const MASKED_ACR_NEMA = new Set([
  'RowsForNthOrderCoefficients', 'ColumnsForNthOrderCoefficients', 'CoefficientCoding', 'CoefficientCodingPointers',
  'CodeLabel', 'NumberOfTables', 'CodeTableLocation', 'BitsForCodeWord', 'ImageDataLocation',
  'EscapeTriplet', 'RunLengthTriplet', 'HuffmanTableSize', 'HuffmanTableTriplet', 'ShiftTableSize', 'ShiftTableTriplet',
  'ZonalMap',
]);

const CATEGORIES: Category[] = [
  {
    id: 'newer-edition',
    reason: 'DCMTK is built from PS3.6 2022b, pydicom from 2022a: Acquisition UID, Pyramid UID/Label/Description, Current Frame Functional Groups Sequence were added in between',
    explains: (d) => d.kind === 'only-dcmtk' && ADDED_AFTER_2022A.has(d.tag),
  },
  {
    id: 'retired-without-keyword',
    reason: 'PS3.6 keeps a few retired tags with no name or keyword; pydicom lists them, DCMTK leaves them out',
    explains: (d) => d.kind === 'only-conduit' && d.ours!.retired && d.ours!.keyword === '',
  },
  {
    id: 'acr-nema-masks',
    reason: 'retired (0028,04x0-3), (0028,08x0-8), (1000,xxx0-5), (1010,xxxx): Conduit resolves the whole mask, DCMTK one tag of it',
    explains: (d) => d.kind === 'only-conduit' && d.ours!.retired && MASKED_ACR_NEMA.has(d.ours!.keyword),
  },
  {
    id: 'dcmtk-even-element-range',
    reason: 'Source Image IDs is (0020,31xx); dicom.dic writes (0020,3100-31FF), which DCMTK reads as even elements only',
    explains: (d) => d.kind === 'only-conduit' && d.ours!.keyword === 'SourceImageIDs' && (d.tag & 1) === 1,
  },
  {
    id: 'dcmtk-lut-vr',
    reason: "LUT Data (0028,3006) is 'US or OW' in PS3.6; DCMTK gives it its own VR 'lt' (US, SS or OW)",
    explains: (d) => d.kind === 'vr' && d.tag === 0x00283006 && d.theirs?.vr === 'lt',
  },
  {
    id: 'retirement-disagrees',
    reason: 'Proposed Study Sequence and Original Image Sequence (2130,00A0/00C0): retired in pydicom (2022a), not in DCMTK (2022b)',
    explains: (d) => d.kind === 'retired' && (d.tag === 0x213000a0 || d.tag === 0x213000c0) && d.ours!.retired,
  },
  {
    id: 'dcmtk-illegal-groups',
    reason:
      'PS3.5 §7.8.1 bars the odd groups 0001-0007 from private use; DCMTK calls their group length and creator slots ' +
      "'Illegal...', Conduit treats every odd group as private as the data layer does",
    explains: (d) =>
      d.kind === 'keyword' && group(d.tag) <= 7 && /^Illegal(GroupLength|PrivateCreator)$/.test(d.theirs!.keyword),
  },
];

function compare(tag: number, ours: TagEntry | undefined, theirs: DcmtkEntry | undefined): Difference[] {
  if (!ours && !theirs) return [];
  if (!theirs) return [{ tag, kind: 'only-conduit', ours, theirs }];
  if (!ours) return [{ tag, kind: 'only-dcmtk', ours, theirs }];
  const out: Difference[] = [];
  const sorted = (v: readonly string[]) => [...v].sort().join('/');
  if (sorted(ours.vrs) !== sorted(dcmtkVRs(theirs.vr))) out.push({ tag, kind: 'vr', ours, theirs });
  if (ours.vm !== theirs.vm) out.push({ tag, kind: 'vm', ours, theirs });
  if (ours.keyword !== theirs.keyword.replace(/^RETIRED_/, '')) out.push({ tag, kind: 'keyword', ours, theirs });
  if (ours.retired !== theirs.version.endsWith('/retired')) out.push({ tag, kind: 'retired', ours, theirs });
  return out;
}

/** Tags that stand for a mask: every combination of a few nibble values in the x positions. */
function maskSamples(mask: string): number[] {
  const nibbles = [0x0, 0x1, 0x2, 0x8, 0xe, 0xf];
  let values = [''];
  for (const c of mask) values = c === 'x' ? values.flatMap((v) => nibbles.map((n) => v + n.toString(16))) : values.map((v) => v + c);
  return values.map((v) => parseInt(v, 16));
}

interface CrossCheck {
  probed: number;
  agreeing: number;
  differences: Difference[];
  unexplained: Difference[];
  /** Per category: tags probed, and dictionary entries involved (a mask sampled 1296 times is one entry). */
  counts: Map<string, { tags: number; entries: Set<string> }>;
}

function crossCheck(dcmtk: DcmtkDictionary): CrossCheck {
  const probes = new Set<number>();
  for (const e of allTagEntries()) probes.add(e.tag);
  for (const t of dcmtk.exact.keys()) probes.add(t);
  for (const e of repeatingTagEntries()) for (const t of maskSamples(e.mask)) probes.add(t);
  for (const r of dcmtk.ranges) {
    for (const g of sampleRange(r.group)) for (const el of sampleRange(r.element)) probes.add(((g << 16) | el) >>> 0);
  }
  const differences: Difference[] = [];
  let agreeing = 0;
  for (const t of [...probes].sort((a, b) => a - b)) {
    const d = compare(t, lookupTag(t), dcmtkLookup(dcmtk, t));
    if (d.length === 0) agreeing++;
    differences.push(...d);
  }
  const counts = new Map(CATEGORIES.map((c) => [c.id, { tags: 0, entries: new Set<string>() }]));
  const unexplained: Difference[] = [];
  for (const d of differences) {
    const c = CATEGORIES.find((c) => c.explains(d));
    if (!c) {
      unexplained.push(d);
      continue;
    }
    const n = counts.get(c.id)!;
    n.tags++;
    n.entries.add(`${d.ours?.keyword ?? '-'}|${d.theirs?.line ?? '-'}|${d.ours?.keyword === '' ? d.tag : ''}`);
  }
  return { probed: probes.size, agreeing, differences, unexplained, counts };
}

const describe = (d: Difference) =>
  `${hex(d.tag)} ${d.kind}: conduit ${d.ours ? `${d.ours.keyword} ${d.ours.vrs.join('/')} ${d.ours.vm}${d.ours.retired ? ' retired' : ''}` : '-'}` +
  ` / dcmtk ${d.theirs ? `${d.theirs.keyword} ${d.theirs.vr} ${d.theirs.vm} ${d.theirs.version} (line ${d.theirs.line})` : '-'}`;

const DIC = findDicomDic();
const SKIP = peer('dcmtk') ?? (DIC ? undefined : 'DCMTK is installed but its dicom.dic was not found');

test('dictionary agrees with DCMTK dicom.dic except for explained differences', { skip: SKIP }, () => {
  const dcmtk = parseDicomDic(DIC!);
  const r = crossCheck(dcmtk);
  console.log(
    `dictionary ${DICTIONARY_EDITION} vs DCMTK ${dcmtk.edition || '(edition unknown)'} (${DIC}): ` +
      `${r.probed} tags probed, ${r.agreeing} agree, ${r.differences.length} differences`,
  );
  for (const c of CATEGORIES) {
    const n = r.counts.get(c.id)!;
    console.log(`  ${String(n.tags).padStart(5)} tags / ${String(n.entries.size).padStart(2)} entries  ${c.id}: ${c.reason}`);
  }
  if (r.unexplained.length) console.log(`  ${String(r.unexplained.length).padStart(5)} tags  UNEXPLAINED`);
  assert.deepEqual(
    r.unexplained.slice(0, 40).map(describe),
    [],
    `${r.unexplained.length} unexplained differences from DCMTK ${dcmtk.edition}` +
      (dcmtk.edition !== '2022b' ? " (the categories were written for DCMTK's 2022b dictionary)" : ''),
  );
  // Most of the dictionary must agree, so a broken probe or parser cannot pass as "no differences".
  assert.ok(r.agreeing > 4500, `only ${r.agreeing} tags agree`);
});

test('the cross-check reports a difference no category explains', { skip: SKIP }, () => {
  const dcmtk = parseDicomDic(DIC!);
  dcmtk.exact.set(0x00100010, { ...dcmtk.exact.get(0x00100010)!, vr: 'LO' });
  dcmtk.exact.delete(0x00100020);
  const r = crossCheck(dcmtk);
  assert.deepEqual(r.unexplained.map((d) => `${hex(d.tag)} ${d.kind}`), ['(0010,0010) vr', '(0010,0020) only-conduit']);
});

test('DCMTK dictionary reader', () => {
  assert.deepEqual(sampleRange({ lo: 0x6000, hi: 0x60ff, parity: 'even' }), [0x6000, 0x6002, 0x607e, 0x60fc, 0x60fe]);
  assert.deepEqual(sampleRange({ lo: 0x0009, hi: 0xffff, parity: 'odd' }).slice(0, 2), [0x0009, 0x000b]);
  assert.deepEqual(dcmtkVRs('xs'), ['US', 'SS']);
  assert.deepEqual(maskSamples('60xx3000').slice(0, 3), [0x60003000, 0x60013000, 0x60023000]);
});
