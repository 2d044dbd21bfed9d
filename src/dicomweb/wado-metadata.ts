/**
 * WADO-RS Retrieve Metadata (PS3.18 §10.4, "metadata" resources of Table 10.4.1-1): the metadata
 * of every instance of a study, series or instance, from the JSON the index stored with each
 * instance (storage/index-record.ts), so no file is read. Values the index left out (above its
 * threshold) carry a BulkDataURI: the stored marker "conduit-bulkdata:<path>" becomes the
 * instance's bulkdata resource ".../instances/{uid}/bulkdata/<path>" by a string replacement.
 *
 * An instance indexed without metadata (bulk imports may leave it out) has its metadata read from
 * its stored object instead, in the same form.
 *
 * application/dicom+json (default): one JSON array, streamed instance by instance.
 * multipart/related; type="application/dicom+xml": one Native DICOM Model part per instance.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decimalStringsAsNumbers, type DicomJsonDataSet } from '../data/json-model.js';
import { jsonToNativeDicomXml } from '../data/xml-model.js';
import { BULK_DATA_MARKER_PREFIX, metadataJson } from '../storage/index-record.js';
import type { InstanceMetadata } from '../storage/ports.js';
import { readStoredObject } from '../storage/stored-object.js';
import type { DicomWebContext } from './context.js';
import { notFound } from './http-error.js';
import { newBoundary, writeMultipart } from './multipart/index.js';
import { qidoFormat } from './qido.js';
import { checkPath, instanceUrl, instancesOf, type ResourcePath } from './resources.js';

const MARKER = `"BulkDataURI":"${BULK_DATA_MARKER_PREFIX}`;

/** The metadata of the resource's instances: as the index stored it, else read from the object. */
export async function* metadataOf(ctx: DicomWebContext, path: ResourcePath): AsyncGenerator<InstanceMetadata> {
  const instances = await instancesOf(ctx, path);
  const index = ctx.archive.index;
  const series = path.series;
  const missing = new Set(instances.map((i) => i.sopInstanceUid));
  for await (const m of index.instanceMetadata(path.study, series === undefined ? {} : { seriesInstanceUid: series })) {
    if (!missing.delete(m.sopInstanceUid)) continue;
    yield m;
    if (missing.size === 0) break;
  }
  for (const instance of instances.filter((i) => missing.has(i.sopInstanceUid))) {
    const reader = await ctx.archive.blobs.open(instance.blobKey);
    try {
      const file = await readStoredObject(reader, { bulkDataThreshold: 1024 });
      yield { sopInstanceUid: instance.sopInstanceUid, seriesInstanceUid: instance.seriesInstanceUid, json: metadataJson(file.dataSet) };
    } finally {
      await reader.close();
    }
  }
}

/**
 * The instance's JSON with real BulkDataURIs, and DS and IS values as numbers. The index keeps a
 * decimal's own text where JSON's number would change it ("5.000000"), so that C-FIND and QIDO-RS
 * return it as stored; WADO-RS metadata goes on giving numbers, as it always did and as viewers
 * read them (PS3.18 F.2.3 allows either).
 */
function withBulkDataUris(base: string, study: string, m: InstanceMetadata): string {
  const json = decimalStringsAsNumbers(m.json);
  if (!json.includes(MARKER)) return json;
  const url = `${instanceUrl(base, { studyInstanceUid: study, seriesInstanceUid: m.seriesInstanceUid, sopInstanceUid: m.sopInstanceUid })}/bulkdata/`;
  return json.split(MARKER).join(`"BulkDataURI":"${url}`);
}

async function answer(ctx: DicomWebContext, request: FastifyRequest, reply: FastifyReply, path: ResourcePath): Promise<FastifyReply> {
  checkPath(path);
  const format = qidoFormat(request.headers.accept);
  const base = ctx.baseUrl(request);
  const items = metadataOf(ctx, path);
  // The first one before the status is sent: a resource not in the archive is 404.
  const first = await items.next();
  if (first.done) throw notFound('no metadata');
  async function* all(): AsyncGenerator<string> {
    yield withBulkDataUris(base, path.study, first.value!);
    for await (const m of items) yield withBulkDataUris(base, path.study, m);
  }
  if (format === 'json') {
    async function* body(): AsyncGenerator<Buffer> {
      let n = 0;
      for await (const json of all()) yield Buffer.from(`${n++ === 0 ? '[' : ','}${json}`);
      yield Buffer.from(']');
    }
    return reply.code(200).type('application/dicom+json').send(Readable.from(body()));
  }
  const boundary = newBoundary();
  async function* parts() {
    for await (const json of all()) {
      yield { headers: { 'Content-Type': 'application/dicom+xml; charset=utf-8' }, body: jsonToNativeDicomXml(JSON.parse(json) as DicomJsonDataSet) };
    }
  }
  return reply.code(200).type(`multipart/related; type="application/dicom+xml"; boundary=${boundary}`).send(Readable.from(writeMultipart(parts(), boundary)));
}

export function registerMetadata(app: FastifyInstance, ctx: DicomWebContext): void {
  type P = { study: string; series?: string; instance?: string };
  for (const path of ['/studies/:study/metadata', '/studies/:study/series/:series/metadata', '/studies/:study/series/:series/instances/:instance/metadata']) {
    app.get<{ Params: P }>(path, (request, reply) => answer(ctx, request, reply, request.params));
  }
}
