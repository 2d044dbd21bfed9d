/**
 * The DICOM Upper Layer (PS3.8): PDU codecs, the framer, the state machine, negotiation, the
 * transport and associations. It carries bytes, not data sets; the DIMSE layer builds on
 * Association (sendPData / 'pdata' events / presentationContexts / maxSendPduLength).
 */
export { Association, DEFAULT_MAXIMUM_LENGTH, DEFAULT_MAX_SEND_PDU_LENGTH, DEFAULT_TIMEOUT } from './association.js';
export type { AssociationEvents, AssociationTimeouts } from './association.js';
export { openAssociation, buildAssociateRq } from './open-association.js';
export type { AssociationRequestOptions, AssociateRequestParameters, PresentationContextProposal } from './open-association.js';
export { AssociationListener } from './listener.js';
export type { AssociationListenerOptions, AssociationListenerEvents, AssociateDecision } from './listener.js';
export { negotiate, negotiatedPresentationContexts, checkServiceProviderAcceptance, validateAssociateAc, reject } from './negotiation.js';
export type { AcceptancePolicy, AbstractSyntaxPolicy, NegotiatedPresentationContext, UserIdentityDecision } from './negotiation.js';
export {
  PduError, AssociationRejectedError, AssociationAbortedError, AbortSource, AbortReason, RejectResult, RejectSource, RejectReason,
  describeAbort, describeReject,
} from './errors.js';

export { PduType, pduTypeName, isPduType } from './pdu/pdu-type.js';
export { decodePdu, encodePdu } from './pdu/pdu.js';
export type { Pdu } from './pdu/pdu.js';
export { encodeAAssociateRq, decodeAAssociateRq, PROTOCOL_VERSION } from './pdu/a-associate-rq.js';
export type { AAssociateRq } from './pdu/a-associate-rq.js';
export { encodeAAssociateAc, decodeAAssociateAc } from './pdu/a-associate-ac.js';
export type { AAssociateAc } from './pdu/a-associate-ac.js';
export { encodeAAssociateRj, decodeAAssociateRj } from './pdu/a-associate-rj.js';
export type { AAssociateRj } from './pdu/a-associate-rj.js';
export {
  encodePDataTf, encodePDataTfParts, encodePDataTfGroupParts, decodePDataTf, pDataTfLength, PDV_ITEM_OVERHEAD, SINGLE_PDV_HEADER_LENGTH, encodeLaidOutPDataTf,
  forEachLaidOutPdv, laidOutPdvLists,
} from './pdu/p-data-tf.js';
export type { PDataTf, PresentationDataValue, LaidOutPdvs, FragmentRun } from './pdu/p-data-tf.js';
export { encodeAReleaseRq, decodeAReleaseRq } from './pdu/a-release-rq.js';
export type { AReleaseRq } from './pdu/a-release-rq.js';
export { encodeAReleaseRp, decodeAReleaseRp } from './pdu/a-release-rp.js';
export type { AReleaseRp } from './pdu/a-release-rp.js';
export { encodeAAbort, decodeAAbort } from './pdu/a-abort.js';
export type { AAbort } from './pdu/a-abort.js';
export { ItemType, PresentationContextResult, DICOM_APPLICATION_CONTEXT_NAME, describePresentationContextResult } from './pdu/items.js';
export type { PresentationContextRq, PresentationContextAc, UnknownItem } from './pdu/items.js';
export { SubItemType, UserIdentityType, emptyUserInformation } from './pdu/user-information.js';
export type {
  UserInformation, RoleSelection, AsynchronousOperationsWindow, SopClassExtendedNegotiation, SopClassCommonExtendedNegotiation,
  UserIdentityRq, UserIdentityAc,
} from './pdu/user-information.js';
export { PDU_HEADER_LENGTH } from './pdu/pdu-bytes.js';

export { PduFramer, DEFAULT_MAX_ASSOCIATE_PDU_LENGTH, UNLIMITED_PDU_LENGTH_BOUND } from './pdu-framer.js';
export type { PduFramerOptions } from './pdu-framer.js';
export {
  StateMachine, STATES, EVENTS, ACTIONS, STATE_DEFINITIONS, EVENT_DEFINITIONS, ACTION_DEFINITIONS, STATE_TRANSITION_TABLE, cellOf,
} from './state-machine.js';
export type { State, Event, Action, Cell, EventInput, Indication, ActionContext, Transition } from './state-machine.js';
export { DulServiceProvider } from './dul.js';
export type { DulOptions, DulUser } from './dul.js';
export { PDU_CHANNEL, STATE_CHANNEL, ASSOCIATION_CHANNEL } from './tracing.js';
export type { PduTrace, StateTrace, AssociationTrace } from './tracing.js';
export { checkTlsCredentials, connectTransport, listenTransport, onTlsClientError, tlsServerOptionsFromFiles, TransportConnection } from './transport.js';
export type { TlsClientOptions, TlsCredentialNames, TlsServerFiles, TlsServerOptions, PeerInfo, TransportServer } from './transport.js';
