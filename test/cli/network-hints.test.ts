/**
 * describeNetworkError's hints name the flags of the command that failed: the DIMSE commands'
 * --tls-* flags by default, conduit web's --ca and URL scheme through describeWebError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DicomError } from '../../src/core/dicom-error.js';
import { describeNetworkError, DIMSE_HINTS } from '../../src/cli/network-options.js';
import { describeWebError } from '../../src/cli/web-options.js';

const transport = (code: string): DicomError =>
  new DicomError('ERR_DICOM_TRANSPORT', 'connection failed', { cause: Object.assign(new Error(code), { code }) });

test('TLS failures: the DIMSE commands name --tls-ca, --tls-servername and --tls-key/--tls-cert', () => {
  assert.equal(describeNetworkError(transport('DEPTH_ZERO_SELF_SIGNED_CERT'), 'pacs:2762', { tls: true }),
    'TLS to pacs:2762 failed: the server certificate is self-signed and not trusted (give it with --tls-ca) [ERR_DICOM_TRANSPORT]');
  assert.equal(describeNetworkError(transport('ERR_TLS_CERT_ALTNAME_INVALID'), 'pacs:2762', { tls: true, hints: DIMSE_HINTS }),
    'TLS to pacs:2762 failed: the server certificate does not name this host (see --tls-servername) [ERR_DICOM_TRANSPORT]');
  assert.equal(describeNetworkError(transport('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), 'pacs:2762', { tls: true }),
    'TLS to pacs:2762 failed: the server requires a client certificate (give one with --tls-key and --tls-cert) [ERR_DICOM_TRANSPORT]');
  assert.equal(describeNetworkError(transport('ECONNRESET'), 'pacs:104', { tls: false }),
    'pacs:104 reset the connection (if the port expects TLS, use the --tls options) [ERR_DICOM_TRANSPORT]');
});

test('TLS failures of conduit web: --ca, --client-cert/--client-key and the https:// scheme, and no hint for flags it does not have', () => {
  const url = 'https://pacs:8443/dicom-web';
  assert.equal(describeWebError(transport('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), url),
    'TLS to pacs:8443 failed: the server certificate cannot be verified (give its CA with --ca) [ERR_DICOM_TRANSPORT]');
  assert.equal(describeWebError(transport('ERR_TLS_CERT_ALTNAME_INVALID'), url),
    'TLS to pacs:8443 failed: the server certificate does not name this host [ERR_DICOM_TRANSPORT]');
  assert.equal(describeWebError(transport('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), url),
    'TLS to pacs:8443 failed: the server requires a client certificate (give one with --client-cert and --client-key) [ERR_DICOM_TRANSPORT]');
  // TLS 1.3: an untrusted client certificate is refused after the handshake, by a reset.
  assert.equal(describeWebError(transport('ECONNRESET'), url),
    'pacs:8443 reset the connection over HTTPS (a server that requires client certificates does so when it does not trust the one given with --client-cert) [ERR_DICOM_TRANSPORT]');
  assert.equal(describeWebError(transport('ECONNRESET'), 'http://pacs:8443/dicom-web'),
    'pacs:8443 reset the connection (if the port speaks HTTPS, use an https:// URL) [ERR_DICOM_TRANSPORT]');
});
