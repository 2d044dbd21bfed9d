/**
 * The association-acceptor: listens for transport connections (PS3.8 §9.1.2), runs one DUL service
 * provider per connection (ARTIM from the connection on, Sta2), hands each acceptable A-ASSOCIATE-RQ
 * to the user's decision (an A-ASSOCIATE-AC or -RJ, e.g. from negotiate()), and emits each
 * established Association. Bad input on one connection (garbage, wrong protocol version, oversized
 * or unexpected PDUs) is answered there, per Table 9-10, and the listener goes on serving the others.
 */
import { EventEmitter } from 'node:events';
import { DicomError } from '../core/dicom-error.js';
import { Association, DEFAULT_MAXIMUM_LENGTH, DEFAULT_TIMEOUT } from './association.js';
import type { AssociationTimeouts } from './association.js';
import { DulServiceProvider } from './dul.js';
import { AssociationAbortedError, RejectReason, RejectResult, RejectSource } from './errors.js';
import { checkServiceProviderAcceptance, negotiate, reject } from './negotiation.js';
import type { AcceptancePolicy } from './negotiation.js';
import type { AAssociateAc } from './pdu/a-associate-ac.js';
import type { AAssociateRj } from './pdu/a-associate-rj.js';
import type { AAssociateRq } from './pdu/a-associate-rq.js';
import { PduType } from './pdu/pdu-type.js';
import { associationChannel } from './tracing.js';
import type { AssociationTrace } from './tracing.js';
import { listenTransport } from './transport.js';
import type { PeerInfo, TlsServerOptions, TransportConnection, TransportServer } from './transport.js';

export type AssociateDecision = AAssociateAc | AAssociateRj;

export interface AssociationListenerOptions {
  host?: string;
  /** 0 (default) picks a free port; see address(). */
  port?: number;
  tls?: TlsServerOptions;
  backlog?: number;
  /**
   * Decides each A-ASSOCIATE-RQ the service-provider found acceptable: return the A-ASSOCIATE-AC
   * (accept) or -RJ (reject). Absent: negotiate(rq, policy).
   */
  onAssociationRequest?: (rq: AAssociateRq, peer: PeerInfo | undefined) => AssociateDecision | Promise<AssociateDecision>;
  /** Used when onAssociationRequest is absent. */
  policy?: AcceptancePolicy;
  /** Associations at once (pending ones included); beyond it, A-ASSOCIATE-RJ 2/3/2 (transient, local-limit-exceeded). */
  maxAssociations?: number;
  /** The longest P-DATA-TF accepted before an AC says otherwise; default 256 KiB. */
  maxPduLength?: number;
  maxAssociatePduLength?: number;
  /** Cap on sent P-DATA-TF PDU-length when the peer announces no limit. */
  maxSendPduLength?: number;
  timeouts?: AssociationTimeouts;
}

export interface AssociationListenerEvents {
  /** An association is established (A-ASSOCIATE-AC sent). Attach its listeners here. */
  association: [association: Association];
  /** An A-ASSOCIATE-RQ was answered with A-ASSOCIATE-RJ (by the user, the provider or the limit). */
  rejected: [rj: AAssociateRj, rq: AAssociateRq | undefined, peer: PeerInfo | undefined];
  /** A connection ended before an association was established (A-ABORT, garbage, timeout, closed, a failed TLS handshake). */
  connectionFailed: [error: DicomError, peer: PeerInfo | undefined];
  /** The user's decision callback threw, or its answer could not be encoded; the request was rejected (transient). */
  decisionFailed: [error: Error, rq: AAssociateRq];
}

export class AssociationListener extends EventEmitter<AssociationListenerEvents> {
  private readonly options: AssociationListenerOptions;
  private server: TransportServer | undefined;
  private readonly providers = new Set<DulServiceProvider>();
  /** Connections past AE-6: being decided on, or established; what maxAssociations counts. */
  private readonly counted = new Set<DulServiceProvider>();
  private readonly associations = new Map<DulServiceProvider, Association>();
  private closing = false;

  private constructor(options: AssociationListenerOptions) {
    super();
    if (options.onAssociationRequest === undefined && options.policy === undefined) {
      throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'an association listener needs onAssociationRequest or policy');
    }
    this.options = options;
  }

  /** Starts listening; resolves once the port is bound. */
  static async listen(options: AssociationListenerOptions): Promise<AssociationListener> {
    const listener = new AssociationListener(options);
    listener.server = await listenTransport({
      ...(options.host !== undefined ? { host: options.host } : {}),
      port: options.port ?? 0,
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
      ...(options.backlog !== undefined ? { backlog: options.backlog } : {}),
      onTlsHandshakeFailed: (error, remoteAddress) => listener.emit('connectionFailed', error, {
        remoteAddress, remotePort: undefined, localAddress: undefined, localPort: undefined,
      }),
    }, (conn) => listener.onConnection(conn));
    return listener;
  }

  address(): { address: string; port: number; family: string } {
    return this.server!.address();
  }

  /** New TLS credentials for the connections accepted from now on (TransportServer.setTlsCredentials). */
  setTlsCredentials(tls: Pick<TlsServerOptions, 'key' | 'cert' | 'ca'>): void {
    this.server!.setTlsCredentials(tls);
  }

  /** Connections being served (pending and established). */
  get connectionCount(): number {
    return this.providers.size;
  }

  /**
   * Stops accepting connections. With `abort`, aborts every association (A-ABORT) and closes pending
   * connections; otherwise waits for them to end. Resolves when all are closed.
   */
  async close(options: { abort?: boolean } = {}): Promise<void> {
    this.closing = true;
    const done = this.server?.close();
    if (options.abort) {
      for (const p of this.providers) {
        const association = this.associations.get(p);
        if (association !== undefined) association.abort();
        else if (!p.abortRequest()) p.destroy();
      }
    }
    await done;
    // The server may report closing a tick before its sockets do.
    await Promise.all([...this.providers].map((p) => p.closed));
  }

  private onConnection(conn: TransportConnection): void {
    if (this.closing) {
      conn.destroy();
      return;
    }
    const o = this.options;
    const timeouts = o.timeouts ?? {};
    let decisionTimer: NodeJS.Timeout | undefined;
    let rq: AAssociateRq | undefined;
    let established = false;
    let rejected = false;
    let failure: DicomError | undefined;
    const dul: DulServiceProvider = new DulServiceProvider({
      isAssociationRequestor: false,
      maxPduLength: o.maxPduLength ?? DEFAULT_MAXIMUM_LENGTH,
      ...(o.maxAssociatePduLength !== undefined ? { maxAssociatePduLength: o.maxAssociatePduLength } : {}),
      artimTimeout: timeouts.artim ?? DEFAULT_TIMEOUT,
      checkAssociateRq: (request) => {
        // AE-6's "acceptable by service-provider": the protocol version, then this listener's capacity.
        let rj = checkServiceProviderAcceptance(request);
        if (rj === undefined && o.maxAssociations !== undefined && this.establishedOrDeciding() >= o.maxAssociations) {
          rj = reject(RejectResult.RejectedTransient, RejectSource.ServiceProviderPresentation, RejectReason.LocalLimitExceeded);
        }
        if (rj !== undefined) {
          rejected = true;
          this.trace(dul.connectionId, { phase: 'rejected', result: rj.result, source: rj.source, reason: rj.reason });
          this.emit('rejected', rj, request, peer);
        }
        return rj;
      },
    }, {
      onIndication: (indication) => {
        switch (indication.type) {
          case 'A-ASSOCIATE indication':
            rq = indication.rq;
            void decide(indication.rq);
            return;
          case 'A-ABORT indication':
            failure ??= new AssociationAbortedError(indication.source, indication.reason, 'received');
            return;
          case 'A-P-ABORT indication':
            failure ??= indication.origin === 'transport'
              ? new DicomError('ERR_DICOM_ASSOCIATION_CONNECTION_LOST', 'the connection closed before the association was established',
                indication.error ? { cause: indication.error } : {})
              : new AssociationAbortedError(indication.source, indication.reason, indication.origin, indication.error);
            return;
          default:
            return;
        }
      },
      onProtocolError: (error) => {
        failure ??= error;
      },
      onClosed: () => {
        if (decisionTimer !== undefined) clearTimeout(decisionTimer);
        if (!established && !rejected) {
          failure ??= new DicomError('ERR_DICOM_ASSOCIATION_CONNECTION_LOST',
            rq === undefined ? 'the connection closed before an A-ASSOCIATE-RQ was received' : 'the connection closed before the association was established');
          this.emit('connectionFailed', failure, peer);
        }
      },
    });
    const peer = conn.peer;
    this.providers.add(dul);
    void dul.closed.then(() => {
      this.providers.delete(dul);
      this.counted.delete(dul);
      this.associations.delete(dul);
    });
    this.trace(dul.connectionId, { phase: 'connection', remoteAddress: peer.remoteAddress, remotePort: peer.remotePort });
    dul.acceptConnection(conn);

    const answer = (decision: AssociateDecision): void => {
      if (decisionTimer !== undefined) clearTimeout(decisionTimer);
      if (dul.state !== 'Sta3') return; // aborted or closed while deciding
      if (decision.type === PduType.AAssociateAc) {
        dul.associateAccept(decision);
        established = true;
        const association = new Association({
          dul, isRequestor: false, rq: rq!, ac: decision, timeouts,
          ...(o.maxSendPduLength !== undefined ? { maxSendPduLength: o.maxSendPduLength } : {}),
        });
        this.associations.set(dul, association);
        // After an A-ABORT the connection waits (Sta13) for the peer to close it, up to ARTIM: a
        // stalled peer that never does no longer holds a slot of maxAssociations meanwhile.
        association.once('aborted', () => this.counted.delete(dul));
        this.emit('association', association);
      } else {
        dul.associateReject(decision);
        rejected = true;
        this.counted.delete(dul);
        this.trace(dul.connectionId, { phase: 'rejected', result: decision.result, source: decision.source, reason: decision.reason });
        this.emit('rejected', decision, rq, peer);
      }
    };

    const decide = async (request: AAssociateRq): Promise<void> => {
      this.counted.add(dul);
      const ms = timeouts.associationRequest ?? DEFAULT_TIMEOUT;
      decisionTimer = setTimeout(() => {
        failure ??= new DicomError('ERR_DICOM_ASSOCIATION_TIMEOUT', `no decision on the A-ASSOCIATE-RQ within ${ms} ms`);
        dul.abortRequest();
      }, ms);
      decisionTimer.unref();
      let decision: AssociateDecision;
      try {
        decision = o.onAssociationRequest !== undefined ? await o.onAssociationRequest(request, peer) : negotiate(request, o.policy!);
      } catch (e) {
        this.emit('decisionFailed', e as Error, request);
        decision = reject(RejectResult.RejectedTransient, RejectSource.ServiceUser, RejectReason.NoReasonGiven);
      }
      try {
        answer(decision);
      } catch (e) {
        // An AC that does not encode (an AE title too long...): the user's fault, the peer gets a transient RJ.
        this.emit('decisionFailed', e as Error, request);
        if (dul.state === 'Sta3') {
          dul.associateReject(reject(RejectResult.RejectedTransient, RejectSource.ServiceUser, RejectReason.NoReasonGiven));
          rejected = true;
        }
      }
    };
  }

  private establishedOrDeciding(): number {
    return this.counted.size;
  }

  private trace(connectionId: string, detail: { phase: AssociationTrace['phase']; [key: string]: unknown }): void {
    if (associationChannel.hasSubscribers) associationChannel.publish({ connectionId, ...detail } satisfies AssociationTrace);
  }
}
