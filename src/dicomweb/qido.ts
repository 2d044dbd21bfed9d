/**
 * QIDO-RS, the Search Transaction (PS3.18 §10.6): every resource path of Table 10.6.1-2 (all
 * studies, a study's series, all series, a study's or a series' instances, all instances), query
 * parameters parsed by the query engine C-FIND uses (query/qido-parameters.ts) and run on the same
 * index, results built by query/response.ts buildQidoResult.
 *
 * Response (§10.6.3): 200 with the results, 204 (No Content) when nothing matched (Table
 * 10.6.3-1); application/dicom+json (the default, §8.7.3.5) or multipart/related;
 * type="application/dicom+xml", one part per result. The origin server's maximum (maxResults)
 * cuts larger results, with the Warning of §8.3.4.4. A fuzzymatching / emptyvaluematching /
 * multiplevaluematching asked for but not performed gets its own 299 Warning (§8.3.4.2).
 */
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
import { newBoundary, writeMultipart } from './multipart/index.js';
import { checkUid, rawQuery } from './request.js';

type Level = 'STUDY' | 'SERIES' | 'IMAGE';
type Format = 'json' | 'xml';

/** PS3.18 §8.3.4.4: the Warning text when the origin server's maximum cut the results. */
export const RESULTS_CUT_WARNING = 'The number of results exceeded the maximum supported by the server. Additional results can be requested.';

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

export interface QidoPage {
  readonly results: DataSet[];
  /** The origin server's maximum cut the results. */
  readonly cut: boolean;
  readonly query: Query;
}

/** Runs one search: the query engine, the index, the results as data sets. */
export async function search(ctx: DicomWebContext, level: Level, parameters: string, scope: Scope, base: string): Promise<QidoPage> {
  const query = parseQidoQuery(parameters, {
    level,
    ...(scope.study !== undefined ? { studyInstanceUID: scope.study } : {}),
    ...(scope.series !== undefined ? { seriesInstanceUID: scope.series } : {}),
  });
  const asked = query.qido?.limit;
  const limit = Math.min(asked ?? ctx.maxResults, ctx.maxResults);
  const found: EntityRecord[] = [];
  let more = false;
  // One more than the limit tells whether the maximum cut anything.
  for await (const entity of ctx.archive.index.find(query, level, { limit: limit + 1, offset: query.qido?.offset ?? 0 })) {
    if (found.length === limit) {
      more = true;
      break;
    }
    found.push(entity);
  }
  const results = found.map((entity) => {
    const ds = buildQidoResult(query, entity);
    const url = retrieveUrl(base, level, ds);
    if (url !== undefined) ds.set('RetrieveURL', 'UR', url);
    return ds;
  });
  return { results, cut: more && (asked === undefined || asked > ctx.maxResults), query };
}

async function answer(ctx: DicomWebContext, request: FastifyRequest, reply: FastifyReply, level: Level, scope: Scope): Promise<FastifyReply> {
  const format = qidoFormat(request.headers.accept);
  if (scope.study !== undefined) checkUid(scope.study, 'Study Instance UID');
  if (scope.series !== undefined) checkUid(scope.series, 'Series Instance UID');
  const page = await search(ctx, level, rawQuery(request), scope, ctx.baseUrl(request));
  const warnings: string[] = [];
  const agent = ctx.warnAgent(request);
  if (page.cut) warnings.push(`299 ${agent} "${RESULTS_CUT_WARNING}"`);
  for (const p of page.query.qido?.unsupportedParameters ?? []) {
    warnings.push(`299 ${agent} "The ${p} parameter is not supported. Only literal matching has been performed."`);
  }
  if (warnings.length) reply.header('Warning', warnings.join(', '));
  if (page.results.length === 0) return reply.code(204).send();
  if (format === 'json') {
    const body = `[${page.results.map((ds) => toDicomJsonText(toDicomJson(ds))).join(',')}]`;
    return reply.code(200).type('application/dicom+json').send(body);
  }
  const boundary = newBoundary();
  const parts = page.results.map((ds) => ({ headers: { 'Content-Type': 'application/dicom+xml; charset=utf-8' }, body: toNativeDicomXml(ds) }));
  const chunks: Uint8Array[] = [];
  for await (const c of writeMultipart(parts, boundary)) chunks.push(c);
  return reply.code(200).type(`multipart/related; type="application/dicom+xml"; boundary=${boundary}`).send(Buffer.concat(chunks));
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
