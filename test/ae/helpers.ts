/**
 * Shared pieces of the ae/ component tests: a DicomServer on port 0 with its teardown, waiting on
 * events and promises with a deadline (never a sleep), and data sets and Part 10 files built in code.
 */
import assert from 'node:assert/strict';
import { once, type EventEmitter } from 'node:events';
import fs, { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { DataSet } from '../../src/data/data-set.js';
import { parseDataSet } from '../../src/data/reader/data-set-parser.js';
import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, transferSyntax } from '../../src/data/transfer-syntax.js';
import { encodeDataSet } from '../../src/data/writer.js';
import { buildFileMeta } from '../../src/media/file-meta.js';
import { DicomServer, describeFile, proposalsFor, type DicomServerOptions } from '../../src/ae/index.js';
import type { SendableFile } from '../../src/services/storage/file-source.js';
import type { PresentationContextProposal } from '../../src/upper-layer/index.js';

export const WAIT_MS = 5000;
export const VERIFICATION = '1.2.840.10008.1.1';
export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
export const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
export const STUDY_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.2.1';
export const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
export { EXPLICIT_VR_LITTLE_ENDIAN as EXPLICIT_LE, IMPLICIT_VR_LITTLE_ENDIAN as IMPLICIT_LE };

/** Rejects with a message naming what was awaited when `p` does not settle within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** The arguments of the next `event` of `emitter`, within `ms`. */
export function nextEvent<T extends unknown[] = unknown[]>(emitter: EventEmitter, event: string, ms = WAIT_MS): Promise<T> {
  const ac = new AbortController();
  return withTimeout(once(emitter, event, { signal: ac.signal }) as Promise<T>, ms, `event '${event}'`).finally(() => ac.abort());
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A DicomServer listening on 127.0.0.1, port 0. `close()` aborts what is still open. */
export async function startServer(options: Omit<DicomServerOptions, 'host' | 'port'>): Promise<{ server: DicomServer; port: number; close(): Promise<void> }> {
  const server = new DicomServer({ host: '127.0.0.1', ...options });
  const { port } = await server.listen();
  return { server, port, close: () => server.close({ abort: true }) };
}

/** Contexts for storing CT images from Explicit VR Little Endian sources (Explicit and Implicit VR offered). */
export function proposalsForCt(): PresentationContextProposal[] {
  return proposalsFor([{ sopClassUid: CT_IMAGE_STORAGE, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN }]);
}

let uidCounter = 0;
/** A fresh SOP Instance UID. */
export function newUid(): string {
  return `1.2.826.0.1.3680043.8.498.${process.pid}.${Date.now()}.${++uidCounter}`;
}

/**
 * A small CT image: identity, patient and study attributes and a 16 x 16 Pixel Data (OW). No
 * private or VR-ambiguous elements, so an Implicit VR round trip gives the same elements back.
 */
export function ctDataSet(sopInstanceUid = newUid(), sopClassUid = CT_IMAGE_STORAGE): DataSet {
  const ds = new DataSet();
  ds.set(0x00080016, 'UI', sopClassUid);
  ds.set(0x00080018, 'UI', sopInstanceUid);
  ds.set(0x00080020, 'DA', '20240131');
  ds.set(0x00080060, 'CS', 'CT');
  ds.set(0x00100010, 'PN', 'Doe^Jane');
  ds.set(0x00100020, 'LO', 'PID-42');
  ds.set(0x0020000d, 'UI', '1.2.826.0.1.3680043.8.498.100');
  ds.set(0x0020000e, 'UI', '1.2.826.0.1.3680043.8.498.101');
  ds.set(0x00280002, 'US', 1);
  ds.set(0x00280004, 'CS', 'MONOCHROME2');
  ds.set(0x00280010, 'US', 16);
  ds.set(0x00280011, 'US', 16);
  ds.set(0x00280100, 'US', 16);
  ds.set(0x00280101, 'US', 12);
  ds.set(0x00280102, 'US', 11);
  ds.set(0x00280103, 'US', 0);
  const pixels = new Uint8Array(16 * 16 * 2);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7) & 0xff;
  ds.set(0x7fe00010, 'OW', pixels);
  return ds;
}

export function encodingOf(tsUid: string): { explicitVR: boolean; littleEndian: boolean } {
  const ts = transferSyntax(tsUid);
  return { explicitVR: ts.explicitVR, littleEndian: ts.littleEndian };
}

/** Data set bytes in a transfer syntax (uncompressed). */
export function dataSetBytesIn(ds: DataSet, tsUid: string): Uint8Array {
  return encodeDataSet(ds, encodingOf(tsUid));
}

/** Parses data set bytes received in an (uncompressed) transfer syntax. */
export function parseIn(bytes: Uint8Array, tsUid: string): DataSet {
  return parseDataSet(bytes, encodingOf(tsUid));
}

/** Preamble, "DICM" and File Meta Information for an object in a transfer syntax. */
export function part10Head(sopClassUid: string, sopInstanceUid: string, tsUid: string): Uint8Array {
  const meta = encodeDataSet(buildFileMeta({ sopClassUid, sopInstanceUid, transferSyntaxUid: tsUid }), { explicitVR: true, littleEndian: true }, { recalculateGroupLengths: true });
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), meta]);
}

/** Writes a Part 10 file of `ds` in an uncompressed transfer syntax; returns the data set bytes written. */
export function writePart10(path: string, ds: DataSet, tsUid = EXPLICIT_VR_LITTLE_ENDIAN): Uint8Array {
  const body = dataSetBytesIn(ds, tsUid);
  writeFileSync(path, Buffer.concat([part10Head(ds.string(0x00080016)!, ds.string(0x00080018)!, tsUid), body]));
  return body;
}

/**
 * Writes one CT file per size into `dir` (f0.dcm, f1.dcm, ...), Pixel Data of that many bytes, each
 * file's bytes different (`seed` varies them between tests); returns the files described, in order,
 * and each one's data set bytes by SOP Instance UID.
 */
export async function writeCtFilesOfSizes(dir: string, sizes: readonly number[], seed: readonly [number, number]): Promise<{ files: SendableFile[]; bodies: Map<string, Uint8Array> }> {
  const files: SendableFile[] = [];
  const bodies = new Map<string, Uint8Array>();
  for (const [i, size] of sizes.entries()) {
    const ds = ctDataSet();
    ds.set(0x7fe00010, 'OW', new Uint8Array(size).map((_, k) => (k * seed[0] + i * seed[1]) & 0xff));
    const path = join(dir, `f${i}.dcm`);
    bodies.set(ds.string(0x00080018)!, writePart10(path, ds, EXPLICIT_VR_LITTLE_ENDIAN));
    files.push(await describeFile(path));
  }
  return { files, bodies };
}

/**
 * Writes a Part 10 file in a compressed transfer syntax: the identity elements, then Pixel Data
 * encapsulated (PS3.5 A.4): undefined length, an empty Basic Offset Table, one fragment, the
 * Sequence Delimitation Item.
 */
export function writeEncapsulatedPart10(path: string, sopClassUid: string, sopInstanceUid: string, tsUid = JPEG_BASELINE): void {
  const ds = new DataSet();
  ds.set(0x00080016, 'UI', sopClassUid);
  ds.set(0x00080018, 'UI', sopInstanceUid);
  ds.set(0x00100010, 'PN', 'Compressed^Only');
  const pixel = Buffer.alloc(12 + 8 + 8 + 4 + 8);
  let o = 0;
  o = pixel.writeUInt16LE(0x7fe0, o);
  o = pixel.writeUInt16LE(0x0010, o);
  o += pixel.write('OB', o, 'latin1');
  o += 2;
  o = pixel.writeUInt32LE(0xffffffff, o);
  for (const [length, body] of [[0, []], [4, [0xff, 0xd8, 0xff, 0xd9]]] as const) {
    o = pixel.writeUInt16LE(0xfffe, o);
    o = pixel.writeUInt16LE(0xe000, o);
    o = pixel.writeUInt32LE(length, o);
    for (const b of body) o = pixel.writeUInt8(b, o);
  }
  o = pixel.writeUInt16LE(0xfffe, o);
  o = pixel.writeUInt16LE(0xe0dd, o);
  pixel.writeUInt32LE(0, o);
  writeFileSync(path, Buffer.concat([part10Head(sopClassUid, sopInstanceUid, tsUid), encodeDataSet(ds, { explicitVR: true, littleEndian: true }), pixel]));
}

/** The element header of an OB Pixel Data of `length` bytes (Explicit VR Little Endian), for data sets streamed in chunks. */
export function pixelDataHeader(length: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16LE(0x7fe0, 0);
  header.writeUInt16LE(0x0010, 2);
  header.write('OB', 4, 'latin1');
  header.writeUInt32LE(length, 8);
  return header;
}

/** Reads a received data set stream to its end. */
export async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts);
}

/** Byte equality, reporting the length or the first differing offset rather than two dumps. */
export function assertBytes(actual: Uint8Array, expected: Uint8Array, what = 'bytes'): void {
  if (actual.length !== expected.length) throw new assert.AssertionError({ message: `${what}: ${actual.length} bytes, expected ${expected.length}`, actual: actual.length, expected: expected.length });
  const at = actual.findIndex((b, i) => b !== expected[i]);
  if (at >= 0) throw new assert.AssertionError({ message: `${what}: differ at offset ${at} (${actual[at]} vs ${expected[at]})`, actual: actual[at], expected: expected[at] });
}

/** The paths fs.openSync opens from now until the test ends (the synchronous reads of a store). */
export function recordOpens(t: TestContext): string[] {
  const opened: string[] = [];
  const { openSync } = fs;
  fs.openSync = ((path: string, ...rest: unknown[]) => {
    opened.push(path);
    return (openSync as (...a: unknown[]) => number)(path, ...rest);
  }) as typeof fs.openSync;
  t.after(() => {
    fs.openSync = openSync;
  });
  return opened;
}
