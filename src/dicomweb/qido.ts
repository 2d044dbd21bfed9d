/**
 * QIDO-RS, the Search Transaction (PS3.18 §10.6): every resource path of Table 10.6.1-2 (all
 * studies, a study's series, all series, a study's or a series' instances, all instances), query
 * parameters parsed by the query engine C-FIND uses (query/qido-parameters.ts) and run on the same
 * index, results built by query/response.ts buildQidoResult.
 *
 * Response (§10.6.3): 200 with the results, 204 (No Content) when nothing matched (Table
 * 10.6.3-1); application/dicom+json (the default, §8.7.3.5) or multipart/related;
 * type="application/dicom+xml", one part per result, written as the index yields the results (a
 * large result is never held whole). The page holds min(limit, maxResults) results from offset;
 * when matches remain past it, the Warning of §8.3.4.4.1 says how many. A fuzzymatching / emptyvaluematching /
 * multiplevaluematching asked for but not performed gets its own 299 Warning (§8.3.4.2).
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DataSet } from '../data/data-set.js';
import { toDicomJson, toDicomJsonText } from '../data/json-model.js';
import { toNativeDicomXml } from '../data/xml-model.js';
import { parseQidoQuery } from '../query/qido-parameters.js';
import { buildQidoResult } from '../query/response.js';
import type { Query } from '../query/query.js';
import type { EntityRecord } from '../query/record.js';
import type { DicomWebContext } from './context.js';
import { notAcceptable } from './http-error.js';
import { parseAccept, qualityOf } from './media-type.js';
import { withoutCommonParameters } from './accept-parameter.js';
import { newBoundary, writeMultipart, type MultipartWritePart } from './multipart/index.js';
import { checkUid, rawQuery } from './request.js';

type Level = 'STUDY' | 'SERIES' | 'IMAGE';
type Format = 'json' | 'xml';

/** PS3.18 §8.3.4.4.1: the Warning text when matches remain past the page (cut by limit or by the origin server's maximum). */
export function remainingResultsWarning(remaining: number): string {
  return `There are ${remaining} additional results that can be requested`;
}

/** The response format from Accept (PS3.18 §8.7.3.5, Table 8.7.3-5 / 8.7.4.3: JSON by default). */
export function qidoFormat(accept: string | undefined): Format {
  if (!accept || accept.trim() === '') return 'json';
  const ranges = parseAccept(accept).filter((m) => qualityOf(m) > 0).sort((a, b) => qualityOf(b) - qualityOf(a));
  for (const m of ranges) {
    if (m.type === 'application/dicom+json' || m.type === 'application/json' || m.type === '*/*' || m.type === 'application/*') return 'json';
    if (m.type === 'multipart/related' && (m.parameters.get('type') ?? '').toLowerCase() === 'application/dicom+xml') return 'xml';
    if (m.type === 'application/dicom+xml') return 'xml';
    if (m.type === 'multipart/*' && (m.parameters.get('type') ?? '').toLowerCase() === 'application/dicom+xml') return 'xml';
  }
  throw notAcceptable(`this resource is served as application/dicom+json or multipart/related; type="application/dicom+xml", not "${accept}"`);
}

interface Scope { study?: string; series?: string }

/** The Retrieve URL of one result: the resource of the entity found (PS3.18 §10.4.1). */
function retrieveUrl(base: string, level: Level, ds: DataSet): string | undefined {
  const study = ds.string('StudyInstanceUID')?.trim();
  if (!study) return undefined;
  if (level === 'STUDY') return `${base}/studies/${study}`;
  const series = ds.string('SeriesInstanceUID')?.trim();
  if (!series) return undefined;
  if (level === 'SERIES') return `${base}/studies/${study}/series/${series}`;
  const instance = ds.string('SOPInstanceUID')?.trim();
  return instance ? `${base}/studies/${study}/series/${series}/instances/${instance}` : undefined;
}

/** A search under way: its query, how many matches lie past its page, and its results as they come. */
export interface QidoSearch {
  readonly query: Query;
  /** Matches past the page, cut by limit or the origin server's maximum ("remaining", PS3.18 §8.3.4.4.1). */
  readonly remaining: number;
  readonly results: AsyncIterator<DataSet>;
}

/** Results read before the status is sent: a page this small is known whole, with no probe. */
const READ_AHEAD = 64;

/**
 * Starts one search: the query engine, the index, each result built as it is read. How many
 * matches remain past the page must be told in a header, before the body: up to READ_AHEAD results
 * are read first, and only when the page may be full (larger than that, or exactly the page size)
 * are the matches counted, so a large page is streamed and a small one costs one query.
 */
export async function startSearch(ctx: DicomWebContext, level: Level, parameters: string, scope: Scope, base: string): Promise<QidoSearch> {
  const query = parseQidoQuery(parameters, {
    level,
    ...(scope.study !== undefined ? { studyInstanceUID: scope.study } : {}),
    ...(scope.series !== undefined ? { seriesInstanceUID: scope.series } : {}),
  });
  const asked = query.qido?.limit;
  const limit = Math.min(asked ?? ctx.maxResults, ctx.maxResults);
  const offset = query.qido?.offset ?? 0;
  const found = ctx.archive.index.find(query, level, { limit, offset })[Symbol.asyncIterator]();
  const ahead: DataSet[] = [];
  let done = false;
  while (ahead.length < READ_AHEAD) {
    const r = await found.next();
    if (r.done) {
      done = true;
      break;
    }
    ahead.push(resultOf(query, level, base, r.value));
  }
  const remaining = done && ahead.length < limit ? 0 : Math.max(0, (await countMatches(ctx, query, level)) - offset - limit);
  async function* results(): AsyncGenerator<DataSet> {
    try {
      yield* ahead;
      if (done) return;
      for (let r = await found.next(); !r.done; r = await found.next()) yield resultOf(query, level, base, r.value);
    } finally {
      // A response cut short stops the search (IndexStore.find: breaking out stops it).
      if (!done) await found.return?.();
    }
  }
  return { query, remaining, results: results() };
}

/** Every match of the query, counted by the index when it can, else as find() yields them. */
async function countMatches(ctx: DicomWebContext, query: Query, level: Level): Promise<number> {
  const index = ctx.archive.index;
  if (index.count) return index.count(query, level);
  let n = 0;
  for await (const _ of index.find(query, level)) n++;
  return n;
}

function resultOf(query: Query, level: Level, base: string, entity: EntityRecord): DataSet {
  const ds = buildQidoResult(query, entity);
  const url = retrieveUrl(base, level, ds);
  if (url !== undefined) ds.set('RetrieveURL', 'UR', url);
  return ds;
}

/** DS and IS as the index holds their text: numbers, or strings where a number would change it (PS3.18 F.2.3, note). */
const RESULT_JSON = { numberStrings: 'when-needed' } as const;

/** Results are gathered up to this many bytes before a write; a page that fits is sent whole, with Content-Length. */
const FLUSH_BYTES = 64 * 1024;

/** The JSON array of the results, in chunks of about FLUSH_BYTES, as the results come. */
async function* jsonArray(first: DataSet, rest: AsyncIterator<DataSet>): AsyncGenerator<string> {
  let chunk = `[${toDicomJsonText(toDicomJson(first, RESULT_JSON))}`;
  for (let r = await rest.next(); !r.done; r = await rest.next()) {
    chunk += `,${toDicomJsonText(toDicomJson(r.value, RESULT_JSON))}`;
    if (chunk.length >= FLUSH_BYTES) {
      yield chunk;
      chunk = '';
    }
  }
  yield `${chunk}]`;
}

async function* xmlParts(first: DataSet, rest: AsyncIterator<DataSet>): AsyncGenerator<MultipartWritePart> {
  const part = (ds: DataSet) => ({ headers: { 'Content-Type': 'application/dicom+xml; charset=utf-8' }, body: toNativeDicomXml(ds) });
  yield part(first);
  for (let r = await rest.next(); !r.done; r = await rest.next()) yield part(r.value);
}

/** Joins small pieces into writes of about FLUSH_BYTES. */
async function* coalesce(pieces: AsyncIterable<Uint8Array | string>): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let size = 0;
  for await (const p of pieces) {
    const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
    held.push(b);
    size += b.length;
    if (size >= FLUSH_BYTES) {
      yield Buffer.concat(held);
      held = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(held);
}

async function answer(ctx: DicomWebContext, request: FastifyRequest, reply: FastifyReply, level: Level, scope: Scope): Promise<FastifyReply> {
  const format = qidoFormat(request.headers.accept);
  if (scope.study !== undefined) checkUid(scope.study, 'Study Instance UID');
  if (scope.series !== undefined) checkUid(scope.series, 'Series Instance UID');
  const search = await startSearch(ctx, level, withoutCommonParameters(rawQuery(request)), scope, ctx.baseUrl(request));
  const warnings: string[] = [];
  const agent = ctx.warnAgent(request);
  if (search.remaining > 0) warnings.push(`299 ${agent} "${remainingResultsWarning(search.remaining)}"`);
  for (const p of search.query.qido?.unsupportedParameters ?? []) {
    warnings.push(`299 ${agent} "The ${p} parameter is not supported. Only literal matching has been performed."`);
  }
  if (warnings.length) reply.header('Warning', warnings.join(', '));
  const results = search.results;
  // The first result before the status: none is 204 (PS3.18 Table 10.6.3-1).
  const first = await results.next();
  if (first.done) return reply.code(204).send();
  if (format === 'json') {
    const chunks = jsonArray(first.value, results);
    const head = await chunks.next();
    const second = await chunks.next();
    // The whole page in one chunk: sent as one body with its length.
    if (second.done) return reply.code(200).type('application/dicom+json').send(head.value as string);
    async function* body(): AsyncGenerator<Buffer> {
      yield Buffer.from(head.value as string, 'utf8');
      yield Buffer.from(second.value as string, 'utf8');
      for await (const c of chunks) yield Buffer.from(c, 'utf8');
    }
    return reply.code(200).type('application/dicom+json').send(Readable.from(body()));
  }
  const boundary = newBoundary();
  return reply.code(200).type(`multipart/related; type="application/dicom+xml"; boundary=${boundary}`)
    .send(Readable.from(coalesce(writeMultipart(xmlParts(first.value, results), boundary))));
}

export function registerQido(app: FastifyInstance, ctx: DicomWebContext): void {
  type P = { study?: string; series?: string };
  const route = (path: string, level: Level) =>
    app.get<{ Params: P }>(path, (request, reply) => answer(ctx, request, reply, level, request.params));
  route('/studies', 'STUDY');
  route('/series', 'SERIES');
  route('/instances', 'IMAGE');
  route('/studies/:study/series', 'SERIES');
  route('/studies/:study/instances', 'IMAGE');
  route('/studies/:study/series/:series/instances', 'IMAGE');
}
