import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDicomWebApp } from '../../src/dicomweb/app.js';
import type { Query, QueryLevel } from '../../src/query/query.js';
import type { EntityRecord } from '../../src/query/record.js';
import type { ArchiveStore } from '../../src/storage/archive-store.js';
import type { FindOptions } from '../../src/storage/ports.js';
import { peer } from '../helpers/peers.js';
import { loadedApp, multipartParts } from './helpers.js';

const skip = peer('pydicom');
const RESULTS = 600;
const GATE_AFTER = 400;

/**
 * The archive, its index's find() yielding the real study records over and over (RESULTS in all)
 * and stopping after GATE_AFTER of them until the gate opens: a server that gathered the whole
 * result before writing would never answer while the gate is closed.
 */
function gatedArchive(archive: ArchiveStore) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const state = { yielded: 0, finished: false, open };
  async function* find(query: Query, level: QueryLevel, options: FindOptions = {}): AsyncGenerator<EntityRecord> {
    if (options.limit === 1) {
      // The server's probe for a match past its maximum.
      yield* archive.index.find(query, level, options);
      return;
    }
    const real: EntityRecord[] = [];
    for await (const r of archive.index.find(query, level, {})) real.push(r);
    assert.ok(real.length > 0);
    for (let i = 0; i < RESULTS; i++) {
      if (i === GATE_AFTER) await gate;
      state.yielded++;
      yield real[i % real.length]!;
    }
    state.finished = true;
  }
  const bind = <T extends object>(target: T, override: Record<string | symbol, unknown>) =>
    new Proxy(target, { get: (t, p) => (p in override ? override[p] : typeof Reflect.get(t, p) === 'function' ? (Reflect.get(t, p) as (...a: unknown[]) => unknown).bind(t) : Reflect.get(t, p)) });
  const index = bind(archive.index, { find });
  return { archive: bind(archive, { index }) as ArchiveStore, state };
}

for (const [name, accept] of [['JSON', 'application/dicom+json'], ['XML', 'multipart/related; type="application/dicom+xml"']] as const) {
  test(`QIDO-RS streams a large ${name} result: the first bytes arrive while the search still runs`, { skip }, async (t) => {
    const { archive } = await loadedApp(t);
    const gated = gatedArchive(archive);
    const app = createDicomWebApp({ archive: gated.archive, publicUrl: 'http://conduit.test/dicom-web' });
    t.after(() => app.close());
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    // A failsafe, not a wait: a server that buffers would otherwise leave the test hanging.
    const failsafe = setTimeout(() => gated.state.open(), 20_000);
    t.after(() => clearTimeout(failsafe));
    const seen = await new Promise<{ status: number; type: string; firstWhileRunning: boolean; yieldedAtFirst: number; body: Buffer }>((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', path: '/dicom-web/studies', headers: { accept } }, (res) => {
        const chunks: Buffer[] = [];
        let firstWhileRunning: boolean | undefined;
        let yieldedAtFirst = 0;
        res.on('data', (c: Buffer) => {
          if (firstWhileRunning === undefined) {
            firstWhileRunning = !gated.state.finished;
            yieldedAtFirst = gated.state.yielded;
            gated.state.open();
          }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type']!, firstWhileRunning: firstWhileRunning!, yieldedAtFirst, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(seen.status, 200);
    assert.ok(seen.firstWhileRunning, 'the first bytes came only after the search had finished');
    assert.ok(seen.yieldedAtFirst <= GATE_AFTER, `${seen.yieldedAtFirst} results read before the first bytes`);
    assert.ok(gated.state.finished);
    const count = name === 'JSON' ? (JSON.parse(seen.body.toString('utf8')) as unknown[]).length : (await multipartParts(seen.body, seen.type)).length;
    assert.equal(count, RESULTS);
  });
}
