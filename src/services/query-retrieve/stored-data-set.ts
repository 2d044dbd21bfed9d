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

function nameOf(uid: string): string {
  return lookupUid(uid)?.name ?? uid;
}

/**
 * The context to send an instance on: one accepted in the stored transfer syntax, else (for an
 * uncompressed object) one in another uncompressed syntax; or why there is none.
 */
export function contextForInstance(contexts: readonly StoreContext[], instance: Pick<StoredInstance, 'sopClassUid' | 'transferSyntaxUid'>): StoreContext | { reason: string } {
  const forClass = contexts.filter((c) => c.abstractSyntax === instance.sopClassUid);
  if (forClass.length === 0) return { reason: `no accepted context for ${nameOf(instance.sopClassUid)}` };
  const same = forClass.find((c) => c.transferSyntax === instance.transferSyntaxUid);
  if (same) return same;
  if (isUncompressed(instance.transferSyntaxUid)) {
    for (const ts of TRANSCODE_ORDER) {
      const c = forClass.find((x) => x.transferSyntax === ts);
      if (c) return c;
    }
  }
  // Kept short: it becomes an Error Comment (64 characters are sent).
  return { reason: `${nameOf(instance.sopClassUid)} not accepted as ${nameOf(instance.transferSyntaxUid)}` };
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
export async function storedDataSetBytes(blobs: BlobStore, instance: StoredInstance, transferSyntaxUid: string): Promise<AsyncIterable<Uint8Array>> {
  const source = transferSyntax(instance.transferSyntaxUid);
  if (transferSyntaxUid === instance.transferSyntaxUid) {
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
