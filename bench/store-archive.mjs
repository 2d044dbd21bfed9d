#!/usr/bin/env node
/**
 * The archive's whole store path without the network: ArchiveStore.storeInstance (durable: the
 * blob fsync'd with its directory, the index committed and its log flushed) of N CT data sets fed
 * from memory in 16 KiB chunks as C-STORE hands them over, for this tree and (BASE_ROOT) an
 * earlier build, in one process, rounds interleaved, each round into a fresh archive. Not a test;
 * run by hand after `npx tsc -p .`:
 *
 *   BASE_ROOT=/work/wt-base node bench/store-archive.mjs
 *   N=200 ROUNDS=9 CONCURRENCY=4 DIR=/tmp node bench/store-archive.mjs
 *
 * Printed per tree: the process' CPU (user + system, every thread: the thread pool's writes and
 * flushes included) per instance, the main thread's alone (what holds the event loop: its run
 * time in ns from /proc/self/task/<pid>/schedstat, not the 10 ms ticks of `stat`), and the wall
 * time per instance, median and best over the rounds, and this tree / base. The receive path (sockets, PDUs, DIMSE) is left out: bench/serve.sh
 * measures the whole server against Orthanc and storescp. CONCURRENCY stores run at once (like
 * that many associations), each waiting for its previous one.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const CORPUS = process.env.CORPUS ?? '/tmp/corpus';
const N = Number(process.env.N ?? 200);
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 1);
const DIR = process.env.DIR ?? tmpdir();
const roots = { this: join(HERE, '..'), ...(process.env.BASE_ROOT ? { base: process.env.BASE_ROOT } : {}) };

const files = [];
for (const p of readdirSync(join(CORPUS, 'ct')).sort()) {
  for (const s of readdirSync(join(CORPUS, 'ct', p)).sort()) for (const f of readdirSync(join(CORPUS, 'ct', p, s)).sort()) files.push(join(CORPUS, 'ct', p, s, f));
}
if (files.length === 0) throw new Error(`no CT files under ${CORPUS}/ct (bench/gen-corpus.py makes them)`);

const trees = {};
for (const [name, root] of Object.entries(roots)) {
  trees[name] = { S: await import(join(root, 'dist/src/storage/index.js')), P: await import(join(root, 'dist/src/media/part10.js')) };
}
// The data sets as C-STORE receives them: without the preamble and File Meta Information.
const inputs = files.slice(0, N).map((f) => {
  const bytes = readFileSync(f);
  const file = trees.this.P.parseBuffer(bytes);
  const text = (tag) => String(file.dataSet.string(tag) ?? '').trim();
  return { data: bytes.subarray(file.dataSetOffset), sopClassUid: text(0x00080016), sopInstanceUid: text(0x00080018), transferSyntaxUid: file.transferSyntaxUid };
});

async function* chunks(data) {
  for (let o = 0; o < data.length; o += 16384) yield data.subarray(o, o + 16384);
}

/** The main thread's run time so far, ns (Linux). */
function mainThreadNs() {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
}

async function round(tree) {
  const dir = mkdtempSync(join(DIR, 'store-archive-'));
  const { S } = tree;
  const archive = new S.ArchiveStore({ index: new S.SqliteIndexStore({ path: join(dir, 'index.sqlite') }), blobs: new S.FilesystemBlobStore({ root: join(dir, 'blobs') }) });
  const c0 = process.cpuUsage();
  const m0 = mainThreadNs();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < inputs.length) {
      const i = inputs[next++];
      const r = await archive.storeInstance({ dataSet: chunks(i.data), sopClassUid: i.sopClassUid, sopInstanceUid: i.sopInstanceUid, transferSyntaxUid: i.transferSyntaxUid, sourceAet: 'BENCH' });
      if (r.status !== 'inserted') throw new Error(`${i.sopInstanceUid}: ${r.status}`);
    }
  }));
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const main = (mainThreadNs() - m0) / 1e6 / inputs.length;
  await archive.close();
  rmSync(dir, { recursive: true, force: true });
  return { cpu: (c.user + c.system) / 1000 / inputs.length, main, wall: wall / inputs.length };
}

const results = Object.fromEntries(Object.keys(trees).map((k) => [k, []]));
const names = Object.keys(trees);
for (let r = 0; r < ROUNDS; r++) {
  for (const name of r % 2 ? [...names].reverse() : names) results[name].push(await round(trees[name]));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
console.log(`${inputs.length} CT instances, ${ROUNDS} rounds, concurrency ${CONCURRENCY}, load ${load()}; ms per instance, median (best)`);
for (const name of names) {
  const cpu = results[name].map((x) => x.cpu);
  const main = results[name].map((x) => x.main);
  const wall = results[name].map((x) => x.wall);
  console.log(`${name.padEnd(5)} cpu ${median(cpu).toFixed(3)} (${Math.min(...cpu).toFixed(3)})  main thread ${median(main).toFixed(3)} (${Math.min(...main).toFixed(3)})  wall ${median(wall).toFixed(3)} (${Math.min(...wall).toFixed(3)})`);
}
if (results.base) {
  const ratio = (k) => median(results.this.map((x, i) => x[k] / results.base[i][k]));
  console.log(`this / base, median of the per-round ratios: cpu ${ratio('cpu').toFixed(3)}  main thread ${ratio('main').toFixed(3)}  wall ${ratio('wall').toFixed(3)}`);
}
