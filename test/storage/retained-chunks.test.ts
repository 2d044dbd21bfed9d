/**
 * RetainedChunks.tee: the chunks of an object on their way to the blob store, seen by the parse
 * and kept for reading back, behaving as the async generator it replaced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetainedChunks } from '../../src/storage/retained-chunks.js';

function source(chunks: number[][], log: string[]): AsyncIterable<Uint8Array> {
  return (async function* () {
    try {
      for (const c of chunks) {
        log.push(`give ${c.length}`);
        yield new Uint8Array(c);
      }
    } finally {
      log.push('source closed');
    }
  })();
}

test('tee: the head first (made at the first next()), then the source; each chunk seen first, kept, and the size once all came', async () => {
  const log: string[] = [];
  const kept = new RetainedChunks(100);
  const seen: number[] = [];
  const tee = kept.tee(source([[1, 2], [3], [4, 5, 6]], log), (c) => seen.push(c.length), () => {
    log.push('head made');
    return new Uint8Array([0]);
  });
  assert.deepEqual(log, [], 'nothing happens before the first next()');
  const out: number[] = [];
  for await (const c of tee) out.push(...c);
  assert.deepEqual(out, [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(seen, [1, 2, 1, 3]);
  assert.deepEqual(log, ['head made', 'give 2', 'give 1', 'give 3', 'source closed']);
  assert.equal(await kept.ended, 7);
  const reader = kept.reader('k')!;
  assert.deepEqual([...await reader.read(1, 5)], [1, 2, 3, 4, 5]);
  assert.deepEqual(await tee.next(), { value: undefined, done: true }, 'done stays done');
});

test('tee: a consumer that stops early closes the source; the size never resolves', async () => {
  const log: string[] = [];
  const kept = new RetainedChunks(100);
  for await (const c of kept.tee(source([[1], [2], [3]], log))) {
    if (c[0] === 2) break;
  }
  assert.deepEqual(log, ['give 1', 'give 1', 'source closed']);
  assert.equal(kept.reader('k'), undefined);
  const never = Symbol('pending');
  assert.equal(await Promise.race([kept.ended, new Promise((r) => setImmediate(() => r(never)))]), never);
});

test('tee: an exception of the chunk callback closes the source and reaches the consumer; so does one of the source', async () => {
  const log: string[] = [];
  const failing = new RetainedChunks(100).tee(source([[1], [2], [3]], log), (c) => {
    if (c[0] === 2) throw new Error('parse broke');
  });
  const got: number[] = [];
  await assert.rejects((async () => { for await (const c of failing) got.push(c[0]!); })(), /parse broke/);
  assert.deepEqual(got, [1]);
  assert.deepEqual(log, ['give 1', 'give 1', 'source closed']);

  const broken = new RetainedChunks(100).tee((async function* () {
    yield new Uint8Array([1]);
    throw new Error('connection lost');
  })());
  await assert.rejects((async () => { for await (const c of broken) void c; })(), /connection lost/);
  assert.deepEqual(await broken.next(), { value: undefined, done: true });
});

test('tee: past the limit the chunks are dropped (read back from the blob instead)', async () => {
  const kept = new RetainedChunks(2);
  for await (const c of kept.tee(source([[1, 2], [3]], []))) void c;
  assert.equal(await kept.ended, 3);
  assert.equal(kept.reader('k'), undefined);
});
