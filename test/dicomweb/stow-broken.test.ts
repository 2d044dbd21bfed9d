/**
 * A STOW-RS body that breaks after some parts were stored (PS3.18 §10.5.3): the response still
 * lists what was stored (Referenced SOP Sequence) and the break as a failure that names no instance
 * (Other Failures Sequence, PS3.18 Table I.1-1, 0xC000), with 202; nothing of the broken part is kept. A body that breaks before anything was
 * stored is a 400.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createDicomWebApp, type DicomWebOptions } from '../../src/dicomweb/app.js';
import { newBoundary } from '../../src/dicomweb/multipart/index.js';
import { encodeDataSet } from '../../src/data/writer.js';
import { buildFileMeta, PREAMBLE_LENGTH } from '../../src/media/file-meta.js';
import { collect, CT_IMAGE, instanceDataSet, openArchive, tempDir } from '../storage/helpers.js';
import { part10, STOW_STUDY, stowBody } from './stow-helpers.js';

type Item = Record<string, { Value?: unknown[] }>;
const CANNOT_UNDERSTAND = 0xc000;

function setUp(t: { after(fn: () => unknown): void }, options: Partial<DicomWebOptions> = {}) {
  const archive = openArchive(tempDir(t, 'conduit-stow-broken-'));
  const app = createDicomWebApp({ archive, ...options });
  t.after(async () => { await app.close(); await archive.close(); });
  return { archive, app };
}

const sops = (n: number, series: number) => Array.from({ length: n }, (_, i) => `${STOW_STUDY}.${series}.${i + 1}`);
const referencedOf = (json: Item) => ((json['00081199']?.Value ?? []) as Item[]).map((i) => i['00081155']!.Value![0]);
const failuresOf = (json: Item) => ((json['00081198']?.Value ?? []) as Item[]).map((i) => i['00081197']!.Value![0]);
/** Other Failures Sequence (0008,119A): failures that name no instance. */
const otherFailuresOf = (json: Item) => ((json['0008119A']?.Value ?? []) as Item[]).map((i) => i['00081197']!.Value![0]);

test('STOW-RS body cut off inside its third part: the first two stored and listed, the third failed (202)', async (t) => {
  const { archive, app } = setUp(t);
  const uids = sops(3, 3);
  const boundary = newBoundary();
  const whole = await stowBody(uids.map((sop, i) => part10(sop, `part ${i}`, i === 2 ? 400_000 : 20_000)), boundary);
  // Up to the middle of the third part's pixel data: no closing boundary.
  const cut = whole.subarray(0, whole.length - 200_000);
  const res = await app.inject({ method: 'POST', url: '/dicom-web/studies', payload: cut, headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` } });
  assert.equal(res.statusCode, 202, res.body);
  const json = res.json() as Item;
  assert.deepEqual(referencedOf(json), uids.slice(0, 2));
  assert.deepEqual(failuresOf(json), []);
  assert.deepEqual(otherFailuresOf(json), [CANNOT_UNDERSTAND]);
  assert.match(res.headers.warning as string, /malformed.*closing boundary/);
  // Durable and indexed: the two, and nothing of the third (no index entry, no blob).
  assert.equal((await archive.index.stats()).instances, 2);
  assert.equal(await archive.index.getInstance(uids[2]!), undefined);
  assert.equal((await collect(archive.blobs.list())).length, 2);
});

test('STOW-RS body with too many parts: the parts allowed stored and listed, the excess reported (202)', async (t) => {
  const { archive, app } = setUp(t, { maxParts: 2 });
  const uids = sops(3, 4);
  const boundary = newBoundary();
  const payload = await stowBody(uids.map((sop, i) => part10(sop, `part ${i}`, 2_000)), boundary);
  const res = await app.inject({ method: 'POST', url: '/dicom-web/studies', payload, headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` } });
  assert.equal(res.statusCode, 202, res.body);
  const json = res.json() as Item;
  assert.deepEqual(referencedOf(json), uids.slice(0, 2));
  assert.equal(json['00081198'], undefined, 'no Failed SOP Sequence: no instance to name');
  assert.deepEqual(otherFailuresOf(json), [CANNOT_UNDERSTAND]);
  assert.deepEqual(Object.keys((json['0008119A']!.Value as Item[])[0]!), ['00081197'], 'an Other Failures item holds its Failure Reason only');
  assert.match(res.headers.warning as string, /more than 2 parts/);
  assert.equal((await archive.index.stats()).instances, 2);
});

test('STOW-RS part with a malformed Content-Type fails alone (0xC122); the others are stored (202)', async (t) => {
  const { archive, app } = setUp(t);
  const uids = sops(2, 5);
  const boundary = newBoundary();
  const good = await stowBody(uids.map((sop, i) => part10(sop, `part ${i}`, 2_000)), boundary);
  const bad = Buffer.from(`--${boundary}\r\nContent-Type: ;;;\r\n\r\nxyz\r\n`, 'latin1');
  const res = await app.inject({ method: 'POST', url: '/dicom-web/studies', payload: Buffer.concat([bad, good]), headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` } });
  assert.equal(res.statusCode, 202, res.body);
  const json = res.json() as Item;
  assert.deepEqual(referencedOf(json), uids);
  assert.deepEqual(failuresOf(json), []);
  assert.deepEqual(otherFailuresOf(json), [0xc122]);
  assert.equal((await archive.index.stats()).instances, 2);
});

test('STOW-RS over a socket: a bad boundary line after three parts, with megabytes still to come, is answered with the three (202)', async (t) => {
  const { archive, app } = setUp(t);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const uids = sops(3, 6);
  const boundary = newBoundary();
  const good = await stowBody(uids.map((sop, i) => part10(sop, `part ${i}`, 100_000)), boundary);
  // The three parts, then a boundary line with other characters after it, 8 MiB more and the close.
  const head = good.subarray(0, good.lastIndexOf(Buffer.from(`\r\n--${boundary}--`)));
  const rest = [Buffer.from(`\r\n--${boundary} garbage\r\n\r\n`), Buffer.alloc(8 << 20, 0x41), Buffer.from(`\r\n--${boundary}--\r\n`)];
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/dicom-web/studies', headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`, accept: 'application/dicom+json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.write(head);
    for (const b of rest) req.write(b);
    req.end();
  });
  assert.equal(status, 202, body);
  const json = JSON.parse(body) as Item;
  assert.deepEqual(referencedOf(json), uids);
  assert.deepEqual(otherFailuresOf(json), [CANNOT_UNDERSTAND]);
  assert.equal((await archive.index.stats()).instances, 3);
});

test('STOW-RS body that breaks before anything was stored: 400, nothing kept', async (t) => {
  const { archive, app } = setUp(t);
  const boundary = newBoundary();
  const whole = await stowBody([part10(sops(1, 7)[0]!, 'only', 50_000)], boundary);
  const res = await app.inject({ method: 'POST', url: '/dicom-web/studies', payload: whole.subarray(0, 30_000), headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` } });
  assert.equal(res.statusCode, 400, res.body);
  assert.equal(res.json().error.code, 'ERR_DICOM_MULTIPART');
  assert.equal((await archive.index.stats()).instances, 0);
  assert.equal((await collect(archive.blobs.list())).length, 0);
});

test('STOW-RS failures name their instance when it can be read: a data set without File Meta Information, a Part 10 file whose data set lacks its SOP Instance UID, undecodable JSON metadata', async (t) => {
  const { archive, app } = setUp(t);
  const boundary = newBoundary();
  const [noMeta, noUid, good] = sops(3, 8);
  // A bare data set (no preamble, no File Meta Information): not a Part 10 file, but its UIDs are there.
  const bare = Buffer.from(encodeDataSet(instanceDataSet({ StudyInstanceUID: STOW_STUDY, SeriesInstanceUID: `${STOW_STUDY}.8`, SOPInstanceUID: noMeta }), { explicitVR: true, littleEndian: true }));
  // A Part 10 file whose data set has no SOP Instance UID: named by its Media Storage SOP Instance UID.
  const meta = encodeDataSet(buildFileMeta({ sopClassUid: CT_IMAGE, sopInstanceUid: noUid!, transferSyntaxUid: '1.2.840.10008.1.2.1' }), { explicitVR: true, littleEndian: true }, { recalculateGroupLengths: true });
  const head = Buffer.alloc(PREAMBLE_LENGTH + 4);
  head.write('DICM', PREAMBLE_LENGTH, 'latin1');
  const withoutUid = Buffer.concat([head, meta, encodeDataSet(instanceDataSet({ StudyInstanceUID: STOW_STUDY, SeriesInstanceUID: `${STOW_STUDY}.8` }), { explicitVR: true, littleEndian: true })]);
  const payload = await stowBody([bare, withoutUid, part10(good!, 'good', 2_000)], boundary);
  const res = await app.inject({ method: 'POST', url: '/dicom-web/studies', payload, headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` } });
  assert.equal(res.statusCode, 202, res.body);
  const json = res.json() as Item;
  assert.deepEqual(referencedOf(json), [good]);
  const failed = json['00081198']!.Value as Item[];
  assert.deepEqual(failed.map((i) => i['00081155']!.Value![0]), [noMeta, noUid]);
  assert.deepEqual(failed.map((i) => i['00081150']!.Value![0]), [CT_IMAGE, CT_IMAGE]);
  assert.equal(json['0008119A'], undefined);
  assert.equal((await archive.index.stats()).instances, 1);

  // JSON metadata that does not decode, with its UIDs readable: named in the Failed SOP Sequence.
  const metadata = JSON.stringify([{ '00080016': { vr: 'UI', Value: [CT_IMAGE] }, '00080018': { vr: 'UI', Value: [`${STOW_STUDY}.9.1`] }, '00100010': 5 }]);
  const json2 = await app.inject({
    method: 'POST', url: '/dicom-web/studies',
    payload: `--${boundary}\r\nContent-Type: application/dicom+json\r\n\r\n${metadata}\r\n--${boundary}--\r\n`,
    headers: { 'content-type': `multipart/related; type="application/dicom+json"; boundary=${boundary}` },
  });
  assert.equal(json2.statusCode, 409, json2.body);
  const failed2 = (json2.json() as Item)['00081198']!.Value as Item[];
  assert.deepEqual(failed2.map((i) => [i['00081155']!.Value![0], i['00081197']!.Value![0]]), [[`${STOW_STUDY}.9.1`, CANNOT_UNDERSTAND]]);
});

test('STOW-RS warnings are explained in the Warning header, a name in another script as "?" (header fields are bytes): no failure to answer', async (t) => {
  const { app } = setUp(t);
  const boundary = newBoundary();
  const [first, second] = sops(2, 10);
  const file = (sop: string, name: string) => {
    const meta = encodeDataSet(buildFileMeta({ sopClassUid: CT_IMAGE, sopInstanceUid: sop, transferSyntaxUid: '1.2.840.10008.1.2.1' }), { explicitVR: true, littleEndian: true }, { recalculateGroupLengths: true });
    const head = Buffer.alloc(PREAMBLE_LENGTH + 4);
    head.write('DICM', PREAMBLE_LENGTH, 'latin1');
    const ds = instanceDataSet({ StudyInstanceUID: STOW_STUDY, SeriesInstanceUID: `${STOW_STUDY}.10`, SOPInstanceUID: sop, PatientID: 'WARN', PatientName: name });
    return Buffer.concat([head, meta, encodeDataSet(ds, { explicitVR: true, littleEndian: true })]);
  };
  const headers = { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` };
  assert.equal((await app.inject({ method: 'POST', url: '/dicom-web/studies', payload: await stowBody([file(first!, 'Yamada^Tarou')], boundary), headers })).statusCode, 200);
  // The same patient under another name: stored, with the index's note as a warning.
  const res = await app.inject({ method: 'POST', url: '/dicom-web/studies', payload: await stowBody([file(second!, '山田^太郎')], boundary), headers });
  assert.equal(res.statusCode, 202, res.body);
  const item = ((res.json() as Item)['00081199']!.Value as Item[])[0]!;
  assert.deepEqual(item['00081196']!.Value, [0xb000]);
  const warning = res.headers.warning as string;
  assert.match(warning, new RegExp(`^299 localhost:80 "${second!.replace(/\./g, '\\.')}: .*PatientName.*\\?\\?\\^\\?\\?.*"$`));
  assert.match(warning, /^[\x20-\x7e]*$/, 'printable ASCII only');
  // A failure whose message quotes the request (JSON.parse quotes the text around its error): 409, not 500.
  const json = await app.inject({
    method: 'POST', url: '/dicom-web/studies',
    payload: `--${boundary}\r\nContent-Type: application/dicom+json\r\n\r\n[{"00100010": 山田}]\r\n--${boundary}--\r\n`,
    headers: { 'content-type': `multipart/related; type="application/dicom+json"; boundary=${boundary}` },
  });
  assert.equal(json.statusCode, 409, json.body);
  assert.match(json.headers.warning as string, /^299 localhost:80 "part: .*JSON/);
});

test('STOW-RS upload abandoned by its client: logged as a warning without a stack trace, not as a server error; nothing of it kept', async (t) => {
  const logged: Array<{ level: string; message: string }> = [];
  let heard: (() => void) | undefined;
  const heardOne = new Promise<void>((resolve) => { heard = resolve; });
  const { archive, app } = setUp(t, { log: (level, message) => { logged.push({ level, message }); if (message.startsWith('POST')) heard!(); } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const boundary = newBoundary();
  const whole = await stowBody([part10(`${STOW_STUDY}.11.1`, 'abandoned', 400_000)], boundary);
  const { connect } = await import('node:net');
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(`POST /dicom-web/studies HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/related; type="application/dicom"; boundary=${boundary}\r\nContent-Length: ${whole.length}\r\n\r\n`);
  socket.write(whole.subarray(0, 100_000), () => socket.destroy());
  await heardOne;
  const posts = logged.filter((l) => l.message.startsWith('POST'));
  assert.deepEqual(posts.map((l) => l.level), ['warn'], JSON.stringify(posts));
  assert.match(posts[0]!.message, /the client closed the connection before the request body ended/);
  assert.doesNotMatch(posts[0]!.message, /\n\s+at /, 'no stack trace');
  assert.equal((await archive.index.stats()).instances, 0);
});

test('STOW-RS with Content-Encoding (PS3.18 Table 10.5.1-2): gzip, deflate and br bodies decoded as they stream; a coding not taken is 415 with Accept-Encoding, before the body when Expect: 100-continue; a body that does not decode is 400', async (t) => {
  const { archive, app } = setUp(t);
  const zlib = await import('node:zlib');
  const boundary = newBoundary();
  const headers = (coding: string) => ({ 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`, 'content-encoding': coding });
  const codings: Array<[string, (b: Buffer) => Buffer]> = [['gzip', zlib.gzipSync], ['deflate', zlib.deflateSync], ['br', zlib.brotliCompressSync], ['gzip, br', (b) => zlib.brotliCompressSync(zlib.gzipSync(b))]];
  const uids = sops(codings.length, 12);
  for (const [i, [coding, encode]] of codings.entries()) {
    const payload = encode(await stowBody([part10(uids[i]!, coding, 300_000)], boundary));
    const res = await app.inject({ method: 'POST', url: '/dicom-web/studies', payload, headers: headers(coding) });
    assert.equal(res.statusCode, 200, `${coding}: ${res.body}`);
    assert.deepEqual(referencedOf(res.json() as Item), [uids[i]]);
  }
  assert.equal((await archive.index.stats()).instances, codings.length);
  const unknown = await app.inject({ method: 'POST', url: '/dicom-web/studies', payload: 'x', headers: headers('compress') });
  assert.equal(unknown.statusCode, 415);
  assert.equal(unknown.headers['accept-encoding'], 'gzip, deflate, br, identity');
  assert.match(unknown.json().error.message, /Content-Encoding compress is not supported/);
  const corrupt = await app.inject({ method: 'POST', url: '/dicom-web/studies', payload: Buffer.from('not gzip at all'), headers: headers('gzip') });
  assert.equal(corrupt.statusCode, 400, corrupt.body);
  assert.match(corrupt.json().error.message, /does not decode as Content-Encoding gzip/);
  assert.equal((await archive.index.stats()).instances, codings.length);

  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  const { connect } = await import('node:net');
  const firstLines = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`POST /dicom-web/studies HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/related; type="application/dicom"; boundary=${boundary}\r\nContent-Encoding: compress\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n`);
    });
    let got = '';
    socket.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) {
        socket.destroy();
        resolve(got);
      }
    });
    socket.on('error', reject);
  });
  assert.match(firstLines, /^HTTP\/1\.1 415 /);
  assert.match(firstLines, /\r\nAccept-Encoding: gzip, deflate, br, identity\r\n/i);
});
