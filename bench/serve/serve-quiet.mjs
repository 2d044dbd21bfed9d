#!/usr/bin/env node
/**
 * `conduit serve` for bench/serve.sh's 1,000,000-instance cell: the same startServer() as the CLI,
 * with the archive's startup check's per-instance lines summed up. The synthetic instances of
 * bench/index-scale.mjs are index rows without blobs, so the check reports each as a missing blob;
 * the CLI would print a million lines. Prints "listening on port N" first, like the CLI's line.
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
  if (/has lost its stored object/.test(message)) missing++;
  else if (level !== 'info') process.stderr.write(`${level} ${message}\n`);
});
process.stderr.write(`startup check: ${missing} index entries without a blob (the synthetic ones), ${((performance.now() - t0) / 1000).toFixed(1)} s to start\n`);
process.stdout.write(`listening on port ${server.dimsePort}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
