/**
 * The STOW-RS request body reader (src/dicomweb/request-body.ts): chunks handed over as Node's
 * HTTP parser gave them (never concatenated), back-pressure on the request, and young-generation
 * collections paced by each body's own bytes: with several bodies read at once, each byte counts as
 * 1 / (bodies being read), so a collection comes every `collectGarbageEvery` bytes of any one body,
 * not of all of them together (docs/benchmarks.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { requestBody, type BodyPacing } from '../../src/dicomweb/request-body.js';

/** A body of `n` chunks of `size` bytes, each handed over only when `step` lets it. */
function body(n: number, size: number, step: () => Promise<void>): Readable {
  return Readable.from((async function* () {
    for (let i = 0; i < n; i++) {
      await step();
      yield Buffer.alloc(size);
    }
  })(), { objectMode: false });
}

async function drain(it: AsyncIterable<Uint8Array>): Promise<number[]> {
  const sizes: number[] = [];
  for await (const c of it) sizes.push(c.length);
  return sizes;
}

test('one body alone counts all its bytes; two at once count half of each', async () => {
  let counted1 = 0;
  const pacing: BodyPacing = { active: 0 };
  assert.deepEqual(await drain(requestBody(body(4, 1000, async () => undefined), { collector: { received: (n) => { counted1 += n; } }, pacing })), [1000, 1000, 1000, 1000]);
  assert.equal(counted1, 4000);
  assert.equal(pacing.active, 0);

  // Two bodies whose chunks alternate: both are being read the whole time.
  let counted2 = 0;
  const collector = { received: (n: number) => { counted2 += n; } };
  let turn = Promise.resolve();
  const step = () => { const t = turn.then(() => new Promise<void>((r) => setImmediate(r))); turn = t; return t; };
  const a = requestBody(body(4, 1000, step), { collector, pacing })[Symbol.asyncIterator]();
  const b = requestBody(body(4, 1000, step), { collector, pacing })[Symbol.asyncIterator]();
  const firstA = a.next();
  const firstB = b.next();
  await Promise.all([firstA, firstB]);
  assert.equal(pacing.active, 2);
  const rest = (it: AsyncIterator<Uint8Array>) => drain({ [Symbol.asyncIterator]: () => it });
  await Promise.all([rest(a), rest(b)]);
  assert.equal(pacing.active, 0);
  // 8,000 bytes in all: each chunk counted as half while both bodies were being read, and the last
  // chunk of `b`, counted after `a` had ended, whole: 7 x 500 + 1,000.
  assert.equal(counted2, 4500);
});

test('a body given up before its end leaves the count of active bodies right', async () => {
  const pacing: BodyPacing = { active: 0 };
  const it = requestBody(body(10, 10, async () => undefined), { collector: { received: () => undefined }, pacing })[Symbol.asyncIterator]();
  await it.next();
  assert.equal(pacing.active, 1);
  await it.return!(undefined);
  assert.equal(pacing.active, 0);
});

test('chunks that arrive while the consumer is busy are handed over one by one, not joined', async () => {
  const source = new PassThrough();
  const it = requestBody(source)[Symbol.asyncIterator]();
  const first = it.next();
  source.write(Buffer.alloc(100, 1));
  assert.equal((await first).value!.length, 100);
  // The consumer is busy: three chunks arrive meanwhile.
  source.write(Buffer.alloc(200, 2));
  source.write(Buffer.alloc(300, 3));
  source.end(Buffer.alloc(400, 4));
  await new Promise((r) => setImmediate(r));
  const rest: Array<[number, number]> = [];
  for (let r = await it.next(); !r.done; r = await it.next()) rest.push([r.value.length, r.value[0]!]);
  assert.deepEqual(rest, [[200, 2], [300, 3], [400, 4]]);
});

test('the request is paused once highWaterMark bytes wait, and resumed as they are taken', async () => {
  const source = new PassThrough({ highWaterMark: 16 });
  const it = requestBody(source, { highWaterMark: 1000 })[Symbol.asyncIterator]();
  const first = it.next();
  source.write(Buffer.alloc(10));
  await first;
  for (let i = 0; i < 3; i++) source.write(Buffer.alloc(400));
  await new Promise((r) => setImmediate(r));
  assert.equal(source.isPaused(), true, 'paused with 1,200 bytes waiting');
  await it.next();
  assert.equal(source.isPaused(), true, 'still 800 waiting');
  await it.next();
  assert.equal(source.isPaused(), false, 'resumed below half of highWaterMark');
  source.end();
  assert.equal((await it.next()).value!.length, 400);
  assert.equal((await it.next()).done, true);
});

test('an error of the request, or its closing before the end, rejects the next read', async () => {
  const failing = new PassThrough();
  const it = requestBody(failing)[Symbol.asyncIterator]();
  failing.write(Buffer.alloc(5));
  assert.equal((await it.next()).value!.length, 5);
  const pending = it.next();
  failing.destroy(new Error('reset by peer'));
  await assert.rejects(pending, /reset by peer/);

  const closed = new PassThrough();
  const it2 = requestBody(closed)[Symbol.asyncIterator]();
  const pending2 = it2.next();
  closed.destroy();
  await assert.rejects(pending2, /connection was closed/);
});

test('a body can be read only once', () => {
  const once = requestBody(new PassThrough());
  once[Symbol.asyncIterator]();
  assert.throws(() => once[Symbol.asyncIterator](), /only once/);
});

test('a consumer that stops early leaves the rest of the body to be read and dropped, not stalled', async () => {
  const source = new PassThrough({ highWaterMark: 16 });
  const pacing: BodyPacing = { active: 0 };
  const it = requestBody(source, { highWaterMark: 100, pacing })[Symbol.asyncIterator]();
  const first = it.next();
  source.write(Buffer.alloc(10));
  await first;
  for (let i = 0; i < 3; i++) source.write(Buffer.alloc(100));
  await new Promise((r) => setImmediate(r));
  assert.equal(source.isPaused(), true);
  await it.return!();
  assert.equal(pacing.active, 0);
  assert.equal(source.isPaused(), false);
  const ended = new Promise((r) => source.once('end', r));
  source.end(Buffer.alloc(1000));
  await ended;
  assert.equal(source.readableLength, 0);
});
