/**
 * What the `conduit web` commands share: the service URL, header fields and credentials on the
 * command line, and failures told in one line (the server's own message, or why it could not be
 * reached).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DicomError } from '../core/dicom-error.js';
import { DicomWebClient } from '../dicomweb/client/index.js';
import { checkTlsCredentials } from '../upper-layer/index.js';
import { caCertificate, describeNetworkError, PEM_FILE, readArgumentFile, type NetworkHints } from './network-options.js';

export interface WebFlags {
  header: string[];
  user?: string;
  token?: string;
  /** --ca: the CA certificates read (PEM). */
  ca?: Buffer[];
  /** --client-cert and --client-key: the files named. */
  clientCert?: string;
  clientKey?: string;
  /** Both read and checked before the action (a preAction hook). */
  clientCertificate?: { cert: Buffer; key: Buffer };
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseHeader(text: string): string {
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/.test(text)) throw new InvalidArgumentError('expected "Name: value"');
  return text;
}

function parseUrl(text: string): string {
  if (!/^https?:\/\/[^/]/i.test(text)) throw new InvalidArgumentError('expected the service root as an http:// or https:// URL, e.g. http://localhost:8042/dicom-web');
  return text;
}

/** The options every `conduit web` command takes: header fields and credentials. */
export function addWebOptions(command: Command): Command {
  return command
    .argument('<url>', 'the DICOMweb service root, e.g. http://localhost:8042/dicom-web', parseUrl)
    .addOption(new Option('-H, --header <field>', 'a header field to send with every request ("Name: value"; repeat for more)').argParser((v, p: string[]) => collect(parseHeader(v), p)).default([]))
    .option('--user <name:password>', 'HTTP Basic authentication')
    .option('--token <token>', 'a bearer token (Authorization: Bearer ...)')
    .addOption(new Option('--ca <file>', 'https:// URLs: CA certificates (PEM) the server certificate must verify against, in place of Node\'s list (NODE_EXTRA_CA_CERTS adds to that list); repeat for more')
      .argParser((file, previous: Buffer[] | undefined) => [...(previous ?? []), readCaFile(file)]))
    .option('--client-cert <file>', 'https:// URLs: a client certificate (PEM, with its chain) for servers that require one (mutual TLS); with --client-key')
    .option('--client-key <file>', 'the private key (PEM) of --client-cert')
    .hook('preAction', (cmd) => {
      const o = cmd.opts<WebFlags>();
      if ((o.clientCert === undefined) !== (o.clientKey === undefined)) cmd.error('error: --client-cert and --client-key go together (a client certificate and its private key)', { exitCode: 1 });
      if (o.clientCert === undefined || o.clientKey === undefined) return;
      try {
        cmd.setOptionValue('clientCertificate', clientCertificate(o.clientCert, o.clientKey));
      } catch (err) {
        cmd.error(`error: ${(err as Error).message}`, { exitCode: 1 });
      }
    });
}

/** --client-cert and --client-key, read and checked: a key that is not the certificate's is named before any request. */
function clientCertificate(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  const pair = { cert: readArgumentFile(certFile, PEM_FILE.cert), key: readArgumentFile(keyFile, PEM_FILE.key) };
  checkTlsCredentials(pair, { cert: `--client-cert ${certFile}`, key: `--client-key ${keyFile}` });
  return pair;
}

/** A --ca file, read and checked when the command line is parsed, so that a wrong one is named before any request. */
function readCaFile(file: string): Buffer {
  try {
    return caCertificate(file, '--ca');
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function clientFor(url: string, flags: WebFlags): DicomWebClient {
  const headers: Record<string, string> = {};
  for (const h of flags.header) {
    const colon = h.indexOf(':');
    headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }
  let auth;
  if (flags.user !== undefined) {
    const colon = flags.user.indexOf(':');
    auth = colon < 0 ? { username: flags.user, password: '' } : { username: flags.user.slice(0, colon), password: flags.user.slice(colon + 1) };
  } else if (flags.token !== undefined) {
    auth = { token: flags.token };
  }
  return new DicomWebClient({ baseUrl: url, headers, ...(auth ? { auth } : {}), ...(flags.ca !== undefined ? { ca: flags.ca } : {}),
    ...(flags.clientCertificate !== undefined ? { clientCertificate: flags.clientCertificate } : {}) });
}

/** A DICOMweb command has --ca and the URL's scheme where the DIMSE commands have their --tls-* flags. */
const WEB_HINTS: NetworkHints = {
  ca: '--ca',
  clientCertificate: 'give one with --client-cert and --client-key',
  plain: 'if the port speaks HTTPS, use an https:// URL',
  // TLS 1.3: a server checks the client certificate after the handshake, and closes without a word.
  tlsReset: 'reset the connection over HTTPS (a server that requires client certificates does so when it does not trust the one given with --client-cert)',
};

/** A failure in one line: what the server said, or why it could not be reached, with the code. */
export function describeWebError(err: unknown, url: string): string {
  if (err instanceof DicomError && err.code === 'ERR_DICOM_TRANSPORT') {
    let host = url;
    try {
      host = new URL(url).host;
    } catch {
      // the URL was checked on the command line
    }
    return describeNetworkError(err, host, { hints: WEB_HINTS, tls: /^https:/i.test(url) });
  }
  return err instanceof DicomError ? `${err.message} [${err.code}]` : err instanceof Error ? err.message : String(err);
}
