#!/usr/bin/env node
/**
 * What plain Node.js (no DICOM) costs in peak RSS to move one large file over a loopback socket:
 * the floor under `conduit listen` / `conduit store` in bench/network.sh's memory cell.
 *
 *   node bench/net/node-floor.mjs serve-discard PORT        a peer that reads and drops everything
 *   node bench/net/node-floor.mjs serve-send PORT FILE      a peer that sends FILE to whoever connects
 *   node bench/net/node-floor.mjs recv PORT data|onread     receive from serve-send; prints the growth
 *   node bench/net/node-floor.mjs send PORT FILE stream|reuse   send FILE to serve-discard; prints the growth
 *
 * recv data:    socket 'data' events (Node allocates a new 64 KiB buffer per read; what net.Server gives)
 * recv onread:  net.connect({onread: {buffer}}): one static buffer reused for every read (client sockets only in Node 20)
 * send stream:  fs.createReadStream(FILE, {highWaterMark: 1 MiB}) written to the socket, honouring 'drain'
 * send reuse:   FILE read into two 256 KiB buffers, each reused once the socket's write callback for it fired
 * Growth = VmHWM (/proc/self/status) at the end minus VmHWM once connected, in KiB (one number on stdout).
 */
import { createReadStream, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import net from 'node:net';

const [mode, portText, a, b] = process.argv.slice(2);
const port = Number(portText);
const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);

if (mode === 'serve-discard') {
  net.createServer((s) => {
    s.resume();
    s.on('end', () => s.end());
    s.on('error', () => undefined);
  }).listen(port, '127.0.0.1');
} else if (mode === 'serve-send') {
  net.createServer((s) => {
    s.on('error', () => undefined);
    createReadStream(a, { highWaterMark: 1 << 20 }).pipe(s);
  }).listen(port, '127.0.0.1');
} else if (mode === 'recv') {
  let n = 0;
  const s = net.connect({
    port,
    host: '127.0.0.1',
    ...(a === 'onread' ? { onread: { buffer: Buffer.alloc(64 << 10), callback: (k) => void (n += k) } } : {}),
  });
  await new Promise((r) => s.on('connect', r));
  const idle = hwm();
  if (a !== 'onread') s.on('data', (c) => void (n += c.length));
  await new Promise((r) => s.on('end', r));
  s.destroy();
  if (n === 0) throw new Error('nothing received');
  process.stdout.write(`${hwm() - idle}\n`);
} else if (mode === 'send') {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.on('connect', r));
  const idle = hwm();
  if (b === 'reuse') {
    const fh = await open(a);
    const bufs = [Buffer.allocUnsafeSlow(256 << 10), Buffer.allocUnsafeSlow(256 << 10)];
    const written = [Promise.resolve(), Promise.resolve()];
    let pos = 0;
    for (let i = 0; ; i ^= 1) {
      await written[i];
      const { bytesRead } = await fh.read(bufs[i], 0, bufs[i].length, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      written[i] = new Promise((r) => s.write(bufs[i].subarray(0, bytesRead), r));
    }
    await Promise.all(written);
    await fh.close();
  } else {
    for await (const chunk of createReadStream(a, { highWaterMark: 1 << 20 })) {
      if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
    }
  }
  s.end();
  await new Promise((r) => s.on('close', r));
  process.stdout.write(`${hwm() - idle}\n`);
} else {
  process.stderr.write('usage: node-floor.mjs serve-discard PORT | serve-send PORT FILE | recv PORT data|onread | send PORT FILE stream|reuse\n');
  process.exit(2);
}
