/**
 * `conduit serve` configuration: defaults, then a JSON file (--config), then environment variables
 * (CONDUIT_*), then command-line flags, each overriding the one before. Validated once at start so
 * a typo stops the server with a message naming the setting, not later with a stack trace.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DicomError } from '../core/dicom-error.js';
import { lookupUid } from '../dictionary/index.js';
import { isStorageSopClass } from '../services/storage/storage-sop-classes.js';

export type DuplicatePolicy = 'keep' | 'overwrite' | 'reject';

/** A known remote AE: a C-MOVE destination, and a peer allowed to connect when access control is on. */
export interface RemoteAe {
  name: string;
  aeTitle: string;
  host: string;
  port: number;
  /**
   * Associations to it (C-MOVE sub-operations) go over TLS (PS3.15 Annex B.1), verified against
   * tlsCa (or Node's CA list) unless tlsNoVerify, with tlsKey/tlsCert as the client certificate.
   */
  tls?: boolean;
}

export interface ServerConfig {
  aeTitle: string;
  dimsePort: number;
  httpPort: number;
  /** Listen address for both ports. */
  host: string;
  dataDir: string;
  peers: RemoteAe[];
  /** Accept associations only from the AE titles of `peers`. */
  restrictToPeers: boolean;
  /** Accept associations only when they call this server by its own AE title (else any title is answered, as storescp does). */
  checkCalledAeTitle: boolean;
  /** Storage SOP classes accepted; empty = every storage SOP class. */
  sopClasses: string[];
  /** Transfer syntaxes accepted for storage; empty = any proposed. */
  transferSyntaxes: string[];
  duplicatePolicy: DuplicatePolicy;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Seconds to let running associations finish on SIGTERM/SIGINT before aborting them. */
  shutdownGraceSeconds: number;
  maxAssociations: number;
  /**
   * Seconds an association may wait for its peer without receiving a byte (a peer stalled mid-
   * message, or idle between requests) before it is aborted (A-ABORT), freeing its slot of
   * maxAssociations and dropping a partial object; time spent performing the peer's request (a
   * C-MOVE, a C-STORE being made durable) does not count. 0 = never.
   */
  idleTimeoutSeconds: number;
  maxPduLength: number;
  /**
   * The most associations a C-MOVE opens to its Move Destination at once, its C-STORE
   * sub-operations shared among them (one further association per 8 instances; see
   * server/dimse/move-lanes.ts); 1 = one association.
   */
  moveAssociations: number;
  /**
   * C-MOVE and C-GET: the least time in ms between two Pending responses (PS3.4 C.4.2.3.1,
   * C.4.3.3.1 make them optional); 0 = one after every sub-operation. See
   * services/query-retrieve/sub-operations.ts.
   */
  pendingInterval: number;
  /**
   * DIMSE over TLS (PS3.15 Annex B secure transport connection profiles): with tlsKey and tlsCert
   * (PEM files) the DIMSE port speaks TLS only; with tlsCa too, requestors must present a
   * certificate that verifies against it (tlsNoVerify: asked for but not checked, testing only).
   */
  tlsKey: string;
  tlsCert: string;
  tlsCa: string[];
  tlsNoVerify: boolean;
  /**
   * The HTTP port over TLS (HTTPS, RFC 9110 §4.2.2; PS3.15 Annex B secure transport): PEM
   * private key and certificate, independent of tlsKey/tlsCert (they may name the same files).
   */
  httpTlsKey: string;
  httpTlsCert: string;
  /**
   * HTTPS with client certificates (mutual TLS, as PS3.15 B.1 authenticates both ends): PEM CA
   * certificates that every client's certificate must verify against; a client without one that
   * does is refused in the handshake. Empty: no client certificate is asked for.
   */
  httpTlsCa: string[];
  /** DICOMweb: origins allowed by CORS ("*" for any); none by default. */
  corsOrigins: string[];
  /** DICOMweb: the URL clients reach /dicom-web at, for Retrieve URLs (default: from each request's Host). */
  publicUrl: string;
}

export const DEFAULT_CONFIG: ServerConfig = {
  aeTitle: 'CONDUIT',
  dimsePort: 11112,
  httpPort: 8042,
  host: '0.0.0.0',
  dataDir: './data',
  peers: [],
  restrictToPeers: false,
  checkCalledAeTitle: false,
  sopClasses: [],
  transferSyntaxes: [],
  duplicatePolicy: 'keep',
  logLevel: 'info',
  shutdownGraceSeconds: 10,
  maxAssociations: 64,
  idleTimeoutSeconds: 60,
  maxPduLength: 256 * 1024,
  moveAssociations: 2,
  pendingInterval: 100,
  tlsKey: '',
  tlsCert: '',
  tlsCa: [],
  tlsNoVerify: false,
  httpTlsKey: '',
  httpTlsCert: '',
  httpTlsCa: [],
  corsOrigins: [],
  publicUrl: '',
};

/** Environment variables read, with the setting each one sets. */
export const ENVIRONMENT: Readonly<Record<string, keyof ServerConfig>> = {
  CONDUIT_AET: 'aeTitle',
  CONDUIT_DIMSE_PORT: 'dimsePort',
  CONDUIT_HTTP_PORT: 'httpPort',
  CONDUIT_HOST: 'host',
  CONDUIT_DATA: 'dataDir',
  CONDUIT_PEERS: 'peers',
  CONDUIT_RESTRICT_TO_PEERS: 'restrictToPeers',
  CONDUIT_CHECK_CALLED_AET: 'checkCalledAeTitle',
  CONDUIT_DUPLICATES: 'duplicatePolicy',
  CONDUIT_LOG_LEVEL: 'logLevel',
  CONDUIT_MOVE_ASSOCIATIONS: 'moveAssociations',
  CONDUIT_PENDING_INTERVAL: 'pendingInterval',
  CONDUIT_IDLE_TIMEOUT: 'idleTimeoutSeconds',
  CONDUIT_TLS_KEY: 'tlsKey',
  CONDUIT_TLS_CERT: 'tlsCert',
  CONDUIT_TLS_CA: 'tlsCa',
  CONDUIT_HTTP_TLS_KEY: 'httpTlsKey',
  CONDUIT_HTTP_TLS_CERT: 'httpTlsCert',
  CONDUIT_HTTP_TLS_CA: 'httpTlsCa',
  CONDUIT_CORS_ORIGINS: 'corsOrigins',
  CONDUIT_PUBLIC_URL: 'publicUrl',
};

/** More associations than this to one Move Destination would only load it (and the archive's disk). */
const MAX_MOVE_ASSOCIATIONS = 8;

function fail(setting: string, message: string): never {
  throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `configuration: ${setting}: ${message}`);
}

/** PS3.5 Table 6.2-1, AE: 1 to 16 characters of the default repertoire, no backslash, not all spaces. */
function isAeTitle(text: string): boolean {
  return /^[\x20-\x7e]{1,16}$/.test(text) && !text.includes('\\') && text.trim() !== '';
}

/** PS3.5 §9.1: 1 to 64 characters, components of digits without a leading zero (but "0"), separated by dots. */
function isUid(text: string): boolean {
  return text.length <= 64 && /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/.test(text);
}

/**
 * sopClasses and transferSyntaxes name UIDs. A value that is no UID, or a registered UID of another
 * kind (a Query/Retrieve SOP Class among the storage ones), would leave the server accepting other
 * than what was meant, or nothing at all, without a word; a private SOP Class UID is taken as given.
 */
function checkUids(setting: 'sopClasses' | 'transferSyntaxes', uids: readonly string[]): void {
  for (const uid of uids) {
    if (!isUid(uid)) fail(setting, `"${uid}" is not a UID (digits and dots, PS3.5 §9.1)`);
    const known = lookupUid(uid);
    if (setting === 'sopClasses' && known && !isStorageSopClass(uid)) fail(setting, `${uid} (${known.name}) is not a Storage SOP Class`);
    if (setting === 'transferSyntaxes' && known && known.type !== 'Transfer Syntax') fail(setting, `${uid} (${known.name}) is not a Transfer Syntax`);
  }
}

/**
 * Parses "NAME=AET@HOST:PORT", or "NAME=AET@HOST:PORT+tls" for a peer reached over TLS (the
 * --peer flag; also a JSON string in files); HOST may be an IPv6 address in brackets.
 */
export function parsePeer(text: string): RemoteAe {
  const m = /^([^=]+)=([^@]+)@(.+):(\d{1,5})(\+[^+]*)?$/.exec(text.trim());
  if (!m) fail('peer', `"${text}" is not NAME=AET@HOST:PORT (or NAME=AET@HOST:PORT+tls)`);
  if (m[5] !== undefined && m[5] !== '+tls') fail('peer', `"${m[5]}" in "${text}" is not +tls, the one suffix a peer takes`);
  const port = Number(m[4]);
  if (port < 1 || port > 65535) fail('peer', `port ${port} out of range in "${text}"`);
  const host = /^\[.*\]$/.test(m[3]!) ? m[3]!.slice(1, -1) : m[3]!;
  return checkRemoteAe('peer', { name: m[1]!, aeTitle: m[2]!, host, port, ...(m[5] === '+tls' ? { tls: true } : {}) });
}

/** What a C-MOVE to the peer needs: an AE title it can be called by, a host, a TCP port. */
function checkRemoteAe(setting: string, p: RemoteAe): RemoteAe {
  if (!isAeTitle(p.aeTitle)) fail(setting, `${p.name}: "${p.aeTitle}" is not an AE title (1-16 characters, no backslash)`);
  if (p.host.trim() === '') fail(setting, `${p.name}: no host`);
  if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) fail(setting, `${p.name}: port ${p.port} is not 1 to 65535`);
  // PS3.5 Table 6.2-1: leading and trailing spaces of an AE title are not significant; a C-MOVE's
  // Move Destination is compared without them.
  return { ...p, aeTitle: p.aeTitle.trim() };
}

/** coerce(), a failure saying where the value came from (a file, an environment variable), since the setting's name alone may not be what the user wrote. */
function coerceFrom(key: keyof ServerConfig, value: unknown, source: string): unknown {
  try {
    return coerce(key, value);
  } catch (err) {
    const prefix = `configuration: ${key}: `;
    if (err instanceof DicomError && err.message.startsWith(prefix)) fail(`${key} (${source})`, err.message.slice(prefix.length));
    throw err;
  }
}

function coerce(key: keyof ServerConfig, value: unknown): unknown {
  const def = DEFAULT_CONFIG[key];
  if (key === 'peers') {
    const list = Array.isArray(value) ? value : String(value).split(',').filter(Boolean);
    return list.map((p) => (typeof p === 'string' ? parsePeer(p) : checkPeerObject(p)));
  }
  if (Array.isArray(def)) return Array.isArray(value) ? value.map(String) : String(value).split(',').map((s) => s.trim()).filter(Boolean);
  if (typeof def === 'number') {
    const n = typeof value === 'number' ? value : Number(String(value));
    if (!Number.isInteger(n) || n < 0) fail(key, `"${String(value)}" is not a non-negative integer`);
    return n;
  }
  if (typeof def === 'boolean') {
    if (typeof value === 'boolean') return value;
    const t = String(value).toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(t)) return true;
    if (['0', 'false', 'no', 'off'].includes(t)) return false;
    fail(key, `"${String(value)}" is not a boolean`);
  }
  return String(value);
}

const PEER_KEYS = ['name', 'aeTitle', 'host', 'port', 'tls'];

function checkPeerObject(p: unknown): RemoteAe {
  const o = p as Partial<RemoteAe>;
  if (!o || typeof o.name !== 'string' || typeof o.aeTitle !== 'string' || typeof o.host !== 'string' || typeof o.port !== 'number') {
    fail('peers', `each peer is "NAME=AET@HOST:PORT[+tls]" or {name, aeTitle, host, port, tls}, not ${JSON.stringify(p)}`);
  }
  // A misspelt "tls" ("TLS", "ssl") would leave the peer on plain TCP without a word.
  const unknown = Object.keys(o).find((k) => !PEER_KEYS.includes(k));
  if (unknown !== undefined) fail('peers', `${o.name}: unknown key "${unknown}" (a peer has ${PEER_KEYS.join(', ')})`);
  if (o.tls !== undefined && typeof o.tls !== 'boolean') fail('peers', `${o.name}: tls is ${JSON.stringify(o.tls)}, not true or false`);
  return checkRemoteAe('peers', { name: o.name, aeTitle: o.aeTitle, host: o.host, port: o.port, ...(o.tls === true ? { tls: true } : {}) });
}

function validate(c: ServerConfig): ServerConfig {
  if (!isAeTitle(c.aeTitle)) fail('aeTitle', `"${c.aeTitle}" is not an AE title (1-16 characters, no backslash)`);
  for (const k of ['dimsePort', 'httpPort'] as const) if (c[k] > 65535) fail(k, `${c[k]} is not a port`);
  if (!['keep', 'overwrite', 'reject'].includes(c.duplicatePolicy)) fail('duplicatePolicy', `"${c.duplicatePolicy}" is not keep, overwrite or reject`);
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(c.logLevel)) fail('logLevel', `"${c.logLevel}" is not a log level`);
  checkUids('sopClasses', c.sopClasses);
  checkUids('transferSyntaxes', c.transferSyntaxes);
  if (c.maxAssociations < 1) fail('maxAssociations', `${c.maxAssociations}: at least 1 association must be allowed`);
  if (c.moveAssociations < 1 || c.moveAssociations > MAX_MOVE_ASSOCIATIONS) fail('moveAssociations', `${c.moveAssociations} is not 1 to ${MAX_MOVE_ASSOCIATIONS}`);
  if ((c.tlsKey === '') !== (c.tlsCert === '')) fail(c.tlsKey === '' ? 'tlsKey' : 'tlsCert', 'missing: tlsKey and tlsCert go together');
  // tlsCa and tlsNoVerify serve the DIMSE port's requestors and the TLS peers' certificates alike.
  if (c.tlsKey === '' && !c.peers.some((p) => p.tls) && (c.tlsCa.length > 0 || c.tlsNoVerify)) {
    fail(c.tlsCa.length > 0 ? 'tlsCa' : 'tlsNoVerify', 'needs tlsKey and tlsCert (the DIMSE port speaks TLS only with them) or a peer reached over TLS (+tls)');
  }
  if ((c.httpTlsKey === '') !== (c.httpTlsCert === '')) fail(c.httpTlsKey === '' ? 'httpTlsKey' : 'httpTlsCert', 'missing: httpTlsKey and httpTlsCert go together');
  if (c.httpTlsCa.length > 0 && c.httpTlsKey === '') fail('httpTlsCa', 'needs httpTlsKey and httpTlsCert (client certificates are asked for over HTTPS only)');
  if (c.publicUrl !== '' && !/^https?:\/\/[^/]/.test(c.publicUrl)) fail('publicUrl', `"${c.publicUrl}" is not an http(s) URL`);
  const names = new Set<string>();
  const byAeTitle = new Map<string, string>();
  for (const p of c.peers) {
    if (names.has(p.name)) fail('peers', `peer name "${p.name}" is given twice`);
    names.add(p.name);
    // PS3.4 C.4.2.1.3: a C-MOVE names its destination by AE title alone, so two peers of one
    // title leave it ambiguous which one receives.
    const other = byAeTitle.get(p.aeTitle);
    if (other !== undefined) fail('peers', `AE title "${p.aeTitle}" is given to two peers (${other} and ${p.name}): a C-MOVE names its destination by AE title only`);
    byAeTitle.set(p.aeTitle, p.name);
  }
  return { ...c, dataDir: resolve(c.dataDir) };
}

/**
 * Builds the configuration. `flags` are the command-line values already parsed (only those given);
 * `env` defaults to process.env.
 */
export function loadConfig(options: { configFile?: string; flags?: Partial<Record<keyof ServerConfig, unknown>>; env?: NodeJS.ProcessEnv } = {}): ServerConfig {
  const config: Record<string, unknown> = { ...DEFAULT_CONFIG };
  if (options.configFile) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(options.configFile, 'utf8'));
    } catch (err) {
      fail('config file', `${options.configFile}: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      fail('config file', `${options.configFile}: not a JSON object (settings by name, e.g. {"aeTitle": "ARCHIVE"})`);
    }
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      if (!(k in DEFAULT_CONFIG)) {
        const likely = Object.keys(DEFAULT_CONFIG).find((name) => name.toLowerCase() === k.toLowerCase());
        fail(k, `unknown setting in ${options.configFile}${likely ? ` (${likely}?)` : ''}`);
      }
      config[k] = coerceFrom(k as keyof ServerConfig, v, `in ${options.configFile}`);
    }
  }
  const env = options.env ?? process.env;
  for (const [name, key] of Object.entries(ENVIRONMENT)) {
    const v = env[name];
    if (v !== undefined && v !== '') config[key] = coerceFrom(key, v, `from ${name}`);
  }
  for (const [k, v] of Object.entries(options.flags ?? {})) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_CONFIG)) fail(k, 'unknown setting');
    config[k] = coerce(k as keyof ServerConfig, v);
  }
  return validate(config as unknown as ServerConfig);
}
