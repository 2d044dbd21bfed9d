/**
 * WADO-URI (PS3.18 §9): GET /wado?requestType=WADO&studyUID=..&seriesUID=..&objectUID=.. and
 * two transactions told apart by the Selected Media Type (§9.3):
 *   Retrieve DICOM Instance (§9.4)    contentType=application/dicom: the Part 10 file, in
 *                                     Explicit VR Little Endian unless transferSyntax asks
 *                                     otherwise (§9.4.2.4; a compressed object without
 *                                     transferSyntax goes as stored, as in WADO-RS)
 *   Retrieve Rendered Instance (§9.5) contentType=image/jpeg, image/png or image/gif: one frame
 *                                     (frameNumber) rendered as WADO-RS renders it (rendered/),
 *                                     with rows/columns (the viewport), region (normalized),
 *                                     windowCenter/windowWidth, imageQuality, annotation
 * Without contentType the Accept header field decides, and "*\/*" (or none) means image/jpeg
 * (§9.3), unless a parameter only the DICOM transaction takes (transferSyntax, anonymize) is
 * given. Media type parameters in contentType are 400 (§9.1.2.2.1). The response carries its
 * Content-Location (§9.4.3). Presentation states and anonymize are not supported.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DicomWebContext } from './context.js';
import { badRequest, notAcceptable } from './http-error.js';
import { parseAccept, qualityOf } from './media-type.js';
import { parseAnnotation, RENDERED_MEDIA_TYPES, type RenderedMediaType, type RenderParameters } from './rendered/parameters.js';
import { renderInstanceFrame, warnAnnotations } from './rendered/route.js';
import { checkUid } from './request.js';
import { instancesOf } from './resources.js';
import { chooseTransferSyntax, instanceBytes } from './wado-retrieve.js';

const DICOM = 'application/dicom';
type UriMediaType = typeof DICOM | RenderedMediaType;

function single(params: URLSearchParams, name: string, required = false): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) throw badRequest(`${name} is given ${values.length} times; WADO-URI takes one`);
  if (required && values.length === 0) throw badRequest(`WADO-URI needs ${name}`);
  return values[0];
}

/** The Selected Media Type (§9.1.2.2.1, §9.3). */
function selectMediaType(params: URLSearchParams, accept: string | undefined): UriMediaType {
  const supported: readonly string[] = [DICOM, ...RENDERED_MEDIA_TYPES];
  const contentType = single(params, 'contentType');
  if (contentType !== undefined) {
    const types = parseAccept(contentType);
    if (types.some((m) => m.parameters.has('transfer-syntax') || m.parameters.has('charset'))) {
      throw badRequest(`contentType=${contentType}: media type parameters are forbidden in WADO-URI (use transferSyntax, charset) (PS3.18 §9.1.2.2.1)`);
    }
    // §9.1.2.2.1: a list "potentially associated with relative degree of preference" (q values,
    // RFC 9110 §12.5.1): the most preferred served, q=0 never; equal preferences in the order given.
    const ranked = types.filter((m) => qualityOf(m) > 0).sort((a, b) => qualityOf(b) - qualityOf(a));
    const found = ranked.map((m) => (m.type === '*/*' || m.type === 'image/*' ? 'image/jpeg' : m.type)).find((t) => supported.includes(t));
    if (!found) throw notAcceptable(`contentType ${contentType}: WADO-URI serves ${supported.join(', ')}`);
    return found as UriMediaType;
  }
  if (params.has('transferSyntax') || params.has('anonymize')) return DICOM;
  if (!accept || accept.trim() === '') return 'image/jpeg';
  const ranges = parseAccept(accept).filter((m) => qualityOf(m) > 0).sort((a, b) => qualityOf(b) - qualityOf(a));
  for (const m of ranges) {
    if (m.type === '*/*' || m.type === 'image/*') return 'image/jpeg';
    if (supported.includes(m.type)) return m.type as UriMediaType;
  }
  throw notAcceptable(`WADO-URI serves ${supported.join(', ')}, not "${accept}"`);
}

function decimal(name: string, text: string): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text.trim())) throw badRequest(`${name}=${text}: a decimal number`);
  return Number(text);
}

function positiveInteger(name: string, text: string): number {
  if (!/^[1-9]\d{0,8}$/.test(text.trim())) throw badRequest(`${name}=${text}: a positive integer`);
  return Number(text);
}

const RENDERING_ONLY = ['frameNumber', 'rows', 'columns', 'region', 'windowCenter', 'windowWidth', 'imageQuality', 'annotation', 'imageAnnotation', 'presentationUID', 'presentationSeriesUID'];

/** The rendering asked by the URI parameters (§9.5.1.2). */
function renderParametersOf(params: URLSearchParams, mediaType: RenderedMediaType): { parameters: RenderParameters; frame: number } {
  if (params.has('presentationUID') || params.has('presentationSeriesUID')) {
    throw badRequest('presentationUID / presentationSeriesUID: Conduit does not apply presentation states (PS3.18 §9.5.1.2.7)');
  }
  const frameText = single(params, 'frameNumber');
  const frame = frameText === undefined ? 1 : positiveInteger('frameNumber', frameText);
  const q = single(params, 'imageQuality');
  const quality = q === undefined ? undefined : positiveInteger('imageQuality', q);
  if (quality !== undefined && quality > 100) throw badRequest(`imageQuality=${q}: an integer from 1 to 100 (PS3.18 §8.3.5.1.2)`);
  const rows = single(params, 'rows');
  const columns = single(params, 'columns');
  const center = single(params, 'windowCenter');
  const width = single(params, 'windowWidth');
  if ((center === undefined) !== (width === undefined)) throw badRequest('windowCenter and windowWidth go together (PS3.18 §9.5.1.2.6)');
  let window: RenderParameters['window'];
  if (center !== undefined) {
    const w = decimal('windowWidth', width!);
    if (w < 1) throw badRequest(`windowWidth=${width}: at least 1 (linear window, PS3.3 C.11.2.1.2)`);
    window = { center: decimal('windowCenter', center), width: w, function: 'LINEAR' };
  }
  const regionText = single(params, 'region');
  let normalizedRegion: RenderParameters['normalizedRegion'];
  if (regionText !== undefined) {
    const v = regionText.split(',').map((s, i) => decimal(`region value ${i + 1}`, s));
    if (v.length !== 4 || !(v[0]! >= 0 && v[0]! < v[2]! && v[2]! <= 1 && v[1]! >= 0 && v[1]! < v[3]! && v[3]! <= 1)) {
      throw badRequest(`region=${regionText}: xmin,ymin,xmax,ymax with 0 <= min < max <= 1 (PS3.18 §9.5.1.2.5)`);
    }
    normalizedRegion = { xmin: v[0]!, ymin: v[1]!, xmax: v[2]!, ymax: v[3]! };
  }
  const a = single(params, 'annotation') ?? single(params, 'imageAnnotation');
  const annotations = a === undefined ? [] : parseAnnotation(a);
  const parameters: RenderParameters = {
    mediaType,
    ...(quality !== undefined ? { quality } : {}),
    // Rows and columns are each a maximum; one alone sets that side, the other keeps the aspect ratio
    // (PS3.18 §9.5.1.2.4; in 2019a §8.2.2: "If the number of rows is absent and the number of columns is present ...").
    ...(rows !== undefined || columns !== undefined ? {
      viewport: { ...(columns !== undefined ? { width: positiveInteger('columns', columns) } : {}), ...(rows !== undefined ? { height: positiveInteger('rows', rows) } : {}) },
    } : {}),
    ...(window ? { window } : {}),
    ...(normalizedRegion ? { normalizedRegion } : {}),
    ...(annotations.length ? { unsupportedAnnotations: annotations } : {}),
  };
  return { parameters, frame };
}

async function answer(ctx: DicomWebContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const i = request.url.indexOf('?');
  const params = new URLSearchParams(i < 0 ? '' : request.url.slice(i + 1));
  if (single(params, 'requestType', true) !== 'WADO') throw badRequest('requestType must be WADO (PS3.18 §9.1.2.1.1)');
  const study = checkUid(single(params, 'studyUID', true)!, 'studyUID');
  const series = checkUid(single(params, 'seriesUID', true)!, 'seriesUID');
  const instance = checkUid(single(params, 'objectUID', true)!, 'objectUID');
  const mediaType = selectMediaType(params, request.headers.accept);
  const serviceBase = ctx.baseUrl(request);
  const origin = serviceBase.endsWith(ctx.basePath) ? serviceBase.slice(0, serviceBase.length - ctx.basePath.length) : new URL(serviceBase).origin;
  reply.header('Content-Location', `${origin}${request.url}`);
  if (mediaType !== DICOM) {
    const { parameters, frame } = renderParametersOf(params, mediaType);
    const [stored] = await instancesOf(ctx, { study, series, instance });
    const image = await renderInstanceFrame(ctx, stored!, frame, parameters);
    warnAnnotations(ctx, request, reply, parameters);
    return reply.code(200).type(mediaType).header('Content-Length', String(image.length)).send(image);
  }
  const renderingOnly = RENDERING_ONLY.filter((p) => params.has(p));
  if (renderingOnly.length) throw badRequest(`${renderingOnly.join(', ')}: parameters of rendered images, not of contentType=application/dicom (PS3.18 §9.5.1.2.6)`);
  const anonymize = single(params, 'anonymize');
  if (anonymize !== undefined) {
    if (anonymize !== 'yes') throw badRequest(`anonymize=${anonymize}: the only value is "yes" (PS3.18 §9.4.2.3)`);
    throw notAcceptable('anonymize=yes: Conduit does not de-identify instances (PS3.18 §9.4.2.3 lets an origin server refuse)');
  }
  const ts = single(params, 'transferSyntax');
  if (ts !== undefined) checkUid(ts, 'transferSyntax');
  const [stored] = await instancesOf(ctx, { study, series, instance });
  const target = chooseTransferSyntax(stored!.transferSyntaxUid, [ts]);
  if (target === undefined) {
    throw notAcceptable(`the instance is stored as ${stored!.transferSyntaxUid} and cannot be sent as ${ts}: Conduit converts only among uncompressed transfer syntaxes`);
  }
  return reply.code(200).type(DICOM).header('Content-Disposition', `attachment; filename="${instance}.dcm"`).send(Readable.from(instanceBytes(ctx, stored!, target)));
}

export function registerWadoUri(app: FastifyInstance, ctx: DicomWebContext, path: string): void {
  app.get(path, (request, reply) => answer(ctx, request, reply));
}
