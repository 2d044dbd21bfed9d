#!/usr/bin/env node
/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function, highest first, and the
 * inclusive (total) time of the top functions. Usage: node bench/cpuprofile-top.mjs FILE [N=25] [UNDER]
 * UNDER: count only the samples taken inside a function of that name (e.g. the bench's `parse`
 * closure is anonymous, so use parseBuffer), percentages then relative to that function's time;
 * the garbage collector's share of the whole profile is printed apart.
 *
 * To profile Conduit's CT parse (see docs/benchmarks.md):
 *   node --cpu-prof --cpu-prof-dir=/tmp/conduit-prof bench/parse.mjs --worker conduit full LISTFILE
 */
import { readFileSync } from 'node:fs';

const [file, nArg, under] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/cpuprofile-top.mjs FILE.cpuprofile [N]');
  process.exit(2);
}
const N = Number(nArg ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const dt = new Map(); // node id -> sampled microseconds
for (let i = 0; i < prof.samples.length; i++) dt.set(prof.samples[i], (dt.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const all = [...dt.values()].reduce((a, b) => a + b, 0);
const gc = [...dt].filter(([id]) => byId.get(id).callFrame.functionName === '(garbage collector)').reduce((a, [, us]) => a + us, 0);
if (under) {
  for (const id of [...dt.keys()]) {
    let inside = false;
    for (let p = id; p !== undefined && !inside; p = parent.get(p)) inside = byId.get(p).callFrame.functionName === under;
    if (!inside) dt.delete(id);
  }
}
const total = [...dt.values()].reduce((a, b) => a + b, 0);

const keyOf = (n) => {
  const cf = n.callFrame;
  const url = cf.url.replace(/^file:\/\//, '').replace(/.*\/(dist|node_modules)\//, '$1/');
  return `${cf.functionName || '(anonymous)'} ${url ? `${url}:${cf.lineNumber + 1}` : ''}`.trim();
};
const self = new Map();
for (const [id, us] of dt) {
  const k = keyOf(byId.get(id));
  self.set(k, (self.get(k) ?? 0) + us);
}
// inclusive time: a function counted once per sample even if recursive
const incl = new Map();
for (const [id, us] of dt) {
  const seen = new Set();
  for (let p = id; p !== undefined; p = parent.get(p)) {
    const k = keyOf(byId.get(p));
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + us);
  }
}
const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
console.log(`${file}: ${(all / 1e6).toFixed(2)} s sampled, garbage collector ${((100 * gc) / all).toFixed(1)}%${under ? `; below: ${(total / 1e6).toFixed(2)} s inside ${under}() = 100%` : ''}`);
console.log(' self   total  function');
for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, N)) console.log(`${pct(us)} ${pct(incl.get(k) ?? 0)}  ${k}`);
