/**
 * Values of a stored object as WADO-RS serves them: the object's header parsed with its large
 * values left in the blob (storage/stored-object.ts), and each value a byte range of the blob
 * (streamed from the blob store) or a few bytes already in memory.
 */
import { BulkData } from '../data/bulk-data.js';
import type { StoredInstance } from '../storage/ports.js';
import { readStoredObject } from '../storage/stored-object.js';
import type { DicomWebContext } from './context.js';

/** A byte range of the blob, or bytes in memory. */
export type Source = { kind: 'blob'; start: number; length: number } | { kind: 'bytes'; bytes: Uint8Array };

/** The stored object, its header parsed and its large values left in the blob. */
export async function openStored(ctx: DicomWebContext, instance: StoredInstance) {
  const reader = await ctx.archive.blobs.open(instance.blobKey);
  try {
    // Small values are read; anything a BulkDataURI can name (above 1 KiB) stays in the blob.
    return await readStoredObject(reader, { bulkDataThreshold: 256 });
  } finally {
    await reader.close();
  }
}

export function sourceOf(value: Uint8Array | BulkData): Source {
  return value instanceof BulkData ? { kind: 'blob', start: value.offset, length: value.length } : { kind: 'bytes', bytes: value };
}

export function lengthOf(source: Source): number {
  return source.kind === 'blob' ? source.length : source.bytes.length;
}

/** Bytes [from, to) of a value, streamed. */
export async function* bytesOf(ctx: DicomWebContext, instance: StoredInstance, source: Source, from = 0, to = Infinity): AsyncGenerator<Uint8Array> {
  if (source.kind === 'bytes') {
    yield source.bytes.subarray(from, Math.min(to, source.bytes.length));
    return;
  }
  const end = Math.min(source.length, to);
  if (end <= from) return;
  yield* await ctx.archive.blobs.getRange(instance.blobKey, source.start + from, source.start + end);
}

/** Bytes [from, to) of a value, in memory: for small reads (a fragment's last bytes, an offset table). */
export async function readBytes(ctx: DicomWebContext, instance: StoredInstance, source: Source, from = 0, to = Infinity): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of bytesOf(ctx, instance, source, from, to)) chunks.push(c);
  return Buffer.concat(chunks);
}
