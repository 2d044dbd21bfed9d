/**
 * `conduit serve` over TLS (PS3.15 Annex B, the secure transport connection profiles): the DIMSE
 * port, the associations it opens to peers marked +tls, and the HTTP port (HTTPS). The PEM files
 * the configuration names are read and checked once at start, so that a key that is not the
 * certificate's stops the server with a line naming the setting and file.
 */
import { readFileSync } from 'node:fs';
import { DicomError } from '../core/dicom-error.js';
import { checkTlsCredentials, tlsServerOptionsFromFiles, type TlsClientOptions, type TlsServerOptions } from '../upper-layer/index.js';
import type { ServerConfig } from './config.js';

function readPem(path: string, setting: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `configuration: ${setting}: cannot read ${path}: ${why}`, { cause: err });
  }
}

/** The TLS options of the DIMSE port, or undefined when the configuration names no key and certificate. */
export function dimseTlsOptions(config: Pick<ServerConfig, 'tlsKey' | 'tlsCert' | 'tlsCa' | 'tlsNoVerify'>): TlsServerOptions | undefined {
  if (config.tlsKey === '' || config.tlsCert === '') return undefined;
  const files = { key: config.tlsKey, cert: config.tlsCert, ca: config.tlsCa, noVerify: config.tlsNoVerify };
  const setting = { key: 'tlsKey', cert: 'tlsCert', ca: 'tlsCa' } as const;
  const names = { key: `tlsKey ${config.tlsKey}`, cert: `tlsCert ${config.tlsCert}`, ca: config.tlsCa.map((f) => `tlsCa ${f}`) };
  return tlsServerOptionsFromFiles(files, (path, role) => readPem(path, setting[role]), names);
}

/**
 * The TLS options of the associations serve opens to peers marked +tls (C-MOVE sub-operations),
 * or undefined when no peer is. PS3.15 B.1: each end authenticates the other by its certificate,
 * so this server's own (tlsKey/tlsCert, when set) goes as the client certificate; the peer's is
 * verified against tlsCa, or Node's CA list when none is given, unless tlsNoVerify. `dimse`: the
 * DIMSE port's options, whose files are already read.
 */
export function peerTlsOptions(config: Pick<ServerConfig, 'peers' | 'tlsKey' | 'tlsCert' | 'tlsCa' | 'tlsNoVerify'>, dimse: TlsServerOptions | undefined): TlsClientOptions | undefined {
  if (!config.peers.some((p) => p.tls === true)) return undefined;
  const ca = dimse?.ca ?? (config.tlsCa.length > 0 ? config.tlsCa.map((f) => readPem(f, 'tlsCa')) : undefined);
  const options: TlsClientOptions = {
    ...(ca !== undefined ? { ca } : {}),
    ...(dimse !== undefined ? { key: dimse.key, cert: dimse.cert } : {}),
    rejectUnauthorized: !config.tlsNoVerify,
  };
  // With the DIMSE port's options the files were checked already.
  if (dimse === undefined) checkTlsCredentials(options, { ca: config.tlsCa.map((f) => `tlsCa ${f}`) });
  return options;
}

/** The HTTP port's TLS options (HTTPS): its key and certificate, and the CAs of client certificates when it asks for them. */
export interface HttpTlsOptions {
  key: Buffer;
  cert: Buffer;
  /** With httpTlsCa: every client must present a certificate that verifies against these. */
  ca?: Buffer[];
}

/** The HTTP port's TLS options, or undefined when it is plain HTTP. */
export function httpTlsOptions(config: Pick<ServerConfig, 'httpTlsKey' | 'httpTlsCert' | 'httpTlsCa'>): HttpTlsOptions | undefined {
  if (config.httpTlsKey === '' || config.httpTlsCert === '') return undefined;
  const options: HttpTlsOptions = {
    key: readPem(config.httpTlsKey, 'httpTlsKey'),
    cert: readPem(config.httpTlsCert, 'httpTlsCert'),
    ...(config.httpTlsCa.length > 0 ? { ca: config.httpTlsCa.map((f) => readPem(f, 'httpTlsCa')) } : {}),
  };
  checkTlsCredentials(options, { key: `httpTlsKey ${config.httpTlsKey}`, cert: `httpTlsCert ${config.httpTlsCert}`, ca: config.httpTlsCa.map((f) => `httpTlsCa ${f}`) });
  return options;
}
