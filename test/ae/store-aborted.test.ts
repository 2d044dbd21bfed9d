/**
 * A C-STORE whose association the peer aborts while the data set is still being sent (a receiver
 * shutting down, conduit listen's second Ctrl-C): client.store rejects with the A-ABORT the peer
 * sent (its source and reason), and stops reading the source, rather than failing on the next
 * P-DATA with a state-machine error ("P-DATA request is not possible in Sta1").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '../../src/ae/index.js';
import { AssociationListener, type Association } from '../../src/upper-layer/index.js';
import { CT_IMAGE_STORAGE, EXPLICIT_LE, ctDataSet, dataSetBytesIn, withTimeout } from './helpers.js';

test('the peer aborts mid-data-set: store rejects with ERR_DICOM_ASSOCIATION_ABORTED (source, reason) and stops reading the source', async (t) => {
  const listener = await AssociationListener.listen({
    host: '127.0.0.1', port: 0,
    policy: { abstractSyntaxes: { [CT_IMAGE_STORAGE]: { transferSyntaxes: [EXPLICIT_LE] } }, maximumLength: 16 * 1024, implementationClassUid: '1.2.3.4' },
  });
  t.after(() => listener.close({ abort: true }));
  listener.on('association', (association: Association) => {
    // Source 0 (service-user), as conduit listen sends it when told to stop at once.
    association.once('pdata', () => association.abort(0, 0));
  });
  const ds = ctDataSet();
  ds.delete(0x7fe00010);
  const head = dataSetBytesIn(ds, EXPLICIT_LE);
  const CHUNKS = 200;
  const CHUNK = 32 * 1024;
  const pixelHeader = Buffer.alloc(12);
  pixelHeader.writeUInt16LE(0x7fe0, 0);
  pixelHeader.writeUInt16LE(0x0010, 2);
  pixelHeader.write('OB', 4, 'latin1');
  pixelHeader.writeUInt32LE(CHUNKS * CHUNK, 8);
  let pulled = 0;
  async function* source(): AsyncGenerator<Uint8Array> {
    yield head;
    yield pixelHeader;
    for (; pulled < CHUNKS; pulled++) {
      await sleep(5); // a slow source: the abort arrives while the data set is being sent
      yield new Uint8Array(CHUNK);
    }
  }
  const client = await connect({ host: '127.0.0.1', port: listener.address().port, presentationContexts: [{ abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [EXPLICIT_LE] }] });
  await assert.rejects(withTimeout(client.store({ stream: source(), sopClassUid: CT_IMAGE_STORAGE, sopInstanceUid: ds.string('SOPInstanceUID')!, transferSyntaxUid: EXPLICIT_LE }), 10_000, 'the store'), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'ERR_DICOM_ASSOCIATION_ABORTED', e.message);
    assert.match(e.message, /source 0/);
    return true;
  });
  assert.ok(pulled < CHUNKS / 2, `the source was read on after the abort (${pulled} of ${CHUNKS} chunks)`);
});
