/**
 * A text dump of a DICOM file in the spirit of DCMTK's dcmdump: one line per element with tag, VR,
 * value, then a comment with the value length, the value multiplicity and the keyword. Items,
 * delimitation items and pixel data fragments get their own lines, indented by nesting depth.
 *
 * Values are decoded only to print them, and bulk values (left in their file by the reader) are
 * described, never read, so dumping a 2 GB file costs no more memory than parsing it did.
 */
import { lookupPrivateTag, lookupTag, lookupUid } from '../dictionary/index.js';
import type { DataSet } from '../data/data-set.js';
import type { DataElement, EncapsulatedValue } from '../data/element.js';
import type { BulkData } from '../data/bulk-data.js';
import { isPrivateCreator, isPrivateTag, privateCreatorTagOf, tagElement, type Tag } from '../data/tag.js';
import { transferSyntax } from '../data/transfer-syntax.js';
import { decodeNumbers, decodeStrings, decodeTags } from '../data/values.js';
import { binaryValueSize, hasLongExplicitHeader, isMultiValuedString, isStringVR, type VR } from '../data/vr.js';

/** What the dump needs of a Part 10 file; the reader's DicomFile has this shape. */
export interface DumpableFile {
  preamble: Uint8Array | null;
  meta: DataSet;
  dataSet: DataSet;
  transferSyntaxUid: string;
}

export interface TextDumpOptions {
  /** Characters of a value shown before it is cut with "..."; Infinity shows everything. Default 64. */
  maxLength?: number;
  /** Include the File Meta Information. Default true. */
  meta?: boolean;
  /** Shown in the header line, usually the file's path. */
  source?: string;
}

/** Width of the value column, as dcmdump uses, so that the comments line up. */
const VALUE_COLUMN = 40;
const INDENT = '  ';
const ITEM_TAG = '(FFFE,E000)';
const ITEM_DELIMITATION_TAG = '(FFFE,E00D)';
const SEQUENCE_DELIMITATION_TAG = '(FFFE,E0DD)';
// The File Meta Information is always Explicit VR Little Endian (PS3.10 §7.1).
const META_TRANSFER_SYNTAX = '1.2.840.10008.1.2.1';

/** The dump of one file, line by line, so that a caller can write it out as it goes. */
export function* textDumpLines(file: DumpableFile, options: TextDumpOptions = {}): Generator<string> {
  const maxLength = options.maxLength ?? 64;
  const context = { maxLength };
  yield options.source !== undefined ? `# File: ${options.source}` : '# DICOM file';
  if (options.meta ?? true) {
    yield '';
    if (file.preamble === null) yield '# No preamble: not a Part 10 file, or one without the 128-byte preamble';
    yield '# File Meta Information';
    if (file.meta.size === 0) yield '# (none)';
    else {
      yield `# Transfer syntax: ${describeTransferSyntax(META_TRANSFER_SYNTAX)}`;
      yield* dataSetLines(file.meta, 0, true, context);
    }
  }
  yield '';
  yield '# Data Set';
  yield `# Transfer syntax: ${describeTransferSyntax(file.transferSyntaxUid)}`;
  yield* dataSetLines(file.dataSet, 0, transferSyntax(file.transferSyntaxUid).explicitVR, context);
}

/** The whole dump as one string (for tests and small files). */
export function textDump(file: DumpableFile, options: TextDumpOptions = {}): string {
  return [...textDumpLines(file, options)].join('\n') + '\n';
}

interface DumpContext {
  maxLength: number;
}

function describeTransferSyntax(uid: string): string {
  const name = lookupUid(uid)?.name;
  return name ? `${name} (${uid})` : uid;
}

function* dataSetLines(ds: DataSet, depth: number, explicitVR: boolean, context: DumpContext): Generator<string> {
  for (const e of ds.elements()) yield* elementLines(ds, e, depth, explicitVR, context);
}

function* elementLines(ds: DataSet, e: DataElement, depth: number, explicitVR: boolean, context: DumpContext): Generator<string> {
  const indent = INDENT.repeat(depth);
  const name = keywordOf(ds, e.tag);
  if (e.items) {
    // A UN of undefined length holds Implicit VR Little Endian items (PS3.5 §6.2.2).
    const itemsExplicit = e.vr === 'UN' ? false : explicitVR;
    const kind = e.undefinedLength ? 'undefined' : 'explicit';
    const length = e.undefinedLength ? undefined : e.valueLength > 0 ? e.valueLength : sequenceValueSize(e.items, e.undefinedLength, itemsExplicit);
    yield line(indent, formatTagText(e.tag), e.vr, `(Sequence with ${kind} length #=${e.items.length})`, length, '1', name);
    for (const item of e.items) {
      const itemKind = item.undefinedLength ? 'undefined' : 'explicit';
      const itemLength = item.undefinedLength ? undefined : dataSetSize(item, itemsExplicit);
      yield line(indent + INDENT, ITEM_TAG, 'na', `(Item with ${itemKind} length #=${item.size})`, itemLength, '1', 'Item');
      yield* dataSetLines(item, depth + 2, itemsExplicit, context);
      if (item.undefinedLength) yield line(indent + INDENT, ITEM_DELIMITATION_TAG, 'na', '(ItemDelimitationItem)', 0, '0', 'ItemDelimitationItem');
    }
    if (e.undefinedLength) yield line(indent, SEQUENCE_DELIMITATION_TAG, 'na', '(SequenceDelimitationItem)', 0, '0', 'SequenceDelimitationItem');
    return;
  }
  if (e.encapsulated) {
    yield* encapsulatedLines(ds, e, e.encapsulated, indent, name, context);
    return;
  }
  if (e.bulk) {
    yield line(indent, formatTagText(e.tag), e.vr, bulkText(e.bulk), e.bulk.length, e.bulk.length ? '1' : '0', name);
    return;
  }
  const { text, vm, note } = valueText(ds, e, context.maxLength);
  yield line(indent, formatTagText(e.tag), e.vr, text, e.valueLength, vm, note ? `${name} ${note}` : name);
}

// PS3.5 §A.4: the Basic Offset Table item, one item per fragment, then the sequence delimiter.
function* encapsulatedLines(ds: DataSet, e: DataElement, value: EncapsulatedValue, indent: string, name: string, context: DumpContext): Generator<string> {
  yield line(indent, formatTagText(e.tag), e.vr, `(PixelSequence #=${value.fragments.length + 1})`, undefined, '1', name);
  const inner = indent + INDENT;
  const table = value.offsetTable;
  const offsets = table.length ? decodeNumbers(table, 'UL', ds.littleEndian) : [];
  const tableText = offsets.length ? limit(offsets.join('\\'), context.maxLength) : '(no value available)';
  yield line(inner, ITEM_TAG, 'pi', tableText, table.length, offsets.length ? String(offsets.length) : '0', 'Basic Offset Table');
  for (let i = 0; i < value.fragments.length; i++) {
    const fragment = value.fragments[i]!;
    const label = `Fragment ${i + 1}`;
    if (fragment instanceof Uint8Array) {
      const text = fragment.length ? hexBytes(fragment, context.maxLength) : '(no value available)';
      yield line(inner, ITEM_TAG, 'pi', text, fragment.length, fragment.length ? '1' : '0', label);
    } else {
      yield line(inner, ITEM_TAG, 'pi', bulkText(fragment), fragment.length, fragment.length ? '1' : '0', label);
    }
  }
  yield line(indent, SEQUENCE_DELIMITATION_TAG, 'na', '(SequenceDelimitationItem)', 0, '0', 'SequenceDelimitationItem');
}

function bulkText(bulk: BulkData): string {
  return `(not loaded: ${bulk.length} bytes at offset ${bulk.offset})`;
}

function line(indent: string, tagText: string, vr: string, value: string, length: number | undefined, vm: string, name: string): string {
  const head = `${indent}${tagText} ${vr} ${value}`;
  const lengthText = length === undefined ? 'u/l' : String(length);
  return `${head.padEnd(indent.length + 15 + VALUE_COLUMN)} # ${lengthText.padStart(3)}, ${vm} ${name}`;
}

/** "(0008,0016)": the standard's upper-case form, as DicomError messages print tags. */
function formatTagText(t: Tag): string {
  const hex = (t >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

function keywordOf(ds: DataSet, t: Tag): string {
  if (isPrivateTag(t)) {
    if (isPrivateCreator(t)) return 'PrivateCreator';
    if (tagElement(t) === 0) return 'PrivateGroupLength';
    if (privateCreatorTagOf(t) === undefined) return 'PrivateTag (outside any private block)';
    const creator = ds.privateCreator(t);
    if (creator === undefined) return 'PrivateTag (no private creator)';
    // Private dictionary entries have names but no keywords.
    const entry = lookupPrivateTag(creator, t);
    return `${entry?.keyword || entry?.name || 'PrivateTag'} (${creator})`;
  }
  const entry = lookupTag(t);
  if (entry?.keyword) return entry.keyword;
  if (tagElement(t) === 0) return 'GroupLength';
  return 'UnknownTag';
}

interface ValueText {
  text: string;
  vm: string;
  note?: string;
}

function valueText(ds: DataSet, e: DataElement, maxLength: number): ValueText {
  const bytes = e.bytes;
  if (bytes.length === 0) return { text: '(no value available)', vm: '0' };
  try {
    return decodedValueText(ds, e.vr, bytes, maxLength);
  } catch (err) {
    // A value that does not decode is still shown, as bytes, with the reason.
    const reason = err instanceof Error ? err.message : String(err);
    return { text: hexBytes(bytes, maxLength), vm: '1', note: `(cannot decode: ${reason})` };
  }
}

function decodedValueText(ds: DataSet, vr: VR, bytes: Uint8Array, maxLength: number): ValueText {
  if (isStringVR(vr)) {
    const values = decodeStrings(bytes, vr, ds.characterSet);
    const vm = isMultiValuedString(vr) ? String(values.length) : '1';
    const text = `[${limit(values.join('\\'), maxLength)}]`;
    if (vr === 'UI' && values.length === 1) {
      const name = lookupUid(values[0]!)?.name;
      if (name) return { text, vm, note: `= ${name}` };
    }
    return { text, vm };
  }
  switch (vr) {
    case 'AT': {
      const tags = decodeTags(bytes, ds.littleEndian);
      return { text: limitList(tags.map(formatTagText), maxLength), vm: String(tags.length) };
    }
    case 'US': case 'SS': case 'UL': case 'SL': case 'FL': case 'FD': case 'SV': case 'UV': {
      const n = Math.floor(bytes.length / binaryValueSize(vr));
      return { text: limitList(numbersText(bytes, vr, ds.littleEndian, maxLength), maxLength), vm: String(n) };
    }
    case 'OF': case 'OD': case 'OL': case 'OV':
      return { text: limitList(numbersText(bytes, vr, ds.littleEndian, maxLength), maxLength), vm: '1' };
    case 'OW':
      return { text: hexWords(bytes, ds.littleEndian, maxLength), vm: '1' };
    default:
      // OB, UN and anything the reader could not type.
      return { text: hexBytes(bytes, maxLength), vm: '1' };
  }
}

/** Decodes only as many values as can be shown, so a large in-memory array costs nothing extra. */
function numbersText(bytes: Uint8Array, vr: VR, littleEndian: boolean, maxLength: number): string[] {
  const size = binaryValueSize(vr);
  // Every value takes at least two characters with its separator.
  const shown = Number.isFinite(maxLength) ? Math.min(bytes.length, (Math.ceil(maxLength / 2) + 1) * size) : bytes.length;
  const head = bytes.subarray(0, shown - (shown % size));
  const values = decodeNumbers(head, vr, littleEndian).map(formatNumber);
  if (head.length < bytes.length - (bytes.length % size)) values.push('');
  return values;
}

function formatNumber(n: number): string {
  return Number.isInteger(n) || !Number.isFinite(n) ? String(n) : String(Number(n.toPrecision(9)));
}

function hexBytes(bytes: Uint8Array, maxLength: number): string {
  // "hh\" is three characters a byte.
  const shown = Number.isFinite(maxLength) ? Math.min(bytes.length, Math.ceil(maxLength / 3) + 1) : bytes.length;
  const parts: string[] = [];
  for (let i = 0; i < shown; i++) parts.push(bytes[i]!.toString(16).padStart(2, '0'));
  if (shown < bytes.length) parts.push('');
  return limitList(parts, maxLength);
}

function hexWords(bytes: Uint8Array, littleEndian: boolean, maxLength: number): string {
  const n = Math.floor(bytes.length / 2);
  const shown = Number.isFinite(maxLength) ? Math.min(n, Math.ceil(maxLength / 5) + 1) : n;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: string[] = [];
  for (let i = 0; i < shown; i++) parts.push(view.getUint16(i * 2, littleEndian).toString(16).padStart(4, '0'));
  if (shown < n || bytes.length % 2) parts.push('');
  return limitList(parts, maxLength);
}

/** Joins values with backslashes and cuts the text at maxLength with "...". An empty last entry means "more". */
function limitList(values: string[], maxLength: number): string {
  const more = values.length > 0 && values[values.length - 1] === '';
  const text = (more ? values.slice(0, -1) : values).join('\\');
  if (text.length > maxLength) return text.slice(0, maxLength) + '...';
  return more ? text + '...' : text;
}

function limit(text: string, maxLength: number): string {
  return text.length > maxLength ? text.slice(0, maxLength) + '...' : text;
}

// ---- lengths as encoded, for sequences and items the reader kept no length for ----

function elementSize(e: DataElement, explicitVR: boolean): number {
  const header = explicitVR && hasLongExplicitHeader(e.vr) ? 12 : 8;
  return header + valueSize(e, explicitVR);
}

function valueSize(e: DataElement, explicitVR: boolean): number {
  if (e.items) return sequenceValueSize(e.items, e.undefinedLength, e.vr === 'UN' ? false : explicitVR);
  if (e.encapsulated) {
    const fragments = e.encapsulated.fragments.reduce((sum, f) => sum + 8 + f.length, 0);
    return 8 + e.encapsulated.offsetTable.length + fragments + 8;
  }
  if (e.bulk) return e.bulk.length;
  return e.valueLength;
}

function sequenceValueSize(items: readonly DataSet[], undefinedLength: boolean, explicitVR: boolean): number {
  let size = undefinedLength ? 8 : 0;
  for (const item of items) size += 8 + dataSetSize(item, explicitVR) + (item.undefinedLength ? 8 : 0);
  return size;
}

function dataSetSize(ds: DataSet, explicitVR: boolean): number {
  let size = 0;
  for (const e of ds.elements()) size += elementSize(e, explicitVR);
  return size;
}
