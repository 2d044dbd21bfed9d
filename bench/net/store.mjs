#!/usr/bin/env node
/**
 * Stand-in for `conduit store` (used by bench/network.sh until the CLI exists, or with
 * CONDUIT_VIA=lib): sends files over one association with Conduit's public network API.
 *
 *   node bench/net/store.mjs [--aet AE] [--aec AE] [--max-pdu BYTES] HOST PORT PATH...
 *
 * PATHs are files or folders (walked recursively, sorted). Like storescu: every file's header is
 * read first (describeFile) to build the proposals (proposalsFor), then one association, then one
 * C-STORE per file (client.store(path), which streams the data set from the file). Exit status 1 if
 * any store failed. Prints "sent N ok, F failed" on stderr.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect, proposalsFor } from '../../dist/src/ae/index.js';
import { describeFile } from '../../dist/src/ae/client.js'; // not (yet) re-exported by ae/index

const argv = process.argv.slice(2);
const flags = {};
const pos = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i].startsWith('--')) flags[argv[i]] = argv[++i];
  else pos.push(argv[i]);
}
const [host, portText, ...paths] = pos;
if (!host || !portText || paths.length === 0) {
  process.stderr.write('usage: store.mjs [--aet AE] [--aec AE] [--max-pdu BYTES] HOST PORT PATH...\n');
  process.exit(2);
}

function walk(p, acc) {
  if (statSync(p).isDirectory()) {
    for (const name of readdirSync(p).sort()) walk(join(p, name), acc);
  } else acc.push(p);
  return acc;
}
const files = paths.flatMap((p) => walk(p, []));
const pairs = [];
const seen = new Set();
for (const f of files) {
  const d = await describeFile(f);
  const key = `${d.sopClassUid} ${d.transferSyntaxUid}`;
  if (!seen.has(key)) {
    seen.add(key);
    pairs.push({ sopClassUid: d.sopClassUid, transferSyntaxUid: d.transferSyntaxUid });
  }
}
const client = await connect({
  host,
  port: Number(portText),
  callingAeTitle: flags['--aet'] ?? 'CONDUIT',
  calledAeTitle: flags['--aec'] ?? 'ANY-SCP',
  presentationContexts: proposalsFor(pairs),
  ...(flags['--max-pdu'] !== undefined ? { maxPduLength: Number(flags['--max-pdu']) } : {}),
});
let ok = 0;
let failed = 0;
for (const f of files) {
  try {
    const status = await client.store(f);
    if (status.isCompleted) ok++;
    else {
      failed++;
      process.stderr.write(`${f}: ${status.description}\n`);
    }
  } catch (err) {
    failed++;
    process.stderr.write(`${f}: ${err?.message ?? err}\n`);
  }
}
await client.release();
process.stderr.write(`sent ${ok} ok, ${failed} failed\n`);
process.exitCode = failed ? 1 : 0;
