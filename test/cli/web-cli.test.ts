/**
 * `conduit web` against a node:http server in this process (the CLI spawned asynchronously, so the
 * server keeps serving): stow's summary and exit status when the server refuses some instances or
 * cannot be reached, its batches; qido's JSON lines and the server's Warning on stderr; wado's
 * usage errors.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSet } from '../../src/data/data-set.js';
import { toDicomJson, toDicomJsonText } from '../../src/data/json-model.js';
import { parseMediaType } from '../../src/dicomweb/media-type.js';
import { parseMultipart } from '../../src/dicomweb/multipart/index.js';
import { parseBuffer } from '../../src/media/part10.js';
import { conduit, freePort } from '../helpers/network.js';
import { PYDICOM_DATA } from '../helpers/peers.js';

const FILES = ['CT_small.dcm', 'MR_small.dcm', 'rtplan.dcm'].map((f) => join(PYDICOM_DATA, 'test_files', f));

async function serve(t: TestContext, handler: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>): Promise<string> {
  const server = http.createServer((req, res) => {
    handler(req, res).catch((err) => res.writeHead(500).end(String(err)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/dicom-web`;
}

/** The SOP Class and Instance UIDs of each instance in a STOW-RS request. */
async function instancesIn(req: http.IncomingMessage): Promise<Array<{ cls: string; uid: string }>> {
  const boundary = parseMediaType(req.headers['content-type']!).parameters.get('boundary')!;
  const out = [];
  for await (const part of parseMultipart(req as AsyncIterable<Uint8Array>, boundary)) {
    const chunks: Buffer[] = [];
    for await (const c of part.body) chunks.push(Buffer.from(c));
    const ds = parseBuffer(Buffer.concat(chunks)).dataSet;
    out.push({ cls: ds.string('SOPClassUID')!, uid: ds.string('SOPInstanceUID')! });
  }
  return out;
}

test('conduit web stow: the server refuses one instance: it is listed with its reason, the others counted, exit 1; batches of --batch files', async (t) => {
  const requests: number[] = [];
  const base = await serve(t, async (req, res) => {
    const instances = await instancesIn(req);
    requests.push(instances.length);
    const response = new DataSet();
    const item = (i: { cls: string; uid: string }, reason?: number) => {
      const ds = new DataSet();
      ds.set('ReferencedSOPClassUID', 'UI', i.cls);
      ds.set('ReferencedSOPInstanceUID', 'UI', i.uid);
      if (reason !== undefined) ds.set('FailureReason', 'US', reason);
      return ds;
    };
    const refused = instances.filter((i) => i.cls === '1.2.840.10008.5.1.4.1.1.481.5');
    response.set('ReferencedSOPSequence', 'SQ', instances.filter((i) => !refused.includes(i)).map((i) => item(i)));
    response.set('FailedSOPSequence', 'SQ', refused.map((i) => item(i, 0xa700)));
    res.writeHead(refused.length ? 202 : 200, { 'Content-Type': 'application/dicom+json' }).end(toDicomJsonText(toDicomJson(response)));
  });
  const r = await conduit(['web', 'stow', '--batch', '2', base, ...FILES]);
  assert.equal(r.status, 1, r.stderr);
  assert.deepEqual(requests, [2, 1]);
  assert.match(r.stdout, /^stored 2, failed 1, warnings 0, skipped 0; /);
  assert.match(r.stderr, /failed: .*rtplan\.dcm: A700H Refused: Out of Resources\n/);
  const ok = await conduit(['web', 'stow', base, FILES[0]!, FILES[1]!]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^stored 2, failed 0, warnings 0, skipped 0; /);
});

test('conduit web stow: failures that name no instance (Other Failures Sequence) are counted once, against the files the answer leaves out', async (t) => {
  // The server stores CT and rtplan, and cannot say which instance MR was (as for a part that is
  // not Part 10): an Other Failures item, with its reason in the Warning header.
  let unnamed = 1;
  const RT_PLAN = '1.2.840.10008.5.1.4.1.1.481.5';
  const base = await serve(t, async (req, res) => {
    const instances = await instancesIn(req);
    const response = new DataSet();
    const stored = instances.filter((i) => i.cls !== '1.2.840.10008.5.1.4.1.1.4');
    response.set('ReferencedSOPSequence', 'SQ', stored.map((i) => {
      const ds = new DataSet();
      ds.set('ReferencedSOPClassUID', 'UI', i.cls);
      ds.set('ReferencedSOPInstanceUID', 'UI', i.uid);
      if (i.cls === RT_PLAN) ds.set('WarningReason', 'US', 0xb000);
      return ds;
    }));
    response.set('OtherFailuresSequence', 'SQ', Array.from({ length: unnamed }, () => {
      const ds = new DataSet();
      ds.set('FailureReason', 'US', 0xc000);
      return ds;
    }));
    const plan = instances.find((i) => i.cls === RT_PLAN)!;
    const warning = [...Array.from({ length: unnamed }, (_, i) => `299 test "part: broken part ${i + 1}"`), `299 test "${plan.uid}: the indexed name is kept"`].join(', ');
    res.writeHead(202, { 'Content-Type': 'application/dicom+json', Warning: warning }).end(toDicomJsonText(toDicomJson(response)));
  });
  const r = await conduit(['web', 'stow', base, ...FILES]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /^stored 2, failed 1, warnings 1, skipped 0; /);
  assert.match(r.stderr, /failed: \S*MR_small\.dcm: C000H Error: Cannot understand: broken part 1\n/);
  assert.doesNotMatch(r.stderr, /\(request\)/);
  assert.match(r.stderr, /warning: \S*rtplan\.dcm: B000H Warning: Coercion of Data Elements: the indexed name is kept\n/);
  // Two failures that name no instance for one file left out: not paired, still counted per file.
  unnamed = 2;
  const two = await conduit(['web', 'stow', base, ...FILES]);
  assert.match(two.stdout, /^stored 2, failed 1, warnings 1, skipped 0; /);
  assert.match(two.stderr, /failed: \S*MR_small\.dcm: not in the server's answer \(HTTP 202; failures that name no instance: C000H Error: Cannot understand: broken part 1; C000H Error: Cannot understand: broken part 2\)/);
});

test('conduit web stow: a data set without File Meta Information is sent as a Part 10 file, File Meta Information made from the scan, the bytes as in the file', async (t) => {
  const bare = join(PYDICOM_DATA, 'test_files', 'ExplVR_LitEndNoMeta.dcm');
  const parts: Buffer[] = [];
  const base = await serve(t, async (req, res) => {
    const boundary = parseMediaType(req.headers['content-type']!).parameters.get('boundary')!;
    const response = new DataSet();
    const items: DataSet[] = [];
    for await (const part of parseMultipart(req as AsyncIterable<Uint8Array>, boundary)) {
      const chunks: Buffer[] = [];
      for await (const c of part.body) chunks.push(Buffer.from(c));
      const bytes = Buffer.concat(chunks);
      parts.push(bytes);
      const file = parseBuffer(bytes);
      const item = new DataSet();
      item.set('ReferencedSOPClassUID', 'UI', file.meta.string('MediaStorageSOPClassUID')!);
      item.set('ReferencedSOPInstanceUID', 'UI', file.meta.string('MediaStorageSOPInstanceUID')!);
      items.push(item);
    }
    response.set('ReferencedSOPSequence', 'SQ', items);
    res.writeHead(200, { 'Content-Type': 'application/dicom+json' }).end(toDicomJsonText(toDicomJson(response)));
  });
  const r = await conduit(['web', 'stow', base, bare]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^stored 1, failed 0, warnings 0, skipped 0; /);
  const sent = parts[0]!;
  assert.equal(sent.subarray(128, 132).toString('latin1'), 'DICM');
  const file = parseBuffer(sent);
  const original = parseBuffer(readFileSync(bare));
  assert.equal(file.meta.string('TransferSyntaxUID'), '1.2.840.10008.1.2.1');
  assert.equal(file.meta.string('MediaStorageSOPInstanceUID'), original.dataSet.string('SOPInstanceUID'));
  assert.ok(sent.subarray(sent.length - readFileSync(bare).length).equals(readFileSync(bare)), 'the file follows the File Meta Information unchanged');
});

test('conduit web stow: more than 3 files not sent for one reason are one line; --verbose lists each', async () => {
  const port = await freePort();
  const files = [...FILES, ...['rtdose.dcm', 'JPEG2000.dcm'].map((f) => join(PYDICOM_DATA, 'test_files', f))];
  const r = await conduit(['web', 'stow', '--batch', '1', `http://127.0.0.1:${port}/dicom-web`, ...files]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^stored 0, failed 5,/);
  const notSent = r.stderr.split('\n').filter((l) => l.includes('not sent'));
  assert.equal(notSent.length, 1, r.stderr);
  assert.match(notSent[0]!, /^conduit web stow: failed: 4 files not sent: connection refused.*: \S+\.dcm \.\.\. \S+\.dcm \(--verbose lists each\)$/);
  const verbose = await conduit(['web', 'stow', '--verbose', '--batch', '1', `http://127.0.0.1:${port}/dicom-web`, ...files]);
  assert.equal(verbose.stderr.match(/not sent: connection refused/g)?.length, 4, verbose.stderr);
});

test('conduit web stow: nothing listening: every file fails with the reason, exit 1', async () => {
  const port = await freePort();
  const r = await conduit(['web', 'stow', '--batch', '1', `http://127.0.0.1:${port}/dicom-web`, ...FILES]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^stored 0, failed 3,/);
  assert.match(r.stderr, /connection refused by 127\.0\.0\.1:\d+: nothing is listening there \[ERR_DICOM_TRANSPORT\]/);
  assert.equal(r.stderr.match(/not sent: connection refused/g)?.length, 2, 'after the first failure the others are not tried');
});

test('conduit web qido: a line per result, the Warning on stderr; a 400 with the server\'s message and exit 1', async (t) => {
  const base = await serve(t, async (req, res) => {
    if (req.url!.includes('Foo')) {
      res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { message: 'Foo is not a keyword' } }));
      return;
    }
    const ds = new DataSet();
    ds.set('StudyInstanceUID', 'UI', '1.2.3');
    ds.set('PatientName', 'PN', 'Doe^Jane');
    res.writeHead(200, { 'Content-Type': 'application/dicom+json', Warning: '299 test "The number of results exceeded the maximum supported by the server."' })
      .end(`[${toDicomJsonText(toDicomJson(ds))},${toDicomJsonText(toDicomJson(ds))}]`);
  });
  const r = await conduit(['web', 'qido', base, '-k', 'PatientName=Doe^J*', '--limit', '2']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, { Value?: unknown[] }>);
  assert.equal(lines.length, 2);
  assert.deepEqual(lines[0]!['00100010']!.Value, [{ Alphabetic: 'Doe^Jane' }]);
  assert.match(r.stderr, /warning: The number of results exceeded the maximum supported by the server\.\n.*2 results/s);
  const bad = await conduit(['web', 'qido', base, '-k', 'Foo=1']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /HTTP 400 Bad Request: Foo is not a keyword \[ERR_DICOM_WEB_HTTP\]/);
});

test('conduit web wado: --out or --metadata is needed, --instance needs --series; a URL that is not http is refused', async () => {
  const base = 'http://127.0.0.1:9/dicom-web';
  const noOut = await conduit(['web', 'wado', base, '--study', '1.2.3']);
  assert.equal(noOut.status, 1);
  assert.match(noOut.stderr, /give --out DIR/);
  const noSeries = await conduit(['web', 'wado', base, '--study', '1.2.3', '--instance', '4.5', '--out', '/tmp']);
  assert.equal(noSeries.status, 1);
  assert.match(noSeries.stderr, /--instance needs --series/);
  const notHttp = await conduit(['web', 'qido', 'ftp://x/dicom-web']);
  assert.notEqual(notHttp.status, 0);
  assert.match(notHttp.stderr, /http:\/\/ or https:\/\/ URL/);
});
