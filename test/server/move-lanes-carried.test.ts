/**
 * MoveLanes counts the associations that carried a sub-operation apart from those opened: one
 * established after the work ran out carried none, and the C-MOVE's outcome line says
 * "over N associations" from the former. The instance here has no accepted presentation context,
 * so each sub-operation fails at once without touching the network or the archive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AssociationClient } from '../../src/ae/index.js';
import { MoveLanes } from '../../src/server/dimse/move-lanes.js';
import type { QueryRetrieveContext } from '../../src/server/dimse/context.js';
import type { StoredInstance } from '../../src/storage/ports.js';

function client(): AssociationClient {
  const association = { once: () => association, acceptedPresentationContexts: () => [] };
  return { association, dimse: {}, release: async () => undefined, abort: () => undefined } as unknown as AssociationClient;
}

const instance = {
  sopInstanceUid: '1.2.3.4', sopClassUid: '1.2.840.10008.5.1.4.1.1.2', transferSyntaxUid: '1.2.840.10008.1.2.1', size: 1000, dataSetOffset: 200,
} as unknown as StoredInstance;

test('MoveLanes: an association that took no sub-operation is opened but not counted as carrying', async () => {
  const lanes = new MoveLanes({ archive: {} } as unknown as QueryRetrieveContext, { originator: { aeTitle: 'MOVESCU', messageId: 1 }, peerName: 'DEST', onFailure: () => undefined, cancelled: new AbortController().signal });
  const first = lanes.lane(client());
  const late = lanes.lane(client());
  const result = await first.store(instance);
  assert.notEqual(result.status, 0x0000, 'no accepted context: the sub-operation fails');
  await first.store(instance);
  first.done?.();
  late.done?.();
  assert.equal(lanes.opened, 2);
  assert.equal(lanes.carried, 1);
});
