/**
 * The data set of a stored instance as a C-STORE sub-operation sends it (C-MOVE, C-GET): the
 * presentation context to send it on, and its bytes in that context's transfer syntax, streamed.
 * In the stored transfer syntax the bytes go as they lie in the blob; otherwise the object is
 * parsed with its large values left in the blob and re-encoded among the uncompressed transfer
 * syntaxes (Explicit/Implicit VR Little Endian, Explicit VR Big Endian, Deflated), so pixel data is
 * never held in memory. Compressed objects go only in their own transfer syntax: Conduit does not
 * decompress (PS3.4 C.4.2.3.1: "A sub-operation is considered Failed if the SCP is unable to
 * negotiate an appropriate presentation context for a given stored SOP Instance").
 */
import { createDeflateRaw } from 'node:zlib';
import { DicomError } from '../../core/dicom-error.js';
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, isUncompressed, transferSyntax,
} from '../../data/transfer-syntax.js';
import { encodeDataSetStream } from '../../data/writer.js';
import { lookupUid } from '../../dictionary/uid-dictionary.js';
import type { BlobStore, StoredInstance } from '../../storage/ports.js';
import { readStoredObject } from '../../storage/stored-object.js';

/** A presentation context this end may send a C-STORE-RQ on. */
export interface StoreContext {
  id: number;
  abstractSyntax: string;
  transferSyntax: string;
}

/** Transfer syntaxes to transcode to, in this order, when the stored one was not accepted. */
const TRANSCODE_ORDER = [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN];

/**
 * A UID's name for a reason that becomes an Error Comment (64 characters, with "N of M failed: "
 * before it): a long name would be cut, so the UID, which the requestor can also give back (conduit
 * get --transfer-syntax, --sop-class), stands for it.
 */
function nameOf(uid: string): string {
  const name = lookupUid(uid)?.name;
  return name !== undefined && name.length <= 30 ? name : uid;
}

/**
 * The context to send an instance on: one accepted in the stored transfer syntax, else (for an
 * uncompressed object) one in another uncompressed syntax; or why there is none.
 */
export function contextForInstance(contexts: readonly StoreContext[], instance: Pick<StoredInstance, 'sopClassUid' | 'transferSyntaxUid'>): StoreContext | { reason: string } {
  const forClass = contexts.filter((c) => c.abstractSyntax === instance.sopClassUid);
  if (forClass.length === 0) return { reason: `${nameOf(instance.sopClassUid)} not accepted` };
  const same = forClass.find((c) => c.transferSyntax === instance.transferSyntaxUid);
  if (same) return same;
  if (isUncompressed(instance.transferSyntaxUid)) {
    for (const ts of TRANSCODE_ORDER) {
      const c = forClass.find((x) => x.transferSyntax === ts);
      if (c) return c;
    }
  }
  // Kept short: it becomes an Error Comment (64 characters are sent); the instance is in the Failed
  // SOP Instance UID List, and its class was accepted in another syntax.
  return { reason: `not accepted as ${nameOf(instance.transferSyntaxUid)}` };
}

/**
 * Presentation contexts to propose for sending these instances (the requestor side of a C-MOVE's
 * sub-operations): per SOP class one context with the stored uncompressed syntaxes then every
 * other one Conduit transcodes to, and one context per compressed syntax stored, which only that
 * syntax can carry.
 */
export function proposalsForInstances(instances: Iterable<Pick<StoredInstance, 'sopClassUid' | 'transferSyntaxUid'>>): { abstractSyntax: string; transferSyntaxes: string[] }[] {
  const bySop = new Map<string, Set<string>>();
  for (const i of instances) {
    let set = bySop.get(i.sopClassUid);
    if (!set) bySop.set(i.sopClassUid, (set = new Set()));
    set.add(i.transferSyntaxUid);
  }
  const out: { abstractSyntax: string; transferSyntaxes: string[] }[] = [];
  for (const [sop, stored] of bySop) {
    const plain = [...stored].filter((ts) => isUncompressed(ts));
    out.push({ abstractSyntax: sop, transferSyntaxes: [...new Set([...plain, ...TRANSCODE_ORDER])] });
    for (const ts of stored) if (!isUncompressed(ts)) out.push({ abstractSyntax: sop, transferSyntaxes: [ts] });
  }
  return out;
}

/**
 * The data set bytes of a stored instance in `transferSyntaxUid`. Everything that can fail before
 * the first byte (a missing blob, an object that does not parse, a transcoding that is not
 * possible) fails here, before a C-STORE-RQ is begun: a message cut short mid-way would cost the
 * association.
 */
export async function storedDataSetBytes(blobs: BlobStore, instance: StoredInstance, transferSyntaxUid: string, buffers?: DataSetBuffers): Promise<Uint8Array | AsyncIterable<Uint8Array>> {
  const source = transferSyntax(instance.transferSyntaxUid);
  if (transferSyntaxUid === instance.transferSyntaxUid) {
    const length = instance.size - instance.dataSetOffset;
    if (length <= IN_MEMORY_LIMIT) return readWhole(blobs, instance, length, source.deflated, buffers);
    const stream = await blobs.getRange(instance.blobKey, instance.dataSetOffset, instance.size);
    // A deflate stream of odd length is evened with one NUL after its final block (PS3.8 Annex E
    // wants even fragments; an inflater ignores the byte), as file-source.ts does for files.
    const pad = source.deflated && (instance.size - instance.dataSetOffset) % 2 === 1;
    return pad ? withPadding(stream) : (stream as AsyncIterable<Uint8Array>);
  }
  const target = transferSyntax(transferSyntaxUid);
  if (source.encapsulated || target.encapsulated) {
    throw new DicomError('ERR_DICOM_UNSUPPORTED_TRANSFER_SYNTAX', `cannot transcode ${instance.sopInstanceUid} from ${instance.transferSyntaxUid} to ${transferSyntaxUid}: only among uncompressed transfer syntaxes`);
  }
  const reader = await blobs.open(instance.blobKey);
  let file;
  try {
    // Values above 64 KiB stay in the blob (BulkData) and are streamed, swapped as needed, when written.
    file = await readStoredObject(reader, { bulkDataThreshold: 64 * 1024 });
  } finally {
    await reader.close();
  }
  const encoded = encodeDataSetStream(file.dataSet, { explicitVR: target.explicitVR, littleEndian: target.littleEndian }, {
    recalculateGroupLengths: transferSyntax(file.transferSyntaxUid).explicitVR !== target.explicitVR,
  });
  return target.deflated ? withPadding(deflated(encoded)) : encoded;
}

/**
 * Data sets up to this size are read into memory with one read (a CT slice: ~0.5 MiB) rather than
 * streamed: fewer system calls and no stream machinery per instance, the fragmenter then sends views
 * of one buffer, and the read can run while the previous C-STORE is still on the wire (prefetch).
 * Larger ones (multiframe, whole-slide) are streamed so that memory stays bounded.
 */
export const IN_MEMORY_LIMIT = 8 * 1024 * 1024;

/**
 * Buffers for the data sets read into memory, taken for one C-STORE and given back once it is
 * answered (by then every byte has left: the peer answers only after the whole data set), so that
 * a retrieve does not allocate ~0.5 MiB per instance (V8 runs a full garbage collection for every
 * few tens of MiB of such external memory).
 */
export class DataSetBuffers {
  private readonly free: Uint8Array[] = [];
  /** The memory take() handed out: give() takes back nothing else. */
  private readonly own = new WeakSet<ArrayBufferLike>();
  constructor(private readonly keep = 3) {}

  /** A buffer of `length` bytes (contents undefined). */
  take(length: number): Uint8Array {
    const i = this.free.findIndex((b) => b.length >= length);
    if (i >= 0) return this.free.splice(i, 1)[0]!.subarray(0, length);
    // Whole MiBs, so that a study of slightly different sizes reuses the same few buffers. A Buffer
    // (never from the shared pool, contents left as they are), so that the fragments cut from it are
    // Buffers too: a socket wraps every other Uint8Array written to it in one (~33 per CT slice).
    const whole = Buffer.allocUnsafeSlow(Math.max(1, Math.ceil(length / (1 << 20))) << 20);
    this.own.add(whole.buffer);
    return whole.subarray(0, length);
  }

  /** Gives back a buffer from take(), which nothing may still be reading; anything else is ignored. */
  give(bytes: Uint8Array): void {
    if (this.own.has(bytes.buffer) && this.free.length < this.keep) this.free.push(Buffer.from(bytes.buffer));
  }
}

/** The data set bytes of a stored instance, in one buffer (evened with one NUL for a deflate stream, as withPadding). */
async function readWhole(blobs: BlobStore, instance: StoredInstance, length: number, deflated: boolean, buffers?: DataSetBuffers): Promise<Uint8Array> {
  const padded = deflated && length % 2 === 1 ? length + 1 : length;
  let bytes: Uint8Array;
  let got: number;
  if (blobs.readInto && buffers) {
    bytes = buffers.take(padded);
    try {
      got = await blobs.readInto(instance.blobKey, instance.dataSetOffset, bytes.subarray(0, length));
    } catch (err) {
      buffers.give(bytes);
      throw err;
    }
  } else {
    const reader = await blobs.open(instance.blobKey);
    try {
      bytes = await reader.read(instance.dataSetOffset, length);
    } finally {
      await reader.close();
    }
    got = bytes.length;
    if (padded !== length) {
      const even = new Uint8Array(padded);
      even.set(bytes);
      bytes = even;
    }
  }
  if (got !== length) {
    if (buffers) buffers.give(bytes);
    throw new DicomError('ERR_DICOM_STORAGE_IO', `blob ${instance.blobKey} of ${instance.sopInstanceUid} holds ${got + instance.dataSetOffset} bytes, the index says ${instance.size}`);
  }
  if (padded !== length) bytes[length] = 0;
  return bytes;
}

/** Raw deflate of a data set's bytes (PS3.5 A.5), with back-pressure. */
async function* deflated(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const deflate = createDeflateRaw();
  const pump = (async () => {
    try {
      for await (const c of source) if (!deflate.write(c)) await new Promise((r) => deflate.once('drain', r));
      deflate.end();
    } catch (err) {
      deflate.destroy(err as Error);
    }
  })();
  for await (const c of deflate) yield c as Uint8Array;
  await pump;
}

/** The bytes, then one NUL when their total length is odd. */
async function* withPadding(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const c of source) {
    n += c.length;
    yield c;
  }
  if (n % 2 === 1) yield new Uint8Array(1);
}
