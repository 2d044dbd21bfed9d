#!/usr/bin/env node
/**
 * Diagnostic, not a benchmark against a peer: Conduit's DICOMweb app in this process, on
 * 127.0.0.1:PORT, taking the bodies from bench/dicomweb/stow-client.mjs (PAR at a time, in another
 * process); prints instances/s, the CPU of both (server: user + system of this process), and:
 *   ARCHIVE unset   an archive that only reads each part's bytes and stores nothing: what is
 *                   measured is the HTTP server, the multipart parser and the response (the part of
 *                   a STOW-RS that the storage work does not touch)
 *   ARCHIVE=DIR     the real archive of `conduit serve` (SQLite index + files, fsync) in DIR (made
 *                   empty first): also the index's group commits (transactions, writes, largest)
 *                   and the median store phases (received -> parsed -> readable -> indexed / durable)
 * COLLECT_EVERY: the app's collectGarbageEvery (default 4 MiB; 0 = no forced scavenges).
 *
 *   npx tsc -p . && node bench/dicomweb/stow-diagnostic.mjs PORT PAR BODY...
 */
import { spawn } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { createDicomWebApp } = await import(join(here, '../../dist/src/dicomweb/app.js'));
const [portText, par, ...bodies] = process.argv.slice(2);
if (!portText || !par || bodies.length === 0) {
  console.error('usage: stow-diagnostic.mjs PORT PAR BODY...');
  process.exit(2);
}
let parts = 0;
let bytes = 0;
let archive = {
  async storeInstance(input) {
    for await (const chunk of input.part10) bytes += chunk.length;
    parts++;
    return { status: 'inserted', sopInstanceUid: `1.2.3.${parts}`, blobKey: `k${parts}`, size: 0, warnings: [] };
  },
};
const traces = [];
if (process.env.ARCHIVE) {
  const storage = await import(join(here, '../../dist/src/storage/index.js'));
  const { STORE_CHANNEL } = await import(join(here, '../../dist/src/storage/archive-store.js'));
  rmSync(process.env.ARCHIVE, { recursive: true, force: true });
  mkdirSync(process.env.ARCHIVE, { recursive: true });
  archive = new storage.ArchiveStore({
    index: new storage.SqliteIndexStore({ path: join(process.env.ARCHIVE, 'index.sqlite') }),
    blobs: new storage.FilesystemBlobStore({ root: join(process.env.ARCHIVE, 'blobs') }),
  });
  await archive.startupCheck();
  subscribe(STORE_CHANNEL, (t) => { traces.push(t.timing); parts++; });
}
const app = createDicomWebApp({ archive, ...(process.env.COLLECT_EVERY ? { collectGarbageEvery: Number(process.env.COLLECT_EVERY) } : {}) });
await app.listen({ port: Number(portText), host: '127.0.0.1' });
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const client = spawn('/usr/bin/time', ['-f', '%U %S', process.execPath, join(here, 'stow-client.mjs'), `http://127.0.0.1:${portText}/dicom-web`, par, ...bodies], { stdio: ['ignore', 'inherit', 'pipe'] });
let err = '';
client.stderr.on('data', (c) => { err += c; });
const code = await new Promise((resolve) => client.on('exit', resolve));
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
await app.close();
const [u, s] = err.trim().split('\n').pop().split(' ').map(Number);
if (code !== 0) {
  console.error(err);
  process.exit(1);
}
const serverCpu = (cpu.user + cpu.system) / 1e6;
if (process.env.ARCHIVE) {
  const median = (xs) => { const a = xs.filter(Number.isFinite).sort((x, y) => x - y); return a.length ? a[Math.floor(a.length / 2)] : NaN; };
  const phase = (from, to) => median(traces.map((t) => t[to] - t[from])).toFixed(2);
  const c = archive.index.commitStats;
  console.log(`index commits: ${c.batches} transactions for ${c.writes} writes (largest ${c.largestBatch}); store phases, median ms: start->received ${phase('start', 'received')}, received->parsed ${phase('received', 'parsed')}, parsed->readable ${phase('parsed', 'readable')}, received->indexed ${phase('received', 'indexed')}, received->durable ${phase('received', 'durable')}, received->end ${phase('received', 'end')}`);
  await archive.close();
  rmSync(process.env.ARCHIVE, { recursive: true, force: true });
}
console.log(`${parts} parts${bytes ? `, ${(bytes / 1e6).toFixed(0)} MB` : ''} in ${seconds.toFixed(2)} s: ${(parts / seconds).toFixed(0)} parts/s; server CPU ${serverCpu.toFixed(2)} s (${(serverCpu * 1000 / parts).toFixed(3)} ms/part); client CPU ${(u + s).toFixed(2)} s (${((u + s) * 1000 / parts).toFixed(3)} ms/part); load ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
