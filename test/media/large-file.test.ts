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
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DataSet } from '../../src/data/data-set.js';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../../src/data/transfer-syntax.js';
import { encodeDataSet } from '../../src/data/writer.js';
import { buildFileMeta } from '../../src/media/file-meta.js';

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Over 2^31, so every offset and length computation must be done past 32-bit signed range. */
const PIXEL_LENGTH = 2_200_000_000;
const RSS_LIMIT = 64 * 1024 * 1024;
const MARK_START = [1, 2, 3, 4];
const MARK_END = [5, 6, 7, 8];

/** Writes preamble, meta, a few elements and the Pixel Data header, then extends the file sparsely. */
function makeSparseFile(path: string): { size: number; pixelValueOffset: number; metaEnd: number } {
  const ds = new DataSet();
  ds.set(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.7');
  ds.set(0x00080018, 'UI', '1.2.826.0.1.3680043.8.498.1');
  ds.set(0x00100010, 'PN', 'Large^File');
  ds.set(0x00280002, 'US', 1);
  ds.set(0x00280004, 'CS', 'MONOCHROME2');
  ds.set(0x00280008, 'IS', '1');
  ds.set(0x00280010, 'US', 33_000);
  ds.set(0x00280011, 'US', 33_333);
  ds.set(0x00280100, 'US', 16);
  ds.set(0x00280101, 'US', 16);
  ds.set(0x00280102, 'US', 15);
  ds.set(0x00280103, 'US', 0);
  const meta = buildFileMeta({ sopClassUid: '1.2.840.10008.5.1.4.1.1.7', sopInstanceUid: '1.2.826.0.1.3680043.8.498.1', transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN });
  const le = { explicitVR: true, littleEndian: true };
  const metaBytes = encodeDataSet(meta, le, { recalculateGroupLengths: true });
  const pixelHeader = Buffer.alloc(12);
  pixelHeader.writeUInt16LE(0x7fe0, 0);
  pixelHeader.writeUInt16LE(0x0010, 2);
  pixelHeader.write('OW', 4, 'latin1');
  pixelHeader.writeUInt32LE(PIXEL_LENGTH, 8);
  const head = Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), metaBytes, encodeDataSet(ds, le), pixelHeader]);
  const size = head.length + PIXEL_LENGTH;
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head, 0, head.length, 0);
    writeSync(fd, Buffer.from(MARK_START), 0, 4, head.length);
    writeSync(fd, Buffer.from(MARK_END), 0, 4, size - 4);
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
  return { size, pixelValueOffset: head.length, metaEnd: 128 + 4 + metaBytes.length };
}

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
    const { size, pixelValueOffset, metaEnd } = makeSparseFile(path);
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
