/**
 * Association negotiation as pure functions: from an A-ASSOCIATE-RQ and an acceptance policy, the
 * A-ASSOCIATE-AC or -RJ to answer with; from an RQ and its AC, the presentation contexts both ends
 * now share. No I/O and no state: the listener calls these, and so can anyone testing a policy.
 */
import { AbortReason, PduError, RejectReason, RejectResult, RejectSource } from './errors.js';
import type { AAssociateAc } from './pdu/a-associate-ac.js';
import type { AAssociateRj } from './pdu/a-associate-rj.js';
import { PROTOCOL_VERSION } from './pdu/a-associate-rq.js';
import type { AAssociateRq } from './pdu/a-associate-rq.js';
import { DICOM_APPLICATION_CONTEXT_NAME, PresentationContextResult } from './pdu/items.js';
import type { PresentationContextAc } from './pdu/items.js';
import { PduType } from './pdu/pdu-type.js';
import { emptyUserInformation } from './pdu/user-information.js';
import type {
  AsynchronousOperationsWindow, RoleSelection, SopClassCommonExtendedNegotiation, SopClassExtendedNegotiation, UserIdentityRq,
  UserInformation,
} from './pdu/user-information.js';

/** How the acceptor treats one abstract syntax. */
export interface AbstractSyntaxPolicy {
  /** Transfer syntaxes accepted, in this end's order of preference (not the requestor's). */
  transferSyntaxes: readonly string[];
  /**
   * The roles the acceptor lets the requestor take when it proposes SCP/SCU Role Selection (PS3.7
   * D.3.3.4). Absent: role selection is not supported for this SOP class, no answer is sent, and the
   * default roles hold (requestor SCU, acceptor SCP).
   */
  roles?: { scu: boolean; scp: boolean };
}

/** The answer of a user identity verifier (PS3.7 D.3.3.7). */
export type UserIdentityDecision =
  | { accept: true; /** Sent when the requestor asked for a positive response; empty by default. */ serverResponse?: Uint8Array }
  | { accept: false };

export interface AcceptancePolicy {
  /** Accepted abstract syntaxes (SOP classes, or the Verification SOP class...). */
  abstractSyntaxes: ReadonlyMap<string, AbstractSyntaxPolicy> | Readonly<Record<string, AbstractSyntaxPolicy>>;
  /**
   * For an abstract syntax not listed (a storage SCP taking any storage SOP class, say); it receives
   * the SOP Class Common Extended Negotiation sub-item proposed for it, if any (PS3.7 D.3.3.6).
   */
  otherAbstractSyntax?: (abstractSyntax: string, commonExtended: SopClassCommonExtendedNegotiation | undefined) => AbstractSyntaxPolicy | undefined;
  /** Called AE titles this end answers to; absent: any. A miss rejects with reason 7 (PS3.8 Table 9-21). */
  calledAeTitle?: (title: string) => boolean;
  /** Calling AE titles this end accepts; absent: any. A miss rejects with reason 3. */
  callingAeTitle?: (title: string) => boolean;
  /** Maximum-length-received this end announces (PS3.8 Annex D.1); 0 = no limit. */
  maximumLength: number;
  implementationClassUid: string;
  implementationVersionName?: string;
  /** The window this end supports; absent: asynchronous operations are not supported (no answer: 1/1). */
  asynchronousOperationsWindow?: AsynchronousOperationsWindow;
  /** Answers SOP Class Extended Negotiation (PS3.7 D.3.3.5): the service-class application information to return, or undefined for none. */
  sopClassExtendedNegotiation?: (sopClassUid: string, requested: Uint8Array) => Uint8Array | undefined;
  /** Verifies a proposed user identity (PS3.7 D.3.3.7); absent: identities are ignored. A rejection rejects the association. */
  userIdentity?: (identity: UserIdentityRq) => UserIdentityDecision;
  /**
   * With `userIdentity`: a requestor that sends no User Identity sub-item is rejected too (1, 1, 1),
   * rather than accepted unverified. Default false (PS3.7 D.3.3.7 lets an acceptor go without).
   */
  userIdentityRequired?: boolean;
  /** Reject (1, 1, 1: permanent, service-user, no-reason-given) when no presentation context is accepted. Default false. */
  rejectWhenNoPresentationContextAccepted?: boolean;
}

/** A presentation context as negotiated (PS3.8 §7.1.1.13, PS3.7 D.3.3.4). */
export interface NegotiatedPresentationContext {
  id: number;
  abstractSyntax: string;
  /** The accepted transfer syntax; '' unless `result` is 0 (acceptance). */
  transferSyntax: string;
  result: PresentationContextResult;
  /** The association-requestor may act as SCU (it invokes operations; the acceptor performs them). */
  scuRole: boolean;
  /** The association-requestor may act as SCP (e.g. it receives C-STOREs of a C-GET). */
  scpRole: boolean;
}

/**
 * AE-6's test "A-ASSOCIATE-RQ acceptable by service-provider": this implementation speaks version 1
 * of the protocol, and a receiver "shall only test that bit 0 is set" (PS3.8 §9.3.2, Table 9-11).
 */
export function checkServiceProviderAcceptance(rq: AAssociateRq): AAssociateRj | undefined {
  if ((rq.protocolVersion & PROTOCOL_VERSION) === 0) {
    return reject(RejectResult.RejectedPermanent, RejectSource.ServiceProviderAcse, RejectReason.ProtocolVersionNotSupported);
  }
  return undefined;
}

export function reject(result: number, source: number, reason: number): AAssociateRj {
  return { type: PduType.AAssociateRj, result, source, reason };
}

function lookup(policy: AcceptancePolicy, uid: string): AbstractSyntaxPolicy | undefined {
  const m = policy.abstractSyntaxes;
  return m instanceof Map ? m.get(uid) : Object.prototype.hasOwnProperty.call(m, uid) ? (m as Record<string, AbstractSyntaxPolicy>)[uid] : undefined;
}

/** Computes the answer to an A-ASSOCIATE-RQ under a policy: an A-ASSOCIATE-AC, or an -RJ with its result/source/reason. */
export function negotiate(rq: AAssociateRq, policy: AcceptancePolicy): AAssociateAc | AAssociateRj {
  const provider = checkServiceProviderAcceptance(rq);
  if (provider !== undefined) return provider;
  if (rq.applicationContextName !== DICOM_APPLICATION_CONTEXT_NAME) {
    return reject(RejectResult.RejectedPermanent, RejectSource.ServiceUser, RejectReason.ApplicationContextNameNotSupported);
  }
  if (policy.calledAeTitle !== undefined && !policy.calledAeTitle(rq.calledAeTitle)) {
    return reject(RejectResult.RejectedPermanent, RejectSource.ServiceUser, RejectReason.CalledAeTitleNotRecognized);
  }
  if (policy.callingAeTitle !== undefined && !policy.callingAeTitle(rq.callingAeTitle)) {
    return reject(RejectResult.RejectedPermanent, RejectSource.ServiceUser, RejectReason.CallingAeTitleNotRecognized);
  }
  const rqUi = rq.userInformation;
  const ui: UserInformation = emptyUserInformation();
  ui.maximumLength = policy.maximumLength;
  ui.implementationClassUid = policy.implementationClassUid;
  if (policy.implementationVersionName !== undefined) ui.implementationVersionName = policy.implementationVersionName;

  if (rqUi.userIdentity === undefined && policy.userIdentity !== undefined && policy.userIdentityRequired === true) {
    return reject(RejectResult.RejectedPermanent, RejectSource.ServiceUser, RejectReason.NoReasonGiven);
  }
  if (rqUi.userIdentity !== undefined && policy.userIdentity !== undefined) {
    const decision = policy.userIdentity(rqUi.userIdentity);
    if (!decision.accept) return reject(RejectResult.RejectedPermanent, RejectSource.ServiceUser, RejectReason.NoReasonGiven);
    if (rqUi.userIdentity.positiveResponseRequested) ui.userIdentityResponse = { serverResponse: decision.serverResponse ?? new Uint8Array(0) };
  }

  if (rqUi.asynchronousOperationsWindow !== undefined && policy.asynchronousOperationsWindow !== undefined) {
    const p = rqUi.asynchronousOperationsWindow;
    const o = policy.asynchronousOperationsWindow;
    ui.asynchronousOperationsWindow = {
      maximumNumberOperationsInvoked: min0(p.maximumNumberOperationsInvoked, o.maximumNumberOperationsInvoked),
      maximumNumberOperationsPerformed: min0(p.maximumNumberOperationsPerformed, o.maximumNumberOperationsPerformed),
    };
  }

  const proposedRoles = new Map<string, RoleSelection>();
  for (const rs of rqUi.roleSelections) proposedRoles.set(rs.sopClassUid, rs);
  const commonExtended = new Map<string, SopClassCommonExtendedNegotiation>();
  for (const c of rqUi.sopClassCommonExtendedNegotiations) commonExtended.set(c.sopClassUid, c);

  const answeredRoles = new Map<string, RoleSelection>();
  const acceptedSopClasses = new Set<string>();
  const contexts: PresentationContextAc[] = [];
  for (const pc of rq.presentationContexts) {
    const syntax = lookup(policy, pc.abstractSyntax) ?? policy.otherAbstractSyntax?.(pc.abstractSyntax, commonExtended.get(pc.abstractSyntax));
    const notSignificant = pc.transferSyntaxes[0] ?? '';
    if (syntax === undefined) {
      contexts.push({ id: pc.id, result: PresentationContextResult.AbstractSyntaxNotSupported, transferSyntax: notSignificant });
      continue;
    }
    const proposed = proposedRoles.get(pc.abstractSyntax);
    if (proposed !== undefined && syntax.roles !== undefined) {
      const answer = { sopClassUid: pc.abstractSyntax, scuRole: proposed.scuRole && syntax.roles.scu, scpRole: proposed.scpRole && syntax.roles.scp };
      if (!answer.scuRole && !answer.scpRole) {
        // No role left in which the requestor could use the context.
        contexts.push({ id: pc.id, result: PresentationContextResult.UserRejection, transferSyntax: notSignificant });
        continue;
      }
      answeredRoles.set(pc.abstractSyntax, answer);
    }
    const ts = syntax.transferSyntaxes.find((t) => pc.transferSyntaxes.includes(t));
    if (ts === undefined) {
      contexts.push({ id: pc.id, result: PresentationContextResult.TransferSyntaxesNotSupported, transferSyntax: notSignificant });
      continue;
    }
    acceptedSopClasses.add(pc.abstractSyntax);
    contexts.push({ id: pc.id, result: PresentationContextResult.Acceptance, transferSyntax: ts });
  }
  if (policy.rejectWhenNoPresentationContextAccepted && acceptedSopClasses.size === 0) {
    return reject(RejectResult.RejectedPermanent, RejectSource.ServiceUser, RejectReason.NoReasonGiven);
  }
  for (const [uid, answer] of answeredRoles) if (acceptedSopClasses.has(uid)) ui.roleSelections.push(answer);

  if (policy.sopClassExtendedNegotiation !== undefined) {
    for (const x of rqUi.sopClassExtendedNegotiations) {
      if (!acceptedSopClasses.has(x.sopClassUid)) continue;
      const info = policy.sopClassExtendedNegotiation(x.sopClassUid, x.serviceClassApplicationInformation);
      if (info !== undefined) ui.sopClassExtendedNegotiations.push({ sopClassUid: x.sopClassUid, serviceClassApplicationInformation: info } satisfies SopClassExtendedNegotiation);
    }
  }

  return {
    type: PduType.AAssociateAc,
    protocolVersion: PROTOCOL_VERSION,
    calledAeTitle: rq.calledAeTitle,
    callingAeTitle: rq.callingAeTitle,
    applicationContextName: DICOM_APPLICATION_CONTEXT_NAME,
    presentationContexts: contexts,
    userInformation: ui,
    unknownItems: [],
  };
}

/** The smaller of two limits where 0 means unlimited (PS3.7 D.3.3.3). */
function min0(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return Math.min(a, b);
}

/**
 * Checks that an A-ASSOCIATE-AC answers the A-ASSOCIATE-RQ sent: every context it names was proposed,
 * and an accepted one uses a transfer syntax proposed for it. A failure is an invalid PDU parameter.
 */
export function validateAssociateAc(rq: AAssociateRq, ac: AAssociateAc): PduError | undefined {
  const proposed = new Map(rq.presentationContexts.map((pc) => [pc.id, pc]));
  for (const pc of ac.presentationContexts) {
    const p = proposed.get(pc.id);
    if (p === undefined) return new PduError(AbortReason.InvalidPduParameterValue, `A-ASSOCIATE-AC answers presentation context ${pc.id}, which was not proposed`);
    if (pc.result === PresentationContextResult.Acceptance && !p.transferSyntaxes.includes(pc.transferSyntax)) {
      return new PduError(AbortReason.InvalidPduParameterValue,
        `A-ASSOCIATE-AC accepts presentation context ${pc.id} with transfer syntax ${pc.transferSyntax}, which was not proposed for it`);
    }
  }
  return undefined;
}

/**
 * The presentation contexts of an association, by ID: each proposed context with its result,
 * transfer syntax and the requestor's roles. A context the AC leaves out counts as rejected
 * (result 2, no reason). Roles: those the AC's SCP/SCU Role Selection answer grants out of those
 * proposed; without a proposal or an answer, the defaults (requestor SCU only), PS3.7 D.3.3.4.
 */
export function negotiatedPresentationContexts(rq: AAssociateRq, ac: AAssociateAc): Map<number, NegotiatedPresentationContext> {
  const answers = new Map(ac.presentationContexts.map((pc) => [pc.id, pc]));
  const proposedRoles = new Map(rq.userInformation.roleSelections.map((r) => [r.sopClassUid, r]));
  const answeredRoles = new Map(ac.userInformation.roleSelections.map((r) => [r.sopClassUid, r]));
  const out = new Map<number, NegotiatedPresentationContext>();
  for (const pc of rq.presentationContexts) {
    const a = answers.get(pc.id);
    const result = a?.result ?? PresentationContextResult.NoReason;
    const proposed = proposedRoles.get(pc.abstractSyntax);
    const answered = answeredRoles.get(pc.abstractSyntax);
    let scuRole = true;
    let scpRole = false;
    if (proposed !== undefined && answered !== undefined) {
      scuRole = proposed.scuRole && answered.scuRole;
      scpRole = proposed.scpRole && answered.scpRole;
    }
    out.set(pc.id, {
      id: pc.id,
      abstractSyntax: pc.abstractSyntax,
      transferSyntax: result === PresentationContextResult.Acceptance ? a!.transferSyntax : '',
      result,
      scuRole,
      scpRole,
    });
  }
  return out;
}
