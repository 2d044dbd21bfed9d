#!/usr/bin/env node
/**
 * The store path's CPU per instance, piece by piece, for this tree and (BASE_ROOT) an earlier
 * build, in one process, interleaved (not a test; run by hand after `npx tsc -p .`):
 *
 *   node bench/store-path.mjs                                   # this tree only
 *   BASE_ROOT=/work/wt-base node bench/store-path.mjs           # and a built checkout beside it
 *   N=400 ROUNDS=15 CORPUS=/tmp/corpus node bench/store-path.mjs
 *
 * Pieces, each over the same N CT files of $CORPUS/ct (parsed once beforehand where the piece
 * starts from a data set), best of ROUNDS rounds, ms per instance:
 *   parse         ParseAsReceived over 16 KiB chunks (what the archive does while the object arrives)
 *   levelRecords  the four level records of the index
 *   metadataJson  the metadata JSON text (PS3.18 F.2) the index stores
 *   record        buildInstanceIndexRecord: both, and the UIDs
 * The metadata JSON of the two trees is compared (identical text expected). The index insert is
 * left to `bench/storage-insert.mjs`; the whole store, against Orthanc and storescp, to bench/serve.sh.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const CORPUS = process.env.CORPUS ?? '/tmp/corpus';
const N = Number(process.env.N ?? 400);
const ROUNDS = Number(process.env.ROUNDS ?? 15);
const roots = { this: join(HERE, '..'), ...(process.env.BASE_ROOT ? { base: process.env.BASE_ROOT } : {}) };

const files = [];
for (const p of readdirSync(join(CORPUS, 'ct')).sort()) {
  for (const s of readdirSync(join(CORPUS, 'ct', p)).sort()) for (const f of readdirSync(join(CORPUS, 'ct', p, s)).sort()) files.push(join(CORPUS, 'ct', p, s, f));
}
const bufs = files.slice(0, N).map((f) => readFileSync(f));
if (bufs.length === 0) throw new Error(`no CT files under ${CORPUS}/ct (bench/gen-corpus.py makes them)`);

function parseAll(ParseAsReceived) {
  return bufs.map((b) => {
    const pr = new ParseAsReceived('k', 64 * 1024);
    for (let o = 0; o < b.length; o += 16384) pr.push(b.subarray(o, o + 16384));
    pr.end();
    return pr.result();
  });
}

const trees = {};
for (const [name, root] of Object.entries(roots)) {
  const S = await import(join(root, 'dist/src/storage/index.js'));
  const { ParseAsReceived } = await import(join(root, 'dist/src/storage/parse-as-received.js'));
  trees[name] = { S, ParseAsReceived, parsed: parseAll(ParseAsReceived) };
}
const pieces = {
  parse: (t) => parseAll(t.ParseAsReceived),
  levelRecords: (t) => { for (const f of t.parsed) t.S.levelRecords(f.dataSet, f.transferSyntaxUid); },
  metadataJson: (t) => { for (const f of t.parsed) t.S.metadataJson(f.dataSet); },
  record: (t) => {
    for (const f of t.parsed) t.S.buildInstanceIndexRecord(f.dataSet, { blobKey: 'k', size: 1, dataSetOffset: f.dataSetOffset, transferSyntaxUid: f.transferSyntaxUid });
  },
};
if (trees.base) {
  const same = trees.this.parsed.every((f, i) => trees.this.S.metadataJson(f.dataSet) === trees.base.S.metadataJson(trees.base.parsed[i].dataSet));
  console.log(`metadata JSON identical in both trees: ${same}`);
}
const names = Object.keys(trees);
console.log(`${N} CT files, best of ${ROUNDS} rounds, ms per instance`);
console.log(['piece', ...names, ...(trees.base ? ['this/base'] : [])].join('\t'));
for (const [piece, run] of Object.entries(pieces)) {
  const best = Object.fromEntries(names.map((n) => [n, Infinity]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const n of r % 2 ? names : [...names].reverse()) {
      const t0 = performance.now();
      run(trees[n]);
      best[n] = Math.min(best[n], (performance.now() - t0) / N);
    }
  }
  console.log([piece, ...names.map((n) => best[n].toFixed(4)), ...(trees.base ? [(best.this / best.base).toFixed(2)] : [])].join('\t'));
}
