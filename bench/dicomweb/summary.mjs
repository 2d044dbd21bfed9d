#!/usr/bin/env node
/**
 * Summary of a bench/dicomweb.sh run: reads its results.tsv (round, cell, server, value, count,
 * bytes, load1[, p99 ms, req/s]) and prints a Markdown table, then the goals' ratios as the last lines.
 *   node bench/dicomweb/summary.mjs RESULTS.tsv
 * stow1/stow4: value = seconds for the 2,000 CT (one row per round; then the server's and the client's CPU seconds); wado/metadata: value = seconds
 * of one request (REQUESTS rows per round); qido-*: value = wrk's p50 in ms (one row per round);
 * mem-*: value = VmHWM in KiB. Medians over every row of a cell; MB = 1e6 bytes.
 */
import { readFileSync } from 'node:fs';

const rows = readFileSync(process.argv[2], 'utf8').trim().split('\n').filter(Boolean).map((l) => {
  const [round, cell, who, value, count, bytes, load, p99, rps] = l.split('\t');
  // stow rows: the 8th column is the server's CPU seconds, the 9th the client's
  return { round: Number(round), cell, who, value: Number(value), count: Number(count), bytes: Number(bytes), load: Number(load), p99: Number(p99), rps: Number(rps) };
});
const median = (xs) => {
  const a = [...xs].sort((x, y) => x - y);
  const n = a.length;
  return n === 0 ? NaN : n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
};
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');
const pick = (cell, who) => rows.filter((r) => r.cell === cell && r.who === who);
const range = (xs, d) => `${fmt(Math.min(...xs), d)}-${fmt(Math.max(...xs), d)}`;
const WHO = ['conduit', 'orthanc', 'conduit-semi1'];
const out = ['| cell | server | n | figure, median (min-max) | load1 |', '| --- | --- | ---: | ---: | ---: |'];
const fig = {};
for (const cell of [...new Set(rows.map((r) => r.cell))]) {
  for (const who of WHO) {
    const rs = pick(cell, who);
    if (!rs.length) continue;
    const v = rs.map((r) => r.value);
    let text;
    if (cell.startsWith('stow')) {
      const rate = v.map((t) => rs[0].count / t);
      fig[`${cell}/${who}`] = median(rate);
      const cpu = rs.map((r) => r.p99).filter(Number.isFinite);
      if (cpu.length) fig[`${cell}-cpu/${who}`] = median(cpu);
      const client = rs.map((r) => r.rps).filter(Number.isFinite);
      if (client.length) fig[`${cell}-client/${who}`] = median(client);
      text = `${fmt(median(rate))} inst/s (${range(rate)}), ${fmt(rs[0].bytes / median(v) / 1e6)} MB/s, ${fmt(median(v), 2)} s; server CPU ${cpu.length ? `${fmt(median(cpu), 1)} s (${fmt((median(cpu) / rs[0].count) * 1000, 2)} ms per instance)` : 'n/a'}; client CPU ${client.length ? `${fmt(median(client), 1)} s` : 'n/a'}`;
    } else if (cell === 'wado') {
      const rate = rs.map((r) => r.bytes / r.value / 1e6);
      fig[`${cell}/${who}`] = median(rate);
      text = `${fmt(median(rate))} MB/s (${range(rate)}), ${fmt(median(v) * 1000)} ms for ${fmt(rs[0].bytes)} bytes`;
    } else if (cell === 'metadata') {
      fig[`${cell}/${who}`] = median(v) * 1000;
      text = `${fmt(median(v) * 1000, 1)} ms (${range(v.map((x) => x * 1000), 1)}), ${fmt(rs[0].bytes)} bytes`;
    } else if (cell.startsWith('qido')) {
      fig[`${cell}/${who}`] = median(v);
      text = `p50 ${fmt(median(v), 3)} ms (${range(v, 3)}); p99 ${fmt(median(rs.map((r) => r.p99)), 3)} ms; ${fmt(median(rs.map((r) => r.rps)))} req/s (1 connection)`;
    } else if (cell.startsWith('mem')) {
      fig[`${cell}/${who}`] = median(v) / 1024;
      text = `VmHWM ${fmt(median(v) / 1024, 1)} MiB (${range(v.map((x) => x / 1024), 1)})`;
    } else continue;
    out.push(`| ${cell} | ${who} | ${rs.length} | ${text} | ${fmt(median(rs.map((r) => r.load)), 1)} |`);
  }
}
out.push('');
const growth = (who) => {
  const idle = pick('mem-idle', who);
  const after = pick('mem-stow200', who);
  return after.length ? median(after.map((a) => a.value - (idle.find((i) => i.round === a.round)?.value ?? NaN))) / 1024 : NaN;
};
const ratio = (cell) => fig[`${cell}/conduit`] / fig[`${cell}/orthanc`];
const goal = (ok) => (Number.isFinite(ok) ? '' : '') + (ok ? 'met' : 'NOT met');
const lines = [];
// stowN: the node client (bench/dicomweb/stow-client.mjs); stowN-curl: the curl client of the earlier runs
const STOW = ['stow1', 'stow4', 'stow1-curl', 'stow4-curl'];
const stowName = (c) => `STOW-RS ${c.slice(4, 5)} at a time${c.endsWith('-curl') ? ' (curl client)' : ''}`;
for (const c of STOW) {
  if (fig[`${c}/conduit`] !== undefined) lines.push(`${stowName(c)}: Conduit/Orthanc instances/s ${fmt(ratio(c), 2)}x (goal >= 5x: ${goal(ratio(c) >= 5)})`);
}
for (const c of STOW) {
  if (fig[`${c}-cpu/conduit`] !== undefined) lines.push(`${stowName(c)}: server CPU seconds for the 2,000 CT, Conduit/Orthanc ${fmt(fig[`${c}-cpu/conduit`] / fig[`${c}-cpu/orthanc`], 2)}x (lower is better; not a goal)`);
}
if (fig['wado/conduit'] !== undefined) lines.push(`WADO-RS study: Conduit/Orthanc bytes/s ${fmt(ratio('wado'), 2)}x (goal >= 1.5x: ${goal(ratio('wado') >= 1.5)})`);
if (fig['metadata/conduit'] !== undefined) lines.push(`study metadata: Conduit/Orthanc time ${fmt(ratio('metadata'), 3)}x (goal <= 0.2x: ${goal(ratio('metadata') <= 0.2)})`);
for (const q of ['qido-uid', 'qido-patient']) {
  if (fig[`${q}/conduit`] !== undefined) lines.push(`QIDO-RS one match (${q.slice(5)}): Conduit/Orthanc p50 ${fmt(ratio(q), 3)}x (goal <= 0.5x: ${goal(ratio(q) <= 0.5)})`);
}
if (pick('mem-stow200', 'conduit').length) {
  lines.push(`200 MiB STOW-RS: VmHWM growth Conduit ${fmt(growth('conduit'), 1)} MiB, Orthanc ${fmt(growth('orthanc'), 1)} MiB${pick('mem-stow200', 'conduit-semi1').length ? `, diagnostic Conduit under --max-semi-space-size=1 ${fmt(growth('conduit-semi1'), 1)} MiB` : ''} (goal Conduit <= 32 MiB: ${goal(growth('conduit') <= 32)})`);
}
console.log([...out, ...lines].join('\n'));
