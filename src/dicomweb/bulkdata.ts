/**
 * WADO-RS Retrieve Bulkdata (PS3.18 §10.4, Table 10.4.1-1 "bulkdata" resource), read straight from
 * the stored object: its header is parsed with values left in the blob (stored-values.ts), and the
 * value's bytes are streamed from the blob store.
 *
 * The resource is named by a BulkDataURI of the metadata (".../bulkdata/<tag>[/<item>/<tag>...]"),
 * served as application/octet-stream, or multipart/related; type="application/octet-stream" when
 * the Accept asks for it. Bytes are those stored (little endian but for Explicit VR Big Endian
 * objects). Range requests (§8.6.1.1, RFC 9110 §14, byte-ranges.ts): one range is 206 with
 * Content-Range, several are 206 multipart/byteranges (§14.6), none satisfiable is 416; the
 * strong ETag of the value makes If-Range work. Asked as multipart/related, the ranges are of the
 * value too, one part each with its Content-Range (what dicomweb-client's byteRange expects).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DataSet } from '../data/data-set.js';
import type { DataElement } from '../data/element.js';
import { parseBulkDataMarker, BULK_DATA_MARKER_PREFIX } from '../storage/index-record.js';
import { ifRangeHolds, parseRange } from './byte-ranges.js';
import type { DicomWebContext } from './context.js';
import { badRequest, notAcceptable, notFound } from './http-error.js';
import { parseAccept, qualityOf } from './media-type.js';
import { newBoundary, writeMultipart } from './multipart/index.js';
import { instancesOf, type ResourcePath } from './resources.js';
import { bytesOf, lengthOf, openStored, sourceOf } from './stored-values.js';

/** The element a bulkdata path names. */
export function elementAt(ds: DataSet, wildcard: string): DataElement {
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

export function wantsMultipart(accept: string | undefined, partType: string): boolean {
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
  const total = lengthOf(source);
  // A strong validator of this value of this stored object (a replaced object has another blob).
  const etag = `"${createHash('sha256').update(`${instance!.blobKey}\0${instance!.size}\0${wildcard}`).digest('base64url').slice(0, 27)}"`;
  reply.header('Accept-Ranges', 'bytes').header('ETag', etag);
  const ranges = ifRangeHolds(request.headers['if-range'] as string | undefined, etag) ? parseRange(request.headers.range as string | undefined, total) : undefined;
  if (wantsMultipart(request.headers.accept, 'application/octet-stream')) {
    // multipart/related asked: the ranges of the value, one part each (as dicomweb-client expects
    // of a byteRange), each part saying its Content-Range; one range also in the response's.
    const boundary = newBoundary();
    const parts = (ranges ?? [{ start: 0, end: total - 1 }]).map(({ start, end }) => ({
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': ranges ? `bytes ${start}-${end}/${total}` : undefined },
      body: bytesOf(ctx, instance!, source, start, end + 1),
    }));
    if (ranges?.length === 1) reply.header('Content-Range', `bytes ${ranges[0]!.start}-${ranges[0]!.end}/${total}`);
    return reply.code(ranges ? 206 : 200).type(`multipart/related; type="application/octet-stream"; boundary=${boundary}`)
      .send(Readable.from(writeMultipart(parts, boundary)));
  }
  if (ranges === undefined) {
    return reply.code(200).type('application/octet-stream').header('Content-Length', String(total)).send(Readable.from(bytesOf(ctx, instance!, source)));
  }
  if (ranges.length === 1) {
    const [{ start, end }] = ranges as [{ start: number; end: number }];
    return reply.code(206).type('application/octet-stream').header('Content-Range', `bytes ${start}-${end}/${total}`)
      .header('Content-Length', String(end - start + 1)).send(Readable.from(bytesOf(ctx, instance!, source, start, end + 1)));
  }
  // RFC 9110 §14.6: one part per range, each with its Content-Range.
  const boundary = newBoundary();
  const parts = ranges.map(({ start, end }) => ({
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `bytes ${start}-${end}/${total}` },
    body: bytesOf(ctx, instance!, source, start, end + 1),
  }));
  return reply.code(206).type(`multipart/byteranges; boundary=${boundary}`).send(Readable.from(writeMultipart(parts, boundary)));
}

export function registerBulkdata(app: FastifyInstance, ctx: DicomWebContext): void {
  type P = { study: string; series: string; instance: string; '*': string };
  app.get<{ Params: P }>('/studies/:study/series/:series/instances/:instance/bulkdata/*', (request, reply) => bulkdata(ctx, request, reply, request.params, request.params['*']));
}
