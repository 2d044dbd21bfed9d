/**
 * Parses an object for the index while its chunks pass on their way to the blob store, instead of
 * after its last byte: the File Meta Information, then the data set, values longer than the
 * threshold skipped as they stream by (they become BulkData ranges of the blob, "blob:<key>", as
 * readStoredObject gives them). For a CT of 526 KB the header is parsed while the pixel data is
 * still arriving, and `pixelDataReached` tells the archive it may build the index record then
 * (archive-store.ts), so that after the last byte only the commit and the flushes are left.
 *
 * The result is the one readStoredObject (stored-object.ts) gives for the same bytes. A deflated
 * data set (it cannot be skipped through) is not parsed here: `result()` is then undefined and the
 * caller parses the stored object as before. A parse error is kept and thrown by `result()`, once
 * the object has been received, so the store fails where it did before.
 */
import { DicomError } from '../core/dicom-error.js';
import { BulkData } from '../data/bulk-data.js';
import { DataSetParser } from '../data/reader/data-set-parser.js';
import { transferSyntax } from '../data/transfer-syntax.js';
import { actualEncoding, parseFileMeta, type FileMetaParse } from '../media/file-meta.js';
import type { DicomFile } from '../media/part10.js';

const PIXEL_DATA = 0x7fe00010;
const HEAD = 64 * 1024;

export class ParseAsReceived {
  /** Chunks of the start of the object, until its File Meta Information has been parsed. */
  private head: Uint8Array[] | undefined = [];
  private headLength = 0;
  private meta: FileMetaParse | undefined;
  private parser: DataSetParser | undefined;
  /** Bytes of a skipped value still to come. */
  private skip = 0;
  private lastBulk: { tag: number; offset: number; length: number } | undefined;
  private received = 0;
  private ended = false;
  private finished = false;
  private failure: { error: unknown } | undefined;
  private readonly warnings: string[] = [];
  /** Not parsed here (a deflated data set): the caller parses the stored object. */
  declined = false;
  /**
   * The data set's top-level native Pixel Data has been met (and skipped): every attribute before it
   * is parsed. Elements after it are rare; `elementsAfterPixelData` tells whether any came.
   */
  pixelDataReached = false;
  private sizeAtPixelData = 0;

  constructor(private readonly key: string, private readonly bulkDataThreshold: number) {}

  /** The data set is being parsed here (its File Meta Information was, and it is not deflated). */
  get parsing(): boolean {
    return this.parser !== undefined;
  }

  /** The next chunk of the object (kept only while the File Meta Information is incomplete). */
  push(chunk: Uint8Array): void {
    this.received += chunk.length;
    if (this.failure || this.declined || this.finished || chunk.length === 0) return;
    try {
      if (this.parser) this.feed(chunk);
      else this.headChunk(chunk);
    } catch (error) {
      this.failure = { error };
    }
  }

  /** The object has been received whole. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.failure || this.declined || this.finished) return;
    try {
      if (!this.parser) this.startDataSet(true);
      if (this.declined || this.finished) return;
      const parser = this.parser!;
      if (this.skip > 0) {
        const b = this.lastBulk!;
        throw new DicomError('ERR_DICOM_TRUNCATED', `value length ${b.length} exceeds the ${b.length - this.skip} bytes remaining`, { offset: b.offset, tag: b.tag });
      }
      parser.end();
      this.run();
    } catch (error) {
      this.failure = { error };
    }
  }

  /** Elements came after the top-level Pixel Data (a record built at `pixelDataReached` is stale). */
  get elementsAfterPixelData(): boolean {
    return this.parser !== undefined && this.parser.root.size !== this.sizeAtPixelData;
  }

  /** Once the File Meta Information is parsed: the data set as parsed so far, and where it starts. */
  partial(): { dataSet: DicomFile['dataSet']; dataSetOffset: number; transferSyntaxUid: string } {
    if (!this.parser) throw new Error('ParseAsReceived.partial() before the data set started');
    return { dataSet: this.parser.root, dataSetOffset: this.meta!.dataSetOffset, transferSyntaxUid: this.meta!.transferSyntaxUid };
  }

  /**
   * After end(): the parsed object, or undefined when declined; throws what the parse met.
   * `size` of the object is what was received.
   */
  result(): DicomFile | undefined {
    if (!this.ended) throw new Error('ParseAsReceived.result() before end()');
    if (this.failure) throw this.failure.error;
    if (this.declined || !this.finished) return undefined;
    const m = this.meta!;
    return {
      preamble: m.preamble, meta: m.meta, dataSet: this.parser!.root, transferSyntaxUid: m.transferSyntaxUid,
      warnings: [...this.warnings, ...this.parser!.warnings], dataSetOffset: m.dataSetOffset,
    };
  }

  get size(): number {
    return this.received;
  }

  private headChunk(chunk: Uint8Array): void {
    this.head!.push(chunk);
    this.headLength += chunk.length;
    // What readFileMeta looks at first (64 KiB, or the whole object), so both decide alike: whether
    // there is a preamble, the transfer syntax when guessed.
    if (this.headLength >= HEAD) this.startDataSet(false);
  }

  /** Parses the File Meta Information once the head holds it, then feeds the rest to the data set parser. */
  private startDataSet(complete: boolean): void {
    const chunks = this.head!;
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.headLength);
    let meta: FileMetaParse;
    try {
      meta = parseFileMeta(bytes, complete);
    } catch (error) {
      if (!complete && error instanceof DicomError && error.code === 'ERR_DICOM_TRUNCATED') {
        // More is needed (readFileMeta reads 4 times as much); the head kept as one chunk.
        this.head = [bytes];
        return;
      }
      throw error;
    }
    // The data set's first element tells its real encoding; wait for it (readStoredObject's check).
    if (!complete && bytes.length < meta.dataSetOffset + 8) {
      this.head = [bytes];
      return;
    }
    this.head = undefined;
    this.meta = meta;
    const ts = transferSyntax(meta.transferSyntaxUid);
    if (ts.deflated) {
      this.declined = true;
      return;
    }
    const enc = actualEncoding(ts, bytes, meta.dataSetOffset, this.warnings);
    this.parser = new DataSetParser({ explicitVR: enc.explicitVR, littleEndian: enc.littleEndian, bulkDataThreshold: this.bulkDataThreshold, startOffset: meta.dataSetOffset });
    this.feed(bytes.subarray(meta.dataSetOffset));
  }

  private feed(chunk: Uint8Array): void {
    let bytes = chunk;
    while (bytes.length > 0 && !this.finished) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, bytes.length);
        this.skip -= n;
        bytes = bytes.subarray(n);
        continue;
      }
      this.parser!.feed(bytes);
      bytes = bytes.subarray(bytes.length);
      this.run();
    }
  }

  private run(): void {
    const parser = this.parser!;
    for (;;) {
      const step = parser.run();
      if (step.kind === 'done') {
        this.finished = true;
        return;
      }
      if (step.kind === 'need') return;
      const { missing } = parser.takeBulkBytes();
      parser.attachBulk(new BulkData(`blob:${this.key}`, step.offset, step.length));
      if (step.tag === PIXEL_DATA && parser.root.get(PIXEL_DATA)?.bulk) {
        this.pixelDataReached = true;
        this.sizeAtPixelData = parser.root.size;
      }
      if (missing > 0) {
        this.skip = missing;
        this.lastBulk = { tag: step.tag, offset: step.offset, length: step.length };
        return;
      }
    }
  }
}
