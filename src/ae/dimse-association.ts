/**
 * DIMSE messaging over an established association (PS3.7 §7, PS3.8 Annex E): one message
 * assembler per association, sends serialized (the PDVs of two messages never interleave), message
 * IDs allocated, responses routed to their request by Message ID Being Responded To, and the
 * asynchronous operations window honoured as SCU. Received data sets arrive as streams; a slow
 * consumer pauses the socket (back-pressure through the assembler's high-water mark).
 */
import { channel } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { DicomError } from '../core/dicom-error.js';
import {
  ABORT_UNEXPECTED_PDV, abortAnswer, DATA_SET_PRESENT, DimseProtocolError, DimseStatus, formatStatus, encodeCommand, fragmentWholeMessage, isPending, isRequest, isResponse, isUidValue, MessageAssembler,
  MessageIdAllocator, NO_DATA_SET, responseTypeOf, Status, sendInGroups, sendMessage, type DataSetSource, type SendPData, type SendPDataGroup, type SendPDataLaidOut,
  type DataSetStream, type DimseMessage, type IncomingMessage, type PresentationDataValue,
} from '../dimse/index.js';
import type { Association, NegotiatedPresentationContext } from '../upper-layer/index.js';

export const DIMSE_CHANNEL = 'conduit:dimse:message';
const dimseChannel = channel(DIMSE_CHANNEL);

export interface DimseTrace {
  direction: 'sent' | 'received';
  connectionId: string;
  presentationContextId: number;
  type: string;
  messageId?: number;
  status?: number;
}

/** A request received by this end (the SCP side). */
export interface IncomingRequest {
  presentationContext: NegotiatedPresentationContext;
  message: DimseMessage;
  dataSet: DataSetStream | null;
  /** Aborted when the peer sends C-CANCEL-RQ for this request (PS3.7 §9.3.2.3). */
  cancelled: AbortSignal;
}

/** A response received by this end (the SCU side). */
export interface IncomingResponse {
  presentationContextId: number;
  message: DimseMessage & { status: number };
  status: DimseStatus;
  /** The data set bytes (e.g. a C-FIND Identifier), collected; null when none came. */
  dataSet: Uint8Array | null;
}

export interface DimseAssociationOptions {
  /** Longest wait for a response (each one of a multi-response operation), ms; 0 = none. Default 600,000. */
  dimseTimeout?: number;
  /** Unread data set bytes before the socket is paused. Default 1 MiB. */
  highWaterMark?: number;
}

interface Pending {
  responses: IncomingResponse[];
  wake: (() => void) | null;
  error: unknown;
  /** Settles when the responses received so far are delivered (in the order they came). */
  delivered: Promise<void>;
  /** Responses on `delivered` not delivered yet; at 0 one without data set is delivered at once. */
  queued: number;
  /** See RequestOneOptions.onFinal; cleared once called. */
  onFinal?: () => void;
  /** The request was ended (ID and window slot released) when its final response was delivered. */
  ended?: boolean;
  /** While a response is awaited: when the wait times out (performance.now), else 0. */
  deadline: number;
}

export interface RequestOneOptions {
  /**
   * Called synchronously when the final response is delivered, in the receive callback that read
   * it, before requestOne's promise settles: the Message ID and the window slot are free by then,
   * so the caller may send its next request at once (its first bytes leave in the same turn of the
   * event loop, without the promise hops to the caller's await). Must not throw.
   */
  onFinal?: () => void;
}

export interface DimseAssociationEvents {
  request: [request: IncomingRequest];
  close: [error: DicomError | undefined];
}

type RequestWithoutId = DimseMessage extends infer M ? (M extends { messageId: number } ? Omit<M, 'messageId'> : never) : never;

export class DimseAssociation extends EventEmitter<DimseAssociationEvents> {
  readonly association: Association;
  private readonly assembler: MessageAssembler;
  private readonly ids = new MessageIdAllocator();
  private readonly pending = new Map<number, Pending>();
  private readonly cancels = new Map<number, Cancellation>();
  /** Message IDs of requests given up on at their DIMSE timeout, whose late responses are dropped. */
  private readonly expired = new Set<number>();
  private sendChain: Promise<void> = Promise.resolve();
  /** Sends begun and not finished: at 0 the next one starts at once, not a microtask later. */
  private sendsInFlight = 0;
  /** Wakes settleBeforeRelease when a received request is answered or a send ends. */
  private settleWaiter: (() => void) | undefined;
  private readonly dimseTimeout: number;
  private timeoutTimer: NodeJS.Timeout | undefined;
  /** Invoked window: how many requests this end may have outstanding (PS3.7 D.3.3.3). */
  private readonly window: number;
  private slotsInUse = 0;
  private slotWaiters: Array<() => void> = [];
  private closedError: DicomError | undefined;
  private isClosed = false;

  constructor(association: Association, options: DimseAssociationOptions = {}) {
    super();
    this.association = association;
    this.dimseTimeout = options.dimseTimeout ?? 600_000;
    // PS3.7 D.3.3.3: the requestor's window is what it proposed, narrowed by the acceptor's answer
    // (0 = unlimited; no answer: 1); an answer wider than the proposal does not widen it.
    const proposed = association.isRequestor ? association.request.userInformation.asynchronousOperationsWindow?.maximumNumberOperationsInvoked : undefined;
    const answered = association.isRequestor ? association.accept.userInformation.asynchronousOperationsWindow?.maximumNumberOperationsInvoked : undefined;
    const limit = (n: number | undefined): number => (n === undefined ? 1 : n === 0 ? Infinity : n);
    this.window = proposed === undefined || answered === undefined ? 1 : Math.min(limit(proposed), limit(answered));
    this.assembler = new MessageAssembler({
      onMessage: (m) => this.onMessage(m),
      onRejected: (error, presentationContextId) => {
        if (error.answer.kind === 'response') void this.sendCommandBytes(error.answer.command, presentationContextId).catch(() => undefined);
      },
      highWaterMark: options.highWaterMark,
      isAcceptedPresentationContext: (id) => association.presentationContexts.get(id)?.result === 0,
    });
    // The assembler concatenates fragments: PDVs in pieces save a copy of each P-DATA-TF body.
    association.receivePDataInPieces();
    association.on('pdata', (pdvs) => {
      try {
        if (!this.assembler.push(pdvs)) {
          association.pauseReceiving();
          void this.assembler.drained().then(() => association.resumeReceiving());
        }
      } catch (err) {
        // Closed first with the protocol error (the reason to give), then the A-ABORT it calls for.
        this.shutdown(err instanceof DicomError ? err : new DicomError('ERR_DICOM_IO', String(err), { cause: err }));
        if (err instanceof DimseProtocolError && err.answer.kind === 'abort') association.abort(err.answer.abort.source, err.answer.abort.reason);
        else association.abort();
      }
    });
    // At the A-ABORT (received or sent), not only once the socket has closed after it: a send in
    // between must fail with the abort, not with the state machine's refusal of the next P-DATA.
    association.onReleaseRequest = () => this.settleBeforeRelease();
    // For the idle timeout: the peer owes nothing while every message it sent is complete and some
    // request of it is still being performed here (a C-MOVE, a C-STORE being made durable); a
    // request whose data set is still arriving waits for the peer.
    association.isWaitingForPeer = () => this.cancels.size === 0 || !this.assembler.idle;
    association.on('aborted', (error) => this.shutdown(error));
    association.on('close', (error) => this.shutdown(error));
  }

  get maxSendPduLength(): number {
    return this.association.maxSendPduLength;
  }

  private shutdown(error: DicomError | undefined): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closedError = error ?? new DicomError('ERR_DICOM_ASSOCIATION_STATE', 'the association is closed');
    this.assembler.close(this.closedError);
    for (const p of this.pending.values()) {
      p.error = this.closedError;
      p.wake?.();
    }
    for (const c of this.cancels.values()) c.abort(this.closedError);
    for (const w of this.slotWaiters) w();
    this.slotWaiters = [];
    this.wakeSettleWaiter();
    this.emit('close', error);
  }

  private trace(direction: 'sent' | 'received', presentationContextId: number, m: DimseMessage): void {
    if (!dimseChannel.hasSubscribers) return;
    const t: DimseTrace = { direction, connectionId: this.association.connectionId, presentationContextId, type: m.type };
    if ('messageId' in m) t.messageId = m.messageId;
    if ('status' in m) t.status = m.status;
    dimseChannel.publish(t);
  }

  private onMessage(m: IncomingMessage): void {
    const message = m.command;
    this.trace('received', m.presentationContextId, message);
    if (message.type === 'C-CANCEL-RQ') {
      this.cancels.get(message.messageIdBeingRespondedTo)?.abort(new DicomError('ERR_DICOM_DIMSE_CANCELLED', 'cancelled by the peer'));
      m.dataSet?.discard();
      return;
    }
    if (isRequest(message)) {
      const messageId = (message as { messageId: number }).messageId;
      if (this.cancels.has(messageId)) {
        this.answerDuplicate(m);
        return;
      }
      const pc = this.association.presentationContexts.get(m.presentationContextId)!;
      const cancellation = new Cancellation();
      this.cancels.set(messageId, cancellation);
      this.emit('request', new ReceivedRequest(pc, message, m.dataSet, cancellation));
      return;
    }
    const rsp = message as DimseMessage & { status: number; messageIdBeingRespondedTo: number };
    const pending = this.pending.get(rsp.messageIdBeingRespondedTo);
    if (!pending) {
      m.dataSet?.discard();
      this.unexpectedResponse(rsp);
      return;
    }
    const deliver = (dataSet: Uint8Array | null) => {
      pending.responses.push({ presentationContextId: m.presentationContextId, message: rsp, status: DimseStatus.fromResponse(rsp as never), dataSet });
      pending.wake?.();
      const onFinal = pending.onFinal;
      if (onFinal !== undefined && !isPending(rsp.status)) {
        pending.onFinal = undefined;
        pending.ended = true;
        this.end(rsp.messageIdBeingRespondedTo);
        try {
          onFinal();
        } catch (err) {
          // A programming error of the caller: surfaced, not taken for a protocol error of the peer.
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    };
    if (m.dataSet === null && pending.queued === 0) {
      // Nothing before it still on its way (the usual C-STORE-RSP): no promise hops.
      deliver(null);
      return;
    }
    // In arrival order: a response whose data set is still being collected (a Pending C-FIND
    // match) holds back the ones after it, the final response included.
    const dataSet = m.dataSet ? m.dataSet.collect() : null;
    dataSet?.catch(() => undefined); // handled below, perhaps only after it fails
    pending.queued++;
    pending.delivered = pending.delivered.then(() => dataSet).then((bytes) => {
      pending.queued--;
      deliver(bytes);
    }, (err) => {
      pending.queued--;
      pending.error ??= err;
      pending.wake?.();
    });
  }

  /**
   * A response whose Message ID Being Responded To names no request of this end awaiting one. Late
   * responses to a request given up on (DIMSE timeout) are dropped up to its final one. Any other
   * is a peer out of step (a response to nothing asked, another after the final one): PS3.7
   * §9.1.1.1.1 ties each response to an operation invoked, and one waiting for a response that will
   * never come would hang to its DIMSE timeout, so the association is aborted at once.
   */
  private unexpectedResponse(rsp: DimseMessage & { status: number; messageIdBeingRespondedTo: number }): void {
    const id = rsp.messageIdBeingRespondedTo;
    if (this.expired.has(id)) {
      if (!isPending(rsp.status)) this.expired.delete(id);
      return;
    }
    const error = new DimseProtocolError('ERR_DICOM_DIMSE_UNEXPECTED_RESPONSE',
      `the peer sent ${rsp.type} (status ${formatStatus(rsp.status)}) for Message ID ${id}, which is no request of this end awaiting a response; association aborted`,
      abortAnswer(ABORT_UNEXPECTED_PDV));
    this.shutdown(error);
    this.association.abort(ABORT_UNEXPECTED_PDV.source, ABORT_UNEXPECTED_PDV.reason);
  }

  /**
   * A request whose Message ID is that of a received operation not yet answered: PS3.7 §9.1.1.1.1
   * (and each service's Message ID) forbids two outstanding operations with one Message ID, and
   * 0210H Duplicate invocation is its status (PS3.7 Annex C). The first operation goes on; this one
   * is answered at once and its data set dropped. Sent as bytes, past send(): its final response
   * must not end the first operation (noteResponseSent).
   */
  private answerDuplicate(m: IncomingMessage): void {
    m.dataSet?.discard();
    const request = m.command as DimseMessage & { messageId: number; affectedSopClassUid?: string };
    const sopClass = request.affectedSopClassUid;
    const rsp = {
      type: responseTypeOf(request.type as never), messageIdBeingRespondedTo: request.messageId, status: Status.DuplicateInvocation,
      ...(sopClass !== undefined && isUidValue(sopClass) ? { affectedSopClassUid: sopClass } : {}),
      errorComment: `Message ID ${request.messageId} is that of an operation still outstanding`,
    } as unknown as DimseMessage;
    this.trace('sent', m.presentationContextId, rsp);
    void this.sendCommandBytes(commandOf(rsp, false), m.presentationContextId).catch(() => undefined);
  }

  /**
   * A final response to a received request is on its way: the Message ID is free for the peer's
   * next request from now on (it cannot have the response yet), whenever the caller's requestDone comes.
   */
  private noteResponseSent(message: DimseMessage): void {
    if (!isResponse(message)) return;
    const rsp = message as DimseMessage & { status: number; messageIdBeingRespondedTo: number };
    if (!isPending(rsp.status) && this.cancels.delete(rsp.messageIdBeingRespondedTo)) this.wakeSettleWaiter();
  }

  /**
   * The peer asked to release (A-RELEASE indication): this end may still send P-DATA (PS3.8 Table
   * 9-10, Sta8, AR-7), so the responses to the requests received before the A-RELEASE-RQ go out
   * first, and the A-RELEASE-RP once they are written. A message still arriving cannot be completed
   * now (a P-DATA-TF in Sta8 is answered with A-ABORT): its data set fails as incomplete, and the
   * handler's failure response is among those sent.
   */
  private async settleBeforeRelease(): Promise<void> {
    if (!this.assembler.idle) {
      this.assembler.close(new DicomError('ERR_DICOM_ASSOCIATION_STATE', 'the peer asked to release the association before the message was complete'));
    }
    while (!this.isClosed && (this.cancels.size > 0 || this.sendsInFlight > 0)) {
      await new Promise<void>((resolve) => {
        this.settleWaiter = resolve;
      });
    }
  }

  private wakeSettleWaiter(): void {
    const w = this.settleWaiter;
    this.settleWaiter = undefined;
    w?.();
  }

  /** Marks a received request as answered (its C-CANCEL no longer applies). */
  requestDone(messageId: number): void {
    this.cancels.delete(messageId);
    this.wakeSettleWaiter();
  }

  /** Sends one message (command + optional data set), after any message already being sent. */
  send(message: DimseMessage, presentationContextId: number, dataSet: DataSetSource | null = null): Promise<void> {
    if (this.isClosed) return Promise.reject(this.closedError);
    let command: Uint8Array;
    try {
      command = commandOf(message, dataSet !== null);
    } catch (err) {
      // A message that cannot be encoded (a field out of range) is a rejection like any failed send.
      return Promise.reject(err);
    }
    this.noteResponseSent(message);
    return this.enqueue(() => {
      this.trace('sent', presentationContextId, message);
      const options = { presentationContextId, maxPduLength: this.association.maxSendPduLength };
      if (dataSet === null) {
        // A command alone (a C-STORE-RSP, say), cut at once as sendAll cuts it. In one PDU, as
        // usual, it is written without sendMessage's steps (a promise each): a single PDU is sent
        // whole or not at all, so there is nothing to abort for.
        let pdus: PresentationDataValue[][];
        try {
          pdus = fragmentWholeMessage(command, null, options);
        } catch (err) {
          return Promise.reject(err);
        }
        if (pdus.length === 1) return this.association.sendPData(pdus[0]!);
        return this.sendOrAbort((sendPdvs, sendGroup) => sendInGroups(pdus, sendPdvs, sendGroup));
      }
      return this.sendOrAbort((sendPdvs, sendGroup, sendLaidOut) => sendMessage(sendPdvs, command, dataSet, options, sendGroup, sendLaidOut));
    });
  }

  /**
   * Sends several messages whose data sets are in memory (e.g. the Pending responses of a C-FIND,
   * one per match), in order, after any message already being sent: their PDUs, each message cut
   * as send() cuts it, go out together, up to MAX_GROUP_BYTES per write, rather than one write (and
   * one wake-up of the peer) per message. A message may come with its command set already encoded
   * (`command`, e.g. one encoding shared by identical Pending responses); it is sent as given.
   */
  sendAll(messages: ReadonlyArray<{ message: DimseMessage; dataSet: Uint8Array | null; command?: Uint8Array }>, presentationContextId: number): Promise<void> {
    if (this.isClosed) return Promise.reject(this.closedError);
    const encoded = messages.map(({ message, dataSet, command }) => ({ message, dataSet, command: command ?? commandOf(message, dataSet !== null) }));
    for (const m of encoded) this.noteResponseSent(m.message);
    return this.enqueue(() => {
      const options = { presentationContextId, maxPduLength: this.association.maxSendPduLength };
      // Cut before anything is sent: a message refused (an odd length) costs nothing on the wire.
      const pdus: PresentationDataValue[][] = [];
      for (const m of encoded) for (const pdvs of fragmentWholeMessage(m.command, m.dataSet, options)) pdus.push(pdvs);
      for (const m of encoded) this.trace('sent', presentationContextId, m.message);
      return this.sendOrAbort((sendPdvs, sendGroup) => sendInGroups(pdus, sendPdvs, sendGroup));
    });
  }

  /**
   * Runs a send given the association's two ways to send PDUs (one PDU's PDVs, or a group of
   * PDUs in one write). A message cut short once its first PDU went out (its data set source
   * failed) cannot be taken back: the peer would read the next message's PDVs as the rest of this
   * one (PS3.8 Annex E), so the association ends.
   */
  private async sendOrAbort(body: (sendPdvs: SendPData, sendGroup: SendPDataGroup, sendLaidOut: SendPDataLaidOut) => Promise<void>): Promise<void> {
    let started = false;
    try {
      await body((pdvs) => {
        started = true;
        return this.association.sendPData(pdvs);
      }, (pdus) => {
        started = true;
        return this.association.sendPDataGroup(pdus);
      }, (laid) => {
        started = true;
        return this.association.sendPDataLaidOut(laid);
      });
    } catch (err) {
      if (started && !this.isClosed) this.association.abort();
      // The association ended under the send (the peer's A-ABORT, a lost connection): that is the
      // reason to give, not the state machine's refusal of the next P-DATA.
      throw this.isClosed && err instanceof DicomError && err.code === 'ERR_DICOM_ASSOCIATION_STATE' ? this.closedError : err;
    }
  }

  /** Runs `run` after the sends before it: the PDVs of two messages never interleave (PS3.8 Annex E). */
  private enqueue(run: () => Promise<void>): Promise<void> {
    const idle = this.sendsInFlight === 0;
    this.sendsInFlight++;
    const p = idle ? run() : this.sendChain.then(run, run);
    this.sendChain = p.then(this.sendDone, this.sendDone);
    return p;
  }

  private readonly sendDone = (): void => {
    this.sendsInFlight--;
    if (this.sendsInFlight === 0) this.wakeSettleWaiter();
  };

  private sendCommandBytes(command: Uint8Array, presentationContextId: number): Promise<void> {
    const run = () => sendMessage((pdvs) => this.association.sendPData(pdvs), command, null, { presentationContextId, maxPduLength: this.association.maxSendPduLength });
    return this.enqueue(run);
  }

  /** Takes a slot of the window when one is free (no waiting); false when none is. */
  private takeSlot(): boolean {
    if (this.slotsInUse >= this.window || this.isClosed) return false;
    this.slotsInUse++;
    return true;
  }

  private async acquireSlot(): Promise<void> {
    // Counted when taken, not when the request is registered: callers starting in the same tick
    // must not all see the same free slot.
    while (this.slotsInUse >= this.window && !this.isClosed) await new Promise<void>((r) => this.slotWaiters.push(r));
    if (this.isClosed) throw this.closedError;
    this.slotsInUse++;
  }

  private releaseSlot(): void {
    this.slotsInUse--;
    const w = this.slotWaiters.shift();
    w?.();
  }

  /**
   * Sends a request and yields its responses until the final one (not Pending). Leaving the loop
   * early while responses are still pending sends C-CANCEL-RQ and drops the rest (PS3.7 §9.3.2.3).
   */
  async *request(message: RequestWithoutId, presentationContextId: number, dataSet: DataSetSource | null = null): AsyncGenerator<IncomingResponse> {
    if (!this.takeSlot()) await this.acquireSlot();
    const { messageId, pending } = this.register();
    let final = false;
    let sent = false;
    try {
      await this.send(withMessageId(message, messageId), presentationContextId, dataSet);
      sent = true;
      for (;;) {
        const rsp = pending.responses.shift() ?? await this.nextResponse(pending);
        final = !isPending(rsp.message.status);
        yield rsp;
        if (final) return;
      }
    } finally {
      // A request that never went out (its data set could not be read) has nothing to cancel.
      if (sent && !final && !this.isClosed && !pending.error) {
        // Cancelled by the caller: C-CANCEL-RQ, then drain the responses in the background.
        void this.send({ type: 'C-CANCEL-RQ', messageIdBeingRespondedTo: messageId } as DimseMessage, presentationContextId).catch(() => undefined);
        void this.drainAfterCancel(messageId, pending);
      } else {
        this.end(messageId);
      }
    }
  }

  /** A Message ID allocated (the window's slot already taken) and its responses awaited. */
  private register(): { messageId: number; pending: Pending } {
    const messageId = this.ids.allocate();
    this.expired.delete(messageId);
    const pending: Pending = { responses: [], wake: null, error: null, delivered: Promise.resolve(), queued: 0, deadline: 0 };
    this.pending.set(messageId, pending);
    return { messageId, pending };
  }

  private end(messageId: number): void {
    this.pending.delete(messageId);
    this.ids.release(messageId);
    this.releaseSlot();
  }

  /** The next response, waited for; throws what ended the wait (timeout, closed association). */
  private async nextResponse(pending: Pending): Promise<IncomingResponse> {
    while (pending.responses.length === 0 && !pending.error) await this.waitForResponse(pending);
    if (pending.responses.length === 0) throw pending.error;
    return pending.responses.shift()!;
  }

  private async drainAfterCancel(messageId: number, pending: Pending): Promise<void> {
    try {
      for (;;) {
        while (pending.responses.length === 0 && !pending.error) await this.waitForResponse(pending);
        const rsp = pending.responses.shift();
        if (!rsp || !isPending(rsp.message.status)) break;
      }
    } catch {
      // timed out or closed: nothing more to wait for
    } finally {
      this.end(messageId);
    }
  }

  private waitForResponse(pending: Pending): Promise<void> {
    return new Promise<void>((resolve) => {
      pending.wake = () => {
        pending.wake = null;
        pending.deadline = 0;
        resolve();
      };
      if (this.dimseTimeout > 0) {
        pending.deadline = performance.now() + this.dimseTimeout;
        if (this.timeoutTimer === undefined) this.armTimeoutCheck(this.dimseTimeout);
      }
    });
  }

  /**
   * One timer per association for the DIMSE timeout, not one per wait: a wait notes its deadline,
   * and the timer, when it fires, times out the waits past theirs and is set again for the next
   * (a C-STORE's response comes within a millisecond: a timer set and cleared per C-STORE cost
   * more than the rest of the wait's bookkeeping).
   */
  private armTimeoutCheck(delay: number): void {
    this.timeoutTimer = setTimeout(this.checkTimeouts, delay);
    this.timeoutTimer.unref();
  }

  private readonly checkTimeouts = (): void => {
    this.timeoutTimer = undefined;
    const now = performance.now();
    let next = Infinity;
    for (const [messageId, pending] of this.pending) {
      if (pending.deadline === 0 || pending.wake === null) continue;
      if (pending.deadline <= now) {
        this.expired.add(messageId);
        pending.error = new DicomError('ERR_DICOM_ASSOCIATION_TIMEOUT', `no DIMSE response within ${this.dimseTimeout} ms`);
        pending.wake();
      } else {
        next = Math.min(next, pending.deadline);
      }
    }
    if (next !== Infinity) this.armTimeoutCheck(Math.max(1, Math.ceil(next - now)));
  };

  /**
   * Sends a request and returns its final response: request() run to its end, without the
   * generator's hops (once per C-STORE sent). Nothing is left to cancel when it returns or throws.
   */
  async requestOne(message: RequestWithoutId, presentationContextId: number, dataSet: DataSetSource | null = null, options: RequestOneOptions = {}): Promise<IncomingResponse> {
    if (!this.takeSlot()) await this.acquireSlot();
    const { messageId, pending } = this.register();
    if (options.onFinal !== undefined) pending.onFinal = options.onFinal;
    try {
      await this.send(withMessageId(message, messageId), presentationContextId, dataSet);
      for (;;) {
        const rsp = pending.responses.shift() ?? await this.nextResponse(pending);
        if (!isPending(rsp.message.status)) return rsp;
      }
    } finally {
      if (!pending.ended) this.end(messageId);
    }
  }
}

/**
 * A received request; `cancelled` is made on first use (see Cancellation). A class rather than an
 * object literal with a getter, which V8 builds through the runtime (a dictionary-mode object) for
 * every request.
 */
class ReceivedRequest implements IncomingRequest {
  constructor(
    readonly presentationContext: NegotiatedPresentationContext,
    readonly message: DimseMessage,
    readonly dataSet: DataSetStream | null,
    private readonly cancellation: Cancellation,
  ) {}

  get cancelled(): AbortSignal {
    return this.cancellation.signal;
  }
}

/**
 * A request's cancellation, whose AbortSignal is made only when someone asks for it: most
 * requests are never cancelled nor asked, and an AbortController (an EventTarget) cost ~15 us per
 * C-STORE received, ~2% of conduit listen's CPU.
 */
class Cancellation {
  private controller: AbortController | undefined;
  private reason: { value: unknown } | undefined;

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(this.reason.value);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.controller !== undefined) this.controller.abort(reason);
    else this.reason ??= { value: reason };
  }
}

/**
 * The command set of a message: Command Data Set Type (0000,0800) must say whether a data set
 * follows (PS3.7 §9.3, E.1); unless the message sets it, it is said from whether one is sent.
 */
function commandOf(message: DimseMessage, hasDataSet: boolean): Uint8Array {
  return encodeCommand(message, message.commandDataSetType ?? (hasDataSet ? DATA_SET_PRESENT : NO_DATA_SET));
}

/**
 * The request with its Message ID. The ID is written first and the request's fields copied after
 * it (the type leaves no Message ID among them): `{ ...message, messageId }` made V8 (Node 20) build
 * a new hidden class for every request, ~0.5 us each, and left every property read of the
 * requests downstream (the command's encoding) megamorphic.
 */
function withMessageId(message: RequestWithoutId, messageId: number): DimseMessage {
  return { messageId, ...message } as DimseMessage;
}
