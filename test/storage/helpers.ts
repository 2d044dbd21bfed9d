/** Builders shared by the storage tests: instances made in code, temporary archives. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSet } from '../../src/data/data-set.js';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../../src/data/transfer-syntax.js';
import { encodeDataSet } from '../../src/data/writer.js';
import { ArchiveStore } from '../../src/storage/archive-store.js';
import { FilesystemBlobStore } from '../../src/storage/filesystem/filesystem-blob-store.js';
import { buildInstanceIndexRecord } from '../../src/storage/index-record.js';
import type { InstanceIndexRecord } from '../../src/storage/ports.js';
import { SqliteIndexStore, type SqliteIndexStoreOptions } from '../../src/storage/sqlite/sqlite-index-store.js';

export const CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2';
export const MR_IMAGE = '1.2.840.10008.5.1.4.1.1.4';
export const BASIC_TEXT_SR = '1.2.840.10008.5.1.4.1.1.88.11';

/** Attributes of one instance, by keyword; strings split at backslashes. */
export interface InstanceSpec {
  readonly [keyword: string]: string | number | undefined;
}

/** A data set for a spec: the UIDs the spec gives (or made up), some text, optional pixel data. */
export function instanceDataSet(spec: InstanceSpec, options: { pixelBytes?: number; charset?: string } = {}): DataSet {
  const ds = new DataSet();
  const charset = options.charset ?? (/[^\x00-\x7f]/.test(JSON.stringify(spec)) ? 'ISO_IR 192' : undefined);
  if (charset) ds.set('SpecificCharacterSet', 'CS', charset);
  const all: Record<string, string | number | undefined> = { SOPClassUID: CT_IMAGE, Modality: 'CT', ...spec };
  for (const [keyword, value] of Object.entries(all)) {
    if (value === undefined) continue;
    if (typeof value === 'number') ds.set(keyword, undefined, value);
    else ds.set(keyword, undefined, value === '' ? null : value.split('\\'));
  }
  if (options.pixelBytes) {
    const side = Math.floor(Math.sqrt(options.pixelBytes / 2));
    ds.set('Rows', 'US', side);
    ds.set('Columns', 'US', side);
    ds.set('BitsAllocated', 'US', 16);
    const pixels = new Uint8Array(side * side * 2);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 31 + side) & 0xff;
    ds.set('PixelData', 'OW', pixels);
  }
  return ds;
}

/** The data set's bytes in Explicit VR Little Endian, in chunks of `chunk` bytes (like PDVs). */
export function dataSetChunks(ds: DataSet, chunk = 16_384): Uint8Array[] {
  const bytes = encodeDataSet(ds, { explicitVR: true, littleEndian: true });
  const out: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; o += chunk) out.push(bytes.subarray(o, o + chunk));
  return out;
}

export async function* iterate(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c;
}

/** C-STORE-like input for ArchiveStore.storeInstance. */
export function storeInput(ds: DataSet, sourceAet = 'SCU') {
  return {
    dataSet: iterate(dataSetChunks(ds)),
    sopClassUid: ds.string('SOPClassUID')!,
    sopInstanceUid: ds.string('SOPInstanceUID')!,
    transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
    sourceAet,
  };
}

/** An index record straight from a spec (no blob): for index-only tests. */
export function indexRecord(spec: InstanceSpec, blobKey?: string): InstanceIndexRecord {
  const ds = instanceDataSet(spec);
  return buildInstanceIndexRecord(ds, {
    blobKey: blobKey ?? `blob-${ds.string('SOPInstanceUID')}`,
    size: 1000,
    dataSetOffset: 200,
    transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
    receivedAt: new Date('2024-01-02T03:04:05Z'),
  });
}

export function tempDir(t: { after(fn: () => void): void }, prefix = 'conduit-storage-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function openArchive(dir: string, index: Partial<SqliteIndexStoreOptions> = {}): ArchiveStore {
  return new ArchiveStore({
    index: new SqliteIndexStore({ path: join(dir, 'index.db'), ...index }),
    blobs: new FilesystemBlobStore({ root: join(dir, 'blobs') }),
  });
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(parts);
}

/** Instance number i of the crash test: 7 studies, 23 series, objects of 1 KB to ~400 KB. */
export function crashInstance(i: number): DataSet {
  const study = i % 7;
  const series = i % 23;
  return instanceDataSet({
    PatientID: `CP${study % 3}`,
    PatientName: `Crash^Patient${study % 3}`,
    StudyInstanceUID: `2.25.${study}`,
    SeriesInstanceUID: `2.25.${study}.${series}`,
    SOPInstanceUID: `2.25.${study}.${series}.${i}`,
    StudyDate: '20240601',
    InstanceNumber: String(i),
  }, { pixelBytes: 1000 + ((i * 7919) % 400_000) });
}
