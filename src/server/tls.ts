/**
 * `conduit serve`'s DIMSE port over TLS (PS3.15 Annex B, the secure transport connection
 * profiles): the PEM files the configuration names, read and checked once at start, so that a key
 * that is not the certificate's stops the server with a line naming the setting and file.
 */
import { readFileSync } from 'node:fs';
import { DicomError } from '../core/dicom-error.js';
import { tlsServerOptionsFromFiles, type TlsServerOptions } from '../upper-layer/index.js';
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
