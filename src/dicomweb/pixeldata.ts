/**
 * WADO-RS Pixel Data resources (PS3.18 §10.4.1.1.6, Table 10.4.1.6-1): `.../pixeldata` of a
 * study, a series or an instance is the top-level Pixel Data of each of its instances, one part
 * per frame, in the representation Retrieve Frames gives (frames.ts: native frames as
 * application/octet-stream, compressed ones as stored), each part's Content-Location its frame's
 * resource. Instances without Pixel Data are left out; none with any is 404. What the Accept
 * allows is checked against every instance's stored transfer syntax before anything is sent.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DicomWebContext } from './context.js';
import { framePartsOf, frameRepresentation } from './frames.js';
import { describe, instancesOf, type ResourcePath, getOnEachLevel } from './resources.js';
import { notFound } from './http-error.js';
import { newBoundary, writeMultipart, type MultipartWritePart } from './multipart/index.js';

async function pixeldata(ctx: DicomWebContext, request: FastifyRequest, reply: FastifyReply, path: ResourcePath): Promise<FastifyReply> {
  const instances = await instancesOf(ctx, path);
  // 406 before the status when an instance's transfer syntax cannot be given as asked.
  for (const ts of new Set(instances.map((i) => i.transferSyntaxUid))) frameRepresentation(request.headers.accept, ts);
  // The first instance with Pixel Data names the parts' type; the others are read as they are sent.
  let k = 0;
  let first: Awaited<ReturnType<typeof framePartsOf>>;
  for (; k < instances.length && !first; k++) first = await framePartsOf(ctx, request, instances[k]!, 'all');
  if (!first) throw notFound(`${describe(path)} has no Pixel Data`);
  const rest = instances.slice(k);
  async function* parts(): AsyncGenerator<MultipartWritePart> {
    yield* first!.parts;
    for (const instance of rest) {
      const found = await framePartsOf(ctx, request, instance, 'all');
      if (found) yield* found.parts;
    }
  }
  const boundary = newBoundary();
  return reply.code(200).type(`multipart/related; type="${first.representation.mediaType}"; boundary=${boundary}`).send(Readable.from(writeMultipart(parts(), boundary)));
}

export function registerPixelData(app: FastifyInstance, ctx: DicomWebContext): void {
  getOnEachLevel(app, '/pixeldata', (request, reply) => pixeldata(ctx, request, reply, request.params));
}
