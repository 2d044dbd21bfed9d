/**
 * Large objects over the network in bounded memory, both ways. A sparse Part 10 file (a header,
 * then a Pixel Data value past 2^31 bytes of which only marker bytes are written) is sent with
 * client.store(path) to a DicomServer whose store handler hashes the data set as it arrives; a
 * ~300 MiB one is written to disk with writeReceivedObject. Both run in a child process started
 * with --expose-gc (see streaming-child.ts), which samples its RSS. Back-pressure: a store handler
 * that reads slowly never has more than the high-water mark and one PDU waiting for it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '../../src/ae/index.js';
import { DEFAULT_HIGH_WATER_MARK, Status } from '../../src/dimse/index.js';
import type { ChildReport } from './streaming-child.js';
import { makeSparseFile } from '../helpers/sparse-file.js';
import { EXPLICIT_LE, dataSetBytesIn, proposalsForCt, ctDataSet, startServer, withTimeout } from './helpers.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'streaming-child.js');
const RSS_LIMIT = 64 * 1024 * 1024;
const MiB = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** A sparse Part 10 file whose SOP Instance UID names its Pixel Data length; `dataSetBytes` follows the meta. */
function makeLargeFile(path: string, pixelLength: number): { size: number; dataSetBytes: number } {
  const { size, metaEnd } = makeSparseFile(path, pixelLength, `1.2.826.0.1.3680043.8.498.${pixelLength}`);
  return { size, dataSetBytes: size - metaEnd };
}

function runChild(args: string[], timeoutMs: number): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    // RSS counts dead buffers until their backing stores are freed; V8 frees them on a background
    // thread some time after each collection by default, which adds the collector's lag (tens of
    // MiB at these rates) to what the code holds. Freeing them during the collection keeps RSS a
    // measure of the code: plain Node file -> socket -> hash I/O peaks at +45-50 MiB either way.
    const child = spawn(process.execPath, ['--expose-gc', '--no-concurrent-array-buffer-sweeping', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`child exited with ${code ?? signal}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as ChildReport);
    });
  });
}

async function hashFile(path: string, start: number): Promise<{ bytes: number; sha1: string }> {
  const hash = createHash('sha1');
  let bytes = 0;
  for await (const c of createReadStream(path, { start, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(c);
    bytes += c.length;
  }
  return { bytes, sha1: hash.digest('hex') };
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-ae-stream-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a 2.15 GB object (Pixel Data past 2^31) is stored with client.store(path) in bounded memory, every byte arriving', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'large.dcm');
  const { size, dataSetBytes } = makeLargeFile(path, 2_150_000_000);
  assert.equal(statSync(path).size, size);
  // The parent hashes the file's data set while the child stores it (the two CPUs share the work).
  const [r, expected] = await Promise.all([runChild(['hash', path], 55_000), hashFile(path, size - dataSetBytes)]);
  t.diagnostic(`stored ${MiB(r.received.bytes)} in ${r.storeMs} ms (${(r.received.bytes / 1e6 / (r.storeMs / 1000)).toFixed(0)} MB/s); `
    + `RSS peak +${MiB(r.peak - r.base)} over ${r.samples} samples, after +${MiB(r.after - r.base)}`);
  assert.equal(r.status, Status.Success);
  assert.equal(r.dataSetOffset, size - dataSetBytes);
  assert.equal(expected.bytes, dataSetBytes);
  assert.equal(r.received.bytes, dataSetBytes, 'bytes received by the store handler');
  assert.equal(r.received.sha1, expected.sha1, 'the data set received differs from the file\'s');
  assert.ok(r.samples >= 10, `only ${r.samples} RSS samples`);
  assert.ok(r.peak - r.base <= RSS_LIMIT, `RSS grew by ${MiB(r.peak - r.base)} while storing`);
});

test('the SCP writes a ~300 MiB object to disk with writeReceivedObject in bounded memory; the file is the header and the bytes sent', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'medium.dcm');
  const out = join(dir, 'received');
  mkdirSync(out);
  const { size, dataSetBytes } = makeLargeFile(path, 300 * 1024 * 1024);
  const [r, expected] = await Promise.all([runChild(['disk', path, out], 55_000), hashFile(path, size - dataSetBytes)]);
  t.diagnostic(`stored and fsync'd ${MiB(r.received.bytes)} in ${r.storeMs} ms; RSS peak +${MiB(r.peak - r.base)} over ${r.samples} samples`);
  assert.equal(r.status, Status.Success);
  assert.ok(r.written, 'writeReceivedObject returned');
  assert.equal(r.written.path, join(out, '1.2.826.0.1.3680043.8.498.314572800.dcm'));
  assert.equal(r.written.headerMatches, true, 'the written file starts with part10Header(...)');
  assert.equal(r.received.bytes, dataSetBytes);
  assert.equal(r.received.sha1, expected.sha1, 'the written data set differs from the one sent');
  assert.equal(statSync(r.written.path).size, r.written.bytes);
  assert.ok(r.peak - r.base <= RSS_LIMIT, `RSS grew by ${MiB(r.peak - r.base)} while storing to disk`);
});

test('back-pressure: a store handler reading slowly never has more than the high-water mark and one PDU waiting', { timeout: 30_000 }, async () => {
  const MAX_PDU = 64 * 1024;
  const TOTAL = 16 * 1024 * 1024;
  let maxBuffered = 0;
  let reads = 0;
  let received = 0;
  const { port, close } = await startServer({
    aeTitle: 'SLOW-SCP', maxPduLength: MAX_PDU,
    handlers: {
      async store(req) {
        for await (const chunk of req.dataSet) {
          received += chunk.length;
          maxBuffered = Math.max(maxBuffered, req.dataSet.buffered);
          // A slow sink: every 8th chunk takes a few milliseconds.
          if ((++reads & 7) === 0) await new Promise((r) => setTimeout(r, 3));
        }
      },
    },
  });
  try {
    const ds = ctDataSet();
    ds.delete(0x7fe00010);
    const head = dataSetBytesIn(ds, EXPLICIT_LE);
    const body = new Uint8Array(TOTAL);
    const pixelHeader = Buffer.alloc(12);
    pixelHeader.writeUInt16LE(0x7fe0, 0);
    pixelHeader.writeUInt16LE(0x0010, 2);
    pixelHeader.write('OW', 4, 'latin1');
    pixelHeader.writeUInt32LE(TOTAL, 8);
    const client = await connect({ host: '127.0.0.1', port, presentationContexts: proposalsForCt() });
    async function* source(): AsyncGenerator<Uint8Array> {
      yield head;
      yield pixelHeader;
      for (let o = 0; o < TOTAL; o += 1 << 20) yield body.subarray(o, o + (1 << 20));
    }
    const status = await withTimeout(client.store({
      stream: source(),
      sopClassUid: ds.string(0x00080016)!, sopInstanceUid: ds.string(0x00080018)!, transferSyntaxUid: EXPLICIT_LE,
    }), 25_000, 'the slow store');
    assert.equal(status.code, Status.Success);
    assert.equal(received, head.length + 12 + TOTAL);
    assert.ok(maxBuffered <= DEFAULT_HIGH_WATER_MARK + MAX_PDU, `${maxBuffered} bytes waited for the handler (high-water mark ${DEFAULT_HIGH_WATER_MARK}, PDU ${MAX_PDU})`);
    assert.ok(maxBuffered >= DEFAULT_HIGH_WATER_MARK / 2, `the handler was never behind (at most ${maxBuffered} bytes waiting): the test proves nothing`);
    await client.release();
  } finally {
    await close();
  }
});
