#!/usr/bin/env node
/**
 * Summary of a bench/network.sh run: reads its results.tsv (round, cell, contender, value, count,
 * bytes, load1, CPU seconds of the measured process for the speed cells) and prints Markdown tables, then
 * the ratios against the goals as the last lines.
 *   node bench/net/summary.mjs RESULTS.tsv VIA NOFSYNC_LABEL
 * Speed: value = seconds of one run; rate = count / median time (the range from the max and min
 * times); MB = 1e6 bytes. Memory: value = KiB (VmHWM or GNU time's maximum RSS).
 */
import { readFileSync } from 'node:fs';

const [file, via = 'lib', nofsyncLabel = 'conduit listen, fsync off'] = process.argv.slice(2);
const rows = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
  const [round, cell, who, value, count, bytes, load, cpu] = l.split('\t');
  return { round: Number(round), cell, who, value: Number(value), count: Number(count), bytes: Number(bytes), load: Number(load), cpu: cpu === undefined || cpu === '' ? NaN : Number(cpu) };
});
const median = (xs) => {
  const a = [...xs].sort((x, y) => x - y);
  const n = a.length;
  return n === 0 ? NaN : n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
};
const cpuText = (rs) => {
  const c = rs.map((r) => r.cpu).filter(Number.isFinite);
  return c.length ? `${fmt(median(c), 2)} (${fmt(Math.min(...c), 2)}-${fmt(Math.max(...c), 2)})` : 'n/a';
};
const pick = (cell, who) => rows.filter((r) => r.cell === cell && r.who === who);
const byRound = (cell, who) => new Map(pick(cell, who).map((r) => [r.round, r]));
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');
const conduitWord = via === 'cli' ? 'conduit' : 'conduit (bench/net/*.mjs, library)';

const LABELS = {
  receive: {
    storescp: 'storescu -> storescp (default: no fsync)',
    conduit: `storescu -> ${conduitWord} listen (fsync every file)`,
    'conduit-nofsync': `storescu -> ${via === 'cli' ? nofsyncLabel : nofsyncLabel.replace('conduit listen', 'conduit listen (library)')}`,
    'storescp-pdu128k': 'storescu -> storescp -pdu 131072 (no fsync)',
    'storescp-bitpreserving': 'storescu -> storescp +B bit-preserving (no fsync)',
    'conduit-oldspace': `storescu -> ${conduitWord} listen (fsync), node --initial-old-space-size=128 (diagnostic)`,
    'storescp-ignore': 'storescu -> storescp --ignore (floor: receives and answers, writes nothing)',
  },
  parallel: {
    'storescp-fork': 'parallel storescu -> storescp --fork (no fsync)',
    conduit: `parallel storescu -> ${conduitWord} listen (fsync every file)`,
    'conduit-nofsync': `parallel storescu -> ${nofsyncLabel}`,
  },
  'send-files': {
    storescu: 'storescu -> storescp (writing files)',
    conduit: `${conduitWord} store -> storescp (writing files)`,
    'conduit-oldspace': `${conduitWord} store, node --initial-old-space-size=128 (diagnostic) -> storescp (writing files)`,
    'conduit-base': `conduit store of BASE_ROOT (the tree compared against) -> storescp (writing files)`,
  },
  'send-ignore': {
    storescu: 'storescu -> storescp --ignore',
    conduit: `${conduitWord} store -> storescp --ignore`,
    'conduit-oldspace': `${conduitWord} store, node --initial-old-space-size=128 (diagnostic) -> storescp --ignore`,
    'conduit-base': `conduit store of BASE_ROOT (the tree compared against) -> storescp --ignore`,
  },
};

const out = [];
const speedCells = ['receive', 'parallel', 'send-files', 'send-ignore'].filter((c) => rows.some((r) => r.cell === c));
const stat = {};
if (speedCells.length) {
  out.push('| cell | contender | runs | time s, median (min-max) | instances/s, median (min-max) | MB/s, median (min-max) | CPU s of the measured process, median (min-max) | load1 |');
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const cell of speedCells) {
    const whos = [...new Set(rows.filter((r) => r.cell === cell).map((r) => r.who))];
    for (const who of whos) {
      const rs = pick(cell, who);
      const t = rs.map((r) => r.value);
      const med = median(t);
      const mn = Math.min(...t);
      const mx = Math.max(...t);
      const { count, bytes } = rs[0];
      stat[`${cell}/${who}`] = { med, rate: count / med };
      out.push(
        `| ${cell} | ${LABELS[cell]?.[who] ?? who} | ${rs.length} | ${fmt(med, 2)} (${fmt(mn, 2)}-${fmt(mx, 2)}) | ` +
          `${fmt(count / med)} (${fmt(count / mx)}-${fmt(count / mn)}) | ${fmt(bytes / med / 1e6)} (${fmt(bytes / mx / 1e6)}-${fmt(bytes / mn / 1e6)}) | ` +
          `${cpuText(rs)} | ${fmt(median(rs.map((r) => r.load)), 1)} |`,
      );
    }
  }
  out.push('');
}

// the disk's own per-file limit
const diskModes = [['durable', 'durable as conduit listen: temporary name, fdatasync, rename, folder fsync'], ['fsync', 'open, write, fsync, close'], ['nosync', 'open, write, close (as storescp)']];
if (rows.some((r) => r.cell === 'disk')) {
  out.push('| disk (no network), 526 KB files one after the other | runs | files/s, median (min-max) | ms per file, median |');
  out.push('| --- | ---: | ---: | ---: |');
  for (const [mode, label] of diskModes) {
    const rs = pick('disk', mode);
    if (!rs.length) continue;
    const rates = rs.map((r) => r.count / r.value);
    stat[`disk/${mode}`] = { med: median(rs.map((r) => r.value / r.count)), rate: median(rates) };
    out.push(`| ${label} | ${rs.length} | ${fmt(median(rates))} (${fmt(Math.min(...rates))}-${fmt(Math.max(...rates))}) | ${fmt(1000 * stat[`disk/${mode}`].med, 2)} |`);
  }
  out.push('');
}

// memory: growth per round
const mib = (kib) => kib / 1024;
const memLines = [];
const growth = {};
const memRow = (label, values, extra = '') => {
  if (!values.length) return;
  memLines.push(`| ${label} | ${values.length} | ${fmt(median(values), 1)} (${fmt(Math.min(...values), 1)}-${fmt(Math.max(...values), 1)}) |${extra}`);
};
for (const who of ['conduit', 'storescp', 'storescp-bitpreserving']) {
  const idle = byRound('mem-recv-idle', who);
  const after = byRound('mem-recv', who);
  if (!after.size) continue;
  const name = who === 'conduit' ? `${conduitWord} listen` : who === 'storescp' ? 'storescp' : 'storescp +B';
  memRow(`receiving: ${name}, idle (after start)`, [...idle.values()].map((r) => mib(r.value)));
  memRow(`receiving: ${name}, peak after the 200 MiB object`, [...after.values()].map((r) => mib(r.value)));
  const g = [...after].filter(([k]) => idle.has(k)).map(([k, r]) => mib(r.value - idle.get(k).value));
  growth[`recv/${who}`] = g;
  memRow(`**receiving: ${name}, growth**`, g);
}
for (const who of ['conduit', 'storescu']) {
  const one = byRound('mem-send-one-ct', who);
  const mf = byRound('mem-send-mf0', who);
  if (!mf.size) continue;
  const name = who === 'conduit' ? `${conduitWord} store` : 'storescu';
  memRow(`sending: ${name}, peak sending one 526 KB CT`, [...one.values()].map((r) => mib(r.value)));
  memRow(`sending: ${name}, peak sending the 200 MiB object`, [...mf.values()].map((r) => mib(r.value)));
  const g = [...mf].filter(([k]) => one.has(k)).map(([k, r]) => mib(r.value - one.get(k).value));
  growth[`send/${who}`] = g;
  memRow(`**sending: ${name}, growth**`, g);
}
for (const [cell, label] of [
  ['mem-floor-recv-data', "plain Node receiving it, socket 'data' events (growth)"],
  ['mem-floor-recv-onread', 'plain Node receiving it, static onread buffer (growth)'],
  ['mem-floor-send-stream', 'plain Node sending it, fs stream 1 MiB chunks (growth)'],
  ['mem-floor-send-reuse', 'plain Node sending it, two reused 256 KiB buffers (growth)'],
]) {
  memRow(label, pick(cell, 'node').map((r) => mib(r.value)));
}
if (memLines.length) {
  out.push('| peak RSS, MiB (200 MiB multiframe MF0_400frames.dcm) | runs | median (min-max) |');
  out.push('| --- | ---: | ---: |');
  out.push(...memLines, '');
}

// ratios: of the medians, with the range of the per-round ratios
const ratio = (cell, a, b) => {
  const ra = byRound(cell, a);
  const rb = byRound(cell, b);
  if (!ra.size || !rb.size) return null;
  const per = [...ra].filter(([k]) => rb.has(k)).map(([k, r]) => rb.get(k).value / r.value); // rate ratio = time b / time a
  return { med: stat[`${cell}/${b}`].med / stat[`${cell}/${a}`].med, min: Math.min(...per), max: Math.max(...per) };
};
const lines = [];
const verdict = (ok) => (ok ? 'met' : 'NOT met');
const rl = (label, r, goal) => {
  if (!r) return;
  lines.push(`${label}: ${fmt(r.med, 2)}x [per round ${fmt(r.min, 2)}-${fmt(r.max, 2)}]${goal ? ` (goal >= ${goal}x: ${verdict(r.med >= goal)})` : ''}`);
};
rl('ratio receive, instances/s: conduit listen (fsync) / storescp -pdu 131072', ratio('receive', 'conduit', 'storescp-pdu128k'));
rl('ratio receive, instances/s: conduit listen (fsync) / storescp +B', ratio('receive', 'conduit', 'storescp-bitpreserving'));
rl('ratio receive, instances/s: conduit listen (fsync) with --initial-old-space-size=128 (diagnostic) / storescp', ratio('receive', 'conduit-oldspace', 'storescp'));
rl('ratio send into storescp --ignore, instances/s: conduit store / storescu', ratio('send-ignore', 'conduit', 'storescu'));
rl('ratio send into storescp (files), instances/s: conduit store with --initial-old-space-size=128 (diagnostic) / storescu', ratio('send-files', 'conduit-oldspace', 'storescu'));
for (const target of ['files', 'ignore']) {
  rl(`ratio send into storescp${target === 'ignore' ? ' --ignore' : ' (files)'}, instances/s: conduit store of BASE_ROOT / storescu`, ratio(`send-${target}`, 'conduit-base', 'storescu'));
  rl(`ratio send into storescp${target === 'ignore' ? ' --ignore' : ' (files)'}, instances/s: conduit store / conduit store of BASE_ROOT`, ratio(`send-${target}`, 'conduit', 'conduit-base'));
}
rl('ratio receive, several associations at once, instances/s: conduit listen (fsync) / storescp --fork', ratio('parallel', 'conduit', 'storescp-fork'));
rl('ratio receive, several associations at once, instances/s: conduit listen (fsync off) / storescp --fork', ratio('parallel', 'conduit-nofsync', 'storescp-fork'));
if (stat['disk/durable'] && stat['receive/storescp']) {
  // One association: storescu waits for each response, so the durable writes cannot overlap.
  const budget = 1000 / (1.5 * stat['receive/storescp'].rate);
  lines.push(`disk: a durable write alone takes ${fmt(1000 * stat['disk/durable'].med, 2)} ms per file here; 1.5x storescp on one association leaves ${fmt(budget, 2)} ms per file for everything (storescu's own share included)`);
}
if (stat['receive/storescp-ignore'] && stat['receive/storescp']) {
  // A receiver that stores nothing: the cycle left is storescu's and the loopback's alone.
  const floor = 1000 / stat['receive/storescp-ignore'].rate;
  lines.push(`floor: storescp --ignore cycles in ${fmt(floor, 2)} ms per file (${fmt(stat['receive/storescp-ignore'].rate / stat['receive/storescp'].rate, 2)}x storescp): what a receiver that writes nothing reaches with storescu sending`);
}
// the goals last
rl('RATIO receive, instances/s: conduit listen (fsync) / storescp', ratio('receive', 'conduit', 'storescp'), 1.5);
rl('RATIO receive, instances/s: conduit listen (fsync off) / storescp', ratio('receive', 'conduit-nofsync', 'storescp'), 1.5);
rl('RATIO send into storescp (files), instances/s: conduit store / storescu', ratio('send-files', 'conduit', 'storescu'), 1.0);
for (const [key, label] of [['recv/conduit', 'conduit listen receiving'], ['send/conduit', 'conduit store sending']]) {
  const g = growth[key];
  if (!g?.length) continue;
  const m = median(g);
  lines.push(`MEMORY ${label} the 200 MiB object: peak RSS growth ${fmt(m, 1)} MiB (${fmt(Math.min(...g), 1)}-${fmt(Math.max(...g), 1)}) (goal <= 32 MiB: ${verdict(m <= 32)})`);
}
lines.push(`(Conduit measured via ${via === 'cli' ? 'the CLI: conduit listen / conduit store' : 'the library: bench/net/listen.mjs and bench/net/store.mjs (CONDUIT_VIA=lib, or the CLI commands were not in dist/)'})`);
out.push(...lines);
process.stdout.write(out.join('\n') + '\n');
