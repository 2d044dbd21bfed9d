import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DicomError } from '../../src/core/dicom-error.js';
import { ServiceError } from '../../src/dimse/index.js';
import { storeFailure } from '../../src/server/dimse/store-failure.js';

test('storage errors become the C-STORE statuses of PS3.4 Table B.2-1; others are left to the dispatcher (0110)', () => {
  const full = storeFailure(new DicomError('ERR_DICOM_STORAGE_FULL', 'writing 1.2.3: no space left (ENOSPC)'));
  assert.ok(full instanceof ServiceError);
  assert.equal(full.status, 0xa700);
  assert.equal(full.errorComment, 'writing 1.2.3: no space left (ENOSPC)');
  const bad = storeFailure(new DicomError('ERR_DICOM_STORAGE_BAD_OBJECT', 'the data set has no SeriesInstanceUID, needed to index it', { tag: 0x0020000e }));
  assert.ok(bad instanceof ServiceError);
  assert.equal(bad.status, 0xc000);
  assert.equal(bad.errorComment, 'the data set has no SeriesInstanceUID, needed to index it');
  assert.deepEqual(bad.offendingElement, [0x0020000e]);
  const io = new DicomError('ERR_DICOM_STORAGE_IO', 'EIO');
  assert.equal(storeFailure(io), io);
  const other = new Error('x');
  assert.equal(storeFailure(other), other);
});
