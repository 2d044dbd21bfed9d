/**
 * ReadBufferRing.readAhead given a reader (conduit store reads and describes the next file while
 * the current response is awaited, ADR 0024): the reader is called after the current turn of the
 * event loop with one of the ring's buffers; a file it names without bytes is read by the ring
 * then; bytes it read are what whole() gives (no second read); none is read when it names none or
 * a file too large; at most one data set is ahead at a time. And readAndDescribeSync: one read
 * gives describeFile's description and the data set's bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFile, readAndDescribeSync, ReadBufferRing, type DataSetBytes, type SendableFile } from '../../../src/services/storage/file-source.js';
import { TEST_FILES } from '../../helpers/network.js';

function fileOf(dir: string, name: string, fill: number, length: number): SendableFile {
  const path = join(dir, name);
  writeFileSync(path, new Uint8Array(length + 8).fill(fill));
  return { path, sopClassUid: '1.2', sopInstanceUid: `1.2.${fill}`, transferSyntaxUid: '1.2.840.10008.1.2.1', dataSetOffset: 8, size: statSync(path).size };
}

/** The data set's bytes in one piece, however the ring gave them. */
function bytesOf(b: DataSetBytes | undefined): Uint8Array | undefined {
  return b === undefined || b instanceof Uint8Array ? b : Buffer.concat([...b.chunks()]);
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('readAhead(reader): called after this turn; a file it names is read then, and whole() gives those bytes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-ahead-'));
  try {
    const ring = new ReadBufferRing(() => Promise.resolve(), 1024, 2, true);
    const next = fileOf(dir, 'next', 7, 100);
    let asked = 0;
    ring.readAhead(() => (asked++, { file: next }));
    assert.equal(asked, 0, 'not asked in the same turn');
    // A second read-ahead while one is under way is ignored: at most one data set ahead.
    let askedSecond = 0;
    ring.readAhead(() => (askedSecond++, { file: next }));
    await turn();
    await turn();
    assert.equal(asked, 1);
    assert.equal(askedSecond, 0);
    // Changed on disk after the read-ahead: whole() still gives what was read ahead.
    writeFileSync(next.path, new Uint8Array(108).fill(9));
    const bytes = bytesOf(await ring.whole(next));
    assert.ok(bytes);
    assert.equal(bytes.length, 100);
    assert.ok(bytes.every((b) => b === 7), 'the bytes read ahead');
    // Nothing ahead any more: read now.
    const again = bytesOf(await ring.whole(next));
    assert.ok(again?.every((b) => b === 9), 'read again');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readAhead(reader): the bytes the reader put in the buffer are the data set whole() gives, not read again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-ahead-'));
  try {
    const ring = new ReadBufferRing(() => Promise.resolve(), 1024, 2, true);
    const next = fileOf(dir, 'next', 1, 100);
    let given: Uint8Array | undefined;
    ring.readAhead((buffer) => {
      assert.equal(buffer.length, 1024, 'one of the ring\'s buffers');
      given = buffer.subarray(8, 108).fill(6);
      return { file: next, dataSet: given };
    });
    const bytes = bytesOf(await ring.whole(next));
    assert.equal(bytes, given);
    assert.ok(bytes!.every((b) => b === 6));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readAhead(reader): none named, or a data set larger than a buffer: nothing read ahead; another file is read itself', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-ahead-'));
  try {
    const ring = new ReadBufferRing(() => Promise.resolve(), 1024, 2, true);
    const small = fileOf(dir, 'small', 3, 50);
    const large = fileOf(dir, 'large', 4, 4096);
    ring.readAhead(() => undefined);
    assert.equal((await ring.whole(small))?.length, 50);
    ring.readAhead(() => ({ file: large }));
    await turn();
    assert.equal(await ring.whole(large), undefined, 'too large for one buffer: streamed instead');
    // Read ahead for one file, then another asked for: the other is read, with its own bytes.
    ring.readAhead(() => ({ file: small }));
    const other = fileOf(dir, 'other', 5, 60);
    const bytes = bytesOf(await ring.whole(other));
    assert.ok(bytes?.length === 60 && bytes.every((b) => b === 5));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readAndDescribeSync: describeFile\'s description and the data set\'s bytes from one read; undefined for a file larger than the buffer', async () => {
  const path = join(TEST_FILES, 'CT_small.dcm');
  const whole = readFileSync(path);
  const read = readAndDescribeSync(path, new Uint8Array(whole.length + 1));
  assert.ok(read);
  assert.deepEqual(read.file, await describeFile(path));
  assert.deepEqual(Buffer.from(read.dataSet), whole.subarray(read.file.dataSetOffset));
  assert.equal(readAndDescribeSync(path, new Uint8Array(whole.length)), undefined, 'fills the buffer: not known to be whole');
  assert.equal(readAndDescribeSync(join(TEST_FILES, 'no-such-file.dcm'), new Uint8Array(1024)), undefined);
});

test('readAhead(reader): a reader that throws reads nothing ahead and leaves no rejection; the file is read in its turn', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-ahead-'));
  try {
    const ring = new ReadBufferRing(() => Promise.resolve(), 1024, 2, true);
    const next = fileOf(dir, 'next', 2, 40);
    ring.readAhead(() => {
      throw new Error('the reader failed');
    });
    await turn();
    await turn();
    const bytes = bytesOf(await ring.whole(next));
    assert.ok(bytes?.length === 40 && bytes.every((b) => b === 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
