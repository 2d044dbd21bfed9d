#!/usr/bin/env node
/**
 * Stand-in for `conduit listen` (used by bench/network.sh until the CLI exists, or with
 * CONDUIT_VIA=lib): a storage SCP on Conduit's public network API that writes every received
 * object as a Part 10 file with writeReceivedObject (temporary file, fsync, rename).
 *
 *   node bench/net/listen.mjs --port N --out DIR [--no-fsync] [--aet AE] [--max-pdu BYTES]
 *
 * Prints "listening on PORT" once bound; on SIGTERM/SIGINT it closes (aborting open associations),
 * prints "received N objects, B bytes, F failures" on stderr and exits.
 */
import { mkdirSync } from 'node:fs';
import { DicomServer } from '../../dist/src/ae/index.js';
import { writeReceivedObject } from '../../dist/src/services/storage/part10-sink.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const port = Number(opt('--port', '0'));
const out = opt('--out');
const aeTitle = opt('--aet', 'CONDUIT');
const maxPduLength = opt('--max-pdu') !== undefined ? Number(opt('--max-pdu')) : undefined;
const fsync = !args.includes('--no-fsync');
if (!out) {
  process.stderr.write('usage: listen.mjs --port N --out DIR [--no-fsync] [--aet AE] [--max-pdu BYTES]\n');
  process.exit(2);
}
mkdirSync(out, { recursive: true });

let objects = 0;
let bytes = 0;
let failures = 0;
const server = new DicomServer({
  aeTitle,
  port,
  host: '127.0.0.1',
  ...(maxPduLength !== undefined ? { maxPduLength } : {}),
  handlers: {
    async store(req) {
      try {
        const r = await writeReceivedObject(
          out,
          { sopClassUid: req.sopClassUid, sopInstanceUid: req.sopInstanceUid, transferSyntaxUid: req.transferSyntaxUid, sourceAet: req.association.callingAeTitle },
          req.dataSet,
          { fsync },
        );
        objects++;
        bytes += r.bytes;
      } catch (err) {
        failures++;
        throw err;
      }
    },
  },
});
server.on('handlerError', (err) => process.stderr.write(`handler error: ${err?.stack ?? err}\n`));
const addr = await server.listen();
process.stdout.write(`listening on ${addr.port}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.close({ abort: true }).catch(() => undefined);
  process.stderr.write(`received ${objects} objects, ${bytes} bytes, ${failures} failures\n`);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
