/**
 * A streaming writer of multipart bodies (RFC 2046 §5.1.1, multipart/related RFC 2387) for WADO-RS
 * responses and STOW-RS requests (PS3.18 §8.7.3.1): each part's header fields, then its body
 * streamed as it comes, so a part of any size passes through in bounded memory.
 *
 * The boundary is random (newBoundary: 128 random bits), so it cannot be expected in the parts'
 * bytes; bodies are not scanned for it.
 */
import { randomBytes } from 'node:crypto';
import { DicomError } from '../../core/dicom-error.js';
import { isValidBoundary } from './multipart-parser.js';

export interface MultipartWritePart {
  /** Header fields (Content-Type, Content-Location, ...), in the order given. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Uint8Array | string | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
}

/** A fresh boundary. */
export function newBoundary(): string {
  return `conduit-${randomBytes(16).toString('hex')}`;
}

/** The bytes of a multipart body holding `parts`, delimited by `boundary`. */
export async function* writeMultipart(
  parts: Iterable<MultipartWritePart> | AsyncIterable<MultipartWritePart>,
  boundary: string,
): AsyncGenerator<Uint8Array> {
  if (!isValidBoundary(boundary)) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `"${boundary}" is not a valid multipart boundary (RFC 2046 §5.1.1)`);
  let first = true;
  for await (const part of parts) {
    let head = `${first ? '' : '\r\n'}--${boundary}\r\n`;
    for (const [name, value] of Object.entries(part.headers)) {
      if (value === undefined) continue;
      if (/[\r\n]/.test(name + value) || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
        throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `header field ${JSON.stringify(name)}: ${JSON.stringify(value)} cannot be written in a multipart part`);
      }
      head += `${name}: ${value}\r\n`;
    }
    yield Buffer.from(`${head}\r\n`, 'latin1');
    first = false;
    const body = part.body;
    if (typeof body === 'string') yield Buffer.from(body, 'utf8');
    else if (body instanceof Uint8Array) yield body;
    else for await (const chunk of body) if (chunk.length) yield chunk;
  }
  // A body with no part still needs its close delimiter (RFC 2046: at least one body part is
  // expected, but a response with no parts says "nothing" more clearly this way).
  yield Buffer.from(`${first ? '' : '\r\n'}--${boundary}--\r\n`, 'latin1');
}
