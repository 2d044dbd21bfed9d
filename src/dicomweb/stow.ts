/**
 * STOW-RS, the Store Instances transaction (PS3.18 §10.5): POST /studies or /studies/{study} with
 * a multipart/related; type="application/dicom" body, one Part 10 instance per part.
 *
 * Each part streams from the socket through the multipart parser into ArchiveStore.storeInstance
 * (blob put, then index), so a body of any size passes in bounded memory and every instance is
 * durable and indexed before the response is sent. Parts are pipelined: the next one is read
 * while the previous ones are made durable and indexed (up to STORES_IN_FLIGHT at a time). A
 * study-scoped POST refuses instances of other studies before they are indexed (ArchiveStore's
 * check hook).
 *
 * Response (§10.5.3): the Store Instances Response Module (Referenced SOP Sequence with Retrieve
 * URL, Failed SOP Sequence with Failure Reason, Warning Reason) as application/dicom+json (default)
 * or application/dicom+xml; 200 when everything was stored, 202 when some failed or were stored
 * with warnings, 409 when none was stored, 415 when the body is not multipart/related of
 * application/dicom, 400 when it is malformed before any instance was stored. A body that breaks
 * after some instances were stored (a part cut short, a bad boundary line, too many parts) is
 * answered 202: those instances in the Referenced SOP Sequence, the break in the Failed SOP
 * Sequence (0xC000, with the broken part's UIDs when they could be read).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DicomError } from '../core/dicom-error.js';
import { DataSet } from '../data/data-set.js';
import { dicomJsonText } from '../data/json-model.js';
import { toNativeDicomXml } from '../data/xml-model.js';
import type { StoreResult } from '../storage/archive-store.js';
import type { DicomWebContext } from './context.js';
import { badRequest, DicomWebError, notAcceptable, unsupportedMediaType } from './http-error.js';
import { parseAccept, parseMediaType, qualityOf } from './media-type.js';
import { parseMultipart, type ParsedPart } from './multipart/index.js';
import { checkUid } from './request.js';
import { requestBody, type BodyPacing } from './request-body.js';
import { decodedBody } from './content-coding.js';
import { instanceUrl } from './resources.js';
import { storageFailureStatus } from '../services/storage/storage-failure.js';
import { part10Of, readMetadataRequest } from './stow-metadata.js';

/** Failure Reasons (PS3.18 Table 10.5.3-2 refers to the C-STORE statuses of PS3.4 Annex B). */
export const FailureReason = Object.freeze({
  ProcessingFailure: 0x0110,
  DuplicateSOPInstance: 0x0111,
  OutOfResources: 0xa700,
  DataSetDoesNotMatchSOPClass: 0xa900,
  CannotUnderstand: 0xc000,
  /** A part whose media type cannot be stored (Referenced Transfer Syntax not supported, 0xC122, is the closest). */
  UnsupportedMediaType: 0xc122,
});

/** Warning Reasons (PS3.18 Table 10.5.3-3). */
export const WarningReason = Object.freeze({
  CoercionOfDataElements: 0xb000,
  ElementsDiscarded: 0xb006,
  DataSetDoesNotMatchSOPClass: 0xb007,
});

interface Outcome {
  readonly sopClassUid: string | undefined;
  readonly sopInstanceUid: string | undefined;
  readonly study: string | undefined;
  readonly series: string | undefined;
  readonly failure?: { reason: number; message: string };
  readonly warning?: { reason: number; message: string };
}

/** The refusal of an instance of another study in a study-scoped request. */
class StudyMismatch extends DicomWebError {
  constructor(message: string) {
    super('ERR_DICOM_WEB_REQUEST', message, 409);
  }
}

function failureReasonOf(error: unknown): number {
  if (error instanceof StudyMismatch) return FailureReason.DataSetDoesNotMatchSOPClass;
  // The statuses a C-STORE SCP answers with for the same errors (PS3.18 Table 10.5.3-2).
  return storageFailureStatus(error)?.status ?? FailureReason.ProcessingFailure;
}

/** The response format (application/dicom+json by default). */
function responseFormat(accept: string | undefined): 'json' | 'xml' {
  if (!accept || accept.trim() === '') return 'json';
  for (const m of parseAccept(accept).filter((r) => qualityOf(r) > 0).sort((a, b) => qualityOf(b) - qualityOf(a))) {
    if (m.type === 'application/dicom+json' || m.type === 'application/json' || m.type === '*/*' || m.type === 'application/*') return 'json';
    if (m.type === 'application/dicom+xml' || (m.type === 'multipart/related' && m.parameters.get('type') === 'application/dicom+xml')) return 'xml';
  }
  throw notAcceptable(`the STOW-RS response is application/dicom+json or application/dicom+xml, not "${accept}"`);
}

const ROOT_TYPES = ['application/dicom', 'application/dicom+json', 'application/dicom+xml'];

/** The request's boundary and root type, after checking its media type (415 for anything but multipart/related of DICOM). */
export function stowBoundary(contentType: string | undefined): { boundary: string; type: string } {
  if (!contentType) throw unsupportedMediaType('a STOW-RS request needs Content-Type: multipart/related; type="application/dicom"; boundary=...');
  let m;
  try {
    m = parseMediaType(contentType);
  } catch (e) {
    throw new DicomWebError('ERR_DICOM_MEDIA_TYPE', (e as Error).message, 415, { cause: e });
  }
  if (m.type !== 'multipart/related') throw unsupportedMediaType(`STOW-RS takes multipart/related; type="application/dicom", not ${m.type}`);
  const type = (m.parameters.get('type') ?? 'application/dicom').toLowerCase();
  if (!ROOT_TYPES.includes(type)) {
    throw unsupportedMediaType(`STOW-RS takes multipart/related of ${ROOT_TYPES.join(', ')}; not type="${type}"`);
  }
  const boundary = m.parameters.get('boundary');
  if (!boundary) throw badRequest('the multipart/related Content-Type has no boundary parameter');
  return { boundary, type };
}

/** Parts of one request being made durable and indexed at the same time (see storeParts()). */
const STORES_IN_FLIGHT = 8;

/** The multipart error an exception comes from (a part's bytes ending early, a bad boundary), if any. */
function multipartCause(error: unknown): DicomError | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof DicomError && e.code === 'ERR_DICOM_MULTIPART') return e;
  }
  return undefined;
}

function failed(reason: number, message: string, ids: Partial<Omit<Outcome, 'failure' | 'warning'>> = {}): Outcome {
  return { sopClassUid: ids.sopClassUid, sopInstanceUid: ids.sopInstanceUid, study: ids.study, series: ids.series, failure: { reason, message } };
}

async function storePart(ctx: DicomWebContext, body: AsyncIterable<Uint8Array>, study: string | undefined, sourceAet: string): Promise<Outcome> {
  let seen: { sopClassUid?: string; sopInstanceUid?: string; study?: string; series?: string } = {};
  const check = (ds: DataSet, meta: DataSet) => {
    const read = (from: DataSet, k: string) => { try { return from.string(k)?.trim() || undefined; } catch { return undefined; } };
    // The data set's UIDs name the instance; a part whose data set lacks them (refused below) is
    // still named by its File Meta Information, as the sender knows it.
    seen = {
      sopClassUid: read(ds, 'SOPClassUID') ?? read(meta, 'MediaStorageSOPClassUID'),
      sopInstanceUid: read(ds, 'SOPInstanceUID') ?? read(meta, 'MediaStorageSOPInstanceUID'),
      study: read(ds, 'StudyInstanceUID'),
      series: read(ds, 'SeriesInstanceUID'),
    };
    if (study !== undefined && seen.study !== study) {
      throw new StudyMismatch(`the instance belongs to study ${seen.study ?? '(none)'}, not to ${study} named in the request`);
    }
  };
  let result: StoreResult;
  try {
    result = await ctx.archive.storeInstance({ part10: body, sourceAet, check }, ctx.duplicatePolicy);
  } catch (error) {
    // What is left of the part is skipped by the parser. A part cut short by a malformed body
    // (its bytes end without a boundary) was not understood, whatever the store made of it.
    const malformed = multipartCause(error);
    return malformed
      ? failed(FailureReason.CannotUnderstand, `the part is malformed: ${malformed.message}`, seen)
      : failed(failureReasonOf(error), (error as Error).message, seen);
  }
  const base = { sopClassUid: seen.sopClassUid, sopInstanceUid: result.sopInstanceUid, study: seen.study, series: seen.series };
  if (result.status === 'rejected') return { ...base, failure: { reason: FailureReason.DuplicateSOPInstance, message: 'an instance with this SOP Instance UID is already stored' } };
  if (result.warnings.length) return { ...base, warning: { reason: WarningReason.CoercionOfDataElements, message: result.warnings.join('; ') } };
  return base;
}

/**
 * Stores the application/dicom parts of a body, pipelined: once a part's bytes are all in its
 * blob, the next part is read while the blob is made durable, parsed and indexed (so the fsyncs of
 * consecutive parts overlap; their index inserts, ~3 ms apart, rarely share a commit: 498 commits
 * for 500 CT, and holding parts back to make them share one saved no CPU, docs/benchmarks.md). At
 * most STORES_IN_FLIGHT parts are being finished at a time; this resolves once every store has
 * settled, stored or not.
 *
 * With duplicates overwritten, the last part of an instance sent twice must be the one kept: one
 * part at a time then. (Kept or rejected duplicates come out the same either way, except which of
 * two parts of one request is reported as the duplicate.)
 *
 * A body that breaks (malformed multipart, connection lost) ends the loop: `broken` is the error,
 * the outcomes are those of the parts read before it (a part cut short among them, failed), and
 * `brokenInPart` says whether such a part already reports the break.
 */
async function storeParts(ctx: DicomWebContext, parts: AsyncIterable<ParsedPart>, study: string | undefined, sourceAet: string):
  Promise<{ outcomes: Outcome[]; broken: unknown; brokenInPart: boolean }> {
  const limit = ctx.duplicatePolicy === 'overwrite' ? 1 : STORES_IN_FLIGHT;
  const pending: Array<Promise<Outcome>> = [];
  const inFlight = new Set<Promise<Outcome>>();
  let broken: unknown;
  let brokenInPart = false;
  try {
    for await (const part of parts) {
      let type: string;
      try {
        type = part.contentType === undefined ? 'application/dicom' : parseMediaType(part.contentType).type;
      } catch (error) {
        pending.push(Promise.resolve(failed(FailureReason.UnsupportedMediaType, `part ${part.index}: ${(error as Error).message}`)));
        continue;
      }
      if (type !== 'application/dicom') {
        pending.push(Promise.resolve(failed(FailureReason.UnsupportedMediaType, `part ${part.index} is ${type}, not application/dicom`)));
        continue;
      }
      while (inFlight.size >= limit) await Promise.race(inFlight);
      const stored = storePart(ctx, part.body, study, sourceAet);
      const tracked = stored.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      pending.push(stored);
      // The parser may move on once the store has read the part to its end (or given up on it).
      await Promise.race([part.ended, stored]);
      if (part.broken) brokenInPart = true;
    }
  } catch (error) {
    broken = error;
  }
  // storePart() never rejects: every part read has an outcome, and all are settled (durable or failed).
  return { outcomes: await Promise.all(pending), broken, brokenInPart };
}

/** The Store Instances Response Module (PS3.18 Table 10.5.3-1). */
export function responseDataSet(outcomes: readonly Outcome[], base: string, study: string | undefined): DataSet {
  const ds = new DataSet();
  // PS3.18 Table I.1-1: Retrieve URL is Type 2, the study the instances stored are available in:
  // empty when nothing was stored (a study named in the path but refused is not there) or when
  // instances of several studies were.
  const stored = outcomes.filter((o) => !o.failure);
  const studies = new Set(stored.map((o) => o.study));
  const onlyStudy = stored.length === 0 ? undefined : study ?? (studies.size === 1 ? [...studies][0] : undefined);
  ds.set('RetrieveURL', 'UR', onlyStudy === undefined ? null : `${base}/studies/${onlyStudy}`);
  // PS3.18 Table I.1-1: a Failed SOP Sequence item names its instance (the UIDs are Type 1); a
  // failure that names none (a part that is not DICOM, not application/dicom, cut short before its
  // UIDs) goes in the Other Failures Sequence, with its Failure Reason only.
  const failed = outcomes.filter((o) => o.failure && o.sopInstanceUid !== undefined);
  const other = outcomes.filter((o) => o.failure && o.sopInstanceUid === undefined);
  const referenced = outcomes.filter((o) => !o.failure);
  if (failed.length) {
    ds.set('FailedSOPSequence', 'SQ', failed.map((o) => {
      const item = new DataSet({ parent: ds });
      item.set('ReferencedSOPClassUID', 'UI', o.sopClassUid ?? null);
      item.set('ReferencedSOPInstanceUID', 'UI', o.sopInstanceUid!);
      item.set('FailureReason', 'US', o.failure!.reason);
      return item;
    }));
  }
  if (other.length) {
    ds.set('OtherFailuresSequence', 'SQ', other.map((o) => {
      const item = new DataSet({ parent: ds });
      item.set('FailureReason', 'US', o.failure!.reason);
      return item;
    }));
  }
  if (referenced.length) {
    ds.set('ReferencedSOPSequence', 'SQ', referenced.map((o) => {
      const item = new DataSet({ parent: ds });
      item.set('ReferencedSOPClassUID', 'UI', o.sopClassUid ?? null);
      item.set('ReferencedSOPInstanceUID', 'UI', o.sopInstanceUid ?? null);
      if (o.study && o.series && o.sopInstanceUid) {
        item.set('RetrieveURL', 'UR', instanceUrl(base, { studyInstanceUid: o.study, seriesInstanceUid: o.series, sopInstanceUid: o.sopInstanceUid }));
      }
      if (o.warning) item.set('WarningReason', 'US', o.warning.reason);
      return item;
    }));
  }
  return ds;
}

/** 200 all stored, 202 some failed or warned, 409 none stored (PS3.18 §10.5.3.1, Table 10.5.3-1). */
export function stowStatus(outcomes: readonly Outcome[]): number {
  const failed = outcomes.filter((o) => o.failure).length;
  if (outcomes.length > 0 && failed === outcomes.length) return 409;
  if (failed > 0 || outcomes.some((o) => o.warning)) return 202;
  return 200;
}

/**
 * A warn-text (RFC 9110 §5.6.4 quoted-string): header field values are bytes, so what is not
 * printable ASCII (a patient's name in another script, a line break) becomes "?", and quotes and
 * backslashes are not escaped but replaced.
 */
function warnText(text: string): string {
  return `"${text.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '?')}"`;
}

async function answer(ctx: DicomWebContext, pacing: BodyPacing, request: FastifyRequest, reply: FastifyReply, study: string | undefined): Promise<FastifyReply> {
  if (study !== undefined) checkUid(study, 'Study Instance UID');
  const format = responseFormat(request.headers.accept);
  const { boundary, type: rootType } = stowBoundary(request.headers['content-type']);
  const sourceAet = `STOW-RS ${request.ip}`.slice(0, 64);
  const outcomes: Outcome[] = [];
  // A parser that stops early (a malformed body) ends the request stream but not the connection
  // (Node detaches a server request from its socket first): the answer still reaches the client.
  // Content-Encoding (gzip, deflate, br) undone as the body streams (PS3.18 Table 10.5.1-2).
  const body = requestBody(decodedBody(request.raw), ctx.bodyCollector ? { collector: ctx.bodyCollector, pacing } : {});
  const parts = parseMultipart(body, boundary, ctx.maxParts === undefined ? {} : { maxParts: ctx.maxParts });
  if (rootType !== 'application/dicom') {
    const metadata = await readMetadataRequest(parts, rootType);
    try {
      for (const { message, ...ids } of metadata.undecodable) {
        outcomes.push(failed(FailureReason.CannotUnderstand, message, ids));
      }
      for (const ds of metadata.dataSets) outcomes.push(await storePart(ctx, part10Of(ds, 'STOWRS'), study, sourceAet));
    } finally {
      await metadata.cleanup();
    }
  } else {
    const stored = await storeParts(ctx, parts, study, sourceAet);
    outcomes.push(...stored.outcomes);
    if (stored.broken !== undefined) {
      // PS3.18 §10.5.3: the response says which instances were stored and which failed, so a body
      // that breaks after some parts were stored is answered 202 with them, the break as a failure.
      // One that breaks before anything was stored could not be understood: 400 (and a lost
      // connection has nobody to answer).
      const malformed = multipartCause(stored.broken);
      if (!malformed || !outcomes.some((o) => !o.failure)) throw stored.broken;
      if (!stored.brokenInPart) outcomes.push(failed(FailureReason.CannotUnderstand, `the multipart body is malformed after part ${outcomes.length}: ${malformed.message}`));
    }
  }
  if (outcomes.length === 0) throw badRequest('the STOW-RS request holds no part');
  for (const o of outcomes) {
    if (o.failure) ctx.log('warn', `STOW-RS: ${o.sopInstanceUid ?? 'a part'} not stored: ${o.failure.message}`);
    if (o.warning) ctx.log('warn', `STOW-RS: ${o.sopInstanceUid}: ${o.warning.message}`);
  }
  const ds = responseDataSet(outcomes, ctx.baseUrl(request), study);
  const status = stowStatus(outcomes);
  // A short reason for each failure, then each warning, so a client without a DICOM parser can say
  // what went wrong (PS3.18 §10.5.3.2 recommends a reason in the Warning header field).
  const reasons = [
    ...outcomes.filter((o) => o.failure).map((o) => `${o.sopInstanceUid ?? 'part'}: ${o.failure!.message}`),
    ...outcomes.filter((o) => o.warning).map((o) => `${o.sopInstanceUid}: ${o.warning!.message}`),
  ];
  if (reasons.length) reply.header('Warning', reasons.slice(0, 10).map((r) => `299 ${ctx.warnAgent(request)} ${warnText(r)}`).join(', '));
  if (format === 'xml') return reply.code(status).type('application/dicom+xml; charset=utf-8').send(toNativeDicomXml(ds));
  return reply.code(status).type('application/dicom+json').send(dicomJsonText(ds));
}

export function registerStow(app: FastifyInstance, ctx: DicomWebContext): void {
  const pacing: BodyPacing = { active: 0 };
  app.post('/studies', (request, reply) => answer(ctx, pacing, request, reply, undefined));
  app.post<{ Params: { study: string } }>('/studies/:study', (request, reply) => answer(ctx, pacing, request, reply, request.params.study));
}
