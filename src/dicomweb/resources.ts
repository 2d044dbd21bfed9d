/**
 * The Studies Service's resources (PS3.18 §10.3.1, Table 10.4.1-1): a study, a series of it, an
 * instance of that series, looked up in the index; a path that names a series under another
 * study, or nothing stored, is 404.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { StoredInstance } from '../storage/ports.js';
import type { DicomWebContext } from './context.js';
import { notFound } from './http-error.js';
import { checkUid } from './request.js';

/** The route patterns of a study, a series and an instance (PS3.18 Table 10.4.1-1). */
export const RESOURCE_PATTERNS = ['/studies/:study', '/studies/:study/series/:series', '/studies/:study/series/:series/instances/:instance'] as const;

/** Registers `handler` for GET on `suffix` of the study, series and instance resources. */
export function getOnEachLevel(app: FastifyInstance, suffix: string, handler: (request: FastifyRequest<{ Params: ResourcePath }>, reply: FastifyReply) => Promise<FastifyReply>): void {
  for (const pattern of RESOURCE_PATTERNS) app.get<{ Params: ResourcePath }>(`${pattern}${suffix}`, handler);
}

export interface ResourcePath {
  readonly study: string;
  readonly series?: string;
  readonly instance?: string;
}

export function describe(path: ResourcePath): string {
  if (path.instance !== undefined) return `instance ${path.instance} of series ${path.series} of study ${path.study}`;
  if (path.series !== undefined) return `series ${path.series} of study ${path.study}`;
  return `study ${path.study}`;
}

/** Checks the UIDs of a path (400 when one is not a UID). */
export function checkPath(path: ResourcePath): void {
  checkUid(path.study, 'Study Instance UID');
  if (path.series !== undefined) checkUid(path.series, 'Series Instance UID');
  if (path.instance !== undefined) checkUid(path.instance, 'SOP Instance UID');
}

/** The stored instances of the resource, in the index's retrieval order; 404 when none. */
export async function instancesOf(ctx: DicomWebContext, path: ResourcePath): Promise<StoredInstance[]> {
  checkPath(path);
  const index = ctx.archive.index;
  const found = path.instance !== undefined
    ? await index.instancesFor('IMAGE', path.instance)
    : path.series !== undefined ? await index.instancesFor('SERIES', path.series) : await index.instancesFor('STUDY', path.study);
  const inPath = found.filter((i) => i.studyInstanceUid === path.study && (path.series === undefined || i.seriesInstanceUid === path.series));
  if (inPath.length === 0) throw notFound(`${describe(path)} is not in the archive`);
  return inPath;
}

/** The URL of an instance's resource. */
export function instanceUrl(base: string, i: { studyInstanceUid: string; seriesInstanceUid: string; sopInstanceUid: string }): string {
  return `${base}/studies/${i.studyInstanceUid}/series/${i.seriesInstanceUid}/instances/${i.sopInstanceUid}`;
}
