/**
 * The elements of a JSON array read as its bytes arrive, for the JSON model responses of QIDO-RS
 * and WADO-RS metadata (PS3.18 §F.2: an array of data sets): each element is parsed as soon as it
 * is complete, so a search with many results is not held whole, and a consumer that stops early
 * stops the transfer. Only the array's structure is scanned here ("[", "]", ",", strings, nesting;
 * all ASCII, so UTF-8 bytes can be scanned as they are); JSON.parse checks each element.
 */
import { DicomError } from '../../core/dicom-error.js';

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function jsonError(message: string, offset: number): DicomError {
  return new DicomError('ERR_DICOM_JSON', message, { offset });
}

/** The parsed elements of the JSON array in `source`; an empty body is an empty array. */
export async function* jsonArrayElements(source: AsyncIterable<Uint8Array>, options: { maxElementBytes?: number } = {}): AsyncGenerator<unknown> {
  const maxElementBytes = options.maxElementBytes ?? 256 * 1024 * 1024;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let state: 'before' | 'array' | 'after' = 'before';
  let needComma = false;
  let elements = 0;
  let parts: Uint8Array[] = [];
  let size = 0;
  let inElement = false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let offset = 0;
  let elementOffset = 0;

  const finish = (chunk: Uint8Array, start: number, end: number): unknown => {
    parts.push(chunk.subarray(start, end));
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    parts = [];
    size = 0;
    inElement = false;
    needComma = true;
    elements++;
    try {
      return JSON.parse(decoder.decode(bytes));
    } catch (cause) {
      throw new DicomError('ERR_DICOM_JSON', `element ${elements - 1} of the JSON array does not parse: ${(cause as Error).message}`, { offset: elementOffset, cause });
    }
  };

  for await (const chunk of source) {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (inElement) {
        if (inString) {
          if (escaped) escaped = false;
          else if (c === BACKSLASH) escaped = true;
          else if (c === QUOTE) inString = false;
          continue;
        }
        if (c === QUOTE) {
          inString = true;
          continue;
        }
        if (c === OPEN_BRACE || c === OPEN_BRACKET) {
          depth++;
          continue;
        }
        if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && depth > 0) {
          depth--;
          continue;
        }
        if (depth > 0 || (c !== COMMA && c !== CLOSE_BRACKET)) continue;
        // The element ends before this comma or the array's closing bracket.
        yield finish(chunk, start, i);
      }
      if (isSpace(c)) continue;
      const at = offset + i;
      if (state === 'before') {
        if (c !== OPEN_BRACKET) throw jsonError('the response is not a JSON array', at);
        state = 'array';
      } else if (state === 'after') {
        throw jsonError('text after the end of the JSON array', at);
      } else if (c === CLOSE_BRACKET) {
        if (!needComma && elements > 0) throw jsonError('a comma before the end of the JSON array', at);
        state = 'after';
      } else if (c === COMMA) {
        if (!needComma) throw jsonError('a comma where an element of the JSON array was expected', at);
        needComma = false;
      } else {
        if (needComma) throw jsonError('a comma or the end of the JSON array was expected', at);
        inElement = true;
        elementOffset = at;
        start = i;
        depth = c === OPEN_BRACE || c === OPEN_BRACKET ? 1 : 0;
        inString = c === QUOTE;
        escaped = false;
      }
    }
    if (inElement) {
      parts.push(chunk.subarray(start));
      size += chunk.length - start;
      if (size > maxElementBytes) throw jsonError(`an element of the JSON array is longer than ${maxElementBytes} bytes`, elementOffset);
    }
    offset += chunk.length;
  }
  if (state === 'array') throw jsonError('the JSON array ends before its closing bracket', offset);
}
