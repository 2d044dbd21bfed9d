#!/usr/bin/env node
/**
 * `conduit serve` (the CLI's startServer) with the store path's phases recorded (not a test): each
 * C-STORE's chain from its command to its response, from the archive's diagnostics_channel
 * (conduit:storage:store, archive-store.ts) and the DIMSE one (conduit:dimse:message). On SIGTERM it
 * prints, in ms, the median / 90th percentile / mean of:
 *
 *   receive          C-STORE-RQ command received -> last byte of the data set taken by the archive
 *   parse            last byte -> index record built (parsed from the chunks kept in memory)
 *   readable         last byte -> blob whole under its key (written + renamed)
 *   indexed          last byte -> index commit and log flush done
 *   durable          last byte -> blob, its directory (and new directories) flushed
 *   stored           last byte -> storeInstance resolved (both)
 *   respond          stored -> C-STORE-RSP handed to the association
 *   peer             C-STORE-RSP sent -> next C-STORE-RQ on the same association (the SCU's turn)
 *
 * plus the process' CPU seconds (user, system) and the main thread's event loop utilisation over
 * the stores; the index's commits (conduit:storage:commit: writes per transaction, the wait before
 * it, the transaction, the log's flush after it); and each thread-pool file system call the store
 * path makes (open, writev, rename, fdatasync of a blob / of the log, fsync of a directory, close):
 * its time from the call to its callback, and how many pool calls were under way when it was made
 * (at UV_THREADPOOL_SIZE or more, it waited in the pool's queue). Commands and stores are matched
 * in order per association (one store at a time per association, as storescu sends). Used by
 * bench/serve.sh TRACE=1.
 *
 *   node bench/serve/serve-traced.mjs --data DIR --port N [--aet CONDUIT]
 */
import { subscribe } from 'node:diagnostics_channel';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../../dist/src/server/config.js';
import { startServer } from '../../dist/src/server/serve.js';

const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const config = loadConfig({ flags: { dataDir: arg('--data'), dimsePort: Number(arg('--port', '0')), httpPort: 0, host: '127.0.0.1', aeTitle: arg('--aet', 'CONDUIT') }, env: {} });

const phases = { receive: [], parse: [], readable: [], indexed: [], durable: [], stored: [], respond: [], peer: [] };
const commands = new Map(); // connectionId -> [command received times] waiting for their store
const lastResponse = new Map(); // connectionId -> time of the last C-STORE-RSP sent
const ended = []; // store end times waiting for their response
let first, last, cpu0, elu0, unconfirmed = 0, stores = 0;

subscribe('conduit:dimse:message', (m) => {
  const now = performance.now();
  if (m.type === 'C-STORE-RQ' && m.direction === 'received') {
    if (first === undefined) { first = now; cpu0 = process.cpuUsage(); elu0 = performance.eventLoopUtilization(); }
    const prev = lastResponse.get(m.connectionId);
    if (prev !== undefined) phases.peer.push(now - prev);
    (commands.get(m.connectionId) ?? commands.set(m.connectionId, []).get(m.connectionId)).push(now);
  } else if (m.type === 'C-STORE-RSP' && m.direction === 'sent') {
    lastResponse.set(m.connectionId, now);
    const end = ended.shift();
    if (end !== undefined) phases.respond.push(now - end);
    last = now;
  }
});
subscribe('conduit:storage:store', ({ timing, unconfirmed: u }) => {
  stores++;
  if (u) unconfirmed++;
  const t = timing;
  // The oldest command still waiting, of any association whose oldest command precedes this store.
  let best;
  for (const [id, list] of commands) if (list.length && list[0] <= t.start && (best === undefined || list[0] < commands.get(best)[0])) best = id;
  if (best !== undefined && t.received !== undefined) phases.receive.push(t.received - commands.get(best).shift());
  for (const [name, at] of [['parse', t.parsed], ['readable', t.readable], ['indexed', t.indexed], ['durable', t.durable], ['stored', t.end]]) {
    if (at !== undefined && t.received !== undefined) phases[name].push(at - t.received);
  }
  ended.push(t.end);
});

// The thread pool's file system calls, timed from the call to the callback.
const POOL = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
const calls = {};
let inflight = 0, queued = 0, submitted = 0;
const kinds = new Map(); // fd -> 'blob' | 'directory' (opened through fs.open), else the log
const wrap = (name, kindOf) => {
  const original = fs[name];
  fs[name] = function (...args) {
    const cb = args.pop();
    const t0 = performance.now();
    const kind = kindOf ? kindOf(args) : name;
    submitted++;
    if (inflight >= POOL) queued++;
    (calls[kind] ??= { times: [], busy: [] }).busy.push(inflight);
    inflight++;
    return original.call(this, ...args, function (err, ...rest) {
      inflight--;
      calls[kind].times.push(performance.now() - t0);
      if (name === 'open' && !err) kinds.set(rest[0], args[0].endsWith('.tmp') ? 'blob' : 'directory');
      return cb.call(this, err, ...rest);
    });
  };
};
wrap('open', (a) => (a[0].endsWith('.tmp') ? 'open' : 'open directory'));
wrap('writev');
wrap('rename');
wrap('close');
wrap('fdatasync', (a) => (kinds.get(a[0]) === 'blob' ? 'fdatasync blob' : 'fdatasync log'));
wrap('fsync', (a) => (kinds.get(a[0]) === 'directory' ? 'fsync directory' : 'fsync other'));
syncBuiltinESMExports();
const commits = { writes: [], waited: [], committed: [], flushed: [] };
subscribe('conduit:storage:commit', (c) => { for (const k of Object.keys(commits)) commits[k].push(c[k]); });

const server = await startServer(config, (level, message) => { if (level !== 'info') process.stderr.write(`${level} ${message}\n`); });
process.stdout.write(`listening on port ${server.dimsePort}\n`);

function stat(xs) {
  if (!xs.length) return 'n/a';
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `${q(0.5).toFixed(2)} / ${q(0.9).toFixed(2)} / ${(s.reduce((a, b) => a + b, 0) / s.length).toFixed(2)}`;
}

let walBytes;
const stop = () => void Promise.resolve().then(() => {
  walBytes = fs.statSync(`${config.dataDir}/index.sqlite-wal`, { throwIfNoEntry: false })?.size;
  return server.close();
}).then(() => {
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  const wall = (last - first) / 1000;
  const lines = [
    `traced ${stores} stores (${unconfirmed} indexed while their blob was flushed) in ${wall.toFixed(2)} s: ${(stores / wall).toFixed(0)} instances/s`,
    `CPU over the stores: user ${(cpu.user / 1e6).toFixed(2)} s, system ${(cpu.system / 1e6).toFixed(2)} s (${((cpu.user + cpu.system) / 1e3 / stores).toFixed(2)} ms per store); main thread busy ${(elu.utilization * 100).toFixed(0)}%`,
    'phase (ms): median / p90 / mean',
    ...Object.entries(phases).map(([k, v]) => `  ${k.padEnd(9)} ${stat(v)}`),
    `index commits: ${commits.writes.length} transactions, ${(commits.writes.reduce((a, b) => a + b, 0) / Math.max(1, commits.writes.length)).toFixed(2)} writes each (ms: median / p90 / mean)`,
    ...['waited', 'committed', 'flushed'].map((k) => `  ${k.padEnd(9)} ${stat(commits[k])}`),
    `  write-ahead log at the end: ${walBytes === undefined ? 'none' : `${(walBytes / 2 ** 20).toFixed(1)} MiB`}`,
    `  transactions over 2 ms (a checkpoint inside the COMMIT, or a large batch): ${commits.committed.filter((x) => x > 2).length}, ${commits.committed.filter((x) => x > 2).reduce((a, b) => a + b, 0).toFixed(0)} ms of the event loop in all; longest ${Math.max(0, ...commits.committed).toFixed(1)} ms`,
    `thread-pool calls (UV_THREADPOOL_SIZE ${POOL}): ${submitted}, ${queued} (${(100 * queued / Math.max(1, submitted)).toFixed(0)}%) made with ${POOL} or more under way; ms from call to callback, median / p90 / mean; calls under way when made, mean`,
    ...Object.entries(calls).map(([k, v]) => `  ${k.padEnd(16)} ${String(v.times.length).padStart(6)}  ${stat(v.times)}  ${(v.busy.reduce((a, b) => a + b, 0) / v.busy.length).toFixed(2)}`),
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exit(0);
});
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
