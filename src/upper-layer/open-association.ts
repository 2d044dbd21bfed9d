/**
 * The association-requestor: builds the A-ASSOCIATE-RQ from options, opens the transport (AE-1),
 * sends the request (AE-2) and resolves with the Association on A-ASSOCIATE-AC, or rejects with the
 * A-ASSOCIATE-RJ's result/source/reason, the A-ABORT's source/reason, or the transport's failure.
 */
import { DicomError } from '../core/dicom-error.js';
import { Association, DEFAULT_MAXIMUM_LENGTH, DEFAULT_TIMEOUT } from './association.js';
import type { AssociationTimeouts } from './association.js';
import { DulServiceProvider } from './dul.js';
import { AssociationAbortedError, AssociationRejectedError } from './errors.js';
import { PROTOCOL_VERSION } from './pdu/a-associate-rq.js';
import type { AAssociateRq } from './pdu/a-associate-rq.js';
import { DICOM_APPLICATION_CONTEXT_NAME } from './pdu/items.js';
import type { PresentationContextRq } from './pdu/items.js';
import { checkAeTitle, checkUid } from './pdu/pdu-bytes.js';
import { PduType } from './pdu/pdu-type.js';
import { emptyUserInformation } from './pdu/user-information.js';
import type {
  AsynchronousOperationsWindow, RoleSelection, SopClassCommonExtendedNegotiation, SopClassExtendedNegotiation, UserIdentityRq,
} from './pdu/user-information.js';
import { connectTransport } from './transport.js';
import type { TlsClientOptions } from './transport.js';

export interface PresentationContextProposal {
  /** Odd, 1-255; assigned in order (1, 3, 5, ...) when absent. */
  id?: number;
  abstractSyntax: string;
  /** In this end's order of preference. */
  transferSyntaxes: readonly string[];
}

export interface AssociateRequestParameters {
  callingAeTitle: string;
  calledAeTitle: string;
  presentationContexts: readonly PresentationContextProposal[];
  implementationClassUid: string;
  implementationVersionName?: string;
  /** Maximum-length-received announced (PS3.8 Annex D.1); default 256 KiB; 0 = no limit. */
  maximumLength?: number;
  applicationContextName?: string;
  roleSelections?: readonly RoleSelection[];
  asynchronousOperationsWindow?: AsynchronousOperationsWindow;
  sopClassExtendedNegotiations?: readonly SopClassExtendedNegotiation[];
  sopClassCommonExtendedNegotiations?: readonly SopClassCommonExtendedNegotiation[];
  userIdentity?: UserIdentityRq;
}

export interface AssociationRequestOptions extends AssociateRequestParameters {
  host: string;
  port: number;
  tls?: TlsClientOptions;
  localAddress?: string;
  timeouts?: AssociationTimeouts;
  /** Cap on sent P-DATA-TF PDU-length when the peer announces no limit; default 1 MiB. */
  maxSendPduLength?: number;
  maxAssociatePduLength?: number;
  /** Aborts the attempt (A-ABORT, or closing the connection) and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Builds and checks an A-ASSOCIATE-RQ (AE titles, UIDs, presentation context IDs). */
export function buildAssociateRq(p: AssociateRequestParameters): AAssociateRq {
  checkAeTitle(p.callingAeTitle, 'calling AE title');
  checkAeTitle(p.calledAeTitle, 'called AE title');
  checkUid(p.implementationClassUid, 'implementation class UID');
  if (p.presentationContexts.length === 0 || p.presentationContexts.length > 128) {
    throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `an A-ASSOCIATE-RQ proposes 1 to 128 presentation contexts, not ${p.presentationContexts.length}`);
  }
  const used = new Set<number>();
  for (const pc of p.presentationContexts) if (pc.id !== undefined) used.add(pc.id);
  let next = 1;
  const contexts: PresentationContextRq[] = [];
  const seen = new Set<number>();
  for (const pc of p.presentationContexts) {
    let id = pc.id;
    if (id === undefined) {
      while (used.has(next)) next += 2;
      id = next;
      used.add(id);
    }
    if (!Number.isInteger(id) || id < 1 || id > 255 || id % 2 === 0 || seen.has(id)) {
      throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `presentation context ID ${id} is not a unique odd number from 1 to 255 (PS3.8 §9.3.2.2)`);
    }
    seen.add(id);
    checkUid(pc.abstractSyntax, 'abstract syntax');
    if (pc.transferSyntaxes.length === 0) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `presentation context ${id} proposes no transfer syntax`);
    for (const ts of pc.transferSyntaxes) checkUid(ts, 'transfer syntax');
    contexts.push({ id, abstractSyntax: pc.abstractSyntax, transferSyntaxes: [...pc.transferSyntaxes] });
  }
  const ui = emptyUserInformation();
  ui.maximumLength = p.maximumLength ?? DEFAULT_MAXIMUM_LENGTH;
  ui.implementationClassUid = p.implementationClassUid;
  if (p.implementationVersionName !== undefined) ui.implementationVersionName = p.implementationVersionName;
  if (p.asynchronousOperationsWindow !== undefined) ui.asynchronousOperationsWindow = p.asynchronousOperationsWindow;
  ui.roleSelections = [...(p.roleSelections ?? [])];
  ui.sopClassExtendedNegotiations = [...(p.sopClassExtendedNegotiations ?? [])];
  ui.sopClassCommonExtendedNegotiations = [...(p.sopClassCommonExtendedNegotiations ?? [])];
  if (p.userIdentity !== undefined) ui.userIdentity = p.userIdentity;
  return {
    type: PduType.AAssociateRq,
    protocolVersion: PROTOCOL_VERSION,
    calledAeTitle: p.calledAeTitle,
    callingAeTitle: p.callingAeTitle,
    applicationContextName: p.applicationContextName ?? DICOM_APPLICATION_CONTEXT_NAME,
    presentationContexts: contexts,
    userInformation: ui,
    unknownItems: [],
  };
}

/** Requests an association (A-ASSOCIATE request primitive) and waits for the answer. */
export function openAssociation(options: AssociationRequestOptions): Promise<Association> {
  let rq: AAssociateRq;
  try {
    rq = buildAssociateRq(options);
  } catch (e) {
    return Promise.reject(e);
  }
  const timeouts = options.timeouts ?? {};
  return new Promise<Association>((resolve, reject) => {
    let settled = false;
    let connected = false;
    let timer: NodeJS.Timeout | undefined;
    let failure: Error | undefined;
    const where = `${options.host}:${options.port}`;
    const settle = (error: Error | undefined, association?: Association): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onSignal);
      if (error !== undefined) reject(error);
      else resolve(association!);
    };
    const arm = (ms: number, what: string): void => {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => fail(new DicomError('ERR_DICOM_ASSOCIATION_TIMEOUT', `${what} ${where} took more than ${ms} ms`)), ms);
      timer.unref();
    };
    const fail = (error: Error): void => {
      failure ??= error;
      // Sta4: AA-2 closes the connection; Sta5: AA-1 sends A-ABORT and waits for the close.
      if (!dul.abortRequest()) dul.destroy();
      settle(error);
    };
    const onSignal = (): void => {
      const reason: unknown = options.signal?.reason;
      fail(reason instanceof Error ? reason : new DicomError('ERR_DICOM_ASSOCIATION_ABORTED', 'association request aborted by the caller'));
    };

    const dul = new DulServiceProvider({
      isAssociationRequestor: true,
      maxPduLength: rq.userInformation.maximumLength ?? DEFAULT_MAXIMUM_LENGTH,
      ...(options.maxAssociatePduLength !== undefined ? { maxAssociatePduLength: options.maxAssociatePduLength } : {}),
      artimTimeout: timeouts.artim ?? DEFAULT_TIMEOUT,
    }, {
      onIndication: (indication) => {
        switch (indication.type) {
          case 'A-ASSOCIATE confirmation (accept)': {
            const association = new Association({
              dul, isRequestor: true, rq, ac: indication.ac, timeouts,
              ...(options.maxSendPduLength !== undefined ? { maxSendPduLength: options.maxSendPduLength } : {}),
            });
            settle(undefined, association);
            return;
          }
          case 'A-ASSOCIATE confirmation (reject)':
            settle(new AssociationRejectedError(indication.rj.result, indication.rj.source, indication.rj.reason));
            return;
          case 'A-ABORT indication':
            settle(new AssociationAbortedError(indication.source, indication.reason, 'received'));
            return;
          case 'A-P-ABORT indication':
            if (indication.origin === 'transport') {
              settle(!connected
                ? new DicomError('ERR_DICOM_TRANSPORT', `cannot connect to ${where}${indication.error ? `: ${indication.error.message}` : ''}`, indication.error ? { cause: indication.error } : {})
                : new DicomError('ERR_DICOM_ASSOCIATION_CONNECTION_LOST', `${where} closed the connection before answering the A-ASSOCIATE-RQ`, indication.error ? { cause: indication.error } : {}));
            } else {
              settle(new AssociationAbortedError(indication.source, indication.reason, indication.origin, indication.error));
            }
            return;
          default:
            return;
        }
      },
      onClosed: () => settle(failure ?? new DicomError('ERR_DICOM_ASSOCIATION_CONNECTION_LOST', `the connection to ${where} closed`)),
    });

    if (options.signal?.aborted) {
      onSignal();
      return;
    }
    options.signal?.addEventListener('abort', onSignal, { once: true });
    arm(timeouts.connect ?? DEFAULT_TIMEOUT, 'connecting to');
    try {
      dul.associateRequest(rq, (handlers) => connectTransport({
        host: options.host,
        port: options.port,
        ...(options.tls !== undefined ? { tls: options.tls } : {}),
        ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      }, {
        ...handlers,
        onConnect: () => {
          connected = true;
          arm(timeouts.associationRequest ?? DEFAULT_TIMEOUT, 'the A-ASSOCIATE-RQ to');
          handlers.onConnect();
        },
      }));
    } catch (e) {
      settle(e as Error);
    }
  });
}
