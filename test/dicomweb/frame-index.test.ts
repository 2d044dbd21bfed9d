import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataSet } from '../../src/data/data-set.js';
import type { DicomWebContext } from '../../src/dicomweb/context.js';
import { frameFragments } from '../../src/dicomweb/frame-index.js';
import type { Source } from '../../src/dicomweb/stored-values.js';
import type { StoredInstance } from '../../src/storage/ports.js';

// Fragments in memory: the context and blob store are never reached.
const ctx = {} as DicomWebContext;
const RLE = '1.2.840.10008.1.2.5';
const JPEG = '1.2.840.10008.1.2.4.70';
const instance = (ts: string) => ({ sopInstanceUid: '2.25.1', transferSyntaxUid: ts }) as StoredInstance;
const fragments = [Buffer.from('aaaa'), Buffer.from('bb'), Buffer.from('cccccc'), Buffer.from('dd')];
const u32 = (values: number[]) => { const b = Buffer.alloc(values.length * 4); values.forEach((v, i) => b.writeUInt32LE(v, i * 4)); return b; };
const u64 = (values: number[]) => { const b = Buffer.alloc(values.length * 8); values.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), i * 8)); return b; };
const text = (sources: Source[]) => sources.map((s) => Buffer.from((s as { bytes: Uint8Array }).bytes).toString()).join('|');

// Item starts, counted from the first fragment's Item tag: 0, 12, 22, 36.
test('frame index: the Basic Offset Table groups fragments (not only for JPEG)', async () => {
  const frames = await frameFragments(ctx, instance(RLE), new DataSet(), { offsetTable: u32([0, 22]), fragments }, 2, [1, 2]);
  assert.equal(text(frames.get(1)!), 'aaaa|bb');
  assert.equal(text(frames.get(2)!), 'cccccc|dd');
});

test('frame index: the Extended Offset Table wins over the Basic one', async () => {
  const ds = new DataSet();
  ds.set(0x7fe00001, 'OV', u64([0, 12, 36]));
  const frames = await frameFragments(ctx, instance(RLE), ds, { offsetTable: u32([0, 22, 36]), fragments }, 3, [1, 2, 3]);
  assert.deepEqual([1, 2, 3].map((n) => text(frames.get(n)!)), ['aaaa', 'bb|cccccc', 'dd']);
});

test('frame index: empty tables: one fragment per frame, else JPEG end-of-image markers, else refused', async () => {
  const each = await frameFragments(ctx, instance(RLE), new DataSet(), { offsetTable: new Uint8Array(0), fragments }, 4, [3]);
  assert.equal(text(each.get(3)!), 'cccccc');
  const jpeg = [Buffer.from([0xff, 0xd8, 1]), Buffer.from([2, 0xff, 0xd9, 0]), Buffer.from([0xff, 0xd8]), Buffer.from([3, 0xff]), Buffer.from([0xd9, 0xff, 0xd9])];
  const byMarker = await frameFragments(ctx, instance(JPEG), new DataSet(), { offsetTable: new Uint8Array(0), fragments: jpeg }, 2, [1, 2]);
  assert.equal(byMarker.get(1)!.length, 2);
  assert.equal(byMarker.get(2)!.length, 3);
  await assert.rejects(frameFragments(ctx, instance(RLE), new DataSet(), { offsetTable: new Uint8Array(0), fragments }, 2, [1]), /2 frames in 4 fragments/);
  await assert.rejects(frameFragments(ctx, instance(JPEG), new DataSet(), { offsetTable: new Uint8Array(0), fragments: jpeg }, 3, [1]), /3 frames, but .* 2 end-of-image markers/);
});

test('frame index: offsets that are not fragment starts, or too few, are a malformed object (500)', async () => {
  await assert.rejects(frameFragments(ctx, instance(RLE), new DataSet(), { offsetTable: u32([0, 20]), fragments }, 2, [1]), (e: { httpStatus?: number; message: string }) => e.httpStatus === 500 && /offset of frame 2 \(20\)/.test(e.message));
  await assert.rejects(frameFragments(ctx, instance(RLE), new DataSet(), { offsetTable: u32([0]), fragments }, 2, [1]), /1 entries for 2 frames/);
  await assert.rejects(frameFragments(ctx, instance(RLE), new DataSet(), { offsetTable: u32([22, 0]), fragments }, 2, [1]), /offset of frame 2/);
});

test('swapped: each sample\'s bytes reversed, whatever the chunks (split at every offset)', async () => {
  const { swapped } = await import('../../src/dicomweb/frames.js');
  const bytes = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const collect = async (chunks: Uint8Array[], width: number) => {
    const out: Uint8Array[] = [];
    for await (const c of swapped((async function* () { yield* chunks; })(), width)) out.push(c);
    return Buffer.concat(out);
  };
  for (let a = 0; a <= bytes.length; a++) {
    for (let b = a; b <= bytes.length; b++) {
      const chunks = [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)];
      assert.deepEqual([...await collect(chunks, 2)], [2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11], `split ${a},${b}`);
      assert.deepEqual([...await collect(chunks, 4)], [4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9], `split ${a},${b}`);
    }
  }
  assert.deepEqual([...await collect([bytes], 1)], [...bytes]);
  assert.deepEqual([...bytes], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'the input is not changed');
});
