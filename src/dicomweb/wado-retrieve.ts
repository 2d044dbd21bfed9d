/**
 * WADO-RS Retrieve of studies, series and instances (PS3.18 §10.4) as multipart/related;
 * type="application/dicom": one part per instance, the Part 10 file streamed from the blob store.
 *
 * Transfer syntax (PS3.18 §8.7.3.5.2, §8.7.3.1 transfer-syntax parameter), decided per instance
 * before anything is sent, from the Accept media ranges in order of preference:
 *   transfer-syntax=*            the stored transfer syntax, bytes as stored
 *   transfer-syntax=<uid>        as stored when it is that one; converted when both are among the
 *                                uncompressed ones (Explicit/Implicit VR LE, Explicit VR BE, Deflated)
 *   none                         Explicit VR Little Endian (the default) for uncompressed objects;
 *                                a compressed object is sent as stored, its transfer syntax in the
 *                                part's Content-Type (Conduit does not decompress, as Orthanc without
 *                                a codec plugin does)
 * When some instance can be sent in none of the accepted ones, the answer is 406, naming it.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EXPLICIT_VR_LITTLE_ENDIAN, isUncompressed } from '../data/transfer-syntax.js';
import { encodeFileStream } from '../media/part10.js';
import { readStoredObject } from '../storage/stored-object.js';
import type { StoredInstance } from '../storage/ports.js';
import type { DicomWebContext } from './context.js';
import { notAcceptable } from './http-error.js';
import { parseAccept, qualityOf, type MediaType } from './media-type.js';
import { newBoundary, writeMultipart, type MultipartWritePart } from './multipart/index.js';
import { instancesOf, instanceUrl, type ResourcePath } from './resources.js';

/** What the client accepts for application/dicom: transfer syntaxes in order ('*' any, undefined the default). */
export function acceptedTransferSyntaxes(accept: string | undefined): Array<string | undefined> {
  if (!accept || accept.trim() === '') return [undefined];
  const ranges = parseAccept(accept).filter((m) => qualityOf(m) > 0).sort((a, b) => qualityOf(b) - qualityOf(a));
  const out: Array<string | undefined> = [];
  for (const m of ranges) if (acceptsDicom(m)) out.push(m.parameters.get('transfer-syntax'));
  if (out.length === 0) {
    throw notAcceptable(`studies, series and instances are served as multipart/related; type="application/dicom", not "${accept}"`);
  }
  return out;
}

function acceptsDicom(m: MediaType): boolean {
  const type = (m.parameters.get('type') ?? '').toLowerCase();
  if (m.type === '*/*' || m.type === 'multipart/*') return type === '' || type === 'application/dicom';
  return m.type === 'multipart/related' && (type === 'application/dicom' || type === '');
}

/** The transfer syntax to send a stored instance in, or undefined when none accepted can be. */
export function chooseTransferSyntax(stored: string, accepted: ReadonlyArray<string | undefined>): string | undefined {
  for (const ts of accepted) {
    if (ts === '*') return stored;
    if (ts === undefined) return isUncompressed(stored) ? EXPLICIT_VR_LITTLE_ENDIAN : stored;
    if (ts === stored) return stored;
    if (isUncompressed(ts) && isUncompressed(stored)) return ts;
  }
  return undefined;
}

/** The Part 10 bytes of a stored instance in `target`: as stored, or converted. */
export async function* instanceBytes(ctx: DicomWebContext, instance: StoredInstance, target: string): AsyncGenerator<Uint8Array> {
  if (target === instance.transferSyntaxUid) {
    yield* await ctx.archive.blobs.get(instance.blobKey);
    return;
  }
  const reader = await ctx.archive.blobs.open(instance.blobKey);
  let file;
  try {
    file = await readStoredObject(reader, { bulkDataThreshold: 64 * 1024 });
  } finally {
    await reader.close();
  }
  yield* encodeFileStream(file, { transferSyntaxUid: target });
}

async function answer(ctx: DicomWebContext, request: FastifyRequest, reply: FastifyReply, path: ResourcePath): Promise<FastifyReply> {
  const accepted = acceptedTransferSyntaxes(request.headers.accept);
  const instances = await instancesOf(ctx, path);
  const plan = instances.map((instance) => ({ instance, ts: chooseTransferSyntax(instance.transferSyntaxUid, accepted) }));
  const refused = plan.filter((p) => p.ts === undefined);
  if (refused.length) {
    throw notAcceptable(`${refused.length} instance(s) cannot be sent in the transfer syntaxes accepted (${accepted.map((a) => a ?? 'default').join(', ')}): `
      + `${refused.slice(0, 5).map((p) => `${p.instance.sopInstanceUid} is stored as ${p.instance.transferSyntaxUid}`).join('; ')}; `
      + 'Conduit converts only among uncompressed transfer syntaxes (ask transfer-syntax=* for the stored ones)');
  }
  const base = ctx.baseUrl(request);
  const boundary = newBoundary();
  async function* parts(): AsyncGenerator<MultipartWritePart> {
    for (const { instance, ts } of plan) {
      yield {
        headers: { 'Content-Type': `application/dicom; transfer-syntax=${ts}`, 'Content-Location': instanceUrl(base, instance) },
        body: instanceBytes(ctx, instance, ts!),
      };
    }
  }
  return reply.code(200).type(`multipart/related; type="application/dicom"; boundary=${boundary}`).send(Readable.from(writeMultipart(parts(), boundary)));
}

export function registerRetrieve(app: FastifyInstance, ctx: DicomWebContext): void {
  type P = { study: string; series?: string; instance?: string };
  for (const path of ['/studies/:study', '/studies/:study/series/:series', '/studies/:study/series/:series/instances/:instance']) {
    app.get<{ Params: P }>(path, (request, reply) => answer(ctx, request, reply, request.params));
  }
}
