/**
 * Helpers for the over-the-wire tests: a scripted raw-socket peer with its own minimal PDU reader
 * (independent of the framer under test), a log of state machine transitions read from the
 * 'conduit:upper-layer:state' diagnostics channel, and waiting with timeouts (no sleeps).
 */
import net from 'node:net';
import diagnosticsChannel from 'node:diagnostics_channel';
import { STATE_CHANNEL } from '../../src/upper-layer/index.js';
import type { StateTrace } from '../../src/upper-layer/index.js';

export const WAIT_MS = 3000;

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface RawPdu {
  type: number;
  body: Buffer;
}

/** A TCP peer driven by the test: it sends raw bytes and reads PDUs, parsing only the 6-byte header. */
export class RawPeer {
  readonly socket: net.Socket;
  private buffer = Buffer.alloc(0);
  private readonly queue: RawPdu[] = [];
  private waiters: Array<{ resolve: (p: RawPdu) => void; reject: (e: Error) => void }> = [];
  readonly closed: Promise<void>;
  private isClosed = false;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 6) {
        const length = this.buffer.readUInt32BE(2);
        if (this.buffer.length < 6 + length) break;
        const pdu = { type: this.buffer[0]!, body: this.buffer.subarray(6, 6 + length) };
        this.buffer = this.buffer.subarray(6 + length);
        const w = this.waiters.shift();
        if (w) w.resolve(pdu);
        else this.queue.push(pdu);
      }
    });
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.isClosed = true;
      // No PDU can come any more: fail the readers now rather than at their timeout.
      for (const w of this.waiters) w.reject(new Error('the connection closed before a PDU came'));
      this.waiters = [];
      resolve();
    }));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  get closedYet(): boolean {
    return this.isClosed;
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  nextPdu(ms = WAIT_MS): Promise<RawPdu> {
    const q = this.queue.shift();
    if (q) return Promise.resolve(q);
    if (this.isClosed) return Promise.reject(new Error('the connection is closed'));
    return withTimeout(new Promise<RawPdu>((resolve, reject) => this.waiters.push({ resolve, reject })), ms, 'a PDU from the peer under test');
  }

  /** PDUs received and not read yet. */
  get pending(): number {
    return this.queue.length;
  }

  waitClosed(ms = WAIT_MS): Promise<void> {
    return withTimeout(this.closed, ms, 'the connection to close');
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A raw acceptor: a TCP server handing each connection to the test as a RawPeer. */
export class RawServer {
  private readonly server: net.Server;
  private readonly connections: RawPeer[] = [];
  private readonly waiters: Array<(p: RawPeer) => void> = [];

  private constructor(server: net.Server) {
    this.server = server;
    server.on('connection', (s) => {
      const peer = new RawPeer(s);
      const w = this.waiters.shift();
      if (w) w(peer);
      else this.connections.push(peer);
    });
  }

  static async listen(): Promise<RawServer> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new RawServer(server);
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  nextConnection(ms = WAIT_MS): Promise<RawPeer> {
    const c = this.connections.shift();
    if (c) return Promise.resolve(c);
    return withTimeout(new Promise<RawPeer>((resolve) => this.waiters.push(resolve)), ms, 'a connection');
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Records the state machine transitions published on the state channel. */
export class TransitionLog {
  readonly entries: StateTrace[] = [];
  private waiters: Array<{ pred: (t: StateTrace) => boolean; resolve: (t: StateTrace) => void }> = [];
  private readonly onMessage = (message: unknown): void => {
    const t = message as StateTrace;
    this.entries.push(t);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(t)) return true;
      w.resolve(t);
      return false;
    });
  };

  constructor() {
    diagnosticsChannel.subscribe(STATE_CHANNEL, this.onMessage);
  }

  find(pred: (t: StateTrace) => boolean): StateTrace | undefined {
    return this.entries.find(pred);
  }

  waitFor(pred: (t: StateTrace) => boolean, what: string, ms = WAIT_MS): Promise<StateTrace> {
    const found = this.entries.find(pred);
    if (found) return Promise.resolve(found);
    return withTimeout(new Promise<StateTrace>((resolve) => this.waiters.push({ pred, resolve })), ms, what);
  }

  /** The transitions of one connection, as 'Sta6 Evt10 DT-2 Sta6'. */
  of(connectionId: string): string[] {
    return this.entries.filter((t) => t.connectionId === connectionId).map((t) => `${t.from} ${t.event} ${t.action} ${t.to}`);
  }

  dispose(): void {
    diagnosticsChannel.unsubscribe(STATE_CHANNEL, this.onMessage);
  }
}
