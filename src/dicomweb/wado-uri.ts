/**
 * WADO-URI, Retrieve DICOM Instance (PS3.18 §9.4): GET /wado?requestType=WADO&studyUID=..&seriesUID=..
 * &objectUID=..[&contentType=application/dicom][&transferSyntax=uid], answered with the Part 10
 * file as application/dicom, in Explicit VR Little Endian unless transferSyntax asks otherwise
 * (§9.4.2.4; a compressed object without transferSyntax goes as stored, as in WADO-RS).
 * Rendered media types (image/jpeg, ...) need codecs Conduit does not have: 406.
 * contentType absent is taken as application/dicom, the only type served.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DicomWebContext } from './context.js';
import { badRequest, notAcceptable } from './http-error.js';
import { checkUid } from './request.js';
import { instancesOf } from './resources.js';
import { chooseTransferSyntax, instanceBytes } from './wado-retrieve.js';

function single(params: URLSearchParams, name: string, required: boolean): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) throw badRequest(`${name} is given ${values.length} times; WADO-URI takes one`);
  if (required && values.length === 0) throw badRequest(`WADO-URI needs ${name}`);
  return values[0];
}

async function answer(ctx: DicomWebContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const i = request.url.indexOf('?');
  const params = new URLSearchParams(i < 0 ? '' : request.url.slice(i + 1));
  if (single(params, 'requestType', true) !== 'WADO') throw badRequest('requestType must be WADO (PS3.18 §9.1.2.1)');
  const study = checkUid(single(params, 'studyUID', true)!, 'studyUID');
  const series = checkUid(single(params, 'seriesUID', true)!, 'seriesUID');
  const instance = checkUid(single(params, 'objectUID', true)!, 'objectUID');
  const contentTypes = (single(params, 'contentType', false) ?? 'application/dicom').split(',').map((s) => s.split(';')[0]!.trim().toLowerCase());
  if (!contentTypes.includes('application/dicom') && !contentTypes.includes('*/*')) {
    throw notAcceptable(`contentType ${contentTypes.join(', ')}: rendered images are not served (Conduit has no image codecs); ask contentType=application/dicom`);
  }
  const ts = single(params, 'transferSyntax', false);
  if (ts !== undefined) checkUid(ts, 'transferSyntax');
  const [stored] = await instancesOf(ctx, { study, series, instance });
  const target = chooseTransferSyntax(stored!.transferSyntaxUid, [ts]);
  if (target === undefined) {
    throw notAcceptable(`the instance is stored as ${stored!.transferSyntaxUid} and cannot be sent as ${ts}: Conduit converts only among uncompressed transfer syntaxes`);
  }
  return reply.code(200).type('application/dicom').header('Content-Disposition', `attachment; filename="${instance}.dcm"`).send(Readable.from(instanceBytes(ctx, stored!, target)));
}

export function registerWadoUri(app: FastifyInstance, ctx: DicomWebContext, path: string): void {
  app.get(path, (request, reply) => answer(ctx, request, reply));
}
