/**
 * The DIMSE messages as typed values (PS3.7 §9.3 for DIMSE-C, §10.3 for DIMSE-N), with the
 * fields each message table lists, named after the standard's keywords in TypeScript casing
 * (AffectedSOPClassUID -> affectedSopClassUid). `MESSAGE_SPECS` is the same tables as data: what
 * the codec writes, and what it requires when reading.
 *
 * Every response may also carry the status detail fields of PS3.7 Annex C (Error Comment,
 * Offending Element, Error ID, Attribute Identifier List) and the Affected SOP Class / Instance UIDs.
 */
import { CommandField, type CommandFieldName, type DimseMessageType, type Priority } from './command-elements.js';

interface RequestBase {
  /** (0000,0110), 1..65535 on the wire; unique among the requests outstanding on an association. */
  messageId: number;
  /** (0000,0800): NO_DATA_SET (0101H) or any other value for "a data set follows". Set when decoded; defaulted from the message type when encoding. */
  commandDataSetType?: number;
}

/** Fields of PS3.7 Annex C that any response may carry with its Status. */
export interface StatusDetail {
  /** (0000,0902) LO: sent as at most 64 characters of the default repertoire. */
  errorComment?: string;
  /** (0000,0901) AT 1-n: the elements in which the error was detected. */
  offendingElement?: number[];
  /** (0000,0903) US. */
  errorId?: number;
  /** (0000,1005) AT 1-n: with Attribute List Error (0107H) and No Such Attribute (0105H). */
  attributeIdentifierList?: number[];
}

interface ResponseBase extends StatusDetail {
  messageIdBeingRespondedTo: number;
  /** (0000,0900), see status.ts for its meaning. */
  status: number;
  affectedSopClassUid?: string;
  affectedSopInstanceUid?: string;
  commandDataSetType?: number;
}

/** PS3.7 §9.3.1.1, Table 9.3-1; the data set is the SOP Instance. */
export interface CStoreRq extends RequestBase {
  type: 'C-STORE-RQ';
  affectedSopClassUid: string;
  affectedSopInstanceUid: string;
  priority: Priority;
  moveOriginatorApplicationEntityTitle?: string;
  moveOriginatorMessageId?: number;
}
/** PS3.7 §9.3.1.2, Table 9.3-2. */
export interface CStoreRsp extends ResponseBase { type: 'C-STORE-RSP' }

/** PS3.7 §9.3.2.1, Table 9.3-3; the data set is the Identifier. */
export interface CFindRq extends RequestBase {
  type: 'C-FIND-RQ';
  affectedSopClassUid: string;
  priority: Priority;
}
/** PS3.7 §9.3.2.2, Table 9.3-4; pending responses carry an Identifier. */
export interface CFindRsp extends ResponseBase { type: 'C-FIND-RSP' }

/** Numbers of sub-operations of C-GET and C-MOVE responses (PS3.7 Tables 9.3-7 and 9.3-10). */
export interface SubOperationCounts {
  numberOfRemainingSuboperations?: number;
  numberOfCompletedSuboperations?: number;
  numberOfFailedSuboperations?: number;
  numberOfWarningSuboperations?: number;
}

/** PS3.7 §9.3.3.1, Table 9.3-6; the data set is the Identifier. */
export interface CGetRq extends RequestBase {
  type: 'C-GET-RQ';
  affectedSopClassUid: string;
  priority: Priority;
}
/** PS3.7 §9.3.3.2, Table 9.3-7; a final response may carry the Failed SOP Instance UID List. */
export interface CGetRsp extends ResponseBase, SubOperationCounts { type: 'C-GET-RSP' }

/** PS3.7 §9.3.4.1, Table 9.3-9; the data set is the Identifier. */
export interface CMoveRq extends RequestBase {
  type: 'C-MOVE-RQ';
  affectedSopClassUid: string;
  priority: Priority;
  moveDestination: string;
}
/** PS3.7 §9.3.4.2, Table 9.3-10. */
export interface CMoveRsp extends ResponseBase, SubOperationCounts { type: 'C-MOVE-RSP' }

/** PS3.7 §9.3.5.1, Table 9.3-12. */
export interface CEchoRq extends RequestBase {
  type: 'C-ECHO-RQ';
  affectedSopClassUid: string;
}
/** PS3.7 §9.3.5.2, Table 9.3-13. */
export interface CEchoRsp extends ResponseBase { type: 'C-ECHO-RSP' }

/** C-CANCEL-FIND-RQ, C-CANCEL-GET-RQ, C-CANCEL-MOVE-RQ (PS3.7 Tables 9.3-5, 9.3-8, 9.3-11). */
export interface CCancelRq {
  type: 'C-CANCEL-RQ';
  messageIdBeingRespondedTo: number;
  commandDataSetType?: number;
}

/** PS3.7 §10.3.1.1, Table 10.3-1; the data set is the Event Information. */
export interface NEventReportRq extends RequestBase {
  type: 'N-EVENT-REPORT-RQ';
  affectedSopClassUid: string;
  affectedSopInstanceUid: string;
  eventTypeId: number;
}
/** PS3.7 §10.3.1.2, Table 10.3-2; the data set is the Event Reply. */
export interface NEventReportRsp extends ResponseBase {
  type: 'N-EVENT-REPORT-RSP';
  eventTypeId?: number;
}

/** PS3.7 §10.3.2.1, Table 10.3-3. */
export interface NGetRq extends RequestBase {
  type: 'N-GET-RQ';
  requestedSopClassUid: string;
  requestedSopInstanceUid: string;
  attributeIdentifierList?: number[];
}
/** PS3.7 §10.3.2.2, Table 10.3-4; the data set is the Attribute List. */
export interface NGetRsp extends ResponseBase { type: 'N-GET-RSP' }

/** PS3.7 §10.3.3.1, Table 10.3-5; the data set is the Modification List. */
export interface NSetRq extends RequestBase {
  type: 'N-SET-RQ';
  requestedSopClassUid: string;
  requestedSopInstanceUid: string;
}
/** PS3.7 §10.3.3.2, Table 10.3-6. */
export interface NSetRsp extends ResponseBase { type: 'N-SET-RSP' }

/** PS3.7 §10.3.4.1, Table 10.3-7; the data set is the Action Information. */
export interface NActionRq extends RequestBase {
  type: 'N-ACTION-RQ';
  requestedSopClassUid: string;
  requestedSopInstanceUid: string;
  actionTypeId: number;
}
/** PS3.7 §10.3.4.2, Table 10.3-8; the data set is the Action Reply. */
export interface NActionRsp extends ResponseBase {
  type: 'N-ACTION-RSP';
  actionTypeId?: number;
}

/** PS3.7 §10.3.5.1, Table 10.3-9; the data set is the Attribute List. */
export interface NCreateRq extends RequestBase {
  type: 'N-CREATE-RQ';
  affectedSopClassUid: string;
  affectedSopInstanceUid?: string;
}
/** PS3.7 §10.3.5.2, Table 10.3-10. */
export interface NCreateRsp extends ResponseBase { type: 'N-CREATE-RSP' }

/** PS3.7 §10.3.6.1, Table 10.3-11. */
export interface NDeleteRq extends RequestBase {
  type: 'N-DELETE-RQ';
  requestedSopClassUid: string;
  requestedSopInstanceUid: string;
}
/** PS3.7 §10.3.6.2, Table 10.3-12. */
export interface NDeleteRsp extends ResponseBase { type: 'N-DELETE-RSP' }

export type DimseRequest =
  | CStoreRq | CFindRq | CGetRq | CMoveRq | CEchoRq | CCancelRq
  | NEventReportRq | NGetRq | NSetRq | NActionRq | NCreateRq | NDeleteRq;
export type DimseResponse =
  | CStoreRsp | CFindRsp | CGetRsp | CMoveRsp | CEchoRsp
  | NEventReportRsp | NGetRsp | NSetRsp | NActionRsp | NCreateRsp | NDeleteRsp;
export type DimseMessage = DimseRequest | DimseResponse;

/** The message of a given type, e.g. `MessageOfType<'C-STORE-RQ'>` is `CStoreRq`. */
export type MessageOfType<T extends DimseMessageType> = Extract<DimseMessage, { type: T }>;

/** Whether a message of a type carries a data set (PS3.7 message tables: M, -, or conditional/user option). */
export type DataSetPresence = 'always' | 'never' | 'optional';

export interface MessageSpec {
  commandField: number;
  /** Fields the message table marks M (or "required by the DIMSE protocol"). */
  required: readonly CommandFieldName[];
  /** Fields marked U or C. */
  optional: readonly CommandFieldName[];
  dataSet: DataSetPresence;
}

const RESPONSE_OPTIONAL: readonly CommandFieldName[] = [
  'affectedSopClassUid', 'affectedSopInstanceUid', 'errorComment', 'offendingElement', 'errorId', 'attributeIdentifierList',
];
const RESPONSE_REQUIRED: readonly CommandFieldName[] = ['messageIdBeingRespondedTo', 'status'];
const SUB_OPERATIONS: readonly CommandFieldName[] = [
  'numberOfRemainingSuboperations', 'numberOfCompletedSuboperations', 'numberOfFailedSuboperations', 'numberOfWarningSuboperations',
];

function response(type: DimseMessageType, dataSet: DataSetPresence, extra: readonly CommandFieldName[] = []): MessageSpec {
  return { commandField: CommandField[type], required: RESPONSE_REQUIRED, optional: [...RESPONSE_OPTIONAL, ...extra], dataSet };
}
function request(type: DimseMessageType, required: readonly CommandFieldName[], dataSet: DataSetPresence, optional: readonly CommandFieldName[] = []): MessageSpec {
  return { commandField: CommandField[type], required: ['messageId', ...required], optional, dataSet };
}

export const MESSAGE_SPECS: Readonly<Record<DimseMessageType, MessageSpec>> = {
  'C-STORE-RQ': request('C-STORE-RQ', ['affectedSopClassUid', 'affectedSopInstanceUid', 'priority'], 'always', ['moveOriginatorApplicationEntityTitle', 'moveOriginatorMessageId']),
  'C-STORE-RSP': response('C-STORE-RSP', 'never'),
  'C-FIND-RQ': request('C-FIND-RQ', ['affectedSopClassUid', 'priority'], 'always'),
  'C-FIND-RSP': response('C-FIND-RSP', 'optional'),
  'C-GET-RQ': request('C-GET-RQ', ['affectedSopClassUid', 'priority'], 'always'),
  'C-GET-RSP': response('C-GET-RSP', 'optional', SUB_OPERATIONS),
  'C-MOVE-RQ': request('C-MOVE-RQ', ['affectedSopClassUid', 'priority', 'moveDestination'], 'always'),
  'C-MOVE-RSP': response('C-MOVE-RSP', 'optional', SUB_OPERATIONS),
  'C-ECHO-RQ': request('C-ECHO-RQ', ['affectedSopClassUid'], 'never'),
  'C-ECHO-RSP': response('C-ECHO-RSP', 'never'),
  'C-CANCEL-RQ': { commandField: CommandField['C-CANCEL-RQ'], required: ['messageIdBeingRespondedTo'], optional: [], dataSet: 'never' },
  'N-EVENT-REPORT-RQ': request('N-EVENT-REPORT-RQ', ['affectedSopClassUid', 'affectedSopInstanceUid', 'eventTypeId'], 'optional'),
  'N-EVENT-REPORT-RSP': response('N-EVENT-REPORT-RSP', 'optional', ['eventTypeId']),
  'N-GET-RQ': request('N-GET-RQ', ['requestedSopClassUid', 'requestedSopInstanceUid'], 'never', ['attributeIdentifierList']),
  'N-GET-RSP': response('N-GET-RSP', 'optional'),
  'N-SET-RQ': request('N-SET-RQ', ['requestedSopClassUid', 'requestedSopInstanceUid'], 'always'),
  'N-SET-RSP': response('N-SET-RSP', 'optional'),
  'N-ACTION-RQ': request('N-ACTION-RQ', ['requestedSopClassUid', 'requestedSopInstanceUid', 'actionTypeId'], 'optional'),
  'N-ACTION-RSP': response('N-ACTION-RSP', 'optional', ['actionTypeId']),
  'N-CREATE-RQ': request('N-CREATE-RQ', ['affectedSopClassUid'], 'optional', ['affectedSopInstanceUid']),
  'N-CREATE-RSP': response('N-CREATE-RSP', 'optional'),
  'N-DELETE-RQ': request('N-DELETE-RQ', ['requestedSopClassUid', 'requestedSopInstanceUid'], 'never'),
  'N-DELETE-RSP': response('N-DELETE-RSP', 'never'),
};

/** The response type answering a request type (none for C-CANCEL-RQ). */
export function responseTypeOf(type: DimseRequest['type']): DimseResponse['type'] | undefined {
  if (type === 'C-CANCEL-RQ') return undefined;
  return type.replace(/-RQ$/, '-RSP') as DimseResponse['type'];
}

/** The DIMSE service of a message type, e.g. 'C-STORE' for C-STORE-RQ and C-STORE-RSP. */
export type DimseService =
  | 'C-STORE' | 'C-FIND' | 'C-GET' | 'C-MOVE' | 'C-ECHO' | 'C-CANCEL'
  | 'N-EVENT-REPORT' | 'N-GET' | 'N-SET' | 'N-ACTION' | 'N-CREATE' | 'N-DELETE';

export function serviceOf(type: DimseMessageType): DimseService {
  // Once per response received (DimseStatus): a slice, not a regular expression.
  return type.slice(0, type.length - (type.endsWith('-RSP') ? 4 : type.endsWith('-RQ') ? 3 : 0)) as DimseService;
}

export function isRequest(message: DimseMessage): message is DimseRequest {
  return message.type.endsWith('-RQ');
}
export function isResponse(message: DimseMessage): message is DimseResponse {
  return message.type.endsWith('-RSP');
}
