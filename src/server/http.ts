/**
 * The HTTP side of `conduit serve`: the DICOMweb app (src/dicomweb) on the archive, listening on
 * config.httpPort, with the file-set export (export.ts) beside it. Kept apart from serve.ts so that the DIMSE composition stays readable.
 */
import type { Server as TlsServer } from 'node:tls';
import { DicomError } from '../core/dicom-error.js';
import { createDicomWebApp } from '../dicomweb/app.js';
import { onTlsClientError } from '../upper-layer/index.js';
import type { ArchiveStore } from '../storage/archive-store.js';
import type { ServerConfig } from './config.js';
import type { Log } from './dimse/context.js';
import type { HttpTlsOptions } from './tls.js';
import { registerExport } from './export.js';

export interface RunningHttp {
  readonly port: number;
  close(): Promise<void>;
  /** New key, certificate and client CAs of the HTTPS port, for the connections from now on. */
  setTlsCredentials(tls: HttpTlsOptions): void;
}

/**
 * HTTPS clients whose handshake fails (no client certificate, an untrusted one, plain HTTP to the
 * port) never reach a route; an administrator sees them here, as the DIMSE port's. A connection
 * closed in the handshake with nothing else wrong (a browser's spare connection) is not worth a line.
 */
function logHandshakeFailures(server: TlsServer, log: Log): void {
  onTlsClientError(server, (error, remoteAddress, certificateRefused) => {
    if (!certificateRefused && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET') return;
    log('warn', `an HTTPS connection from ${remoteAddress ?? 'an address no longer known'} failed: ${error.message}`);
  });
}

export async function startHttp(config: ServerConfig, archive: ArchiveStore, log: Log, https?: HttpTlsOptions): Promise<RunningHttp> {
  const app = createDicomWebApp({
    ...(https ? { https } : {}),
    archive,
    duplicatePolicy: config.duplicatePolicy,
    corsOrigins: config.corsOrigins,
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    log,
  });
  // Beside the DICOMweb base path: file-set export (not a PS3.18 resource).
  registerExport(app, { archive, log });
  if (https) logHandshakeFailures(app.server as unknown as TlsServer, log);
  try {
    await app.listen({ port: config.httpPort, host: config.host });
  } catch (err) {
    await app.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.httpPort;
  return {
    port,
    async close() {
      await app.close();
    },
    setTlsCredentials(tls) {
      // node:https's Server is a tls.Server (not imported here: plain HTTP needs no node:tls).
      if (!('setSecureContext' in app.server)) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'the HTTP port does not speak HTTPS: no credentials to replace');
      (app.server as unknown as TlsServer).setSecureContext({ key: tls.key, cert: tls.cert, ...(tls.ca !== undefined ? { ca: tls.ca } : {}) });
    },
  };
}
