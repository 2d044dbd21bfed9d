/**
 * The DICOMDIR file: a Basic Directory IOD instance (PS3.3 F.3) in a Part 10 file, SOP Class
 * Media Storage Directory Storage (1.2.840.10008.1.3.10). Its records are the items of the
 * Directory Record Sequence (0004,1220), linked into a tree by byte offsets:
 *
 *   (0004,1200) UL  offset of the first record of the root directory entity
 *   (0004,1202) UL  offset of the last record of the root directory entity
 *   (0004,1400) UL  in a record: offset of the next record of the same entity (0: none)
 *   (0004,1410) US  Record In-use Flag: FFFFH in use, 0000H inactive (PS3.3 F.3.2.2)
 *   (0004,1420) UL  offset of the first record of the lower-level entity (0: none)
 *
 * Each offset counts bytes from the first byte of the file (the preamble) to the item tag of the
 * record (PS3.3 F.3.2.1), so writing needs every item's encoded length before the offsets are set:
 * offsets are 4-byte values, the lengths do not depend on them, and one layout pass suffices.
 */
import { readFile as readBytes } from 'node:fs/promises';
import { DicomError } from '../../core/dicom-error.js';
import { DataSet } from '../../data/data-set.js';
import { DataElement } from '../../data/element.js';
import { parseDataSet } from '../../data/reader/data-set-parser.js';
import { EXPLICIT_VR_LITTLE_ENDIAN, transferSyntax } from '../../data/transfer-syntax.js';
import { concat, encodeDataSet, encodedLength } from '../../data/writer.js';
import { buildFileMeta, PREAMBLE_LENGTH } from '../file-meta.js';
import { parseBuffer } from '../part10.js';
import { normalizeFileId } from './file-id.js';
import { directoryRecordOffsets } from './record-offsets.js';

export const MEDIA_STORAGE_DIRECTORY_STORAGE = '1.2.840.10008.1.3.10';

export const FILE_SET_ID = 0x00041130;
export const FILE_SET_DESCRIPTOR_FILE_ID = 0x00041141;
export const DESCRIPTOR_CHARACTER_SET = 0x00041142;
export const FIRST_RECORD_OFFSET = 0x00041200;
export const LAST_RECORD_OFFSET = 0x00041202;
export const FILE_SET_CONSISTENCY_FLAG = 0x00041212;
export const DIRECTORY_RECORD_SEQUENCE = 0x00041220;
export const NEXT_RECORD_OFFSET = 0x00041400;
export const RECORD_IN_USE_FLAG = 0x00041410;
export const LOWER_LEVEL_OFFSET = 0x00041420;
export const DIRECTORY_RECORD_TYPE = 0x00041430;
export const REFERENCED_FILE_ID = 0x00041500;
export const REFERENCED_SOP_CLASS_UID_IN_FILE = 0x00041510;
export const REFERENCED_SOP_INSTANCE_UID_IN_FILE = 0x00041511;
export const REFERENCED_TRANSFER_SYNTAX_UID_IN_FILE = 0x00041512;

/** The structural elements of a record, which the layout sets. */
const LINK_TAGS = new Set([NEXT_RECORD_OFFSET, RECORD_IN_USE_FLAG, LOWER_LEVEL_OFFSET, DIRECTORY_RECORD_TYPE]);

/** One directory record and the records of its lower-level entity. */
export interface DirectoryRecord {
  /** Directory Record Type (0004,1430): 'PATIENT', 'STUDY', 'SERIES', 'IMAGE', ... */
  type: string;
  /** The record's keys and references: every element but (0004,1400), (0004,1410), (0004,1420), (0004,1430). */
  keys: DataSet;
  /** Record In-use Flag: false for an inactive record (0000H), which readers skip. */
  inUse: boolean;
  children: DirectoryRecord[];
  /** Where the record's item starts in the DICOMDIR it was read from. */
  offset?: number;
}

/** A record as it lies in the file: its offset and the offsets it holds (0 for none or absent). */
export interface RecordInFile {
  offset: number;
  type: string;
  next: number;
  lower: number;
  inUse: boolean;
  record: DirectoryRecord;
}

export interface DicomDir {
  fileSetId: string;
  /** File-set Descriptor File ID (0004,1141), as File ID components. */
  descriptorFileId?: string[];
  /** Specific Character Set of File-set Descriptor File (0004,1142). */
  descriptorCharacterSet?: string;
  /** Media Storage SOP Instance UID (0002,0003): the file-set's UID. */
  fileSetUid: string;
  /** The records of the root directory entity, with their lower levels. */
  roots: DirectoryRecord[];
}

export interface ReadDicomDir extends DicomDir {
  transferSyntaxUid: string;
  /** Every record in the order of the Directory Record Sequence. */
  records: RecordInFile[];
  /** Records that no offset chain from the root reaches. */
  orphans: DirectoryRecord[];
  /** (0004,1212): non-zero when a writer left the file-set inconsistent. */
  consistencyFlag: number;
  warnings: string[];
}

/** A record's Referenced File ID (0004,1500) as components, or undefined when it has none. */
export function referencedFileId(record: DirectoryRecord): string[] | undefined {
  const values = record.keys.strings(REFERENCED_FILE_ID);
  return values.length ? normalizeFileId(values) : undefined;
}

/** Parses a DICOMDIR held in memory. */
export function parseDicomDir(bytes: Uint8Array): ReadDicomDir {
  const file = parseBuffer(bytes);
  const warnings = [...file.warnings];
  const metaClass = file.meta.string(0x00020002);
  if (metaClass !== undefined && metaClass !== MEDIA_STORAGE_DIRECTORY_STORAGE) {
    throw new DicomError('ERR_DICOM_MEDIA_BAD_DICOMDIR', `not a DICOMDIR: Media Storage SOP Class is ${metaClass}, not ${MEDIA_STORAGE_DIRECTORY_STORAGE}`);
  }
  const ts = transferSyntax(file.transferSyntaxUid);
  if (ts.deflated) throw new DicomError('ERR_DICOM_MEDIA_BAD_DICOMDIR', 'a deflated DICOMDIR: its record offsets cannot be followed');
  const ds = file.dataSet;
  const items = ds.items(DIRECTORY_RECORD_SEQUENCE);
  const offsets = directoryRecordOffsets(bytes, file.dataSetOffset ?? 0, ts);
  if (offsets.length !== items.length) {
    throw new DicomError('ERR_DICOM_MEDIA_BAD_DICOMDIR', `found ${offsets.length} record items but parsed ${items.length}`, { tag: DIRECTORY_RECORD_SEQUENCE });
  }
  const records: RecordInFile[] = items.map((item, i) => {
    const keys = new DataSet({ littleEndian: item.littleEndian });
    for (const e of item) if (!LINK_TAGS.has(e.tag)) keys.add(e);
    keys.parent = item.parent;
    const type = (item.string(DIRECTORY_RECORD_TYPE) ?? '').trim();
    const inUseValue = item.number(RECORD_IN_USE_FLAG);
    const inUse = inUseValue === undefined || inUseValue !== 0;
    const record: DirectoryRecord = { type, keys, inUse, children: [], offset: offsets[i]! };
    return { offset: offsets[i]!, type, next: item.number(NEXT_RECORD_OFFSET) ?? 0, lower: item.number(LOWER_LEVEL_OFFSET) ?? 0, inUse, record };
  });
  const byOffset = new Map(records.map((r) => [r.offset, r]));
  const reached = new Set<number>();

  // Follows a chain of next offsets; stops at an offset that names no record or loops back.
  const chain = (first: number, where: string): DirectoryRecord[] => {
    const out: DirectoryRecord[] = [];
    for (let at = first; at !== 0;) {
      const r = byOffset.get(at);
      if (!r) {
        warnings.push(`${where}: offset ${at} is not the start of a directory record; the entity ends there`);
        break;
      }
      if (reached.has(at)) {
        warnings.push(`${where}: the record at offset ${at} is reached twice (a loop); the entity ends there`);
        break;
      }
      reached.add(at);
      out.push(r.record);
      at = r.next;
    }
    return out;
  };

  const first = ds.number(FIRST_RECORD_OFFSET) ?? 0;
  if (!ds.has(FIRST_RECORD_OFFSET) && records.length) warnings.push('no (0004,1200) Offset of the First Directory Record of the Root Directory Entity');
  const roots = chain(first, 'root directory entity');
  // Breadth first, so that a deep or looping tree never recurses.
  const pending = [...roots];
  while (pending.length) {
    const record = pending.pop()!;
    const r = byOffset.get(record.offset!)!;
    if (r.lower !== 0) {
      record.children = chain(r.lower, `lower level of the ${r.type} record at offset ${r.offset}`);
      pending.push(...record.children);
    }
  }
  const last = ds.number(LAST_RECORD_OFFSET) ?? 0;
  if (roots.length && last !== roots[roots.length - 1]!.offset) {
    warnings.push(`(0004,1202) Offset of the Last Directory Record of the Root Directory Entity is ${last}, but the root entity ends at ${roots[roots.length - 1]!.offset}`);
  }
  const orphans = records.filter((r) => !reached.has(r.offset)).map((r) => r.record);
  if (orphans.length) warnings.push(`${orphans.length} directory record(s) are not reached from the root directory entity`);
  const descriptor = ds.strings(FILE_SET_DESCRIPTOR_FILE_ID);
  return {
    fileSetId: (ds.string(FILE_SET_ID) ?? '').trim(),
    descriptorFileId: descriptor.length ? normalizeFileId(descriptor) : undefined,
    descriptorCharacterSet: ds.string(DESCRIPTOR_CHARACTER_SET),
    fileSetUid: file.meta.string(0x00020003) ?? '',
    roots,
    transferSyntaxUid: file.transferSyntaxUid,
    records,
    orphans,
    consistencyFlag: ds.number(FILE_SET_CONSISTENCY_FLAG) ?? 0,
    warnings,
  };
}

export async function readDicomDir(path: string): Promise<ReadDicomDir> {
  let bytes: Uint8Array;
  try {
    bytes = await readBytes(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new DicomError(code === 'ENOENT' ? 'ERR_DICOM_MEDIA_NOT_FOUND' : 'ERR_DICOM_IO', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseDicomDir(bytes);
}

/** Every record of a tree in the order a DICOMDIR lists them: each record, then its lower level (depth first). */
export function flattenRecords(roots: readonly DirectoryRecord[]): DirectoryRecord[] {
  const out: DirectoryRecord[] = [];
  const stack = [...roots].reverse();
  while (stack.length) {
    const r = stack.pop()!;
    out.push(r);
    for (let i = r.children.length - 1; i >= 0; i--) stack.push(r.children[i]!);
  }
  return out;
}

const ELE = { explicitVR: true, littleEndian: true };

/** A data set in little endian byte order (a big endian one's elements are re-encoded). */
export function littleEndianKeys(keys: DataSet): DataSet {
  if (keys.littleEndian) return keys;
  return parseDataSet(encodeDataSet(keys, ELE), ELE);
}

export interface EncodeDicomDirOptions {
  /**
   * 'defined' (default, as DCMTK and pydicom write) or 'undefined': the Directory Record Sequence
   * and its items end with delimiters (PS3.5 §7.5), as some writers do.
   */
  lengths?: 'defined' | 'undefined';
}

/**
 * Encodes a DICOMDIR in Explicit VR Little Endian (the only transfer syntax PS3.11's profiles allow
 * for it): records depth first, every offset computed from the encoded lengths. Sets `offset` on
 * each record to where it now lies.
 */
export function encodeDicomDir(dir: DicomDir, options: EncodeDicomDirOptions = {}): Uint8Array {
  const undefinedLengths = options.lengths === 'undefined';
  const meta = buildFileMeta({ sopClassUid: MEDIA_STORAGE_DIRECTORY_STORAGE, sopInstanceUid: dir.fileSetUid, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN });
  const head = concat([new Uint8Array(PREAMBLE_LENGTH), new Uint8Array([0x44, 0x49, 0x43, 0x4d]), encodeDataSet(meta, ELE, { recalculateGroupLengths: true })]);

  const top = new DataSet();
  top.set(FILE_SET_ID, 'CS', dir.fileSetId);
  if (dir.descriptorFileId?.length) top.set(FILE_SET_DESCRIPTOR_FILE_ID, 'CS', dir.descriptorFileId);
  if (dir.descriptorFileId?.length && dir.descriptorCharacterSet) top.set(DESCRIPTOR_CHARACTER_SET, 'CS', dir.descriptorCharacterSet);
  top.set(FIRST_RECORD_OFFSET, 'UL', 0);
  top.set(LAST_RECORD_OFFSET, 'UL', 0);
  top.set(FILE_SET_CONSISTENCY_FLAG, 'US', 0);
  // The sequence starts after the elements before it and its own 12-byte header.
  const sequenceStart = head.length + encodedLength(top, ELE) + 12;

  const records = flattenRecords(dir.roots);
  const items = new Map<DirectoryRecord, DataSet>();
  let at = sequenceStart;
  for (const record of records) {
    const item = new DataSet({ parent: top });
    item.set(NEXT_RECORD_OFFSET, 'UL', 0);
    item.set(RECORD_IN_USE_FLAG, 'US', record.inUse ? 0xffff : 0);
    item.set(LOWER_LEVEL_OFFSET, 'UL', 0);
    item.set(DIRECTORY_RECORD_TYPE, 'CS', record.type);
    for (const e of littleEndianKeys(record.keys)) if (!LINK_TAGS.has(e.tag)) item.add(e);
    for (const e of item) if (e.items) for (const nested of e.items) nested.parent = item;
    item.undefinedLength = undefinedLengths;
    items.set(record, item);
    record.offset = at;
    at += 8 + encodedLength(item, ELE) + (undefinedLengths ? 8 : 0);
  }
  const link = (siblings: readonly DirectoryRecord[]): void => {
    siblings.forEach((record, i) => {
      const item = items.get(record)!;
      item.set(NEXT_RECORD_OFFSET, 'UL', siblings[i + 1]?.offset ?? 0);
      item.set(LOWER_LEVEL_OFFSET, 'UL', record.children[0]?.offset ?? 0);
      link(record.children);
    });
  };
  link(dir.roots);
  top.set(FIRST_RECORD_OFFSET, 'UL', dir.roots[0]?.offset ?? 0);
  top.set(LAST_RECORD_OFFSET, 'UL', dir.roots[dir.roots.length - 1]?.offset ?? 0);
  top.add(DataElement.sequence(DIRECTORY_RECORD_SEQUENCE, records.map((r) => items.get(r)!), 'SQ', undefinedLengths));
  return concat([head, encodeDataSet(top, ELE)]);
}
