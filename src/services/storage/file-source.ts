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
import { UNDEFINED_LENGTH } from '../../data/tag.js';
import { hasLongExplicitHeader, VRS } from '../../data/vr.js';
import type { WholeDataSetSource } from '../../dimse/fragmenter.js';
import { laidOutCapacity, LaidOutDataSet, SlotBuffer, type DataSetLayout } from '../../dimse/laid-out.js';
import { encodeDataSetStream } from '../../data/writer.js';
import { detectEncodingMismatch, PREAMBLE_LENGTH } from '../../media/file-meta.js';
import { readFile } from '../../media/part10.js';
import { closeFd, openFd, readFd, readvFd } from '../../storage/filesystem/file-descriptors.js';

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

/** Bytes describeFileFromHead reads at most: the File Meta Information and the data set's first elements, as a rule. */
export const DESCRIBE_HEAD_LENGTH = 16 * 1024;
/**
 * Bytes read first: a typical image's UIDs lie within its first kilobyte; the rest of the head is
 * read only when the scan needs it (each byte read is a copy out of the page cache).
 */
const FIRST_HEAD_READ = 4096;

/**
 * describeFile for a process that describes many files before it sends them (the `conduit store`
 * CLI, like storescu's scan): open, one read of the first `scratch.length` bytes into `scratch`
 * (reused from file to file), close, on the main thread, the SOP Class and Instance UIDs parsed
 * from those bytes. A file whose UIDs are not within them (long File Meta Information or first
 * elements, deflated) or that cannot be read this way goes through describeFile, which also gives
 * the errors.
 */
export async function describeFileFromHead(path: string, scratch: Uint8Array): Promise<SendableFile> {
  return describeFileFromHeadSync(path, scratch) ?? describeFile(path);
}

/**
 * describeFileFromHead's synchronous part: the description, or undefined when the file needs
 * describeFile (the UIDs not within `scratch.length` bytes, an unusual encoding, a read error).
 * `size`: the file's size when the caller has just stat'ed it (one fstat less); a path that is not
 * a regular file any more then fails to read and gives undefined.
 */
export function describeFileFromHeadSync(path: string, scratch: Uint8Array, size?: number): SendableFile | undefined {
  let found: Omit<SendableFile, 'path' | 'size'> | undefined;
  try {
    const fd = fs.openSync(path, 'r');
    try {
      if (size === undefined) {
        const st = fs.fstatSync(fd);
        if (!st.isFile()) return undefined;
        size = st.size;
      }
      const want = Math.min(size, scratch.length);
      let got = fs.readSync(fd, scratch, 0, Math.min(want, FIRST_HEAD_READ), 0);
      found = scanHead(scratch.subarray(0, got), got >= size);
      if (found === undefined && got < want && got === FIRST_HEAD_READ) {
        got += fs.readSync(fd, scratch, got, want - got, got);
        found = scanHead(scratch.subarray(0, got), got >= size);
      }
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  if (found === undefined) return undefined;
  return sendableFile(path, found, size);
}

/** A file described by its head's scan: every key written out, in one order (one hidden class, not a spread). */
function sendableFile(path: string, found: Omit<SendableFile, 'path' | 'size'>, size: number): SendableFile {
  return { path, sopClassUid: found.sopClassUid, sopInstanceUid: found.sopInstanceUid, transferSyntaxUid: found.transferSyntaxUid, dataSetOffset: found.dataSetOffset, size };
}

/** A file described from its bytes read whole, with its data set's bytes (readAndDescribeSync). */
export interface ReadFile {
  file: SendableFile;
  /** The data set's bytes, in the buffer the file was read into. */
  dataSet: Uint8Array;
}

/**
 * describeFileFromHeadSync for a file read whole into `buffer` from its first byte: one open and
 * one read give both the description and the data set's bytes (`conduit store` reading the next
 * file while a response is awaited). Undefined when the file does not fit in the buffer, cannot be
 * read, or its head needs describeFile: describe it the usual way then.
 */
export function readAndDescribeSync(path: string, buffer: Uint8Array): ReadFile | undefined {
  let got: number;
  try {
    const fd = fs.openSync(path, 'r');
    try {
      got = fs.readSync(fd, buffer, 0, buffer.length, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  // A full buffer: larger than it (or growing).
  if (got >= buffer.length) return undefined;
  const found = scanHead(buffer.subarray(0, got), true);
  if (found === undefined) return undefined;
  const file = sendableFile(path, found, got);
  return { file, dataSet: buffer.subarray(found.dataSetOffset, got) };
}

/**
 * readAndDescribeSync into a buffer cut into slots (SlotBuffer): the file read whole from its
 * first byte with one readv, the first slot 128 bytes longer than the others (a data set starts
 * after the 128-byte preamble, at the least, so its first fragment is no longer than the others),
 * and the data set laid out where the slots put it (dimse/laid-out.ts): its message goes out in
 * one write. Undefined as for readAndDescribeSync, and when the slots would cut the data set into
 * odd fragments (an odd File Meta Information length): describe it the usual way then.
 */
export function readAndDescribeIntoSlotsSync(path: string, slots: SlotBuffer): { file: SendableFile; dataSet: LaidOutDataSet } | undefined {
  const first = slots.layout.fragmentLength + PREAMBLE_LENGTH;
  const views = slots.slots(first);
  let got: number;
  try {
    const fd = fs.openSync(path, 'r');
    try {
      got = fs.readvSync(fd, views, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const head = views[0]!;
  const found = scanHead(head.subarray(0, Math.min(got, head.length)), got < head.length);
  if (found === undefined) return undefined;
  const dataSet = slots.laidOut(first, got, found.dataSetOffset);
  if (dataSet === undefined) return undefined;
  return { file: sendableFile(path, found, got), dataSet };
}

const PREAMBLE_AND_PREFIX = PREAMBLE_LENGTH + 4;

/**
 * What describeFile finds, read from a Part 10 file's first bytes by walking the element headers
 * (PS3.5 §7.1, PS3.10 §7.1) without the general parser: the File Meta Information (Explicit VR
 * Little Endian), then the data set's elements up to (0008,0018), whose two UIDs are taken. Anything
 * unusual gives undefined and describeFile, the reference, reads the file: no preamble, no Transfer
 * Syntax UID, a big-endian or deflated data set, a VR that contradicts the declared encoding, a
 * VR PS3.5 does not list, an undefined length, a UID with several values or not of VR UI, bytes cut
 * off at the end of `head`.
 * (The general parser's first use, for 2,000 files, cost ~0.1 CPU-s in `conduit store`.)
 */
function scanHead(head: Uint8Array, complete: boolean): Omit<SendableFile, 'path' | 'size'> | undefined {
  // PS3.10 §7.1: a 128-byte preamble, then "DICM".
  const p = PREAMBLE_LENGTH;
  if (head.length < PREAMBLE_AND_PREFIX || head[p] !== 0x44 || head[p + 1] !== 0x49 || head[p + 2] !== 0x43 || head[p + 3] !== 0x4d) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.length);
  const metaUids: (string | undefined)[] = [];
  let at = PREAMBLE_AND_PREFIX;
  // File Meta Information: group 0002, Explicit VR Little Endian (PS3.10 §7.1).
  for (;;) {
    if (at + 8 > head.length) return undefined;
    if (view.getUint16(at, true) !== 0x0002) break;
    const element = readExplicitHeader(head, view, at);
    if (element === undefined) return undefined;
    const tag = view.getUint16(at + 2, true);
    if (tag === 0x0002 || tag === 0x0003 || tag === 0x0010) {
      if (element.vr !== VR_UI) return undefined;
      const uid = uidValue(head, element.valueAt, element.length);
      if (uid === null) return undefined;
      metaUids[tag] = uid;
    }
    at = element.valueAt + element.length;
  }
  const transferSyntaxUid = metaUids[0x0010];
  if (!transferSyntaxUid) return undefined;
  const ts = transferSyntax(transferSyntaxUid);
  if (ts.deflated || !ts.littleEndian) return undefined;
  const dataSetOffset = at;
  if (detectEncodingMismatch(head, dataSetOffset, ts.explicitVR) !== undefined) return undefined;
  // The data set's first elements, to the first tag past (0008,0018) (describeFile's untilTag).
  let dataSetSopClassUid: string | undefined;
  let dataSetSopInstanceUid: string | undefined;
  for (;;) {
    if (at === head.length && complete) break;
    if (at + 8 > head.length) return undefined;
    const tag = ((view.getUint16(at, true) << 16) | view.getUint16(at + 2, true)) >>> 0;
    if (tag >= 0x00080019) break;
    const element = ts.explicitVR ? readExplicitHeader(head, view, at) : readImplicitHeader(head, view, at);
    if (element === undefined) return undefined;
    if (tag === 0x00080016 || tag === 0x00080018) {
      if (element.vr !== VR_UI && element.vr !== 0) return undefined;
      const uid = uidValue(head, element.valueAt, element.length);
      if (uid === null) return undefined;
      if (tag === 0x00080016) dataSetSopClassUid = uid;
      else dataSetSopInstanceUid = uid;
    }
    at = element.valueAt + element.length;
  }
  // The C-STORE names the instance the data set holds (PS3.4 B.2.1): the data set's UIDs win over
  // the File Meta Information's copies (as in describeFile).
  const sopClassUid = dataSetSopClassUid || metaUids[0x0002];
  const sopInstanceUid = dataSetSopInstanceUid || metaUids[0x0003];
  if (!sopClassUid || !sopInstanceUid) return undefined;
  return { sopClassUid, sopInstanceUid, transferSyntaxUid, dataSetOffset };
}

interface ElementHeader {
  /** The VR's two characters as a 16-bit number (first << 8 | second); 0 in Implicit VR. */
  vr: number;
  valueAt: number;
  length: number;
}

/** 'UI' as ElementHeader.vr. */
const VR_UI = 0x5549;
/**
 * Per VR (its two characters as a 16-bit number): 0 for text that is not a VR PS3.5 lists, 1 for
 * a VR with the short Explicit VR header, 2 for one with the long header (PS3.5 §7.1.2): the scan
 * makes no string per element.
 */
const EXPLICIT_HEADER_KIND = (() => {
  const kinds = new Uint8Array(0x10000);
  for (const vr of VRS) kinds[(vr.charCodeAt(0) << 8) | vr.charCodeAt(1)] = hasLongExplicitHeader(vr) ? 2 : 1;
  return kinds;
})();

/** The element header at `at` in Explicit VR Little Endian; undefined unless its value lies within `head`. */
function readExplicitHeader(head: Uint8Array, view: DataView, at: number): ElementHeader | undefined {
  const vr = (head[at + 4]! << 8) | head[at + 5]!;
  const kind = EXPLICIT_HEADER_KIND[vr];
  // A VR PS3.5 does not list has the long header (PS3.5 §6.2, read like UN): left to describeFile.
  if (kind === 0) return undefined;
  let valueAt: number;
  let length: number;
  // PS3.5 §7.1.2: 2 reserved bytes and a 4-byte length.
  if (kind === 2) {
    if (at + 12 > head.length) return undefined;
    length = view.getUint32(at + 8, true);
    valueAt = at + 12;
  } else {
    length = view.getUint16(at + 6, true);
    valueAt = at + 8;
  }
  if (length === UNDEFINED_LENGTH || valueAt + length > head.length) return undefined;
  return { vr, valueAt, length };
}

/** The element header at `at` in Implicit VR Little Endian; undefined unless its value lies within `head`. */
function readImplicitHeader(head: Uint8Array, view: DataView, at: number): ElementHeader | undefined {
  const length = view.getUint32(at + 4, true);
  if (length === UNDEFINED_LENGTH || at + 8 + length > head.length) return undefined;
  return { vr: 0, valueAt: at + 8, length };
}

/**
 * A UI value as DataSet.string() gives it (padding removed: trailing NUL and spaces, leading
 * spaces); null for several values (a backslash), which describeFile is left to read.
 */
function uidValue(head: Uint8Array, at: number, length: number): string | null {
  let start = at;
  let end = at + length;
  while (end > start && (head[end - 1] === 0x00 || head[end - 1] === 0x20)) end--;
  while (start < end && head[start] === 0x20) start++;
  for (let i = start; i < end; i++) if (head[i] === 0x5c) return null;
  // One string made at once (a character appended at a time made a string per character).
  return String.fromCharCode.apply(null, head.subarray(start, end) as unknown as number[]);
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
  /**
   * A data set being read ahead (readAhead), until readIntoRing takes or discards it; `file` is
   * undefined until a lazily named file is known (or when none was).
   */
  private ahead: { file: SendableFile | undefined; bytes: Promise<DataSetBytes | undefined> } | undefined;
  /** The largest data set read whole (in one buffer, or in one buffer's slots). */
  private readonly wholeCapacity: number;
  /** The buffers cut into slots by `layout`, when given (index as `buffers`). */
  private readonly slotBuffers: SlotBuffer[] = [];

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
    /**
     * Where to read a data set in a buffer so that it lies where the PDUs carrying it want it
     * (dimse/laid-out.ts: read with one readv into slots, sent in one write); absent: read in one
     * piece from the buffer's first byte.
     */
    readonly layout?: DataSetLayout,
  ) {
    if (count < 2) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'a read buffer ring needs at least 2 buffers');
    // Laid out, a buffer holds a little less (the gaps; at a small maximum, at most 1,024 slots):
    // a data set larger than that is streamed, not read whole first to learn that it does not fit.
    this.wholeCapacity = layout === undefined ? size : laidOutCapacity(size, layout);
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
      if (this.layout !== undefined) this.slotBuffers[i] = new SlotBuffer(buf, this.layout);
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
  readAhead(file: SendableFile | NextFileReader): void {
    if (this.ahead !== undefined || (typeof file !== 'function' && !this.fits(file))) return;
    const ahead: { file: SendableFile | undefined; bytes: Promise<DataSetBytes | undefined> } = { file: undefined, bytes: Promise.resolve(undefined) };
    // After the current turn of the event loop: the message's last PDUs go out first, so the read
    // overlaps the peer's work on it instead of delaying it. A reader is called then too, with the
    // buffer to read into (`conduit store` reads and describes the next file in that wait).
    ahead.bytes = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      if (typeof file !== 'function') {
        ahead.file = file;
        return this.readWhole(file);
      }
      const buffer = await this.acquire();
      let next: ReturnType<NextFileReader>;
      try {
        next = file(buffer, this.slotsOf(buffer));
      } catch {
        // Nothing read ahead: the caller meets the same file (and its error) in its turn.
        return undefined;
      }
      ahead.file = next?.file;
      if (next === undefined || next.dataSet !== undefined) return next?.dataSet;
      return this.fits(next.file) ? this.readWhole(next.file, buffer) : undefined;
    });
    this.ahead = ahead;
  }

  /** The buffer as slots, when the ring has a layout. */
  private slotsOf(buffer: Uint8Array): SlotBuffer | undefined {
    for (const s of this.slotBuffers) if (s.buffer === buffer) return s;
    return undefined;
  }

  /** Whether `file`'s data set fits in one buffer (so it can be read whole, and ahead). */
  private fits(file: SendableFile): boolean {
    return file.size - file.dataSetOffset < this.wholeCapacity;
  }

  /** The data set read ahead for `file`, or undefined (none, another file's: discarded, or unreadable then). */
  async takeAhead(file: SendableFile): Promise<DataSetBytes | undefined> {
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
  async whole(file: SendableFile): Promise<DataSetBytes | undefined> {
    const ahead = await this.takeAhead(file);
    if (ahead !== undefined) return ahead;
    if (!this.fits(file)) return undefined;
    return this.readWhole(file);
  }

  /**
   * The whole data set in one buffer (laid out in its slots when the ring has a layout and the
   * data set needs no pad); undefined when it does not fit (any more) or cannot be read: read
   * again then, errors included.
   */
  private async readWhole(file: SendableFile, into?: Uint8Array): Promise<DataSetBytes | undefined> {
    try {
      const buf = into ?? await this.acquire();
      const slots = this.layout !== undefined && !transferSyntax(file.transferSyntaxUid).deflated ? this.slotsOf(buf) : undefined;
      const views = slots?.slots(slots.layout.fragmentLength);
      let bytesRead: number;
      if (this.synchronous) {
        const fd = fs.openSync(file.path, 'r');
        try {
          bytesRead = views !== undefined ? fs.readvSync(fd, views, file.dataSetOffset) : fs.readSync(fd, buf, 0, buf.length, file.dataSetOffset);
        } finally {
          fs.closeSync(fd);
        }
      } else {
        const fd = await openFd(file.path, 'r');
        try {
          bytesRead = await (views !== undefined ? readvFd(fd, views, file.dataSetOffset) : readFd(fd, buf, file.dataSetOffset));
        } finally {
          void closeFd(fd).catch(() => undefined);
        }
      }
      if (slots !== undefined) return slots.laidOut(slots.layout.fragmentLength, bytesRead, 0);
      // A short read is the end of a regular file; a full buffer means the file grew: read it again.
      return bytesRead < buf.length ? buf.subarray(0, bytesRead) : undefined;
    } catch {
      return undefined;
    }
  }
}

/** A data set read whole: in one piece, or laid out for its PDUs (dimse/laid-out.ts). */
export type DataSetBytes = Uint8Array | LaidOutDataSet;

/**
 * A reader of the next file for ReadBufferRing.readAhead: reads it into `buffer` when it can (its
 * data set then in `dataSet`, a view of `buffer`), and names it; undefined for no next file. A file
 * named without `dataSet` is read into `buffer` by the ring (when it fits).
 */
export type NextFileReader = (buffer: Uint8Array, slots?: SlotBuffer) => { file: SendableFile; dataSet?: DataSetBytes } | undefined;

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
      if (bytes instanceof Uint8Array && needsDeflatePad(file, bytes.length)) {
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
    if (ahead instanceof Uint8Array) yield ahead;
    else yield* ahead.chunks();
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
