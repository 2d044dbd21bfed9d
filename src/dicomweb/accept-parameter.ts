/**
 * The Accept Query Parameter (PS3.18 §8.3.3.1): `accept=<media-type>[,...]` names the Acceptable
 * Media Types when the user agent cannot set the Accept header field (a link in a browser). Its
 * media types must each be compatible with a media range of the Accept header field (an absent
 * one accepts anything); those that are become the Accept the routes negotiate with. None
 * compatible is 406; DICOM media types together with consumer (rendered) ones is 400.
 */
import type { FastifyRequest } from 'fastify';
import { badRequest, notAcceptable } from './http-error.js';
import { parseAccept, qualityOf, type MediaType } from './media-type.js';

const DICOM_TYPES = new Set(['application/dicom', 'application/dicom+json', 'application/dicom+xml']);

function isDicom(m: MediaType): boolean {
  return DICOM_TYPES.has(m.type) || (m.type === 'multipart/related' && DICOM_TYPES.has((m.parameters.get('type') ?? '').toLowerCase()));
}

function isConsumer(m: MediaType): boolean {
  const type = m.type === 'multipart/related' ? (m.parameters.get('type') ?? '').toLowerCase() : m.type;
  return /^(image|video|text)\//.test(type);
}

/** Whether `wanted` falls in the media range `range` (RFC 9110 §12.5.1). */
function compatible(wanted: MediaType, range: MediaType): boolean {
  if (range.type === '*/*') return true;
  const [type] = wanted.type.split('/');
  return range.type === `${type}/*` || range.type === wanted.type;
}

/** Replaces the request's Accept header field by its accept query parameter, when there is one. */
export function applyAcceptParameter(request: FastifyRequest): void {
  const i = request.url.indexOf('?');
  if (i < 0) return;
  const values = new URLSearchParams(request.url.slice(i + 1)).getAll('accept');
  if (values.length === 0) return;
  const texts = values.flatMap((v) => v.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)).map((s) => s.trim()).filter((s) => s !== '');
  if (texts.length === 0) throw badRequest('the accept query parameter has no media type');
  const wanted = texts.map((text) => ({ text, type: parseAccept(text)[0]! }));
  if (wanted.some((w) => isDicom(w.type)) && wanted.some((w) => isConsumer(w.type))) {
    throw badRequest(`accept=${values.join(',')}: DICOM and non-DICOM media types together (PS3.18 §8.3.3.1)`);
  }
  const header = request.headers.accept;
  const ranges = header && header.trim() !== '' ? parseAccept(header).filter((m) => qualityOf(m) > 0) : parseAccept('*/*');
  const kept = wanted.filter((w) => ranges.some((r) => compatible(w.type, r)));
  if (kept.length === 0) throw notAcceptable(`accept=${values.join(',')} is not compatible with the Accept header field "${header}" (PS3.18 §8.3.3.1)`);
  request.headers.accept = kept.map((w) => w.text).join(', ');
}

/** The query string without the parameters every resource takes (accept, charset), for the search engine. */
export function withoutCommonParameters(query: string): string {
  if (!/(^|&)(accept|charset)=/i.test(query)) return query;
  return query.split('&').filter((p) => !/^(accept|charset)(=|$)/i.test(p)).join('&');
}
