/**
 * The child process of streaming.test.ts, started with --expose-gc so that its resident set size
 * means something: a DicomServer and a client in this one process, `client.store(path)` of a large
 * Part 10 file, the store handler either hashing the data set as it arrives (mode "hash") or
 * writing it with writeReceivedObject (mode "disk"). RSS is sampled every 50 ms and at every 64th
 * chunk; one JSON line reports the peak growth over the settled base, and the bytes received
 * (or written) and their hash.
 *
 *   node --expose-gc streaming-child.js hash <file>
 *   node --expose-gc streaming-child.js disk <file> <out-dir>
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { connect, describeFile, DicomServer, proposalsFor } from '../../src/ae/index.js';
import { part10Header, writeReceivedObject } from '../../src/services/storage/part10-sink.js';

export interface ChildReport {
  mode: string;
  base: number;
  peak: number;
  after: number;
  samples: number;
  storeMs: number;
  status: number;
  /** What the handler received (hash mode) or what writeReceivedObject wrote after the header (disk mode). */
  received: { bytes: number; sha1: string };
  /** Where the source file's data set starts (the parent hashes it meanwhile). */
  dataSetOffset: number;
  /** Disk mode: the written file's size, and whether its header is part10Header(...). */
  written?: { path: string; bytes: number; headerMatches: boolean };
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const settledRss = () => {
  gc();
  return process.memoryUsage().rss;
};

let peak = 0;
let samples = 0;
const sample = () => {
  samples++;
  const r = process.memoryUsage().rss;
  if (r > peak) peak = r;
};

async function hashOf(chunks: AsyncIterable<Uint8Array>, onChunk?: () => void): Promise<{ bytes: number; sha1: string }> {
  const hash = createHash('sha1');
  let bytes = 0;
  let k = 0;
  for await (const c of chunks) {
    hash.update(c);
    bytes += c.length;
    if ((++k & 63) === 0) onChunk?.();
  }
  return { bytes, sha1: hash.digest('hex') };
}

async function* sampled(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let k = 0;
  for await (const c of chunks) {
    if ((++k & 63) === 0) sample();
    yield c;
  }
}

const [mode, path, outDir] = process.argv.slice(2);
if ((mode !== 'hash' && mode !== 'disk') || !path || (mode === 'disk' && !outDir)) throw new Error('usage: hash <file> | disk <file> <out-dir>');

let received: { bytes: number; sha1: string } | undefined;
let written: { path: string; bytes: number } | undefined;
const server = new DicomServer({
  aeTitle: 'SINK', host: '127.0.0.1',
  handlers: {
    async store(req) {
      if (mode === 'hash') {
        received = await hashOf(req.dataSet, sample);
      } else {
        written = await writeReceivedObject(outDir!, { sopClassUid: req.sopClassUid, sopInstanceUid: req.sopInstanceUid, transferSyntaxUid: req.transferSyntaxUid, sourceAet: req.association.callingAeTitle }, sampled(req.dataSet));
      }
    },
  },
});
const { port } = await server.listen();
const file = await describeFile(path);
const client = await connect({ host: '127.0.0.1', port, callingAeTitle: 'BIG-SENDER', presentationContexts: proposalsFor([file]) });

const base = settledRss();
peak = base;
const timer = setInterval(sample, 50);
const started = performance.now();
const status = await client.store(path);
const storeMs = performance.now() - started;
clearInterval(timer);
sample();
await client.release();
await server.close();
const after = settledRss();

const report: ChildReport = { mode, base, peak, after, samples, storeMs: Math.round(storeMs), status: status.code, dataSetOffset: file.dataSetOffset, received: received ?? { bytes: -1, sha1: '' } };
if (written) {
  const header = part10Header({ sopClassUid: file.sopClassUid, sopInstanceUid: file.sopInstanceUid, transferSyntaxUid: file.transferSyntaxUid, sourceAet: 'BIG-SENDER' });
  const head = await hashOf(createReadStream(written.path, { end: header.length - 1 }) as AsyncIterable<Uint8Array>);
  report.received = await hashOf(createReadStream(written.path, { start: header.length, highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>);
  report.written = { ...written, headerMatches: head.sha1 === createHash('sha1').update(header).digest('hex') && head.bytes === header.length };
}
console.log(JSON.stringify(report));
