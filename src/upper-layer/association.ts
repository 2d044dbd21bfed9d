/**
 * An established association, at either end: the low-level API the DIMSE layer and ae/ build on.
 * It carries P-DATA both ways (indications as 'pdata' events, PDVs in order and not copied;
 * sendPData honours the transport's back-pressure), releases (both directions, collisions included:
 * PS3.8 §7.2.2, Sta9-Sta12) and aborts, and watches the service-user's timers (release, idle), which
 * PS3.8 §9.1.4 Note 2 leaves above the Upper Layer.
 */
import { EventEmitter } from 'node:events';
import { DicomError } from '../core/dicom-error.js';
import type { DulServiceProvider, DulUser } from './dul.js';
import { AbortReason, AbortSource, AssociationAbortedError } from './errors.js';
import { negotiatedPresentationContexts } from './negotiation.js';
import type { NegotiatedPresentationContext } from './negotiation.js';
import type { AAssociateAc } from './pdu/a-associate-ac.js';
import type { AAssociateRq } from './pdu/a-associate-rq.js';
import { PresentationContextResult } from './pdu/items.js';
import { PDV_ITEM_OVERHEAD, pDataTfLength } from './pdu/p-data-tf.js';
import type { LaidOutPdvs, PresentationDataValue } from './pdu/p-data-tf.js';
import type { Indication, State } from './state-machine.js';
import { associationChannel } from './tracing.js';
import type { AssociationTrace } from './tracing.js';
import type { PeerInfo } from './transport.js';

/** Timers, in milliseconds. */
export interface AssociationTimeouts {
  /** ARTIM (PS3.8 §9.1.5): for the A-ASSOCIATE-RQ on a new connection, and for the close after A-ASSOCIATE-RJ, A-RELEASE-RP or A-ABORT. Default 30 000. */
  artim?: number;
  /** Requestor: opening the TCP (and TLS) connection. Default 30 000. */
  connect?: number;
  /** Requestor: waiting for A-ASSOCIATE-AC/RJ. Acceptor: waiting for the user's decision on an A-ASSOCIATE-RQ. Default 30 000. */
  associationRequest?: number;
  /** Waiting for A-RELEASE-RP after A-RELEASE-RQ. Default 30 000. */
  release?: number;
  /**
   * Abort (A-ABORT) an established association that waits for the peer and has received no byte
   * and sent no PDU for this long; 0 or absent: never. Time during which the user is busy
   * (see `isWaitingForPeer`) or has paused receiving does not count.
   */
  idle?: number;
}

export const DEFAULT_TIMEOUT = 30_000;
/** The Maximum Length announced by default (PS3.8 Annex D.1). */
export const DEFAULT_MAXIMUM_LENGTH = 256 * 1024;
/** The longest P-DATA-TF sent when the peer announces no limit (0). */
export const DEFAULT_MAX_SEND_PDU_LENGTH = 1024 * 1024;

export interface AssociationEvents {
  /** A P-DATA indication: the PDVs of one P-DATA-TF PDU, in order; each `data` is a view into the received bytes. */
  pdata: [pdvs: PresentationDataValue[]];
  /** The peer asked to release (A-RELEASE indication); the response follows once `onReleaseRequest` settles. */
  releaseRequested: [];
  /** The association is released (confirmation received, or response sent). */
  released: [];
  /** The association ended abnormally: A-ABORT, A-P-ABORT, a timeout. */
  aborted: [error: DicomError];
  /** The transport connection is closed; `error` is absent after a normal release. Always the last event. */
  close: [error: DicomError | undefined];
}

export interface AssociationInit {
  dul: DulServiceProvider;
  isRequestor: boolean;
  rq: AAssociateRq;
  ac: AAssociateAc;
  timeouts?: AssociationTimeouts;
  /** Cap on sent P-DATA-TF PDU-length, whatever the peer allows. */
  maxSendPduLength?: number;
}

export class Association extends EventEmitter<AssociationEvents> {
  readonly isRequestor: boolean;
  /** The A-ASSOCIATE-RQ (sent by the requestor, received by the acceptor). */
  readonly request: AAssociateRq;
  /** The A-ASSOCIATE-AC. */
  readonly accept: AAssociateAc;
  /** Every proposed presentation context by ID, with its result, transfer syntax and the requestor's roles. */
  readonly presentationContexts: ReadonlyMap<number, NegotiatedPresentationContext>;
  /** Maximum-length-received of the peer (PS3.8 Annex D.1); 0 = no limit. */
  readonly peerMaximumLength: number;
  /** The longest PDU-length sendPData accepts: the peer's limit, or the local cap when it has none. */
  readonly maxSendPduLength: number;
  /** Maximum-length-received this end announced. */
  readonly localMaximumLength: number;
  /**
   * Called on an A-RELEASE indication; the A-RELEASE response is sent once it settles (so that
   * responses still being sent go first). Default: respond at once.
   */
  onReleaseRequest: (() => void | Promise<void>) | undefined;
  /** Settles when the transport connection has closed. */
  readonly closed: Promise<void>;
  /**
   * Whether this end now waits for the peer, for the idle timeout: false while the user works on
   * what it received (a C-MOVE being performed, an object being made durable), when the peer owes
   * nothing. Default: always waiting.
   */
  isWaitingForPeer: () => boolean = () => true;

  private readonly dul: DulServiceProvider;
  private readonly timeouts: AssociationTimeouts;
  private readonly queued: PresentationDataValue[][] = [];
  private flushScheduled = false;
  private releaseWaiter: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } | undefined;
  private releaseTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** performance.now() when the idle check last found this end busy or not reading. */
  private lastBusy = 0;
  private receivingPaused = false;
  private endError: DicomError | undefined;
  private released = false;
  private resolveClosed!: () => void;

  constructor(init: AssociationInit) {
    super();
    this.dul = init.dul;
    this.isRequestor = init.isRequestor;
    this.request = init.rq;
    this.accept = init.ac;
    this.timeouts = init.timeouts ?? {};
    this.presentationContexts = negotiatedPresentationContexts(init.rq, init.ac);
    const peerUi = init.isRequestor ? init.ac.userInformation : init.rq.userInformation;
    const ownUi = init.isRequestor ? init.rq.userInformation : init.ac.userInformation;
    this.peerMaximumLength = peerUi.maximumLength ?? 0;
    this.localMaximumLength = ownUi.maximumLength ?? 0;
    const cap = init.maxSendPduLength ?? DEFAULT_MAX_SEND_PDU_LENGTH;
    this.maxSendPduLength = this.peerMaximumLength > 0 ? Math.min(this.peerMaximumLength, cap) : cap;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    const user: DulUser = { onIndication: (i) => this.onIndication(i), onClosed: () => this.onClosed() };
    this.dul.setUser(user);
    // PDVs indicated before anyone listens (the listener's 'association' handler, or the caller of
    // openAssociation, attaches later) wait in `queued` and are delivered when a listener comes.
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event === 'pdata' && this.queued.length > 0) this.scheduleFlush();
    });
    this.armIdleTimer();
    this.trace('established', {
      calledAeTitle: this.request.calledAeTitle, callingAeTitle: this.request.callingAeTitle, role: this.isRequestor ? 'requestor' : 'acceptor',
    });
  }

  get connectionId(): string {
    return this.dul.connectionId;
  }

  /** The state of PS3.8 §9.2.1 the association is in. */
  get state(): State {
    return this.dul.state;
  }

  get callingAeTitle(): string {
    return this.request.callingAeTitle;
  }

  get calledAeTitle(): string {
    return this.request.calledAeTitle;
  }

  get peer(): PeerInfo | undefined {
    return this.dul.peer;
  }

  /** The accepted presentation contexts only. */
  acceptedPresentationContexts(): NegotiatedPresentationContext[] {
    return [...this.presentationContexts.values()].filter((pc) => pc.result === PresentationContextResult.Acceptance);
  }

  /**
   * How the contexts proposed for an abstract syntax were answered (PS3.8 Table 9-18): Acceptance
   * if one was accepted, else the first one's rejection; undefined when none was proposed.
   */
  presentationContextResult(abstractSyntax: string): PresentationContextResult | undefined {
    let result: PresentationContextResult | undefined;
    for (const pc of this.presentationContexts.values()) {
      if (pc.abstractSyntax !== abstractSyntax) continue;
      if (pc.result === PresentationContextResult.Acceptance) return pc.result;
      result ??= pc.result;
    }
    return result;
  }

  /** The first accepted context for an abstract syntax (and transfer syntax, if given). */
  findPresentationContext(abstractSyntax: string, transferSyntax?: string): NegotiatedPresentationContext | undefined {
    for (const pc of this.presentationContexts.values()) {
      if (pc.result === PresentationContextResult.Acceptance && pc.abstractSyntax === abstractSyntax &&
        (transferSyntax === undefined || pc.transferSyntax === transferSyntax)) return pc;
    }
    return undefined;
  }

  /** The roles of this end on a context: the requestor's as negotiated, or their mirror at the acceptor. */
  localRoles(presentationContextId: number): { scu: boolean; scp: boolean } | undefined {
    const pc = this.presentationContexts.get(presentationContextId);
    if (pc === undefined || pc.result !== PresentationContextResult.Acceptance) return undefined;
    return this.isRequestor ? { scu: pc.scuRole, scp: pc.scpRole } : { scu: pc.scpRole, scp: pc.scuRole };
  }

  /**
   * Sends one P-DATA-TF PDU carrying `pdvs` (P-DATA request). The caller keeps the PDU within
   * `maxSendPduLength`. Payloads are written as given, not copied; do not change them until the
   * promise settles. Resolves at once unless the transport's buffer is full, then on 'drain'.
   */
  sendPData(pdvs: PresentationDataValue[]): Promise<void> {
    try {
      this.checkPdvs(pdvs);
      if (this.dul.pData(pdvs)) return Promise.resolve();
      return this.dul.drained();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Sends several P-DATA-TF PDUs, in order, in one write to the transport (one writev system call
   * rather than one per PDU): e.g. every PDU of a message whose data set is in memory, or those cut
   * from one chunk of a streamed one. Each PDU is checked and goes through the state machine as
   * sendPData does, and the headers of all are encoded in one pass; if one is refused, those before
   * it are sent and the promise rejects. Resolves at once unless the transport's buffer is full.
   */
  sendPDataGroup(pdus: readonly PresentationDataValue[][]): Promise<void> {
    if (pdus.length === 1) return this.sendPData(pdus[0]!);
    let refused: unknown;
    let valid = pdus;
    for (let i = 0; i < pdus.length; i++) {
      try {
        this.checkPdvs(pdus[i]!);
      } catch (e) {
        refused = e;
        valid = pdus.slice(0, i);
        break;
      }
    }
    let ok: boolean;
    try {
      ok = this.dul.pDataGroup(valid);
    } catch (e) {
      return Promise.reject(e);
    }
    if (refused !== undefined) return Promise.reject(refused);
    return ok ? Promise.resolve() : this.dul.drained();
  }

  /**
   * Sends the P-DATA-TF PDUs laid out in `laid`'s buffer (one PDV each, their headers written in
   * the gaps left for them) in one write: e.g. a C-STORE whose data set was read into slots
   * (dimse/laid-out.ts). Checked as sendPData checks: the presentation context accepted, every PDU
   * within `maxSendPduLength`. The buffer is written as given; do not change it until flushed().
   */
  sendPDataLaidOut(laid: LaidOutPdvs): Promise<void> {
    try {
      this.checkContext(laid.presentationContextId);
      const longest = PDV_ITEM_OVERHEAD + laid.fragmentLength;
      if (longest > this.maxSendPduLength || laid.fragmentLength < 2 || laid.fragmentLength % 2 !== 0) {
        throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `laid-out P-DATA-TF of PDU-length up to ${longest} exceeds the ${this.maxSendPduLength} bytes the peer accepts`);
      }
      if (this.dul.pDataLaidOut(laid)) return Promise.resolve();
      return this.dul.drained();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Resolves once every PDU sent so far has been handed to the operating system: the payloads
   * given to sendPData are then no longer referenced (a sender may refill its buffers).
   */
  flushed(): Promise<void> {
    return this.dul.flushed();
  }

  /**
   * From now on, a P-DATA-TF that arrives over several socket reads is handed on as its bytes come
   * rather than once whole: its PDVs may then come in pieces, each a view of the bytes read, with
   * `isLast` only on the piece that ends a fragment marked last. That is all DIMSE needs (PS3.8
   * Annex E: the fragments of a message are concatenated whatever their PDVs and PDUs), and it
   * spares a copy of every P-DATA-TF body and lets a data set reach its consumer before the rest
   * of its PDU. By default each 'pdata' event has whole PDVs, as they were sent.
   */
  receivePDataInPieces(): void {
    this.dul.streamPData = true;
  }

  /** Stops reading from the peer (TCP back-pressure) until resumeReceiving(), e.g. while a slow sink catches up. */
  pauseReceiving(): void {
    this.receivingPaused = true;
    this.dul.pauseReceiving();
  }

  resumeReceiving(): void {
    // The peer could not send while this end did not read: its quiet time starts now.
    if (this.receivingPaused) this.lastBusy = performance.now();
    this.receivingPaused = false;
    this.dul.resumeReceiving();
  }

  /** A-RELEASE request: resolves on the A-RELEASE confirmation (then the transport closes). */
  release(): Promise<void> {
    if (this.releaseWaiter !== undefined) return this.releaseWaiter.promise;
    try {
      this.dul.releaseRequest();
    } catch (e) {
      return Promise.reject(e);
    }
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.releaseWaiter = { promise, resolve, reject };
    const ms = this.timeouts.release ?? DEFAULT_TIMEOUT;
    this.releaseTimer = setTimeout(() => {
      this.abortWith(new DicomError('ERR_DICOM_ASSOCIATION_TIMEOUT', `no A-RELEASE-RP within ${ms} ms; association aborted`));
    }, ms);
    this.releaseTimer.unref();
    return promise;
  }

  /**
   * A-ABORT request. Source service-user by default; the DIMSE layer answers a protocol error with
   * source service-provider and a reason (PS3.8 Table 9-26). Does nothing once the association is over.
   */
  abort(source: number = AbortSource.ServiceUser, reason: number = AbortReason.ReasonNotSpecified): void {
    this.abortWith(new AssociationAbortedError(source, reason, 'sent'), source, reason);
  }

  private abortWith(error: DicomError, source?: number, reason?: number): void {
    if (this.dul.abortRequest(source, reason)) {
      this.endError ??= error;
      this.emit('aborted', error);
      this.trace('aborted', { code: error.code });
      this.settleRelease(error);
    }
  }

  private checkContext(presentationContextId: number): void {
    const pc = this.presentationContexts.get(presentationContextId);
    if (pc === undefined || pc.result !== PresentationContextResult.Acceptance) {
      throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `presentation context ${presentationContextId} was not accepted on this association`);
    }
  }

  private checkPdvs(pdvs: PresentationDataValue[]): void {
    if (pdvs.length === 0) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'a P-DATA-TF needs at least one presentation data value');
    for (const pdv of pdvs) this.checkContext(pdv.presentationContextId);
    const length = pDataTfLength(pdvs);
    if (length > this.maxSendPduLength) {
      throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `P-DATA-TF of PDU-length ${length} exceeds the ${this.maxSendPduLength} bytes the peer accepts`);
    }
  }

  private onIndication(indication: Indication): void {
    this.armIdleTimer();
    switch (indication.type) {
      case 'P-DATA indication':
        if (this.queued.length > 0 || this.listenerCount('pdata') === 0) this.queued.push(indication.pdvs);
        else this.emit('pdata', indication.pdvs);
        return;
      case 'A-RELEASE indication':
        if (indication.collision) {
          // PS3.8 §7.2.2 a-c: the association-requestor answers at once (Sta9); the acceptor answers
          // after its own confirmation (Sta12, handled below).
          if (this.isRequestor) this.dul.releaseResponse();
          return;
        }
        this.emit('releaseRequested');
        void this.respondToRelease();
        return;
      case 'A-RELEASE confirmation':
        this.released = true;
        this.settleRelease(undefined);
        if (this.dul.state === 'Sta12') this.dul.releaseResponse();
        this.emit('released');
        this.trace('released', {});
        return;
      case 'A-ABORT indication':
      case 'A-P-ABORT indication': {
        const error = indication.type === 'A-ABORT indication'
          ? new AssociationAbortedError(indication.source, indication.reason, 'received')
          : indication.origin === 'transport'
            ? new DicomError('ERR_DICOM_ASSOCIATION_CONNECTION_LOST', 'the transport connection closed during the association (A-P-ABORT)',
              indication.error !== undefined ? { cause: indication.error } : {})
            : new AssociationAbortedError(indication.source, indication.reason, indication.origin, indication.error);
        this.endError ??= error;
        this.emit('aborted', error);
        this.trace('aborted', { code: error.code, source: indication.source, reason: indication.reason });
        this.settleRelease(error);
        return;
      }
      default:
        return;
    }
  }

  private async respondToRelease(): Promise<void> {
    try {
      await this.onReleaseRequest?.();
    } catch {
      // The release goes ahead: the standard gives the acceptor no way to refuse it (PS3.8 §7.2.2).
    }
    if (this.dul.state !== 'Sta8') return;
    this.dul.releaseResponse();
    this.released = true;
    this.emit('released');
    this.trace('released', {});
  }

  private onClosed(): void {
    this.clearTimers();
    if (!this.released && this.endError === undefined) {
      this.endError = new DicomError('ERR_DICOM_ASSOCIATION_CONNECTION_LOST', 'the transport connection closed');
    }
    const error = this.released ? undefined : this.endError;
    this.settleRelease(error ?? new DicomError('ERR_DICOM_ASSOCIATION_STATE', 'the association closed before the release completed'));
    this.flush();
    this.trace('closed', { released: this.released });
    this.emit('close', error);
    this.resolveClosed();
  }

  private settleRelease(error: Error | undefined): void {
    const w = this.releaseWaiter;
    if (w === undefined) return;
    this.releaseWaiter = undefined;
    if (this.releaseTimer !== undefined) clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
    if (error === undefined) w.resolve();
    else if (!this.released) w.reject(error);
    else w.resolve();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.listenerCount('pdata') === 0) return;
    while (this.queued.length > 0) this.emit('pdata', this.queued.shift()!);
  }

  private armIdleTimer(): void {
    const ms = this.timeouts.idle;
    if (ms === undefined || ms <= 0 || this.idleTimer !== undefined) return;
    // PS3.8 §9.1.4 Note 2 leaves such timers to the service user; what expires is answered like
    // ARTIM's expiry (PS3.8 Table 9-10, Evt18/AA-2 after AA-1): A-ABORT, then the connection closes.
    const check = (): void => {
      const now = performance.now();
      if (this.receivingPaused || !this.isWaitingForPeer()) this.lastBusy = now;
      const quiet = now - Math.max(this.dul.lastActivity, this.lastBusy);
      if (quiet >= ms) {
        this.idleTimer = undefined;
        this.abortWith(new DicomError('ERR_DICOM_ASSOCIATION_TIMEOUT', `nothing received from the peer for ${ms} ms while waiting for it; association aborted`));
        return;
      }
      this.idleTimer = setTimeout(check, ms - quiet);
      this.idleTimer.unref();
    };
    this.idleTimer = setTimeout(check, ms);
    this.idleTimer.unref();
  }

  private clearTimers(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    if (this.releaseTimer !== undefined) clearTimeout(this.releaseTimer);
    this.idleTimer = undefined;
    this.releaseTimer = undefined;
  }

  private trace(phase: AssociationTrace['phase'], detail: Record<string, unknown>): void {
    if (associationChannel.hasSubscribers) associationChannel.publish({ connectionId: this.connectionId, phase, ...detail } satisfies AssociationTrace);
  }
}
