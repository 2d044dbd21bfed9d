/**
 * Reads a stored Part 10 object back through a BlobReader (random access), as media/part10.ts
 * readFile does with a path: values longer than the threshold are skipped, not read (they become
 * BulkData ranges of the blob), so indexing a 2 GB multiframe reads only its header and the small
 * elements around the pixel data. Works for any BlobStore, local or remote.
 */
import { createInflateRaw } from 'node:zlib';
import { Readable } from 'node:stream';
import { DicomError } from '../core/dicom-error.js';
import { BulkData } from '../data/bulk-data.js';
import { DataSetParser } from '../data/reader/data-set-parser.js';
import { transferSyntax } from '../data/transfer-syntax.js';
import { actualEncoding, readFileMeta } from '../media/file-meta.js';
import { parseStream, type DicomFile } from '../media/part10.js';
import type { BlobReader } from './ports.js';

const CHUNK = 1 << 20;

/** The object in `reader`, large values left in the blob (BulkData on reader.path, or "blob:<key>"). */
export async function readStoredObject(reader: BlobReader, options: { bulkDataThreshold: number }): Promise<DicomFile> {
  const size = reader.size;
  const { head, headBytes } = await readFileMeta(size, (position, length) => reader.read(position, length));
  const ts = transferSyntax(head.transferSyntaxUid);
  const warnings: string[] = [];
  if (ts.deflated) {
    // A deflated data set cannot be skipped through; it is inflated and held (such objects are small).
    const inflate = createInflateRaw();
    const source = Readable.from(chunks(reader, head.dataSetOffset));
    source.on('error', (err) => inflate.destroy(err));
    const dataSet = await parseStream(source.pipe(inflate), ts, 0);
    return { preamble: head.preamble, meta: head.meta, dataSet, transferSyntaxUid: head.transferSyntaxUid, warnings, dataSetOffset: head.dataSetOffset };
  }
  const enc = actualEncoding(ts, headBytes, head.dataSetOffset, warnings);
  const bulkPath = reader.path ?? `blob:${reader.key}`;
  const parser = new DataSetParser({ explicitVR: enc.explicitVR, littleEndian: enc.littleEndian, bulkDataThreshold: options.bulkDataThreshold, startOffset: head.dataSetOffset });
  parser.feed(headBytes.subarray(head.dataSetOffset));
  if (parser.feedOffset >= size) parser.end();
  for (;;) {
    const step = parser.run();
    if (step.kind === 'done') break;
    if (step.kind === 'need') {
      const at = parser.feedOffset;
      const want = Math.min(size - at, Math.max(CHUNK, step.bytes));
      const chunk = want > 0 ? await reader.read(at, want) : new Uint8Array(0);
      parser.feed(chunk);
      if (parser.feedOffset >= size || chunk.length < want) parser.end();
      continue;
    }
    parser.takeBulkBytes();
    if (step.offset + step.length > size) {
      throw new DicomError('ERR_DICOM_TRUNCATED', `value length ${step.length} exceeds the ${size - step.offset} bytes remaining`, { offset: step.offset, tag: step.tag });
    }
    parser.attachBulk(new BulkData(bulkPath, step.offset, step.length));
    if (parser.feedOffset >= size) parser.end();
  }
  warnings.push(...parser.warnings);
  return { preamble: head.preamble, meta: head.meta, dataSet: parser.root, transferSyntaxUid: head.transferSyntaxUid, warnings, dataSetOffset: head.dataSetOffset };
}

async function* chunks(reader: BlobReader, from: number): AsyncGenerator<Uint8Array> {
  for (let at = from; at < reader.size; at += CHUNK) yield await reader.read(at, CHUNK);
}
