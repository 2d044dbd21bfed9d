/**
 * The DICOM Upper Layer state machine as data: the states of PS3.8 §9.2.1 (Tables 9-1 to 9-5), the
 * actions of §9.2.2 (Tables 9-6 to 9-9) and the state transition table of §9.2.3 (Table 9-10), keyed
 * by the standard's own ids. A small engine applies a cell: it enters the next state, then runs the
 * action through an ActionContext (send a PDU, start/stop ARTIM, indicate to the user, open or close
 * the transport). No I/O happens here.
 *
 * One reading needs stating: AA-1 says "Send A-ABORT PDU (service-user source)". When AA-1 answers a
 * PDU received in Sta2 (nothing has been indicated to the user yet, so the provider is the one
 * aborting), the A-ABORT sent carries source 2 (service-provider) and the reason of Table 9-26
 * (1 unrecognized PDU, 2 unexpected PDU, 4-6 for a bad parameter), which tells the peer what was wrong.
 * AA-1 on a user's A-ABORT request (Evt15) sends source 0.
 */
import { AbortReason, AbortSource, PduError } from './errors.js';
import type { AAbort } from './pdu/a-abort.js';
import type { AAssociateAc } from './pdu/a-associate-ac.js';
import type { AAssociateRj } from './pdu/a-associate-rj.js';
import type { AAssociateRq } from './pdu/a-associate-rq.js';
import type { AReleaseRp } from './pdu/a-release-rp.js';
import type { AReleaseRq } from './pdu/a-release-rq.js';
import type { PDataTf, PresentationDataValue } from './pdu/p-data-tf.js';
import { PduType } from './pdu/pdu-type.js';
import type { Pdu } from './pdu/pdu.js';

export const STATES = ['Sta1', 'Sta2', 'Sta3', 'Sta4', 'Sta5', 'Sta6', 'Sta7', 'Sta8', 'Sta9', 'Sta10', 'Sta11', 'Sta12', 'Sta13'] as const;
export type State = (typeof STATES)[number];

/** PS3.8 §9.2.1, Tables 9-1 to 9-5. */
export const STATE_DEFINITIONS: Readonly<Record<State, string>> = {
  Sta1: 'Idle',
  Sta2: 'Transport connection open (Awaiting A-ASSOCIATE-RQ PDU)',
  Sta3: 'Awaiting local A-ASSOCIATE response primitive (from local user)',
  Sta4: 'Awaiting transport connection opening to complete (from local transport service)',
  Sta5: 'Awaiting A-ASSOCIATE-AC or A-ASSOCIATE-RJ PDU',
  Sta6: 'Association established and ready for data transfer',
  Sta7: 'Awaiting A-RELEASE-RP PDU',
  Sta8: 'Awaiting local A-RELEASE response primitive (from local user)',
  Sta9: 'Release collision requestor side; awaiting A-RELEASE response (from local user)',
  Sta10: 'Release collision acceptor side; awaiting A-RELEASE-RP PDU',
  Sta11: 'Release collision requestor side; awaiting A-RELEASE-RP PDU',
  Sta12: 'Release collision acceptor side; awaiting A-RELEASE response primitive (from local user)',
  Sta13: 'Awaiting Transport Connection Close Indication (Association no longer exists)',
};

export const EVENTS = [
  'Evt1', 'Evt2', 'Evt3', 'Evt4', 'Evt5', 'Evt6', 'Evt7', 'Evt8', 'Evt9', 'Evt10',
  'Evt11', 'Evt12', 'Evt13', 'Evt14', 'Evt15', 'Evt16', 'Evt17', 'Evt18', 'Evt19',
] as const;
export type Event = (typeof EVENTS)[number];

/** PS3.8 §9.2.3, Table 9-10: the events, one per row. */
export const EVENT_DEFINITIONS: Readonly<Record<Event, string>> = {
  Evt1: 'A-ASSOCIATE Request (local user)',
  Evt2: 'Transport Conn. Confirmn (local transport service)',
  Evt3: 'A-ASSOCIATE-AC PDU (received on transport connection)',
  Evt4: 'A-ASSOCIATE-RJ PDU (received on transport connection)',
  Evt5: 'Transport Connection Indication (local transport service)',
  Evt6: 'A-ASSOCIATE-RQ PDU (received on transport connection)',
  Evt7: 'A-ASSOCIATE response primitive (accept)',
  Evt8: 'A-ASSOCIATE response primitive (reject)',
  Evt9: 'P-DATA request primitive',
  Evt10: 'P-DATA-TF PDU',
  Evt11: 'A-RELEASE Request primitive',
  Evt12: 'A-RELEASE-RQ PDU (received on open transport connection)',
  Evt13: 'A-RELEASE-RP PDU (received on transport connection)',
  Evt14: 'A-RELEASE Response primitive',
  Evt15: 'A-ABORT Request primitive',
  Evt16: 'A-ABORT PDU (received on open transport connection)',
  Evt17: 'Transport connection closed indication (local transport service)',
  Evt18: 'ARTIM timer expired (Association reject/release timer)',
  Evt19: 'Unrecognized or invalid PDU received',
};

export const ACTIONS = [
  'AE-1', 'AE-2', 'AE-3', 'AE-4', 'AE-5', 'AE-6', 'AE-7', 'AE-8',
  'DT-1', 'DT-2',
  'AR-1', 'AR-2', 'AR-3', 'AR-4', 'AR-5', 'AR-6', 'AR-7', 'AR-8', 'AR-9', 'AR-10',
  'AA-1', 'AA-2', 'AA-3', 'AA-4', 'AA-5', 'AA-6', 'AA-7', 'AA-8',
] as const;
export type Action = (typeof ACTIONS)[number];

/** PS3.8 §9.2.2, Tables 9-6 to 9-9: each action and the state(s) it leads to. */
export const ACTION_DEFINITIONS: Readonly<Record<Action, { definition: string; next: readonly State[] }>> = {
  'AE-1': { definition: 'Issue TRANSPORT CONNECT request primitive to local transport service', next: ['Sta4'] },
  'AE-2': { definition: 'Send A-ASSOCIATE-RQ-PDU', next: ['Sta5'] },
  'AE-3': { definition: 'Issue A-ASSOCIATE confirmation (accept) primitive', next: ['Sta6'] },
  'AE-4': { definition: 'Issue A-ASSOCIATE confirmation (reject) primitive and close transport connection', next: ['Sta1'] },
  'AE-5': { definition: 'Issue Transport connection response primitive; start ARTIM timer', next: ['Sta2'] },
  'AE-6': {
    definition: 'Stop ARTIM timer and if A-ASSOCIATE-RQ acceptable by service-provider: issue A-ASSOCIATE indication primitive ' +
      '(next state Sta3), otherwise: issue A-ASSOCIATE-RJ-PDU and start ARTIM timer (next state Sta13)',
    next: ['Sta3', 'Sta13'],
  },
  'AE-7': { definition: 'Send A-ASSOCIATE-AC PDU', next: ['Sta6'] },
  'AE-8': { definition: 'Send A-ASSOCIATE-RJ PDU and start ARTIM timer', next: ['Sta13'] },
  'DT-1': { definition: 'Send P-DATA-TF PDU', next: ['Sta6'] },
  'DT-2': { definition: 'Send P-DATA indication primitive', next: ['Sta6'] },
  'AR-1': { definition: 'Send A-RELEASE-RQ PDU', next: ['Sta7'] },
  'AR-2': { definition: 'Issue A-RELEASE indication primitive', next: ['Sta8'] },
  'AR-3': { definition: 'Issue A-RELEASE confirmation primitive, and close transport connection', next: ['Sta1'] },
  'AR-4': { definition: 'Issue A-RELEASE-RP PDU and start ARTIM timer', next: ['Sta13'] },
  'AR-5': { definition: 'Stop ARTIM timer', next: ['Sta1'] },
  'AR-6': { definition: 'Issue P-DATA indication', next: ['Sta7'] },
  'AR-7': { definition: 'Issue P-DATA-TF PDU', next: ['Sta8'] },
  'AR-8': { definition: 'Issue A-RELEASE indication (release collision): if association-requestor, next state is Sta9, if not, next state is Sta10', next: ['Sta9', 'Sta10'] },
  'AR-9': { definition: 'Send A-RELEASE-RP PDU', next: ['Sta11'] },
  'AR-10': { definition: 'Issue A-RELEASE confirmation primitive', next: ['Sta12'] },
  'AA-1': { definition: 'Send A-ABORT PDU (service-user source) and start (or restart if already started) ARTIM timer', next: ['Sta13'] },
  'AA-2': { definition: 'Stop ARTIM timer if running. Close transport connection', next: ['Sta1'] },
  'AA-3': {
    definition: 'If (service-user initiated abort): issue A-ABORT indication and close transport connection; ' +
      'otherwise (service-provider initiated abort): issue A-P-ABORT indication and close transport connection',
    next: ['Sta1'],
  },
  'AA-4': { definition: 'Issue A-P-ABORT indication primitive', next: ['Sta1'] },
  'AA-5': { definition: 'Stop ARTIM timer', next: ['Sta1'] },
  'AA-6': { definition: 'Ignore PDU', next: ['Sta13'] },
  'AA-7': { definition: 'Send A-ABORT PDU', next: ['Sta13'] },
  'AA-8': { definition: 'Send A-ABORT PDU (service-provider source-), issue an A-P-ABORT indication, and start ARTIM timer', next: ['Sta13'] },
};

/** One cell of Table 9-10: the action and its next state (two where the action decides). */
export interface Cell {
  action: Action;
  next: readonly State[];
}

// Written as Table 9-10 reads: one row per event, cells 'action>next' for the states that have one.
const ROWS: Readonly<Record<Event, Partial<Record<State, string>>>> = {
  Evt1: { Sta1: 'AE-1>Sta4' },
  Evt2: { Sta4: 'AE-2>Sta5' },
  Evt3: row('AA-1', 'AA-8', 'AE-3>Sta6', 'AA-8', 'AA-6'),
  Evt4: row('AA-1', 'AA-8', 'AE-4>Sta1', 'AA-8', 'AA-6'),
  Evt5: { Sta1: 'AE-5>Sta2' },
  Evt6: { ...row('AE-6>Sta3|Sta13', 'AA-8', 'AA-8', 'AA-8', 'AA-7') },
  Evt7: { Sta3: 'AE-7>Sta6' },
  Evt8: { Sta3: 'AE-8>Sta13' },
  Evt9: { Sta6: 'DT-1>Sta6', Sta8: 'AR-7>Sta8' },
  Evt10: { ...row('AA-1', 'AA-8', 'AA-8', 'AA-8', 'AA-6'), Sta6: 'DT-2>Sta6', Sta7: 'AR-6>Sta7' },
  Evt11: { Sta6: 'AR-1>Sta7' },
  Evt12: { ...row('AA-1', 'AA-8', 'AA-8', 'AA-8', 'AA-6'), Sta6: 'AR-2>Sta8', Sta7: 'AR-8>Sta9|Sta10' },
  Evt13: { ...row('AA-1', 'AA-8', 'AA-8', 'AA-8', 'AA-6'), Sta7: 'AR-3>Sta1', Sta10: 'AR-10>Sta12', Sta11: 'AR-3>Sta1' },
  Evt14: { Sta8: 'AR-4>Sta13', Sta9: 'AR-9>Sta11', Sta12: 'AR-4>Sta13' },
  Evt15: { Sta3: 'AA-1>Sta13', Sta4: 'AA-2>Sta1', ...span('AA-1>Sta13', 5, 12) },
  Evt16: { Sta2: 'AA-2>Sta1', Sta3: 'AA-3>Sta1', ...span('AA-3>Sta1', 5, 12), Sta13: 'AA-2>Sta1' },
  Evt17: { Sta2: 'AA-5>Sta1', ...span('AA-4>Sta1', 3, 12), Sta13: 'AR-5>Sta1' },
  Evt18: { Sta2: 'AA-2>Sta1', Sta13: 'AA-2>Sta1' },
  Evt19: row('AA-1', 'AA-8', 'AA-8', 'AA-8', 'AA-7'),
};

/** The common shape of the PDU rows: Sta2, Sta3, Sta5, Sta6-12, Sta13 (Sta1 and Sta4 have no connection to read). */
function row(sta2: string, sta3: string, sta5: string, sta6to12: string, sta13: string): Partial<Record<State, string>> {
  const full = (s: string): string => (s.includes('>') ? s : `${s}>Sta13`);
  return { Sta2: full(sta2), Sta3: full(sta3), Sta5: full(sta5), ...span(full(sta6to12), 6, 12), Sta13: full(sta13) };
}

function span(cell: string, from: number, to: number): Partial<Record<State, string>> {
  const out: Partial<Record<State, string>> = {};
  for (let i = from; i <= to; i++) out[`Sta${i}` as State] = cell;
  return out;
}

/** PS3.8 §9.2.3, Table 9-10, indexed [event][state]; an absent cell is an event that cannot occur in that state. */
export const STATE_TRANSITION_TABLE: Readonly<Record<Event, Readonly<Partial<Record<State, Cell>>>>> = Object.freeze(
  Object.fromEntries(
    EVENTS.map((e) => [
      e,
      Object.freeze(Object.fromEntries(Object.entries(ROWS[e]).map(([s, text]) => {
        const [action, next] = text!.split('>') as [Action, string];
        return [s, Object.freeze({ action, next: Object.freeze(next.split('|') as State[]) })];
      }))),
    ]),
  ) as Record<Event, Partial<Record<State, Cell>>>,
);

export function cellOf(state: State, event: Event): Cell | undefined {
  return STATE_TRANSITION_TABLE[event][state];
}

/** An event with what it carries. */
export type EventInput =
  | { event: 'Evt1'; rq: AAssociateRq }
  | { event: 'Evt2' }
  | { event: 'Evt3'; pdu: AAssociateAc }
  | { event: 'Evt4'; pdu: AAssociateRj }
  | { event: 'Evt5' }
  | { event: 'Evt6'; pdu: AAssociateRq }
  | { event: 'Evt7'; ac: AAssociateAc }
  | { event: 'Evt8'; rj: AAssociateRj }
  | { event: 'Evt9'; pdvs: PresentationDataValue[] }
  | { event: 'Evt10'; pdu: PDataTf }
  | { event: 'Evt11' }
  | { event: 'Evt12'; pdu: AReleaseRq }
  | { event: 'Evt13'; pdu: AReleaseRp }
  | { event: 'Evt14' }
  | { event: 'Evt15'; source?: number; reason?: number }
  | { event: 'Evt16'; pdu: AAbort }
  | { event: 'Evt17'; error?: Error }
  | { event: 'Evt18' }
  | { event: 'Evt19'; error: PduError };

/** What the state machine tells its user (PS3.8 §7). */
export type Indication =
  | { type: 'A-ASSOCIATE indication'; rq: AAssociateRq }
  | { type: 'A-ASSOCIATE confirmation (accept)'; ac: AAssociateAc }
  | { type: 'A-ASSOCIATE confirmation (reject)'; rj: AAssociateRj }
  | { type: 'P-DATA indication'; pdvs: PresentationDataValue[] }
  | { type: 'A-RELEASE indication'; collision: boolean }
  | { type: 'A-RELEASE confirmation' }
  | { type: 'A-ABORT indication'; source: number; reason: number }
  /**
   * The provider ended the association: `origin` 'received' (the peer's A-ABORT had source 1 or 2),
   * 'sent' (this end sent A-ABORT, source 2, for `error`), or 'transport' (the connection closed).
   */
  | { type: 'A-P-ABORT indication'; origin: 'received' | 'sent' | 'transport'; source: number; reason: number; error?: Error };

/** The side effects an action may have; the DUL service provider implements them over a transport. */
export interface ActionContext {
  sendPdu(pdu: Pdu): void;
  connectTransport(): void;
  /** AE-5: over TCP the connection is already accepted; this is where a provider may note it. */
  acceptTransport(): void;
  closeTransport(): void;
  /** Starts ARTIM, or restarts it if running (PS3.8 §9.1.5). */
  startArtim(): void;
  stopArtim(): void;
  indicate(indication: Indication): void;
  /** AE-6: undefined when the A-ASSOCIATE-RQ is acceptable by the service-provider, else the A-ASSOCIATE-RJ to send. */
  checkAssociateRq(rq: AAssociateRq): AAssociateRj | undefined;
}

export interface Transition {
  from: State;
  event: Event;
  action: Action;
  to: State;
}

/**
 * Applies Table 9-10. The next state is entered before the action's side effects run, so that a user
 * reacting synchronously to an indication (sending P-DATA on an A-ASSOCIATE confirmation, say) finds
 * the machine in the state the standard says it is in.
 */
export class StateMachine {
  state: State;
  readonly isAssociationRequestor: boolean;
  private readonly ctx: ActionContext;
  private readonly onTransition: ((t: Transition) => void) | undefined;
  /** The A-ASSOCIATE-RQ given with Evt1, sent by AE-2 once the transport is open. */
  private pendingRq: AAssociateRq | undefined;

  constructor(ctx: ActionContext, options: { isAssociationRequestor: boolean; initialState?: State; onTransition?: (t: Transition) => void }) {
    this.ctx = ctx;
    this.isAssociationRequestor = options.isAssociationRequestor;
    this.state = options.initialState ?? 'Sta1';
    this.onTransition = options.onTransition;
  }

  /** Applies the cell for the event in the current state; returns undefined (and changes nothing) for an empty cell. */
  handle(input: EventInput): Transition | undefined {
    const from = this.state;
    const cell = STATE_TRANSITION_TABLE[input.event][from];
    if (cell === undefined) return undefined;
    const ctx = this.ctx;
    let rj: AAssociateRj | undefined;
    let to: State;
    switch (cell.action) {
      case 'AE-6':
        rj = ctx.checkAssociateRq((input as { pdu: AAssociateRq }).pdu);
        to = rj === undefined ? 'Sta3' : 'Sta13';
        break;
      case 'AR-8':
        to = this.isAssociationRequestor ? 'Sta9' : 'Sta10';
        break;
      default:
        to = cell.next[0]!;
    }
    this.state = to;
    const t: Transition = { from, event: input.event, action: cell.action, to };
    this.onTransition?.(t);
    this.run(cell.action, input, rj, from);
    return t;
  }

  private run(action: Action, input: EventInput, rj: AAssociateRj | undefined, from: State): void {
    const ctx = this.ctx;
    switch (action) {
      case 'AE-1':
        this.pendingRq = (input as { rq: AAssociateRq }).rq;
        ctx.connectTransport();
        return;
      case 'AE-2':
        if (this.pendingRq !== undefined) ctx.sendPdu(this.pendingRq);
        return;
      case 'AE-3':
        ctx.indicate({ type: 'A-ASSOCIATE confirmation (accept)', ac: (input as { pdu: AAssociateAc }).pdu });
        return;
      case 'AE-4':
        ctx.indicate({ type: 'A-ASSOCIATE confirmation (reject)', rj: (input as { pdu: AAssociateRj }).pdu });
        ctx.closeTransport();
        return;
      case 'AE-5':
        ctx.acceptTransport();
        ctx.startArtim();
        return;
      case 'AE-6':
        ctx.stopArtim();
        if (rj === undefined) {
          ctx.indicate({ type: 'A-ASSOCIATE indication', rq: (input as { pdu: AAssociateRq }).pdu });
        } else {
          ctx.sendPdu(rj);
          ctx.startArtim();
        }
        return;
      case 'AE-7':
        ctx.sendPdu((input as { ac: AAssociateAc }).ac);
        return;
      case 'AE-8':
        ctx.sendPdu((input as { rj: AAssociateRj }).rj);
        ctx.startArtim();
        return;
      case 'DT-1':
      case 'AR-7':
        ctx.sendPdu({ type: PduType.PDataTf, presentationDataValues: (input as { pdvs: PresentationDataValue[] }).pdvs });
        return;
      case 'DT-2':
      case 'AR-6':
        ctx.indicate({ type: 'P-DATA indication', pdvs: (input as { pdu: PDataTf }).pdu.presentationDataValues });
        return;
      case 'AR-1':
        ctx.sendPdu({ type: PduType.AReleaseRq });
        return;
      case 'AR-2':
        ctx.indicate({ type: 'A-RELEASE indication', collision: false });
        return;
      case 'AR-3':
        ctx.indicate({ type: 'A-RELEASE confirmation' });
        ctx.closeTransport();
        return;
      case 'AR-4':
        ctx.sendPdu({ type: PduType.AReleaseRp });
        ctx.startArtim();
        return;
      case 'AR-5':
        ctx.stopArtim();
        return;
      case 'AR-8':
        ctx.indicate({ type: 'A-RELEASE indication', collision: true });
        return;
      case 'AR-9':
        ctx.sendPdu({ type: PduType.AReleaseRp });
        return;
      case 'AR-10':
        ctx.indicate({ type: 'A-RELEASE confirmation' });
        return;
      case 'AA-1': {
        const [source, reason] = input.event === 'Evt15'
          ? [input.source ?? AbortSource.ServiceUser, input.reason ?? AbortReason.ReasonNotSpecified]
          : [AbortSource.ServiceProvider, providerReason(input)];
        ctx.sendPdu({ type: PduType.AAbort, source, reason });
        ctx.startArtim();
        return;
      }
      case 'AA-2':
        ctx.stopArtim();
        ctx.closeTransport();
        return;
      case 'AA-3': {
        const pdu = (input as { pdu: AAbort }).pdu;
        if (pdu.source === AbortSource.ServiceUser) {
          ctx.indicate({ type: 'A-ABORT indication', source: pdu.source, reason: pdu.reason });
        } else {
          ctx.indicate({ type: 'A-P-ABORT indication', origin: 'received', source: pdu.source, reason: pdu.reason });
        }
        ctx.closeTransport();
        return;
      }
      case 'AA-4': {
        const error = input.event === 'Evt17' ? input.error : undefined;
        ctx.indicate({
          type: 'A-P-ABORT indication', origin: 'transport', source: AbortSource.ServiceProvider,
          reason: AbortReason.ReasonNotSpecified, ...(error === undefined ? {} : { error }),
        });
        return;
      }
      case 'AA-5':
        ctx.stopArtim();
        return;
      case 'AA-6':
        return;
      case 'AA-7':
        ctx.sendPdu({ type: PduType.AAbort, source: AbortSource.ServiceProvider, reason: providerReason(input) });
        return;
      case 'AA-8': {
        const reason = providerReason(input);
        ctx.sendPdu({ type: PduType.AAbort, source: AbortSource.ServiceProvider, reason });
        const error = input.event === 'Evt19'
          ? input.error
          : new PduError(AbortReason.UnexpectedPdu, `${EVENT_DEFINITIONS[input.event]} is not expected in ${from} (${STATE_DEFINITIONS[from]})`);
        ctx.indicate({ type: 'A-P-ABORT indication', origin: 'sent', source: AbortSource.ServiceProvider, reason, error });
        ctx.startArtim();
        return;
      }
    }
  }
}

/** The A-ABORT reason for a provider-initiated abort (Table 9-26): the decode error's, or unexpected PDU. */
function providerReason(input: EventInput): number {
  return input.event === 'Evt19' ? input.error.abortReason : AbortReason.UnexpectedPdu;
}
