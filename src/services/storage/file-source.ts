/**
 * Storage SCU side: what a file offers for sending, read from its header only, and its data set
 * bytes as a stream: straight from the file when the peer accepted the file's own transfer syntax,
 * or re-encoded among the uncompressed ones otherwise (the data set is then parsed with bulk
 * values left in the file, so memory stays bounded).
 */
import fs, { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { DicomError } from '../../core/dicom-error.js';
import { transferSyntax } from '../../data/transfer-syntax.js';
import type { WholeDataSetSource } from '../../dimse/fragmenter.js';
import { encodeDataSetStream } from '../../data/writer.js';
import { parseDataSet } from '../../data/reader/data-set-parser.js';
import { detectEncodingMismatch, parseFileMeta } from '../../media/file-meta.js';
import { readFile } from '../../media/part10.js';
import { closeFd, openFd, readFd } from '../../storage/filesystem/file-descriptors.js';

export interface SendableFile {
  path: string;
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** Offset of the data set in the file. */
  dataSetOffset: number;
  size: number;
}

/** Reads the header of a Part 10 file (stops before the data set's large values). */
export async function describeFile(path: string): Promise<SendableFile> {
  const file = await readFile(path, { untilTag: 0x00080019, bulkDataThreshold: 4096 });
  // The C-STORE names the instance the data set holds (PS3.4 B.2.1): the data set's SOP Class and
  // Instance UIDs win over the File Meta Information's copies, which some files get wrong.
  const sopClassUid = file.dataSet.string(0x00080016) || file.meta.string(0x00020002);
  const sopInstanceUid = file.dataSet.string(0x00080018) || file.meta.string(0x00020003);
  if (!sopClassUid || !sopInstanceUid) {
    throw new DicomError('ERR_DICOM_BAD_FILE_META', `${path} has no SOP Class UID or SOP Instance UID`);
  }
  const size = (await stat(path)).size;
  const dataSetOffset = file.dataSetOffset;
  if (dataSetOffset === undefined) {
    throw new DicomError('ERR_DICOM_BAD_FILE_META', `cannot locate the data set in ${path}`);
  }
  return { path, sopClassUid, sopInstanceUid, transferSyntaxUid: file.transferSyntaxUid, dataSetOffset, size };
}

/** Bytes describeFileFromHead reads: the File Meta Information and the data set's first elements, as a rule. */
export const DESCRIBE_HEAD_LENGTH = 16 * 1024;

/**
 * describeFile for a process that describes many files before it sends them (the `conduit store`
 * CLI, like storescu's scan): open, one read of the first `scratch.length` bytes into `scratch`
 * (reused from file to file), close, on the main thread, the SOP Class and Instance UIDs parsed
 * from those bytes. A file whose UIDs are not within them (long File Meta Information or first
 * elements, deflated) or that cannot be read this way goes through describeFile, which also gives
 * the errors.
 */
export async function describeFileFromHead(path: string, scratch: Uint8Array): Promise<SendableFile> {
  return describeHead(path, scratch) ?? describeFile(path);
}

function describeHead(path: string, scratch: Uint8Array): SendableFile | undefined {
  let head: Uint8Array;
  let size: number;
  try {
    const fd = fs.openSync(path, 'r');
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) return undefined;
      size = st.size;
      head = scratch.subarray(0, fs.readSync(fd, scratch, 0, Math.min(size, scratch.length), 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  try {
    const complete = head.length >= size;
    const meta = parseFileMeta(head, complete);
    const ts = transferSyntax(meta.transferSyntaxUid);
    if (ts.deflated || meta.dataSetOffset >= head.length) return undefined;
    // A declared encoding that the data set contradicts is read leniently by describeFile.
    if (detectEncodingMismatch(head, meta.dataSetOffset, ts.explicitVR) !== undefined) return undefined;
    // Elements cut off at the end of `head` throw ERR_DICOM_TRUNCATED (then describeFile reads on);
    // a value is never taken from a partial element.
    const dataSet = parseDataSet(head.subarray(meta.dataSetOffset), {
      explicitVR: ts.explicitVR, littleEndian: ts.littleEndian, startOffset: meta.dataSetOffset, untilTag: 0x00080019,
    }, []);
    const sopClassUid = dataSet.string(0x00080016) || meta.meta.string(0x00020002);
    const sopInstanceUid = dataSet.string(0x00080018) || meta.meta.string(0x00020003);
    // Where `head` ends between elements before (0008,0019), an absent UID may lie beyond it.
    if (!complete && !(dataSet.has(0x00080016) && dataSet.has(0x00080018))) return undefined;
    if (!sopClassUid || !sopInstanceUid) return undefined;
    return { path, sopClassUid, sopInstanceUid, transferSyntaxUid: meta.transferSyntaxUid, dataSetOffset: meta.dataSetOffset, size };
  } catch {
    return undefined;
  }
}

/**
 * A few read buffers reused from file to file, so that sending does not allocate a new buffer per
 * read (which, at hundreds of megabytes per second, keeps V8's garbage collector busy and the peak
 * memory high). Buffers are handed out in turn; one is refilled only once the buffer handed out
 * after it has been taken too (the consumer is then done with it: see FragmentHooks.beforePull in
 * dimse/fragmenter.ts) and `reusable()` resolves (the bytes written from it have left the process,
 * e.g. Association.flushed).
 */
export class ReadBufferRing {
  private readonly buffers: Uint8Array[] = [];
  private next = 0;
  /** A data set being read ahead (readAhead), until readIntoRing takes or discards it. */
  private ahead: { file: SendableFile; bytes: Promise<Uint8Array | undefined> } | undefined;

  constructor(
    private readonly reusable: () => Promise<void>,
    /** Bytes per buffer: one read system call each. */
    readonly size = DEFAULT_READ_BUFFER_SIZE,
    /** At least 2. */
    readonly count = 2,
    /**
     * Open, read and close on the main thread (blocking it for the read) instead of a round trip
     * to libuv's thread pool for each: for a process that only sends (the `conduit store` CLI,
     * like storescu), where each of those hops delays the next C-STORE, most on a busy machine.
     */
    readonly synchronous = false,
  ) {
    if (count < 2) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'a read buffer ring needs at least 2 buffers');
  }

  /** The next buffer to fill, once it may be overwritten. */
  async acquire(): Promise<Uint8Array> {
    const i = this.next;
    this.next = (i + 1) % this.count;
    let buf = this.buffers[i];
    if (buf === undefined) {
      // Allocated on first use: a client that only echoes never pays for them.
      buf = new Uint8Array(this.size);
      this.buffers[i] = buf;
    } else {
      await this.reusable();
    }
    return buf;
  }

  /**
   * Reads `file`'s data set now, into the next buffer, for a dataSetBytes(file, ...) to come (the
   * next message). Only a data set that fits in one buffer is read ahead; at most one at a time.
   * The caller must be done pulling chunks of the message before (as after a message's last chunk,
   * or once whole() gave its bytes and they are written in the same turn of the event loop: the
   * buffer taken is then the one before it, whose bytes were flushed before it was refilled).
   */
  readAhead(file: SendableFile): void {
    if (this.ahead !== undefined || file.size - file.dataSetOffset >= this.size) return;
    // After the current turn of the event loop: the message's last PDUs go out first, so the read
    // overlaps the peer's work on it instead of delaying it.
    const bytes = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.readWhole(file));
    this.ahead = { file, bytes };
  }

  /** The data set read ahead for `file`, or undefined (none, another file's: discarded, or unreadable then). */
  async takeAhead(file: SendableFile): Promise<Uint8Array | undefined> {
    const ahead = this.ahead;
    if (ahead === undefined) return undefined;
    this.ahead = undefined;
    const bytes = await ahead.bytes;
    return ahead.file === file ? bytes : undefined;
  }

  /**
   * `file`'s whole data set in one buffer of the ring: the one read ahead for it, else read now.
   * Undefined when it does not fit in a buffer or cannot be read this way (stream it then, which
   * reads it again and reports the errors).
   */
  async whole(file: SendableFile): Promise<Uint8Array | undefined> {
    const ahead = await this.takeAhead(file);
    if (ahead !== undefined) return ahead;
    if (file.size - file.dataSetOffset >= this.size) return undefined;
    return this.readWhole(file);
  }

  /** The whole data set in one buffer; undefined when it does not fit (any more) or cannot be read: read again then, errors included. */
  private async readWhole(file: SendableFile): Promise<Uint8Array | undefined> {
    try {
      const buf = await this.acquire();
      let bytesRead: number;
      if (this.synchronous) {
        const fd = fs.openSync(file.path, 'r');
        try {
          bytesRead = fs.readSync(fd, buf, 0, buf.length, file.dataSetOffset);
        } finally {
          fs.closeSync(fd);
        }
      } else {
        const fd = await openFd(file.path, 'r');
        try {
          bytesRead = await readFd(fd, buf, file.dataSetOffset);
        } finally {
          void closeFd(fd).catch(() => undefined);
        }
      }
      // A short read is the end of a regular file; a full buffer means the file grew: read it again.
      return bytesRead < buf.length ? buf.subarray(0, bytesRead) : undefined;
    } catch {
      return undefined;
    }
  }
}

/** 1 MiB: a typical CT or MR image in one read. */
export const DEFAULT_READ_BUFFER_SIZE = 1 << 20;

/**
 * The data set bytes to send in `transferSyntaxUid`. Same syntax: the file's bytes as they are
 * (read into `buffers` when given, which the consumer must honour: see ReadBufferRing).
 * Otherwise the data set is re-encoded (uncompressed syntaxes only).
 */
export async function* dataSetBytes(file: SendableFile, transferSyntaxUid: string, buffers?: ReadBufferRing): AsyncGenerator<Uint8Array> {
  if (transferSyntaxUid === file.transferSyntaxUid) {
    let length = 0;
    if (buffers !== undefined) {
      length = yield* readIntoRing(file, buffers);
    } else {
      // A read buffer no larger than the data set: a 1 MiB buffer per 500 KB file is garbage the GC must chase.
      const highWaterMark = Math.max(64 * 1024, Math.min(1 << 20, file.size - file.dataSetOffset));
      yield* createReadStream(file.path, { start: file.dataSetOffset, highWaterMark }) as AsyncIterable<Uint8Array>;
      length = file.size - file.dataSetOffset;
    }
    if (needsDeflatePad(file, length)) yield new Uint8Array(1);
    return;
  }
  const source = transferSyntax(file.transferSyntaxUid);
  const target = transferSyntax(transferSyntaxUid);
  if (source.encapsulated || target.encapsulated || target.deflated) {
    throw new DicomError('ERR_DICOM_UNSUPPORTED_TRANSFER_SYNTAX', `cannot send ${file.path} (${file.transferSyntaxUid}) as ${transferSyntaxUid}`);
  }
  const full = await readFile(file.path, { bulkDataThreshold: 64 * 1024 });
  yield* encodeDataSetStream(full.dataSet, { explicitVR: target.explicitVR, littleEndian: target.littleEndian }, { recalculateGroupLengths: source.explicitVR !== target.explicitVR });
}

/**
 * Some files hold a deflate stream of odd length, but a data set sent must have an even one
 * (PS3.8 Annex E; see the fragmenter). One NUL byte after the stream's final block, which an
 * inflater ignores, evens it (pydicom and DCMTK pad so when they deflate).
 */
function needsDeflatePad(file: SendableFile, length: number): boolean {
  return length % 2 === 1 && transferSyntax(file.transferSyntaxUid).deflated;
}

/**
 * The data set of `file` in `transferSyntaxUid` as a source to send (DimseAssociation.send):
 * whole, read into one of `ring`'s buffers, when it goes unchanged and fits in one (the message
 * then goes out in one write); else streamed as dataSetBytes gives it. `then` runs once the bytes
 * have been taken (whole, or past the last chunk), e.g. to read the next file ahead
 * (ReadBufferRing.readAhead) while the response is awaited.
 */
export function fileDataSet(file: SendableFile, transferSyntaxUid: string, ring: ReadBufferRing, then?: () => void): WholeDataSetSource {
  return {
    async whole() {
      if (transferSyntaxUid !== file.transferSyntaxUid) return undefined;
      let bytes = await ring.whole(file);
      if (bytes === undefined) return undefined;
      if (needsDeflatePad(file, bytes.length)) {
        // The buffer has room for the pad (the read was short).
        bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length + 1);
        bytes[bytes.length - 1] = 0;
      }
      then?.();
      return bytes;
    },
    async *[Symbol.asyncIterator]() {
      yield* dataSetBytes(file, transferSyntaxUid, ring);
      then?.();
    },
  };
}

/** Reads the data set to the end of the file (as it is now) through `ring`; returns the bytes read. */
async function* readIntoRing(file: SendableFile, ring: ReadBufferRing): AsyncGenerator<Uint8Array, number> {
  // Taken (or discarded) before any buffer is acquired, so that the ring's turn stays in order.
  const ahead = await ring.takeAhead(file);
  if (ahead !== undefined) {
    yield ahead;
    return ahead.length;
  }
  if (ring.synchronous) return yield* readIntoRingSync(file, ring);
  const fd = await openFd(file.path, 'r');
  let open = true;
  const close = (): Promise<void> => {
    open = false;
    return closeFd(fd).catch(() => undefined);
  };
  let position = file.dataSetOffset;
  try {
    for (;;) {
      const buf = await ring.acquire();
      const bytesRead = await readFd(fd, buf, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      // A regular file reads short only at its end: no read is spent to learn it, and the close
      // (of a file only read: nothing to report) is not waited for before the last chunk goes.
      const last = bytesRead < buf.length;
      if (last) void close();
      yield buf.subarray(0, bytesRead);
      if (last) break;
    }
  } finally {
    if (open) await close();
  }
  return position - file.dataSetOffset;
}

async function* readIntoRingSync(file: SendableFile, ring: ReadBufferRing): AsyncGenerator<Uint8Array, number> {
  const fd = fs.openSync(file.path, 'r');
  let open = true;
  let position = file.dataSetOffset;
  try {
    for (;;) {
      const buf = await ring.acquire();
      const bytesRead = fs.readSync(fd, buf, 0, buf.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const last = bytesRead < buf.length;
      if (last) {
        open = false;
        fs.closeSync(fd);
      }
      yield buf.subarray(0, bytesRead);
      if (last) break;
    }
  } finally {
    if (open) fs.closeSync(fd);
  }
  return position - file.dataSetOffset;
}
