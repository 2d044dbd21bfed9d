/**
 * STOW-RS parts are pipelined (the next part is read while the previous ones are made durable and
 * indexed): many parts come out stored and listed in request order, a bad part among them fails
 * alone, and with duplicates overwritten the last part of an instance sent twice is the one kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newBoundary } from '../../src/dicomweb/multipart/index.js';
import { createDicomWebApp, type DicomWebOptions } from '../../src/dicomweb/app.js';
import { openArchive, readAll, tempDir } from '../storage/helpers.js';
import { part10, STOW_STUDY as STUDY, stowBody } from './stow-helpers.js';

type Item = Record<string, { Value?: unknown[] }>;

async function post(t: { after(fn: () => unknown): void }, bodies: Buffer[], options: Partial<DicomWebOptions> = {}, slowFirst = false) {
  const archive = openArchive(tempDir(t, 'conduit-stow-pipeline-'));
  if (slowFirst) {
    // The first store, once it has read its part, takes longer than the ones after it: without
    // ordering, the first part would be indexed last.
    const store = archive.storeInstance.bind(archive);
    let calls = 0;
    archive.storeInstance = async (input, policy) => {
      if (calls++ > 0 || !('part10' in input)) return store(input, policy);
      const bytes = await readAll(input.part10);
      await new Promise((resolve) => setTimeout(resolve, 200));
      return store({ ...input, part10: (async function* () { yield bytes; })() }, policy);
    };
  }
  const app = createDicomWebApp({ archive, ...options });
  t.after(async () => { await app.close(); await archive.close(); });
  const boundary = newBoundary();
  const payload = await stowBody(bodies, boundary);
  const res = await app.inject({ method: 'POST', url: '/dicom-web/studies', payload, headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` } });
  return { archive, res, json: res.json() as Item };
}

test('STOW-RS of 24 parts, one of them not DICOM: the others stored and listed in request order', async (t) => {
  const sops = Array.from({ length: 24 }, (_, i) => `${STUDY}.1.${i + 1}`);
  const bodies = sops.map((sop, i) => (i === 9 ? Buffer.from('not DICOM') : part10(sop, `part ${i}`, i % 3 === 0 ? 300_000 : 2_000)));
  const { archive, res, json } = await post(t, bodies);
  assert.equal(res.statusCode, 202, res.body);
  const referenced = (json['00081199']!.Value as Item[]).map((i) => i['00081155']!.Value![0]);
  assert.deepEqual(referenced, sops.filter((_, i) => i !== 9));
  // The part that is not DICOM names no instance: Other Failures Sequence (PS3.18 Table I.1-1).
  assert.equal(json['00081198'], undefined);
  assert.equal((json['0008119A']!.Value as Item[]).length, 1);
  assert.equal((await archive.index.stats()).instances, 23);
});

test('STOW-RS with duplicates overwritten: the last part of an instance sent twice is kept', async (t) => {
  const sop = `${STUDY}.2.1`;
  const { archive, res } = await post(t, [part10(sop, 'FIRST VERSION', 400_000), part10(`${STUDY}.2.2`, 'OTHER', 2_000), part10(sop, 'SECOND VERSION', 2_000)], { duplicatePolicy: 'overwrite' }, true);
  assert.equal(res.statusCode, 200, res.body);
  const { stream } = await archive.openInstance(sop);
  assert.match((await readAll(stream)).toString('latin1'), /SECOND VERSION/);
});
