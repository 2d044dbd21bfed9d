/**
 * `conduit serve`'s idle timeout: on by default (idleTimeoutSeconds 60, CONDUIT_IDLE_TIMEOUT,
 * 0 = never), and a modality that stalls in the middle of a C-STORE is aborted, named in the log,
 * and leaves nothing behind: no temporary file, no index entry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/ae/index.js';
import { loadConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/serve.js';
import { CT_IMAGE_STORAGE, EXPLICIT_LE, ctDataSet, dataSetBytesIn, deferred, pixelDataHeader, proposalsForCt, withTimeout } from '../ae/helpers.js';

test('idleTimeoutSeconds: 60 by default, from CONDUIT_IDLE_TIMEOUT or a file, 0 = never', () => {
  assert.equal(loadConfig({ env: {} }).idleTimeoutSeconds, 60);
  assert.equal(loadConfig({ env: { CONDUIT_IDLE_TIMEOUT: '0' } }).idleTimeoutSeconds, 0);
  assert.equal(loadConfig({ env: { CONDUIT_IDLE_TIMEOUT: '0' }, flags: { idleTimeoutSeconds: '15' } }).idleTimeoutSeconds, 15);
  assert.throws(() => loadConfig({ env: { CONDUIT_IDLE_TIMEOUT: '-1' } }), /idleTimeoutSeconds \(from CONDUIT_IDLE_TIMEOUT\): "-1" is not a non-negative integer/);
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

test('serve: a C-STORE stalled mid-data-set is aborted after idleTimeoutSeconds, logged with the peer, and nothing of it is kept', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'conduit-idle-'));
  const aborted = deferred<string>();
  const lines: string[] = [];
  const config = loadConfig({ flags: { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir, idleTimeoutSeconds: 1, maxPduLength: 16 * 1024 }, env: {} });
  const server = await startServer(config, (level, message) => {
    lines.push(`${level}: ${message}`);
    if (/aborted/.test(message)) aborted.resolve(`${level}: ${message}`);
  });
  try {
    const ds = ctDataSet();
    ds.delete(0x7fe00010);
    const pixelHeader = pixelDataHeader(4 * 64 * 1024);
    async function* stream(): AsyncGenerator<Uint8Array> {
      yield dataSetBytesIn(ds, EXPLICIT_LE);
      yield pixelHeader;
      yield new Uint8Array(64 * 1024);
      // Stalled: nothing more until the server has given up.
      await aborted.promise;
      yield new Uint8Array(3 * 64 * 1024);
    }
    const client = await connect({ host: '127.0.0.1', port: server.dimsePort, callingAeTitle: 'STALLER', presentationContexts: proposalsForCt() });
    const uid = ds.string('SOPInstanceUID')!;
    await assert.rejects(
      withTimeout(client.store({ stream: stream(), sopClassUid: CT_IMAGE_STORAGE, sopInstanceUid: uid, transferSyntaxUid: EXPLICIT_LE }), 10_000, 'the stalled store'),
      { code: 'ERR_DICOM_ASSOCIATION_ABORTED' },
    );
    assert.match(await aborted.promise, /^warn: association from STALLER \(127\.0\.0\.1\) aborted: nothing received from the peer for 1000 ms/);
    await assert.rejects(server.archive.openInstance(uid), { code: 'ERR_DICOM_STORAGE_NOT_FOUND' });
    await server.close();
    const left = filesUnder(join(dataDir, 'blobs'));
    assert.deepEqual(left, [], `files left of the stalled C-STORE: ${left.join(', ')}`);
  } finally {
    await server.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
