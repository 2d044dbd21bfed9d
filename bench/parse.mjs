#!/usr/bin/env node
/**
 * Part 10 parse benchmark: Conduit vs dicom-parser 1.8.21 vs dcmjs 0.51.1, in the same run, on the
 * same corpus. Not a test: run by hand (after `npx tsc -p .`):
 *
 *   node bench/parse.mjs            (or: bash bench/parse.sh, which builds and generates the corpus)
 *
 * Speed cells (each library in its own child process; RUNS rounds, the libraries interleaved in
 * each round, their order rotated from round to round; the median over rounds is quoted):
 *   ct-full    2,000 CT 512x512x16 (~526 KB): parse the whole file, read SOPInstanceUID
 *   ct-header  same files, stop before Pixel Data (7FE0,0010), read SOPInstanceUID
 *   ct-decode  parse, then walk every element (sequence items too) and decode each value by VR
 *              (Conduit: DataSet typed accessors; dicom-parser: its DataSet accessors + parseDA/TM/PN;
 *              dcmjs: its normal parse, which already decodes every value)
 *   small      200 small files (SR 3-8 KB, 64x64 CT 9.5 KB): full parse, SOPInstanceUID
 *   large      3 multiframe (200/100/50 MiB): full parse, SOPInstanceUID
 * In each child: every file is first read into memory (readFileSync, untimed, each in an ArrayBuffer
 * of its own so that dcmjs gets its ArrayBuffer without a copy), one untimed warm-up parse of the
 * first 100 files, one untimed calibration pass over all, then PASSES timed passes (parse only, from
 * memory), a pass being the whole list repeated enough times to last >= PASS_SECONDS. A child
 * reports its fastest pass (files/s, MB/s with MB = 1e6 bytes; the pass least disturbed by other
 * processes on a shared machine: GC is still inside it, a pass holds >= 2,000 CT parses) and the
 * mean over its passes.
 *
 * Memory cells (a fresh child process each; peak RSS = VmHWM from /proc/self/status, read after the
 * parse with the result still referenced), on the 200 MiB multiframe MF0_400frames.dcm:
 *   idle                      node + Conduit's modules loaded, nothing parsed
 *   conduit-readFile          readFile(path) with the default bulkDataThreshold (1 MiB): Pixel Data stays in the file
 *   conduit-readFile-inmem    readFile(path, {bulkDataThreshold: Infinity}): every value read into memory
 *   conduit-parseBuffer       readFileSync + parseBuffer (the whole file in memory, elements are views)
 *   dicom-parser              readFileSync + parseDicom
 *   dcmjs                     readFileSync + DicomMessage.readFile (default options)
 *
 * Environment: RUNS (5), CORPUS (/tmp/corpus), NODE_DIR (/tmp/conduit-bench-node: where the peers
 * are npm-installed if missing), WORK (/tmp/conduit-bench-work), CELLS (comma list, default all:
 * ct-full,ct-header,ct-decode,small,large,memory), LIBS (conduit,dicom-parser,dcmjs), PASSES (5), PASS_SECONDS (0.2).
 * Internal child modes: --worker LIB MODE LISTFILE, --memory CASE FILE.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const DIST = join(ROOT, 'dist', 'src');
const CORPUS = process.env.CORPUS ?? '/tmp/corpus';
const NODE_DIR = process.env.NODE_DIR ?? '/tmp/conduit-bench-node';
const WORK = process.env.WORK ?? '/tmp/conduit-bench-work';
const RUNS = Number(process.env.RUNS ?? 5);
const PASSES = Number(process.env.PASSES ?? 5);
const PASS_SECONDS = Number(process.env.PASS_SECONDS ?? 0.2);
const PEERS = { 'dicom-parser': '1.8.21', dcmjs: '0.51.1' };
const SOP_INSTANCE_UID = 0x00080018;
const PIXEL_DATA = 0x7fe00010;
const LARGE_FILE = 'MF0_400frames.dcm';

// ---------------------------------------------------------------------------------------------
// Libraries, as each child loads them
// ---------------------------------------------------------------------------------------------

function peerRequire() {
  return createRequire(join(NODE_DIR, 'node_modules', '.package-lock.json'));
}

async function loadConduit() {
  const url = (p) => new URL(`file://${join(DIST, p)}`).href;
  const part10 = await import(url('media/part10.js'));
  const dt = await import(url('data/date-time.js'));
  return { ...part10, ...dt };
}

/** Conduit: walk every element, decode each value with the DataSet typed accessor for its VR. */
function conduitDecodeAll(ds) {
  let n = 0;
  for (const e of ds) {
    const t = e.tag;
    if (e.items) {
      for (const item of e.items) n += conduitDecodeAll(item);
      continue;
    }
    if (e.encapsulated || e.bulk) { n++; continue; }
    switch (e.vr) {
      case 'AE': case 'AS': case 'CS': case 'LO': case 'LT': case 'SH': case 'ST': case 'UC': case 'UI': case 'UR': case 'UT':
        n += ds.strings(t).length; break;
      case 'PN': n += ds.personNames(t).length; break;
      case 'DS': case 'IS': n += ds.numbers(t).length; break;
      case 'DA': n += ds.date(t) ? 1 : 0; break;
      case 'TM': n += ds.time(t) ? 1 : 0; break;
      case 'DT': n += ds.dateTime(t) ? 1 : 0; break;
      case 'US': case 'SS': case 'UL': case 'SL': case 'FL': case 'FD': n += ds.numbers(t).length; break;
      case 'SV': case 'UV': n += ds.bigints(t).length; break;
      case 'AT': n += ds.tags(t).length; break;
      default: { // OB OD OF OL OV OW UN: the raw bytes (a view), as both peers give them
        const b = ds.bytes(t);
        n += b ? 1 : 0;
      }
    }
  }
  return n;
}

/** dicom-parser: the same walk with its accessors (string/text/floatString-like/uint16/... + parseDA/TM/PN). */
function dicomParserDecodeAll(dp, ds) {
  let n = 0;
  for (const key in ds.elements) {
    const el = ds.elements[key];
    if (el.items) {
      for (const item of el.items) n += dicomParserDecodeAll(dp, item.dataSet);
      continue;
    }
    if (el.fragments || el.encapsulatedPixelData) { n++; continue; }
    if (el.length === 0) continue;
    switch (el.vr) {
      case 'AE': case 'AS': case 'CS': case 'LO': case 'SH': case 'UC': case 'UI': {
        const s = ds.string(key);
        if (s !== undefined) n += s.split('\\').length;
        break;
      }
      case 'LT': case 'ST': case 'UT': case 'UR': n += ds.text(key) !== undefined ? 1 : 0; break;
      case 'PN': { const s = ds.string(key); if (s !== undefined) for (const v of s.split('\\')) { dp.parsePN(v); n++; } break; }
      case 'DS': { const s = ds.string(key); if (s !== undefined) for (const v of s.split('\\')) { parseFloat(v); n++; } break; }
      case 'IS': { const s = ds.string(key); if (s !== undefined) for (const v of s.split('\\')) { parseInt(v, 10); n++; } break; }
      case 'DA': { const s = ds.string(key); if (s) { dp.parseDA(s); n++; } break; }
      case 'TM': { const s = ds.string(key); if (s) { dp.parseTM(s); n++; } break; }
      case 'DT': n += ds.string(key) !== undefined ? 1 : 0; break;
      case 'US': for (let i = 0; i < el.length / 2; i++, n++) ds.uint16(key, i); break;
      case 'SS': for (let i = 0; i < el.length / 2; i++, n++) ds.int16(key, i); break;
      case 'UL': for (let i = 0; i < el.length / 4; i++, n++) ds.uint32(key, i); break;
      case 'SL': for (let i = 0; i < el.length / 4; i++, n++) ds.int32(key, i); break;
      case 'FL': for (let i = 0; i < el.length / 4; i++, n++) ds.float(key, i); break;
      case 'FD': for (let i = 0; i < el.length / 8; i++, n++) ds.double(key, i); break;
      case 'AT': n += ds.attributeTag(key) !== undefined ? 1 : 0; break;
      default: // OB OW UN ...: a view of the bytes
        new Uint8Array(ds.byteArray.buffer, ds.byteArray.byteOffset + el.dataOffset, el.length);
        n++;
    }
  }
  return n;
}

/** A function (Uint8Array with its own ArrayBuffer) -> SOPInstanceUID, for LIB and MODE. */
async function parserFor(lib, mode) {
  if (lib === 'conduit') {
    const c = await loadConduit();
    if (mode === 'header') return (b) => c.parseBuffer(b, { untilTag: PIXEL_DATA }).dataSet.string(SOP_INSTANCE_UID);
    if (mode === 'decode') {
      return (b) => {
        const f = c.parseBuffer(b);
        globalThis.sink = conduitDecodeAll(f.meta) + conduitDecodeAll(f.dataSet); // dicom-parser's data set includes the meta
        return f.dataSet.string(SOP_INSTANCE_UID);
      };
    }
    return (b) => c.parseBuffer(b).dataSet.string(SOP_INSTANCE_UID);
  }
  const req = peerRequire();
  if (lib === 'dicom-parser') {
    const dp = req('dicom-parser');
    const opt = mode === 'header' ? { untilTag: 'x7fe00010' } : undefined;
    if (mode === 'decode') {
      return (b) => {
        const ds = dp.parseDicom(b);
        globalThis.sink = dicomParserDecodeAll(dp, ds);
        return ds.string('x00080018');
      };
    }
    return (b) => dp.parseDicom(b, opt).string('x00080018');
  }
  if (lib === 'dcmjs') {
    const dcmjs = req('dcmjs');
    dcmjs.log?.setLevel?.('error');
    // as the shared anchor script: dcmjs's normal parse decodes every value, so 'decode' = 'full'
    const opt = { ignoreErrors: false, untilTag: mode === 'header' ? '7FE00010' : null, includeUntilTagValue: false, noCopy: false, forceStoreRaw: false };
    return (b) => dcmjs.data.DicomMessage.readFile(b.buffer, opt).dict['00080018'].Value[0];
  }
  throw new Error(`unknown library ${lib}`);
}

/** readFileSync into a Uint8Array that owns exactly its ArrayBuffer (no pool slice). */
function readOwned(path) {
  const b = readFileSync(path);
  if (b.byteOffset === 0 && b.buffer.byteLength === b.length) return new Uint8Array(b.buffer);
  return new Uint8Array(b); // copy out of Node's pool (files < 4 KiB)
}

function vmHWMKiB() {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : NaN;
}

// ---------------------------------------------------------------------------------------------
// Children
// ---------------------------------------------------------------------------------------------

async function worker(lib, mode, listFile) {
  const files = readFileSync(listFile, 'utf8').split('\n').filter(Boolean);
  const parse = await parserFor(lib, mode);
  let t0 = process.hrtime.bigint();
  const bufs = files.map(readOwned);
  const readS = Number(process.hrtime.bigint() - t0) / 1e9;
  const bytesPerList = bufs.reduce((a, b) => a + b.length, 0);
  const once = () => {
    let ok = 0;
    for (const b of bufs) if (parse(b)) ok++;
    if (ok !== files.length) throw new Error(`${lib}: only ${ok}/${files.length} parsed with a SOPInstanceUID`);
  };
  for (const b of bufs.slice(0, 100)) parse(b); // warm-up, as the shared anchor script
  // calibration (untimed): one pass over the list tells how many repetitions make a pass of >= PASS_SECONDS
  t0 = process.hrtime.bigint();
  once();
  const calS = Number(process.hrtime.bigint() - t0) / 1e9;
  const reps = Math.max(1, Math.ceil(PASS_SECONDS / Math.max(calS, 1e-6)));
  const passS = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < PASSES; i++) {
    t0 = process.hrtime.bigint();
    for (let r = 0; r < reps; r++) once();
    passS.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const cpu = process.cpuUsage(cpu0);
  const s = passS.reduce((a, b) => a + b, 0);
  const best = Math.min(...passS);
  const perPass = files.length * reps;
  console.log(JSON.stringify({ lib, mode, files: files.length, reps, passes: PASSES, bytes: bytesPerList, s: +s.toFixed(4),
    filesPerS: +(perPass / best).toFixed(1), MBps: +(bytesPerList * reps / best / 1e6).toFixed(1),
    meanFilesPerS: +(perPass * PASSES / s).toFixed(1), cpuS: +((cpu.user + cpu.system) / 1e6).toFixed(4),
    passS: passS.map((x) => +x.toFixed(4)), readS: +readS.toFixed(4), sink: globalThis.sink }));
}

async function memoryCase(kase, file) {
  let keep;
  let check;
  if (kase === 'idle') {
    keep = await loadConduit();
    check = 'n/a';
  } else if (kase.startsWith('conduit')) {
    const c = await loadConduit();
    if (kase === 'conduit-readFile') keep = await c.readFile(file);
    else if (kase === 'conduit-readFile-inmem') keep = await c.readFile(file, { bulkDataThreshold: Infinity });
    else if (kase === 'conduit-parseBuffer') keep = c.parseBuffer(readFileSync(file));
    else throw new Error(`unknown case ${kase}`);
    const px = keep.dataSet.get(PIXEL_DATA);
    check = `${keep.dataSet.string(SOP_INSTANCE_UID)}; Pixel Data ${px.bulk ? `BulkData (${px.bulk.length} B in file)` : `${px.valueLength} B in memory`}`;
  } else if (kase === 'dicom-parser') {
    const dp = peerRequire()('dicom-parser');
    const b = readFileSync(file);
    keep = dp.parseDicom(new Uint8Array(b.buffer, b.byteOffset, b.length));
    check = keep.string('x00080018');
  } else if (kase === 'dcmjs') {
    const dcmjs = peerRequire()('dcmjs');
    dcmjs.log?.setLevel?.('error');
    const b = readFileSync(file);
    const ab = b.byteOffset === 0 && b.buffer.byteLength === b.length ? b.buffer : b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
    keep = dcmjs.data.DicomMessage.readFile(ab);
    check = keep.dict['00080018'].Value[0];
  } else throw new Error(`unknown case ${kase}`);
  const hwm = vmHWMKiB();
  const maxRSS = process.resourceUsage().maxRSS; // KiB
  globalThis.sink = keep;
  console.log(JSON.stringify({ case: kase, fileBytes: statSync(file).size, vmHWMKiB: hwm, maxRSSKiB: maxRSS, check }));
}

// ---------------------------------------------------------------------------------------------
// Orchestrator
// ---------------------------------------------------------------------------------------------

const log = (msg) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.name.endsWith('.dcm')) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

function ensurePrerequisites() {
  if (!existsSync(join(DIST, 'media', 'part10.js'))) {
    throw new Error(`${DIST}/media/part10.js missing: build first (cd ${ROOT} && npx tsc -p .)`);
  }
  if (!existsSync(join(CORPUS, 'ct')) || !existsSync(join(CORPUS, 'large', LARGE_FILE))) {
    throw new Error(`corpus missing in ${CORPUS}: /usr/bin/python3 ${join(HERE, 'gen-corpus.py')} ${CORPUS} (or bash bench/parse.sh)`);
  }
  const have = (name) => {
    try { return JSON.parse(readFileSync(join(NODE_DIR, 'node_modules', name, 'package.json'), 'utf8')).version; } catch { return undefined; }
  };
  if (Object.entries(PEERS).some(([n, v]) => have(n) !== v)) {
    log(`installing ${Object.entries(PEERS).map(([n, v]) => `${n}@${v}`).join(' ')} into ${NODE_DIR}`);
    mkdirSync(NODE_DIR, { recursive: true });
    execFileSync('npm', ['install', '--prefix', NODE_DIR, '--no-audit', '--no-fund', '--no-save',
      ...Object.entries(PEERS).map(([n, v]) => `${n}@${v}`)], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
}

function median(xs) {
  const a = [...xs].sort((x, y) => x - y);
  if (a.length === 0) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}
const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

function runChild(args, extraNodeArgs) {
  const r = spawnSync(process.execPath, [...extraNodeArgs, fileURLToPath(import.meta.url), ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`child ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop();
  return JSON.parse(line);
}

async function main() {
  ensurePrerequisites();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const dir = join(WORK, `parse-${stamp}`);
  mkdirSync(dir, { recursive: true });
  const sets = { ct: listFiles(join(CORPUS, 'ct')), small: listFiles(join(CORPUS, 'small')), large: listFiles(join(CORPUS, 'large')) };
  for (const [k, v] of Object.entries(sets)) writeFileSync(join(dir, `${k}.lst`), v.join('\n') + '\n');
  for (const v of Object.values(sets)) for (const f of v) readFileSync(f); // warm the page cache

  const allCells = { 'ct-full': ['ct', 'full'], 'ct-header': ['ct', 'header'], 'ct-decode': ['ct', 'decode'], small: ['small', 'full'], large: ['large', 'full'] };
  const want = (process.env.CELLS ?? 'ct-full,ct-header,ct-decode,small,large,memory').split(',');
  const libs = (process.env.LIBS ?? 'conduit,dicom-parser,dcmjs').split(',');
  const memCases = ['idle', 'conduit-readFile', 'conduit-readFile-inmem', 'conduit-parseBuffer', 'dicom-parser', 'dcmjs']
    .filter((c) => c === 'idle' || libs.some((l) => c.startsWith(l)));
  const cells = Object.keys(allCells).filter((c) => want.includes(c));
  const results = {}; // key `${cell}|${lib}` -> [json per run]
  const mem = {};     // case -> [json per run]
  const gitRev = (() => { try { return execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { return '?'; } })();
  log(`node ${process.version}, ${cpus().length} x ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, git ${gitRev} (+ working tree), RUNS=${RUNS}, results in ${dir}`);
  const load0 = loadavg()[0];
  log(`load at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  for (let run = 0; run < RUNS; run++) {
    for (const cell of cells) {
      const [set, mode] = allCells[cell];
      const order = libs.map((_, i) => libs[(i + run) % libs.length]); // rotate who goes first
      for (const lib of order) {
        const r = runChild(['--worker', lib, mode, join(dir, `${set}.lst`)], ['--max-old-space-size=8192']);
        r.run = run; r.cell = cell; r.load1 = loadavg()[0];
        (results[`${cell}|${lib}`] ??= []).push(r);
        appendFileSync(join(dir, 'speed.jsonl'), JSON.stringify(r) + '\n');
        log(`run ${run + 1}/${RUNS} ${cell} ${lib}: ${fmt(r.filesPerS)} files/s, ${fmt(r.MBps)} MB/s (fastest of ${r.passes} passes x ${r.reps} lists; mean ${fmt(r.meanFilesPerS)} files/s; load ${r.load1.toFixed(2)})`);
      }
    }
    if (want.includes('memory')) {
      const order = memCases.map((_, i) => memCases[(i + run) % memCases.length]);
      for (const kase of order) {
        const r = runChild(['--memory', kase, join(CORPUS, 'large', LARGE_FILE)], []);
        r.run = run;
        (mem[kase] ??= []).push(r);
        appendFileSync(join(dir, 'memory.jsonl'), JSON.stringify(r) + '\n');
        log(`run ${run + 1}/${RUNS} memory ${kase}: peak RSS ${fmt(r.vmHWMKiB / 1024)} MiB (${r.check})`);
      }
    }
  }

  // ---- report ----
  const lines = [];
  const out = (s = '') => lines.push(s);
  const med = (cell, lib, k) => median((results[`${cell}|${lib}`] ?? []).map((r) => r[k]));
  const range = (cell, lib, k) => {
    const v = (results[`${cell}|${lib}`] ?? []).map((r) => r[k]);
    return v.length ? `${fmt(Math.min(...v))}-${fmt(Math.max(...v))}` : '';
  };
  const loads = Object.values(results).flat().map((r) => r.load1);
  out(`Parse benchmark, ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${cpus().length} cores, RUNS=${RUNS}, median (min-max) over runs of each run's fastest pass; MB = 1e6 B`);
  out(`1-min load average during the run: ${fmt(Math.min(load0, ...loads), 2)}-${fmt(Math.max(load0, ...loads), 2)} (the machine may be shared: compare ratios, not absolute figures)`);
  out('');
  out('| cell | library | files/s (fastest pass) | MB/s (fastest pass) | files/s (mean of passes) |');
  out('| --- | --- | ---: | ---: | ---: |');
  for (const cell of cells) {
    for (const lib of libs) {
      if (!results[`${cell}|${lib}`]) continue;
      const label = cell === 'ct-decode' && lib === 'dcmjs' ? 'dcmjs (its parse decodes all)' : lib;
      out(`| ${cell} | ${label} | ${fmt(med(cell, lib, 'filesPerS'))} (${range(cell, lib, 'filesPerS')}) | ${fmt(med(cell, lib, 'MBps'))} (${range(cell, lib, 'MBps')}) | ${fmt(med(cell, lib, 'meanFilesPerS'))} (${range(cell, lib, 'meanFilesPerS')}) |`);
    }
  }
  if (want.includes('memory')) {
    out('');
    out(`Peak RSS (VmHWM), ${LARGE_FILE} (${fmt(statSync(join(CORPUS, 'large', LARGE_FILE)).size / 2 ** 20)} MiB), median (min-max) MiB:`);
    out('');
    out('| case | peak RSS MiB |');
    out('| --- | ---: |');
    for (const kase of memCases) {
      const v = (mem[kase] ?? []).map((r) => r.vmHWMKiB / 1024);
      if (v.length) out(`| ${kase} | ${fmt(median(v))} (${fmt(Math.min(...v))}-${fmt(Math.max(...v))}) |`);
    }
  }
  // ratios: of the medians, with the range of the per-round ratios (libraries interleaved in a round)
  const ratio = (cellA, libA, cellB, libB) => {
    const a = results[`${cellA}|${libA}`], b = results[`${cellB}|${libB}`];
    if (!a || !b) return undefined;
    const per = a.map((r, i) => r.filesPerS / b[i].filesPerS);
    return { r: med(cellA, libA, 'filesPerS') / med(cellB, libB, 'filesPerS'), lo: Math.min(...per), hi: Math.max(...per),
      mean: med(cellA, libA, 'meanFilesPerS') / med(cellB, libB, 'meanFilesPerS') };
  };
  const ratioLines = [];
  const addRatio = (label, x, goal) => {
    if (!x) return;
    const verdict = goal === undefined ? '' : x.r >= goal ? `  goal >= ${goal}x: MET` : `  goal >= ${goal}x: NOT MET`;
    ratioLines.push(`${label}: ${fmt(x.r, 2)}x (per-round ${fmt(x.lo, 2)}-${fmt(x.hi, 2)}; mean of passes ${fmt(x.mean, 2)}x)${verdict}`);
  };
  addRatio('ratio small files/s Conduit/dicom-parser', ratio('small', 'conduit', 'small', 'dicom-parser'));
  addRatio('ratio small files/s Conduit/dcmjs', ratio('small', 'conduit', 'small', 'dcmjs'));
  addRatio('ratio large files/s Conduit/dicom-parser', ratio('large', 'conduit', 'large', 'dicom-parser'));
  addRatio('ratio large files/s Conduit/dcmjs', ratio('large', 'conduit', 'large', 'dcmjs'));
  addRatio('ratio CT header-only files/s Conduit/dicom-parser', ratio('ct-header', 'conduit', 'ct-header', 'dicom-parser'));
  addRatio('ratio CT header-only files/s Conduit/dcmjs', ratio('ct-header', 'conduit', 'ct-header', 'dcmjs'));
  addRatio('ratio CT parse+decode-every-value files/s Conduit/dicom-parser (both decode all)', ratio('ct-decode', 'conduit', 'ct-decode', 'dicom-parser'));
  addRatio('ratio CT parse+decode-every-value files/s Conduit/dcmjs (dcmjs parse decodes all)', ratio('ct-decode', 'conduit', 'ct-decode', 'dcmjs'));
  addRatio('ratio CT full parse (lazy, every value decodable) files/s Conduit/dicom-parser', ratio('ct-full', 'conduit', 'ct-full', 'dicom-parser'), 1.0);
  addRatio('ratio CT full parse (lazy, every value decodable) files/s Conduit/dcmjs', ratio('ct-full', 'conduit', 'ct-full', 'dcmjs'), 10);
  if (mem['conduit-readFile'] && mem.idle) {
    const m = (k) => median((mem[k] ?? []).map((r) => r.vmHWMKiB / 1024));
    const parts = [`Conduit readFile ${fmt(m('conduit-readFile'))} MiB (idle ${fmt(m('idle'))}, +${fmt(m('conduit-readFile') - m('idle'))})`,
      `whole file in memory: readFile(Infinity) ${fmt(m('conduit-readFile-inmem'))}, parseBuffer ${fmt(m('conduit-parseBuffer'))}`];
    if (mem['dicom-parser']) parts.push(`dicom-parser ${fmt(m('dicom-parser'))}`);
    if (mem.dcmjs) parts.push(`dcmjs ${fmt(m('dcmjs'))}`);
    ratioLines.push(`memory, peak RSS parsing the ${LARGE_FILE.replace('.dcm', '')} (200 MiB): ${parts.join('; ')} MiB`);
  }
  out('');
  for (const l of ratioLines) out(l);
  const text = lines.join('\n');
  writeFileSync(join(dir, 'summary.md'), text + '\n');
  console.log(text);
}

const [, , cmd, ...rest] = process.argv;
if (cmd === '--worker') await worker(...rest);
else if (cmd === '--memory') await memoryCase(...rest);
else await main();
