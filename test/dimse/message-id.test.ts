/**
 * Message ID allocation (PS3.7 §9.3.1.1): 1..65535, wrapping, never an ID still outstanding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DicomError } from '../../src/core/dicom-error.js';
import { isValidMessageId, MAX_MESSAGE_ID, MessageIdAllocator, nextMessageId } from '../../src/dimse/message-id.js';

test('IDs run 1..65535 and wrap to 1', () => {
  assert.equal(nextMessageId(1), 2);
  assert.equal(nextMessageId(65534), 65535);
  assert.equal(nextMessageId(65535), 1);
  assert.equal(nextMessageId(0), 1);
  assert.equal(isValidMessageId(0), false);
  assert.equal(isValidMessageId(1), true);
  assert.equal(isValidMessageId(65535), true);
  assert.equal(isValidMessageId(65536), false);
  assert.equal(isValidMessageId(2.5), false);
});

test('the allocator hands out IDs in order, wraps, and skips those still outstanding', () => {
  const ids = new MessageIdAllocator({ first: 65534 });
  assert.equal(ids.allocate(), 65534);
  assert.equal(ids.allocate(), 65535);
  assert.equal(ids.allocate(), 1);
  assert.equal(ids.outstanding, 3);
  assert.equal(ids.isOutstanding(65535), true);
  assert.equal(ids.release(65535), true);
  assert.equal(ids.release(65535), false);
  assert.equal(ids.isOutstanding(65535), false);
  const fresh = new MessageIdAllocator();
  assert.equal(fresh.allocate(), 1);
  assert.equal(fresh.allocate(), 2);
  fresh.release(2);
  assert.equal(fresh.allocate(), 3, 'does not reuse at once');
});

test('an outstanding ID is skipped after a wrap; all 65535 outstanding is an error', () => {
  const ids = new MessageIdAllocator();
  const first = ids.allocate();
  for (let i = 2; i <= MAX_MESSAGE_ID; i++) ids.release(ids.allocate());
  assert.equal(ids.allocate(), 2, 'ID 1 is still outstanding');
  for (let i = 3; i <= MAX_MESSAGE_ID; i++) ids.allocate();
  assert.equal(ids.outstanding, MAX_MESSAGE_ID);
  assert.throws(() => ids.allocate(), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_DIMSE_MESSAGE_IDS_EXHAUSTED');
  ids.release(first);
  assert.equal(ids.allocate(), 1);
  assert.throws(() => new MessageIdAllocator({ first: 0 }), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_INVALID_ARGUMENT');
});
