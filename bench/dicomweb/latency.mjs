#!/usr/bin/env node
/**
 * Latency of one GET repeated over one keep-alive connection (what `wrk -t1 -c1 --latency` gives,
 * for machines without wrk): requests one after the other for SECONDS (after WARMUP untimed ones),
 * each timed from the request to the end of its body.
 *   node bench/dicomweb/latency.mjs URL SECONDS [ACCEPT] [WARMUP]
 * Prints one line: "p50_ms p99_ms requests_per_s requests status".
 */
import { Agent, request } from 'node:http';

const [url, secondsText = '5', accept = 'application/dicom+json', warmupText = '20'] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const get = () => new Promise((resolve, reject) => {
  const t0 = process.hrtime.bigint();
  const req = request(url, { agent, headers: { Accept: accept } }, (res) => {
    res.on('data', () => undefined);
    res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.statusCode }));
    res.on('error', reject);
  });
  req.on('error', reject);
  req.end();
});
for (let i = 0; i < Number(warmupText); i++) await get();
const times = [];
let status = 0;
const start = process.hrtime.bigint();
const end = start + BigInt(Math.round(Number(secondsText) * 1e9));
while (process.hrtime.bigint() < end) {
  const r = await get();
  times.push(r.ms);
  status = r.status;
}
const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
times.sort((a, b) => a - b);
const at = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))];
console.log(`${at(50).toFixed(3)} ${at(99).toFixed(3)} ${(times.length / elapsed).toFixed(1)} ${times.length} ${status}`);
agent.destroy();
