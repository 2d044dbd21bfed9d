/**
 * The Part 10 sink: the file written (header with the first batch, data set bytes unchanged), no
 * partial file left on failure, and the folder fsync shared by concurrent objects (group commit)
 * without ever letting one resolve on a sync that began before its caller's change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from '../../../src/media/part10.js';
import { buildFileMeta, PREAMBLE_LENGTH } from '../../../src/media/file-meta.js';
import { encodeDataSet } from '../../../src/data/writer.js';
import { DurableDirectory, fileNameFor, part10Header, writeReceivedObject } from '../../../src/services/storage/part10-sink.js';

const OBJ = { sopClassUid: '1.2.840.10008.5.1.4.1.1.7', sopInstanceUid: '1.2.3.4.5', transferSyntaxUid: '1.2.840.10008.1.2.1', sourceAet: 'PEER' };
/** (0010,0010) PN "Doe^J" in Explicit VR Little Endian: a data set of one element, 14 bytes. */
const ELEMENT = Uint8Array.from([0x10, 0x00, 0x10, 0x00, 0x50, 0x4e, 0x06, 0x00, ...Buffer.from('Doe^J ')]);

async function* chunks(parts: Uint8Array[], failAfter?: number): AsyncGenerator<Uint8Array> {
  let i = 0;
  for (const p of parts) {
    if (failAfter !== undefined && i++ === failAfter) throw new Error('the peer went away');
    yield p;
  }
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'conduit-sink-'));
}

for (const mode of ['one-off folder sync', 'DurableDirectory', 'no fsync', 'synchronous writes', 'synchronous writes, no fsync'] as const) {
  test(`writeReceivedObject (${mode}): the Part 10 header, then the data set bytes as received; no temporary file left`, async () => {
    const dir = tempDir();
    const directory = mode === 'DurableDirectory' || mode === 'synchronous writes' ? new DurableDirectory(dir) : undefined;
    try {
      // Large enough to need several write batches (1 MiB each).
      const big = new Uint8Array(3 * 1024 * 1024 + 6);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
      // (7FE0,0010) OB with an explicit length: the data set stays parseable.
      const pixelHeader = Uint8Array.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 0, 0, 0, 0]);
      new DataView(pixelHeader.buffer).setUint32(8, big.length, true);
      const parts = [ELEMENT, pixelHeader];
      for (let at = 0; at < big.length; at += 256 * 1024) parts.push(big.subarray(at, Math.min(big.length, at + 256 * 1024)));
      const written = await writeReceivedObject(dir, OBJ, chunks(parts), {
        ...(directory ? { directory } : {}), ...(mode.endsWith('no fsync') ? { fsync: false } : {}),
        ...(mode.startsWith('synchronous') ? { synchronousWrites: true } : {}),
      });
      assert.equal(written.path, join(dir, fileNameFor(OBJ.sopInstanceUid)));
      const header = part10Header(OBJ);
      assert.equal(written.bytes, header.length + ELEMENT.length + pixelHeader.length + big.length);
      const bytes = readFileSync(written.path);
      assert.equal(bytes.length, written.bytes);
      assert.deepEqual(bytes.subarray(0, header.length), Buffer.from(header));
      assert.deepEqual(bytes.subarray(header.length, header.length + ELEMENT.length), Buffer.from(ELEMENT));
      assert.deepEqual(bytes.subarray(header.length + ELEMENT.length, header.length + ELEMENT.length + pixelHeader.length), Buffer.from(pixelHeader));
      assert.ok(bytes.subarray(header.length + ELEMENT.length + pixelHeader.length).equals(big), 'the data set bytes are unchanged');
      assert.deepEqual(readdirSync(dir), [fileNameFor(OBJ.sopInstanceUid)]);
      const file = await readFile(written.path);
      assert.equal(file.meta.string(0x00020003), OBJ.sopInstanceUid);
      assert.equal(file.meta.string(0x00020016), 'PEER');
      assert.equal(file.dataSet.string(0x00100010), 'Doe^J');
    } finally {
      await directory?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('part10Header: the preamble, DICM and the File Meta Information of buildFileMeta, byte for byte', () => {
  const objects = [
    OBJ,
    { ...OBJ, sopInstanceUid: '1.2.34', sourceAet: 'ODD' }, // even and odd lengths: NUL and space padding
    { ...OBJ, sourceAet: undefined },
    { ...OBJ, sourceAet: '' },
    { ...OBJ, sopClassUid: '1.2.840.10008.5.1.4.1.1.2', transferSyntaxUid: '1.2.840.10008.1.2.4.50', sourceAet: 'STORESCU_LONG_AE' },
    { ...OBJ, sourceAet: 'A\\B' }, // a backslash: the DataSet path, whatever it makes of it
  ];
  for (const obj of objects) {
    const meta = encodeDataSet(buildFileMeta(obj), { explicitVR: true, littleEndian: true }, { recalculateGroupLengths: true });
    const expected = new Uint8Array(PREAMBLE_LENGTH + 4 + meta.length);
    expected.set(Buffer.from('DICM'), PREAMBLE_LENGTH);
    expected.set(meta, PREAMBLE_LENGTH + 4);
    assert.deepEqual([...part10Header(obj)], [...expected], JSON.stringify(obj));
  }
});

for (const synchronousWrites of [false, true]) {
  test(`writeReceivedObject${synchronousWrites ? ' (synchronous writes)' : ''}: a data set that fails halfway leaves neither the object nor a temporary file`, async () => {
    const dir = tempDir();
    const directory = new DurableDirectory(dir);
    try {
      await assert.rejects(writeReceivedObject(dir, OBJ, chunks([ELEMENT, new Uint8Array(2 << 20), ELEMENT], 2), { directory, synchronousWrites }), /went away/);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      await directory.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`writeReceivedObject${synchronousWrites ? ' (synchronous writes)' : ''}: the data is written while the data set is still arriving, not after its last byte`, async () => {
    const dir = tempDir();
    try {
      const first = new Uint8Array(300 * 1024).fill(1);
      const header = part10Header(OBJ);
      let sizeBeforeLast = -1;
      async function* arriving(): AsyncGenerator<Uint8Array> {
        yield first;
        // The sender has not sent the rest yet: the temporary file should fill up meanwhile.
        const partial = (): string | undefined => readdirSync(dir).find((n) => n.endsWith('.tmp'));
        const deadline = Date.now() + 10_000;
        for (;;) {
          const name = partial();
          // The blob store's names (storage/filesystem/temporary-names.ts): one generator for both.
          if (name !== undefined) assert.match(name, /^\.1\.2\.3\.4\.5\.dcm\.[0-9a-f]{12}\.tmp$/);
          const size = name === undefined ? 0 : statSync(join(dir, name)).size;
          if (size >= header.length + first.length || Date.now() > deadline) {
            sizeBeforeLast = size;
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        yield ELEMENT;
      }
      const written = await writeReceivedObject(dir, OBJ, arriving(), { synchronousWrites });
      assert.equal(sizeBeforeLast, header.length + first.length, 'the header and the first chunk were on file before the last chunk came');
      assert.equal(written.bytes, header.length + first.length + ELEMENT.length);
      assert.equal(statSync(written.path).size, written.bytes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** A DurableDirectory whose fsyncs are counted and finish only when the test says so. */
class PacedDirectory extends DurableDirectory {
  started = 0;
  private finishers: Array<() => void> = [];
  protected override run(): Promise<void> {
    this.started++;
    return new Promise((resolve) => this.finishers.push(resolve));
  }
  finishOne(): void {
    this.finishers.shift()!();
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('DurableDirectory: callers during a running fsync share the next one, which starts only after the running one', async () => {
  const d = new PacedDirectory('/nonexistent');
  const settled: string[] = [];
  const a = d.sync().then(() => settled.push('a'));
  assert.equal(d.started, 1);
  // b and c changed the folder while a's fsync was running: it may not cover them.
  const b = d.sync().then(() => settled.push('b'));
  const c = d.sync().then(() => settled.push('c'));
  await tick();
  assert.equal(d.started, 1, 'no second fsync while the first runs');
  d.finishOne();
  await tick();
  assert.deepEqual(settled, ['a'], 'b and c wait for an fsync that began after their change');
  assert.equal(d.started, 2, 'one fsync for b and c together');
  d.finishOne();
  await Promise.all([a, b, c]);
  assert.deepEqual(settled, ['a', 'b', 'c']);
  // Idle again: the next caller starts an fsync at once.
  const e = d.sync();
  assert.equal(d.started, 3);
  d.finishOne();
  await e;
});

test('DurableDirectory: a failed fsync rejects its callers; the next caller gets a fresh one', async () => {
  let fail = true;
  let runs = 0;
  class Failing extends DurableDirectory {
    protected override async run(): Promise<void> {
      runs++;
      if (fail) throw new Error('EIO');
    }
  }
  const d = new Failing('/nonexistent');
  await assert.rejects(d.sync(), /EIO/);
  fail = false;
  await d.sync();
  assert.equal(runs, 2);
  await d.close();
  await assert.rejects(d.sync(), /closed/);
});

test('DurableDirectory: fsyncs the real folder (opened once, closed by close())', async () => {
  const dir = tempDir();
  try {
    const d = new DurableDirectory(dir);
    await Promise.all([d.sync(), d.sync(), d.sync()]);
    await d.sync();
    await d.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const synchronousWrites of [false, true]) {
  test(`writeReceivedObject into a folder not there yet (synchronousWrites ${synchronousWrites}): made, the object written (the README's store handler in a fresh folder)`, async () => {
    const root = tempDir();
    try {
      const dir = join(root, 'incoming', 'today');
      const written = await writeReceivedObject(dir, OBJ, chunks([ELEMENT]), { synchronousWrites });
      assert.equal(written.path, join(dir, fileNameFor(OBJ.sopInstanceUid)));
      assert.deepEqual(readdirSync(dir), [fileNameFor(OBJ.sopInstanceUid)]);
      const file = await readFile(written.path);
      assert.equal(file.dataSet.string(0x00100010), 'Doe^J');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

test('writeReceivedObject: a temporary name left by another process is not written over; another is drawn', async () => {
  const dir = tempDir();
  try {
    // Every name the next writes could take: the counter's values with this process's random part.
    const first = await writeReceivedObject(dir, OBJ, (async function* () { yield ELEMENT; })(), { fsync: false });
    assert.equal(readdirSync(dir).length, 1, 'only the object: its temporary file was renamed');
    const blocked: string[] = [];
    let seen: string | undefined;
    async function* arriving(): AsyncGenerator<Uint8Array> {
      seen = readdirSync(dir).find((n) => n.endsWith('.tmp') && !blocked.includes(n));
      yield ELEMENT;
    }
    // A stranger's file under the name the next write would take, if the counter goes on.
    await writeReceivedObject(dir, { ...OBJ, sopInstanceUid: '9.9' }, arriving(), { fsync: false });
    const next = seen!.replace(/([0-9a-f]{4})\.tmp$/, (_, n: string) => `${((parseInt(n, 16) + 1) & 0xffff).toString(16).padStart(4, '0')}.tmp`).replace('.9.9.dcm.', '.1.2.3.4.5.dcm.');
    writeFileSync(join(dir, next), 'left by someone else');
    blocked.push(next);
    await writeReceivedObject(dir, OBJ, (async function* () { yield ELEMENT; })(), { fsync: false });
    assert.equal(readFileSync(join(dir, next), 'utf8'), 'left by someone else');
    assert.equal(statSync(first.path).size, part10Header(OBJ).length + ELEMENT.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
