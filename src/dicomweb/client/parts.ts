/**
 * The parts of a WADO-RS response (PS3.18 §10.4.3, §8.7.3.1: multipart/related, one instance,
 * frame or bulk data value per part) as the client hands them out: a body read as it arrives, and
 * ways to take it whole (bytes, a parsed Part 10 file) or to save an instance to a folder.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DicomError } from '../../core/dicom-error.js';
import { parseBuffer, readFile, type DicomFile } from '../../media/part10.js';
import { parseMediaType, type MediaType } from '../media-type.js';
import { parseMultipart, type MultipartPart } from '../multipart/index.js';
import { bodyOf, contentTypeOf, responseError } from './http.js';

export interface RetrievedPart {
  /** Index of the part in the response, from 0. */
  readonly index: number;
  readonly contentType: string | undefined;
  /** Content-Location, when the server names the part's resource. */
  readonly contentLocation: string | undefined;
  /** Header fields by lower-case name. */
  readonly headers: ReadonlyMap<string, string>;
  /** The part's bytes as they arrive; read once, before moving to the next part. */
  readonly body: AsyncIterable<Uint8Array>;
  /** The whole body in memory. */
  bytes(): Promise<Uint8Array>;
}

/** Where saveTo() put an instance. */
export interface SavedInstance {
  path: string;
  sopInstanceUid: string;
  sopClassUid: string;
  transferSyntaxUid: string;
  size: number;
}

export interface RetrievedInstance extends RetrievedPart {
  /** The part's transfer-syntax parameter, when the server gave one (else see the File Meta Information). */
  readonly transferSyntaxUid: string | undefined;
  /** The instance parsed in memory. */
  file(): Promise<DicomFile>;
  /**
   * Streams the instance into `dir` (made if missing) as `<SOP Instance UID>.dcm` (written to a
   * temporary name, its header read, then renamed), so an instance of any size is saved in bounded memory.
   */
  saveTo(dir: string): Promise<SavedInstance>;
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** The parts of a response: multipart/related parsed, or a single-part body taken as one part. */
export async function* responseParts(response: Response, expected: string): AsyncGenerator<MultipartPart> {
  const type = contentTypeOf(response);
  if (type?.type === 'multipart/related') {
    const boundary = type.parameters.get('boundary');
    if (!boundary) throw responseError(`the multipart/related response from ${response.url} has no boundary parameter`);
    yield* parseMultipart(bodyOf(response), boundary);
    return;
  }
  if (type === undefined || type.type !== expected) {
    throw responseError(`${response.url} answered with Content-Type ${response.headers.get('content-type') ?? '(none)'}, not multipart/related or ${expected}`);
  }
  const headers = new Map<string, string>();
  response.headers.forEach((value, name) => headers.set(name, value));
  yield { headers, contentType: response.headers.get('content-type') ?? undefined, body: bodyOf(response), index: 0 };
}

export function retrievedPart(part: MultipartPart): RetrievedPart {
  return {
    index: part.index,
    contentType: part.contentType,
    contentLocation: part.headers.get('content-location'),
    headers: part.headers,
    body: part.body,
    bytes: () => collect(part.body),
  };
}

function transferSyntaxParameter(contentType: string | undefined): string | undefined {
  let type: MediaType | undefined;
  try {
    type = contentType === undefined ? undefined : parseMediaType(contentType);
  } catch {
    return undefined;
  }
  const ts = type?.parameters.get('transfer-syntax');
  return ts && ts !== '*' ? ts : undefined;
}

/** A file name for a UID (digits and dots; anything else, from a broken instance, is replaced). */
function fileNameFor(uid: string): string {
  return `${uid.replace(/[^0-9A-Za-z.-]/g, '_').slice(0, 200) || 'instance'}.dcm`;
}

export function retrievedInstance(part: MultipartPart): RetrievedInstance {
  const base = retrievedPart(part);
  return {
    ...base,
    transferSyntaxUid: transferSyntaxParameter(part.contentType),
    file: async () => parseBuffer(await base.bytes()),
    saveTo: async (dir: string) => {
      await mkdir(dir, { recursive: true }).catch((cause: unknown) => {
        throw new DicomError('ERR_DICOM_IO', `cannot create ${dir} to save the instance in: ${(cause as Error).message}`, { cause });
      });
      const temporary = join(dir, `.wado-${randomBytes(6).toString('hex')}.partial`);
      try {
        await pipeline(Readable.from(part.body), createWriteStream(temporary));
        let header: DicomFile;
        try {
          header = await readFile(temporary, { untilTag: 0x00080019, bulkDataThreshold: 4096 });
        } catch (cause) {
          throw responseError(`part ${part.index} of the response is not a DICOM Part 10 instance: ${(cause as Error).message}`, cause);
        }
        const sopInstanceUid = header.dataSet.string(0x00080018) || header.meta.string(0x00020003) || '';
        const sopClassUid = header.dataSet.string(0x00080016) || header.meta.string(0x00020002) || '';
        if (!sopInstanceUid) throw responseError(`part ${part.index} of the response has no SOP Instance UID`);
        const path = join(dir, fileNameFor(sopInstanceUid));
        const { size } = await stat(temporary);
        await rename(temporary, path);
        return { path, sopInstanceUid, sopClassUid, transferSyntaxUid: header.transferSyntaxUid, size };
      } finally {
        await rm(temporary, { force: true });
      }
    },
  };
}
