/**
 * A 2 GB file parses, writes and transcodes in bounded memory: a sparse file (a header, then a
 * Pixel Data value of 2.2 GB, past 2^31, of which only a few marker bytes are written) is read with
 * readFile, so Pixel Data stays in the file as BulkData; then streamed with encodeFileStream into
 * a hashing sink (not to disk), as it is and transcoded to Explicit VR Big Endian. A child
 * process started with --expose-gc measures its resident set size (RSS) before and during each
 * step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeSparseFile, MARK_END, MARK_START } from '../helpers/sparse-file.js';

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Over 2^31, so every offset and length computation must be done past 32-bit signed range. */
const PIXEL_LENGTH = 2_200_000_000;
const RSS_LIMIT = 64 * 1024 * 1024;

/**
 * The child process: reads the file, then streams it as it is and transcoded to Explicit VR Big
 * Endian into hashing sinks, sampling RSS as it goes. Prints one JSON line.
 */
const CHILD = (dist: string) => `
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
const { readFile, encodeFileStream } = await import(${JSON.stringify(pathToFileURL(join(dist, 'src/media/part10.js')).href)});
const [path, sizeText, inMetaText, pixelText] = process.argv.slice(2);
const size = Number(sizeText), inMeta = Number(inMetaText), pixelOffset = Number(pixelText);
const settled = () => { globalThis.gc(); return process.memoryUsage().rss; };
let peak = 0;
const sample = () => { const r = process.memoryUsage().rss; if (r > peak) peak = r; };

/**
 * Hashes and counts a stream of chunks. positions(firstChunkLength) gives the absolute offsets
 * whose bytes to keep: the first chunk of encodeFileStream is the preamble and meta.
 */
async function sink(chunks, positions) {
  const hash = createHash('sha1');
  const seen = {};
  let n = 0, k = 0, wanted = null;
  peak = 0;
  const started = Date.now();
  for await (const c of chunks) {
    const b = c instanceof Uint8Array ? c : new Uint8Array(c);
    wanted ??= positions(b.length);
    for (const p of wanted) if (p >= n && p < n + b.length) seen[p] = b[p - n];
    hash.update(b);
    n += b.length;
    if ((++k & 31) === 0) sample();
  }
  sample();
  return { bytes: n, sha1: hash.digest('hex'), seen, peak, ms: Date.now() - started, metaEnd: wanted.metaEnd };
}
const marks = (at) => [at, at + 1, at + 2, at + 3];

const base = settled();
let started = Date.now();
const file = await readFile(path);
sample();
const pixel = file.dataSet.get(0x7fe00010);
const report = { base, afterRead: settled(), readMs: Date.now() - started, bulk: pixel && pixel.bulk ? { offset: pixel.bulk.offset, length: pixel.bulk.length } : null, elements: file.dataSet.size };

report.asIs = await sink(encodeFileStream(file), () => [...marks(pixelOffset), ...marks(size - 4)]);
report.afterAsIs = settled();
report.direct = await sink(createReadStream(path, { highWaterMark: 1 << 20 }), () => []);
report.bigEndian = await sink(encodeFileStream(file, { transferSyntaxUid: '1.2.840.10008.1.2.2' }), (metaEnd) => {
  const out = [...marks(metaEnd + (pixelOffset - inMeta)), ...marks(metaEnd + (size - inMeta) - 4)];
  out.metaEnd = metaEnd;
  return out;
});
report.afterBigEndian = settled();
console.log(JSON.stringify(report));
`;

interface SinkReport { bytes: number; sha1: string; seen: Record<string, number>; peak: number; ms: number; metaEnd?: number }
interface ChildReport {
  base: number; afterRead: number; readMs: number; elements: number;
  bulk: { offset: number; length: number } | null;
  asIs: SinkReport; afterAsIs: number; direct: SinkReport; bigEndian: SinkReport; afterBigEndian: number;
}

const MiB = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

test(`a ${(PIXEL_LENGTH / 1e9).toFixed(1)} GB file is read, streamed and transcoded to Big Endian in bounded memory`, { timeout: 60_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-large-'));
  try {
    const path = join(dir, 'large.dcm');
    const { size, pixelValueOffset, metaEnd } = makeSparseFile(path, PIXEL_LENGTH);
    assert.equal(statSync(path).size, size);
    const allocated = statSync(path).blocks * 512;
    if (allocated > 64 * 1024 * 1024) t.diagnostic(`the file system did not keep the file sparse (${MiB(allocated)} allocated)`);
    const childPath = join(dir, 'child.mjs');
    writeFileSync(childPath, CHILD(DIST));
    const r = spawnSync(process.execPath, ['--expose-gc', childPath, path, String(size), String(metaEnd), String(pixelValueOffset)], { encoding: 'utf8', timeout: 55_000 });
    assert.equal(r.status, 0, `child failed (${r.signal ?? ''}): ${r.stderr}`);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildReport;
    t.diagnostic(`read ${report.readMs} ms, +${MiB(report.afterRead - report.base)}; as is ${report.asIs.ms} ms, peak +${MiB(report.asIs.peak - report.base)}; `
      + `Big Endian ${report.bigEndian.ms} ms, peak +${MiB(report.bigEndian.peak - report.base)}`);

    // read: Pixel Data stays in the file
    assert.deepEqual(report.bulk, { offset: pixelValueOffset, length: PIXEL_LENGTH });
    assert.equal(report.elements, 13);
    assert.ok(report.afterRead - report.base < RSS_LIMIT, `reading grew RSS by ${MiB(report.afterRead - report.base)}`);

    // streamed as it is: the same bytes as the file
    assert.equal(report.asIs.bytes, size);
    assert.equal(report.direct.bytes, size);
    assert.equal(report.asIs.sha1, report.direct.sha1, 'encodeFileStream output differs from the file');
    assert.deepEqual(Object.values(report.asIs.seen), [...MARK_START, ...MARK_END]);
    assert.ok(report.asIs.peak - report.base < RSS_LIMIT, `streaming peaked at +${MiB(report.asIs.peak - report.base)}`);

    // transcoded to Explicit VR Big Endian: the same lengths, OW swapped in 16-bit words
    const outMeta = report.bigEndian.metaEnd!;
    assert.equal(report.bigEndian.bytes, outMeta + (size - metaEnd));
    assert.deepEqual(Object.values(report.bigEndian.seen), [2, 1, 4, 3, 6, 5, 8, 7]);
    assert.ok(report.bigEndian.peak - report.base < RSS_LIMIT, `transcoding peaked at +${MiB(report.bigEndian.peak - report.base)}`);
    assert.ok(report.afterBigEndian - report.base < RSS_LIMIT);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
