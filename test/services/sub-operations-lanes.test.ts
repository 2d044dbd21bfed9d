/**
 * performSubOperations with several lanes (the associations of a C-MOVE, PS3.4 C.4.2.3): lanes
 * made in code whose C-STORE results come when the test says (or at the next turn of the event
 * loop, as from the network). Every instance is performed exactly once, every Pending response's
 * counts add up to the total, failures on any lane are listed, a lane whose association ends gives
 * back what it took ahead, C-CANCEL stops every lane, and a consumer leaving early waits for all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performSubOperations, type RetrieveResponse, type SubOperationLane, type SubOperationResult } from '../../src/services/query-retrieve/retrieve.js';
import type { StoredInstance } from '../../src/storage/ports.js';
import { deferred, withTimeout, type Deferred } from '../ae/helpers.js';

const CT = '1.2.840.10008.5.1.4.1.1.2';
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

function instances(n: number): StoredInstance[] {
  return Array.from({ length: n }, (_, i) => ({
    sopInstanceUid: `1.9.${i}`, sopClassUid: CT, transferSyntaxUid: '1.2.840.10008.1.2.1', seriesInstanceUid: '1.2.3', studyInstanceUid: '1.2', blobKey: `k${i}`, size: 0, dataSetOffset: 0,
  }));
}

/** A lane answering each C-STORE at the next turn of the event loop with `status(uid)`; records what it stored and prepared. */
function lane(name: string, status: (uid: string) => number = () => 0, readAhead = 2) {
  const stored: string[] = [];
  const prepared = new Set<string>();
  let done = 0;
  const l: SubOperationLane = {
    store: async (i): Promise<SubOperationResult> => {
      stored.push(i.sopInstanceUid);
      await nextTurn();
      const s = status(i.sopInstanceUid);
      return s === 0 ? { status: 0 } : { status: s, errorComment: `${name}: ${s.toString(16)}` };
    },
    prepare: (i) => prepared.add(i.sopInstanceUid),
    readAhead,
    done: () => done++,
  };
  return { lane: l, stored, prepared, done: () => done };
}

async function drain(it: AsyncIterable<RetrieveResponse>): Promise<RetrieveResponse[]> {
  const out: RetrieveResponse[] = [];
  for await (const r of it) out.push(r);
  return out;
}

/** Completed + Failed + Warning + Remaining is the total in every response, Remaining going down one at a time. */
function assertCountsConsistent(responses: readonly RetrieveResponse[], total: number): void {
  let last = total;
  for (const [i, r] of responses.entries()) {
    const c = r.counts;
    assert.equal(c.completed + c.failed + c.warning + c.remaining, total, `response ${i}: ${JSON.stringify(c)}`);
    if (r.status === 0xff00) {
      assert.equal(c.remaining, last - 1, `response ${i}: one more sub-operation ended`);
      last = c.remaining;
    }
  }
}

test('two lanes from the start: each instance performed exactly once, shared between them, counts consistent, both told done', async () => {
  const list = instances(40);
  const a = lane('A');
  const b = lane('B');
  const responses = await drain(performSubOperations(list, { ...a.lane, moreLanes: [Promise.resolve(b.lane)] }));
  const final = responses.at(-1)!;
  assert.equal(final.status, 0x0000);
  assert.deepEqual(final.counts, { remaining: 0, completed: 40, failed: 0, warning: 0 });
  assert.deepEqual([...a.stored, ...b.stored].sort(), list.map((i) => i.sopInstanceUid).sort(), 'every instance once, on one lane or the other');
  assert.ok(a.stored.length >= 10 && b.stored.length >= 10, `shared: ${a.stored.length} and ${b.stored.length}`);
  assert.equal(responses.length, 40, 'a Pending response after each sub-operation but the last, then the final');
  assertCountsConsistent(responses, 40);
  for (const uid of b.stored) assert.ok(!a.prepared.has(uid), `${uid}, sent on B, was not read ahead on A`);
  assert.deepEqual([a.done(), b.done()], [1, 1]);
});

test('a lane joining late takes part; one that could not be opened is ignored; one joining after the end is told done at once', async () => {
  const list = instances(30);
  const a = lane('A');
  const b = lane('B');
  const late = lane('LATE');
  const joinB = deferred<SubOperationLane | undefined>();
  const joinLate = deferred<SubOperationLane | undefined>();
  const it = performSubOperations(list, { ...a.lane, moreLanes: [joinB.promise, Promise.resolve(undefined), joinLate.promise] })[Symbol.asyncIterator]();
  const responses: RetrieveResponse[] = [];
  for (let i = 0; i < 5; i++) responses.push((await it.next()).value as RetrieveResponse);
  assert.equal(b.stored.length, 0);
  joinB.resolve(b.lane);
  for (let r = await it.next(); !r.done; r = await it.next()) responses.push(r.value);
  assert.equal(responses.at(-1)!.status, 0x0000);
  assert.ok(b.stored.length > 0, 'B took instances once joined');
  assert.deepEqual([...a.stored, ...b.stored].sort(), list.map((i) => i.sopInstanceUid).sort());
  assertCountsConsistent(responses, 30);
  joinLate.resolve(late.lane);
  await nextTurn();
  assert.deepEqual([late.stored.length, late.done()], [0, 1]);
});

test('failures on either lane: all listed in the Failed SOP Instance UID List, B000, the first named', async () => {
  const list = instances(20);
  const bad = new Set(['1.9.3', '1.9.8', '1.9.15', '1.9.19']);
  const status = (uid: string) => (bad.has(uid) ? 0xa700 : uid === '1.9.5' ? 0xb000 : 0);
  const a = lane('A', status);
  const b = lane('B', status);
  const responses = await drain(performSubOperations(list, { ...a.lane, moreLanes: [Promise.resolve(b.lane)] }));
  const final = responses.at(-1)!;
  assert.equal(final.status, 0xb000);
  assert.deepEqual(final.counts, { remaining: 0, completed: 15, failed: 4, warning: 1 });
  assert.deepEqual(new Set(final.identifier!.strings(0x00080058)), bad);
  assert.match(final.errorComment!, /^4 of 20 failed: [AB]: a700$/);
  assertCountsConsistent(responses, 20);
});

test('a lane whose association ends: its sub-operation under way fails, those it took ahead go on the other lane; the last lane drains', async () => {
  const list = instances(20);
  let bUsable = true;
  const b = lane('B', () => (bUsable ? 0 : 0x0110));
  b.lane.usable = () => bUsable;
  const a = lane('A');
  const store = b.lane.store;
  let n = 0;
  b.lane.store = async (i) => {
    // The association ends while B's third sub-operation is under way.
    if (++n === 3) bUsable = false;
    return store(i);
  };
  const responses = await drain(performSubOperations(list, { ...a.lane, moreLanes: [Promise.resolve(b.lane)] }));
  const final = responses.at(-1)!;
  assert.equal(b.stored.length, 3, 'B took no more once unusable');
  assert.deepEqual(final.identifier!.strings(0x00080058), [b.stored[2]], 'the one under way failed');
  assert.deepEqual(final.counts, { remaining: 0, completed: 19, failed: 1, warning: 0 });
  assert.deepEqual([...a.stored, ...b.stored].sort(), list.map((i) => i.sopInstanceUid).sort(), 'B\'s read-ahead ones sent on A');
  assertCountsConsistent(responses, 20);

  // One lane only, unusable from its second sub-operation: it goes on, every one failing, all accounted for.
  let usable = true;
  const only = lane('ONLY', () => (usable ? 0 : 0x0110));
  only.lane.usable = () => usable;
  const s = only.lane.store;
  only.lane.store = async (i) => {
    usable = i.sopInstanceUid === '1.9.0';
    return s(i);
  };
  const alone = (await drain(performSubOperations(instances(5), only.lane))).at(-1)!;
  assert.equal(alone.status, 0xb000);
  assert.deepEqual(alone.counts, { remaining: 0, completed: 1, failed: 4, warning: 0 });
});

test('C-CANCEL with two lanes: both finish the sub-operation under way, none begins after, the rest (read ahead too) Remaining', async () => {
  const list = instances(20);
  const cancel = new AbortController();
  const held: Array<Deferred<void>> = [];
  const bothHeld = deferred();
  const holding = (name: string) => {
    const l = lane(name);
    const store = l.lane.store;
    l.lane.store = async (i) => {
      if (Number(i.sopInstanceUid.split('.')[2]) >= 4) {
        const d = deferred();
        held.push(d);
        if (held.length === 2) bothHeld.resolve();
        await d.promise;
      }
      return store(i);
    };
    return l;
  };
  const a = holding('A');
  const b = holding('B');
  const run = drain(performSubOperations(list, { ...a.lane, moreLanes: [Promise.resolve(b.lane)], cancelled: cancel.signal }));
  await withTimeout(bothHeld.promise, 5000, 'a sub-operation under way on each lane');
  cancel.abort();
  for (const d of held) d.resolve();
  const responses = await run;
  const final = responses.at(-1)!;
  const started = a.stored.length + b.stored.length;
  assert.equal(held.length, 2, 'nothing began after C-CANCEL');
  assert.equal(final.status, 0xfe00);
  assert.deepEqual(final.counts, { remaining: 20 - started, completed: started, failed: 0, warning: 0 });
  assertCountsConsistent(responses, 20);
  assert.deepEqual([a.done(), b.done()], [1, 1]);
});

test('a consumer leaving early waits for the sub-operation under way on every lane', async () => {
  const answers: Array<Deferred<SubOperationResult>> = [];
  const waiting = (): SubOperationLane => ({
    store: (i) => {
      if (i.sopInstanceUid === '1.9.0') return Promise.resolve({ status: 0 });
      const d = deferred<SubOperationResult>();
      answers.push(d);
      return d.promise;
    },
  });
  let returned = false;
  const left = (async () => {
    for await (const r of performSubOperations(instances(10), { ...waiting(), moreLanes: [Promise.resolve(waiting())] })) {
      if (r.status === 0xff00) break;
    }
    returned = true;
  })();
  await withTimeout((async () => {
    while (answers.length < 2) await nextTurn();
  })(), 5000, 'a sub-operation under way on each lane');
  await nextTurn();
  assert.equal(returned, false);
  answers[0]!.resolve({ status: 0 });
  await nextTurn();
  assert.equal(returned, false, 'still one under way');
  answers[1]!.resolve({ status: 0 });
  await left;
  assert.equal(answers.length, 2, 'none begun after the consumer left');
});

test('pendingInterval: a Pending response only once the interval has passed since the last (the start first), counts consistent; 0 = after each', async () => {
  // A clock the sub-operations advance by 40 ms each: with 100 ms, sub-operations 3, 6 and 9 of 10 get one.
  for (const [interval, remaining] of [[100, [7, 4, 1]], [0, [9, 8, 7, 6, 5, 4, 3, 2, 1]], [Infinity, []]] as const) {
    let clock = 1_000;
    const list = instances(10);
    const responses = await drain(performSubOperations(list, {
      store: async () => {
        clock += 40;
        await nextTurn();
        return { status: 0 };
      },
      pendingInterval: interval,
      now: () => clock,
    }));
    assert.deepEqual(responses.slice(0, -1).map((r) => [r.status, r.counts.remaining]), remaining.map((n) => [0xff00, n]), `interval ${interval}`);
    for (const r of responses) assert.equal(r.counts.completed + r.counts.failed + r.counts.warning + r.counts.remaining, 10);
    assert.deepEqual(responses.at(-1)!.counts, { remaining: 0, completed: 10, failed: 0, warning: 0 }, 'the final response whatever the interval');
  }
});
