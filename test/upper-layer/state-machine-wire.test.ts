/**
 * The state machine over the wire: each (state, event) cell of PS3.8 Table 9-10 that a peer can
 * bring about, driven by a scripted raw-socket peer on 127.0.0.1 against this implementation as
 * acceptor (AssociationListener) and as requestor (openAssociation). The transition taken is read
 * from the 'conduit:upper-layer:state' channel and checked against the standard's grid; what the
 * peer sees (the A-ABORT's source and reason, an A-RELEASE-RP, the connection closing) is checked
 * too. Cells no peer can reach (Sta9 and Sta12 are left at once; ARTIM only runs in Sta2/Sta13)
 * are covered by state-machine-table.test.ts.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AssociationListener, PduType, decodeAAssociateRq, encodePdu, negotiate, openAssociation, AssociationRejectedError, AssociationAbortedError,
} from '../../src/upper-layer/index.js';
import type { AAssociateRj, AssociateDecision, Association, Event, State, StateTrace, AcceptancePolicy, AAssociateRq } from '../../src/upper-layer/index.js';
import { IMPLEMENTATION_UID, IMPLICIT_LE, VERIFICATION, pdv, sampleAc, sampleRq } from './fixtures.js';
import { GRID } from './table-9-10.js';
import { RawPeer, RawServer, TransitionLog, deferred, withTimeout, WAIT_MS } from './wire-helpers.js';
import type { Deferred, RawPdu } from './wire-helpers.js';

const LONG = 20_000;
// Long enough that ARTIM cannot run out in Sta2 before a loaded machine has sent the A-ASSOCIATE-RQ.
const SHORT = 150;

const POLICY: AcceptancePolicy = {
  abstractSyntaxes: { [VERIFICATION]: { transferSyntaxes: [IMPLICIT_LE] } },
  maximumLength: 16384,
  implementationClassUid: IMPLEMENTATION_UID,
};
const RJ: AAssociateRj = { type: PduType.AAssociateRj, result: 1, source: 1, reason: 1 };
const RQ = sampleRq({ presentationContexts: [{ id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }] });

/** The bytes a peer sends for each PDU event (Evt19: a PDU-type that does not exist). */
const PDU_EVENTS: Partial<Record<Event, () => Uint8Array>> = {
  Evt3: () => encodePdu(sampleAc(RQ)),
  Evt4: () => encodePdu(RJ),
  Evt6: () => encodePdu(RQ),
  Evt10: () => encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(1, [0x42])] }),
  Evt12: () => encodePdu({ type: PduType.AReleaseRq }),
  Evt13: () => encodePdu({ type: PduType.AReleaseRp }),
  Evt16: () => encodePdu({ type: PduType.AAbort, source: 0, reason: 0 }),
  Evt19: () => Uint8Array.of(0x0a, 0, 0, 0, 0, 4, 0, 0, 0, 0),
};

interface Ctx {
  side: 'acceptor' | 'requestor';
  log: TransitionLog;
  peer: RawPeer;
  id: string;
  association?: Association;
  decision?: Deferred<AssociateDecision>;
  releaseGate?: Deferred<void>;
  releasePromise?: Promise<void>;
  opening?: Promise<Association>;
  pdata: Array<{ id: number; data: number[] }>;
  releaseRequested: Deferred<void>;
  cleanup: () => Promise<void>;
}

const logs: TransitionLog[] = [];
after(() => logs.forEach((l) => l.dispose()));

function newLog(): TransitionLog {
  const log = new TransitionLog();
  logs.push(log);
  return log;
}

function watch(ctx: Ctx, a: Association): void {
  ctx.association = a;
  a.on('pdata', (pdvs) => ctx.pdata.push(...pdvs.map((p) => ({ id: p.presentationContextId, data: Array.from(p.data) }))));
  a.on('releaseRequested', () => ctx.releaseRequested.resolve());
  a.on('aborted', () => undefined);
}

async function acceptorAt(state: State, artim = LONG, decisionTimeout = LONG): Promise<Ctx> {
  const log = newLog();
  const decision = deferred<AssociateDecision>();
  const releaseGate = deferred<void>();
  const ready = deferred<Association>();
  const listener = await AssociationListener.listen({
    host: '127.0.0.1',
    onAssociationRequest: () => decision.promise,
    timeouts: { artim, associationRequest: decisionTimeout },
  });
  listener.on('association', (a) => {
    a.onReleaseRequest = () => releaseGate.promise;
    ready.resolve(a);
  });
  listener.on('connectionFailed', () => undefined);
  const peer = await RawPeer.connect(listener.address().port);
  const first = await log.waitFor((t) => t.event === 'Evt5', 'Evt5');
  const ctx: Ctx = {
    side: 'acceptor', log, peer, id: first.connectionId, decision, releaseGate, pdata: [], releaseRequested: deferred(),
    cleanup: async () => {
      peer.destroy();
      await listener.close({ abort: true });
    },
  };
  if (state === 'Sta2') return ctx;
  peer.send(encodePdu(RQ));
  await log.waitFor((t) => t.connectionId === ctx.id && t.event === 'Evt6', 'Evt6');
  if (state === 'Sta3') return ctx;
  if (state === 'Sta13') {
    decision.resolve(RJ);
    assert.equal((await peer.nextPdu()).type, PduType.AAssociateRj);
    return ctx;
  }
  decision.resolve(negotiate(decodeAAssociateRq(encodePdu(RQ).subarray(6)), POLICY));
  assert.equal((await peer.nextPdu()).type, PduType.AAssociateAc);
  watch(ctx, await withTimeout(ready.promise, WAIT_MS, 'association'));
  if (state === 'Sta6') return ctx;
  if (state === 'Sta8') {
    peer.send(encodePdu({ type: PduType.AReleaseRq }));
    await ctx.releaseRequested.promise;
    return ctx;
  }
  ctx.releasePromise = ctx.association!.release();
  ctx.releasePromise.catch(() => undefined);
  assert.equal((await peer.nextPdu()).type, PduType.AReleaseRq);
  if (state === 'Sta7') return ctx;
  if (state === 'Sta10') {
    peer.send(encodePdu({ type: PduType.AReleaseRq }));
    await log.waitFor((t) => t.connectionId === ctx.id && t.action === 'AR-8', 'AR-8');
    return ctx;
  }
  throw new Error(`no acceptor set-up for ${state}`);
}

async function requestorAt(state: State, artim = LONG, requestTimeout = LONG): Promise<Ctx> {
  const log = newLog();
  const server = await RawServer.listen();
  const opening = openAssociation({
    host: '127.0.0.1', port: server.port, callingAeTitle: 'SCU', calledAeTitle: 'RAW',
    presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }],
    implementationClassUid: IMPLEMENTATION_UID, timeouts: { artim, associationRequest: requestTimeout },
  });
  opening.catch(() => undefined);
  const peer = await server.nextConnection();
  const rqPdu = await peer.nextPdu();
  assert.equal(rqPdu.type, PduType.AAssociateRq);
  const first = await log.waitFor((t) => t.event === 'Evt1', 'Evt1');
  const ctx: Ctx = {
    side: 'requestor', log, peer, id: first.connectionId, opening, pdata: [], releaseRequested: deferred(),
    cleanup: async () => {
      peer.destroy();
      ctx.association?.abort();
      await server.close();
    },
  };
  if (state === 'Sta5') return ctx;
  const rq: AAssociateRq = decodeAAssociateRq(rqPdu.body);
  peer.send(encodePdu(sampleAc(rq)));
  watch(ctx, await withTimeout(opening, WAIT_MS, 'the association'));
  if (state === 'Sta6') return ctx;
  if (state === 'Sta13') {
    ctx.association!.abort();
    const abort = await peer.nextPdu();
    assert.deepEqual([abort.type, ...abort.body], [7, 0, 0, 0, 0]);
    return ctx;
  }
  ctx.releasePromise = ctx.association!.release();
  ctx.releasePromise.catch(() => undefined);
  assert.equal((await peer.nextPdu()).type, PduType.AReleaseRq);
  if (state === 'Sta7') return ctx;
  if (state === 'Sta11') {
    peer.send(encodePdu({ type: PduType.AReleaseRq }));
    assert.equal((await peer.nextPdu()).type, PduType.AReleaseRp, 'the requestor answers a release collision at once (AR-9)');
    await log.waitFor((t) => t.connectionId === ctx.id && t.to === 'Sta11', 'Sta11');
    return ctx;
  }
  throw new Error(`no requestor set-up for ${state}`);
}

/** Brings about a local event (a primitive of the user under test); undefined where no API issues it. */
function localEvent(ctx: Ctx, event: Event, state: State): (() => void) | undefined {
  const a = ctx.association;
  switch (event) {
    case 'Evt7': return ctx.side === 'acceptor' && state === 'Sta3' ? () => ctx.decision!.resolve(negotiate(RQ, POLICY)) : undefined;
    case 'Evt8': return ctx.side === 'acceptor' && state === 'Sta3' ? () => ctx.decision!.resolve(RJ) : undefined;
    case 'Evt9': return a ? () => void a.sendPData([pdv(1, [7, 7])]).catch(() => undefined) : undefined;
    case 'Evt11': return a ? () => void a.release().catch(() => undefined) : undefined;
    case 'Evt14': return state === 'Sta8' ? () => ctx.releaseGate!.resolve() : undefined;
    case 'Evt15': return a ? () => a.abort() : undefined;
    default: return undefined;
  }
}

/** What the raw peer must see after the action. */
async function checkPeer(ctx: Ctx, action: string, event: Event, state: State): Promise<void> {
  const peer = ctx.peer;
  const abort = async (source: number, reason: number): Promise<void> => {
    const p: RawPdu = await peer.nextPdu();
    assert.deepEqual([p.type, p.body[2], p.body[3]], [PduType.AAbort, source, reason], `${action}: A-ABORT source/reason`);
  };
  const providerReason = event === 'Evt19' ? 1 : 2;
  switch (action) {
    case 'AA-1':
      if (event === 'Evt15') await abort(0, 0);
      else await abort(2, providerReason);
      return;
    case 'AA-7':
    case 'AA-8':
      await abort(2, providerReason);
      return;
    case 'AA-2':
    case 'AA-3':
    case 'AE-4':
    case 'AR-3':
      await peer.waitClosed();
      return;
    case 'AE-7':
      assert.equal((await peer.nextPdu()).type, PduType.AAssociateAc);
      return;
    case 'AE-8':
      assert.equal((await peer.nextPdu()).type, PduType.AAssociateRj);
      return;
    case 'DT-1':
    case 'AR-7': {
      const p = await peer.nextPdu();
      assert.deepEqual([p.type, ...p.body], [PduType.PDataTf, 0, 0, 0, 4, 1, 3, 7, 7]);
      return;
    }
    case 'DT-2':
    case 'AR-6':
      assert.deepEqual(ctx.pdata, [{ id: 1, data: [0x42] }]);
      return;
    case 'AR-1':
      assert.equal((await peer.nextPdu()).type, PduType.AReleaseRq);
      return;
    case 'AR-2':
      await withTimeout(ctx.releaseRequested.promise, WAIT_MS, 'releaseRequested');
      return;
    case 'AR-4':
    case 'AR-9':
      assert.equal((await peer.nextPdu()).type, PduType.AReleaseRp);
      return;
    case 'AR-10':
      // The acceptor in Sta12 answers at once: A-RELEASE-RP, then ARTIM in Sta13.
      await withTimeout(ctx.releasePromise!, WAIT_MS, 'the release confirmation');
      assert.equal((await peer.nextPdu()).type, PduType.AReleaseRp);
      return;
    case 'AE-3':
      await withTimeout(ctx.opening!, WAIT_MS, 'the association');
      return;
    case 'AE-6':
    case 'AA-4':
    case 'AA-5':
    case 'AA-6':
    case 'AR-5':
    case 'AR-8':
      return;
    default:
      assert.fail(`no peer check for ${action} (${event} in ${state})`);
  }
}

const SCENARIOS: Array<{ side: 'acceptor' | 'requestor'; state: State }> = [
  ...(['Sta2', 'Sta3', 'Sta6', 'Sta7', 'Sta8', 'Sta10', 'Sta13'] as State[]).map((state) => ({ side: 'acceptor' as const, state })),
  ...(['Sta5', 'Sta6', 'Sta7', 'Sta11', 'Sta13'] as State[]).map((state) => ({ side: 'requestor' as const, state })),
];

let cellsDriven = 0;
const driven = new Set<string>();

for (const { side, state } of SCENARIOS) {
  for (const event of Object.keys(Object.fromEntries([...Array(19)].map((_, i) => [`Evt${i + 1}`, 0]))) as Event[]) {
    const expected = GRID.get(`${event}/${state}`);
    const needsShortArtim = event === 'Evt18';
    const isPduEvent = event in PDU_EVENTS;
    const isClose = event === 'Evt17';
    const localPossible = ['Evt7', 'Evt8', 'Evt9', 'Evt11', 'Evt14', 'Evt15'].includes(event);
    if (!isPduEvent && !isClose && !needsShortArtim && !localPossible) continue;
    if (expected === undefined && !localPossible) continue;
    // An empty cell for a primitive is checked where the API offers it: on an Association.
    if (expected === undefined && (!['Evt9', 'Evt11', 'Evt15'].includes(event) || ['Sta2', 'Sta3', 'Sta5'].includes(state) || (side === 'acceptor' && state === 'Sta13'))) continue;
    if (needsShortArtim && expected === undefined) continue;
    test(`${side} in ${state}, ${event}: ${expected ? `${expected.action} -> ${expected.next.join('|')}` : 'refused (empty cell)'}`, async () => {
      const ctx = side === 'acceptor'
        ? await acceptorAt(state, needsShortArtim ? SHORT : LONG, event === 'Evt15' && state === 'Sta3' ? SHORT : LONG)
        : await requestorAt(state, needsShortArtim ? SHORT : LONG);
      try {
        if (expected === undefined) {
          // A primitive where Table 9-10 has no cell: the API refuses it and nothing changes.
          const a = ctx.association;
          if (a === undefined) return;
          if (event === 'Evt9') await assert.rejects(a.sendPData([pdv(1, [1])]), { code: 'ERR_DICOM_ASSOCIATION_STATE' });
          if (event === 'Evt11') {
            // A release already under way is the same release; any other state refuses it.
            if (ctx.releasePromise !== undefined) assert.equal(a.release(), ctx.releasePromise);
            else await assert.rejects(a.release(), { code: 'ERR_DICOM_ASSOCIATION_STATE' });
          }
          assert.equal(a.state, state);
          return;
        }
        const before = ctx.log.entries.length;
        if (isPduEvent) ctx.peer.send(PDU_EVENTS[event]!());
        else if (isClose) ctx.peer.end();
        else if (needsShortArtim) { /* ARTIM runs out by itself */ } else {
          const fire = localEvent(ctx, event, state);
          if (fire === undefined && event === 'Evt15' && state === 'Sta3') { /* the decision timeout aborts */ } else if (fire === undefined) {
            return;
          } else fire();
        }
        const t: StateTrace = await ctx.log.waitFor(
          (x) => x.connectionId === ctx.id && x.event === event && x.from === state && ctx.log.entries.indexOf(x) >= before, `${event} in ${state}`);
        assert.equal(t.action, expected.action);
        let next = expected.next[0];
        if (expected.action === 'AR-8') next = side === 'requestor' ? 'Sta9' : 'Sta10';
        assert.equal(t.to, next);
        await checkPeer(ctx, expected.action, event, state);
        cellsDriven++;
        driven.add(`${event}/${state}`);
      } finally {
        await ctx.cleanup();
        await ctx.log.waitFor((x) => x.connectionId === ctx.id && x.to === 'Sta1', 'the connection back in Sta1');
      }
    });
  }
}

test('requestor in Sta4, Evt17 (connection refused): AA-4, and open rejects with ERR_DICOM_TRANSPORT', async () => {
  const server = await RawServer.listen();
  const port = server.port;
  await server.close();
  const log = newLog();
  await assert.rejects(openAssociation({
    host: '127.0.0.1', port, callingAeTitle: 'SCU', calledAeTitle: 'NONE',
    presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }], implementationClassUid: IMPLEMENTATION_UID,
  }), { code: 'ERR_DICOM_TRANSPORT' });
  const t = await log.waitFor((x) => x.event === 'Evt17', 'Evt17');
  assert.deepEqual([t.from, t.action, t.to], ['Sta4', 'AA-4', 'Sta1']);
  driven.add('Evt17/Sta4');
});

test('requestor in Sta4, Evt15 (the caller aborts while connecting): AA-2', async () => {
  const server = await RawServer.listen();
  const log = newLog();
  const controller = new AbortController();
  const opening = openAssociation({
    host: '127.0.0.1', port: server.port, callingAeTitle: 'SCU', calledAeTitle: 'RAW', signal: controller.signal,
    presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }], implementationClassUid: IMPLEMENTATION_UID,
  });
  controller.abort(new Error('stop'));
  await assert.rejects(opening, /stop/);
  const t = await log.waitFor((x) => x.event === 'Evt15', 'Evt15');
  assert.deepEqual([t.from, t.action, t.to], ['Sta4', 'AA-2', 'Sta1']);
  driven.add('Evt15/Sta4');
  await server.close();
});

test('requestor in Sta5, Evt15 (no answer within the association request timeout): AA-1, then ARTIM closes', async () => {
  const ctx = await requestorAt('Sta5', SHORT, SHORT);
  await assert.rejects(ctx.opening!, { code: 'ERR_DICOM_ASSOCIATION_TIMEOUT' });
  const p = await ctx.peer.nextPdu();
  assert.deepEqual([p.type, p.body[2], p.body[3]], [PduType.AAbort, 0, 0]);
  await ctx.log.waitFor((x) => x.connectionId === ctx.id && x.event === 'Evt18' && x.action === 'AA-2', 'ARTIM in Sta13');
  await ctx.peer.waitClosed();
  driven.add('Evt15/Sta5');
  await ctx.cleanup();
});

test('what the requestor reports: A-ASSOCIATE-RJ and A-ABORT in Sta5', async () => {
  const rj = await requestorAt('Sta5');
  rj.peer.send(encodePdu({ type: PduType.AAssociateRj, result: 2, source: 3, reason: 2 }));
  await assert.rejects(rj.opening!, (e: unknown) => e instanceof AssociationRejectedError && e.result === 2 && e.source === 3 && e.reason === 2 && e.code === 'ERR_DICOM_ASSOCIATION_REJECTED');
  await rj.cleanup();
  const ab = await requestorAt('Sta5');
  ab.peer.send(encodePdu({ type: PduType.AAbort, source: 2, reason: 5 }));
  await assert.rejects(ab.opening!, (e: unknown) => e instanceof AssociationAbortedError && e.source === 2 && e.reason === 5 && e.direction === 'received');
  await ab.cleanup();
});

test('coverage: every non-empty cell is driven over the wire, except those no peer can bring about', () => {
  // The set-ups themselves drive these.
  for (const c of ['Evt1/Sta1', 'Evt2/Sta4', 'Evt5/Sta1', 'Evt6/Sta2']) driven.add(c);
  // Sta9 and Sta12 are left within the same action that enters them (the release-collision
  // responses are automatic), and ARTIM never runs in the states where Evt18 has no cell.
  const unreachable = new Set<string>();
  for (const [key, cell] of GRID) if (cell !== undefined && (key.endsWith('/Sta9') || key.endsWith('/Sta12'))) unreachable.add(key);
  const missing = [...GRID].filter(([key, cell]) => cell !== undefined && !driven.has(key) && !unreachable.has(key)).map(([key]) => key);
  assert.deepEqual(missing, [], `cells not driven over the wire (${cellsDriven} runs)`);
});
