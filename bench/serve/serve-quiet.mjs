#!/usr/bin/env node
/**
 * `conduit serve` for bench/serve.sh's 1,000,000-instance cell: the same startServer() as the CLI,
 * with the archive's startup check's report on missing blobs summed up in one line. The synthetic
 * instances of bench/index-scale.mjs are index rows without blobs, so the check counts each as a
 * missing blob (and the CLI logs the count and the first ten). Prints "listening on port N" first,
 * like the CLI's line.
 *
 *   node bench/serve/serve-quiet.mjs --data DIR --port N [--aet CONDUIT]
 */
import { loadConfig } from '../../dist/src/server/config.js';
import { startServer } from '../../dist/src/server/serve.js';

const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const config = loadConfig({ flags: { dataDir: arg('--data'), dimsePort: Number(arg('--port', '0')), httpPort: 0, host: '127.0.0.1', aeTitle: arg('--aet', 'CONDUIT') }, env: {} });
let missing = 0;
const t0 = performance.now();
const server = await startServer(config, (level, message) => {
  const count = /^(\d+) indexed instances have lost their stored object/.exec(message);
  if (count) missing = Number(count[1]);
  else if (!/has lost its stored object/.test(message) && level !== 'info') process.stderr.write(`${level} ${message}\n`);
});
process.stderr.write(`startup check: ${missing} index entries without a blob (the synthetic ones), ${((performance.now() - t0) / 1000).toFixed(1)} s to start\n`);
process.stdout.write(`listening on port ${server.dimsePort}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
