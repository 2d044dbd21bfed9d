/**
 * STOW-RS of metadata and bulk data (PS3.18 §10.5.1, §8.6.1.2): a multipart/related body of
 * type application/dicom+json (one part: an array of data sets) or application/dicom+xml (one
 * part per data set), then bulk data parts named by the BulkDataURIs of the metadata through
 * their Content-Location (or Content-ID, as "cid:...").
 *
 * Bulk data parts are spooled to temporary files as they arrive (never held in memory), each
 * data set is then encoded as a Part 10 file in Explicit VR Little Endian with its values read
 * from those files, and stored as an application/dicom part would be. Bulk data must be
 * uncompressed (application/octet-stream): compressed pixel data parts are refused (0xC122).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { BulkData } from '../data/bulk-data.js';
import type { DataSet } from '../data/data-set.js';
import { fromDicomJson } from '../data/json-model-read.js';
import type { DicomJsonDataSet } from '../data/json-model.js';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../data/transfer-syntax.js';
import { fromNativeDicomXml } from '../data/xml-model.js';
import { buildFileMeta } from '../media/file-meta.js';
import { encodeFileStream } from '../media/part10.js';
import type { DicomWebContext } from './context.js';
import { badRequest } from './http-error.js';
import { parseMediaType } from './media-type.js';
import type { MultipartPart } from './multipart/index.js';

/** Largest metadata part read into memory. */
const MAX_METADATA_BYTES = 64 * 1024 * 1024;

export interface SpooledBulkData {
  readonly path: string;
  readonly length: number;
  readonly mediaType: string;
  readonly transferSyntax: string | undefined;
}

/** A data set of the request that did not decode. */
export interface Undecodable {
  readonly message: string;
  readonly sopClassUid?: string;
  readonly sopInstanceUid?: string;
}

/** The SOP Class and Instance UIDs of a DICOM JSON object that did not decode, when they are plain UI values. */
function jsonUids(json: unknown): Omit<Undecodable, 'message'> {
  const value = (tag: string): string | undefined => {
    const v = (json as Record<string, { Value?: unknown[] } | undefined> | null)?.[tag]?.Value?.[0];
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  };
  if (typeof json !== 'object' || json === null) return {};
  const sopClassUid = value('00080016');
  const sopInstanceUid = value('00080018');
  return { ...(sopClassUid ? { sopClassUid } : {}), ...(sopInstanceUid ? { sopInstanceUid } : {}) };
}

/** What a metadata request holds: data sets (already decoded) and the bulk data they name. */
export interface MetadataRequest {
  readonly dataSets: DataSet[];
  /** Errors of data sets that did not decode, in order, with the UIDs they name when these could be read. */
  readonly undecodable: Undecodable[];
  readonly bulk: Map<string, SpooledBulkData>;
  cleanup(): Promise<void>;
}

async function readAll(body: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    size += c.length;
    if (size > limit) throw badRequest(`a metadata part is larger than ${limit} bytes`, 413);
    chunks.push(Buffer.from(c));
  }
  return Buffer.concat(chunks);
}

/** Reads every part: metadata parts decoded later (their URIs need the bulk parts), bulk parts spooled. */
export async function readMetadataRequest(parts: AsyncIterable<MultipartPart>, rootType: string): Promise<MetadataRequest> {
  const dir = await mkdtemp(join(tmpdir(), 'conduit-stow-'));
  const bulk = new Map<string, SpooledBulkData>();
  const metadata: Buffer[] = [];
  try {
    for await (const part of parts) {
      const type = part.contentType ? parseMediaType(part.contentType) : undefined;
      const mediaType = type?.type ?? (part.index === 0 ? rootType : 'application/octet-stream');
      if (mediaType === rootType) {
        metadata.push(await readAll(part.body, MAX_METADATA_BYTES));
        continue;
      }
      const path = join(dir, `part-${part.index}`);
      let length = 0;
      await pipeline(Readable.from((async function* () { for await (const c of part.body) { length += c.length; yield c; } })()), createWriteStream(path));
      const spooled = { path, length, mediaType, transferSyntax: type?.parameters.get('transfer-syntax') };
      const location = part.headers.get('content-location');
      const id = part.headers.get('content-id')?.replace(/^<|>$/g, '');
      if (location) bulk.set(location, spooled);
      if (id) bulk.set(`cid:${id}`, spooled);
      if (!location && !id) throw badRequest(`bulk data part ${part.index} has neither Content-Location nor Content-ID, so no BulkDataURI can name it`);
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  if (metadata.length === 0) {
    await rm(dir, { recursive: true, force: true });
    throw badRequest(`the request has no ${rootType} part`);
  }
  const dataSets: DataSet[] = [];
  const undecodable: Undecodable[] = [];
  const why = (e: unknown) => (e as Error).message + ((e as Error).cause ? `: ${((e as Error).cause as Error).message}` : '');
  const resolveBulkData = (uri: string) => {
    const found = bulk.get(uri) ?? [...bulk.entries()].find(([k]) => uri.endsWith(k) || k.endsWith(uri))?.[1];
    if (!found) throw new Error(`no bulk data part has Content-Location ${uri}`);
    if (found.mediaType !== 'application/octet-stream') throw new Error(`bulk data ${uri} is ${found.mediaType}${found.transferSyntax ? ` (${found.transferSyntax})` : ''}; only uncompressed application/octet-stream bulk data is stored`);
    return new BulkData(found.path, 0, found.length);
  };
  for (const bytes of metadata) {
    try {
      if (rootType === 'application/dicom+json') {
        const parsed = JSON.parse(bytes.toString('utf8')) as DicomJsonDataSet | DicomJsonDataSet[];
        for (const json of Array.isArray(parsed) ? parsed : [parsed]) {
          try {
            dataSets.push(await fromDicomJson(json, { resolveBulkData, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN }));
          } catch (e) {
            undecodable.push({ message: why(e), ...jsonUids(json) });
          }
        }
      } else {
        dataSets.push(await fromNativeDicomXml(bytes, { resolveBulkData, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN }));
      }
    } catch (e) {
      undecodable.push({ message: why(e) });
    }
  }
  return { dataSets, undecodable, bulk, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A decoded data set as a Part 10 file in Explicit VR Little Endian. */
export function part10Of(ds: DataSet, sourceAet: string): AsyncIterable<Uint8Array> {
  const meta = buildFileMeta({
    sopClassUid: ds.string('SOPClassUID')?.trim() ?? '',
    sopInstanceUid: ds.string('SOPInstanceUID')?.trim() ?? '',
    transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
    sourceAet: sourceAet.slice(0, 16),
  });
  return encodeFileStream({ preamble: null, meta, dataSet: ds, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN, warnings: [] });
}

export type { DicomWebContext };
