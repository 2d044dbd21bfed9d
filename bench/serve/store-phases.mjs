#!/usr/bin/env node
/**
 * The archive's store path without the network (not a test): ArchiveStore.storeInstance over the
 * corpus' CT files (data sets read into memory first, handed over in 16 KiB chunks like PDVs),
 * CONCURRENCY stores at a time, with the time spent in each phase (blob put, parse back + record,
 * index insert). Run after `npx tsc -p .`:
 *
 *   node bench/serve/store-phases.mjs [COUNT=1000] [CONCURRENCY=1]     (KEYS=random|shared: see below)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import crypto from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readFile } from '../../dist/src/media/part10.js';
import { ArchiveStore, FilesystemBlobStore, SqliteIndexStore } from '../../dist/src/storage/index.js';

const COUNT = Number(process.argv[2] ?? 1000);
const CONCURRENCY = Number(process.argv[3] ?? 1);
const CORPUS = process.env.CORPUS ?? '/tmp/corpus';

async function walk(dir, out = []) {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) await walk(join(dir, e.name), out);
    else if (e.name.endsWith('.dcm')) out.push(join(dir, e.name));
  }
  return out;
}
const files = (await walk(join(CORPUS, 'ct'))).sort().slice(0, COUNT);
const inputs = [];
for (const f of files) {
  const d = await readFile(f, { bulkDataThreshold: Infinity });
  const bytes = readFileSync(f).subarray(d.dataSetOffset);
  const chunks = [];
  for (let o = 0; o < bytes.length; o += 16384) chunks.push(bytes.subarray(o, o + 16384));
  inputs.push({ chunks, sopClassUid: d.dataSet.string('SOPClassUID'), sopInstanceUid: d.dataSet.string('SOPInstanceUID'), transferSyntaxUid: d.transferSyntaxUid });
}
const dir = mkdtempSync(join(tmpdir(), 'conduit-store-phases-'));
const blobs = new FilesystemBlobStore({ root: join(dir, 'blobs') });
const index = new SqliteIndexStore({ path: join(dir, 'index.sqlite') });
const phases = { put: 0, insert: 0 };
const put = blobs.put.bind(blobs);
blobs.put = async (...a) => { const t = performance.now(); try { return await put(...a); } finally { phases.put += performance.now() - t; } };
const insert = index.insertInstance.bind(index);
index.insertInstance = async (...a) => { const t = performance.now(); try { return await insert(...a); } finally { phases.insert += performance.now() - t; } };
// Blob keys: the archive's default (a bucket directory per store under way, blob-key-buckets.ts);
// KEYS=random: a random UUID each (a directory by its hash, the default before); KEYS=shared:
// "<bucket>.<UUID>" with one bucket for every store, a new random one every 1,024.
let bucket = { prefix: '', left: 0 };
const sharedKey = () => {
  if (bucket.left-- <= 0) bucket = { prefix: crypto.randomBytes(2).toString('hex'), left: 1023 };
  return `${bucket.prefix}.${crypto.randomUUID()}`;
};
const newBlobKey = { random: () => crypto.randomUUID(), shared: sharedKey }[process.env.KEYS ?? ''];
const archive = new ArchiveStore({ index, blobs, ...(newBlobKey ? { newBlobKey } : {}) });
async function* iterate(chunks) { for (const c of chunks) yield c; }
let next = 0;
const cpu0 = process.cpuUsage();
const elu0 = performance.eventLoopUtilization();
const t0 = performance.now();
await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
  while (next < inputs.length) {
    const i = inputs[next++];
    const r = await archive.storeInstance({ dataSet: iterate(i.chunks), sopClassUid: i.sopClassUid, sopInstanceUid: i.sopInstanceUid, transferSyntaxUid: i.transferSyntaxUid, sourceAet: 'BENCH' });
    if (r.status !== 'inserted') throw new Error(r.status);
  }
}));
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const elu = performance.eventLoopUtilization(elu0);
const n = inputs.length;
console.log(`${n} stores, ${CONCURRENCY} at a time: ${(n / ms * 1000).toFixed(0)} instances/s; per store ${(ms / n).toFixed(3)} ms wall; ` +
  `summed over stores: put ${(phases.put / n).toFixed(3)} ms, insert ${(phases.insert / n).toFixed(3)} ms, rest ${((ms * CONCURRENCY - phases.put - phases.insert) / n).toFixed(3)} ms; ` +
  `commits ${index.commitStats.batches}; CPU per store: user ${(cpu.user / 1e3 / n).toFixed(2)} ms, system ${(cpu.system / 1e3 / n).toFixed(2)} ms; main thread busy ${(elu.utilization * 100).toFixed(0)}%`);
await archive.close();
rmSync(dir, { recursive: true, force: true });
