/**
 * C-MOVE from `conduit serve` (in this process) over several associations to DCMTK storescp as the
 * Move Destination (spawned asynchronously, TCP_NODELAY=1): with --fork (an association per child,
 * as the benchmark's destination) the instances are shared between two associations and each
 * arrives once; without --fork (storescp negotiates a second association only after the first has
 * ended) the move completes over one association, promptly, and storescp serves the next move.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, queryRetrieveProposals, type RetrieveProgress } from '../../src/ae/index.js';
import { readFile } from '../../src/media/part10.js';
import { loadConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { peer } from '../helpers/peers.js';
import { instancesIn, startOnFreePort, type Background } from '../helpers/network.js';
import { CT, ctSeries, logRecorder, storeInto } from '../server/retrieve-helpers.js';

const skip = peer('dcmtk');
const COUNT = 120;

let work: string;
let server: RunningServer;
const logs = logRecorder();
const logged = logs.lines;
const storescps: Record<'FORKING' | 'SINGLE', { proc: Background; port: number; out: string }> = {} as never;

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'conduit-dcmtk-move-associations-'));
  for (const [aet, fork] of [['FORKING', true], ['SINGLE', false]] as const) {
    const out = join(work, aet);
    mkdirSync(out);
    const s = await startOnFreePort(`storescp ${aet}`, 'storescp', (port) => ['-aet', aet, ...(fork ? ['--fork'] : []), '-od', out, String(port)]);
    storescps[aet] = { ...s, out };
  }
  server = await startServer(loadConfig({
    flags: {
      aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir: join(work, 'data'), moveAssociations: 2,
      peers: Object.entries(storescps).map(([aet, s]) => `${aet.toLowerCase()}=${aet}@127.0.0.1:${s.port}`),
    },
    env: {},
  }), logs.log);
  await storeInto(server, [], await ctSeries(COUNT));
});

after(async () => {
  await server?.close();
  for (const s of Object.values(storescps)) await s.proc.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** C-MOVE of the series to `destination`: the progress items, the last the final one. */
async function move(destination: string): Promise<RetrieveProgress[]> {
  const client = await connect({ host: '127.0.0.1', port: server.dimsePort, calledAeTitle: 'ARCHIVE', presentationContexts: queryRetrieveProposals(['MOVE']) });
  const series = (await readFile(CT)).dataSet;
  const out: RetrieveProgress[] = [];
  try {
    for await (const p of client.move({ StudyInstanceUID: series.string(0x0020000d)!, SeriesInstanceUID: series.string(0x0020000e)! }, { destination, level: 'SERIES' })) out.push(p);
  } finally {
    await client.release();
  }
  return out;
}

function assertDelivered(progress: readonly RetrieveProgress[], dir: string, received: Map<string, string>): void {
  const final = progress.at(-1)!;
  assert.equal(final.status.code, 0x0000, final.status.description);
  assert.deepEqual([final.completed, final.failed, final.warning], [COUNT, 0, 0]);
  for (const p of progress.slice(0, -1)) assert.equal(p.completed + p.failed + p.warning + p.remaining!, COUNT, 'Pending counts add up to the total');
  assert.equal(readdirSync(dir).length, COUNT, 'one file per instance');
  const expected = Array.from({ length: COUNT }, (_, i) => `1.2.826.0.1.3680043.8.498.77.${i + 1}`).sort();
  assert.deepEqual([...received.keys()].sort(), expected, 'each instance once');
}

test('storescp --fork as Move Destination: the instances go over two associations, each arrives once, counts consistent', { skip }, async () => {
  const progress = await move('FORKING');
  assertDelivered(progress, storescps.FORKING.out, await instancesIn(storescps.FORKING.out));
  assert.match(await logs.line(/to FORKING: status/), /completed 120, .* over 2 associations$/);
});

test('storescp without --fork: the second association is dropped, the move completes over one, and storescp serves the next move', { skip }, async () => {
  for (let round = 0; round < 2; round++) {
    rmSync(storescps.SINGLE.out, { recursive: true, force: true });
    mkdirSync(storescps.SINGLE.out);
    const progress = await move('SINGLE');
    assertDelivered(progress, storescps.SINGLE.out, await instancesIn(storescps.SINGLE.out));
    assert.match(await logs.line(/to SINGLE: status/, round + 1), /status 0000H, completed 120, warning 0, failed 0$/, 'over one association');
  }
  const dropped = logged.filter((l) => /a further association to SINGLE not opened \(not accepted before the sub-operations ended\)/.test(l));
  assert.equal(dropped.length, 2, logged.join('\n'));
});
