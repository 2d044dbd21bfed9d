/**
 * A DICOMweb user agent (PS3.18 §10): QIDO-RS searches, WADO-RS retrieval (instances, metadata,
 * frames, bulk data) and STOW-RS, over `fetch`, streaming both ways: search results and metadata
 * are parsed element by element as the JSON arrives, retrieved instances are the parts of the
 * multipart response read as they come, and stored instances are read from their files as the
 * upload takes them.
 */
import { DicomError } from '../../core/dicom-error.js';
import type { DataSet } from '../../data/data-set.js';
import type { BulkDataResolver } from '../../data/bulk-data-reference.js';
import { fromDicomJsonSync } from '../../data/json-model-read.js';
import type { DicomJsonDataSet } from '../../data/json-model.js';
import { formatMediaType } from '../media-type.js';
import { newBoundary } from '../multipart/index.js';
import {
  bodyOf, buildUrl, contentTypeOf, parseWarnings, pullStream, responseError, send, serverMessageOf, DicomWebHttpError,
  type DicomWebAuth, type FetchFunction, type HttpSettings, type RequestOptions,
} from './http.js';
import { jsonArrayElements } from './json-array.js';
import { nodeFetch, nodeFetchWith } from './node-fetch.js';
import { responseParts, retrievedInstance, retrievedPart, type RetrievedInstance, type RetrievedPart } from './parts.js';
import { multipartLength, parseStoreResponse, stowBody, stowPart, type StoreResult, type StowInput } from './stow.js';

export interface DicomWebClientOptions {
  /** The service's root, e.g. `http://pacs.example.org:8042/dicom-web` (the resources are below it). */
  baseUrl: string | URL;
  /** Header fields sent with every request. */
  headers?: Record<string, string>;
  auth?: DicomWebAuth;
  /**
   * The fetch to use. Default: one over node:http and node:https that keeps to the socket's
   * back-pressure when uploading (node-fetch.ts); the global fetch works too, but buffers uploads.
   */
  fetch?: FetchFunction;
  /**
   * With the default fetch: the CA certificates (PEM) an https:// server's certificate must verify
   * against, in place of Node's list (which NODE_EXTRA_CA_CERTS extends).
   */
  ca?: string | Buffer | Array<string | Buffer>;
  /**
   * With the default fetch: a client certificate (PEM, with its chain) and its private key, for
   * https:// servers that require one (mutual TLS, e.g. `conduit serve --http-tls-ca`).
   */
  clientCertificate?: { cert: string | Buffer; key: string | Buffer };
}

/** A match value: text (wildcards, ranges, as PS3.18 §8.3.4.1 allows), a number, or a list (joined with ","). */
export type QidoValue = string | number | readonly (string | number)[];

/**
 * QIDO-RS query parameters (PS3.18 §8.3.4): attribute matching by keyword, tag (`00100020`) or
 * sequence path (`RequestAttributesSequence.ScheduledProcedureStepID`), and the parameters with a
 * meaning of their own.
 */
export interface QidoQuery {
  /** Attributes to return beyond the defaults: keywords or tags, or 'all'. */
  includefield?: string | readonly string[];
  fuzzymatching?: boolean;
  limit?: number;
  offset?: number;
  [attribute: string]: QidoValue | boolean | undefined;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface RetrieveOptions extends CallOptions {
  /**
   * Transfer syntaxes acceptable, in order of preference (PS3.18 §8.7.3.5.2): a UID, '*' for the
   * one the instance is stored in, or a list. Default: none named, so the server's default
   * (Explicit VR Little Endian).
   */
  transferSyntax?: string | readonly string[];
  /** Called when the response's header has come, before the first part (e.g. to size a progress bar). */
  onResponse?: (response: { httpStatus: number; contentLength: number | undefined; headers: Headers }) => void;
}

export interface FrameOptions extends RetrieveOptions {
  /** The frames' media type (default application/octet-stream: uncompressed, or as stored with transferSyntax '*'). */
  mediaType?: string;
}

export interface RetrievedFrame extends RetrievedPart {
  /** The frame number asked for that this part holds (the parts come in the order asked). */
  readonly frameNumber: number;
}

export interface BulkDataOptions extends CallOptions {
  /** Bytes wanted, `end` inclusive (RFC 9110 §14.1.2); applied here when the server sends the whole value. */
  range?: { start: number; end?: number };
}

export interface BulkDataResponse {
  httpStatus: number;
  contentType: string | undefined;
  /** The range delivered (the one asked, when a range was asked). */
  range: { start: number; end?: number } | undefined;
  body: AsyncIterable<Uint8Array>;
  bytes(): Promise<Uint8Array>;
}

/** The WADL JSON of PS3.18 Annex G: `{ application: { resources: [{ '@base', resource: [...] }] } }`. */
export interface WadlJson {
  readonly application: { readonly resources?: ReadonlyArray<{ readonly '@base'?: string; readonly resource?: readonly WadlJsonResource[] }> };
}

export interface WadlJsonResource {
  readonly '@path': string;
  readonly method?: ReadonlyArray<{ readonly '@name': string; readonly '@id'?: string }>;
  readonly resource?: readonly WadlJsonResource[];
}

export interface DicomWebCapabilities {
  /** The methods the resource allows (its Allow header field). */
  readonly allow: readonly string[];
  readonly description: WadlJson;
}

export interface StowOptions extends CallOptions {
  /** Store into this study (POST /studies/{study}): instances of other studies fail (PS3.18 §10.5.1). */
  study?: string;
  /** Called as the upload takes each chunk: bytes of part `partIndex`. */
  onProgress?: (bytes: number, partIndex: number) => void;
}

/** The results of a search, as they arrive; the Warning header and the status once the response has come. */
export class DicomWebSearch implements AsyncIterable<DataSet> {
  /** Texts of the response's Warning header (PS3.18 §8.3.4.4: results cut; §8.3.4.2: fuzzy matching not done). */
  warnings: string[] = [];
  httpStatus: number | undefined;

  constructor(private readonly request: (signal: AbortSignal) => Promise<Response>, private readonly signal: AbortSignal | undefined) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<DataSet> {
    const controller = new AbortController();
    const signal = this.signal ? AbortSignal.any([this.signal, controller.signal]) : controller.signal;
    try {
      const response = await this.request(signal);
      this.httpStatus = response.status;
      this.warnings = parseWarnings(response.headers.get('warning'));
      // PS3.18 §10.6.3: 204 No Content when nothing matched.
      if (response.status === 204) return;
      checkJson(response);
      for await (const element of jsonArrayElements(bodyOf(response))) yield dataSetOf(element);
    } finally {
      // Also when the consumer stops early: the rest of the response is not wanted.
      controller.abort();
    }
  }

  /** Every result. */
  async all(): Promise<DataSet[]> {
    const out: DataSet[] = [];
    for await (const ds of this) out.push(ds);
    return out;
  }
}

function argumentError(message: string): DicomError {
  return new DicomError('ERR_DICOM_INVALID_ARGUMENT', message);
}

function checkJson(response: Response): void {
  const type = contentTypeOf(response)?.type;
  if (type !== undefined && type !== 'application/dicom+json' && type !== 'application/json') {
    throw responseError(`${response.url} answered with Content-Type ${type}, not application/dicom+json`);
  }
}

function dataSetOf(element: unknown): DataSet {
  if (typeof element !== 'object' || element === null || Array.isArray(element)) throw responseError('an element of the JSON response is not a data set');
  return fromDicomJsonSync(element as DicomJsonDataSet);
}

/** Accept for instances: one media range per transfer syntax, in order of preference. */
function acceptFor(type: string, transferSyntax: string | readonly string[] | undefined, multipart = true): string {
  const list: (string | undefined)[] = transferSyntax === undefined ? [undefined] : typeof transferSyntax === 'string' ? [transferSyntax] : [...transferSyntax];
  return list.map((ts, i) => {
    const q = list.length > 1 ? Math.max(0.1, 1 - i * 0.1).toFixed(1) : undefined;
    return multipart
      ? formatMediaType('multipart/related', { type, 'transfer-syntax': ts, q })
      : formatMediaType(type, { 'transfer-syntax': ts, q });
  }).join(', ');
}

function queryPairs(query: QidoQuery): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (key === 'includefield') {
      const fields = typeof value === 'string' ? [value] : (value as readonly string[]);
      if (fields.length) pairs.push([key, fields.join(',')]);
    } else if (typeof value === 'boolean') {
      pairs.push([key, String(value)]);
    } else if (Array.isArray(value)) {
      pairs.push([key, value.map(String).join(',')]);
    } else {
      pairs.push([key, String(value)]);
    }
  }
  return pairs;
}

export class DicomWebClient {
  readonly baseUrl: string;
  private readonly http: HttpSettings;

  constructor(options: DicomWebClientOptions) {
    const base = String(options.baseUrl);
    if (!/^https?:\/\//i.test(base)) throw argumentError(`baseUrl ${base} is not an http or https URL`);
    this.baseUrl = base.replace(/\/+$/, '');
    const tls = { ...(options.ca !== undefined ? { ca: options.ca } : {}), ...options.clientCertificate };
    this.http = { fetch: options.fetch ?? (Object.keys(tls).length > 0 ? nodeFetchWith(tls) : nodeFetch), headers: options.headers ?? {}, auth: options.auth };
  }

  private url(segments: readonly string[], query: readonly (readonly [string, string])[] = []): string {
    return buildUrl(this.baseUrl, segments, query);
  }

  private send(url: string, options: RequestOptions): Promise<Response> {
    return send(this.http, url, options);
  }

  // ---- QIDO-RS (PS3.18 §10.6) ----

  private search(segments: string[], query: QidoQuery, options: CallOptions): DicomWebSearch {
    const url = this.url(segments, queryPairs(query));
    return new DicomWebSearch((signal) => this.send(url, { headers: { Accept: 'application/dicom+json' }, signal }), options.signal);
  }

  /** GET /studies */
  searchForStudies(query: QidoQuery = {}, options: CallOptions = {}): DicomWebSearch {
    return this.search(['studies'], query, options);
  }

  /** GET /series, or /studies/{study}/series */
  searchForSeries(query: QidoQuery = {}, options: CallOptions & { study?: string } = {}): DicomWebSearch {
    return this.search(options.study === undefined ? ['series'] : ['studies', options.study, 'series'], query, options);
  }

  /** GET /instances, /studies/{study}/instances or /studies/{study}/series/{series}/instances */
  searchForInstances(query: QidoQuery = {}, options: CallOptions & { study?: string; series?: string } = {}): DicomWebSearch {
    const scope = options.study === undefined ? [] : options.series === undefined ? ['studies', options.study] : ['studies', options.study, 'series', options.series];
    if (options.series !== undefined && options.study === undefined) throw argumentError('searchForInstances: a series needs its study');
    return this.search([...scope, 'instances'], query, options);
  }

  // ---- WADO-RS (PS3.18 §10.4) ----

  private async *instances(segments: string[], options: RetrieveOptions): AsyncGenerator<RetrievedInstance> {
    const controller = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
    try {
      const response = await this.send(this.url(segments), { headers: { Accept: acceptFor('application/dicom', options.transferSyntax) }, signal });
      const length = Number(response.headers.get('content-length') ?? NaN);
      options.onResponse?.({ httpStatus: response.status, contentLength: Number.isSafeInteger(length) ? length : undefined, headers: response.headers });
      for await (const part of responseParts(response, 'application/dicom')) yield retrievedInstance(part);
    } finally {
      controller.abort();
    }
  }

  /** The instances of a study, each a part of the response, streamed. */
  retrieveStudy(study: string, options: RetrieveOptions = {}): AsyncIterable<RetrievedInstance> {
    return this.instances(['studies', study], options);
  }

  retrieveSeries(study: string, series: string, options: RetrieveOptions = {}): AsyncIterable<RetrievedInstance> {
    return this.instances(['studies', study, 'series', series], options);
  }

  retrieveInstance(study: string, series: string, instance: string, options: RetrieveOptions = {}): AsyncIterable<RetrievedInstance> {
    return this.instances(['studies', study, 'series', series, 'instances', instance], options);
  }

  /**
   * The metadata of a study, series or instance (PS3.18 §10.4.1.1.2): one data set per instance, in
   * the JSON model, its BulkDataURIs kept as BulkDataReference values (see bulkDataResolver).
   */
  async retrieveMetadata(study: string, series?: string, instance?: string, options: CallOptions = {}): Promise<DataSet[]> {
    const segments = ['studies', study];
    if (series !== undefined) segments.push('series', series);
    if (instance !== undefined) {
      if (series === undefined) throw argumentError('retrieveMetadata: an instance needs its series');
      segments.push('instances', instance);
    }
    const response = await this.send(this.url([...segments, 'metadata']), { headers: { Accept: 'application/dicom+json' }, ...options });
    checkJson(response);
    const out: DataSet[] = [];
    for await (const element of jsonArrayElements(bodyOf(response))) out.push(dataSetOf(element));
    return out;
  }

  /** Frames of an instance (PS3.18 §10.4.1.1.3), one part each, in the order asked. */
  async *retrieveFrames(study: string, series: string, instance: string, frames: readonly number[], options: FrameOptions = {}): AsyncGenerator<RetrievedFrame> {
    if (frames.length === 0 || frames.some((n) => !Number.isInteger(n) || n < 1)) throw argumentError('retrieveFrames: frame numbers are integers from 1');
    const url = `${this.url(['studies', study, 'series', series, 'instances', instance, 'frames'])}/${frames.join(',')}`;
    const accept = acceptFor(options.mediaType ?? 'application/octet-stream', options.transferSyntax);
    const controller = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
    try {
      const response = await this.send(url, { headers: { Accept: accept }, signal });
      for await (const part of responseParts(response, options.mediaType ?? 'application/octet-stream')) {
        yield { ...retrievedPart(part), frameNumber: frames[part.index] ?? part.index + 1 };
      }
    } finally {
      controller.abort();
    }
  }

  /**
   * A bulk data value by its BulkDataURI (PS3.18 §10.4.1.1.5), absolute or relative to the base
   * URL. With `range`, a Range header is sent; a server that answers with the whole value (200,
   * as Orthanc does) has the range cut out of it here.
   */
  async retrieveBulkData(uri: string, options: BulkDataOptions = {}): Promise<BulkDataResponse> {
    const url = /^https?:\/\//i.test(uri) ? uri : `${this.baseUrl}/${uri.replace(/^\/+/, '')}`;
    const headers: Record<string, string> = { Accept: `${acceptFor('application/octet-stream', undefined)}, application/octet-stream;q=0.9` };
    const range = options.range;
    if (range) {
      if (!Number.isInteger(range.start) || range.start < 0 || (range.end !== undefined && (!Number.isInteger(range.end) || range.end < range.start))) {
        throw argumentError(`retrieveBulkData: ${JSON.stringify(range)} is not a byte range`);
      }
      headers.Range = `bytes=${range.start}-${range.end ?? ''}`;
    }
    const response = await this.send(url, { headers, ...(options.signal ? { signal: options.signal } : {}) });
    const parts = responseParts(response, 'application/octet-stream');
    const first = await parts.next();
    if (first.done) throw responseError(`${url} answered with no part`);
    let body: AsyncIterable<Uint8Array> = (async function* () {
      try {
        yield* first.value.body;
      } finally {
        await parts.return(undefined);
      }
    })();
    if (range && response.status !== 206) body = cut(body, range.start, range.end);
    return {
      httpStatus: response.status,
      contentType: first.value.contentType,
      range,
      body,
      bytes: async () => {
        const chunks: Buffer[] = [];
        for await (const c of body) chunks.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
        return Buffer.concat(chunks);
      },
    };
  }

  /** A resolver for fromDicomJson / fromNativeDicomXml that fetches BulkDataURIs with this client. */
  get bulkDataResolver(): BulkDataResolver {
    return async (uri) => (await this.retrieveBulkData(uri)).bytes();
  }

  // ---- Retrieve Capabilities (PS3.18 §8.9) ----

  /**
   * The server's Capabilities Description (PS3.18 Annex H): OPTIONS on the base URL, or on a
   * resource under it (`path`, e.g. "studies/1.2.3"), asked as the WADL JSON of Annex G; with the
   * methods the resource allows (the Allow header). A server without the transaction answers with
   * an error status (DicomWebHttpError) or no JSON (ERR_DICOM_WEB_RESPONSE).
   */
  async retrieveCapabilities(path = '', options: CallOptions = {}): Promise<DicomWebCapabilities> {
    const url = path === '' ? `${this.baseUrl}/` : this.url(path.split('/').filter((s) => s !== ''));
    const response = await this.send(url, { method: 'OPTIONS', headers: { Accept: 'application/json' }, ...(options.signal ? { signal: options.signal } : {}) });
    if (!/^application\/json\b/i.test(response.headers.get('content-type') ?? '')) {
      throw responseError(`OPTIONS ${url} answered with ${response.headers.get('content-type') ?? 'no Content-Type'}, not the WADL JSON asked for`);
    }
    const description = JSON.parse(await response.text()) as WadlJson;
    const allow = (response.headers.get('allow') ?? '').split(',').map((m) => m.trim()).filter((m) => m !== '');
    return { allow, description };
  }

  // ---- STOW-RS (PS3.18 §10.5) ----

  /**
   * Stores instances with one POST, the body streamed (a file is read as it is sent). Resolves with
   * the server's response: which instances were stored and which failed, and why. A response that
   * is not a Store Instances Response (an authentication failure, a proxy's error page) rejects with
   * DicomWebHttpError.
   */
  async storeInstances(inputs: Iterable<StowInput>, options: StowOptions = {}): Promise<StoreResult> {
    const parts = [];
    for (const input of inputs) parts.push(await stowPart(input));
    const boundary = newBoundary();
    const length = await multipartLength(parts.map((p) => p.length), boundary);
    const headers: Record<string, string> = {
      'Content-Type': formatMediaType('multipart/related', { type: 'application/dicom', boundary }),
      Accept: 'application/dicom+json',
    };
    if (length !== undefined) headers['Content-Length'] = String(length);
    const url = this.url(options.study === undefined ? ['studies'] : ['studies', options.study]);
    const body = pullStream(stowBody(parts, boundary, options.onProgress));
    // PS3.18 §10.5.3: 409 when no instance was stored; some servers answer 400 with the same module.
    const response = await this.send(url, { method: 'POST', headers, body, acceptStatuses: [400, 409], ...(options.signal ? { signal: options.signal } : {}) });
    const warnings = parseWarnings(response.headers.get('warning'));
    const text = await response.text();
    if (text.trim() === '') {
      if (!response.ok) throw new DicomWebHttpError('POST', url, response.status, response.statusText, warnings.join('; ') || undefined, warnings);
      return parseStoreResponse('{}', response.status, warnings);
    }
    try {
      const result = parseStoreResponse(text, response.status, warnings);
      if (response.ok || result.dataSet.has(0x00081198) || result.dataSet.has(0x00081199)) return result;
    } catch (err) {
      if (response.ok) throw err;
    }
    throw new DicomWebHttpError('POST', url, response.status, response.statusText, serverMessageOf(text) ?? (warnings.join('; ') || undefined), warnings);
  }
}

/** The bytes from `start` to `end` (inclusive) of a stream. */
async function* cut(source: AsyncIterable<Uint8Array>, start: number, end: number | undefined): AsyncGenerator<Uint8Array> {
  let at = 0;
  const stop = end === undefined ? Infinity : end + 1;
  for await (const c of source) {
    const from = Math.max(0, start - at);
    const to = Math.min(c.length, stop - at);
    if (from < to) yield c.subarray(from, to);
    at += c.length;
    if (at >= stop) break;
  }
}
