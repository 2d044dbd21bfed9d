#!/usr/bin/env node
/**
 * Diagnostic, not a benchmark against a peer: the STOW-RS route of Conduit's DICOMweb app with an
 * archive that only reads each part's bytes and stores nothing, so what is measured is the HTTP
 * server, the multipart parser and the response (the part of a STOW-RS the storage work does not
 * touch). Starts the app in this process on 127.0.0.1:PORT, POSTs the bodies with
 * bench/dicomweb/stow-client.mjs (PAR at a time) and prints instances/s and the CPU of both.
 *
 *   npx tsc -p . && node bench/dicomweb/stow-http-only.mjs PORT PAR BODY...
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { createDicomWebApp } = await import(join(here, '../../dist/src/dicomweb/app.js'));
const [portText, par, ...bodies] = process.argv.slice(2);
if (!portText || !par || bodies.length === 0) {
  console.error('usage: stow-http-only.mjs PORT PAR BODY...');
  process.exit(2);
}
let parts = 0;
let bytes = 0;
const archive = {
  async storeInstance(input) {
    for await (const chunk of input.part10) bytes += chunk.length;
    parts++;
    return { status: 'inserted', sopInstanceUid: `1.2.3.${parts}`, blobKey: `k${parts}`, size: 0, warnings: [] };
  },
};
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
console.log(`${parts} parts, ${(bytes / 1e6).toFixed(0)} MB in ${seconds.toFixed(2)} s: ${(parts / seconds).toFixed(0)} parts/s; server CPU ${serverCpu.toFixed(2)} s (${(serverCpu * 1000 / parts).toFixed(3)} ms/part); client CPU ${(u + s).toFixed(2)} s (${((u + s) * 1000 / parts).toFixed(3)} ms/part); load ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
