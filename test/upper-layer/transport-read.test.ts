/**
 * connectTransport's reads (net.connect's onread, one reused read buffer): every byte the peer
 * sends arrives, in order, and a chunk already handed to onData stays as it was while later reads
 * come in (the framer and the assembler keep views of chunks), for small reads (copied out of the
 * reused buffer) and large ones (the buffer handed over) alike.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { connectTransport, type TransportConnection } from '../../src/upper-layer/transport.js';

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

async function peer(): Promise<{ server: net.Server; port: number; accepted: Promise<net.Socket> }> {
  const server = net.createServer();
  const accepted = once(server, 'connection').then(([s]) => s as net.Socket);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as net.AddressInfo).port, accepted };
}

function client(port: number): { conn: TransportConnection; chunks: Uint8Array[]; connected: Promise<void>; closed: Promise<void>; total: () => number; reached: (n: number) => Promise<void> } {
  const chunks: Uint8Array[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  const total = (): number => chunks.reduce((s, c) => s + c.length, 0);
  let connectedResolve!: () => void;
  let closedResolve!: () => void;
  const connected = new Promise<void>((r) => (connectedResolve = r));
  const closed = new Promise<void>((r) => (closedResolve = r));
  const conn = connectTransport({ host: '127.0.0.1', port }, {
    onConnect: () => connectedResolve(),
    onData: (chunk) => {
      chunks.push(chunk);
      if (waiter && total() >= waiter.n) waiter.resolve();
    },
    onClose: () => closedResolve(),
  });
  const reached = (n: number): Promise<void> => (total() >= n ? Promise.resolve() : new Promise((resolve) => (waiter = { n, resolve })));
  return { conn, chunks, connected, closed, total, reached };
}

test('small and large reads arrive whole and in order, and chunks already received are never overwritten', { timeout: 20_000 }, async () => {
  const { server, port, accepted } = await peer();
  const c = client(port);
  await c.connected;
  const s = await accepted;
  s.setNoDelay(true);
  // Small writes, each waited for so that each is a read of its own, then large ones, then small again.
  const sizes = [200, 2, 1000, 300 * 1024, 200, 70 * 1024, 17 * 1024, 16 * 1024, 5, 64 * 1024, 199];
  const sent: Buffer[] = [];
  let expected = 0;
  for (const [i, n] of sizes.entries()) {
    const b = pattern(n, i + 1);
    sent.push(b);
    expected += n;
    s.write(b);
    await c.reached(expected);
  }
  const all = Buffer.concat(sent);
  // Compared only now: an early chunk overwritten by a later read would show here.
  assert.equal(c.total(), all.length);
  assert.deepEqual(Buffer.concat(c.chunks), all);
  s.end();
  await c.closed;
  server.close();
});
