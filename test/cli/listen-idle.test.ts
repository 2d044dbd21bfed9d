/**
 * `conduit listen --idle-timeout`: a requestor that associates and then sends nothing is aborted
 * (A-ABORT) and the association's line on stderr says why; a C-STORE stalled mid-data-set leaves
 * no file behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/ae/index.js';
import { PduType } from '../../src/upper-layer/pdu/pdu-type.js';
import { encodeAAssociateRq } from '../../src/upper-layer/pdu/a-associate-rq.js';
import { startConduitListen } from '../helpers/network.js';
import { sampleRq } from '../upper-layer/fixtures.js';
import { RawPeer } from '../upper-layer/wire-helpers.js';
import { CT_IMAGE_STORAGE, EXPLICIT_LE, ctDataSet, dataSetBytesIn, pixelDataHeader, proposalsForCt, withTimeout } from '../ae/helpers.js';

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

test('conduit listen --idle-timeout 0.5: a C-STORE stalled mid-data-set is aborted and leaves no file', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'conduit-listen-idle-'));
  const { proc, port } = await startConduitListen(out, ['--idle-timeout', '0.5', '--max-pdu', '16384']);
  t.after(async () => {
    await proc.stop();
    rmSync(out, { recursive: true, force: true });
  });
  const ds = ctDataSet();
  ds.delete(0x7fe00010);
  const logged = proc.waitForStderr(/association 1: aborted after 0 objects: nothing received from the peer for 500 ms/, 10_000);
  async function* stream(): AsyncGenerator<Uint8Array> {
    yield dataSetBytesIn(ds, EXPLICIT_LE);
    yield pixelDataHeader(4 * 64 * 1024);
    yield new Uint8Array(64 * 1024);
    await logged; // stalled until the listener has given up
    yield new Uint8Array(3 * 64 * 1024);
  }
  const client = await connect({ host: '127.0.0.1', port, presentationContexts: proposalsForCt() });
  await assert.rejects(withTimeout(client.store({ stream: stream(), sopClassUid: CT_IMAGE_STORAGE, sopInstanceUid: ds.string('SOPInstanceUID')!, transferSyntaxUid: EXPLICIT_LE }), 10_000, 'the stalled store'),
    { code: 'ERR_DICOM_ASSOCIATION_ABORTED' });
  // Stopped (its handlers finished): what it left in the output folder.
  await proc.stop();
  assert.deepEqual(readdirSync(out), []);
});
