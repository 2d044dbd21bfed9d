#!/usr/bin/env node
/**
 * A lean STOW-RS client for bench/dicomweb.sh (STOW_CLIENTS=node, the default): POSTs pre-built multipart bodies
 * (bench/dicomweb/make-stow.mjs) to URL/studies, PAR requests at a time, from one process, over
 * keep-alive connections, each body streamed from its file in 1 MiB reads; checks every response
 * (HTTP 200, no Failed SOP Sequence 0008,1198) and exits 1 if one fails.
 *
 *   node bench/dicomweb/stow-client.mjs URL PAR BODY...
 *
 * Why: the curl client (a shell, curl and jq started per body, curl reading the 26 MB body into
 * memory before sending it) costs ~1.3 ms of CPU per instance on this 2-core machine, a third of
 * what the servers spend: both servers were measured against their client's share of the CPUs.
 * This one gives both servers the same requests for a fraction of it (docs/benchmarks.md).
 */
import { createReadStream, statSync } from 'node:fs';
import { Agent, request } from 'node:http';

const [url, parText, ...bodies] = process.argv.slice(2);
const par = Number(parText);
if (!url || !(par >= 1) || bodies.length === 0) {
  console.error('usage: stow-client.mjs URL PAR BODY...');
  process.exit(2);
}
const agent = new Agent({ keepAlive: true, maxSockets: par });
const target = new URL(`${url}/studies`);

function post(path) {
  return new Promise((resolve, reject) => {
    const req = request(target, {
      agent,
      method: 'POST',
      headers: {
        'Content-Type': 'multipart/related; type="application/dicom"; boundary=DICOMTSBENCHBOUNDARY',
        Accept: 'application/dicom+json',
        'Content-Length': statSync(path).size,
      },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`${path}: HTTP ${res.statusCode} ${text.slice(0, 300)}`));
        const failed = JSON.parse(text)['00081198']?.Value ?? [];
        if (failed.length) return reject(new Error(`${path}: ${failed.length} instances failed`));
        resolve();
      });
    });
    req.setNoDelay(true);
    req.on('error', reject);
    const file = createReadStream(path, { highWaterMark: 1 << 20 });
    file.on('error', (e) => req.destroy(e));
    file.pipe(req);
  });
}

let next = 0;
async function worker() {
  while (next < bodies.length) await post(bodies[next++]);
}
try {
  await Promise.all(Array.from({ length: Math.min(par, bodies.length) }, worker));
  agent.destroy();
} catch (error) {
  console.error(`STOW failed: ${error.message}`);
  process.exit(1);
}
