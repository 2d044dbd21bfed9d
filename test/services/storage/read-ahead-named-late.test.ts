/**
 * ReadBufferRing.readAhead given a function (conduit store describes the next file while the
 * current response is awaited, ADR 0024): the function is asked after the current turn of the
 * event loop, the file it names is read ahead (whole() then gives those bytes, not a second read),
 * none is read when it names none or one too large, and at most one data set is ahead at a time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadBufferRing, type SendableFile } from '../../../src/services/storage/file-source.js';

function fileOf(dir: string, name: string, fill: number, length: number): SendableFile {
  const path = join(dir, name);
  const bytes = new Uint8Array(length + 8).fill(fill);
  writeFileSync(path, bytes);
  return { path, sopClassUid: '1.2', sopInstanceUid: `1.2.${fill}`, transferSyntaxUid: '1.2.840.10008.1.2.1', dataSetOffset: 8, size: statSync(path).size };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('readAhead(function): asked after this turn; the file it names is read then, and whole() gives those bytes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-ahead-'));
  try {
    const ring = new ReadBufferRing(() => Promise.resolve(), 1024, 2, true);
    const next = fileOf(dir, 'next', 7, 100);
    let asked = 0;
    ring.readAhead(() => (asked++, next));
    assert.equal(asked, 0, 'not asked in the same turn');
    // A second read-ahead while one is under way is ignored: at most one data set ahead.
    let askedSecond = 0;
    ring.readAhead(() => (askedSecond++, next));
    await turn();
    await turn();
    assert.equal(asked, 1);
    assert.equal(askedSecond, 0);
    // Changed on disk after the read-ahead: whole() still gives what was read ahead.
    writeFileSync(next.path, new Uint8Array(108).fill(9));
    const bytes = await ring.whole(next);
    assert.ok(bytes);
    assert.equal(bytes.length, 100);
    assert.ok(bytes.every((b) => b === 7), 'the bytes read ahead');
    // Nothing ahead any more: read now.
    const again = await ring.whole(next);
    assert.ok(again?.every((b) => b === 9), 'read again');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readAhead(function): none named, or a data set larger than a buffer: nothing read ahead; another file is read itself', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-ahead-'));
  try {
    const ring = new ReadBufferRing(() => Promise.resolve(), 1024, 2, true);
    const small = fileOf(dir, 'small', 3, 50);
    const large = fileOf(dir, 'large', 4, 4096);
    ring.readAhead(() => undefined);
    assert.equal((await ring.whole(small))?.length, 50);
    ring.readAhead(() => large);
    await turn();
    assert.equal(await ring.whole(large), undefined, 'too large for one buffer: streamed instead');
    // Read ahead for one file, then another asked for: the other is read, with its own bytes.
    ring.readAhead(() => small);
    const other = fileOf(dir, 'other', 5, 60);
    const bytes = await ring.whole(other);
    assert.ok(bytes?.length === 60 && bytes.every((b) => b === 5));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
