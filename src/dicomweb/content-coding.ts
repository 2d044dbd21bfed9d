/**
 * Content codings of request bodies (RFC 9110 §8.4.1): a STOW-RS request may carry its payload
 * with Content-Encoding, which the origin server shall support (PS3.18 Table 10.5.1-2). gzip
 * (x-gzip), deflate (the zlib format, RFC 9110 §8.4.1.2) and br are decoded as the body streams
 * (zlib streams with the request's back-pressure, so memory stays bounded); identity is none; any
 * other coding is 415 naming the ones taken, with Accept-Encoding (RFC 9110 §15.5.16, §12.5.3).
 */
import type { IncomingMessage } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import { DicomWebError } from './http-error.js';

const DECODERS: Readonly<Record<string, () => NodeJS.ReadWriteStream & Readable>> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

/** The Accept-Encoding of a 415 for a coding not taken. */
export const ACCEPTED_CODINGS = 'gzip, deflate, br, identity';

/** The codings of a Content-Encoding field in the order applied (none: []); 415 for one not taken. */
export function contentCodings(header: string | undefined): string[] {
  const codings = (header ?? '').split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '' && c !== 'identity');
  const unknown = codings.filter((c) => DECODERS[c] === undefined);
  if (unknown.length) {
    throw new DicomWebError('ERR_DICOM_MEDIA_TYPE', `Content-Encoding ${unknown.join(', ')} is not supported: the request body may be coded with ${ACCEPTED_CODINGS}`, 415, {
      headers: { 'Accept-Encoding': ACCEPTED_CODINGS },
    });
  }
  return codings;
}

/**
 * The request body with its content codings undone (the request itself when there are none). A
 * body that does not decode fails with a 400 naming the coding; the client going away fails the
 * decoded stream with the request's error.
 */
export function decodedBody(request: IncomingMessage): Readable {
  let body: Readable = request;
  // Undone in the reverse order of their application (RFC 9110 §8.4).
  for (const coding of contentCodings(request.headers['content-encoding']).reverse()) {
    const decoder = DECODERS[coding]!();
    // zlib fails a stream by destroying it with its error: that error, as a 400 that says which
    // coding did not decode (Z_DATA_ERROR "incorrect header check" alone says little).
    const destroy = decoder._destroy.bind(decoder);
    decoder._destroy = (error, callback) => destroy(error && isDecodeError(error) ? decodeError(coding, error) : error, callback);
    // The consumer hears of failures on the decoded stream (pipeline destroys it with them).
    body = pipeline(body, decoder, () => undefined);
  }
  return body;
}

function isDecodeError(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('Z_') || code.startsWith('ERR_BROTLI'));
}

function decodeError(coding: string, cause: Error): DicomWebError {
  return new DicomWebError('ERR_DICOM_WEB_REQUEST', `the request body does not decode as Content-Encoding ${coding}: ${cause.message}`, 400, { cause });
}
