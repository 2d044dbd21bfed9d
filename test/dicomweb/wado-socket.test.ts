/**
 * WADO-RS study retrieval over a real socket (the body is written straight to it, files through
 * two reused 1 MiB buffers: src/dicomweb/response-writer.ts): instances larger than a buffer come
 * whole and in order, byte for byte as stored; a client that goes away mid-body leaves the server
 * answering the next request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { createDicomWebApp } from '../../src/dicomweb/app.js';
import { instanceDataSet, openArchive, readAll, storeInput, tempDir } from '../storage/helpers.js';
import { multipartParts } from './helpers.js';

const STUDY = '1.2.826.0.1.3680043.10.511.7.1';
const ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*';

async function servedArchive(t: { after(fn: () => unknown): void }) {
  const archive = openArchive(tempDir(t, 'conduit-wado-socket-'));
  // Sizes around the buffer: smaller, a little under 1 MiB with the part header, several MiB.
  const sizes = [2_000, 1_047_000, 3 * 1024 * 1024, 8_192, 5_300_000];
  const uids: string[] = [];
  for (const [i, pixelBytes] of sizes.entries()) {
    const ds = instanceDataSet({ StudyInstanceUID: STUDY, SeriesInstanceUID: `${STUDY}.1`, SOPInstanceUID: `${STUDY}.1.${i + 1}`, PatientID: 'SOCKET', InstanceNumber: i + 1 }, { pixelBytes });
    uids.push((await archive.storeInstance(storeInput(ds))).sopInstanceUid);
  }
  const app = createDicomWebApp({ archive });
  t.after(async () => { await app.close(); await archive.close(); });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { archive, port: (app.server.address() as { port: number }).port, uids };
}

function get(port: number, path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { Accept: ACCEPT } }, resolve);
    req.on('error', reject);
    req.end();
  });
}

test('WADO-RS study over a socket: every instance whole, in order, as stored (parts larger than the buffers)', async (t) => {
  const { archive, port, uids } = await servedArchive(t);
  const res = await get(port, `/dicom-web/studies/${STUDY}`);
  assert.equal(res.statusCode, 200);
  const parts = await multipartParts(await readAll(res), res.headers['content-type']!);
  const byUid = new Map<string, Buffer>();
  for (const part of parts) byUid.set(part.headers.get('content-location')!.split('/').pop()!, part.body);
  assert.equal(parts.length, uids.length);
  for (const uid of uids) {
    const stored = await archive.openInstance(uid);
    assert.ok(byUid.get(uid)?.equals(await readAll(stored.stream)), `instance ${uid} as stored`);
  }
});

test('WADO-RS: a client leaving mid-body does not disturb the next request', async (t) => {
  const { port, uids } = await servedArchive(t);
  const first = await get(port, `/dicom-web/studies/${STUDY}`);
  await new Promise<void>((resolve) => {
    first.once('data', () => { first.destroy(); resolve(); });
  });
  const again = await get(port, `/dicom-web/studies/${STUDY}/series/${STUDY}.1/instances/${uids[2]}`);
  assert.equal(again.statusCode, 200);
  const parts = await multipartParts(await readAll(again), again.headers['content-type']!);
  assert.equal(parts.length, 1);
  assert.ok(parts[0]!.body.length > 3_000_000);
});
