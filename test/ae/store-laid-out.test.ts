/**
 * C-STOREs whose data sets are read into the places their PDUs give them (dimse/laid-out.ts): each
 * message that fits a read buffer goes out in one write, every PDU within the peer's Maximum Length
 * Received (PS3.8 Annex D.1), every fragment even (Annex E.1), and every data set arrives as in its
 * file. The wire is checked by a TCP relay between client and server that parses what the client
 * sends: PDU by PDU, PDV by PDV. Peers' maxima: 0 (no limit), small odd values, 16,384, 131,072.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, proposalsFor, type StoreRequest } from '../../src/ae/index.js';
import { dataSetLayout, SlotBuffer, Status } from '../../src/dimse/index.js';
import { DEFAULT_MAX_SEND_PDU_LENGTH } from '../../src/upper-layer/association.js';
import { DEFAULT_READ_BUFFER_SIZE, readAndDescribeIntoSlotsSync, type SendableFile } from '../../src/services/storage/file-source.js';
import { assertBytes, CT_IMAGE_STORAGE, recordOpens, EXPLICIT_LE, readAll, startServer, writeCtFilesOfSizes } from './helpers.js';

interface WireRecord {
  /** PDU-length of every P-DATA-TF the client sent. */
  pDataLengths: number[];
  /** Problems found in what the client sent (none expected). */
  problems: string[];
}

/**
 * A relay on a port of its own to `port`, parsing the client's bytes: every P-DATA-TF's PDU-length
 * against `limit` (0: none), and its PDV items (lengths adding up, even fragments, control header).
 */
async function relay(port: number, limit: number): Promise<{ port: number; wire: WireRecord; close(): Promise<void> }> {
  const wire: WireRecord = { pDataLengths: [], problems: [] };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    let pending = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 6) {
        const length = pending.readUInt32BE(2);
        if (pending.length < 6 + length) break;
        if (pending[0] === 0x04) checkPDataTf(pending.subarray(6, 6 + length), limit, wire);
        pending = pending.subarray(6 + length);
      }
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', () => upstream.end());
    upstream.on('close', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    wire,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function checkPDataTf(body: Buffer, limit: number, wire: WireRecord): void {
  wire.pDataLengths.push(body.length);
  if (limit > 0 && body.length > limit) wire.problems.push(`P-DATA-TF of PDU-length ${body.length} > ${limit}`);
  let at = 0;
  while (at < body.length) {
    const itemLength = body.readUInt32BE(at);
    const fragment = itemLength - 2;
    if (at + 4 + itemLength > body.length) wire.problems.push(`PDV item of length ${itemLength} overruns its PDU`);
    if (fragment % 2 !== 0) wire.problems.push(`odd fragment of ${fragment} bytes`);
    if ((body[at + 5]! & 0xfc) !== 0) wire.problems.push('Message Control Header bits 2-7 set');
    at += 4 + itemLength;
  }
}

const bytesOf = (file: SendableFile): number => file.size - file.dataSetOffset;

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-laid-out-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// 0: no limit (the sender keeps to its own cap); odd and small; DCMTK's default; storescp's largest.
for (const maxPduLength of [0, 255, 1001, 4097, 16384, 131072]) {
  for (const synchronousFileReads of [true, false]) {
    test(`peer's maximum ${maxPduLength} (${synchronousFileReads ? 'synchronous' : 'thread-pool'} reads): every PDU within it, fragments even, data sets unchanged, one write per message laid out`, async (t) => {
      const dir = tempDir(t);
      const received = new Map<string, Uint8Array>();
      const server = await startServer({
        aeTitle: 'STORE-SCP', maxPduLength,
        handlers: { store: async (req: StoreRequest) => void received.set(req.sopInstanceUid, await readAll(req.dataSet)) },
      });
      const limit = maxPduLength === 0 ? DEFAULT_MAX_SEND_PDU_LENGTH : maxPduLength;
      const layout = dataSetLayout(limit);
      const slotsHold = new SlotBuffer(new Uint8Array(DEFAULT_READ_BUFFER_SIZE), layout).slots(layout.fragmentLength).reduce((n, v) => n + v.length, 0);
      const proxy = await relay(server.port, limit);
      // Around the fragment lengths and the read buffer; 8: a data set in the first slot alone.
      const sizes = [8, 1_000, 16_374, 16_378, 40_000, 500_002, DEFAULT_READ_BUFFER_SIZE - 4_000, DEFAULT_READ_BUFFER_SIZE + 70_000, 30_000];
      const { files, bodies } = await writeCtFilesOfSizes(dir, sizes, [11, 29]);
      const opened = recordOpens(t);
      try {
        const client = await connect({
          host: '127.0.0.1', port: proxy.port, synchronousFileReads,
          presentationContexts: proposalsFor([{ sopClassUid: CT_IMAGE_STORAGE, transferSyntaxUid: EXPLICIT_LE }]),
        });
        const socket = (client.association as unknown as { dul: { transport: { socket: Record<string, (...args: unknown[]) => unknown> } } }).dul.transport.socket;
        let writes = 0;
        // socket.write calls per C-STORE: one buffer per message laid out (not a part per PDU under cork).
        const original = socket.write!;
        socket.write = function (this: unknown, ...args: unknown[]) {
          writes++;
          return original.apply(this, args);
        };
        let laidOutByReader = 0;
        for (const [i, file] of files.entries()) {
          const after = files[i + 1];
          // Every other file is named by a reader that reads it into the slots from its first byte
          // (as `conduit store` does), the others by their description (read from the data set on).
          const next = after === undefined ? undefined : i % 2 === 0 ? after : (_buffer: Uint8Array, slots?: Parameters<typeof readAndDescribeIntoSlotsSync>[1]) => {
            assert.ok(slots, 'the client lays data sets out');
            const read = readAndDescribeIntoSlotsSync(after.path, slots);
            if (read === undefined) return { file: after };
            laidOutByReader++;
            assert.deepEqual(read.file, after, 'described from the slots as describeFile describes it');
            // The client stores `after` itself next: the description read here is the same file.
            return { file: after, dataSet: read.dataSet };
          };
          writes = 0;
          const status = await client.store(file, next === undefined ? {} : { next });
          assert.equal(status.code, Status.Success, `file ${i}`);
          const bytes = bytesOf(file);
          // Laid out (one write) when the slots hold it, else streamed (the two ways of reading
          // differ by the first slot's length: sizes within a few KiB of the capacity are not judged).
          if (bytes < slotsHold - 4096) assert.equal(writes, 1, `file ${i} (${bytes} bytes): one socket.write of one buffer for the whole message`);
          else if (bytes > slotsHold + 4096) assert.ok(writes > 1, `file ${i} (${bytes} bytes): streamed`);
        }
        await client.release();
        if (synchronousFileReads && bytesOf(files[5]!) > slotsHold) {
          // Larger than the slots hold (a small maximum's 1,024 slots): streamed, not first read whole in vain.
          assert.equal(opened.filter((p) => p === files[5]!.path).length, 1, 'the file too large for the slots is opened once');
        }
        if (maxPduLength >= 1001) assert.ok(laidOutByReader >= 3, `${laidOutByReader} files read into the slots by the reader`);
      } finally {
        await proxy.close();
        await server.close();
      }
      assert.deepEqual(proxy.wire.problems, []);
      assert.ok(proxy.wire.pDataLengths.length >= files.length * 2, 'command and data set PDUs seen');
      assert.ok(Math.max(...proxy.wire.pDataLengths) <= limit);
      assert.equal(received.size, files.length);
      for (const [uid, body] of bodies) assertBytes(received.get(uid)!, body, `data set ${uid}`);
    });
  }
}
