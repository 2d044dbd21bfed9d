/**
 * STOW-RS request bodies pace young-generation collections by each body's own bytes: with several
 * bodies read at once, each byte counts as 1 / (bodies being read), so a collection comes every
 * `collectGarbageEvery` bytes of any one body, not of all of them together (docs/benchmarks.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { counted, type BodyPacing } from '../../src/dicomweb/stow.js';

/** A body of `n` chunks of `size` bytes, each handed over only when `step` lets it. */
function body(n: number, size: number, step: () => Promise<void>): AsyncIterable<Uint8Array> {
  return (async function* () {
    for (let i = 0; i < n; i++) {
      await step();
      yield new Uint8Array(size);
    }
  })();
}

async function drain(it: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const c of it) void c;
}

test('one body alone counts all its bytes; two at once count half of each', async () => {
  let counted1 = 0;
  const pacing: BodyPacing = { active: 0 };
  await drain(counted(body(4, 1000, async () => undefined), { received: (n) => { counted1 += n; } }, pacing));
  assert.equal(counted1, 4000);
  assert.equal(pacing.active, 0);

  // Two bodies whose chunks alternate: both are being read the whole time.
  let counted2 = 0;
  const collector = { received: (n: number) => { counted2 += n; } };
  let turn = Promise.resolve();
  const step = () => { const t = turn.then(() => new Promise<void>((r) => setImmediate(r))); turn = t; return t; };
  const a = counted(body(4, 1000, step), collector, pacing);
  const b = counted(body(4, 1000, step), collector, pacing);
  // Both generators started (each counts itself as active once its first chunk is asked for).
  const firstA = a.next();
  const firstB = b.next();
  await Promise.all([firstA, firstB]);
  assert.equal(pacing.active, 2);
  await Promise.all([drain(a), drain(b)]);
  assert.equal(pacing.active, 0);
  // 8,000 bytes in all: each chunk counted as half while both bodies were being read, and the last
  // chunk of `b`, counted after `a` had ended, whole: 7 x 500 + 1,000.
  assert.equal(counted2, 4500);
});

test('a body given up before its end leaves the count of active bodies right', async () => {
  const pacing: BodyPacing = { active: 0 };
  const it = counted(body(10, 10, async () => undefined), { received: () => undefined }, pacing);
  await it.next();
  assert.equal(pacing.active, 1);
  await it.return(undefined);
  assert.equal(pacing.active, 0);
});
