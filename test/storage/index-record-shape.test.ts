import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../../src/data/transfer-syntax.js';
import { buildInstanceIndexRecord, recordReceived } from '../../src/storage/index-record.js';
import { instanceDataSet } from './helpers.js';

const ds = () => instanceDataSet({ SOPInstanceUID: '1.2.3.4', StudyInstanceUID: '1.2.3', SeriesInstanceUID: '1.2.3.1', PatientID: 'P1' });
const facts = { blobKey: 'abcd.1', size: 0, dataSetOffset: 132, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN, receivedAt: new Date(0) };

test('index records: one key order whether the source AE title and the metadata are known or not (one hidden class)', () => {
  const all = buildInstanceIndexRecord(ds(), { ...facts, sourceAet: 'SCU' });
  const bare = buildInstanceIndexRecord(ds(), { ...facts, metadata: false });
  assert.equal(all.sourceAet, 'SCU');
  assert.equal(typeof all.metadata, 'string');
  assert.equal(bare.sourceAet, undefined);
  assert.equal(bare.metadata, undefined);
  assert.deepEqual(Object.keys(bare), Object.keys(all));
  assert.deepEqual(Object.keys(recordReceived(bare, 1, new Date(1))), Object.keys(all));
});

test('recordReceived: the record with the whole object\'s size and receipt time, nothing else changed', () => {
  const early = buildInstanceIndexRecord(ds(), { ...facts, sourceAet: 'SCU' });
  const at = new Date('2026-01-02T03:04:05Z');
  const whole = recordReceived(early, 526_000, at);
  assert.equal(whole.size, 526_000);
  assert.equal(whole.receivedAt, at);
  assert.deepEqual({ ...whole, size: early.size, receivedAt: early.receivedAt }, early);
});
