/**
 * WADO-RS Retrieve Rendered and Retrieve Thumbnail (PS3.18 §10.4.1.1.3, §10.4.1.1.4; Table
 * 10.4.1-1 "rendered" and "thumbnail" resources) for uncompressed images:
 *   .../instances/{instance}/rendered            the first frame
 *   .../instances/{instance}/frames/{list}/rendered   one frame an image, several a multipart/related
 *   .../studies/{study}[/series/{series}]/rendered    multipart/related, one rendered image per instance
 *   .../thumbnail (study, series, instance, frame)  a representative frame (the middle instance's first
 *                                                frame), fit into 128x128 unless a viewport is given
 * Compressed pixel data is refused with 406, naming its transfer syntax (Conduit has no codecs yet).
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BulkData } from '../../data/bulk-data.js';
import type { DataSet } from '../../data/data-set.js';
import { transferSyntax } from '../../data/transfer-syntax.js';
import { lookupUid } from '../../dictionary/uid-dictionary.js';
import type { StoredInstance } from '../../storage/ports.js';
import { frameNumbers } from '../frames.js';
import { openStored } from '../stored-values.js';
import type { DicomWebContext } from '../context.js';
import { badRequest, notAcceptable, notFound } from '../http-error.js';
import { newBoundary, writeMultipart, type MultipartWritePart } from '../multipart/index.js';
import { getOnEachLevel, instancesOf, instanceUrl, type ResourcePath } from '../resources.js';
import { encodeRendered } from './encode.js';
import { renderParameters, type RenderParameters } from './parameters.js';
import { frameSize, renderFrame, unsupported, type PixelModule, type VoiFunction } from './pixels.js';

/** The viewport of a thumbnail when the request gives none. */
export const THUMBNAIL_SIZE = 128;

const COMPRESSED_HINT = 'Conduit renders uncompressed pixel data only (no image codecs yet); retrieve the frames as stored (transfer-syntax=*)';

function pixelModule(ds: DataSet, littleEndian: boolean): PixelModule {
  const n = (keyword: string, fallback: number) => ds.numbers(keyword)[0] ?? fallback;
  const bitsAllocated = n('BitsAllocated', 0);
  const bitsStored = n('BitsStored', bitsAllocated);
  const center = ds.numbers('WindowCenter')[0];
  const width = ds.numbers('WindowWidth')[0];
  const fn = (ds.string('VOILUTFunction')?.trim().toUpperCase() || 'LINEAR') as VoiFunction;
  const windowFunction: VoiFunction = fn === 'LINEAR_EXACT' || fn === 'SIGMOID' ? fn : 'LINEAR';
  const validWindow = center !== undefined && width !== undefined && (windowFunction === 'LINEAR' ? width >= 1 : width > 0);
  return {
    rows: n('Rows', 0),
    columns: n('Columns', 0),
    samplesPerPixel: n('SamplesPerPixel', 1),
    bitsAllocated,
    bitsStored,
    highBit: n('HighBit', bitsStored - 1),
    pixelRepresentation: n('PixelRepresentation', 0),
    photometricInterpretation: ds.string('PhotometricInterpretation')?.trim().toUpperCase() ?? 'MONOCHROME2',
    planarConfiguration: n('PlanarConfiguration', 0),
    rescaleSlope: n('RescaleSlope', 1),
    rescaleIntercept: n('RescaleIntercept', 0),
    ...(validWindow ? { window: { center, width, function: windowFunction } } : {}),
    littleEndian,
  };
}

/** One frame of an instance, rendered and encoded. */
export async function renderInstanceFrame(ctx: DicomWebContext, instance: StoredInstance, frame: number, parameters: RenderParameters): Promise<Buffer> {
  const file = await openStored(ctx, instance);
  const ds = file.dataSet;
  const pixel = ds.get(0x7fe00010);
  // The instance exists: what it lacks is a representation in the media type asked (an SR, an RT
  // Plan), so 406 as when no Acceptable Media Type is supported (PS3.18 §8.7.8.1, 2025a), not 404.
  if (!pixel) throw notAcceptable(`instance ${instance.sopInstanceUid} has no Pixel Data, so no ${parameters.mediaType} rendering (Conduit renders images only; the instance itself is application/dicom)`);
  const ts = transferSyntax(instance.transferSyntaxUid);
  if (pixel.encapsulated || ts.encapsulated) {
    const name = lookupUid(instance.transferSyntaxUid)?.name;
    throw notAcceptable(`instance ${instance.sopInstanceUid} is stored compressed (transfer syntax ${instance.transferSyntaxUid}${name ? `, ${name}` : ''}): ${COMPRESSED_HINT}`);
  }
  if (parameters.iccProfile && ds.get(0x00282000)) {
    throw notAcceptable(`instance ${instance.sopInstanceUid} has an ICC Profile (0028,2000); Conduit does not transform colors, so it cannot render it in sRGB (ask iccprofile=no)`);
  }
  const module = pixelModule(ds, ts.littleEndian);
  const why = unsupported(module);
  if (why) throw notAcceptable(`instance ${instance.sopInstanceUid} cannot be rendered: ${why}`);
  const frames = Number(ds.string('NumberOfFrames')?.trim() || '1') || 1;
  if (frame > frames) throw notFound(`instance ${instance.sopInstanceUid} has ${frames} frame(s); there is no frame ${frame}`);
  const size = frameSize(module);
  const start = (frame - 1) * size;
  let bytes: Uint8Array;
  if (pixel.bulk instanceof BulkData) {
    if (start + size > pixel.bulk.length) throw notAcceptable(`instance ${instance.sopInstanceUid}: its Pixel Data holds ${pixel.bulk.length} bytes, frame ${frame} needs ${start + size}`);
    const chunks: Uint8Array[] = [];
    for await (const c of await ctx.archive.blobs.getRange(instance.blobKey, pixel.bulk.offset + start, pixel.bulk.offset + start + size)) chunks.push(c);
    bytes = Buffer.concat(chunks);
  } else {
    bytes = pixel.bytes.subarray(start, start + size);
  }
  return encodeRendered(renderFrame(module, bytes, parameters.window), parameters);
}

/** PS3.18 §8.3.5.1.1: annotation values not applied are named in a Warning. */
export function warnAnnotations(ctx: DicomWebContext, request: FastifyRequest, reply: FastifyReply, parameters: RenderParameters): void {
  const values = parameters.unsupportedAnnotations;
  if (values?.length) reply.header('Warning', `299 ${ctx.warnAgent(request)} "The following annotation values are not supported: ${values.join(', ')}"`);
}

function sendImage(reply: FastifyReply, parameters: RenderParameters, image: Buffer): FastifyReply {
  return reply.code(200).type(parameters.mediaType).header('Content-Length', String(image.length)).send(image);
}

function sendParts(reply: FastifyReply, parameters: RenderParameters, parts: AsyncIterable<MultipartWritePart> | MultipartWritePart[]): FastifyReply {
  const boundary = newBoundary();
  return reply.code(200).type(`multipart/related; type="${parameters.mediaType}"; boundary=${boundary}`).send(Readable.from(writeMultipart(parts, boundary)));
}

async function rendered(ctx: DicomWebContext, request: FastifyRequest, reply: FastifyReply, path: ResourcePath, frames?: string): Promise<FastifyReply> {
  const parameters = renderParameters(request.query as Record<string, unknown>, request.headers.accept);
  warnAnnotations(ctx, request, reply, parameters);
  const wanted = frames === undefined ? undefined : frameNumbers(frames);
  const instances = await instancesOf(ctx, path);
  if (path.instance !== undefined) {
    const instance = instances[0]!;
    if (wanted === undefined || wanted.length === 1) return sendImage(reply, parameters, await renderInstanceFrame(ctx, instance, wanted?.[0] ?? 1, parameters));
    const images = [];
    for (const n of wanted) images.push(await renderInstanceFrame(ctx, instance, n, parameters));
    return sendParts(reply, parameters, images.map((body) => ({ headers: { 'Content-Type': parameters.mediaType }, body: [body] })));
  }
  // A study or series: every instance that can be rendered, its first frame (PS3.18 §10.4.1.1.3).
  const base = ctx.baseUrl(request);
  const images: MultipartWritePart[] = [];
  let refusal: unknown;
  for (const instance of instances) {
    try {
      images.push({ headers: { 'Content-Type': parameters.mediaType, 'Content-Location': `${instanceUrl(base, instance)}/rendered` }, body: [await renderInstanceFrame(ctx, instance, 1, parameters)] });
    } catch (error) {
      refusal ??= error;
    }
  }
  if (images.length === 0) throw refusal;
  return sendParts(reply, parameters, images);
}

async function thumbnail(ctx: DicomWebContext, request: FastifyRequest, reply: FastifyReply, path: ResourcePath, frame = 1): Promise<FastifyReply> {
  const given = renderParameters(request.query as Record<string, unknown>, request.headers.accept, true);
  const parameters: RenderParameters = { ...given, viewport: given.viewport ?? { width: THUMBNAIL_SIZE, height: THUMBNAIL_SIZE } };
  const instances = await instancesOf(ctx, path);
  // The middle instance first: of a series in acquisition order, the most representative.
  const middle = Math.floor((instances.length - 1) / 2);
  const order = [...instances.slice(middle), ...instances.slice(0, middle)];
  let refusal: unknown;
  for (const instance of order) {
    try {
      return sendImage(reply, parameters, await renderInstanceFrame(ctx, instance, frame, parameters));
    } catch (error) {
      refusal ??= error;
    }
  }
  throw refusal;
}

export function registerRendered(app: FastifyInstance, ctx: DicomWebContext): void {
  type P = { study: string; series?: string; instance?: string; frames?: string };
  getOnEachLevel(app, '/rendered', (request, reply) => rendered(ctx, request, reply, request.params));
  getOnEachLevel(app, '/thumbnail', (request, reply) => thumbnail(ctx, request, reply, request.params));
  app.get<{ Params: P }>('/studies/:study/series/:series/instances/:instance/frames/:frames/rendered', (request, reply) => rendered(ctx, request, reply, request.params, request.params.frames));
  app.get<{ Params: P }>('/studies/:study/series/:series/instances/:instance/frames/:frames/thumbnail', (request, reply) => {
    const list = frameNumbers(request.params.frames!);
    if (list.length !== 1) throw badRequest('a thumbnail is of one frame');
    return thumbnail(ctx, request, reply, request.params, list[0]);
  });
}
