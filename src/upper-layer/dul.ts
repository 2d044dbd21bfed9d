/**
 * The DICOM Upper Layer service provider for one transport connection: it joins the transport, the
 * PDU framer and codecs, and the state machine of Table 9-10, and runs ARTIM (PS3.8 §9.1.5). Its
 * user (association.ts, listener.ts) issues primitives (A-ASSOCIATE, P-DATA, A-RELEASE, A-ABORT
 * requests and responses) and receives indications and confirmations.
 *
 * Before a received PDU becomes its event, the provider checks what only it knows: an
 * A-ASSOCIATE-AC must answer the A-ASSOCIATE-RQ sent, and a PDV must use an accepted presentation
 * context; a PDU that fails is an invalid PDU (Evt19, A-ABORT reason 6), as is one that does not
 * decode.
 */
import { DicomError } from '../core/dicom-error.js';
import { AbortReason, PduError } from './errors.js';
import { checkServiceProviderAcceptance, validateAssociateAc } from './negotiation.js';
import { encodeAAssociateAc } from './pdu/a-associate-ac.js';
import type { AAssociateAc } from './pdu/a-associate-ac.js';
import { encodeAAssociateRj } from './pdu/a-associate-rj.js';
import type { AAssociateRj } from './pdu/a-associate-rj.js';
import { encodeAAssociateRq } from './pdu/a-associate-rq.js';
import type { AAssociateRq } from './pdu/a-associate-rq.js';
import { PresentationContextResult } from './pdu/items.js';
import { encodeLaidOutPDataTf, encodePDataTfGroupParts, encodePDataTfParts, laidOutPdvLists, pDataTfLength } from './pdu/p-data-tf.js';
import type { LaidOutPdvs, PDataTf, PresentationDataValue } from './pdu/p-data-tf.js';
import { PDU_HEADER_LENGTH } from './pdu/pdu-bytes.js';
import { PduType, pduTypeName } from './pdu/pdu-type.js';
import { decodePdu, encodePdu } from './pdu/pdu.js';
import type { Pdu } from './pdu/pdu.js';
import { PduFramer } from './pdu-framer.js';
import { STATE_DEFINITIONS, StateMachine, EVENT_DEFINITIONS, cellOf } from './state-machine.js';
import type { ActionContext, EventInput, Indication, State, Transition } from './state-machine.js';
import { pduChannel, stateChannel } from './tracing.js';
import type { PduTrace, StateTrace } from './tracing.js';
import type { TransportConnection, TransportHandlers } from './transport.js';

export interface DulOptions {
  isAssociationRequestor: boolean;
  /** The longest P-DATA-TF PDU-length accepted until the association says otherwise. */
  maxPduLength: number;
  maxAssociatePduLength?: number;
  /** ARTIM timeout in milliseconds (PS3.8 §9.1.5). */
  artimTimeout: number;
  /** AE-6's "A-ASSOCIATE-RQ acceptable by service-provider"; default: the protocol version check. */
  checkAssociateRq?: (rq: AAssociateRq) => AAssociateRj | undefined;
  connectionId?: string;
}

export interface DulUser {
  onIndication(indication: Indication): void;
  /** The transport connection is closed and the machine is back in Sta1; nothing more will happen. */
  onClosed(): void;
  /** A received PDU was unrecognized, invalid (Evt19) or unexpected in the state; for reporting only. */
  onProtocolError?(error: PduError): void;
}

export class DulServiceProvider {
  private id: string | undefined;
  private readonly machine: StateMachine;
  private readonly framer: PduFramer;
  /**
   * Hand on a P-DATA-TF that arrives over several reads as it comes, its PDVs in pieces (see
   * Association.receivePDataInPieces); default false: whole PDVs.
   */
  streamPData = false;
  private readonly options: DulOptions;
  private user: DulUser;
  private transport: TransportConnection | undefined;
  private connect: ((handlers: TransportHandlers) => TransportConnection) | undefined;
  private artim: NodeJS.Timeout | undefined;
  private sentRq: AAssociateRq | undefined;
  private acceptedIds: Set<number> | undefined;
  private preEncoded: { pdu: Pdu; parts: Uint8Array[] } | undefined;
  private writeOk = true;
  /** Inside pDataGroup: P-DATA-TF PDUs sent by the state machine are written by pDataGroup, together. */
  private grouping = false;
  private closedNotified = false;
  private transportClosed = false;
  /** Settles once the transport is closed and the machine is back in Sta1, whoever the user is by then. */
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;
  /** Time (ms, performance.now) of the last bytes received or PDU sent, for the user's idle timeout. */
  lastActivity = performance.now();

  /**
   * A name for the connection in traces: DulOptions.connectionId, else a random UUID made when
   * first asked for, by the Web Crypto global (loaded then: a client that traces nothing never
   * pays the ~3 ms node:crypto costs to load).
   */
  get connectionId(): string {
    return (this.id ??= crypto.randomUUID());
  }

  constructor(options: DulOptions, user: DulUser) {
    this.options = options;
    this.user = user;
    this.id = options.connectionId;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.framer = new PduFramer({
      maxPduLength: options.maxPduLength,
      ...(options.maxAssociatePduLength !== undefined ? { maxAssociatePduLength: options.maxAssociatePduLength } : {}),
    });
    const ctx: ActionContext = {
      sendPdu: (pdu) => this.sendPdu(pdu),
      connectTransport: () => this.connectTransport(),
      acceptTransport: () => undefined,
      closeTransport: () => this.transport?.close(),
      startArtim: () => this.startArtim(),
      stopArtim: () => this.stopArtim(),
      indicate: (indication) => this.indicate(indication),
      checkAssociateRq: (rq) => (this.options.checkAssociateRq ?? checkServiceProviderAcceptance)(rq),
    };
    this.machine = new StateMachine(ctx, {
      isAssociationRequestor: options.isAssociationRequestor,
      onTransition: (t) => {
        if (stateChannel.hasSubscribers) this.traceTransition(t);
      },
    });
  }

  get state(): State {
    return this.machine.state;
  }

  get peer(): TransportConnection['peer'] | undefined {
    return this.transport?.peer;
  }

  /** Replaces the user (the listener hands an accepted connection over to its Association). */
  setUser(user: DulUser): void {
    this.user = user;
  }

  /** Acceptor: a Transport Connection Indication (Evt5) for an accepted connection. */
  acceptConnection(transport: TransportConnection): void {
    this.transport = transport;
    transport.attach(this.transportHandlers());
    this.dispatch({ event: 'Evt5' });
  }

  /** Requestor: the A-ASSOCIATE request primitive (Evt1); `connect` opens the transport (AE-1). */
  associateRequest(rq: AAssociateRq, connect: (handlers: TransportHandlers) => TransportConnection): void {
    const bytes = encodeAAssociateRq(rq);
    this.connect = connect;
    this.sentRq = rq;
    this.setReceiveLimit(rq.userInformation.maximumLength);
    this.preEncoded = { pdu: rq, parts: [bytes] };
    this.primitive({ event: 'Evt1', rq }, 'A-ASSOCIATE request');
  }

  /** Acceptor: the A-ASSOCIATE response primitive (accept), Evt7. */
  associateAccept(ac: AAssociateAc): void {
    this.preEncoded = { pdu: ac, parts: [encodeAAssociateAc(ac)] };
    this.setReceiveLimit(ac.userInformation.maximumLength);
    this.primitive({ event: 'Evt7', ac }, 'A-ASSOCIATE response (accept)');
  }

  /** Acceptor: the A-ASSOCIATE response primitive (reject), Evt8. */
  associateReject(rj: AAssociateRj): void {
    this.preEncoded = { pdu: rj, parts: [encodeAAssociateRj(rj)] };
    this.primitive({ event: 'Evt8', rj }, 'A-ASSOCIATE response (reject)');
  }

  /**
   * The P-DATA request primitive (Evt9): one P-DATA-TF PDU written whole. Returns false when the
   * transport's buffer is full (wait for `drained()`).
   */
  pData(pdvs: PresentationDataValue[]): boolean {
    const pdu: Pdu = { type: PduType.PDataTf, presentationDataValues: pdvs };
    this.preEncoded = { pdu, parts: encodePDataTfParts(pdvs) };
    this.writeOk = true;
    this.primitive({ event: 'Evt9', pdvs }, 'P-DATA request');
    return this.writeOk;
  }

  /**
   * Several P-DATA request primitives in a row (each Evt9, each PDU sent by DT-1 or AR-7 as the
   * table says), written together: the headers of all the PDUs encoded in one pass, and one write
   * to the transport (one writev). DT-1 and AR-7 leave the state as it is, so the primitives after
   * the first are possible when the first is. Returns false when the transport's buffer is full.
   */
  pDataGroup(pdus: readonly PresentationDataValue[][]): boolean {
    if (pdus.length === 1) return this.pData(pdus[0]!);
    if (pdus.length === 0) return true;
    const parts = encodePDataTfGroupParts(pdus);
    this.grouping = true;
    try {
      // Unless someone traces the transitions or the PDUs, the first primitive stands for all: DT-1
      // and AR-7 leave the state as it is and do nothing but send the PDU, so the table gives the
      // same cell for every PDU of the group, and a state where it is empty refuses the first.
      // (One dispatch rather than one per 16 KiB PDU: ~33 per CT slice sent.)
      const each = stateChannel.hasSubscribers || pduChannel.hasSubscribers;
      for (let i = 0, n = each ? pdus.length : 1; i < n; i++) {
        const pdvs = pdus[i]!;
        const pdu: Pdu = { type: PduType.PDataTf, presentationDataValues: pdvs };
        this.preEncoded = { pdu, parts: GROUPED };
        this.primitive({ event: 'Evt9', pdvs }, 'P-DATA request');
      }
    } finally {
      this.grouping = false;
    }
    this.lastActivity = performance.now();
    this.writeOk = this.transport === undefined || this.transport.write(parts);
    return this.writeOk;
  }

  /**
   * P-DATA request primitives for PDUs laid out in one buffer (LaidOutPdvs: one PDV each, room left
   * for the headers): the headers are written in place and the PDUs go out in one write of one
   * buffer, without an object per PDU. Dispatched as pDataGroup dispatches (the first primitive
   * stands for all); traced PDU by PDU when someone traces. Returns false when the transport's
   * buffer is full.
   */
  pDataLaidOut(laid: LaidOutPdvs): boolean {
    if (stateChannel.hasSubscribers || pduChannel.hasSubscribers) return this.pDataGroup(laidOutPdvLists(laid));
    const bytes = encodeLaidOutPDataTf(laid);
    this.grouping = true;
    try {
      const pdu: Pdu = { type: PduType.PDataTf, presentationDataValues: LAID_OUT };
      this.preEncoded = { pdu, parts: GROUPED };
      this.primitive({ event: 'Evt9', pdvs: LAID_OUT }, 'P-DATA request');
    } finally {
      this.grouping = false;
    }
    this.lastActivity = performance.now();
    this.writeOk = this.transport === undefined || this.transport.write([bytes]);
    return this.writeOk;
  }

  /** Stops reading the transport (the peer feels TCP back-pressure) until resumeReceiving(). */
  pauseReceiving(): void {
    this.transport?.pause();
  }

  resumeReceiving(): void {
    this.transport?.resume();
  }

  drained(): Promise<void> {
    return this.transport?.drained() ?? Promise.resolve();
  }

  /** See TransportConnection.flushed: everything sent so far is out of the process. */
  flushed(): Promise<void> {
    return this.transport?.flushed() ?? Promise.resolve();
  }

  releaseRequest(): void {
    this.primitive({ event: 'Evt11' }, 'A-RELEASE request');
  }

  releaseResponse(): void {
    this.primitive({ event: 'Evt14' }, 'A-RELEASE response');
  }

  /**
   * The A-ABORT request primitive (Evt15). Source 0 unless given: the association layer aborts with
   * source 2 for protocol errors it finds above the PDU level. Does nothing where no association exists.
   */
  abortRequest(source?: number, reason?: number): boolean {
    const input: EventInput = { event: 'Evt15', ...(source !== undefined ? { source } : {}), ...(reason !== undefined ? { reason } : {}) };
    return this.dispatch(input) !== undefined;
  }

  /** Closes the transport at once, whatever the state (shutdown); the state machine sees Evt17. */
  destroy(): void {
    if (this.transport !== undefined) this.transport.destroy();
    else this.finish();
  }

  private primitive(input: EventInput, name: string): void {
    if (this.dispatch(input) === undefined) {
      this.preEncoded = undefined;
      throw new DicomError('ERR_DICOM_ASSOCIATION_STATE',
        `${name} is not possible in ${this.state} (${STATE_DEFINITIONS[this.state]}) [${EVENT_DEFINITIONS[input.event]}]`);
    }
  }

  private dispatch(input: EventInput): Transition | undefined {
    return this.machine.handle(input);
  }

  private transportHandlers(): TransportHandlers {
    return {
      onConnect: () => this.dispatch({ event: 'Evt2' }),
      onData: (chunk) => this.onData(chunk),
      onClose: (error) => {
        this.transportClosed = true;
        this.stopArtim();
        this.dispatch({ event: 'Evt17', ...(error !== undefined ? { error } : {}) });
        this.finish();
      },
    };
  }

  private connectTransport(): void {
    if (this.connect === undefined) return;
    this.transport = this.connect(this.transportHandlers());
  }

  private onData(chunk: Uint8Array): void {
    // Any byte counts for the idle timeout: a slow sender of a long PDU is still progressing.
    this.lastActivity = performance.now();
    try {
      // P-DATA-TF bodies are streamed (pdu-framer.ts) when the user asked for it, unless the PDUs
      // are traced: a trace shows the PDUs as they were on the wire.
      const stream = this.framer.streaming || (this.streamPData && !pduChannel.hasSubscribers);
      this.framer.push(chunk, this.onPdu, stream ? this.onPData : undefined);
    } catch (e) {
      if (!(e instanceof PduError)) throw e;
      this.traceInvalid(chunk.length, e);
      this.protocolError(e);
    }
  }

  private readonly onPdu = (type: PduType, body: Uint8Array): void => {
    this.lastActivity = performance.now();
    let pdu: Pdu;
    try {
      pdu = decodePdu(type, body);
    } catch (e) {
      if (!(e instanceof PduError)) throw e;
      if (pduChannel.hasSubscribers) pduChannel.publish({ connectionId: this.connectionId, direction: 'received', type, name: pduTypeName(type), length: body.length } satisfies PduTrace);
      this.protocolError(e);
      return;
    }
    if (pduChannel.hasSubscribers) pduChannel.publish({ connectionId: this.connectionId, direction: 'received', type, name: pduTypeName(type), length: body.length, pdu } satisfies PduTrace);
    this.received(pdu);
  };

  /** Pieces of a P-DATA-TF read as it arrives: to the state machine as a P-DATA-TF of those pieces. */
  private readonly onPData = (pieces: PresentationDataValue[]): void => {
    this.lastActivity = performance.now();
    this.received({ type: PduType.PDataTf, presentationDataValues: pieces });
  };

  private received(pdu: Pdu): void {
    const invalid = this.checkReceived(pdu);
    if (invalid !== undefined) {
      this.protocolError(invalid);
      return;
    }
    const event = eventOf(pdu);
    const action = cellOf(this.state, event.event)?.action;
    if (action === 'AA-1' || action === 'AA-7' || action === 'AA-8') {
      this.user.onProtocolError?.(new PduError(AbortReason.UnexpectedPdu, `${pduTypeName(pdu.type)} is not expected in ${this.state} (${STATE_DEFINITIONS[this.state]})`));
    }
    this.dispatch(event);
  }

  private protocolError(error: PduError): void {
    this.user.onProtocolError?.(error);
    this.dispatch({ event: 'Evt19', error });
  }

  private checkReceived(pdu: Pdu): PduError | undefined {
    if (pdu.type === PduType.PDataTf) {
      // Only where P-DATA is delivered (DT-2, AR-6); elsewhere the table decides without looking inside.
      const ids = this.acceptedIds;
      if (ids === undefined || (this.state !== 'Sta6' && this.state !== 'Sta7')) return undefined;
      for (const pdv of pdu.presentationDataValues) {
        if (!ids.has(pdv.presentationContextId)) {
          return new PduError(AbortReason.InvalidPduParameterValue, `P-DATA-TF uses presentation context ${pdv.presentationContextId}, which was not accepted`);
        }
      }
    } else if (pdu.type === PduType.AAssociateAc && this.state === 'Sta5' && this.sentRq !== undefined) {
      const error = validateAssociateAc(this.sentRq, pdu);
      if (error === undefined) this.acceptedIds = acceptedIdsOf(pdu);
      return error;
    }
    return undefined;
  }

  private sendPdu(pdu: Pdu): void {
    const pre = this.preEncoded;
    this.preEncoded = undefined;
    const parts = pre !== undefined && isSamePdu(pre.pdu, pdu) ? pre.parts : [encodePdu(pdu)];
    if (pdu.type === PduType.AAssociateAc) this.acceptedIds = acceptedIdsOf(pdu);
    // A group's PDUs leave in one write: pDataGroup notes the time once for all of them.
    if (parts !== GROUPED || !this.grouping) this.lastActivity = performance.now();
    if (pduChannel.hasSubscribers) {
      let length = 0;
      if (parts === GROUPED) length = PDU_HEADER_LENGTH + pDataTfLength((pdu as PDataTf).presentationDataValues);
      else for (const p of parts) length += p.length;
      pduChannel.publish({ connectionId: this.connectionId, direction: 'sent', type: pdu.type, name: pduTypeName(pdu.type), length: length - PDU_HEADER_LENGTH, pdu } satisfies PduTrace);
    }
    // A PDU of a group: pDataGroup writes it with the others.
    if (parts === GROUPED && this.grouping) return;
    if (this.transport === undefined) return;
    this.writeOk = this.transport.write(parts);
  }

  private indicate(indication: Indication): void {
    this.user.onIndication(indication);
  }

  private startArtim(): void {
    this.stopArtim();
    this.artim = setTimeout(() => {
      this.artim = undefined;
      this.dispatch({ event: 'Evt18' });
    }, this.options.artimTimeout);
    this.artim.unref?.();
  }

  private stopArtim(): void {
    if (this.artim !== undefined) {
      clearTimeout(this.artim);
      this.artim = undefined;
    }
  }

  private setReceiveLimit(maximumLength: number | undefined): void {
    this.framer.setMaxPduLength(maximumLength ?? 0);
  }

  private finish(): void {
    if (this.closedNotified) return;
    if (this.transport !== undefined && !this.transportClosed) return;
    this.closedNotified = true;
    this.stopArtim();
    this.machine.state = 'Sta1';
    this.user.onClosed();
    this.resolveClosed();
  }

  private traceTransition(t: Transition): void {
    stateChannel.publish({ connectionId: this.connectionId, ...t } satisfies StateTrace);
  }

  private traceInvalid(length: number, error: PduError): void {
    if (pduChannel.hasSubscribers) {
      pduChannel.publish({ connectionId: this.connectionId, direction: 'received', type: -1, name: error.message, length } satisfies PduTrace);
    }
  }

  /** For tests and the listener's bookkeeping: the byte count buffered for an incomplete PDU. */
  get bufferedBytes(): number {
    return this.framer.buffered;
  }
}

/** The parts of a P-DATA-TF encoded with the others of its group (DulServiceProvider.pDataGroup). */
const GROUPED: Uint8Array[] = [];
/** The PDV list the state machine is given for PDUs laid out in one buffer (pDataLaidOut): their PDVs are in the buffer. */
const LAID_OUT: PresentationDataValue[] = [];

function eventOf(pdu: Pdu): EventInput {
  switch (pdu.type) {
    case PduType.AAssociateRq: return { event: 'Evt6', pdu };
    case PduType.AAssociateAc: return { event: 'Evt3', pdu };
    case PduType.AAssociateRj: return { event: 'Evt4', pdu };
    case PduType.PDataTf: return { event: 'Evt10', pdu };
    case PduType.AReleaseRq: return { event: 'Evt12', pdu };
    case PduType.AReleaseRp: return { event: 'Evt13', pdu };
    case PduType.AAbort: return { event: 'Evt16', pdu };
  }
}

function acceptedIdsOf(ac: AAssociateAc): Set<number> {
  const ids = new Set<number>();
  for (const pc of ac.presentationContexts) if (pc.result === PresentationContextResult.Acceptance) ids.add(pc.id);
  return ids;
}

/**
 * Whether `sent` is the PDU a primitive pre-encoded. The state machine's DT-1 / AR-7 build a new
 * P-DATA-TF object around the request's PDV list, so a P-DATA-TF matches by that list: otherwise
 * every P-DATA-TF would be encoded again, its payloads copied (a second copy of every byte sent).
 */
function isSamePdu(preEncoded: Pdu, sent: Pdu): boolean {
  if (preEncoded === sent) return true;
  return preEncoded.type === PduType.PDataTf && sent.type === PduType.PDataTf && preEncoded.presentationDataValues === sent.presentationDataValues;
}
