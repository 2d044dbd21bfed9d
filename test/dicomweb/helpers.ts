/** Shared by the DICOMweb tests: an archive holding real files, and the app on it. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createDicomWebApp, type DicomWebOptions } from '../../src/dicomweb/app.js';
import type { ArchiveStore } from '../../src/storage/archive-store.js';
import { PYDICOM_DATA } from '../helpers/peers.js';
import { iterate, openArchive, tempDir } from '../storage/helpers.js';

/** pydicom files with distinct studies, patients, modalities and character sets. */
export const SAMPLE_FILES = [
  'test_files/CT_small.dcm', 'test_files/MR_small.dcm', 'test_files/rtplan.dcm', 'test_files/rtdose.dcm',
  'test_files/JPEG2000.dcm', 'test_files/SC_rgb_rle.dcm', 'test_files/ExplVR_BigEnd.dcm',
  'charset_files/chrRuss.dcm', 'charset_files/chrJapMulti.dcm', 'charset_files/chrGerm.dcm', 'charset_files/chrFren.dcm',
].map((f) => join(PYDICOM_DATA, f));

export function allPydicomFiles(): string[] {
  return ['test_files', 'charset_files'].flatMap((d) => readdirSync(join(PYDICOM_DATA, d)).filter((f) => f.endsWith('.dcm')).map((f) => join(PYDICOM_DATA, d, f)));
}

export interface Loaded {
  archive: ArchiveStore;
  app: FastifyInstance;
  /** SOP Instance UIDs stored, by file. */
  stored: Map<string, string>;
}

/** A fresh archive with `files` stored (as STOW-RS would), and the app on it. */
export async function loadedApp(t: TestContext, files: readonly string[] = SAMPLE_FILES, options: Partial<DicomWebOptions> = {}): Promise<Loaded> {
  const archive = openArchive(tempDir(t));
  const stored = new Map<string, string>();
  for (const f of files) {
    try {
      const r = await archive.storeInstance({ part10: iterate([readFileSync(f)]), sourceAet: 'TEST' });
      stored.set(f, r.sopInstanceUid);
    } catch {
      // refused by the archive (see test/storage/pydicom-files.test.ts); not stored
    }
  }
  const app = createDicomWebApp({ archive, publicUrl: 'http://conduit.test/dicom-web', ...options });
  t.after(async () => {
    await app.close();
    await archive.close();
  });
  return { archive, app, stored };
}

/** The values of one attribute in a DICOM JSON result (tag in 8 hex digits). */
export function jsonValues(result: Record<string, { Value?: unknown[] }>, tag: string): unknown[] {
  return result[tag]?.Value ?? [];
}

/** The parts of a multipart response body (whole, in memory: for tests). */
export async function multipartParts(body: Buffer, contentType: string): Promise<Array<{ headers: Map<string, string>; body: Buffer }>> {
  const { parseMultipart } = await import('../../src/dicomweb/multipart/index.js');
  const { parseMediaType } = await import('../../src/dicomweb/media-type.js');
  const boundary = parseMediaType(contentType).parameters.get('boundary')!;
  const out: Array<{ headers: Map<string, string>; body: Buffer }> = [];
  for await (const part of parseMultipart((async function* () { yield body; })(), boundary)) {
    const chunks: Buffer[] = [];
    for await (const c of part.body) chunks.push(Buffer.from(c));
    out.push({ headers: new Map(part.headers), body: Buffer.concat(chunks) });
  }
  return out;
}
