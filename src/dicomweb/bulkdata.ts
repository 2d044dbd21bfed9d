/**
 * WADO-RS Retrieve Bulkdata and Retrieve Frames (PS3.18 §10.4, Table 10.4.1-1 "bulkdata" and
 * "frames" resources), read straight from the stored object: its header is parsed with values
 * left in the blob (storage/stored-object.ts), and the value's byte range is streamed from the
 * blob store.
 *
 * Bulkdata: the resource named by a BulkDataURI of the metadata (".../bulkdata/<tag>[/<item>/<tag>...]"),
 * as application/octet-stream, or multipart/related; type="application/octet-stream" when the
 * Accept asks for it; a single byte range (RFC 9110 §14: Range: bytes=a-b) gives 206 with
 * Content-Range. Bytes are those stored (little endian but for Explicit VR Big Endian objects).
 *
 * Frames: uncompressed pixel data cut into frames of Rows x Columns x Samples per Pixel x Bits
 * Allocated / 8 bytes (application/octet-stream); compressed pixel data with one fragment per
 * frame (or one frame) as stored, in the transfer syntax's media type (PS3.18 Table 8.7.3-2),
 * when the Accept allows the stored transfer syntax (transfer-syntax=* or the stored one).
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BulkData } from '../data/bulk-data.js';
import type { DataSet } from '../data/data-set.js';
import type { DataElement } from '../data/element.js';
import { isUncompressed } from '../data/transfer-syntax.js';
import { parseBulkDataMarker, BULK_DATA_MARKER_PREFIX } from '../storage/index-record.js';
import type { StoredInstance } from '../storage/ports.js';
import { readStoredObject } from '../storage/stored-object.js';
import type { DicomWebContext } from './context.js';
import { badRequest, DicomWebError, notAcceptable, notFound } from './http-error.js';
import { parseAccept, qualityOf } from './media-type.js';
import { newBoundary, writeMultipart, type MultipartWritePart } from './multipart/index.js';
import { instancesOf, type ResourcePath } from './resources.js';

/** A byte range of the blob, or bytes in memory. */
type Source = { kind: 'blob'; start: number; length: number } | { kind: 'bytes'; bytes: Uint8Array };

/** Media types of compressed frames (PS3.18 Table 8.7.3-2, -5). */
const FRAME_MEDIA_TYPES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.4.50': 'image/jpeg', '1.2.840.10008.1.2.4.51': 'image/jpeg', '1.2.840.10008.1.2.4.57': 'image/jpeg', '1.2.840.10008.1.2.4.70': 'image/jpeg',
  '1.2.840.10008.1.2.4.80': 'image/jls', '1.2.840.10008.1.2.4.81': 'image/jls',
  '1.2.840.10008.1.2.4.90': 'image/jp2', '1.2.840.10008.1.2.4.91': 'image/jp2', '1.2.840.10008.1.2.4.92': 'image/jpx', '1.2.840.10008.1.2.4.93': 'image/jpx',
  '1.2.840.10008.1.2.5': 'image/dicom-rle',
  '1.2.840.10008.1.2.4.100': 'video/mpeg', '1.2.840.10008.1.2.4.102': 'video/mp4', '1.2.840.10008.1.2.4.103': 'video/mp4',
  '1.2.840.10008.1.2.4.201': 'image/jphc', '1.2.840.10008.1.2.4.202': 'image/jphc', '1.2.840.10008.1.2.4.203': 'image/jphc',
};

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

function sourceOf(value: Uint8Array | BulkData): Source {
  return value instanceof BulkData ? { kind: 'blob', start: value.offset, length: value.length } : { kind: 'bytes', bytes: value };
}

/** The element a bulkdata path names. */
function elementAt(ds: DataSet, wildcard: string): DataElement {
  const parsed = parseBulkDataMarker(BULK_DATA_MARKER_PREFIX + wildcard.replace(/\/+$/, '').toUpperCase());
  if (!parsed) throw badRequest(`"${wildcard}" is not a bulk data path (tags in 8 hex digits, each sequence followed by an item index)`);
  let current = ds;
  for (let i = 0; i < parsed.path.length; i++) {
    const e = current.get(parsed.path[i]!);
    if (!e) throw notFound(`bulk data ${wildcard}: the instance has no such attribute`);
    if (i === parsed.path.length - 1) return e;
    const item = e.items?.[parsed.items[i]!];
    if (!item) throw notFound(`bulk data ${wildcard}: no item ${parsed.items[i]} there`);
    current = item;
  }
  throw notFound(`bulk data ${wildcard} not found`);
}

function byteRange(header: string | undefined, total: number): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // several ranges or another unit: ignored (RFC 9110 §14.2)
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, total - Number(m[2]));
    end = total - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? total - 1 : Math.min(Number(m[2]), total - 1);
  }
  if (start >= total || start > end) {
    throw new DicomWebError('ERR_DICOM_WEB_REQUEST', `Range ${header} is outside the ${total} bytes of the value`, 416, { headers: { 'Content-Range': `bytes */${total}` } });
  }
  return { start, end };
}

async function* bytesOf(ctx: DicomWebContext, instance: StoredInstance, source: Source, from = 0, to = Infinity): AsyncGenerator<Uint8Array> {
  if (source.kind === 'bytes') {
    yield source.bytes.subarray(from, Math.min(to, source.bytes.length));
    return;
  }
  const end = Math.min(source.length, to);
  if (end <= from) return;
  yield* await ctx.archive.blobs.getRange(instance.blobKey, source.start + from, source.start + end);
}

function wantsMultipart(accept: string | undefined, partType: string): boolean {
  if (!accept) return false;
  const ranges = parseAccept(accept).filter((m) => qualityOf(m) > 0);
  return ranges.some((m) => m.type === 'multipart/related') && !ranges.some((m) => m.type === partType || m.type === '*/*');
}

async function bulkdata(ctx: DicomWebContext, request: FastifyRequest, reply: FastifyReply, path: ResourcePath, wildcard: string): Promise<FastifyReply> {
  const [instance] = await instancesOf(ctx, path);
  const file = await openStored(ctx, instance!);
  const e = elementAt(file.dataSet, wildcard);
  if (e.items) throw badRequest(`bulk data ${wildcard} is a sequence, not a value`);
  if (e.encapsulated) throw notAcceptable(`bulk data ${wildcard} is compressed pixel data; retrieve it as frames (.../frames/1)`);
  const source = e.bulk ? sourceOf(e.bulk) : { kind: 'bytes' as const, bytes: e.bytes };
  const total = source.kind === 'blob' ? source.length : source.bytes.length;
  const range = byteRange(request.headers.range as string | undefined, total);
  const from = range?.start ?? 0;
  const to = range ? range.end + 1 : total;
  reply.header('Accept-Ranges', 'bytes');
  if (range) reply.code(206).header('Content-Range', `bytes ${range.start}-${range.end}/${total}`);
  else reply.code(200);
  const body = bytesOf(ctx, instance!, source, from, to);
  if (wantsMultipart(request.headers.accept, 'application/octet-stream')) {
    const boundary = newBoundary();
    return reply.type(`multipart/related; type="application/octet-stream"; boundary=${boundary}`)
      .send(Readable.from(writeMultipart([{ headers: { 'Content-Type': 'application/octet-stream' }, body }], boundary)));
  }
  return reply.type('application/octet-stream').header('Content-Length', String(to - from)).send(Readable.from(body));
}

/** "1,3,5" -> [1, 3, 5] (PS3.18 §10.4.1.1.4: frame numbers start at 1). */
export function frameNumbers(text: string): number[] {
  const numbers = text.split(',').map((s) => s.trim());
  if (!numbers.length || numbers.some((n) => !/^[1-9]\d{0,9}$/.test(n))) throw badRequest(`"${text}" is not a list of frame numbers (1, 2, ...)`);
  return numbers.map(Number);
}

function acceptsStoredSyntax(accept: string | undefined, stored: string): boolean {
  if (!accept) return true;
  return parseAccept(accept).filter((m) => qualityOf(m) > 0).some((m) => {
    const ts = m.parameters.get('transfer-syntax');
    return ts === '*' || ts === stored || (ts === undefined && (m.type === '*/*' || m.type === 'multipart/related' && (m.parameters.get('type') ?? '*/*') !== 'application/octet-stream'));
  });
}

async function frames(ctx: DicomWebContext, request: FastifyRequest, reply: FastifyReply, path: ResourcePath, list: string): Promise<FastifyReply> {
  const wanted = frameNumbers(list);
  const [instance] = await instancesOf(ctx, path);
  const file = await openStored(ctx, instance!);
  const ds = file.dataSet;
  const pixel = ds.get(0x7fe00010);
  if (!pixel) throw notFound(`instance ${path.instance} has no Pixel Data`);
  const count = Number(ds.string('NumberOfFrames')?.trim() || '1') || 1;
  const beyond = wanted.filter((n) => n > count);
  if (beyond.length) throw notFound(`instance ${path.instance} has ${count} frame(s); there is no frame ${beyond.join(', ')}`);
  const parts: MultipartWritePart[] = [];
  const ts = instance!.transferSyntaxUid;
  if (pixel.encapsulated) {
    if (!acceptsStoredSyntax(request.headers.accept, ts)) throw notAcceptable(`the frames are stored compressed (${ts}); ask for transfer-syntax=* or ${ts}: Conduit does not decompress`);
    const fragments = pixel.encapsulated.fragments;
    if (count > 1 && fragments.length !== count) throw notAcceptable(`the ${count} frames are in ${fragments.length} fragments; only one fragment per frame is served`);
    const type = FRAME_MEDIA_TYPES[ts] ?? 'application/octet-stream';
    for (const n of wanted) {
      const sources = count === 1 ? fragments.map(sourceOf) : [sourceOf(fragments[n - 1]!)];
      parts.push({ headers: { 'Content-Type': `${type}; transfer-syntax=${ts}` }, body: (async function* () { for (const s of sources) yield* bytesOf(ctx, instance!, s); })() });
    }
  } else {
    if (!isUncompressed(ts) || ts === '1.2.840.10008.1.2.1.99') throw notAcceptable(`frames of ${ts} objects are not served`);
    const rows = ds.numbers('Rows')?.[0] ?? 0;
    const columns = ds.numbers('Columns')?.[0] ?? 0;
    const samples = ds.numbers('SamplesPerPixel')?.[0] ?? 1;
    const bits = ds.numbers('BitsAllocated')?.[0] ?? 0;
    if (bits % 8 !== 0 || rows * columns === 0) throw notAcceptable(`frames of ${bits}-bit pixel data are not served (only whole bytes per sample)`);
    const size = rows * columns * samples * (bits / 8);
    const source = pixel.bulk ? sourceOf(pixel.bulk) : { kind: 'bytes' as const, bytes: pixel.bytes };
    for (const n of wanted) parts.push({ headers: { 'Content-Type': 'application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1' }, body: bytesOf(ctx, instance!, source, (n - 1) * size, n * size) });
  }
  const boundary = newBoundary();
  const type = pixel.encapsulated ? (FRAME_MEDIA_TYPES[ts] ?? 'application/octet-stream') : 'application/octet-stream';
  return reply.code(200).type(`multipart/related; type="${type}"; boundary=${boundary}`).send(Readable.from(writeMultipart(parts, boundary)));
}

export function registerBulkdata(app: FastifyInstance, ctx: DicomWebContext): void {
  type P = { study: string; series: string; instance: string; '*': string; frames: string };
  app.get<{ Params: P }>('/studies/:study/series/:series/instances/:instance/bulkdata/*', (request, reply) => bulkdata(ctx, request, reply, request.params, request.params['*']));
  app.get<{ Params: P }>('/studies/:study/series/:series/instances/:instance/frames/:frames', (request, reply) => frames(ctx, request, reply, request.params, request.params.frames));
}
