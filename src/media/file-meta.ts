/**
 * File Meta Information (PS3.10 §7.1): group 0002, always Explicit VR Little Endian, after a
 * 128-byte preamble and the "DICM" prefix.
 */
import { DicomError } from '../core/dicom-error.js';
import { DataSet } from '../data/data-set.js';
import { DataSetParser } from '../data/reader/data-set-parser.js';
import { EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, type TransferSyntax } from '../data/transfer-syntax.js';
import type { Encoding } from '../data/writer.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './implementation.js';

export const PREAMBLE_LENGTH = 128;

export interface FileMetaParse {
  preamble: Uint8Array | null;
  meta: DataSet;
  /** Offset of the first byte of the data set. */
  dataSetOffset: number;
  /** From (0002,0010), or guessed from the data set's first bytes when absent. */
  transferSyntaxUid: string;
  /** True when the transfer syntax was guessed (no meta, or no (0002,0010)). */
  transferSyntaxGuessed: boolean;
}

function isDicm(b: Uint8Array, at: number): boolean {
  return b.length >= at + 4 && b[at] === 0x44 && b[at + 1] === 0x49 && b[at + 2] === 0x43 && b[at + 3] === 0x4d;
}
const isUpper = (c: number | undefined) => c !== undefined && c >= 0x41 && c <= 0x5a;

/**
 * Parses the preamble and File Meta Information from the start of a file. `head` must hold the
 * whole meta group (the caller reads more and retries on ERR_DICOM_TRUNCATED if `complete` is false).
 */
export function parseFileMeta(head: Uint8Array, complete: boolean): FileMetaParse {
  if (head.length === 0 && complete) throw new DicomError('ERR_DICOM_NOT_DICOM', 'not a DICOM file: it is empty', { offset: 0 });
  let offset: number;
  let preamble: Uint8Array | null = null;
  if (isDicm(head, PREAMBLE_LENGTH)) {
    preamble = head.subarray(0, PREAMBLE_LENGTH);
    offset = PREAMBLE_LENGTH + 4;
  } else if (isDicm(head, 0)) {
    offset = 4;
  } else {
    offset = 0;
  }
  const meta = new DataSet();
  if (head.length >= offset + 2 && (head[offset]! | (head[offset + 1]! << 8)) === 0x0002) {
    // Group 0002 is Explicit VR Little Endian (PS3.10 §7.1); some writers used Implicit VR.
    const explicit = isUpper(head[offset + 4]) && isUpper(head[offset + 5]);
    const parser = new DataSetParser({ explicitVR: explicit, littleEndian: true, startOffset: offset, onlyGroup: 0x0002, root: meta });
    parser.feed(head.subarray(offset));
    if (complete) parser.end();
    let step;
    try {
      step = parser.run();
    } catch (err) {
      // Fewer than 8 bytes after the meta hold no element header; a deflated data set can be that
      // short (an empty one is 2 bytes), and for any other the data set parse reports it.
      const rest = head.length - parser.offset;
      if (!(complete && err instanceof DicomError && err.code === 'ERR_DICOM_TRUNCATED' && rest > 0 && rest < 8 && meta.size > 0)) throw err;
      step = { kind: 'done' } as const;
    }
    if (step.kind === 'need') throw new DicomError('ERR_DICOM_TRUNCATED', 'File Meta Information is incomplete', { offset: parser.offset });
    if (step.kind === 'bulk') throw new DicomError('ERR_DICOM_BAD_FILE_META', 'File Meta Information holds a huge value', { offset: parser.offset });
    offset = parser.offset;
  } else if (offset === 0 && head.length > 0 && !looksLikeDataSet(head)) {
    throw new DicomError('ERR_DICOM_NOT_DICOM', 'not a DICOM file: no "DICM" prefix at offset 128 and no data set at the start', { offset: 0 });
  }
  let ts = meta.string(0x00020010);
  let guessed = false;
  if (!ts) {
    ts = guessTransferSyntax(head, offset);
    guessed = true;
  }
  return { preamble, meta, dataSetOffset: offset, transferSyntaxUid: ts, transferSyntaxGuessed: guessed };
}

/** A data set with no meta starts with a small even group (the command group 0000, or 0008). */
function looksLikeDataSet(b: Uint8Array): boolean {
  if (b.length < 8) return false;
  const le = b[0]! | (b[1]! << 8);
  const be = (b[0]! << 8) | b[1]!;
  const group = Math.min(le, be);
  return group <= 0x0028 && (group & 1) === 0;
}

/**
 * The encoding a data set really uses. Some writers declare one transfer syntax and write
 * another (explicit declared, implicit written, or the reverse); the first element tells, as
 * pydicom and DCMTK also check. Returns undefined when the declared encoding fits.
 */
export function detectEncodingMismatch(b: Uint8Array, offset: number, explicitDeclared: boolean): boolean | undefined {
  if (b.length < offset + 8) return undefined;
  const vrLetters = isUpper(b[offset + 4]) && isUpper(b[offset + 5]);
  if (explicitDeclared && !vrLetters) return false;
  if (!explicitDeclared && vrLetters) {
    // An implicit length whose low bytes spell letters is possible but the next two bytes would then be a huge length.
    const len = b[offset + 4]! | (b[offset + 5]! << 8) | (b[offset + 6]! << 16) | (b[offset + 7]! << 24);
    if (len >>> 0 > b.length) return true;
  }
  return undefined;
}

/**
 * The encoding to parse a data set with: the transfer syntax's, unless the data set's first element
 * (at `offset` in `bytes`) shows the other VR form; then a warning says so and the data set is read
 * as written.
 */
export function actualEncoding(ts: TransferSyntax, bytes: Uint8Array, offset: number, warnings: string[]): Encoding {
  const enc = { explicitVR: ts.explicitVR, littleEndian: ts.littleEndian };
  const explicit = detectEncodingMismatch(bytes, offset, enc.explicitVR);
  if (explicit === undefined) return enc;
  warnings.push(`transfer syntax ${ts.uid} says ${enc.explicitVR ? 'explicit' : 'implicit'} VR but the data set is ${explicit ? 'explicit' : 'implicit'} VR; read as written`);
  return { explicitVR: explicit, littleEndian: enc.littleEndian };
}

/** Guesses the encoding of a data set from its first element (PS3.5 gives no marker). */
export function guessTransferSyntax(b: Uint8Array, offset: number): string {
  if (b.length < offset + 8) return EXPLICIT_VR_LITTLE_ENDIAN;
  const explicit = isUpper(b[offset + 4]) && isUpper(b[offset + 5]);
  const le = b[offset]! | (b[offset + 1]! << 8);
  const be = (b[offset]! << 8) | b[offset + 1]!;
  if (explicit) return be < le ? EXPLICIT_VR_BIG_ENDIAN : EXPLICIT_VR_LITTLE_ENDIAN;
  return IMPLICIT_VR_LITTLE_ENDIAN;
}

/** Builds File Meta Information for a data set (PS3.10 §7.1, Table 7.1-1). */
export function buildFileMeta(opts: { sopClassUid: string; sopInstanceUid: string; transferSyntaxUid: string; sourceAet?: string }): DataSet {
  const meta = new DataSet();
  meta.set(0x00020000, 'UL', 0); // recomputed when written
  meta.set(0x00020001, 'OB', new Uint8Array([0, 1]));
  meta.set(0x00020002, 'UI', opts.sopClassUid);
  meta.set(0x00020003, 'UI', opts.sopInstanceUid);
  meta.set(0x00020010, 'UI', opts.transferSyntaxUid);
  meta.set(0x00020012, 'UI', IMPLEMENTATION_CLASS_UID);
  meta.set(0x00020013, 'SH', IMPLEMENTATION_VERSION_NAME);
  if (opts.sourceAet) meta.set(0x00020016, 'AE', opts.sourceAet);
  return meta;
}

/**
 * Reads and parses the start of a file or blob of `size` bytes through `read(position, length)`:
 * first 64 KiB, then four times as much while the File Meta Information runs past what was read.
 * Returns the parse and the bytes read (the data set's first bytes follow the meta in them).
 */
export async function readFileMeta(size: number, read: (position: number, length: number) => Promise<Uint8Array>): Promise<{ head: FileMetaParse; headBytes: Uint8Array }> {
  let headLength = Math.min(size, 64 * 1024);
  for (;;) {
    const headBytes = await read(0, headLength);
    try {
      return { head: parseFileMeta(headBytes, headLength >= size), headBytes };
    } catch (err) {
      if (err instanceof DicomError && err.code === 'ERR_DICOM_TRUNCATED' && headLength < size) {
        headLength = Math.min(size, headLength * 4);
        continue;
      }
      throw err;
    }
  }
}
