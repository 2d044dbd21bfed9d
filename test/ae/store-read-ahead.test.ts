/**
 * client.store(file, { next }): the next file's data set is read while the response is awaited,
 * into the client's reused read buffers. Every data set must still arrive exactly as in its file:
 * small ones read ahead, one larger than a read buffer (not read ahead, sent in several chunks)
 * between them, and a `next` that is not the file stored next (discarded). A message whose data set
 * fits in a read buffer goes out in one write (command and every data PDU).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs, { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, describeFile, proposalsFor, type StoreRequest } from '../../src/ae/index.js';
import { Status } from '../../src/dimse/index.js';
import { DEFAULT_READ_BUFFER_SIZE } from '../../src/services/storage/file-source.js';
import { assertBytes, CT_IMAGE_STORAGE, recordOpens, ctDataSet, EXPLICIT_LE, readAll, startServer, writeCtFilesOfSizes, writePart10 } from './helpers.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-read-ahead-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

for (const synchronousFileReads of [true, false]) {
  test(`store with next (${synchronousFileReads ? 'synchronous' : 'thread-pool'} reads): every data set arrives as in its file; files are read ahead`, async (t) => {
    const dir = tempDir(t);
    const received = new Map<string, Uint8Array>();
    const { port, close } = await startServer({
      aeTitle: 'STORE-SCP',
      handlers: { store: async (req: StoreRequest) => void received.set(req.sopInstanceUid, await readAll(req.dataSet)) },
    });
    // Sizes around the 16 KiB PDUs and the 1 MiB read buffers; each file's bytes differ.
    const sizes = [40_000, 300_000, DEFAULT_READ_BUFFER_SIZE + 70_000, 20_000, 500_000, 16_000, 2 * DEFAULT_READ_BUFFER_SIZE + 2, 90_000, 8];
    const { files, bodies } = await writeCtFilesOfSizes(dir, sizes, [7, 13]);
    const opened = recordOpens(t);
    try {
      const client = await connect({
        host: '127.0.0.1', port, synchronousFileReads, maxPduLength: 16384,
        presentationContexts: proposalsFor([{ sopClassUid: CT_IMAGE_STORAGE, transferSyntaxUid: EXPLICIT_LE }]),
      });
      // The writes handed to the client socket's handle, per C-STORE.
      const socket = (client.association as unknown as { dul: { transport: { socket: Record<string, (...args: unknown[]) => unknown> } } }).dul.transport.socket;
      let writes = 0;
      for (const name of ['_writev', '_write']) {
        const original = socket[name]!;
        socket[name] = function (this: unknown, ...args: unknown[]) {
          writes++;
          return original.apply(this, args);
        };
      }
      for (const [i, file] of files.entries()) {
        // File 4 names a `next` that is not stored next: what was read ahead must be dropped.
        const next = i === 4 ? files[7] : files[i + 1];
        writes = 0;
        const status = await client.store(file, next === undefined ? {} : { next });
        assert.equal(status.code, Status.Success, `file ${i}`);
        // A data set that fits in a read buffer goes out with its command in one write (all its PDUs).
        if (file.size - file.dataSetOffset < DEFAULT_READ_BUFFER_SIZE) assert.equal(writes, 1, `file ${i}: one write for the whole message`);
        else assert.ok(writes > 1, `file ${i}: streamed`);
      }
      await client.release();
    } finally {
      await close();
    }
    assert.equal(received.size, files.length);
    for (const [uid, body] of bodies) assertBytes(received.get(uid)!, body, `data set ${uid}`);
    if (synchronousFileReads) {
      // Read ahead: file 1 is opened right after file 0 (before its response), and so on; the file
      // larger than a buffer (2) and the wrong `next` (7, named by file 4) are opened again when stored.
      const count = (i: number) => opened.filter((p) => p === files[i]!.path).length;
      assert.equal(count(2), 1, 'not read ahead: opened once, when stored');
      assert.equal(count(7), 2, 'read ahead for the wrong message, then read again');
      assert.equal(count(1), 1);
    }
  });
}

test('a file whose data set has an odd length, read whole: refused before anything is sent, the association stays', async (t) => {
  const dir = tempDir(t);
  const { port, close } = await startServer({ aeTitle: 'STORE-SCP', handlers: { store: async (req: StoreRequest) => void (await readAll(req.dataSet)) } });
  try {
    const good = join(dir, 'good.dcm');
    writePart10(good, ctDataSet(), EXPLICIT_LE);
    const odd = join(dir, 'odd.dcm');
    writePart10(odd, ctDataSet(), EXPLICIT_LE);
    fs.appendFileSync(odd, new Uint8Array(1));
    const client = await connect({ host: '127.0.0.1', port, synchronousFileReads: true, presentationContexts: proposalsFor([{ sopClassUid: CT_IMAGE_STORAGE, transferSyntaxUid: EXPLICIT_LE }]) });
    await assert.rejects(client.store(await describeFile(odd)), { code: 'ERR_DICOM_DIMSE_ODD_LENGTH' });
    assert.equal(client.association.state, 'Sta6', 'not aborted: nothing of the message was sent');
    assert.equal((await client.store(await describeFile(good))).code, Status.Success);
    await client.release();
  } finally {
    await close();
  }
});
