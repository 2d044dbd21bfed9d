/**
 * STOW-RS at the user agent (PS3.18 §10.5): the request body, multipart/related;
 * type="application/dicom" with one Part 10 instance per part, streamed from where each instance
 * lies (a file is read as the upload goes, so its size does not matter), and the response, the
 * Store Instances Response Module (PS3.18 Table 10.5.3-1) in the JSON model.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { DicomError } from '../../core/dicom-error.js';
import { DataSet } from '../../data/data-set.js';
import { fromDicomJsonSync } from '../../data/json-model-read.js';
import { EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN } from '../../data/transfer-syntax.js';
import { buildFileMeta } from '../../media/file-meta.js';
import { encodeFileStream, type DicomFile } from '../../media/part10.js';
import type { MultipartWritePart } from '../multipart/index.js';
import { writeMultipart } from '../multipart/index.js';
import { responseError } from './http.js';

/**
 * What can be stored: a Part 10 file's path (streamed from disk), its bytes, a DicomFile (encoded
 * as it is sent, bulk values streamed from their file), a DataSet (given File Meta Information in
 * Explicit VR Little Endian), or a stream of Part 10 bytes (with its length, when known, so that
 * the request can have a Content-Length).
 */
export type StowInput =
  | string
  | Uint8Array
  | DicomFile
  | DataSet
  | { readonly stream: AsyncIterable<Uint8Array>; readonly length?: number };

/** One part to send: its body and, when known before sending, its length. */
export interface StowPart {
  readonly body: Uint8Array | AsyncIterable<Uint8Array>;
  readonly length: number | undefined;
}

function isDicomFile(x: unknown): x is DicomFile {
  return typeof x === 'object' && x !== null && (x as DicomFile).dataSet instanceof DataSet && (x as DicomFile).meta instanceof DataSet;
}

/** A data set as a Part 10 file: File Meta Information from its SOP Class and Instance UIDs. */
function dataSetAsFile(ds: DataSet): DicomFile {
  const sopClassUid = ds.string(0x00080016);
  const sopInstanceUid = ds.string(0x00080018);
  if (!sopClassUid || !sopInstanceUid) {
    throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'a data set to store needs a SOP Class UID (0008,0016) and a SOP Instance UID (0008,0018)');
  }
  const transferSyntaxUid = ds.littleEndian ? EXPLICIT_VR_LITTLE_ENDIAN : EXPLICIT_VR_BIG_ENDIAN;
  return { preamble: null, meta: buildFileMeta({ sopClassUid, sopInstanceUid, transferSyntaxUid }), dataSet: ds, transferSyntaxUid, warnings: [] };
}

export async function stowPart(input: StowInput): Promise<StowPart> {
  if (typeof input === 'string') {
    let size: number;
    try {
      const s = await stat(input);
      if (!s.isFile()) throw new Error('not a file');
      size = s.size;
    } catch (cause) {
      throw new DicomError('ERR_DICOM_IO', `cannot read ${input}: ${(cause as Error).message}`, { cause });
    }
    return { body: createReadStream(input, { highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>, length: size };
  }
  if (input instanceof Uint8Array) return { body: input, length: input.length };
  if (input instanceof DataSet) return { body: encodeFileStream(dataSetAsFile(input), { transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN }), length: undefined };
  if (isDicomFile(input)) return { body: encodeFileStream(input), length: undefined };
  if (typeof input === 'object' && input !== null && 'stream' in input) return { body: input.stream, length: input.length };
  throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'storeInstances takes paths, bytes, DicomFiles, DataSets or { stream } objects');
}

const PART_HEADERS = { 'Content-Type': 'application/dicom' } as const;

/**
 * The multipart body's length when every part's length is known: what the writer produces around
 * the parts (delimiters and header fields, measured by writing the parts empty) plus the parts.
 */
export async function multipartLength(lengths: readonly (number | undefined)[], boundary: string): Promise<number | undefined> {
  if (lengths.some((n) => n === undefined)) return undefined;
  let total = 0;
  for await (const c of writeMultipart(lengths.map(() => ({ headers: PART_HEADERS, body: new Uint8Array(0) })), boundary)) total += c.length;
  return lengths.reduce<number>((n, l) => n + l!, total);
}

/** The request body; `onBytes` hears of each chunk as the upload takes it. */
export function stowBody(parts: readonly StowPart[], boundary: string, onBytes?: (n: number, partIndex: number) => void): AsyncIterable<Uint8Array> {
  const counted = (part: StowPart, index: number): MultipartWritePart => ({
    headers: PART_HEADERS,
    body: onBytes === undefined ? part.body : (async function* () {
      if (part.body instanceof Uint8Array) {
        onBytes(part.body.length, index);
        yield part.body;
        return;
      }
      for await (const c of part.body) {
        onBytes(c.length, index);
        yield c;
      }
    })(),
  });
  return writeMultipart(parts.map(counted), boundary);
}

/** PS3.18 Table 10.5.3-1 (Referenced SOP Sequence item). */
export interface StoredInstance {
  sopClassUid: string;
  sopInstanceUid: string;
  retrieveUrl: string | undefined;
  /** Warning Reason (0008,1196), e.g. B000H Coercion of Data Elements. */
  warningReason: number | undefined;
  warningDescription: string | undefined;
}

/** PS3.18 Table 10.5.3-1 (Failed SOP Sequence item). */
export interface FailedInstance {
  sopClassUid: string;
  sopInstanceUid: string;
  /** Failure Reason (0008,1197), e.g. A700H Out of Resources. */
  failureReason: number | undefined;
  /** The reason in words, with its code: "C000H Error: Cannot understand". */
  description: string;
}

export interface StoreResult {
  /** 200: all stored; 202: some failed or were stored with warnings; 409 (or another error status): none stored. */
  httpStatus: number;
  /** Every instance was stored, without warnings or failures. */
  ok: boolean;
  /** Retrieve URL (0008,1190) of the study. */
  retrieveUrl: string | undefined;
  referenced: StoredInstance[];
  failed: FailedInstance[];
  /** Texts of the Warning header. */
  warnings: string[];
  /** The whole response (Store Instances Response Module). */
  dataSet: DataSet;
}

/** PS3.18 §10.5.3 (Failure Reason, Warning Reason), with the PS3.4 Annex B statuses they come from. */
const REASONS: ReadonlyMap<number, string> = new Map([
  [0x0110, 'Processing failure'],
  [0x0111, 'Duplicate SOP Instance'],
  [0x0122, 'Referenced SOP Class not supported'],
  [0x0124, 'Not authorized'],
  [0xa700, 'Refused: Out of Resources'],
  [0xa900, 'Error: Data Set does not match SOP Class'],
  [0xb000, 'Warning: Coercion of Data Elements'],
  [0xb006, 'Warning: Elements Discarded'],
  [0xb007, 'Warning: Data Set does not match SOP Class'],
  [0xc000, 'Error: Cannot understand'],
  [0xc122, 'Referenced Transfer Syntax not supported'],
]);

export function describeReason(code: number | undefined): string {
  if (code === undefined) return 'no reason given';
  const hex = `${code.toString(16).toUpperCase().padStart(4, '0')}H`;
  const words = REASONS.get(code) ?? (code >= 0xa700 && code <= 0xa7ff ? 'Refused: Out of Resources' : code >= 0xc000 && code <= 0xcfff ? 'Error: Cannot understand' : undefined);
  return words ? `${hex} ${words}` : hex;
}

function firstNumber(ds: DataSet, tag: number): number | undefined {
  if (!ds.has(tag)) return undefined;
  try {
    return ds.numbers(tag)[0];
  } catch {
    return undefined;
  }
}

/** The Store Instances Response Module of a STOW-RS response in the JSON model. */
export function parseStoreResponse(json: string, httpStatus: number, warnings: string[]): StoreResult {
  let ds: DataSet;
  try {
    const parsed = JSON.parse(json) as unknown;
    // A few servers wrap the data set in an array, as QIDO does.
    ds = fromDicomJsonSync((Array.isArray(parsed) && parsed.length === 1 ? parsed[0] : parsed) as never);
  } catch (cause) {
    throw responseError(`the STOW-RS response (HTTP ${httpStatus}) is not a DICOM JSON data set: ${(cause as Error).message}`, cause);
  }
  const referenced = ds.items(0x00081199).map((item): StoredInstance => {
    const warningReason = firstNumber(item, 0x00081196);
    return {
      sopClassUid: item.string(0x00081150) ?? '',
      sopInstanceUid: item.string(0x00081155) ?? '',
      retrieveUrl: item.string(0x00081190) || undefined,
      warningReason,
      warningDescription: warningReason === undefined ? undefined : describeReason(warningReason),
    };
  });
  const failed = ds.items(0x00081198).map((item): FailedInstance => {
    const failureReason = firstNumber(item, 0x00081197);
    return { sopClassUid: item.string(0x00081150) ?? '', sopInstanceUid: item.string(0x00081155) ?? '', failureReason, description: describeReason(failureReason) };
  });
  // Other Failures Sequence (0008,119A): failures that name no instance.
  for (const item of ds.items(0x0008119a)) {
    const failureReason = firstNumber(item, 0x00081197);
    failed.push({ sopClassUid: '', sopInstanceUid: '', failureReason, description: describeReason(failureReason) });
  }
  const ok = httpStatus === 200 && failed.length === 0 && referenced.every((r) => r.warningReason === undefined);
  return { httpStatus, ok, retrieveUrl: ds.string(0x00081190) || undefined, referenced, failed, warnings, dataSet: ds };
}
