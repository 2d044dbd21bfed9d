/**
 * The TCP (and TLS) transport service of PS3.8 §9.1: the only module that touches node:net and
 * node:tls. It opens and accepts connections with Nagle off (setNoDelay: a DIMSE exchange is
 * request/response, and Nagle plus delayed ACKs costs tens of milliseconds per round trip), writes a
 * whole PDU at once (one buffer, or parts under cork/uncork so they go out in one writev), reports
 * back-pressure, and closes with a FIN after pending writes (PS3.8 §9.1.4: "don't linger").
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import type tls from 'node:tls';
import { DicomError } from '../core/dicom-error.js';
import { DEFAULT_COLLECT_EVERY, ReceiveCollector } from '../core/young-generation-gc.js';

/** TCP keep-alive: the first probe after this long without traffic (the system then probes a few times). */
const KEEPALIVE_DELAY_MS = 60_000;

let tlsModule: typeof tls | undefined;

/**
 * node:tls, loaded when the first TLS connection is opened or accepted: loading it (and the
 * node:crypto it pulls in) costs ~5 ms at every start of a process that may never use TLS, such
 * as a plain `conduit store`. A socket is a TLSSocket only if this module has been loaded.
 */
function nodeTls(): typeof tls {
  return (tlsModule ??= createRequire(import.meta.url)('node:tls') as typeof tls);
}

/** TLS for the requestor (PS3.15 secure transport connection profiles). */
export interface TlsClientOptions {
  /** Trusted CA certificates (PEM); default: Node's bundled roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate and key, for peers that ask for client authentication. */
  cert?: string | Buffer | Array<string | Buffer>;
  key?: string | Buffer | Array<string | Buffer>;
  /** Verify the server's certificate against `ca` (default true). */
  rejectUnauthorized?: boolean;
  /** Server name for SNI and host name verification; default: the host connected to (not an IP). */
  servername?: string;
  minVersion?: tls.SecureVersion;
  ciphers?: string;
}

/** TLS for the acceptor. */
export interface TlsServerOptions {
  cert: string | Buffer | Array<string | Buffer>;
  key: string | Buffer | Array<string | Buffer>;
  /** CA certificates to verify client certificates against. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Ask the requestor for a certificate (client authentication). */
  requestCert?: boolean;
  /** With requestCert: refuse connections whose certificate does not verify (default true). */
  rejectUnauthorized?: boolean;
  minVersion?: tls.SecureVersion;
  ciphers?: string;
}

/** What the TLS credentials are called in messages: the CLI gives its flags and files. */
export interface TlsCredentialNames {
  key?: string;
  cert?: string;
  /** One name per CA entry, in order. */
  ca?: readonly string[];
}

type Pem = string | Buffer | Array<string | Buffer>;

function pemText(value: string | Buffer): string {
  return typeof value === 'string' ? value : value.toString('latin1');
}

/**
 * Checks a private key, certificate and CAs before they are used, so that a wrong file is named
 * in words (ERR_DICOM_INVALID_ARGUMENT) instead of OpenSSL's "error:05800074:x509 certificate
 * routines::key values mismatch": a key that is not PEM or is encrypted, a certificate that is
 * not PEM, a key that is not the certificate's, a CA file with no certificate in it (which
 * OpenSSL ignores, so that every server then fails to verify for no visible reason).
 */
export function checkTlsCredentials(options: { key?: Pem; cert?: Pem; ca?: Pem }, names: TlsCredentialNames = {}): void {
  const keyName = names.key ?? 'tls.key';
  const certName = names.cert ?? 'tls.cert';
  const fail = (message: string, cause?: unknown): never => {
    throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', message, cause !== undefined ? { cause } : undefined);
  };
  const cas = options.ca === undefined ? [] : Array.isArray(options.ca) ? options.ca : [options.ca];
  cas.forEach((ca, i) => {
    if (!/-----BEGIN (TRUSTED )?CERTIFICATE-----/.test(pemText(ca))) {
      fail(`${names.ca?.[i] ?? `tls.ca[${i}]`} holds no certificate in PEM form ("-----BEGIN CERTIFICATE-----")`);
    }
  });
  const opensslCode = (err: unknown): string => String((err as { code?: unknown }).code ?? '');
  if (options.key !== undefined) {
    try {
      nodeTls().createSecureContext({ key: options.key });
    } catch (err) {
      if (opensslCode(err) === 'ERR_OSSL_BAD_DECRYPT' || /ENCRYPTED/.test(pemText([options.key].flat()[0]!))) {
        fail(`${keyName} is encrypted; a passphrase is not supported: give it decrypted (openssl pkey -in KEY -out PLAIN.key)`, err);
      }
      fail(`${keyName} holds no private key in PEM form ("-----BEGIN PRIVATE KEY-----")`, err);
    }
  }
  if (options.cert !== undefined) {
    try {
      nodeTls().createSecureContext({ cert: options.cert });
    } catch (err) {
      fail(`${certName} holds no certificate in PEM form ("-----BEGIN CERTIFICATE-----")`, err);
    }
  }
  if (options.key !== undefined && options.cert !== undefined) {
    try {
      nodeTls().createSecureContext({ key: options.key, cert: options.cert });
    } catch (err) {
      if (opensslCode(err) === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH') fail(`${keyName} is not the private key of ${certName}`, err);
      fail(`${keyName} and ${certName} cannot be used: ${(err as Error).message}`, err);
    }
  }
}

/** Where an acceptor's PEM files are: its key and certificate, and the CAs its requestors must verify against (none: no client authentication). */
export interface TlsServerFiles {
  key: string;
  cert: string;
  ca: readonly string[];
  /** With ca: ask for a client certificate but accept any (testing only). */
  noVerify: boolean;
}

/**
 * An acceptor's TLS options from its PEM files, each read with `read` (which says, in the caller's
 * words, a file that cannot be read) and checked by checkTlsCredentials under `names`: with CAs,
 * requestors are asked for a certificate that must verify against them unless `noVerify`.
 */
export function tlsServerOptionsFromFiles(files: TlsServerFiles, read: (path: string, role: 'key' | 'cert' | 'ca') => Buffer, names: TlsCredentialNames): TlsServerOptions {
  const options: TlsServerOptions = {
    key: read(files.key, 'key'),
    cert: read(files.cert, 'cert'),
    ...(files.ca.length > 0 ? { ca: files.ca.map((f) => read(f, 'ca')), requestCert: true, rejectUnauthorized: !files.noVerify } : {}),
  };
  checkTlsCredentials(options, names);
  return options;
}

/** An error OpenSSL raised on the credentials, said in words when checkTlsCredentials finds why. */
function credentialError(err: unknown, options: { key?: Pem; cert?: Pem; ca?: Pem }): unknown {
  if (err instanceof DicomError || !/^ERR_OSSL/.test(String((err as { code?: unknown }).code ?? ''))) return err;
  try {
    checkTlsCredentials(options);
  } catch (clear) {
    return clear;
  }
  return new DicomError('ERR_DICOM_INVALID_ARGUMENT', `the TLS credentials cannot be used: ${(err as Error).message}`, { cause: err });
}

export interface TransportHandlers {
  /** The connection is open (for TLS: the handshake is done). */
  onConnect(): void;
  onData(chunk: Uint8Array): void;
  /** The connection is closed; `error` if it failed (refused, reset, TLS). */
  onClose(error: Error | undefined): void;
}

export interface PeerInfo {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  /** Present for TLS connections. */
  tls?: { authorized: boolean; authorizationError?: string; peerCertificate?: tls.PeerCertificate; protocol: string | null };
}

/** One transport connection, whichever side opened it. */
export class TransportConnection {
  private readonly socket: net.Socket;
  private handlers: TransportHandlers | undefined;
  private closed = false;
  private error: Error | undefined;
  private drainWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private flushWaiters: Array<() => void> = [];
  private lingerTimer: NodeJS.Timeout | undefined;
  /** Time after end() before the socket is destroyed if the peer does not close its side. */
  private readonly closeTimeout: number;

  private readonly collector: ReceiveCollector | undefined;

  /** @internal use connectTransport / listenTransport */
  constructor(socket: net.Socket, closeTimeout: number, collector?: ReceiveCollector) {
    this.socket = socket;
    this.closeTimeout = closeTimeout;
    this.collector = collector;
    socket.setNoDelay(true);
    // A peer host that vanished (power off, cable pulled) sends no FIN: keep-alive probes find it
    // even when no timer of the association runs.
    socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    socket.on('error', (err) => {
      this.error ??= err;
    });
    socket.on('drain', () => this.settleDrain(undefined));
    socket.on('close', () => {
      this.closed = true;
      if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer);
      this.settleDrain(new DicomError('ERR_DICOM_ASSOCIATION_CONNECTION_LOST', 'the transport connection closed before pending data was written', this.error ? { cause: this.error } : {}));
      // Nothing pending will be written any more: the buffers it referred to are free again.
      this.settleFlush();
      this.handlers?.onClose(this.error);
    });
  }

  /** Starts delivering events; data read before this is held by the socket (it starts paused). */
  attach(handlers: TransportHandlers): void {
    this.handlers = handlers;
    const collector = this.collector;
    this.socket.on('data', collector === undefined ? (chunk: Buffer) => handlers.onData(chunk) : (chunk: Buffer) => {
      handlers.onData(chunk);
      collector.received(chunk.length);
    });
  }

  /** @internal Bytes read through the socket's own read buffer (connectTransport's onread), copied or handed over. */
  received(chunk: Uint8Array): void {
    this.handlers?.onData(chunk);
    this.collector?.received(chunk.length);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get peer(): PeerInfo {
    const s = this.socket;
    const info: PeerInfo = { remoteAddress: s.remoteAddress, remotePort: s.remotePort, localAddress: s.localAddress, localPort: s.localPort };
    if (tlsModule !== undefined && s instanceof tlsModule.TLSSocket) {
      const certificate = s.getPeerCertificate();
      info.tls = {
        authorized: s.authorized,
        ...(s.authorizationError ? { authorizationError: String(s.authorizationError) } : {}),
        // An empty object means the peer sent no certificate.
        ...(certificate && Object.keys(certificate).length > 0 ? { peerCertificate: certificate } : {}),
        protocol: s.getProtocol(),
      };
    }
    return info;
  }

  /**
   * Writes one PDU, or several (their parts back to back), in one writev. Returns false when the socket's buffer
   * is over its high-water mark: wait for `drained()` before writing more.
   */
  write(parts: readonly Uint8Array[]): boolean {
    if (this.closed || this.socket.destroyed || this.socket.writableEnded) return false;
    if (parts.length === 1) return this.socket.write(parts[0]!, this.onWritten);
    this.socket.cork();
    let ok = true;
    const last = parts.length - 1;
    for (let i = 0; i < last; i++) ok = this.socket.write(parts[i]!);
    ok = this.socket.write(parts[last]!, this.onWritten);
    this.socket.uncork();
    return ok;
  }

  /**
   * Resolves once every byte written so far has been handed to the operating system (or the
   * connection is closed): from then on the buffers given to write() are no longer referenced and
   * may be reused.
   */
  flushed(): Promise<void> {
    if (this.closed || this.socket.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push(resolve));
  }

  private readonly onWritten = (): void => {
    if (this.flushWaiters.length > 0 && this.socket.writableLength === 0) this.settleFlush();
  };

  private settleFlush(): void {
    const waiters = this.flushWaiters;
    if (waiters.length === 0) return;
    this.flushWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when the write buffer has drained; rejects if the connection closes first. */
  drained(): Promise<void> {
    if (this.closed) return Promise.reject(new DicomError('ERR_DICOM_ASSOCIATION_CONNECTION_LOST', 'the transport connection is closed'));
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  /** Stops reading from the socket (TCP flow control pushes back on the peer) until resume(). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Closes after pending writes (FIN); destroys the socket if the peer has not closed within the close timeout. */
  close(): void {
    if (this.closed) return;
    if (this.socket.connecting) {
      // Nothing was exchanged yet (AA-2 in Sta4): there is nothing to flush.
      this.socket.destroy();
      return;
    }
    this.socket.end();
    if (this.lingerTimer === undefined) {
      this.lingerTimer = setTimeout(() => this.socket.destroy(), this.closeTimeout);
      this.lingerTimer.unref();
    }
  }

  /** Closes at once, dropping pending writes. */
  destroy(error?: Error): void {
    if (error !== undefined) this.error ??= error;
    this.socket.destroy();
  }

  private settleDrain(error: Error | undefined): void {
    const waiters = this.drainWaiters;
    if (waiters.length === 0) return;
    this.drainWaiters = [];
    for (const w of waiters) {
      if (error === undefined) w.resolve();
      else w.reject(error);
    }
  }
}

/**
 * The socket's write high-water mark: a group of PDUs of up to this many bytes (one message's worth
 * for a typical image) is queued without waiting for 'drain'. Node's default is 16 KiB.
 */
export const DEFAULT_WRITE_HIGH_WATER_MARK = 1 << 20;

export interface ConnectOptions {
  host: string;
  port: number;
  tls?: TlsClientOptions;
  /** Local address to connect from. */
  localAddress?: string;
  /** See TransportConnection.close; default 5000 ms. */
  closeTimeout?: number;
  /** Bytes received between forced young-generation collections (young-generation-gc.ts); 0 = none. Default 4 MiB. */
  collectGarbageEvery?: number;
}

/**
 * Issues a TRANSPORT CONNECT request (PS3.8 §9.1.2, active open). `handlers.onConnect` is the
 * Transport Connection Confirmation; a failure arrives as `onClose(error)`.
 */
export function connectTransport(options: ConnectOptions, handlers: TransportHandlers): TransportConnection {
  let socket: net.Socket;
  const closeTimeout = options.closeTimeout ?? 5000;
  if (options.tls !== undefined) {
    const t = options.tls;
    try {
      socket = nodeTls().connect({
        host: options.host,
        port: options.port,
        ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
        ...(t.ca !== undefined ? { ca: t.ca } : {}),
        ...(t.cert !== undefined ? { cert: t.cert } : {}),
        ...(t.key !== undefined ? { key: t.key } : {}),
        rejectUnauthorized: t.rejectUnauthorized ?? true,
        ...(t.servername !== undefined ? { servername: t.servername } : net.isIP(options.host) ? {} : { servername: options.host }),
        ...(t.minVersion !== undefined ? { minVersion: t.minVersion } : {}),
        ...(t.ciphers !== undefined ? { ciphers: t.ciphers } : {}),
      });
    } catch (err) {
      throw credentialError(err, t);
    }
  } else {
    // net.connect hands its options to the Socket constructor, a Duplex: the high-water mark is
    // honoured though @types/node leaves it out of NetConnectOpts.
    const reader = new ReadBuffer();
    const connectOptions: net.NetConnectOpts & { writableHighWaterMark: number } = {
      host: options.host, port: options.port, writableHighWaterMark: DEFAULT_WRITE_HIGH_WATER_MARK,
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      onread: {
        buffer: () => reader.next(),
        callback: (n, buf) => {
          // Reads begin once connected, after `conn` below is assigned and attached.
          conn.received(reader.take(n, buf as Buffer));
          return true;
        },
      },
    };
    socket = net.connect(connectOptions);
  }
  const conn = new TransportConnection(socket, closeTimeout, collectorFor(options.collectGarbageEvery));
  conn.attach(handlers);
  socket.once(options.tls !== undefined ? 'secureConnect' : 'connect', () => handlers.onConnect());
  return conn;
}

/**
 * The read buffer of a requestor's socket (net.connect's onread). Node's default allocates 64 KiB
 * per read, a C-STORE-RSP of ~200 bytes included; here a small read is copied out of one reused
 * buffer into a chunk of its own size (from Buffer's pool), and a large one (a C-GET's or
 * C-FIND's data) is handed over as is, the next read going into a fresh buffer. Either way the
 * chunk is the receiver's to keep: the framer and the assembler keep views of it.
 */
class ReadBuffer {
  static readonly SIZE = 64 * 1024;
  /** Reads up to this many bytes are copied; larger ones keep the buffer. */
  static readonly COPY_LIMIT = 16 * 1024;
  private buffer = Buffer.allocUnsafeSlow(ReadBuffer.SIZE);
  private handedOver = false;

  next(): Buffer {
    if (this.handedOver) {
      this.buffer = Buffer.allocUnsafeSlow(ReadBuffer.SIZE);
      this.handedOver = false;
    }
    return this.buffer;
  }

  take(n: number, buf: Buffer): Buffer {
    if (n > ReadBuffer.COPY_LIMIT) {
      this.handedOver = true;
      return buf.subarray(0, n);
    }
    const chunk = Buffer.allocUnsafe(n);
    buf.copy(chunk, 0, 0, n);
    return chunk;
  }
}

export interface ListenOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  tls?: TlsServerOptions;
  backlog?: number;
  closeTimeout?: number;
  /** Bytes received (over all connections) between forced young-generation collections; 0 = none. Default 4 MiB. */
  collectGarbageEvery?: number;
  /** A TLS handshake failed (the connection never reaches the DICOM layer): `error` says why in words. */
  onTlsHandshakeFailed?: (error: DicomError, remoteAddress: string | undefined) => void;
}

/** Why a client's TLS handshake failed, as an administrator needs it (the OpenSSL error is the cause). */
const TLS_HANDSHAKE_FAILURES: Record<string, string> = {
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: 'the client sent no certificate, and this server requires one',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'the client does not trust this server\'s certificate (unknown CA)',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'the client refused this server\'s certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'the client refused this server\'s certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'the client found this server\'s certificate expired',
  ERR_SSL_WRONG_VERSION_NUMBER: 'the client does not speak TLS (plain DICOM to a TLS port?)',
  ERR_SSL_HTTP_REQUEST: 'the client sent an HTTP request',
  ERR_SSL_NO_SHARED_CIPHER: 'the client shares no cipher suite with this server',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'the client offers no TLS version this server accepts',
  ECONNRESET: 'the client closed the connection during the handshake',
};

/**
 * Calls `report` for each failed TLS handshake on `server`: the failure in words, the client's
 * address, and whether its certificate was what failed. With TLS 1.3 a client certificate that does
 * not verify is found after the server's side of the handshake, when the socket is already closed
 * and has forgotten its peer, so the address is taken when the connection arrives (kept by the raw
 * socket, which Node's TLSSocket holds as _parent).
 */
export function onTlsClientError(
  server: tls.Server,
  report: (error: DicomError, remoteAddress: string | undefined, certificateRefused: boolean) => void,
): void {
  const addresses = new WeakMap<object, string | undefined>();
  server.on('connection', (raw: net.Socket) => addresses.set(raw, raw.remoteAddress));
  server.on('tlsClientError', (err, socket) => {
    const unverified = socket.authorizationError;
    const authorizationError = unverified === undefined || unverified === null ? undefined : String(unverified);
    const raw = (socket as unknown as { _parent?: object })._parent;
    report(tlsHandshakeError(err, authorizationError), socket.remoteAddress ?? (raw !== undefined ? addresses.get(raw) : undefined), authorizationError !== undefined);
  });
}

/**
 * A server-side TLS handshake failure in words (ERR_DICOM_TRANSPORT, "the TLS handshake failed:
 * ..."), from a tls.Server's 'tlsClientError' and the socket's authorizationError.
 */
function tlsHandshakeError(err: Error, authorizationError: string | undefined): DicomError {
  const { code, reason } = err as { code?: string; reason?: string };
  // A client certificate that does not verify: with TLS 1.3 the server finds out after its side of
  // the handshake and closes, so the error itself is only a reset.
  const words = authorizationError !== undefined
    ? `the client's certificate does not verify against the trusted CAs (${authorizationError})`
    : (code !== undefined ? TLS_HANDSHAKE_FAILURES[code] : undefined) ?? reason ?? err.message.split('\n')[0];
  return new DicomError('ERR_DICOM_TRANSPORT', `the TLS handshake failed: ${words}`, { cause: err });
}

function collectorFor(every: number | undefined): ReceiveCollector | undefined {
  return every === 0 ? undefined : new ReceiveCollector(every ?? DEFAULT_COLLECT_EVERY);
}

export interface TransportServer {
  /** The address actually bound. */
  address(): { address: string; port: number; family: string };
  /** Stops accepting connections; resolves once every connection it accepted has closed too. */
  close(): Promise<void>;
  /**
   * A TLS server's new key, certificate and CAs (a renewed certificate): connections from now on
   * handshake with them, open ones keep theirs. Throws for credentials that cannot be used (the old
   * ones stay) and for a server without TLS.
   */
  setTlsCredentials(tls: Pick<TlsServerOptions, 'key' | 'cert' | 'ca'>): void;
}

/**
 * Listens passively (PS3.8 §9.1.2); `onConnection` receives each Transport Connection Indication.
 * For TLS the connection is handed on after a successful handshake; a failed handshake never
 * reaches the DICOM layer.
 */
export function listenTransport(options: ListenOptions, onConnection: (conn: TransportConnection) => void): Promise<TransportServer> {
  const closeTimeout = options.closeTimeout ?? 5000;
  const collector = collectorFor(options.collectGarbageEvery);
  let server: net.Server;
  if (options.tls !== undefined) {
    const t = options.tls;
    try {
      server = nodeTls().createServer({
        cert: t.cert,
        key: t.key,
        ...(t.ca !== undefined ? { ca: t.ca } : {}),
        requestCert: t.requestCert ?? false,
        rejectUnauthorized: t.rejectUnauthorized ?? true,
        ...(t.minVersion !== undefined ? { minVersion: t.minVersion } : {}),
        ...(t.ciphers !== undefined ? { ciphers: t.ciphers } : {}),
      }, (socket) => onConnection(new TransportConnection(socket, closeTimeout, collector)));
    } catch (err) {
      throw credentialError(err, t);
    }
    // A failed handshake must not bring the server down; it is reported, not thrown.
    const report = options.onTlsHandshakeFailed;
    onTlsClientError(server as tls.Server, (error, remoteAddress) => report?.(error, remoteAddress));
  } else {
    // highWaterMark sets the accepted sockets' write (and read) high-water marks.
    server = net.createServer({ highWaterMark: DEFAULT_WRITE_HIGH_WATER_MARK }, (socket) => onConnection(new TransportConnection(socket, closeTimeout, collector)));
  }
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(new DicomError('ERR_DICOM_TRANSPORT', `cannot listen on ${options.host ?? '*'}:${options.port ?? 0}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen({ host: options.host, port: options.port ?? 0, ...(options.backlog !== undefined ? { backlog: options.backlog } : {}) }, () => {
      server.off('error', onError);
      server.on('error', () => undefined);
      resolve({
        address: () => server.address() as net.AddressInfo,
        close: () => new Promise<void>((res) => server.close(() => res())),
        setTlsCredentials: (tls) => {
          if (!(server instanceof nodeTls().Server)) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'this server does not speak TLS: no credentials to replace');
          try {
            server.setSecureContext({ cert: tls.cert, key: tls.key, ...(tls.ca !== undefined ? { ca: tls.ca } : {}) });
          } catch (err) {
            throw credentialError(err, tls);
          }
        },
      });
    });
  });
}
