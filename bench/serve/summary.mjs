#!/usr/bin/env node
/**
 * Summary of a bench/serve.sh run: reads its results.tsv and prints Markdown tables, then the ratios
 * against the goals as the last lines.
 *   node bench/serve/summary.mjs RESULTS.tsv REPEAT
 * Rows: round, cell, contender, value, count, load1, extra.
 *   store-N: value = seconds for the 2,000 files over N associations, count = files, extra = the
 *            server's CPU seconds (user + system; storescp --fork's children not counted).
 *   find-Q, find-1m-Q: value = ms per query inside the association ((T_R - T_1) / (R - 1)), count =
 *            matches, extra = T_R / R (the anchor script's method, process start included).
 */
import { readFileSync } from 'node:fs';

const [file, repeat = '200'] = process.argv.slice(2);
const rows = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
  const [round, cell, who, value, count, load, extra] = l.split('\t');
  return { round: Number(round), cell, who, value: Number(value), count: Number(count), load: Number(load), extra: Number(extra) };
});
const median = (xs) => {
  const a = [...xs].filter(Number.isFinite).sort((x, y) => x - y);
  const n = a.length;
  return n === 0 ? NaN : n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
};
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');
const pick = (cell, who) => rows.filter((r) => r.cell === cell && r.who === who);
const cells = [...new Set(rows.map((r) => r.cell))];
const loads = rows.map((r) => r.load);
const goals = [];

/** Per-round ratios a/b of the rows of two contenders (by round). */
function roundRatios(cell, a, b, f) {
  const bs = new Map(pick(cell, b).map((r) => [r.round, r]));
  return pick(cell, a).filter((r) => bs.has(r.round)).map((r) => f(r, bs.get(r.round)));
}
const range = (xs) => (xs.length ? `[${fmt(Math.min(...xs), 2)}-${fmt(Math.max(...xs), 2)}]` : '');

const storeCells = cells.filter((c) => c.startsWith('store-')).sort();
if (storeCells.length) {
  console.log('### Store: storescu, 2,000 CT files (~526 KB), instances/s, median (min-max) over rounds\n');
  console.log('| associations | contender | instances/s | MB/s | server CPU s |');
  console.log('| --- | --- | ---: | ---: | ---: |');
  for (const cell of storeCells) {
    for (const who of ['conduit', 'conduit-base', 'orthanc', 'storescp']) {
      const rs = pick(cell, who);
      if (!rs.length) continue;
      const n = rs[0].count;
      const t = median(rs.map((r) => r.value));
      const label = { conduit: 'conduit serve (fsync + index commit per object)', 'conduit-base': 'conduit serve, BASE_ROOT (the earlier commit)', orthanc: 'Orthanc (empty DB, SyncStorageArea)', storescp: 'storescp --fork (no fsync)' }[who];
      const cpu = who === 'storescp' ? 'n/a' : fmt(median(rs.map((r) => r.extra)), 2);
      console.log(`| ${cell.slice(6)} | ${label} | ${fmt(n / t)} (${fmt(n / Math.max(...rs.map((r) => r.value)))}-${fmt(n / Math.min(...rs.map((r) => r.value)))}) | ${fmt((n * 526_000) / t / 1e6)} | ${cpu} |`);
    }
  }
  console.log('');
  for (const cell of storeCells) {
    for (const [other, goal] of [['orthanc', 5], ['storescp', 1.5], ['conduit-base', 0]]) {
      const c = pick(cell, 'conduit');
      const o = pick(cell, other);
      if (!c.length || !o.length) continue;
      const ratio = median(o.map((r) => r.value)) / median(c.map((r) => r.value));
      const per = roundRatios(cell, 'conduit', other, (a, b) => b.value / a.value);
      goals.push(`store, ${cell.slice(6)} association(s): conduit serve / ${other} = **${fmt(ratio, 2)}x** ${range(per)}${goal ? ` (goal >= ${goal}x: ${ratio >= goal ? 'met' : '**not met**'})` : ' (the change measured)'}`);
    }
  }
}

for (const prefix of ['find-', 'find-1m-']) {
  const fc = cells.filter((c) => c.startsWith(prefix) && !(prefix === 'find-' && c.startsWith('find-1m-')));
  if (!fc.length) continue;
  const title = prefix === 'find-' ? 'both holding the corpus (2,203 instances, 105 studies)' : 'Conduit\'s index also holding 1,000,000 synthetic instances; Orthanc the corpus only';
  console.log(`### C-FIND per query inside one association (findscu --repeat ${repeat}), ${title}; ms, median (min-max)\n`);
  console.log('| query | matches conduit / Orthanc | conduit serve | Orthanc | conduit / Orthanc | anchor method (T/R) conduit / Orthanc |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const cell of fc) {
    const q = cell.slice(prefix.length);
    const c = pick(cell, 'conduit');
    const o = pick(cell, 'orthanc');
    const cm = median(c.map((r) => r.value));
    const om = median(o.map((r) => r.value));
    const mr = (rs) => `${fmt(cm === cm ? median(rs.map((r) => r.value)) : NaN, 3)} (${fmt(Math.min(...rs.map((r) => r.value)), 3)}-${fmt(Math.max(...rs.map((r) => r.value)), 3)})`;
    const ratio = cm / om;
    const per = roundRatios(cell, 'conduit', 'orthanc', (a, b) => a.value / b.value);
    console.log(`| ${q} | ${c[0]?.count ?? '?'} / ${o[0]?.count ?? '?'} | ${mr(c)} | ${mr(o)} | ${fmt(ratio, 2)}x ${range(per)} | ${fmt(median(c.map((r) => r.extra)), 3)} / ${fmt(median(o.map((r) => r.extra)), 3)} |`);
    const comparable = c[0]?.count === o[0]?.count;
    if (comparable) goals.push(`C-FIND ${q}${prefix === 'find-1m-' ? ', 1M instances in Conduit' : ''}: conduit / Orthanc time per query = **${fmt(ratio, 2)}x** ${range(per)} (goal <= 0.5x: ${ratio <= 0.5 ? 'met' : '**not met**'})`);
    else goals.push(`C-FIND ${q}${prefix === 'find-1m-' ? ', 1M instances in Conduit' : ''}: ${c[0]?.count} matches against Orthanc's ${o[0]?.count}: not compared (${fmt(ratio, 2)}x)`);
  }
  console.log('');
}

console.log(`load (1-minute) during the run: ${fmt(Math.min(...loads), 2)}-${fmt(Math.max(...loads), 2)}\n`);
for (const g of goals) console.log(`- ${g}`);
