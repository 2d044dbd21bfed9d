import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DicomError } from '../../../src/core/dicom-error.js';
import { storageFailureStatus } from '../../../src/services/storage/storage-failure.js';
import { storageError } from '../../../src/storage/storage-error.js';
import { storeFailure } from '../../../src/server/dimse/store-failure.js';
import { ServiceError } from '../../../src/dimse/index.js';

const sys = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: failed, write`), { code });

test('a full disk, a quota or no file handle: A700 Refused: Out of Resources, whether wrapped by the archive or raw from the file system (conduit listen)', () => {
  assert.equal(storageFailureStatus(storageError('ERR_DICOM_STORAGE_IO', 'cannot store the object', sys('ENOSPC')))?.status, 0xa700);
  for (const code of ['ENOSPC', 'EDQUOT', 'EMFILE', 'ENFILE']) assert.equal(storageFailureStatus(sys(code))?.status, 0xa700, code);
  assert.equal(storageFailureStatus(sys('EMFILE'))?.errorComment, 'out of file handles');
});

test('an object the archive cannot index: C000 with the attribute as Offending Element and the words alone as comment', () => {
  const err = new DicomError('ERR_DICOM_STORAGE_BAD_OBJECT', 'the data set has no StudyInstanceUID, needed to index it', { tag: 0x0020000d });
  assert.deepEqual(storageFailureStatus(err), { status: 0xc000, errorComment: 'the data set has no StudyInstanceUID, needed to index it', offendingElement: [0x0020000d] });
});

test('anything else is the caller\'s Processing failure (undefined); serve\'s C-STORE SCP throws the same status as a ServiceError', () => {
  assert.equal(storageFailureStatus(sys('EIO')), undefined);
  assert.equal(storageFailureStatus(new Error('boom')), undefined);
  const thrown = storeFailure(storageError('ERR_DICOM_STORAGE_IO', 'cannot store the object', sys('ENOSPC')));
  assert.ok(thrown instanceof ServiceError);
  assert.equal(thrown.status, 0xa700);
  const other = new Error('boom');
  assert.equal(storeFailure(other), other);
});
