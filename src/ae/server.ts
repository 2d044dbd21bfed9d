/**
 * DicomServer: the acceptor side of the public network API. It negotiates associations from a
 * simple configuration (which SOP classes, which transfer syntaxes, which AE titles), dispatches
 * each DIMSE request to a typed handler and sends the response; a handler's ServiceError becomes the
 * response status with its Error Comment. Lifecycle events on a typed EventEmitter.
 */
import { EventEmitter } from 'node:events';
import { DicomError } from '../core/dicom-error.js';
import { EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, isUncompressed } from '../data/transfer-syntax.js';
import { isUidValue, responseTypeOf, serviceOf, ServiceError, Status, type DataSetSource, type DataSetStream, type DimseMessage } from '../dimse/index.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../media/implementation.js';
import { storageSopClassUids } from '../services/storage/storage-sop-classes.js';
import { VERIFICATION_SOP_CLASS } from '../services/verification/verification.js';
import {
  AssociationListener, describeReject, negotiate, type AAssociateRq, type AbstractSyntaxPolicy, type AcceptancePolicy, type Association,
  type AssociationTimeouts, type TlsServerOptions, type UserIdentityDecision, type UserIdentityRq,
} from '../upper-layer/index.js';
import { DimseAssociation, type IncomingRequest } from './dimse-association.js';

/** Uncompressed transfer syntaxes in this end's order of preference. */
export const PREFERRED_TRANSFER_SYNTAXES: readonly string[] = [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN];

export interface AssociationInfo {
  connectionId: string;
  callingAeTitle: string;
  calledAeTitle: string;
  remoteAddress?: string;
  association: Association;
}

export interface StoreRequest {
  association: AssociationInfo;
  sopClassUid: string;
  sopInstanceUid: string;
  /** The transfer syntax of the data set bytes (the presentation context's). */
  transferSyntaxUid: string;
  moveOriginatorAeTitle?: string;
  moveOriginatorMessageId?: number;
  /** The data set, as it arrives. Read it (or discard it) before returning. */
  dataSet: DataSetStream;
  cancelled: AbortSignal;
}

/** What a handler returns: a status (default Success) and optionally an Error Comment. */
export type HandlerResult = void | number | { status: number; errorComment?: string };

/** A request the typed handlers do not cover; `respond` sends one response (call it several times for Pending ones). */
export interface GenericRequest {
  association: AssociationInfo;
  request: IncomingRequest;
  /**
   * The association's DIMSE messaging, for requests this end sends while performing the one
   * received: the C-STORE sub-operations of a C-GET go on the same association (PS3.4 C.4.3).
   */
  dimse: DimseAssociation;
  respond(fields: Partial<DimseMessage> & { status: number }, dataSet?: DataSetSource | null): Promise<void>;
}

export interface DicomServerHandlers {
  echo?(association: AssociationInfo): HandlerResult | Promise<HandlerResult>;
  store?(request: StoreRequest): HandlerResult | Promise<HandlerResult>;
  /** Any other request (C-FIND, C-MOVE, C-GET, N-*): the later services plug in here. */
  request?(request: GenericRequest): Promise<void>;
}

export interface DicomServerOptions {
  aeTitle: string;
  host?: string;
  port?: number;
  tls?: TlsServerOptions;
  /** Reject associations whose Called AE Title is not `aeTitle` (reason 7). Default false: answer any title, as storescp does. */
  strictCalledAeTitle?: boolean;
  /** Calling AE titles accepted; absent: any (reason 3 otherwise). */
  allowedCallingAeTitles?: readonly string[];
  /** Accepted abstract syntaxes with their transfer syntaxes ('*' = any proposed). Default: Verification, and every Storage SOP Class when a store handler is given. */
  abstractSyntaxes?: Readonly<Record<string, readonly string[] | '*'>>;
  /** For Storage SOP Classes: accept any transfer syntax proposed (compressed ones too). Default true. */
  acceptAnyStorageTransferSyntax?: boolean;
  /**
   * SCP/SCU Role Selection answers by SOP class (PS3.7 D.3.3.4), for the abstract syntaxes accepted:
   * e.g. `{ scu: true, scp: true }` for the Storage SOP Classes of a C-GET SCP, whose requester
   * takes the SCP role to receive the C-STORE sub-operations (PS3.4 C.5.3).
   */
  roles?: Readonly<Record<string, { scu: boolean; scp: boolean }>>;
  /** Answers SOP Class Extended Negotiation (PS3.7 D.3.3.5): the service-class-application-information to return, or undefined for none. */
  sopClassExtendedNegotiation?: (sopClassUid: string, requested: Uint8Array) => Uint8Array | undefined;
  maxAssociations?: number;
  /** Maximum-length-received announced; default 256 KiB. */
  maxPduLength?: number;
  timeouts?: AssociationTimeouts;
  dimseTimeout?: number;
  /** Asynchronous operations this end performs at once (PS3.7 D.3.3.3); default 1 (no window offered). */
  maxOperationsPerformed?: number;
  /** Verifies a User Identity a requestor sends (PS3.7 D.3.3.7); a rejection rejects the association (1, 1, 1). */
  userIdentity?: (identity: UserIdentityRq) => UserIdentityDecision;
  /** With `userIdentity`: reject a requestor that sends no identity too; default false (accepted unverified). */
  userIdentityRequired?: boolean;
  handlers: DicomServerHandlers;
}

export interface DicomServerEvents {
  association: [info: AssociationInfo];
  released: [info: AssociationInfo];
  aborted: [info: AssociationInfo, error: DicomError];
  /** An A-ASSOCIATE-RJ was sent; `reason` gives its result, source and reason in words (PS3.8 Table 9-21). */
  rejected: [reason: string, callingAeTitle: string | undefined];
  /** A handler failed unexpectedly (its response said so); for logging. */
  handlerError: [error: unknown, info: AssociationInfo];
  /**
   * A connection ended before any association: a failed TLS handshake, bytes that are not a PDU,
   * no A-ASSOCIATE-RQ in time, or a peer that hung up (ERR_DICOM_ASSOCIATION_CONNECTION_LOST: a
   * port check, most often). For logging.
   */
  connectionFailed: [error: DicomError, remoteAddress: string | undefined];
}

export class DicomServer extends EventEmitter<DicomServerEvents> {
  private readonly options: DicomServerOptions;
  private listener: AssociationListener | undefined;
  private readonly active = new Set<DimseAssociation>();

  constructor(options: DicomServerOptions) {
    super();
    this.options = options;
  }

  async listen(): Promise<{ port: number; host: string }> {
    const o = this.options;
    this.listener = await AssociationListener.listen({
      host: o.host,
      port: o.port ?? 0,
      tls: o.tls,
      maxAssociations: o.maxAssociations,
      maxPduLength: o.maxPduLength,
      timeouts: o.timeouts,
      onAssociationRequest: (rq) => negotiate(rq, this.policyFor(rq)),
    });
    this.listener.on('association', (a) => this.onAssociation(a));
    this.listener.on('rejected', (rj, rq) => this.emit('rejected', describeReject(rj.result, rj.source, rj.reason), rq?.callingAeTitle));
    this.listener.on('connectionFailed', (error, peer) => this.emit('connectionFailed', error, peer?.remoteAddress));
    const addr = this.listener.address();
    return { port: addr.port, host: addr.address };
  }

  get port(): number {
    return this.listener?.address().port ?? 0;
  }

  /**
   * Replaces the TLS key, certificate and CAs (a renewed certificate) for the associations accepted
   * from now on; those open keep theirs. Throws, keeping the old ones, when they cannot be used.
   */
  setTlsCredentials(tls: Pick<TlsServerOptions, 'key' | 'cert' | 'ca'>): void {
    if (!this.listener) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'the server is not listening');
    this.listener.setTlsCredentials(tls);
  }

  /** Stops listening; waits for open associations to end unless `abort` is set. */
  async close(options: { abort?: boolean } = {}): Promise<void> {
    await this.listener?.close(options);
  }

  /** The acceptance policy for one request: the configured syntaxes, and "any proposed" where asked. */
  private policyFor(rq: AAssociateRq): AcceptancePolicy {
    const o = this.options;
    const configured: Record<string, readonly string[] | '*'> = { ...(o.abstractSyntaxes ?? {}) };
    if (!o.abstractSyntaxes) {
      configured[VERIFICATION_SOP_CLASS] = PREFERRED_TRANSFER_SYNTAXES;
      if (o.handlers.store) {
        const anyTs = o.acceptAnyStorageTransferSyntax ?? true;
        for (const uid of storageSopClassUids()) configured[uid] = anyTs ? '*' : PREFERRED_TRANSFER_SYNTAXES;
      }
    }
    const abstractSyntaxes: Record<string, AbstractSyntaxPolicy> = {};
    for (const pc of rq.presentationContexts) {
      const conf = configured[pc.abstractSyntax];
      if (!conf) continue;
      // '*': a compressed syntax proposed comes first (in the requestor's order), since the object
      // is stored as it arrives; preferring an uncompressed one would make the requestor decompress,
      // which costs it time or fails (storescu +C proposes JPEG with the uncompressed ones in one context).
      // Except where the requestor only receives (SCP role alone, a C-GET's storage contexts, PS3.4
      // C.5.3): this end then sends, and converts among the uncompressed syntaxes only.
      const compressed = pc.transferSyntaxes.filter((t) => !isUncompressed(t));
      const otherUncompressed = pc.transferSyntaxes.filter((t) => isUncompressed(t) && !PREFERRED_TRANSFER_SYNTAXES.includes(t));
      const ts = conf !== '*' ? conf
        : receivesOnly(rq, pc.abstractSyntax) && o.roles?.[pc.abstractSyntax]?.scp
          ? [...PREFERRED_TRANSFER_SYNTAXES, ...otherUncompressed, ...compressed]
          : [...compressed, ...PREFERRED_TRANSFER_SYNTAXES, ...otherUncompressed];
      const prior = abstractSyntaxes[pc.abstractSyntax];
      const merged = prior ? [...prior.transferSyntaxes, ...ts.filter((t) => !prior.transferSyntaxes.includes(t))] : ts;
      abstractSyntaxes[pc.abstractSyntax] = { transferSyntaxes: merged, ...(o.roles?.[pc.abstractSyntax] ? { roles: o.roles[pc.abstractSyntax] } : {}) };
    }
    const performed = o.maxOperationsPerformed ?? 1;
    return {
      abstractSyntaxes,
      calledAeTitle: o.strictCalledAeTitle ? (t) => t.trim() === o.aeTitle : undefined,
      callingAeTitle: o.allowedCallingAeTitles ? (t) => o.allowedCallingAeTitles!.includes(t.trim()) : undefined,
      maximumLength: o.maxPduLength ?? 256 * 1024,
      implementationClassUid: IMPLEMENTATION_CLASS_UID,
      implementationVersionName: IMPLEMENTATION_VERSION_NAME,
      // negotiate() caps each field of the AC by the same-named policy field, and the AC's fields are
      // the requestor's limits (PS3.7 D.3.3.3): what it may invoke is what this end performs.
      ...(performed > 1 ? { asynchronousOperationsWindow: { maximumNumberOperationsInvoked: performed, maximumNumberOperationsPerformed: 1 } } : {}),
      ...(o.userIdentity ? { userIdentity: o.userIdentity, userIdentityRequired: o.userIdentityRequired === true } : {}),
      ...(o.sopClassExtendedNegotiation ? { sopClassExtendedNegotiation: o.sopClassExtendedNegotiation } : {}),
    };
  }

  private onAssociation(association: Association): void {
    const dimse = new DimseAssociation(association, { dimseTimeout: this.options.dimseTimeout });
    const info: AssociationInfo = {
      connectionId: association.connectionId,
      callingAeTitle: association.callingAeTitle.trim(),
      calledAeTitle: association.calledAeTitle.trim(),
      remoteAddress: association.peer?.remoteAddress,
      association,
    };
    this.active.add(dimse);
    this.emit('association', info);
    association.on('released', () => this.emit('released', info));
    association.on('aborted', (err) => this.emit('aborted', info, err));
    dimse.on('close', () => this.active.delete(dimse));
    dimse.on('request', (req) => void this.dispatch(dimse, info, req));
  }

  private async dispatch(dimse: DimseAssociation, info: AssociationInfo, req: IncomingRequest): Promise<void> {
    const message = req.message as DimseMessage & { messageId: number; affectedSopClassUid?: string; affectedSopInstanceUid?: string };
    const contextId = req.presentationContext.id;
    const respond = (fields: Partial<DimseMessage> & { status: number }, dataSet: DataSetSource | null = null): Promise<void> => {
      const rsp: Record<string, unknown> = {
        type: responseTypeOf(message.type as never),
        messageIdBeingRespondedTo: message.messageId,
      };
      // Optional in a response (U(=), PS3.7 §9.3, §10.3): a value that is not a UID is not echoed,
      // so that the response can be encoded and the requestor gets its status.
      const { affectedSopClassUid: sopClass, affectedSopInstanceUid: sopInstance } = message;
      if (sopClass !== undefined && isUidValue(sopClass)) rsp.affectedSopClassUid = sopClass;
      if (sopInstance !== undefined && isUidValue(sopInstance)) rsp.affectedSopInstanceUid = sopInstance;
      return dimse.send(Object.assign(rsp, fields) as unknown as DimseMessage, contextId, dataSet);
    };
    // The failure status for an unexpected error depends on the service (0110H, or C000H for C-FIND/GET/MOVE).
    const service = serviceOf(message.type);
    try {
      if (message.type === 'C-ECHO-RQ') {
        req.dataSet?.discard();
        const result = this.options.handlers.echo ? await this.options.handlers.echo(info) : undefined;
        await respond(resultFields(result));
      } else if (message.type === 'C-STORE-RQ' && this.options.handlers.store) {
        const m = message as DimseMessage & { affectedSopClassUid: string; affectedSopInstanceUid: string; moveOriginatorApplicationEntityTitle?: string; moveOriginatorMessageId?: number };
        if (!req.dataSet) throw new ServiceError(Status.ErrorCannotUnderstand, 'C-STORE-RQ without a data set');
        // PS3.7 §9.1.1.1.9: 0117H Invalid SOP Instance, "a violation of the UID construction rules"
        // (PS3.5 §9.1). Refused before the handler: it would name a file or an index row after it.
        if (!isUidValue(m.affectedSopInstanceUid)) {
          throw new ServiceError(Status.InvalidObjectInstance, 'the Affected SOP Instance UID is not a UID (digits and dots, at most 64)');
        }
        // PS3.7 §9.1.1.1.9: 0212H Mistyped argument, "a parameter not agreed for use on the
        // Association": the presentation context was negotiated for another SOP class (PS3.8 §7.1.1.13).
        if (m.affectedSopClassUid !== req.presentationContext.abstractSyntax) {
          throw new ServiceError(Status.MistypedArgument, `the Affected SOP Class UID is not ${req.presentationContext.abstractSyntax}, the abstract syntax of presentation context ${contextId}`);
        }
        const result = await this.options.handlers.store(new ReceivedStore(info, m, req));
        req.dataSet.discard(); // in case the handler left some unread
        await respond(resultFields(result));
      } else if (this.options.handlers.request) {
        await this.options.handlers.request({ association: info, request: req, dimse, respond });
      } else {
        req.dataSet?.discard();
        // PS3.7 C.5.8: an operation this SCP does not perform on an accepted context.
        await respond({ status: Status.RefusedSOPClassNotSupported, errorComment: `${message.type} is not supported by this SCP` } as never);
      }
    } catch (err) {
      req.dataSet?.discard();
      const se = err instanceof ServiceError ? err : ServiceError.from(err, service, { exposeMessage: err instanceof DicomError });
      if (!(err instanceof ServiceError)) this.emit('handlerError', err, info);
      await respond(se.responseFields() as never).catch(() => undefined);
    } finally {
      dimse.requestDone(message.messageId);
    }
  }
}

/**
 * A C-STORE request as the store handler sees it; `cancelled` made on demand (see Cancellation in
 * dimse-association.ts). A class rather than an object literal with a getter, which V8 builds
 * through the runtime for every object received.
 */
class ReceivedStore implements StoreRequest {
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  readonly transferSyntaxUid: string;
  readonly moveOriginatorAeTitle: string | undefined;
  readonly moveOriginatorMessageId: number | undefined;
  readonly dataSet: DataSetStream;

  constructor(
    readonly association: AssociationInfo,
    m: { affectedSopClassUid: string; affectedSopInstanceUid: string; moveOriginatorApplicationEntityTitle?: string; moveOriginatorMessageId?: number },
    private readonly request: IncomingRequest,
  ) {
    this.sopClassUid = m.affectedSopClassUid;
    this.sopInstanceUid = m.affectedSopInstanceUid;
    this.transferSyntaxUid = request.presentationContext.transferSyntax;
    this.moveOriginatorAeTitle = m.moveOriginatorApplicationEntityTitle;
    this.moveOriginatorMessageId = m.moveOriginatorMessageId;
    this.dataSet = request.dataSet!;
  }

  get cancelled(): AbortSignal {
    return this.request.cancelled;
  }
}

/** Whether the requestor proposes SCP/SCU Role Selection for a SOP class with the SCP role alone (PS3.7 D.3.3.4). */
function receivesOnly(rq: AAssociateRq, sopClassUid: string): boolean {
  const role = rq.userInformation.roleSelections.find((r) => r.sopClassUid === sopClassUid);
  return role !== undefined && role.scpRole && !role.scuRole;
}

function resultFields(result: HandlerResult): { status: number; errorComment?: string } {
  if (result === undefined) return { status: Status.Success };
  if (typeof result === 'number') return { status: result };
  return result.errorComment !== undefined ? { status: result.status, errorComment: result.errorComment } : { status: result.status };
}
