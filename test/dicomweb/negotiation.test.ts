import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DicomError } from '../../src/core/dicom-error.js';
import { QueryError } from '../../src/query/query-error.js';
import { errorBody, httpStatusOf, notFound } from '../../src/dicomweb/http-error.js';
import { qidoFormat } from '../../src/dicomweb/qido.js';
import { acceptedTransferSyntaxes, chooseTransferSyntax } from '../../src/dicomweb/wado-retrieve.js';

const EVRLE = '1.2.840.10008.1.2.1';
const IVRLE = '1.2.840.10008.1.2';
const J2K = '1.2.840.10008.1.2.4.90';

test('error codes map to HTTP statuses, with a body naming code and message', () => {
  assert.equal(httpStatusOf(notFound('x')), 404);
  assert.equal(httpStatusOf(new DicomError('ERR_DICOM_STORAGE_FULL', 'disk full')), 507);
  assert.equal(httpStatusOf(new DicomError('ERR_DICOM_STORAGE_CONFLICT', 'x')), 409);
  assert.equal(httpStatusOf(new DicomError('ERR_DICOM_MULTIPART', 'x')), 400);
  assert.equal(httpStatusOf(new DicomError('ERR_DICOM_UNSUPPORTED_TRANSFER_SYNTAX', 'x')), 406);
  assert.equal(httpStatusOf(new QueryError('ERR_DICOM_QUERY_PARAMETER', 'bad', { httpStatus: 400 })), 400);
  assert.equal(httpStatusOf(new DicomError('ERR_DICOM_IO', 'x')), 500);
  assert.equal(httpStatusOf(new Error('boom')), 500);
  assert.deepEqual(errorBody(notFound('study 1.2 is not in the archive'), 404), { error: { status: 404, code: 'ERR_DICOM_WEB_NOT_FOUND', message: 'study 1.2 is not in the archive' } });
});

test('Accept for WADO-RS: transfer syntaxes in order of preference; the choice per stored transfer syntax', () => {
  assert.deepEqual(acceptedTransferSyntaxes(undefined), [undefined]);
  assert.deepEqual(acceptedTransferSyntaxes('multipart/related; type="application/dicom"; transfer-syntax=*'), ['*']);
  assert.deepEqual(acceptedTransferSyntaxes(`multipart/related; type="application/dicom"; transfer-syntax=${J2K}; q=0.5, multipart/related; type="application/dicom"; transfer-syntax=${IVRLE}`), [IVRLE, J2K]);
  assert.throws(() => acceptedTransferSyntaxes('application/dicom+json'), (e: DicomError) => e.code === 'ERR_DICOM_MEDIA_TYPE' && httpStatusOf(e) === 406);
  assert.equal(chooseTransferSyntax(EVRLE, [undefined]), EVRLE);
  assert.equal(chooseTransferSyntax(IVRLE, [undefined]), EVRLE, 'the default is Explicit VR Little Endian');
  assert.equal(chooseTransferSyntax(J2K, [undefined]), J2K, 'compressed goes as stored when nothing is asked');
  assert.equal(chooseTransferSyntax(J2K, ['*']), J2K);
  assert.equal(chooseTransferSyntax(J2K, [EVRLE]), undefined, 'no decompression');
  assert.equal(chooseTransferSyntax(J2K, [EVRLE, J2K]), J2K, 'the next range is tried');
  assert.equal(chooseTransferSyntax(EVRLE, ['1.2.840.10008.1.2.2']), '1.2.840.10008.1.2.2');
});

test('Accept for QIDO-RS and metadata: JSON by default, XML when asked, 406 otherwise', () => {
  assert.equal(qidoFormat(undefined), 'json');
  assert.equal(qidoFormat('*/*'), 'json');
  assert.equal(qidoFormat('application/json'), 'json');
  assert.equal(qidoFormat('multipart/related; type="application/dicom+xml"'), 'xml');
  assert.equal(qidoFormat('application/dicom+json;q=0.1, multipart/related; type="application/dicom+xml"'), 'xml');
  assert.throws(() => qidoFormat('text/html'), (e: DicomError) => httpStatusOf(e) === 406);
});
