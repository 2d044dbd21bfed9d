/**
 * `conduit serve` shut down while a C-MOVE is under way and its grace period ends (README,
 * "shutdownGraceSeconds"): the associations still open are aborted, and the log says which, and
 * what they were doing, so that an administrator knows which peer lost what.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deferred, withTimeout } from '../ae/helpers.js';
import { archive, ctSeries, destination, identifier, LEVEL, logRecorder, QR_TS, requester, STUDY_ROOT_MOVE, STUDY_UID, storeInto } from './retrieve-helpers.js';

test('shutdown mid-C-MOVE: after the grace period the requester\'s association is aborted and the log names it and its C-MOVE', async () => {
  const firstStore = deferred();
  const hold = deferred();
  // The destination holds the first C-STORE unanswered: the C-MOVE cannot end by itself.
  const dest = await destination('DEST', { onStore: async () => { firstStore.resolve(); await hold.promise; } });
  const recorder = logRecorder();
  const a = await archive([dest.peer()], { shutdownGraceSeconds: 1 }, recorder.log);
  let closed = false;
  try {
    const series = await ctSeries(3);
    await storeInto(a.server, [], series);
    const r = await requester(a.server.dimsePort, { contexts: [{ abstractSyntax: STUDY_ROOT_MOVE, transferSyntaxes: QR_TS }] });
    const aborted = new Promise<void>((resolve) => r.association.once('aborted', () => resolve()));
    const moving = (async () => {
      for await (const _ of r.dimse.request({ type: 'C-MOVE-RQ', affectedSopClassUid: STUDY_ROOT_MOVE, priority: 0, moveDestination: 'DEST' } as never,
        r.context(STUDY_ROOT_MOVE), identifier({ [LEVEL]: ['CS', 'STUDY'], [STUDY_UID]: ['UI', series[0]!.string(STUDY_UID)!] }))) { /* responses */ }
    })().catch(() => undefined);
    await withTimeout(firstStore.promise, 5000, 'the first C-STORE sub-operation');
    await withTimeout(a.close(), 10_000, 'the shutdown to end after its grace period');
    closed = true;
    await withTimeout(aborted, 5000, 'the requester to see its association aborted');
    await moving;
    assert.ok(recorder.lines.includes('shutdown: aborted 1 association still open after 1 s: MOVER (127.0.0.1) during C-MOVE'), recorder.lines.join('\n'));
  } finally {
    hold.resolve();
    if (!closed) await a.close();
    await dest.close();
  }
});
