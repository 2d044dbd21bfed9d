/**
 * What `conduit echo`, `store` and `listen` share: AE title, port, size and time arguments, the TLS
 * options (PEM files named on the command line), and failures told in words (an A-ASSOCIATE-RJ's
 * result/source/reason, a refused connection, a timeout, a certificate that does not verify).
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DicomError, systemCause } from '../core/dicom-error.js';
import { checkTlsCredentials, tlsServerOptionsFromFiles, type AssociationTimeouts, type TlsClientOptions, type TlsCredentialNames, type TlsServerOptions } from '../upper-layer/index.js';

// ---- argument parsers ----

export function parsePort(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new InvalidArgumentError('expected a TCP port number, 0 to 65535');
  return n;
}

/** An AE title (PS3.5 Table 6.2-1, AE): 1 to 16 characters of the default repertoire, no backslash, not all spaces. */
export function parseAeTitle(text: string): string {
  if (text.length === 0 || text.length > 16 || text.trim() === '' || /[\\\x00-\x1f\x7f-\uffff]/.test(text)) {
    throw new InvalidArgumentError('expected an AE title: 1 to 16 characters, no backslash or control characters, not all spaces');
  }
  return text;
}

/** A Maximum Length Received (PS3.8 Annex D.1): 0 for no limit, else 4096 bytes or more. */
export function parseMaxPdu(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || (n !== 0 && n < 4096) || n > 0xffffffff) {
    throw new InvalidArgumentError('expected 0 (no limit) or a number of bytes from 4096 to 4294967295');
  }
  return n;
}

export function parseCount(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1) throw new InvalidArgumentError('expected a whole number, 1 or more');
  return n;
}

export function parseSeconds(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of seconds greater than 0');
  return n;
}

/** A number of seconds, 0 meaning no limit. */
export function parseSecondsOrNever(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of seconds (0 = never)');
  return n;
}

/** --timeout in seconds -> the association's timeouts and the DIMSE timeout (ms). */
export function timeoutsFor(seconds: number): { timeouts: AssociationTimeouts; dimseTimeout: number } {
  const ms = Math.round(seconds * 1000);
  return { timeouts: { connect: ms, associationRequest: ms, release: ms, artim: ms }, dimseTimeout: ms };
}

export function addTimeoutOption(command: Command, what: string): Command {
  return command.addOption(new Option('--timeout <seconds>', what).default(30).argParser(parseSeconds));
}

// ---- TLS ----

export interface TlsFlags {
  tls?: boolean;
  tlsKey?: string;
  tlsCert?: string;
  tlsCa?: string[];
  tlsNoVerify?: boolean;
  tlsServername?: string;
}

/** Commander's argParser for an option given several times: the values in order. */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** The requestor's TLS options (echo, store): a secure transport connection (PS3.15 Annex B). */
export function addTlsClientOptions(command: Command): Command {
  return command
    .option('--tls', 'use TLS (implied by any --tls-* option); the server certificate is verified against --tls-ca, or the system roots')
    .option('--tls-key <file>', 'private key (PEM) of this end\'s certificate, for peers that ask for one (client authentication)')
    .option('--tls-cert <file>', 'certificate (PEM) presented with --tls-key')
    .option('--tls-ca <file>', 'trusted CA certificates (PEM); repeat for several', collect)
    .option('--tls-no-verify', 'do not verify the server certificate (testing only)')
    .option('--tls-servername <name>', 'host name expected in the server certificate (default: HOST when it is a name, else its IP address)');
}

/** The acceptor's TLS options (listen). */
export function addTlsServerOptions(command: Command): Command {
  return command
    .option('--tls-key <file>', 'private key (PEM); with --tls-cert, the port speaks TLS only')
    .option('--tls-cert <file>', 'certificate (PEM) of this server, with its chain')
    .option('--tls-ca <file>', 'CA certificates (PEM) that client certificates must verify against: clients must then present one; repeat for several', collect)
    .option('--tls-no-verify', 'with --tls-ca: ask clients for a certificate but accept any (testing only)');
}

/** What each PEM file is called when it cannot be read. */
/** What each PEM file an option names is, for the messages of a file that cannot be read. */
export const PEM_FILE = { key: 'private key file', cert: 'certificate file', ca: 'CA certificate file' } as const;

/** A file an option names, read whole; one that cannot be read is a usage error naming `what` (e.g. "--users file") and the path. */
export function readArgumentFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { cause: err });
  }
}

/** A CA certificate file given with `flag`, read and checked (it must hold a PEM certificate). */
export function caCertificate(path: string, flag: string): Buffer {
  const ca = readArgumentFile(path, PEM_FILE.ca);
  checkTlsCredentials({ ca }, { ca: [`${flag} ${path}`] });
  return ca;
}

/** Whether the flags ask for TLS (--tls, or any --tls-* option). */
export function wantsTls(flags: TlsFlags): boolean {
  return flags.tls === true || flags.tlsKey !== undefined || flags.tlsCert !== undefined || flags.tlsCa !== undefined
    || flags.tlsNoVerify === true || flags.tlsServername !== undefined;
}

/** TLS client options from the flags, or undefined when none asks for TLS. */
export function tlsClientOptions(flags: TlsFlags): TlsClientOptions | undefined {
  if (!wantsTls(flags)) return undefined;
  if ((flags.tlsKey === undefined) !== (flags.tlsCert === undefined)) {
    throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', '--tls-key and --tls-cert go together');
  }
  const options: TlsClientOptions = {
    ...(flags.tlsCa !== undefined ? { ca: flags.tlsCa.map((f) => readArgumentFile(f, PEM_FILE.ca)) } : {}),
    ...(flags.tlsKey !== undefined ? { key: readArgumentFile(flags.tlsKey, PEM_FILE.key) } : {}),
    ...(flags.tlsCert !== undefined ? { cert: readArgumentFile(flags.tlsCert, PEM_FILE.cert) } : {}),
    rejectUnauthorized: !flags.tlsNoVerify,
    ...(flags.tlsServername !== undefined ? { servername: flags.tlsServername } : {}),
  };
  checkTlsCredentials(options, credentialNames(flags));
  return options;
}

/** The flags and files, to name a credential that cannot be used. */
function credentialNames(flags: TlsFlags): TlsCredentialNames {
  return {
    ...(flags.tlsKey !== undefined ? { key: `--tls-key ${flags.tlsKey}` } : {}),
    ...(flags.tlsCert !== undefined ? { cert: `--tls-cert ${flags.tlsCert}` } : {}),
    ...(flags.tlsCa !== undefined ? { ca: flags.tlsCa.map((f) => `--tls-ca ${f}`) } : {}),
  };
}

/** TLS server options from the flags, or undefined for plain TCP. */
export function tlsServerOptions(flags: TlsFlags): TlsServerOptions | undefined {
  if (flags.tlsKey === undefined && flags.tlsCert === undefined) {
    if (flags.tlsCa !== undefined || flags.tlsNoVerify) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', '--tls-ca and --tls-no-verify need --tls-key and --tls-cert');
    return undefined;
  }
  if (flags.tlsKey === undefined || flags.tlsCert === undefined) {
    throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', '--tls-key and --tls-cert go together');
  }
  const files = { key: flags.tlsKey, cert: flags.tlsCert, ca: flags.tlsCa ?? [], noVerify: flags.tlsNoVerify === true };
  return tlsServerOptionsFromFiles(files, (path, role) => readArgumentFile(path, PEM_FILE[role]), credentialNames(flags));
}

// ---- failures in words ----

/** The flags a failure's hint names: the DIMSE commands' --tls-* flags, or conduit web's own. */
export interface NetworkHints {
  /** The flag that gives trusted CA certificates. */
  ca: string;
  /** Where to look when the server certificate names another host (none: no hint). */
  servername?: string;
  /** How to give a client certificate (none: no hint). */
  clientCertificate?: string;
  /** What to do when a plain connection meets a port that may expect TLS. */
  plain: string;
  /** What a connection reset over TLS, before any answer, most likely means. */
  tlsReset: string;
}

export const DIMSE_HINTS: NetworkHints = {
  ca: '--tls-ca',
  servername: 'see --tls-servername',
  clientCertificate: 'give one with --tls-key and --tls-cert',
  plain: 'if the port expects TLS, use the --tls options',
  tlsReset: 'reset the connection during the TLS handshake: does the port speak TLS? (a DICOM port without it, such as storescp without +tls, resets it)',
};

/** A TLS failure's code in words, with the hint of `hints` (undefined: a code not known here). */
function tlsFailure(code: string, hints: NetworkHints): string | undefined {
  const hint = (text: string | undefined): string => (text === undefined ? '' : ` (${text})`);
  switch (code) {
    case 'DEPTH_ZERO_SELF_SIGNED_CERT': return `the server certificate is self-signed and not trusted (give it with ${hints.ca})`;
    case 'SELF_SIGNED_CERT_IN_CHAIN': return `the server certificate chains to a CA that is not trusted (give it with ${hints.ca})`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE': return `the server certificate cannot be verified (give its CA with ${hints.ca})`;
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY': return `the issuer of the server certificate is not trusted (give it with ${hints.ca})`;
    case 'CERT_HAS_EXPIRED': return 'the server certificate has expired';
    case 'CERT_NOT_YET_VALID': return 'the server certificate is not yet valid';
    case 'ERR_TLS_CERT_ALTNAME_INVALID': return `the server certificate does not name this host${hint(hints.servername)}`;
    case 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED': return `the server requires a client certificate${hint(hints.clientCertificate)}`;
    case 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE': return 'the handshake failed (the server may require a client certificate, or share no cipher)';
    case 'ERR_SSL_WRONG_VERSION_NUMBER': return 'the server does not speak TLS on this port';
    default: return undefined;
  }
}

/**
 * A one-line account of a failed network operation against `where` (host:port): what happened, in
 * words, with the error code in brackets. `tls`: whether TLS was in use (for the hints); `hints`: the
 * flags the hints name (the DIMSE commands' by default).
 */
export function describeNetworkError(err: unknown, where: string, options: { tls?: boolean; hints?: NetworkHints } = {}): string {
  const hints = options.hints ?? DIMSE_HINTS;
  const cause = systemCause(err);
  const code = cause?.code;
  const tag = err instanceof DicomError ? ` [${err.code}]` : '';
  if (!(err instanceof DicomError)) return err instanceof Error ? err.message : String(err);
  switch (err.code) {
    case 'ERR_DICOM_ASSOCIATION_REJECTED':
      // The message says result, source and reason in words (PS3.8 Table 9-21).
      return `${where} ${err.message}${tag}`;
    case 'ERR_DICOM_TRANSPORT':
    case 'ERR_DICOM_ASSOCIATION_CONNECTION_LOST':
      switch (code) {
        case 'ECONNREFUSED': return `connection refused by ${where}: nothing is listening there${tag}`;
        case 'ENOTFOUND': case 'EAI_AGAIN': return `cannot resolve the host name of ${where}${tag}`;
        case 'EHOSTUNREACH': case 'ENETUNREACH': return `${where} is unreachable${tag}`;
        case 'ETIMEDOUT': return `connecting to ${where} timed out${tag}`;
        case 'ECONNRESET': case 'EPIPE':
          // ERR_DICOM_TRANSPORT: before the connection was confirmed, i.e. in the TLS handshake.
          if (options.tls && err.code === 'ERR_DICOM_TRANSPORT') {
            return `${where} ${hints.tlsReset}${tag}`;
          }
          return `${where} reset the connection${options.tls ? '' : ` (${hints.plain})`}${tag}`;
        case undefined: {
          const hint = err.code !== 'ERR_DICOM_ASSOCIATION_CONNECTION_LOST' ? ''
            : options.tls === false ? ` (${hints.plain})`
            // TLS 1.3: the server checks the client certificate after the handshake, and closes.
            : options.tls === true ? ' (over TLS, a server closes so when it does not trust the client certificate: is --tls-cert signed by a CA it trusts?)'
            : '';
          return `${err.message}${hint}${tag}`;
        }
        default:
          const failure = tlsFailure(code, hints);
          if (failure !== undefined) return `TLS to ${where} failed: ${failure}${tag}`;
          if (/^ERR_SSL|^ERR_TLS|CERT/.test(code)) return `TLS to ${where} failed: ${cause?.reason ?? code}${tag}`;
          return `${err.message}${tag}`;
      }
    case 'ERR_DICOM_ASSOCIATION_TIMEOUT':
      return `timed out: ${err.message}${tag}`;
    case 'ERR_DICOM_ASSOCIATION_ABORTED': {
      // This end aborted because what came back is not a PDU: the wrong port, most likely.
      const received = (err.cause as { received?: unknown } | undefined)?.received;
      if (!(received instanceof Uint8Array)) return `${err.message}${tag}`;
      const text = Buffer.from(received).toString('latin1');
      const shown = /^[\x20-\x7e\r\n]+$/.test(text) ? `"${text.split(/\r?\n/)[0]}"` : Buffer.from(received).toString('hex').replace(/(..)(?!$)/g, '$1 ');
      const what = text.startsWith('HTTP/') ? ': an HTTP server? (DICOMweb is not DIMSE)' : ': is it a DICOM port?';
      return `${where} answered with bytes that are not a DICOM PDU (they begin ${shown})${what}${tag}`;
    }
    default:
      return `${err.message}${tag}`;
  }
}

/**
 * Ends the process once stdout and stderr are written out. A requestor's work is done when its
 * answer is printed; without this, a peer that never closes its side of a connection after an
 * A-ABORT would hold the process for the transport's close timeout.
 */
export async function exitWhenFlushed(code: number): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((done) => s.write('', () => done()))));
  process.exit(code);
}
