import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBuffer } from '../../src/media/part10.js';
import { newBoundary, writeMultipart } from '../../src/dicomweb/multipart/index.js';
import { PYDICOM_DATA, peer } from '../helpers/peers.js';
import { tempDir } from '../storage/helpers.js';
import { loadedApp, SAMPLE_FILES } from './helpers.js';

const skip = peer('pydicom');
const CT = join(PYDICOM_DATA, 'test_files/CT_small.dcm');
const MR = join(PYDICOM_DATA, 'test_files/MR_small.dcm');
type Item = Record<string, { vr: string; Value?: unknown[] }>;
type Response = Record<string, { vr: string; Value?: Item[] | string[] }>;

async function body(parts: Array<{ type?: string; bytes: Buffer }>, boundary: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of writeMultipart(parts.map((p) => ({ headers: { 'Content-Type': p.type }, body: p.bytes })), boundary)) chunks.push(c);
  return Buffer.concat(chunks);
}

function uids(path: string) {
  const ds = parseBuffer(readFileSync(path)).dataSet;
  return { study: ds.string('StudyInstanceUID')!.trim(), series: ds.string('SeriesInstanceUID')!.trim(), sop: ds.string('SOPInstanceUID')!.trim(), sopClass: ds.string('SOPClassUID')!.trim() };
}

test('STOW-RS stores application/dicom parts durably and lists them with their Retrieve URLs (200)', { skip }, async (t) => {
  const { app, archive } = await loadedApp(t, []);
  const boundary = newBoundary();
  const payload = await body([{ type: 'application/dicom', bytes: readFileSync(CT) }, { type: 'application/dicom', bytes: readFileSync(MR) }], boundary);
  const res = await app.inject({ method: 'POST', url: '/dicom-web/studies', payload, headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` } });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(res.headers['content-type'] as string, /^application\/dicom\+json/);
  const r = res.json() as Response;
  const referenced = r['00081199']!.Value as Item[];
  assert.equal(referenced.length, 2);
  const ct = uids(CT);
  assert.deepEqual(referenced[0]!['00081155']!.Value, [ct.sop]);
  assert.deepEqual(referenced[0]!['00081150']!.Value, [ct.sopClass]);
  assert.deepEqual(referenced[0]!['00081190']!.Value, [`http://conduit.test/dicom-web/studies/${ct.study}/series/${ct.series}/instances/${ct.sop}`]);
  assert.equal(r['00081198'], undefined, 'no Failed SOP Sequence');
  // Two studies: the Retrieve URL of the study (Type 2, PS3.18 Table I.1-1) is present and empty.
  assert.deepEqual(r['00081190'], { vr: 'UR' });
  // Stored and indexed before the response: the bytes read back, QIDO finds them.
  const back = await archive.openInstance(ct.sop);
  const chunks: Buffer[] = [];
  for await (const c of back.stream) chunks.push(c as Buffer);
  assert.ok(Buffer.concat(chunks).equals(readFileSync(CT)));
  assert.equal((await app.inject({ url: '/dicom-web/instances' })).json().length, 2);
});

test('STOW-RS: some failed (202), all failed (409), study mismatch, bad parts, 415 and 400', { skip }, async (t) => {
  const { app, archive } = await loadedApp(t, [], { duplicatePolicy: 'reject' });
  const boundary = newBoundary();
  const ct = uids(CT);
  const mr = uids(MR);
  const headers = { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` };
  // CT into MR's study: refused before indexing; garbage: cannot understand; MR: stored.
  const payload = await body([
    { type: 'application/dicom', bytes: readFileSync(CT) },
    { type: 'application/dicom', bytes: Buffer.from('not DICOM at all') },
    { type: 'application/dicom', bytes: readFileSync(MR) },
    { type: 'text/plain', bytes: Buffer.from('hello') },
  ], boundary);
  const res = await app.inject({ method: 'POST', url: `/dicom-web/studies/${mr.study}`, payload, headers });
  assert.equal(res.statusCode, 202, res.body);
  const r = res.json() as Response;
  const failed = r['00081198']!.Value as Item[];
  assert.deepEqual(failed.map((f) => f['00081197']!.Value![0]), [0xa900]);
  assert.deepEqual(failed[0]!['00081155']!.Value, [ct.sop]);
  // The garbage and the text/plain part name no instance: Other Failures Sequence (PS3.18 Table I.1-1).
  assert.deepEqual((r['0008119A']!.Value as Item[]).map((f) => f['00081197']!.Value![0]), [0xc000, 0xc122]);
  assert.deepEqual((r['00081199']!.Value as Item[]).map((i) => i['00081155']!.Value![0]), [mr.sop]);
  assert.deepEqual(r['00081190']!.Value, [`http://conduit.test/dicom-web/studies/${mr.study}`]);
  assert.match(res.headers.warning as string, /belongs to study/);
  assert.equal(await archive.index.getInstance(ct.sop), undefined, 'the CT of another study was not indexed');
  assert.equal((await archive.index.stats()).instances, 1);

  // The same MR again with duplicates rejected: every instance failed, 409.
  const again = await app.inject({ method: 'POST', url: `/dicom-web/studies/${mr.study}`, payload: await body([{ type: 'application/dicom', bytes: readFileSync(MR) }], boundary), headers });
  assert.equal(again.statusCode, 409);
  // Nothing stored by this request: no study to point at, though the path names one.
  assert.deepEqual((again.json() as Response)['00081190'], { vr: 'UR' });
  assert.deepEqual(((again.json() as Response)['00081198']!.Value as Item[])[0]!['00081197']!.Value, [0x0111]);

  const wrongType = await app.inject({ method: 'POST', url: '/dicom-web/studies', payload: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(wrongType.statusCode, 415);
  assert.match(wrongType.json().error.message, /multipart\/related/);
  const truncated = await app.inject({ method: 'POST', url: '/dicom-web/studies', payload: `--${boundary}\r\nContent-Type: application/dicom\r\n\r\nabc`, headers });
  assert.equal(truncated.statusCode, 400);
  assert.equal(truncated.json().error.code, 'ERR_DICOM_MULTIPART');
  const xml = await app.inject({ method: 'POST', url: '/dicom-web/studies', payload: await body([{ type: 'application/dicom', bytes: readFileSync(MR) }], boundary), headers: { ...headers, accept: 'application/dicom+xml' } });
  assert.match(xml.body, /<NativeDicomModel/);
  assert.match(xml.body, /keyword="FailureReason"/);
});

test('STOW-RS over HTTP with curl and Expect: 100-continue; then WADO-RS and QIDO-RS see the instances', { skip: skip ?? (spawnSync('sh', ['-c', 'command -v curl']).status === 0 ? undefined : 'curl is not installed') }, async (t) => {
  const { app } = await loadedApp(t, []);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const boundary = newBoundary();
  const file = join(tempDir(t, 'conduit-stow-'), 'body');
  // Files that store without warnings (rtplan / rtdose have File Meta UIDs differing from their data sets: 202).
  const files = [0, 1, 4, 5, 7].map((i) => SAMPLE_FILES[i]!);
  writeFileSync(file, await body(files.map((f) => ({ type: 'application/dicom', bytes: readFileSync(f) })), boundary));
  // The server runs in this process: curl must run asynchronously.
  const r = await promisify(execFile)('curl', ['-sS', '-v', '-X', 'POST', '-H', 'Expect: 100-continue', '-H', `Content-Type: multipart/related; type="application/dicom"; boundary=${boundary}`,
    '-H', 'Accept: application/dicom+json', '--data-binary', `@${file}`, '-w', '\n%{http_code}', `http://127.0.0.1:${port}/dicom-web/studies`], { encoding: 'utf8', timeout: 30_000 });
  assert.match(r.stderr, /HTTP\/1\.1 100 Continue/, 'the server answered Expect: 100-continue');
  const [json, code] = r.stdout.split('\n');
  assert.equal(code, '200', r.stdout);
  assert.equal(((JSON.parse(json!) as Response)['00081199']!.Value as Item[]).length, files.length);
  const q = await fetch(`http://127.0.0.1:${port}/dicom-web/instances`);
  assert.equal(((await q.json()) as unknown[]).length, files.length);
});

test('Expect: 100-continue: a STOW-RS body of the wrong media type is refused before it is sent; a good one is asked for', async (t) => {
  const { app } = await loadedApp(t, []);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const { connect } = await import('node:net');
  const firstLine = (contentType: string) => new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`POST /dicom-web/studies HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n`);
    });
    let got = '';
    socket.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) {
        socket.destroy();
        resolve(got.split('\r\n')[0]!);
      }
    });
    socket.on('error', reject);
  });
  assert.equal(await firstLine('application/json'), 'HTTP/1.1 415 Unsupported Media Type');
  assert.equal(await firstLine('multipart/related; type="application/dicom"; boundary=abc'), 'HTTP/1.1 100 Continue');
});

test('STOW-RS of metadata (JSON, XML) with a bulk data part: stored as Part 10, values and pixel data intact', { skip }, async (t) => {
  const { app, archive } = await loadedApp(t, []);
  const { toDicomJson, toDicomJsonText } = await import('../../src/data/json-model.js');
  const { toNativeDicomXml } = await import('../../src/data/xml-model.js');
  const source = parseBuffer(readFileSync(CT)).dataSet;
  const pixels = Buffer.from(source.get('PixelData')!.bytes);
  const bulkDataUri = (e: { tag: number }) => (e.tag === 0x7fe00010 ? 'http://client.example/ct/pixel' : undefined);
  const ct = uids(CT);
  for (const variant of ['json', 'xml'] as const) {
    if (variant === 'xml') await archive.deleteInstance(ct.sop);
    const boundary = newBoundary();
    const metadata = variant === 'json'
      ? { headers: { 'Content-Type': 'application/dicom+json' }, body: `[${toDicomJsonText(toDicomJson(source, { bulkDataUri }))}]` }
      : { headers: { 'Content-Type': 'application/dicom+xml' }, body: toNativeDicomXml(source, { bulkDataUri }) };
    const chunks: Uint8Array[] = [];
    for await (const c of writeMultipart([metadata, { headers: { 'Content-Type': 'application/octet-stream', 'Content-Location': 'http://client.example/ct/pixel' }, body: pixels }], boundary)) chunks.push(c);
    const res = await app.inject({ method: 'POST', url: '/dicom-web/studies', payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/related; type="application/dicom+${variant}"; boundary=${boundary}` } });
    assert.equal(res.statusCode, 200, `${variant}: ${res.body}`);
    const { stream } = await archive.openInstance(ct.sop);
    const bytes: Buffer[] = [];
    for await (const c of stream) bytes.push(c as Buffer);
    const stored = parseBuffer(Buffer.concat(bytes));
    assert.equal(stored.transferSyntaxUid, '1.2.840.10008.1.2.1');
    assert.ok(Buffer.from(stored.dataSet.get('PixelData')!.bytes).equals(pixels), `${variant}: pixel data`);
    assert.equal(stored.dataSet.string('PatientName'), 'CompressedSamples^CT1');
    assert.deepEqual(stored.dataSet.numbers('PixelSpacing'), [0.661468, 0.661468]);
  }
  // A BulkDataURI no part carries: that instance fails with C000, and says why.
  const boundary = newBoundary();
  const chunks: Uint8Array[] = [];
  for await (const c of writeMultipart([{ headers: { 'Content-Type': 'application/dicom+json' }, body: `[${toDicomJsonText(toDicomJson(source, { bulkDataUri }))}]` }], boundary)) chunks.push(c);
  const missing = await app.inject({ method: 'POST', url: '/dicom-web/studies', payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/related; type="application/dicom+json"; boundary=${boundary}` } });
  assert.equal(missing.statusCode, 409);
  assert.match(missing.headers.warning as string, /no bulk data part has Content-Location http:\/\/client.example\/ct\/pixel/);
});
