/**
 * STOW-RS of a 2.2 GB instance in bounded memory: a sparse Part 10 file (test/helpers/sparse-file.ts)
 * is stored by DicomWebClient in a child process started with --expose-gc, which samples its
 * resident set size (RSS) while the upload runs; a node:http server in this process reads the
 * request through the multipart parser, counting the part's bytes and keeping its first and last
 * ones. Buffering the file anywhere on the client's side would show as gigabytes of RSS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DataSet } from '../../src/data/data-set.js';
import { toDicomJson, toDicomJsonText } from '../../src/data/json-model.js';
import { parseMediaType } from '../../src/dicomweb/media-type.js';
import { parseMultipart } from '../../src/dicomweb/multipart/index.js';
import { run } from '../helpers/network.js';
import { makeSparseFile, MARK_END, MARK_START } from '../helpers/sparse-file.js';

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PIXEL_LENGTH = 2_200_000_000;
const RSS_LIMIT = 96 * 1024 * 1024;

const CHILD = (dist: string) => `
const { DicomWebClient } = await import(${JSON.stringify(pathToFileURL(join(dist, 'src/index.js')).href)});
const [url, path] = process.argv.slice(2);
globalThis.gc();
const base = process.memoryUsage().rss;
let peak = base;
const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
let sent = 0;
const result = await new DicomWebClient({ baseUrl: url }).storeInstances([path], { onProgress: (n) => { sent += n; } });
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage().rss);
console.log(JSON.stringify({ base, peak, sent, status: result.httpStatus, ok: result.ok, stored: result.referenced.map((r) => r.sopInstanceUid) }));
`;

interface Received { contentLength: string | undefined; bodyBytes: number; partBytes: number; head: number[]; tail: number[]; parts: number }

test(`STOW-RS of a ${(PIXEL_LENGTH / 1e9).toFixed(1)} GB instance: streamed from the file, in bounded memory`, { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-stow-large-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'large.dcm');
  const { size, pixelValueOffset } = makeSparseFile(path, PIXEL_LENGTH);
  let received!: Received;
  const server = http.createServer((req, res) => {
    void (async () => {
      const r: Received = { contentLength: req.headers['content-length'], bodyBytes: 0, partBytes: 0, head: [], tail: [], parts: 0 };
      const counted = (async function* () {
        for await (const c of req as AsyncIterable<Buffer>) {
          r.bodyBytes += c.length;
          yield c;
        }
      })();
      const boundary = parseMediaType(req.headers['content-type']!).parameters.get('boundary')!;
      for await (const part of parseMultipart(counted, boundary)) {
        r.parts++;
        let last = Buffer.alloc(0);
        for await (const c of part.body) {
          if (r.head.length < pixelValueOffset + 4) r.head.push(...c.subarray(0, pixelValueOffset + 4 - r.head.length));
          last = Buffer.concat([last, c.subarray(Math.max(0, c.length - 4))]).subarray(-4);
          r.partBytes += c.length;
        }
        r.tail = [...last];
      }
      received = r;
      const response = new DataSet();
      const item = new DataSet();
      item.set('ReferencedSOPClassUID', 'UI', '1.2.840.10008.5.1.4.1.1.7');
      item.set('ReferencedSOPInstanceUID', 'UI', '1.2.826.0.1.3680043.8.498.1');
      response.set('ReferencedSOPSequence', 'SQ', [item]);
      res.writeHead(200, { 'Content-Type': 'application/dicom+json' }).end(toDicomJsonText(toDicomJson(response)));
    })().catch((err) => res.writeHead(500).end(String(err)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dicom-web`;

  const childPath = join(dir, 'child.mjs');
  writeFileSync(childPath, CHILD(DIST));
  // Spawned asynchronously: this process's server must keep serving.
  const r = await run(process.execPath, ['--expose-gc', childPath, url, path], { timeout: 110_000 });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as { base: number; peak: number; sent: number; status: number; ok: boolean; stored: string[] };
  t.diagnostic(`client RSS peak +${((report.peak - report.base) / 1048576).toFixed(1)} MiB for ${(size / 1e9).toFixed(2)} GB sent`);

  assert.equal(report.status, 200);
  assert.ok(report.ok);
  assert.deepEqual(report.stored, ['1.2.826.0.1.3680043.8.498.1']);
  assert.equal(report.sent, size);
  assert.equal(received.parts, 1);
  assert.equal(received.partBytes, size, 'the part holds the whole file');
  assert.equal(received.contentLength, String(received.bodyBytes), 'the Content-Length announced is what came');
  assert.deepEqual(received.head.slice(128, 132), [...Buffer.from('DICM')]);
  assert.deepEqual(received.head.slice(pixelValueOffset), MARK_START);
  assert.deepEqual(received.tail, MARK_END);
  assert.ok(report.peak - report.base < RSS_LIMIT, `the client's RSS grew by ${((report.peak - report.base) / 1048576).toFixed(1)} MiB`);
});
