/**
 * `conduit listen --idle-timeout`: a requestor that associates and then sends nothing is aborted
 * (A-ABORT) and the association's line on stderr says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PduType } from '../../src/upper-layer/pdu/pdu-type.js';
import { encodeAAssociateRq } from '../../src/upper-layer/pdu/a-associate-rq.js';
import { startConduitListen } from '../helpers/network.js';
import { sampleRq } from '../upper-layer/fixtures.js';
import { RawPeer } from '../upper-layer/wire-helpers.js';

test('conduit listen --idle-timeout 0.5: a silent requestor is aborted, and stderr says why', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'conduit-listen-idle-'));
  const { proc, port } = await startConduitListen(out, ['--idle-timeout', '0.5']);
  t.after(async () => {
    await proc.stop();
    rmSync(out, { recursive: true, force: true });
  });
  const peer = await RawPeer.connect(port);
  peer.send(encodeAAssociateRq(sampleRq()));
  assert.equal((await peer.nextPdu()).type, PduType.AAssociateAc);
  assert.equal((await peer.nextPdu(10_000)).type, PduType.AAbort);
  peer.destroy();
  await proc.waitForStderr(/association 1: aborted after 0 objects: nothing received from the peer for 500 ms/, 10_000);
});
