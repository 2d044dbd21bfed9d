/**
 * DicomWebClient against a tiny node:http server in this process (port 0): the requests it builds
 * (paths, query strings, Accept, Authorization, a STOW-RS body part by part and its
 * Content-Length), the responses it reads (JSON arrays as they arrive, 204, Warning, multipart
 * instances, Range, the Store Instances Response) and its errors (the server's message, a refused
 * connection, a Content-Type it did not ask for).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DicomError } from '../../src/core/dicom-error.js';
import { DataSet } from '../../src/data/data-set.js';
import { toDicomJson, toDicomJsonText } from '../../src/data/json-model.js';
import { DicomWebClient, DicomWebHttpError } from '../../src/dicomweb/client/index.js';
import { jsonArrayElements } from '../../src/dicomweb/client/json-array.js';
import { parseMediaType } from '../../src/dicomweb/media-type.js';
import { newBoundary, parseMultipart, writeMultipart } from '../../src/dicomweb/multipart/index.js';
import { parseBuffer, readFile } from '../../src/media/part10.js';
import { freePort } from '../helpers/network.js';
import { PYDICOM_DATA } from '../helpers/peers.js';
import { tempDir } from '../storage/helpers.js';

const CT = join(PYDICOM_DATA, 'test_files/CT_small.dcm');
const MR = join(PYDICOM_DATA, 'test_files/MR_small.dcm');

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void | Promise<void>;

/** A server answering with `handler` (after reading the request body); `seen` records the requests. */
async function serve(t: TestContext, handler: Handler): Promise<{ base: string; seen: Seen[]; server: http.Server }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      Promise.resolve(handler(req, res, body)).catch((err) => {
        res.statusCode = 599;
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/dicom-web`, seen, server };
}

function study(uid: string, name: string): DataSet {
  const ds = new DataSet();
  ds.set('SpecificCharacterSet', 'CS', 'ISO_IR 192');
  ds.set('StudyInstanceUID', 'UI', uid);
  ds.set('PatientName', 'PN', name);
  ds.set('StudyDescription', 'LO', 'brackets ] [ and , "quotes" \\ in text');
  return ds;
}

function jsonArray(dataSets: readonly DataSet[]): string {
  return `[${dataSets.map((ds) => toDicomJsonText(toDicomJson(ds), 2)).join(',\n')}]`;
}

async function* chunksOf(bytes: Uint8Array, cuts: readonly number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    yield bytes.subarray(at, c);
    at = c;
  }
}

test('JSON array elements: the same values whatever the chunking (split at every offset, and byte by byte)', async () => {
  const text = `  [ {"a": [1, 2, {"b": "]},[\\""}]}, "x,y]", 3.5e2 , [[]], null, {"日本": "語"} ]  `;
  const bytes = Buffer.from(text, 'utf8');
  const want = JSON.parse(text) as unknown[];
  for (let i = 0; i <= bytes.length; i++) {
    const got: unknown[] = [];
    for await (const e of jsonArrayElements(chunksOf(bytes, [i]))) got.push(e);
    assert.deepEqual(got, want, `split at ${i}`);
  }
  const got: unknown[] = [];
  for await (const e of jsonArrayElements(chunksOf(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1)))) got.push(e);
  assert.deepEqual(got, want);
});

test('JSON array elements: empty input, empty array; malformed arrays fail with ERR_DICOM_JSON and where', async () => {
  const all = async (text: string): Promise<unknown[]> => {
    const out: unknown[] = [];
    for await (const e of jsonArrayElements(chunksOf(Buffer.from(text), []))) out.push(e);
    return out;
  };
  assert.deepEqual(await all(''), []);
  assert.deepEqual(await all(' [ ] '), []);
  for (const [bad, offset] of [['{"a":1}', 0], ['[1,,2]', 3], ['[1 2]', 1], ['[1,]', 3], ['[1] x', 4], ['[{"a":1}', 8], ['[{"a":}]', 1]] as const) {
    await assert.rejects(all(bad), (err: unknown) => {
      assert.ok(err instanceof DicomError, bad);
      assert.equal(err.code, 'ERR_DICOM_JSON', bad);
      assert.equal(err.offset, offset, bad);
      return true;
    });
  }
});

test('QIDO-RS: the path and query string (wildcards, "^" and "," as they are, "&" "=" "+" "#" escaped), Accept, credentials, header fields', async (t) => {
  const { base, seen } = await serve(t, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/dicom+json' }).end('[]');
  });
  let tokens = 0;
  const client = new DicomWebClient({ baseUrl: `${base}/`, headers: { 'X-Site': 'north' }, auth: { token: async () => `t${++tokens}` } });
  await client.searchForSeries({
    PatientName: 'Doe^J*', StudyDate: '20200101-', ModalitiesInStudy: ['CT', 'MR'], AccessionNumber: 'a&b=c+d#e f',
    includefield: ['00081030', 'StudyDescription'], fuzzymatching: true, limit: 5, offset: 10, PatientID: undefined,
  }, { study: '1.2.3' }).all();
  await client.searchForInstances({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.2' }, { study: '1.2.3', series: '4.5' }).all();
  assert.equal(seen[0]!.url, '/dicom-web/studies/1.2.3/series?PatientName=Doe^J*&StudyDate=20200101-&ModalitiesInStudy=CT,MR&AccessionNumber=a%26b%3Dc%2Bd%23e%20f'
    + '&includefield=00081030,StudyDescription&fuzzymatching=true&limit=5&offset=10');
  assert.equal(seen[0]!.headers.accept, 'application/dicom+json');
  assert.equal(seen[0]!.headers['x-site'], 'north');
  assert.equal(seen[0]!.headers.authorization, 'Bearer t1');
  assert.equal(seen[1]!.url, '/dicom-web/studies/1.2.3/series/4.5/instances?SOPClassUID=1.2.840.10008.5.1.4.1.1.2');
  assert.equal(seen[1]!.headers.authorization, 'Bearer t2', 'the token function is asked for each request');
  const basic = new DicomWebClient({ baseUrl: base, auth: { username: 'alice', password: 'pä:ss' } });
  await basic.searchForStudies().all();
  assert.equal(seen[2]!.url, '/dicom-web/studies');
  assert.equal(seen[2]!.headers.authorization, `Basic ${Buffer.from('alice:pä:ss').toString('base64')}`);
  // Another fetch (here Node's own) can be given: it carries the same request.
  const urls: string[] = [];
  const viaGlobal = new DicomWebClient({ baseUrl: base, fetch: (url, init) => (urls.push(String(url)), fetch(url, init)) });
  assert.deepEqual(await viaGlobal.searchForStudies({ PatientID: 'x' }).all(), []);
  assert.deepEqual(urls, [`${base}/studies?PatientID=x`]);
  assert.equal(seen[3]!.url, '/dicom-web/studies?PatientID=x');
});

test('QIDO-RS: results as data sets while the array arrives, the Warning header\'s text, 204 as no results', async (t) => {
  const studies = [study('1.2.1', 'Yamada^Tarou=山田^太郎'), study('1.2.2', 'Müller^Jörg')];
  const body = Buffer.from(jsonArray(studies), 'utf8');
  const { base } = await serve(t, async (req, res) => {
    if (req.url!.includes('PatientID=none')) {
      res.writeHead(204).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/dicom+json; charset=utf-8', Warning: '299 conduit.test "The number of results exceeded the maximum supported by the server. Additional results can be requested.", 299 conduit.test "The fuzzymatching parameter is not supported. Only literal matching has been performed."' });
    // Small writes, so that the client sees the array in many pieces.
    for (let i = 0; i < body.length; i += 7) {
      res.write(body.subarray(i, i + 7));
      await new Promise((r) => setImmediate(r));
    }
    res.end();
  });
  const client = new DicomWebClient({ baseUrl: base });
  const search = client.searchForStudies({ fuzzymatching: true });
  const got = await search.all();
  assert.equal(search.httpStatus, 200);
  assert.deepEqual(got.map((ds) => [ds.string('StudyInstanceUID'), ds.personName('PatientName')?.toString(), ds.string('StudyDescription')]), studies.map((ds) => [ds.string('StudyInstanceUID'), ds.personName('PatientName')?.toString(), ds.string('StudyDescription')]));
  assert.deepEqual(search.warnings, [
    'The number of results exceeded the maximum supported by the server. Additional results can be requested.',
    'The fuzzymatching parameter is not supported. Only literal matching has been performed.',
  ]);
  const none = client.searchForStudies({ PatientID: 'none' });
  assert.deepEqual(await none.all(), []);
  assert.equal(none.httpStatus, 204);
});

test('QIDO-RS: leaving the loop early ends the request (the server sees the connection close)', async (t) => {
  let closed!: () => void;
  const connectionClosed = new Promise<void>((r) => (closed = r));
  const { base } = await serve(t, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/dicom+json' });
    // One result, then nothing more: a client that waited for the whole array would wait forever.
    res.write(`[${toDicomJsonText(toDicomJson(study('1.2.1', 'A^B')))},`);
    res.once('close', closed);
  });
  const client = new DicomWebClient({ baseUrl: base });
  const got: string[] = [];
  for await (const ds of client.searchForStudies()) {
    got.push(ds.string('StudyInstanceUID')!);
    break;
  }
  assert.deepEqual(got, ['1.2.1']);
  await connectionClosed;
});

test('errors: the status and the server\'s message (Conduit\'s JSON, Orthanc\'s JSON, text, the Warning header)', async (t) => {
  const { base } = await serve(t, (req, res) => {
    switch (req.url!.split('?')[0]) {
      case '/dicom-web/studies':
        res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { status: 400, code: 'ERR_DICOM_QUERY_PARAMETER', message: 'unknown keyword Foo' } }));
        break;
      case '/dicom-web/series':
        res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ HttpError: 'Not Found', Message: 'Accessing an inexistent item', Details: 'no study 1.2.3' }));
        break;
      case '/dicom-web/instances':
        res.writeHead(503, { Warning: '299 proxy "archive offline"' }).end();
        break;
      default:
        res.writeHead(500, { 'Content-Type': 'text/html' }).end('<html><body><h1>Internal   Server Error</h1></body></html>');
    }
  });
  const client = new DicomWebClient({ baseUrl: base });
  const expect = async (p: Promise<unknown>, status: number, message: string) => {
    await assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof DicomWebHttpError);
      assert.equal(err.code, 'ERR_DICOM_WEB_HTTP');
      assert.equal(err.status, status);
      assert.equal(err.serverMessage, message);
      assert.ok(err.message.includes(`HTTP ${status}`) && err.message.endsWith(message), err.message);
      return true;
    });
  };
  await expect(client.searchForStudies({ Foo: 'x' }).all(), 400, 'unknown keyword Foo');
  await expect(client.searchForSeries().all(), 404, 'Accessing an inexistent item (no study 1.2.3)');
  await expect(client.searchForInstances().all(), 503, 'archive offline');
  await expect(client.retrieveMetadata('1.2.3'), 500, 'Internal Server Error');
});

test('errors: nothing listening is ERR_DICOM_TRANSPORT with the system error; a response of another type, ERR_DICOM_WEB_RESPONSE', async (t) => {
  const port = await freePort();
  await assert.rejects(new DicomWebClient({ baseUrl: `http://127.0.0.1:${port}/dicom-web` }).searchForStudies().all(), (err: unknown) => {
    assert.ok(err instanceof DicomError);
    assert.equal(err.code, 'ERR_DICOM_TRANSPORT');
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    return true;
  });
  const { base } = await serve(t, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>a login page</html>');
  });
  const client = new DicomWebClient({ baseUrl: base });
  await assert.rejects(client.searchForStudies().all(), { code: 'ERR_DICOM_WEB_RESPONSE' });
  // Arguments that make no request.
  assert.throws(() => new DicomWebClient({ baseUrl: 'ftp://pacs/dicom-web' }), { code: 'ERR_DICOM_INVALID_ARGUMENT' });
  assert.throws(() => client.searchForInstances({}, { series: '1.2' }), { code: 'ERR_DICOM_INVALID_ARGUMENT' });
  await assert.rejects(client.retrieveBulkData('bulk/1', { range: { start: 10, end: 5 } }), { code: 'ERR_DICOM_INVALID_ARGUMENT' });
  await assert.rejects(client.retrieveFrames('1', '2', '3', [0]).next(), { code: 'ERR_DICOM_INVALID_ARGUMENT' });
  await assert.rejects(async () => {
    for await (const _ of client.retrieveStudy('1.2.3')) { /* none */ }
  }, { code: 'ERR_DICOM_WEB_RESPONSE' });
});

test('WADO-RS: Accept names the transfer syntaxes (none, *, a list by preference); the parts are the instances, streamed or saved', async (t) => {
  const files = [readFileSync(CT), readFileSync(MR)];
  const { base, seen } = await serve(t, async (_req, res) => {
    const boundary = newBoundary();
    res.writeHead(200, { 'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}` });
    const parts = files.map((f, i) => ({ headers: { 'Content-Type': `application/dicom; transfer-syntax=1.2.840.10008.1.2.1`, 'Content-Location': `${base}/i/${i}` }, body: f }));
    for await (const c of writeMultipart(parts, boundary)) res.write(c);
    res.end();
  });
  const client = new DicomWebClient({ baseUrl: base });
  const got: Buffer[] = [];
  const responses: unknown[] = [];
  for await (const instance of client.retrieveStudy('1.2.3', { onResponse: (r) => responses.push([r.httpStatus, r.contentLength]) })) {
    assert.equal(instance.transferSyntaxUid, '1.2.840.10008.1.2.1');
    assert.equal(instance.contentLocation, `${base}/i/${instance.index}`);
    got.push(Buffer.from(await instance.bytes()));
  }
  assert.deepEqual(got, files);
  assert.deepEqual(responses, [[200, undefined]], 'told once, before the parts; no Content-Length on a chunked response');
  // A folder not there yet is made (README: `instance.saveTo('study/')`), as `conduit web wado --out` makes it.
  const dir = join(tempDir(t), 'series', '4.5');
  const saved = [];
  for await (const instance of client.retrieveSeries('1.2.3', '4.5', { transferSyntax: '*' })) saved.push(await instance.saveTo(dir));
  const ct = await readFile(CT);
  assert.equal(saved[0]!.path, join(dir, `${ct.dataSet.string('SOPInstanceUID')}.dcm`));
  assert.deepEqual(readdirSync(dir).sort(), saved.map((s) => `${s.sopInstanceUid}.dcm`).sort(), 'no temporary file left');
  assert.deepEqual(readFileSync(saved[1]!.path), files[1]);
  for await (const instance of client.retrieveInstance('1.2.3', '4.5', '6.7', { transferSyntax: ['1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.1'] })) {
    assert.equal((await instance.file()).dataSet.string('SOPInstanceUID'), ct.dataSet.string('SOPInstanceUID'));
    break;
  }
  assert.deepEqual(seen.map((s) => [s.url, s.headers.accept]), [
    ['/dicom-web/studies/1.2.3', 'multipart/related; type="application/dicom"'],
    ['/dicom-web/studies/1.2.3/series/4.5', 'multipart/related; type="application/dicom"; transfer-syntax=*'],
    ['/dicom-web/studies/1.2.3/series/4.5/instances/6.7',
      'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50; q=1.0, multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1; q=0.9'],
  ]);
});

test('WADO-RS: leaving the loop after the first instance ends the transfer of the rest', async (t) => {
  let closed!: () => void;
  const connectionClosed = new Promise<void>((r) => (closed = r));
  const ct = readFileSync(CT);
  const { base } = await serve(t, (_req, res) => {
    const boundary = newBoundary();
    res.writeHead(200, { 'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}` });
    // The first instance whole, then the start of a second one that never ends.
    void (async () => {
      for await (const c of writeMultipart([{ headers: { 'Content-Type': 'application/dicom' }, body: ct }], boundary)) {
        if (Buffer.from(c).toString('latin1').endsWith(`--${boundary}--\r\n`)) break;
        res.write(c);
      }
      res.write(`\r\n--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
      res.write(ct.subarray(0, 1000));
    })();
    res.once('close', closed);
  });
  const got: Buffer[] = [];
  for await (const instance of new DicomWebClient({ baseUrl: base }).retrieveStudy('1.2.3')) {
    got.push(Buffer.from(await instance.bytes()));
    break;
  }
  assert.deepEqual(got, [ct]);
  await connectionClosed;
});

test('bulk data with a Range: sent as a Range header; the bytes asked for whether the server answers 206 or the whole value', async (t) => {
  const value = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
  const { base, seen } = await serve(t, (req, res) => {
    const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
    if (req.url!.endsWith('/honours') && m) {
      const start = Number(m[1]);
      const end = m[2] ? Number(m[2]) : value.length - 1;
      res.writeHead(206, { 'Content-Type': 'application/octet-stream', 'Content-Range': `bytes ${start}-${end}/${value.length}` }).end(value.subarray(start, end + 1));
      return;
    }
    const boundary = newBoundary();
    res.writeHead(200, { 'Content-Type': `multipart/related; type="application/octet-stream"; boundary=${boundary}` });
    void (async () => {
      for await (const c of writeMultipart([{ headers: { 'Content-Type': 'application/octet-stream' }, body: [value.subarray(0, 1000), value.subarray(1000)] }], boundary)) res.write(c);
      res.end();
    })();
  });
  const client = new DicomWebClient({ baseUrl: base });
  for (const where of ['honours', 'ignores']) {
    const r = await client.retrieveBulkData(`${base}/bulk/${where}`, { range: { start: 990, end: 2009 } });
    assert.equal(r.httpStatus, where === 'honours' ? 206 : 200);
    assert.deepEqual(Buffer.from(await r.bytes()), value.subarray(990, 2010), where);
    const open = await client.retrieveBulkData(`bulk/${where}`, { range: { start: 4000 } });
    assert.deepEqual(Buffer.from(await open.bytes()), value.subarray(4000), `${where}, open range`);
  }
  assert.equal(seen[0]!.headers.range, 'bytes=990-2009');
  assert.equal(seen[1]!.headers.range, 'bytes=4000-');
  assert.equal(seen[1]!.url, '/dicom-web/bulk/honours', 'a relative URI is under the base URL');
  const whole = await client.retrieveBulkData(`${base}/bulk/ignores`);
  assert.deepEqual(Buffer.from(await whole.bytes()), value);
  assert.equal(seen[4]!.headers.range, undefined);
});

/** A Store Instances Response (PS3.18 Table 10.5.3-1) in the JSON model. */
function storeResponse(stored: Array<{ cls: string; uid: string; warning?: number }>, failed: Array<{ cls: string; uid: string; reason: number }>): string {
  const ds = new DataSet();
  ds.set('RetrieveURL', 'UR', 'http://x/studies/1');
  ds.set('ReferencedSOPSequence', 'SQ', stored.map((s) => {
    const item = new DataSet();
    item.set('ReferencedSOPClassUID', 'UI', s.cls);
    item.set('ReferencedSOPInstanceUID', 'UI', s.uid);
    if (s.warning !== undefined) item.set('WarningReason', 'US', s.warning);
    return item;
  }));
  ds.set('FailedSOPSequence', 'SQ', failed.map((f) => {
    const item = new DataSet();
    item.set('ReferencedSOPClassUID', 'UI', f.cls);
    item.set('ReferencedSOPInstanceUID', 'UI', f.uid);
    item.set('FailureReason', 'US', f.reason);
    return item;
  }));
  return toDicomJsonText(toDicomJson(ds));
}

test('STOW-RS: one multipart/related part per input (path, bytes, DataSet, stream), Content-Length when every length is known; the response parsed', async (t) => {
  const ct = readFileSync(CT);
  const mr = readFileSync(MR);
  const { base, seen } = await serve(t, (_req, res) => {
    res.writeHead(202, { 'Content-Type': 'application/dicom+json', Warning: '299 x "one was coerced"' })
      .end(storeResponse([{ cls: '1.2.840.10008.5.1.4.1.1.2', uid: '1.1', warning: 0xb000 }, { cls: '1.2.840.10008.5.1.4.1.1.4', uid: '1.2' }], [{ cls: '1.2.840.10008.5.1.4.1.1.7', uid: '1.3', reason: 0xa700 }]));
  });
  const client = new DicomWebClient({ baseUrl: base });
  const result = await client.storeInstances([CT, mr], { study: '1.2.3' });
  assert.equal(result.httpStatus, 202);
  assert.equal(result.ok, false);
  assert.equal(result.retrieveUrl, 'http://x/studies/1');
  assert.deepEqual(result.warnings, ['one was coerced']);
  assert.deepEqual(result.referenced.map((r) => [r.sopInstanceUid, r.warningDescription]), [['1.1', 'B000H Warning: Coercion of Data Elements'], ['1.2', undefined]]);
  assert.deepEqual(result.failed.map((f) => [f.sopClassUid, f.sopInstanceUid, f.failureReason, f.description]), [['1.2.840.10008.5.1.4.1.1.7', '1.3', 0xa700, 'A700H Refused: Out of Resources']]);

  const request = seen[0]!;
  assert.equal(request.method, 'POST');
  assert.equal(request.url, '/dicom-web/studies/1.2.3');
  assert.equal(request.headers.accept, 'application/dicom+json');
  assert.equal(request.headers.expect, undefined, 'no Expect: 100-continue');
  assert.equal(request.headers['content-length'], String(request.body.length));
  const type = parseMediaType(request.headers['content-type']!);
  assert.equal(type.type, 'multipart/related');
  assert.equal(type.parameters.get('type'), 'application/dicom');
  const parts: Buffer[] = [];
  for await (const part of parseMultipart(chunksOf(request.body, []), type.parameters.get('boundary')!)) {
    assert.equal(part.contentType, 'application/dicom');
    const chunks: Buffer[] = [];
    for await (const c of part.body) chunks.push(Buffer.from(c));
    parts.push(Buffer.concat(chunks));
  }
  assert.deepEqual(parts, [ct, mr]);

  // A DataSet and a stream of unknown length: the body goes chunked.
  const ds = (await readFile(MR)).dataSet;
  await client.storeInstances([ds, { stream: chunksOf(ct, [100, 5000]) }, await readFile(CT, { bulkDataThreshold: 1024 })]);
  const second = seen[1]!;
  assert.equal(second.url, '/dicom-web/studies');
  assert.equal(second.headers['content-length'], undefined);
  assert.equal(second.headers['transfer-encoding'], 'chunked');
  const again: Buffer[] = [];
  for await (const part of parseMultipart(chunksOf(second.body, []), parseMediaType(second.headers['content-type']!).parameters.get('boundary')!)) {
    const chunks: Buffer[] = [];
    for await (const c of part.body) chunks.push(Buffer.from(c));
    again.push(Buffer.concat(chunks));
  }
  const sent = parseBuffer(again[0]!);
  assert.equal(sent.transferSyntaxUid, '1.2.840.10008.1.2.1');
  assert.equal(sent.meta.string('MediaStorageSOPInstanceUID'), ds.string('SOPInstanceUID'));
  assert.deepEqual(toDicomJson(sent.dataSet), toDicomJson(ds));
  assert.deepEqual(again[1], ct);
  assert.deepEqual(again[2], ct, 'a DicomFile read and sent unchanged is the file\'s bytes, its large values streamed from it');
});

test('STOW-RS: 409 with a response is a result (nothing stored); an error status without one is a DicomWebHttpError', async (t) => {
  const { base } = await serve(t, (req, res) => {
    if (req.headers.authorization === undefined) {
      res.writeHead(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Basic' }).end('credentials required');
      return;
    }
    res.writeHead(409, { 'Content-Type': 'application/dicom+json' }).end(storeResponse([], [{ cls: '1.2', uid: '9.9', reason: 0xc000 }, { cls: '1.2', uid: '9.8', reason: 0x0111 }]));
  });
  await assert.rejects(new DicomWebClient({ baseUrl: base }).storeInstances([CT]), (err: unknown) => {
    assert.ok(err instanceof DicomWebHttpError);
    assert.equal(err.status, 401);
    assert.equal(err.serverMessage, 'credentials required');
    return true;
  });
  const result = await new DicomWebClient({ baseUrl: base, auth: { username: 'a', password: 'b' } }).storeInstances([CT]);
  assert.equal(result.httpStatus, 409);
  assert.equal(result.ok, false);
  // 0111H is what conduit serve --duplicates reject answers (PS3.7 C.5.8 Duplicate SOP Instance).
  assert.deepEqual(result.failed.map((f) => f.description), ['C000H Error: Cannot understand', '0111H Duplicate SOP Instance']);
  await assert.rejects(new DicomWebClient({ baseUrl: base }).storeInstances([join(PYDICOM_DATA, 'no-such-file.dcm')]), { code: 'ERR_DICOM_IO' });
});
