/**
 * Every (state, event) cell of PS3.8 §9.2.3, Table 9-10, driven at the engine level with a fake
 * action context: the action, the next state and the action's side effects (Tables 9-6 to 9-9).
 * The grid (table-9-10.ts) is transcribed from the standard independently of src/upper-layer/state-machine.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACTIONS, ACTION_DEFINITIONS, EVENTS, STATES, STATE_TRANSITION_TABLE, StateMachine, PduError, PduType, AbortReason,
} from '../../src/upper-layer/index.js';
import type { ActionContext, EventInput, Event, Pdu, State, AAssociateRj } from '../../src/upper-layer/index.js';
import { pdv, sampleAc, sampleRq } from './fixtures.js';
import { GRID } from './table-9-10.js';

const SIDE_EFFECTS: Record<string, string[]> = {
  'AE-1': ['connectTransport'],
  'AE-2': ['send A-ASSOCIATE-RQ'],
  'AE-3': ['indicate A-ASSOCIATE confirmation (accept)'],
  'AE-4': ['indicate A-ASSOCIATE confirmation (reject)', 'closeTransport'],
  'AE-5': ['acceptTransport', 'startArtim'],
  'AE-7': ['send A-ASSOCIATE-AC'],
  'AE-8': ['send A-ASSOCIATE-RJ', 'startArtim'],
  'DT-1': ['send P-DATA-TF'],
  'DT-2': ['indicate P-DATA indication'],
  'AR-1': ['send A-RELEASE-RQ'],
  'AR-2': ['indicate A-RELEASE indication'],
  'AR-3': ['indicate A-RELEASE confirmation', 'closeTransport'],
  'AR-4': ['send A-RELEASE-RP', 'startArtim'],
  'AR-5': ['stopArtim'],
  'AR-6': ['indicate P-DATA indication'],
  'AR-7': ['send P-DATA-TF'],
  'AR-8': ['indicate A-RELEASE indication'],
  'AR-9': ['send A-RELEASE-RP'],
  'AR-10': ['indicate A-RELEASE confirmation'],
  'AA-1': ['send A-ABORT', 'startArtim'],
  'AA-2': ['stopArtim', 'closeTransport'],
  'AA-4': ['indicate A-P-ABORT indication'],
  'AA-5': ['stopArtim'],
  'AA-6': [],
  'AA-7': ['send A-ABORT'],
  'AA-8': ['send A-ABORT', 'indicate A-P-ABORT indication', 'startArtim'],
};

const NAMES: Record<number, string> = { 1: 'A-ASSOCIATE-RQ', 2: 'A-ASSOCIATE-AC', 3: 'A-ASSOCIATE-RJ', 4: 'P-DATA-TF', 5: 'A-RELEASE-RQ', 6: 'A-RELEASE-RP', 7: 'A-ABORT' };
const RJ: AAssociateRj = { type: PduType.AAssociateRj, result: 1, source: 2, reason: 2 };

function inputFor(event: Event, abortSource = 0): EventInput {
  switch (event) {
    case 'Evt1': return { event, rq: sampleRq() };
    case 'Evt3': return { event, pdu: sampleAc() };
    case 'Evt4': return { event, pdu: RJ };
    case 'Evt6': return { event, pdu: sampleRq() };
    case 'Evt7': return { event, ac: sampleAc() };
    case 'Evt8': return { event, rj: RJ };
    case 'Evt9': return { event, pdvs: [pdv(1, [1])] };
    case 'Evt10': return { event, pdu: { type: PduType.PDataTf, presentationDataValues: [pdv(1, [1])] } };
    case 'Evt12': return { event, pdu: { type: PduType.AReleaseRq } };
    case 'Evt13': return { event, pdu: { type: PduType.AReleaseRp } };
    case 'Evt16': return { event, pdu: { type: PduType.AAbort, source: abortSource, reason: abortSource === 2 ? 1 : 0 } };
    case 'Evt19': return { event, error: new PduError(AbortReason.UnrecognizedPduParameter, 'test') };
    default: return { event } as EventInput;
  }
}

class FakeContext implements ActionContext {
  calls: string[] = [];
  sent: Pdu[] = [];
  indications: Array<{ type: string }> = [];
  constructor(private readonly rqAcceptable: boolean) {}
  sendPdu(pdu: Pdu): void { this.calls.push(`send ${NAMES[pdu.type]}`); this.sent.push(pdu); }
  connectTransport(): void { this.calls.push('connectTransport'); }
  acceptTransport(): void { this.calls.push('acceptTransport'); }
  closeTransport(): void { this.calls.push('closeTransport'); }
  startArtim(): void { this.calls.push('startArtim'); }
  stopArtim(): void { this.calls.push('stopArtim'); }
  indicate(i: { type: string }): void { this.calls.push(`indicate ${i.type}`); this.indications.push(i); }
  checkAssociateRq(): AAssociateRj | undefined { return this.rqAcceptable ? undefined : RJ; }
}

function machineAt(state: State, opts: { requestor?: boolean; rqAcceptable?: boolean } = {}): { m: StateMachine; ctx: FakeContext } {
  const ctx = new FakeContext(opts.rqAcceptable ?? true);
  if (state === 'Sta4') {
    // AE-2 sends the A-ASSOCIATE-RQ given with Evt1, so Sta4 is reached the way the standard reaches it.
    const m = new StateMachine(ctx, { isAssociationRequestor: true });
    m.handle({ event: 'Evt1', rq: sampleRq() });
    ctx.calls = [];
    return { m, ctx };
  }
  return { m: new StateMachine(ctx, { isAssociationRequestor: opts.requestor ?? true, initialState: state }), ctx };
}

test('the grid has 19 events x 13 states', () => {
  assert.equal(GRID.size, 19 * 13);
  assert.deepEqual([...EVENTS], Array.from({ length: 19 }, (_, i) => `Evt${i + 1}`));
  assert.deepEqual([...STATES], Array.from({ length: 13 }, (_, i) => `Sta${i + 1}`));
  assert.equal(ACTIONS.length, 28);
});

test('STATE_TRANSITION_TABLE is Table 9-10, cell by cell, and every next state agrees with Tables 9-6 to 9-9', () => {
  for (const event of EVENTS) {
    for (const state of STATES) {
      const expected = GRID.get(`${event}/${state}`);
      const cell = STATE_TRANSITION_TABLE[event][state];
      if (expected === undefined) {
        assert.equal(cell, undefined, `${event}/${state} should be empty`);
      } else {
        assert.ok(cell, `${event}/${state} should be ${expected.action}`);
        assert.equal(cell.action, expected.action, `${event}/${state}`);
        assert.deepEqual([...cell.next], expected.next, `${event}/${state}`);
        assert.deepEqual([...ACTION_DEFINITIONS[cell.action].next], expected.next, `${cell.action} next states`);
      }
    }
  }
});

for (const event of EVENTS) {
  test(`engine: ${event} in every state`, () => {
    for (const state of STATES) {
      const expected = GRID.get(`${event}/${state}`);
      const variants: Array<{ requestor: boolean; rqAcceptable: boolean; abortSource: number }> = [{ requestor: true, rqAcceptable: true, abortSource: 0 }];
      if (expected?.action === 'AR-8') variants.push({ requestor: false, rqAcceptable: true, abortSource: 0 });
      if (expected?.action === 'AE-6') variants.push({ requestor: false, rqAcceptable: false, abortSource: 0 });
      if (expected?.action === 'AA-3') variants.push({ requestor: true, rqAcceptable: true, abortSource: 2 });
      for (const v of variants) {
        const { m, ctx } = machineAt(state, v);
        const t = m.handle(inputFor(event, v.abortSource));
        const where = `${event} in ${state} (${JSON.stringify(v)})`;
        if (expected === undefined) {
          assert.equal(t, undefined, where);
          assert.equal(m.state, state, where);
          assert.deepEqual(ctx.calls, [], where);
          continue;
        }
        assert.ok(t, where);
        assert.equal(t.action, expected.action, where);
        assert.equal(t.from, state);
        let next: State = expected.next[0]!;
        if (expected.action === 'AR-8') next = v.requestor ? 'Sta9' : 'Sta10';
        if (expected.action === 'AE-6') next = v.rqAcceptable ? 'Sta3' : 'Sta13';
        assert.equal(t.to, next, where);
        assert.equal(m.state, next, where);
        let effects = SIDE_EFFECTS[expected.action];
        if (expected.action === 'AE-6') {
          effects = v.rqAcceptable ? ['stopArtim', 'indicate A-ASSOCIATE indication'] : ['stopArtim', 'send A-ASSOCIATE-RJ', 'startArtim'];
        }
        if (expected.action === 'AA-3') {
          effects = [v.abortSource === 0 ? 'indicate A-ABORT indication' : 'indicate A-P-ABORT indication', 'closeTransport'];
        }
        assert.deepEqual(ctx.calls, effects, where);
      }
    }
  });
}

test('A-ABORT source and reason: user request, provider on unexpected PDU, provider on invalid PDU', () => {
  const user = machineAt('Sta6');
  user.m.handle({ event: 'Evt15' });
  assert.deepEqual(user.ctx.sent, [{ type: PduType.AAbort, source: 0, reason: 0 }]);

  // AA-1 answering a PDU in Sta2: nothing was indicated to the user, the provider aborts.
  const sta2 = machineAt('Sta2');
  sta2.m.handle(inputFor('Evt10'));
  assert.deepEqual(sta2.ctx.sent, [{ type: PduType.AAbort, source: 2, reason: 2 }]);

  const invalid = machineAt('Sta2');
  invalid.m.handle({ event: 'Evt19', error: new PduError(AbortReason.UnrecognizedPdu, 'x') });
  assert.deepEqual(invalid.ctx.sent, [{ type: PduType.AAbort, source: 2, reason: 1 }]);

  const aa8 = machineAt('Sta6');
  aa8.m.handle(inputFor('Evt6'));
  assert.deepEqual(aa8.ctx.sent, [{ type: PduType.AAbort, source: 2, reason: 2 }]);
  const indication = aa8.ctx.indications[0] as { type: string; origin: string; source: number; reason: number; error: PduError };
  assert.deepEqual([indication.type, indication.origin, indication.source, indication.reason], ['A-P-ABORT indication', 'sent', 2, 2]);
  assert.equal(indication.error.code, 'ERR_DICOM_PDU_UNEXPECTED');

  const aa8invalid = machineAt('Sta7');
  aa8invalid.m.handle(inputFor('Evt19'));
  assert.deepEqual(aa8invalid.ctx.sent, [{ type: PduType.AAbort, source: 2, reason: 4 }]);

  const aa7 = machineAt('Sta13');
  aa7.m.handle(inputFor('Evt6'));
  assert.deepEqual(aa7.ctx.sent, [{ type: PduType.AAbort, source: 2, reason: 2 }]);
});

test('the next state is entered before the side effects run (a user reacting synchronously sees it)', () => {
  let seen: State | undefined;
  const ctx = new FakeContext(true);
  const m = new StateMachine({ ...ctx, indicate: () => { seen = m.state; }, sendPdu: () => undefined, startArtim: () => undefined, stopArtim: () => undefined, closeTransport: () => undefined, connectTransport: () => undefined, acceptTransport: () => undefined, checkAssociateRq: () => undefined }, { isAssociationRequestor: true, initialState: 'Sta5' });
  m.handle(inputFor('Evt3'));
  assert.equal(seen, 'Sta6');
});

test('the full requestor and acceptor paths through the table', () => {
  const req = machineAt('Sta1', { requestor: true });
  const path: Array<[EventInput, State]> = [
    [inputFor('Evt1'), 'Sta4'], [inputFor('Evt2'), 'Sta5'], [inputFor('Evt3'), 'Sta6'], [inputFor('Evt9'), 'Sta6'],
    [inputFor('Evt10'), 'Sta6'], [inputFor('Evt11'), 'Sta7'], [inputFor('Evt10'), 'Sta7'], [inputFor('Evt13'), 'Sta1'],
  ];
  for (const [input, state] of path) {
    req.m.handle(input);
    assert.equal(req.m.state, state, input.event);
  }
  assert.deepEqual(req.ctx.calls, [
    'connectTransport', 'send A-ASSOCIATE-RQ', 'indicate A-ASSOCIATE confirmation (accept)', 'send P-DATA-TF', 'indicate P-DATA indication',
    'send A-RELEASE-RQ', 'indicate P-DATA indication', 'indicate A-RELEASE confirmation', 'closeTransport',
  ]);
  const acc = machineAt('Sta1', { requestor: false });
  for (const [input, state] of [
    [inputFor('Evt5'), 'Sta2'], [inputFor('Evt6'), 'Sta3'], [inputFor('Evt7'), 'Sta6'], [inputFor('Evt12'), 'Sta8'],
    [inputFor('Evt9'), 'Sta8'], [inputFor('Evt14'), 'Sta13'], [inputFor('Evt17'), 'Sta1'],
  ] as Array<[EventInput, State]>) {
    acc.m.handle(input);
    assert.equal(acc.m.state, state, input.event);
  }
  // release collision, both sides
  const r = machineAt('Sta6', { requestor: true });
  for (const [e, s] of [['Evt11', 'Sta7'], ['Evt12', 'Sta9'], ['Evt14', 'Sta11'], ['Evt13', 'Sta1']] as Array<[Event, State]>) {
    r.m.handle(inputFor(e));
    assert.equal(r.m.state, s, e);
  }
  const a = machineAt('Sta6', { requestor: false });
  for (const [e, s] of [['Evt11', 'Sta7'], ['Evt12', 'Sta10'], ['Evt13', 'Sta12'], ['Evt14', 'Sta13'], ['Evt17', 'Sta1']] as Array<[Event, State]>) {
    a.m.handle(inputFor(e));
    assert.equal(a.m.state, s, e);
  }
});
