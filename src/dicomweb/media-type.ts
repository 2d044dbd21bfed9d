/**
 * Media types with parameters (RFC 9110 §8.3.1, §5.6.6): `type/subtype; name=value; name="quoted"`,
 * as Content-Type and Accept carry them for DICOMweb (PS3.18 §8.7.3: multipart/related;
 * type="application/dicom"; transfer-syntax=...). Type, subtype and parameter names are
 * case-insensitive and returned in lower case; parameter values keep their case.
 */
import { DicomError } from '../core/dicom-error.js';

export interface MediaType {
  /** `type/subtype`, lower case. */
  readonly type: string;
  /** Parameters by lower-case name (q included, for Accept). */
  readonly parameters: ReadonlyMap<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function mediaTypeError(message: string): DicomError {
  return new DicomError('ERR_DICOM_MEDIA_TYPE', message);
}

/** Splits `text` at `separator` outside quoted strings. */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      current += c;
      if (c === '\\' && i + 1 < text.length) current += text[++i];
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
      current += c;
    } else if (c === separator) {
      out.push(current);
      current = '';
    } else current += c;
  }
  if (quoted) throw mediaTypeError(`unterminated quoted string in "${text}"`);
  out.push(current);
  return out;
}

function unquote(value: string): string {
  if (!value.startsWith('"')) return value;
  return value.slice(1, -1).replace(/\\(.)/g, '$1');
}

/** One media type, e.g. a Content-Type header value. */
export function parseMediaType(text: string): MediaType {
  const [head, ...params] = splitOutsideQuotes(text, ';');
  const type = head!.trim().toLowerCase();
  const [t, s, ...rest] = type.split('/');
  if (!t || !s || rest.length || !TOKEN.test(t) || !TOKEN.test(s)) throw mediaTypeError(`"${text}" is not a media type (type/subtype)`);
  const parameters = new Map<string, string>();
  for (const p of params) {
    if (p.trim() === '') continue;
    const eq = p.indexOf('=');
    if (eq < 0) throw mediaTypeError(`parameter "${p.trim()}" of "${text}" has no value`);
    const name = p.slice(0, eq).trim().toLowerCase();
    if (!TOKEN.test(name)) throw mediaTypeError(`"${name}" in "${text}" is not a parameter name`);
    parameters.set(name, unquote(p.slice(eq + 1).trim()));
  }
  return { type, parameters };
}

/** An Accept header: its media ranges, in the order given (q values are in `parameters`). */
export function parseAccept(text: string): MediaType[] {
  return splitOutsideQuotes(text, ',').filter((s) => s.trim() !== '').map(parseMediaType);
}

/** The q value of an Accept media range (1 when absent). */
export function qualityOf(m: MediaType): number {
  const q = m.parameters.get('q');
  if (q === undefined) return 1;
  const n = Number(q);
  return Number.isFinite(n) && n >= 0 && n <= 1 ? n : 0;
}

/** A media type with parameters, values quoted when they need it. */
export function formatMediaType(type: string, parameters: Readonly<Record<string, string | undefined>> = {}): string {
  let out = type;
  for (const [name, value] of Object.entries(parameters)) {
    if (value === undefined) continue;
    out += `; ${name}=${TOKEN.test(value) && name !== 'type' ? value : `"${value.replace(/(["\\])/g, '\\$1')}"`}`;
  }
  return out;
}
