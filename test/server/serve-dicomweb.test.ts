/**
 * DICOMweb in `conduit serve`: one archive behind both protocols. An instance sent with C-STORE is
 * found by QIDO-RS and retrieved by WADO-RS; one sent with STOW-RS is found by C-FIND's engine;
 * the configuration's CORS origins and public URL reach the routes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, describeFile, proposalsFor } from '../../src/ae/index.js';
import { newBoundary, writeMultipart } from '../../src/dicomweb/multipart/index.js';
import { loadConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/serve.js';
import { PYDICOM_DATA, peer } from '../helpers/peers.js';
import { tempDir } from '../storage/helpers.js';

const CT = join(PYDICOM_DATA, 'test_files/CT_small.dcm');
const MR = join(PYDICOM_DATA, 'test_files/MR_small.dcm');

test('conduit serve: C-STORE then QIDO-RS / WADO-RS, STOW-RS then QIDO-RS, configured CORS and public URL', { skip: peer('pydicom') }, async (t) => {
  const dataDir = tempDir(t, 'conduit-serve-web-');
  const config = loadConfig({ flags: { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir }, env: { CONDUIT_CORS_ORIGINS: 'https://viewer.example', CONDUIT_PUBLIC_URL: 'https://pacs.example/dicom-web' } });
  const server = await startServer(config);
  t.after(() => server.close());
  const web = `http://127.0.0.1:${server.httpPort}/dicom-web`;

  const described = await describeFile(CT);
  const client = await connect({ host: '127.0.0.1', port: server.dimsePort, calledAeTitle: 'ARCHIVE', presentationContexts: proposalsFor([described]) });
  assert.equal((await client.store(described)).code, 0);
  await client.release();

  const found = await fetch(`${web}/instances?PatientID=1CT1`, { headers: { origin: 'https://viewer.example' } });
  assert.equal(found.status, 200);
  assert.equal(found.headers.get('access-control-allow-origin'), 'https://viewer.example');
  const [instance] = (await found.json()) as Array<Record<string, { Value: string[] }>>;
  const url = instance!['00081190']!.Value[0]!;
  assert.match(url, /^https:\/\/pacs\.example\/dicom-web\/studies\/.+\/instances\//);
  const retrieved = await fetch(url.replace('https://pacs.example/dicom-web', web), { headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
  assert.equal(retrieved.status, 200);
  assert.ok(Buffer.from(await retrieved.arrayBuffer()).includes(readFileSync(CT).subarray(2000, 3000)), 'the stored bytes are in the response');

  const boundary = newBoundary();
  const chunks: Uint8Array[] = [];
  for await (const c of writeMultipart([{ headers: { 'Content-Type': 'application/dicom' }, body: readFileSync(MR) }], boundary)) chunks.push(c);
  const stow = await fetch(`${web}/studies`, { method: 'POST', body: Buffer.concat(chunks), headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` } });
  assert.equal(stow.status, 200, await stow.clone().text());
  const studies = (await (await fetch(`${web}/studies`)).json()) as unknown[];
  assert.equal(studies.length, 2);
  assert.equal((await server.archive.index.stats()).instances, 2);
});
