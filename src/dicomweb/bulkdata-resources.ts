/**
 * WADO-RS Study, Series and Instance Bulkdata (PS3.18 §10.4.1.1.5, Table 10.4.1.5-1):
 * `.../bulkdata` of a study, a series or an instance is every bulk data value its instances'
 * metadata names by a BulkDataURI, as multipart/related; type="application/octet-stream", one
 * part per value with the BulkDataURI as its Content-Location; encapsulated Pixel Data goes as its
 * frames (frames.ts), each with its frame's Content-Location. The Accept must allow
 * application/octet-stream parts (and the stored transfer syntax of compressed frames: 406
 * otherwise, before the status); a resource with no bulk data is 404.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isUncompressed } from '../data/transfer-syntax.js';
import { BULK_DATA_MARKER_PREFIX } from '../storage/index-record.js';
import { elementAt } from './bulkdata.js';
import type { DicomWebContext } from './context.js';
import { framePartsOf, frameRepresentation } from './frames.js';
import { notAcceptable, notFound } from './http-error.js';
import { parseAccept, qualityOf } from './media-type.js';
import { newBoundary, writeMultipart, type MultipartWritePart } from './multipart/index.js';
import { describe, instancesOf, instanceUrl, type ResourcePath, getOnEachLevel } from './resources.js';
import { bytesOf, openStored, sourceOf } from './stored-values.js';
import { metadataOf } from './wado-metadata.js';

const MARKERS = new RegExp(`"BulkDataURI":"${BULK_DATA_MARKER_PREFIX}([0-9A-F/]+)"`, 'g');

function acceptsOctetStream(accept: string | undefined): boolean {
  if (!accept || accept.trim() === '') return true;
  return parseAccept(accept).filter((m) => qualityOf(m) > 0).some((m) => {
    const part = m.type === 'multipart/related' || m.type === 'multipart/*' ? (m.parameters.get('type') ?? '*/*').toLowerCase() : m.type;
    return part === '*/*' || part === 'application/*' || part === 'application/octet-stream';
  });
}

async function bulkdataOf(ctx: DicomWebContext, request: FastifyRequest, reply: FastifyReply, path: ResourcePath): Promise<FastifyReply> {
  const instances = await instancesOf(ctx, path);
  if (!acceptsOctetStream(request.headers.accept)) {
    throw notAcceptable(`bulk data is served as multipart/related; type="application/octet-stream", not "${request.headers.accept}"`);
  }
  for (const ts of new Set(instances.map((i) => i.transferSyntaxUid))) if (!isUncompressed(ts)) frameRepresentation(request.headers.accept, ts);
  const byUid = new Map(instances.map((i) => [i.sopInstanceUid, i]));
  const base = ctx.baseUrl(request);
  async function* parts(): AsyncGenerator<MultipartWritePart> {
    for await (const m of metadataOf(ctx, path)) {
      const instance = byUid.get(m.sopInstanceUid);
      const paths = [...m.json.matchAll(MARKERS)].map((x) => x[1]!);
      if (!instance || paths.length === 0) continue;
      const ds = (await openStored(ctx, instance)).dataSet;
      for (const p of paths) {
        const e = elementAt(ds, p);
        if (e.encapsulated) {
          const frames = await framePartsOf(ctx, request, instance, 'all');
          if (frames) yield* frames.parts;
          continue;
        }
        if (e.items) continue;
        const source = e.bulk ? sourceOf(e.bulk) : { kind: 'bytes' as const, bytes: e.bytes };
        yield { headers: { 'Content-Type': 'application/octet-stream', 'Content-Location': `${instanceUrl(base, instance)}/bulkdata/${p}` }, body: bytesOf(ctx, instance, source) };
      }
    }
  }
  const all = parts();
  const first = await all.next();
  if (first.done) throw notFound(`${describe(path)} has no bulk data`);
  async function* again(): AsyncGenerator<MultipartWritePart> {
    yield first.value!;
    yield* all;
  }
  const boundary = newBoundary();
  return reply.code(200).type(`multipart/related; type="application/octet-stream"; boundary=${boundary}`).send(Readable.from(writeMultipart(again(), boundary)));
}

export function registerBulkdataResources(app: FastifyInstance, ctx: DicomWebContext): void {
  getOnEachLevel(app, '/bulkdata', (request, reply) => bulkdataOf(ctx, request, reply, request.params));
}
