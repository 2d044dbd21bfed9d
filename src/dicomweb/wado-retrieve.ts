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
 *
 * An Instance resource is also served single part, the Part 10 file as the whole body, when
 * application/dicom (not multipart) is the most preferred range of the Accept: PS3.18 §10.4.4 (2025a)
 * "shall only be used for individual Instance Resources"; for a study or series it is ignored.
 *
 * The multipart body is written straight to the socket (response-writer.ts): the files of
 * instances sent as stored through two reused buffers, converted ones as they are encoded.
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
import { newBoundary } from './multipart/index.js';
import { ResponseWriter } from './response-writer.js';
import { getOnEachLevel, instancesOf, instanceUrl, type ResourcePath } from './resources.js';

const DICOM = 'application/dicom';

/** What the client accepts for application/dicom: transfer syntaxes in order ('*' any, undefined the default). */
export function acceptedTransferSyntaxes(accept: string | undefined): Array<string | undefined> {
  if (!accept || accept.trim() === '') return [undefined];
  const ranges = parseAccept(accept).filter((m) => qualityOf(m) > 0).sort((a, b) => qualityOf(b) - qualityOf(a));
  const out: Array<string | undefined> = [];
  for (const m of ranges) if (acceptsDicom(m)) out.push(m.parameters.get('transfer-syntax'));
  if (out.length === 0) {
    throw notAcceptable(`studies, series and instances are served as multipart/related; type="application/dicom" (an instance also as application/dicom), not "${accept}"`);
  }
  return out;
}

/**
 * For an Instance resource whose most preferred acceptable range is application/dicom itself: the
 * transfer syntaxes of the application/dicom ranges in order; otherwise undefined (multipart).
 */
export function singlePartTransferSyntaxes(accept: string | undefined, path: ResourcePath): Array<string | undefined> | undefined {
  if (path.instance === undefined || !accept) return undefined;
  const ranges = parseAccept(accept).filter((m) => qualityOf(m) > 0).sort((a, b) => qualityOf(b) - qualityOf(a));
  const best = ranges.find((m) => m.type === DICOM || acceptsDicom(m));
  if (best?.type !== DICOM) return undefined;
  return ranges.filter((m) => m.type === DICOM).map((m) => m.parameters.get('transfer-syntax'));
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

/** Each instance with the transfer syntax it goes in; 406 naming those that can go in none accepted. */
function planOf(instances: readonly StoredInstance[], accepted: ReadonlyArray<string | undefined>): Array<{ instance: StoredInstance; ts: string | undefined }> {
  const plan = instances.map((instance) => ({ instance, ts: chooseTransferSyntax(instance.transferSyntaxUid, accepted) }));
  const refused = plan.filter((p) => p.ts === undefined);
  if (refused.length) {
    throw notAcceptable(`${refused.length} instance(s) cannot be sent in the transfer syntaxes accepted (${accepted.map((a) => a ?? 'default').join(', ')}): `
      + `${refused.slice(0, 5).map((p) => `${p.instance.sopInstanceUid} is stored as ${p.instance.transferSyntaxUid}`).join('; ')}; `
      + 'Conduit converts only among uncompressed transfer syntaxes (ask transfer-syntax=* for the stored ones)');
  }
  return plan;
}

async function answer(ctx: DicomWebContext, request: FastifyRequest, reply: FastifyReply, path: ResourcePath): Promise<FastifyReply> {
  const single = singlePartTransferSyntaxes(request.headers.accept, path);
  if (single) {
    const [{ instance, ts }] = planOf(await instancesOf(ctx, path), single) as [{ instance: StoredInstance; ts: string }];
    reply.header('Content-Location', instanceUrl(ctx.baseUrl(request), instance));
    if (ts === instance.transferSyntaxUid) reply.header('Content-Length', instance.size);
    return reply.code(200).type(`${DICOM}; transfer-syntax=${ts}`).send(Readable.from(instanceBytes(ctx, instance, ts)));
  }
  const accepted = acceptedTransferSyntaxes(request.headers.accept);
  const plan = planOf(await instancesOf(ctx, path), accepted);
  const base = ctx.baseUrl(request);
  const boundary = newBoundary();
  const heads = plan.map(({ instance, ts }, k) => `${k === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: application/dicom; transfer-syntax=${ts}\r\nContent-Location: ${instanceUrl(base, instance)}\r\n\r\n`);
  const close = `${plan.length === 0 ? '' : '\r\n'}--${boundary}--\r\n`;
  // PS3.18 §8.4.3: a payload without Content-Encoding has a Content-Length. Known before anything
  // is sent when every instance goes as stored (the index has each one's size); a converted one is
  // sized only once encoded, so such a body goes chunked.
  const length = plan.every((p) => p.ts === p.instance.transferSyntaxUid)
    ? plan.reduce((n, p, k) => n + heads[k]!.length + p.instance.size, close.length)
    : undefined;
  // The body is written to the socket here (response-writer.ts), not piped through fastify.
  await reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
    ...(length === undefined ? {} : { 'Content-Length': String(length) }),
  });
  const out = new ResponseWriter(res);
  const asStored = (k: number) => plan[k] !== undefined && plan[k]!.ts === plan[k]!.instance.transferSyntaxUid;
  const openLocal = (k: number) => {
    if (!asStored(k)) return undefined;
    const opening = ResponseWriter.openLocal(ctx.archive.blobs, plan[k]!.instance.blobKey);
    // Awaited when its turn comes; a failure before then is not an unhandled rejection.
    opening.catch(() => undefined);
    return opening;
  };
  let next = openLocal(0);
  try {
    for (const [k, { instance, ts }] of plan.entries()) {
      const head = heads[k]!;
      const local = next;
      next = openLocal(k + 1);
      if (local) await out.writeBlob(ctx.archive.blobs, instance.blobKey, Buffer.from(head, 'latin1'), local, instance.size);
      else {
        await out.write(Buffer.from(head, 'latin1'));
        for await (const chunk of instanceBytes(ctx, instance, ts!)) await out.write(chunk);
      }
    }
    await out.write(Buffer.from(close, 'latin1'));
    await out.flush();
    res.end();
  } catch (error) {
    // Headers are sent: the only way to say the body is incomplete is to cut the connection.
    ctx.log('warn', `WADO-RS ${request.url}: ${(error as Error).message}`);
    res.destroy(error as Error);
    // The next instance's file, opened ahead, is not sent.
    void next?.then((fh) => fh?.close(), () => undefined);
  }
  return reply;
}

export function registerRetrieve(app: FastifyInstance, ctx: DicomWebContext): void {
  getOnEachLevel(app, '', (request, reply) => answer(ctx, request, reply, request.params));
}
