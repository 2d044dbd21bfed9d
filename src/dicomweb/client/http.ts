/**
 * The HTTP side of the DICOMweb client: URLs and query strings, authentication, one request
 * through `fetch` with its failures turned into DicomErrors, and the few header fields PS3.18 gives
 * meaning to in responses (Warning, §8.3.4.4 and §8.3.4.2; Content-Type's boundary, §8.7.3.1).
 */
import { DicomError } from '../../core/dicom-error.js';
import { parseMediaType, type MediaType } from '../media-type.js';

export type FetchFunction = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** HTTP Basic (RFC 7617) or a bearer token (RFC 6750), given or fetched anew for each request. */
export type DicomWebAuth =
  | { readonly username: string; readonly password: string }
  | { readonly token: string | (() => string | Promise<string>) };

/**
 * The server answered with an error status: `status` and the server's own words (`serverMessage`:
 * the message of a JSON error body, Conduit's or Orthanc's, a text body, or the Warning header).
 */
export class DicomWebHttpError extends DicomError {
  readonly status: number;
  readonly statusText: string;
  readonly method: string;
  readonly url: string;
  readonly serverMessage: string | undefined;
  /** The Warning header's texts. */
  readonly warnings: readonly string[];

  constructor(method: string, url: string, status: number, statusText: string, serverMessage: string | undefined, warnings: readonly string[]) {
    super('ERR_DICOM_WEB_HTTP', `${method} ${url}: HTTP ${status}${statusText ? ` ${statusText}` : ''}${serverMessage ? `: ${serverMessage}` : ''}`);
    this.name = 'DicomWebHttpError';
    this.status = status;
    this.statusText = statusText;
    this.method = method;
    this.url = url;
    this.serverMessage = serverMessage;
    this.warnings = warnings;
  }
}

export function responseError(message: string, cause?: unknown): DicomError {
  return new DicomError('ERR_DICOM_WEB_RESPONSE', message, cause === undefined ? {} : { cause });
}

/**
 * Text of a query parameter value. RFC 3986 allows sub-delimiters, ":", "@", "/" and "?" in a
 * query; those stay as they are, with "^" (the PN component separator): Orthanc 1.10 does not
 * percent-decode query values (`PatientName=Doe%5EJohn` matches nothing there), and a WHATWG URL
 * keeps "^" as it is. "&", "=", "+" and "#" would change the query's meaning and are escaped, as is
 * everything outside ASCII's printable characters.
 */
export function encodeQueryValue(value: string): string {
  return encodeURIComponent(value).replace(/%(2C|3A|40|2F|3F|24|3B|5E)/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** `base` joined with the path segments (each percent-encoded) and the query parameters in order. */
export function buildUrl(base: string, segments: readonly string[], query: readonly (readonly [string, string])[] = []): string {
  let url = base.replace(/\/+$/, '');
  for (const s of segments) url += `/${encodeURIComponent(s)}`;
  if (query.length) url += `?${query.map(([k, v]) => `${encodeQueryValue(k)}=${encodeQueryValue(v)}`).join('&')}`;
  return url;
}

/**
 * The texts of a Warning header (RFC 7234 §5.5: `warn-code warn-agent "warn-text"`, several
 * separated by commas), as PS3.18 §8.3.4 servers send them; a value of another form is kept whole.
 */
export function parseWarnings(header: string | null): string[] {
  if (header === null || header.trim() === '') return [];
  const out: string[] = [];
  const re = /(\d{3})\s+(\S+)\s+"((?:[^"\\]|\\.)*)"(?:\s+"[^"]*")?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(header)) !== null) out.push(m[3]!.replace(/\\(.)/g, '$1'));
  return out.length ? out : [header.trim()];
}

/** The Content-Type of a response, parsed (undefined when absent or not a media type). */
export function contentTypeOf(response: Response): MediaType | undefined {
  const text = response.headers.get('content-type');
  if (!text) return undefined;
  try {
    return parseMediaType(text);
  } catch {
    return undefined;
  }
}

/** The response's body as an async iterable of bytes (empty when it has none). */
export async function* bodyOf(response: Response): AsyncGenerator<Uint8Array> {
  if (!response.body) return;
  yield* response.body as unknown as AsyncIterable<Uint8Array>;
}

const ERROR_BODY_LIMIT = 64 * 1024;

async function errorText(response: Response): Promise<string> {
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of bodyOf(response)) {
      chunks.push(Buffer.from(c));
      size += c.length;
      if (size >= ERROR_BODY_LIMIT) break;
    }
    return Buffer.concat(chunks).toString('utf8').slice(0, ERROR_BODY_LIMIT);
  } catch {
    // the body could not be read: the status says enough
    return '';
  }
}

/** What the server said about an error: Conduit's { error: { message } }, Orthanc's { Message, Details }, or a short text. */
export function serverMessageOf(body: string): string | undefined {
  let text = body.trim();
  if (text === '') return undefined;
  if (text.startsWith('{')) {
    try {
      const json = JSON.parse(text) as Record<string, unknown>;
      const conduit = json.error as { message?: unknown } | undefined;
      if (typeof conduit?.message === 'string') return conduit.message;
      if (typeof json.Message === 'string') return typeof json.Details === 'string' && json.Details !== '' ? `${json.Message} (${json.Details})` : json.Message;
      if (typeof json.message === 'string') return json.message;
    } catch {
      // not JSON after all
    }
  }
  if (/^<(!doctype|html)/i.test(text)) text = text.replace(/<[^>]*>/g, ' ');
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 500 ? `${line.slice(0, 500)}...` : line;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: ReadableStream<Uint8Array> | Uint8Array | string;
  signal?: AbortSignal;
  /** Statuses other than 2xx to hand back rather than throw for. */
  acceptStatuses?: readonly number[];
}

export interface HttpSettings {
  fetch: FetchFunction;
  headers: Readonly<Record<string, string>>;
  auth: DicomWebAuth | undefined;
}

async function authorization(auth: DicomWebAuth | undefined): Promise<string | undefined> {
  if (!auth) return undefined;
  if ('username' in auth) return `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
  const token = typeof auth.token === 'function' ? await auth.token() : auth.token;
  return `Bearer ${token}`;
}

/**
 * One request. A response with an error status becomes a DicomWebHttpError (its body read for the
 * server's message); a request that did not reach the server, ERR_DICOM_TRANSPORT with the system
 * error as its cause. No `Expect: 100-continue` is ever sent (Orthanc 1.10 does not answer it).
 */
export async function send(settings: HttpSettings, url: string, options: RequestOptions = {}): Promise<Response> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { ...settings.headers, ...options.headers };
  const auth = await authorization(settings.auth);
  if (auth !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')) headers.Authorization = auth;
  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  if (options.signal) init.signal = options.signal;
  if (options.body !== undefined) {
    init.body = options.body as BodyInit;
    // A streamed request body (fetch, Node's undici) must say so.
    if (options.body instanceof ReadableStream) init.duplex = 'half';
  }
  let response: Response;
  try {
    response = await settings.fetch(url, init);
  } catch (err) {
    if ((err as Error)?.name === 'AbortError' || err instanceof DicomError) throw err;
    const cause = (err as { cause?: unknown })?.cause ?? err;
    const reason = (cause as NodeJS.ErrnoException)?.code ?? (cause as Error)?.message ?? String(cause);
    throw new DicomError('ERR_DICOM_TRANSPORT', `${method} ${url}: the request failed (${reason})`, { cause });
  }
  if (response.ok || options.acceptStatuses?.includes(response.status)) return response;
  const warnings = parseWarnings(response.headers.get('warning'));
  const message = serverMessageOf(await errorText(response)) ?? (warnings.length ? warnings.join('; ') : undefined);
  throw new DicomWebHttpError(method, url, response.status, response.statusText, message, warnings);
}

/** A ReadableStream that pulls from `source` only as the consumer (fetch's upload) asks for more. */
export function pullStream(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const r = await it.next();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      } catch (err) {
        controller.error(err);
      }
    },
    async cancel(reason) {
      await it.return?.(reason);
    },
  }, { highWaterMark: 0 });
}
