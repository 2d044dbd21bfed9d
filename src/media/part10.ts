/**
 * DICOM Part 10 files (PS3.10 §7): preamble, "DICM", File Meta Information, then the data set in
 * the transfer syntax the meta names. Reading streams: values above `bulkDataThreshold` stay in
 * the file as BulkData, so a 2 GB file parses in bounded memory.
 */
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type * as Zlib from 'node:zlib';
import { DicomError } from '../core/dicom-error.js';
import { BulkData } from '../data/bulk-data.js';
import { DataSet } from '../data/data-set.js';
import { DataSetParser, parseDataSet } from '../data/reader/data-set-parser.js';
import { transferSyntax, EXPLICIT_VR_LITTLE_ENDIAN, type TransferSyntax } from '../data/transfer-syntax.js';
import { concat, encodeDataSet, encodeDataSetStream, type Encoding } from '../data/writer.js';
import { actualEncoding, buildFileMeta, parseFileMeta, PREAMBLE_LENGTH, readFileMeta } from './file-meta.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './implementation.js';

let zlibModule: typeof Zlib | undefined;

/** node:zlib, loaded for the first deflated data set (PS3.5 A.5), not at every process's start. */
function zlib(): typeof Zlib {
  return (zlibModule ??= createRequire(import.meta.url)('node:zlib') as typeof Zlib);
}

export interface DicomFile {
  /** The 128-byte preamble, or null when the file had none. */
  preamble: Uint8Array | null;
  /** File Meta Information (group 0002); empty when the file had none. */
  meta: DataSet;
  dataSet: DataSet;
  transferSyntaxUid: string;
  /** Problems tolerated while reading (lenient reads); empty for a well-formed file. */
  warnings: string[];
  /** Offset of the data set in the file read (after the File Meta Information). */
  dataSetOffset?: number;
}

export interface ReadOptions {
  /** Values longer than this stay in the file as BulkData (readFile only). Default 1 MiB. */
  bulkDataThreshold?: number;
  /** Stop before this tag at the top level, e.g. 0x7FE00010 to skip Pixel Data. */
  untilTag?: number;
  /** 'keep' reads truncated input leniently (partial last value, warning); default 'error'. */
  truncated?: 'error' | 'keep';
}

const DEFAULT_THRESHOLD = 1 << 20;
const CHUNK = 1 << 20;

function encodingOf(ts: TransferSyntax): Encoding {
  return { explicitVR: ts.explicitVR, littleEndian: ts.littleEndian };
}

/** Parses a whole Part 10 file (or a bare data set) held in memory. Elements are views of `bytes`. */
export function parseBuffer(bytes: Uint8Array, options: Omit<ReadOptions, 'bulkDataThreshold'> = {}): DicomFile {
  const head = parseFileMeta(bytes, true);
  const ts = transferSyntax(head.transferSyntaxUid);
  const warnings: string[] = [];
  let body = bytes.subarray(head.dataSetOffset);
  let startOffset = head.dataSetOffset;
  if (ts.deflated) {
    try {
      body = zlib().inflateRawSync(body);
    } catch (cause) {
      if (!isCutDeflateStream(cause) || options.truncated !== 'keep') throw inflateError(cause, head.dataSetOffset, bytes.length);
      try {
        body = zlib().inflateRawSync(body, { finishFlush: zlib().constants.Z_SYNC_FLUSH });
      } catch (again) {
        throw inflateError(again, head.dataSetOffset, bytes.length);
      }
      warnings.push(`the deflated data set ends at offset ${bytes.length} before its deflate stream does; read what there is`);
    }
    startOffset = 0;
  }
  const enc = actualEncoding(ts, body, 0, warnings);
  const dataSet = parseDataSet(body, { ...enc, startOffset, untilTag: options.untilTag, truncated: options.truncated }, warnings);
  return { preamble: head.preamble, meta: head.meta, dataSet, transferSyntaxUid: head.transferSyntaxUid, warnings, dataSetOffset: head.dataSetOffset };
}

/** Reads a Part 10 file, leaving values above the threshold in the file (BulkData). */
export async function readFile(path: string, options: ReadOptions = {}): Promise<DicomFile> {
  const threshold = options.bulkDataThreshold ?? DEFAULT_THRESHOLD;
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (cause) {
    throw new DicomError('ERR_DICOM_IO', `cannot open ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    const stat = await fh.stat();
    if (!stat.isFile()) throw new DicomError('ERR_DICOM_IO', `${path} is not a file`);
    const size = stat.size;
    const handle = fh;
    const { head, headBytes } = await readFileMeta(size, (position, length) => readAt(handle, position, length));
    const ts = transferSyntax(head.transferSyntaxUid);
    if (ts.deflated) {
      await fh.close();
      fh = undefined;
      const { createReadStream } = await import('node:fs');
      const file = createReadStream(path, { start: head.dataSetOffset });
      const inflate = zlib().createInflateRaw();
      // pipe() does not pass on a read error; without this the parse would wait forever.
      file.on('error', (err) => inflate.destroy(err));
      let dataSet: DataSet;
      try {
        dataSet = await parseStream(file.pipe(inflate), ts, 0, options.untilTag);
      } catch (cause) {
        throw inflateError(cause, head.dataSetOffset, size);
      } finally {
        file.destroy();
      }
      return { preamble: head.preamble, meta: head.meta, dataSet, transferSyntaxUid: head.transferSyntaxUid, warnings: [], dataSetOffset: head.dataSetOffset };
    }
    const warnings: string[] = [];
    const enc = actualEncoding(ts, headBytes, head.dataSetOffset, warnings);
    const parser = new DataSetParser({ ...enc, bulkDataThreshold: threshold, startOffset: head.dataSetOffset, untilTag: options.untilTag, truncated: options.truncated });
    parser.feed(headBytes.subarray(head.dataSetOffset));
    if (parser.feedOffset >= size) parser.end();
    for (;;) {
      const step = parser.run();
      if (step.kind === 'done') break;
      if (step.kind === 'need') {
        const at = parser.feedOffset;
        const leftover = parser.takeUnconsumed();
        const want = Math.min(size - at, Math.max(CHUNK, step.bytes - leftover.length));
        const chunk = Buffer.allocUnsafe(leftover.length + want);
        chunk.set(leftover);
        const got = want > 0 ? await readInto(fh, chunk, leftover.length, at, want) : 0;
        parser.feed(chunk.subarray(0, leftover.length + got));
        if (parser.feedOffset >= size) parser.end();
        continue;
      }
      parser.takeBulkBytes();
      if (step.offset + step.length > size) {
        if (options.truncated === 'keep') {
          parser.attachBulk(new BulkData(path, step.offset, size - step.offset));
          warnings.push(`value of ${step.length} bytes at offset ${step.offset} cut short to ${size - step.offset}; the data set was closed there`);
          break;
        }
        throw new DicomError('ERR_DICOM_TRUNCATED', `value length ${step.length} exceeds the ${size - step.offset} bytes remaining`, { offset: step.offset, tag: step.tag });
      }
      parser.attachBulk(new BulkData(path, step.offset, step.length));
      if (parser.feedOffset >= size) parser.end();
    }
    warnings.push(...parser.warnings);
    return { preamble: head.preamble, meta: head.meta, dataSet: parser.root, transferSyntaxUid: head.transferSyntaxUid, warnings, dataSetOffset: head.dataSetOffset };
  } finally {
    await fh?.close();
  }
}

async function readInto(fh: import('node:fs/promises').FileHandle, out: Buffer, offset: number, position: number, length: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(out, offset + done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

async function readAt(fh: import('node:fs/promises').FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(out, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? out : out.subarray(0, done);
}

/** Parses a data set from a stream of bytes (values are kept in memory). */
export async function parseStream(source: AsyncIterable<Uint8Array> | Readable, ts: TransferSyntax, startOffset = 0, untilTag?: number): Promise<DataSet> {
  const parser = new DataSetParser({ ...encodingOf(ts), startOffset, untilTag });
  const it = (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  try {
    for (;;) {
      const step = parser.run();
      if (step.kind === 'done') break;
      if (step.kind === 'need') {
        // Gather chunks until the wanted bytes are there, then feed them at once: feeding a large
        // value chunk by chunk would copy the growing window each time.
        const pending: Uint8Array[] = [];
        let have = parser.feedOffset - parser.offset;
        let ended = false;
        do {
          const r = await it.next();
          if (r.done) {
            ended = true;
            break;
          }
          pending.push(r.value);
          have += r.value.length;
        } while (have < step.bytes);
        if (pending.length) parser.feed(concat(pending));
        if (ended) parser.end();
        continue;
      }
      throw new Error('unreachable: no bulk threshold in stream parsing');
    }
  } finally {
    // also on a parse error: stops the source (and closes its file)
    await it.return?.();
  }
  return parser.root;
}

/** zlib's "unexpected end of file": the deflate stream is cut off. */
function isCutDeflateStream(cause: unknown): boolean {
  return (cause as { code?: unknown } | null)?.code === 'Z_BUF_ERROR';
}

/** A zlib error while inflating a Deflated Explicit VR Little Endian data set (PS3.5 A.5), as a DicomError. */
function inflateError(cause: unknown, dataSetOffset: number, end: number): DicomError {
  if (cause instanceof DicomError) return cause;
  if (isCutDeflateStream(cause)) {
    return new DicomError('ERR_DICOM_TRUNCATED', 'the deflated data set ends before its deflate stream does', { offset: end, cause });
  }
  return new DicomError('ERR_DICOM_BAD_VALUE', `deflated data set does not inflate: ${(cause as Error)?.message ?? String(cause)}`, { offset: dataSetOffset, cause });
}

/** Reads a Part 10 file from a stream (e.g. stdin or an HTTP body); values are kept in memory. */
export async function readStream(source: AsyncIterable<Uint8Array> | Readable): Promise<DicomFile> {
  const chunks: Uint8Array[] = [];
  for await (const c of source) chunks.push(c as Uint8Array);
  return parseBuffer(concat(chunks));
}

export interface WriteOptions {
  /** Transfer syntax to write (an uncompressed one, or the file's own). Default: the file's. */
  transferSyntaxUid?: string;
}

/**
 * The File Meta Information to write: the file's own (so rewriting in the same transfer syntax is
 * byte-identical), with the Transfer Syntax UID updated and, when the data set is re-encoded in
 * another transfer syntax, Conduit named as the implementation that wrote it (PS3.10 §7.1).
 */
function metaFor(file: DicomFile, tsUid: string): DataSet {
  const sopClass = file.meta.string(0x00020002) ?? file.dataSet.string(0x00080016) ?? '';
  const sopInstance = file.meta.string(0x00020003) ?? file.dataSet.string(0x00080018) ?? '';
  if (file.meta.size === 0) return buildFileMeta({ sopClassUid: sopClass, sopInstanceUid: sopInstance, transferSyntaxUid: tsUid });
  const meta = new DataSet();
  for (const e of file.meta) meta.add(e);
  if (!meta.has(0x00020000)) meta.set(0x00020000, 'UL', 0);
  if (!meta.has(0x00020001)) meta.set(0x00020001, 'OB', new Uint8Array([0, 1]));
  if (!meta.has(0x00020002)) meta.set(0x00020002, 'UI', sopClass);
  if (!meta.has(0x00020003)) meta.set(0x00020003, 'UI', sopInstance);
  if (meta.string(0x00020010) !== tsUid) {
    meta.set(0x00020010, 'UI', tsUid);
    meta.set(0x00020012, 'UI', IMPLEMENTATION_CLASS_UID);
    meta.set(0x00020013, 'SH', IMPLEMENTATION_VERSION_NAME);
  }
  if (!meta.has(0x00020012)) meta.set(0x00020012, 'UI', IMPLEMENTATION_CLASS_UID);
  return meta;
}

function checkTarget(file: DicomFile, tsUid: string): TransferSyntax {
  const target = transferSyntax(tsUid);
  const source = transferSyntax(file.transferSyntaxUid);
  if (tsUid !== file.transferSyntaxUid && (target.encapsulated || source.encapsulated)) {
    throw new DicomError('ERR_DICOM_UNSUPPORTED_TRANSFER_SYNTAX', `cannot transcode from ${file.transferSyntaxUid} to ${tsUid}: only among uncompressed transfer syntaxes`);
  }
  return target;
}

/**
 * The data set without group 0002 elements, which belong to the File Meta Information only
 * (PS3.10 §7.1). A damaged file can have them in its data set; written there, they would be read
 * back as part of the meta.
 */
function withoutMetaGroup(ds: DataSet): DataSet {
  const elements = ds.elements();
  if (!elements.some((e) => e.tag >>> 16 === 0x0002)) return ds;
  const out = new DataSet({ littleEndian: ds.littleEndian });
  for (const e of elements) if (e.tag >>> 16 !== 0x0002) out.add(e);
  return out;
}

function preambleAndMeta(file: DicomFile, tsUid: string): Uint8Array {
  const preamble = file.preamble ?? new Uint8Array(PREAMBLE_LENGTH);
  const meta = encodeDataSet(metaFor(file, tsUid), { explicitVR: true, littleEndian: true }, { recalculateGroupLengths: true });
  return concat([preamble, new Uint8Array([0x44, 0x49, 0x43, 0x4d]), meta]);
}

/** Streams a Part 10 file's bytes. */
export async function* encodeFileStream(file: DicomFile, options: WriteOptions = {}): AsyncGenerator<Uint8Array> {
  const tsUid = options.transferSyntaxUid ?? file.transferSyntaxUid;
  const ts = checkTarget(file, tsUid);
  yield preambleAndMeta(file, tsUid);
  if (ts.deflated) {
    // Deflate the whole data set as one raw deflate stream (PS3.5 A.5).
    const deflate = zlib().createDeflateRaw();
    const source = encodeDataSetStream(withoutMetaGroup(file.dataSet), encodingOf(ts), { recalculateGroupLengths: reencoded(file, ts) });
    const pump = (async () => {
      for await (const c of source) if (!deflate.write(c)) await new Promise((r) => deflate.once('drain', r));
      deflate.end();
    })();
    for await (const c of deflate) yield c as Uint8Array;
    await pump;
    return;
  }
  yield* encodeDataSetStream(withoutMetaGroup(file.dataSet), encodingOf(ts), { recalculateGroupLengths: reencoded(file, ts) });
}

/** Whether writing in `ts` changes the encoding the data set was read in (then group lengths change). */
function reencoded(file: DicomFile, ts: TransferSyntax): boolean {
  const from = transferSyntax(file.transferSyntaxUid);
  return from.explicitVR !== ts.explicitVR;
}

/** Encodes a Part 10 file in memory (bulk values are read synchronously). */
export function encodeFile(file: DicomFile, options: WriteOptions = {}): Uint8Array {
  const tsUid = options.transferSyntaxUid ?? file.transferSyntaxUid;
  const ts = checkTarget(file, tsUid);
  let body = encodeDataSet(withoutMetaGroup(file.dataSet), encodingOf(ts), { recalculateGroupLengths: reencoded(file, ts) });
  if (ts.deflated) body = zlib().deflateRawSync(body);
  return concat([preambleAndMeta(file, tsUid), body]);
}

/** Writes a Part 10 file, streaming bulk values from where they lie. */
export async function writeFile(path: string, file: DicomFile, options: WriteOptions = {}): Promise<void> {
  const { Readable } = await import('node:stream');
  await pipeline(Readable.from(encodeFileStream(file, options)), createWriteStream(path));
}

export { EXPLICIT_VR_LITTLE_ENDIAN };
