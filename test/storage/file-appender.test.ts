/**
 * The appenders that write a received object as it arrives: bytes in order whatever the chunking,
 * the pipelined one's bound on what it queues (the reader waits for the disk beyond WRITE_AHEAD),
 * and write errors reported rather than lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIRECT_WRITE_SIZE, DirectAppender, PipelinedAppender, WRITE_AHEAD, type FileAppender } from '../../src/storage/filesystem/file-appender.js';

function withFile(flags: string, run: (fd: number, path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-appender-'));
  const path = join(dir, 'f');
  writeFileSync(path, '');
  const fd = openSync(path, flags);
  return run(fd, path).finally(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
}

/** Chunks of varied sizes (1 byte to 300 KiB), each filled with its own byte pattern. */
function someChunks(): Uint8Array[] {
  const sizes = [1, 7, 64 * 1024, 300 * 1024, 3, DIRECT_WRITE_SIZE, 200 * 1024, 5, WRITE_AHEAD, 17];
  return sizes.map((n, i) => Uint8Array.from({ length: n }, (_, j) => (j * 13 + i * 31) & 0xff));
}

for (const [name, make] of [['PipelinedAppender', (fd: number) => new PipelinedAppender(fd)], ['DirectAppender', (fd: number) => new DirectAppender(fd)]] as const) {
  test(`${name}: writes every chunk, in order, and counts the bytes`, () => withFile('w', async (fd, path) => {
    const appender: FileAppender = make(fd);
    const parts = someChunks();
    for (const p of parts) {
      const wait = appender.add(p);
      if (wait !== undefined) await wait;
    }
    await appender.finish();
    const expected = Buffer.concat(parts);
    assert.equal(appender.bytes, expected.length);
    assert.ok(readFileSync(path).equals(expected));
  }));

  test(`${name}: a write error is reported by finish() (or add()), not lost`, () => withFile('r', async (fd) => {
    const appender: FileAppender = make(fd);
    await assert.rejects(async () => {
      for (const p of someChunks()) {
        const wait = appender.add(p);
        if (wait !== undefined) await wait;
      }
      await appender.finish();
    }, (err: NodeJS.ErrnoException) => err.code === 'EBADF');
    await appender.settled();
  }));
}

test('PipelinedAppender: one write at a time; asks the reader to wait once WRITE_AHEAD bytes are queued behind it', () => withFile('w', async (fd, path) => {
  const appender = new PipelinedAppender(fd);
  // The first chunk starts a write at once; what follows queues behind it.
  assert.equal(appender.add(new Uint8Array(10)), undefined);
  assert.equal(appender.add(new Uint8Array(WRITE_AHEAD - 1)), undefined, 'below the bound: no wait');
  const wait = appender.add(new Uint8Array(1));
  assert.ok(wait instanceof Promise, 'at the bound: the reader is told to wait');
  await wait;
  await appender.finish();
  assert.equal(appender.bytes, 10 + WRITE_AHEAD);
  assert.equal(readFileSync(path).length, 10 + WRITE_AHEAD);
}));

test('DirectAppender: gathers small chunks and writes them once DIRECT_WRITE_SIZE is reached', () => withFile('w', async (fd, path) => {
  const appender = new DirectAppender(fd);
  appender.add(new Uint8Array(100));
  assert.equal(appender.bytes, 0, 'held until enough is gathered');
  appender.add(new Uint8Array(DIRECT_WRITE_SIZE));
  assert.equal(appender.bytes, 100 + DIRECT_WRITE_SIZE, 'written at once, on this thread');
  assert.equal(readFileSync(path).length, 100 + DIRECT_WRITE_SIZE);
  appender.add(new Uint8Array(5));
  await appender.finish();
  assert.equal(readFileSync(path).length, 105 + DIRECT_WRITE_SIZE);
}));
