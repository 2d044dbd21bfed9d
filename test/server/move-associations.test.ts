/**
 * C-MOVE over several associations to the Move Destination (`moveAssociations`), against
 * `conduit serve` in this process with in-process DicomServers as destinations: the instances
 * shared between two associations, each delivered once, the Pending counts adding up; one
 * association with moveAssociations 1 or a small move; a destination that rejects the second
 * association (A-ASSOCIATE-RJ transient, its association limit) served over one; C-CANCEL with a
 * sub-operation under way on each association; a second association aborted mid-way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AssociationInfo, IncomingResponse } from '../../src/ae/index.js';
import { readFile } from '../../src/media/part10.js';
import { deferred, withTimeout } from '../ae/helpers.js';
import {
  archive, cancelDuringSecond, collect, CT, ctSeries, destination, fields, failedList, identifier, LEVEL, logRecorder, requester, SERIES_UID, STUDY_ROOT_MOVE, STUDY_UID, storeInto,
} from './retrieve-helpers.js';

const ct = (await readFile(CT)).dataSet;
const SERIES = identifier({ [LEVEL]: ['CS', 'SERIES'], [STUDY_UID]: ['UI', ct.string(STUDY_UID)!], [SERIES_UID]: ['UI', ct.string(SERIES_UID)!] });
const MOVE = { type: 'C-MOVE-RQ', affectedSopClassUid: STUDY_ROOT_MOVE, priority: 0, moveDestination: 'DEST' };

/** Completed + Failed + Warning + Remaining is the total in every Pending response, Remaining going down one at a time. */
function assertPendingConsistent(responses: readonly IncomingResponse[], total: number): void {
  let last = total;
  for (const r of responses.slice(0, -1)) {
    const m = fields(r) as Record<string, number>;
    assert.equal(r.message.status, 0xff00);
    assert.equal(m.numberOfCompletedSuboperations! + m.numberOfFailedSuboperations! + m.numberOfWarningSuboperations! + m.numberOfRemainingSuboperations!, total);
    assert.equal(m.numberOfRemainingSuboperations, last - 1);
    last = m.numberOfRemainingSuboperations!;
  }
}

/** Resolves once the destination has had `n` associations established. */
function associations(server: { on(event: 'association', listener: (info: AssociationInfo) => void): unknown }, n: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => server.on('association', () => {
    if (++seen === n) resolve();
  }));
}

/** Runs `body` with an archive holding `count` CT instances of one series and a destination. */
async function withMove(count: number, options: { moveAssociations?: number; onStore?: (uid: string, n: number, connectionId: string) => Promise<number | void>; maxAssociations?: number },
  body: (ctx: { move: () => Promise<IncomingResponse[]>; dest: Awaited<ReturnType<typeof destination>>; logLine: (re: RegExp) => Promise<string>; r: Awaited<ReturnType<typeof requester>> }) => Promise<void>): Promise<void> {
  const dest = await destination('DEST', {
    ...(options.maxAssociations !== undefined ? { maxAssociations: options.maxAssociations } : {}),
    ...(options.onStore ? { onStore: (req, n) => options.onStore!(req.sopInstanceUid, n, req.association.connectionId) } : {}),
  });
  const logs = logRecorder();
  const a = await archive([dest.peer()], options.moveAssociations !== undefined ? { moveAssociations: options.moveAssociations } : {}, logs.log);
  try {
    await storeInto(a.server, [], await ctSeries(count));
    const r = await requester(a.server.dimsePort, { contexts: [{ abstractSyntax: STUDY_ROOT_MOVE, transferSyntaxes: ['1.2.840.10008.1.2.1'] }] });
    await body({ move: () => collect(r.dimse.request(MOVE as never, r.context(STUDY_ROOT_MOVE), SERIES)), dest, logLine: logs.line, r });
    await r.association.release();
  } finally {
    await a.close();
    await dest.close();
  }
}

function uids(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `1.2.826.0.1.3680043.8.498.77.${i + 1}`).sort();
}

test('C-MOVE of 24 instances with moveAssociations 2: shared between two associations, each instance once, counts consistent', async () => {
  let both: Promise<void> | undefined;
  await withMove(24, {
    // The first sub-operation waits for the second association, so that both surely take part.
    onStore: async (_uid, n) => {
      if (n === 0) await withTimeout(both!, 5000, 'the second association');
    },
  }, async ({ move, dest, logLine }) => {
    both = associations(dest.server, 2);
    const responses = await move();
    const final = fields(responses.at(-1)!);
    assert.equal(final.status, 0x0000);
    assert.deepEqual([final.numberOfCompletedSuboperations, final.numberOfFailedSuboperations, final.numberOfWarningSuboperations], [24, 0, 0]);
    assertPendingConsistent(responses, 24);
    assert.equal(responses.length, 24);
    assert.deepEqual(dest.received.map((x) => x.sopInstanceUid).sort(), uids(24), 'each instance exactly once');
    const byAssociation = new Map<string, number>();
    for (const x of dest.received) byAssociation.set(x.connectionId, (byAssociation.get(x.connectionId) ?? 0) + 1);
    assert.equal(byAssociation.size, 2, 'two associations');
    for (const [, n] of byAssociation) assert.ok(n >= 2, `each association carried some: ${[...byAssociation.values()].join(', ')}`);
    await logLine(/ to DEST: status 0000H, completed 24.* over 2 associations$/);
  });
});

test('moveAssociations 1, or fewer than 16 instances: one association', async () => {
  for (const [count, moveAssociations] of [[24, 1], [15, 2]] as const) {
    await withMove(count, { moveAssociations }, async ({ move, dest }) => {
      let opened = 0;
      dest.server.on('association', () => opened++);
      const final = fields((await move()).at(-1)!);
      assert.equal(final.status, 0x0000);
      assert.equal(final.numberOfCompletedSuboperations, count);
      assert.equal(opened, 1, `${count} instances, moveAssociations ${moveAssociations}`);
      assert.equal(new Set(dest.received.map((x) => x.connectionId)).size, 1);
    });
  }
});

test('a destination that rejects a second association at once (A-ASSOCIATE-RJ transient): the move completes over one', async () => {
  let rejected: Promise<unknown> | undefined;
  await withMove(20, {
    maxAssociations: 1,
    onStore: async (_uid, n) => {
      if (n === 0) await withTimeout(rejected!, 5000, 'the second association to be rejected');
    },
  }, async ({ move, dest, logLine }) => {
    rejected = new Promise((resolve) => dest.server.once('rejected', resolve));
    const responses = await move();
    const final = fields(responses.at(-1)!);
    assert.equal(final.status, 0x0000, JSON.stringify(final));
    assert.equal(final.numberOfCompletedSuboperations, 20);
    assertPendingConsistent(responses, 20);
    assert.deepEqual(dest.received.map((x) => x.sopInstanceUid).sort(), uids(20));
    assert.equal(new Set(dest.received.map((x) => x.connectionId)).size, 1);
    await logLine(/a further association to DEST not opened \(DEST@127\.0\.0\.1:\d+ rejected \(/);
  });
});

test('C-CANCEL with a sub-operation under way on each of two associations: both end, none begins after, Cancel with Remaining', async () => {
  let held = 0;
  const bothHeld = deferred();
  const proceed = deferred();
  let both: Promise<void> | undefined;
  await withMove(20, {
    // The first two pass; then each association's next one waits until the archive has the C-CANCEL.
    onStore: async (_uid, n) => {
      if (n === 0) await withTimeout(both!, 5000, 'the second association');
      if (n < 2) return;
      if (++held === 2) bothHeld.resolve();
      await proceed.promise;
    },
  }, async ({ dest, r }) => {
    both = associations(dest.server, 2);
    const responses = await cancelDuringSecond(r, STUDY_ROOT_MOVE, MOVE, SERIES, bothHeld, proceed);
    const final = fields(responses.at(-1)!);
    assert.equal(final.status, 0xfe00);
    assert.deepEqual([final.numberOfRemainingSuboperations, final.numberOfCompletedSuboperations, final.numberOfFailedSuboperations], [16, 4, 0]);
    assert.equal(held, 2, 'no sub-operation began after C-CANCEL');
    assert.equal(dest.received.length, 4);
    assertPendingConsistent(responses, 20);
  });
});

test('a second association aborted by the destination mid-way: its sub-operation under way fails, the rest go over the first', async () => {
  let first: string | undefined;
  let aborted: string | undefined;
  let both: Promise<void> | undefined;
  const infos = new Map<string, AssociationInfo>();
  await withMove(24, {
    onStore: async (uid, n, connectionId) => {
      if (n === 0) {
        first = connectionId;
        await withTimeout(both!, 5000, 'the second association');
      }
      if (connectionId !== first && aborted === undefined) {
        aborted = uid;
        infos.get(connectionId)!.association.abort();
        return 0xa700;
      }
    },
  }, async ({ move, dest }) => {
    dest.server.on('association', (info: AssociationInfo) => infos.set(info.connectionId, info));
    both = associations(dest.server, 2);
    const responses = await move();
    const final = responses.at(-1)!;
    assert.equal(final.message.status, 0xb000);
    assert.deepEqual([fields(final).numberOfCompletedSuboperations, fields(final).numberOfFailedSuboperations], [23, 1]);
    assert.deepEqual(failedList(final), [aborted]);
    assert.deepEqual(dest.received.map((x) => x.sopInstanceUid).sort(), uids(24).filter((u) => u !== aborted));
    assertPendingConsistent(responses, 24);
  });
});
