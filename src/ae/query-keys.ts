/**
 * Query/Retrieve Identifiers (PS3.4 C.4.1.2.1, C.4.2.2.1) from keys written the way DCMTK's findscu
 * takes them with -k: `PatientName=DOE*`, `StudyDate=20200101-`, `(0010,0020)=123`, a return key
 * with no value (`StudyInstanceUID`), a key inside a sequence item
 * (`ReferencedStudySequence[0].ReferencedSOPInstanceUID=1.2.3`). VRs come from the dictionary.
 * When a value is not plain ASCII and no Specific Character Set is given, (0008,0005) becomes
 * ISO_IR 192 (UTF-8), set before the text is encoded (PS3.5 §6.1.2.3).
 */
import { DicomError } from '../core/dicom-error.js';
import { DataSet } from '../data/data-set.js';
import { formatTag, isPrivateTag, parseTag, SPECIFIC_CHARACTER_SET, type Tag } from '../data/tag.js';
import type { VR } from '../data/vr.js';
import { lookupTag, tagForKeyword } from '../dictionary/index.js';

/** What find(), move() and get() take as the Identifier: a data set as is, `-k` style keys, or keyword -> value. */
export type QueryKeys = DataSet | readonly string[] | Readonly<Record<string, string | readonly string[] | null>>;

interface PathStep {
  tag: Tag;
  /** Item index inside the sequence `tag` (for every step but the last). */
  item: number;
}

interface KeyAssignment {
  path: PathStep[];
  /** null: a return key (zero length); otherwise the values (a backslash separates several). */
  values: string[] | null;
}

const QUERY_RETRIEVE_LEVEL = 0x00080052;

function tagOf(text: string, key: string): Tag {
  const t = /^\(?[0-9a-fA-F]{4},?[0-9a-fA-F]{4}\)?$/.test(text) ? parseTag(text.replace(/[()]/g, '')) : tagForKeyword(text);
  if (t === undefined) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `unknown attribute "${text}" in the key "${key}" (a keyword such as PatientName, or a tag such as (0010,0010))`);
  return t;
}

/** Parses `Path=value` (or `Path` for a return key). */
export function parseKeyAssignment(key: string): KeyAssignment {
  const eq = key.indexOf('=');
  const pathText = (eq < 0 ? key : key.slice(0, eq)).trim();
  const valueText = eq < 0 ? null : key.slice(eq + 1);
  if (pathText === '') throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `the key "${key}" names no attribute`);
  const path: PathStep[] = pathText.split('.').map((part) => {
    const m = /^(.*?)(?:\[(\d+)\])?$/.exec(part.trim())!;
    return { tag: tagOf(m[1]!, key), item: m[2] === undefined ? 0 : Number(m[2]) };
  });
  for (const step of path.slice(0, -1)) {
    if (vrOf(step.tag, key) !== 'SQ') throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${formatTag(step.tag)} in the key "${key}" is not a sequence`);
  }
  return { path, values: valueText === null || valueText === '' ? null : valueText.split('\\') };
}

function vrOf(t: Tag, key: string): VR {
  const vr = isPrivateTag(t) ? undefined : lookupTag(t)?.vrs[0];
  if (!vr) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `no VR is known for ${formatTag(t)} in the key "${key}"`);
  return vr;
}

function assignmentsOf(keys: Exclude<QueryKeys, DataSet>): KeyAssignment[] {
  if (Array.isArray(keys)) return (keys as readonly string[]).map(parseKeyAssignment);
  return Object.entries(keys as Record<string, string | readonly string[] | null>).map(([path, value]) => {
    const { path: steps } = parseKeyAssignment(path);
    const values = value === null || value === '' ? null : typeof value === 'string' ? value.split('\\') : [...value];
    return { path: steps, values: values !== null && values.length === 0 ? null : values };
  });
}

const BINARY_NUMBER_VRS: ReadonlySet<VR> = new Set<VR>(['US', 'UL', 'SS', 'SL', 'FL', 'FD', 'SV', 'UV']);

function numberOf(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new Error(`"${text}" is not a number`);
  return n;
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * The Identifier for `keys`. A DataSet is returned as it is (not copied). `level` sets the
 * Query/Retrieve Level (0008,0052) when given, overriding a key; `characterSet` sets (0008,0005)
 * (else ISO_IR 192 when some value is not ASCII and the keys do not set it).
 */
export function buildIdentifier(keys: QueryKeys, options: { level?: string; characterSet?: string } = {}): DataSet {
  let ds: DataSet;
  if (keys instanceof DataSet) {
    ds = keys;
  } else {
    const assignments = assignmentsOf(keys);
    ds = new DataSet();
    // The character set first: text values are encoded with the one in force when they are set.
    const charsetKey = assignments.find((a) => a.path.length === 1 && a.path[0]!.tag === SPECIFIC_CHARACTER_SET);
    const charset = options.characterSet
      ?? (charsetKey ? charsetKey.values?.join('\\') : assignments.some((a) => a.values?.some((v) => NON_ASCII.test(v))) ? 'ISO_IR 192' : undefined);
    if (charset !== undefined) ds.set(SPECIFIC_CHARACTER_SET, 'CS', charset.split('\\'));
    for (const a of assignments) {
      if (a.path.length === 1 && a.path[0]!.tag === SPECIFIC_CHARACTER_SET) continue;
      assign(ds, a);
    }
  }
  if (options.level !== undefined) ds.set(QUERY_RETRIEVE_LEVEL, 'CS', options.level);
  return ds;
}

function assign(root: DataSet, a: KeyAssignment): void {
  let ds = root;
  const key = a.path.map((s) => formatTag(s.tag)).join('.');
  for (const step of a.path.slice(0, -1)) {
    let items = ds.items(step.tag);
    if (!ds.get(step.tag)?.items) {
      items = [];
      ds.set(step.tag, 'SQ', items);
    }
    const element = ds.get(step.tag)!;
    while (element.items!.length <= step.item) {
      const item = new DataSet({ parent: ds, littleEndian: ds.littleEndian });
      element.items!.push(item);
    }
    ds = element.items![step.item]!;
  }
  const last = a.path[a.path.length - 1]!;
  const vr = vrOf(last.tag, key);
  if (vr === 'SQ') {
    if (a.values !== null) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${formatTag(last.tag)} is a sequence: give keys inside it (Sequence[0].Keyword=value) instead of a value`);
    // A sequence with no items: every item returned (PS3.4 C.2.2.1.3)
    if (!ds.get(last.tag)) ds.set(last.tag, 'SQ', []);
    return;
  }
  try {
    ds.set(last.tag, vr, a.values === null ? null : vr === 'AT' ? a.values.map((v) => tagOf(v, key)) : BINARY_NUMBER_VRS.has(vr) ? a.values.map(numberOf) : a.values);
  } catch (err) {
    throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `the value of ${key} cannot be encoded as ${vr}: ${(err as Error).message}`, { cause: err });
  }
}
