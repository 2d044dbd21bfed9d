/**
 * The command elements (PS3.7 Annex E, Table E.1-1) and the values of Command Field, Priority and
 * Command Data Set Type that the message tables of PS3.7 §9.3 and §10.3 assign.
 */
import type { VR } from '../data/vr.js';

/** Command element tags, group 0000 (PS3.7 Table E.1-1). */
export const CommandTag = {
  CommandGroupLength: 0x00000000,
  AffectedSOPClassUID: 0x00000002,
  RequestedSOPClassUID: 0x00000003,
  CommandField: 0x00000100,
  MessageID: 0x00000110,
  MessageIDBeingRespondedTo: 0x00000120,
  MoveDestination: 0x00000600,
  Priority: 0x00000700,
  CommandDataSetType: 0x00000800,
  Status: 0x00000900,
  OffendingElement: 0x00000901,
  ErrorComment: 0x00000902,
  ErrorID: 0x00000903,
  AffectedSOPInstanceUID: 0x00001000,
  RequestedSOPInstanceUID: 0x00001001,
  EventTypeID: 0x00001002,
  AttributeIdentifierList: 0x00001005,
  ActionTypeID: 0x00001008,
  NumberOfRemainingSuboperations: 0x00001020,
  NumberOfCompletedSuboperations: 0x00001021,
  NumberOfFailedSuboperations: 0x00001022,
  NumberOfWarningSuboperations: 0x00001023,
  MoveOriginatorApplicationEntityTitle: 0x00001030,
  MoveOriginatorMessageID: 0x00001031,
} as const;

/**
 * The message fields a typed message carries: property name (the standard's keyword in
 * TypeScript casing), tag and VR (PS3.7 Table E.1-1). Command Field, Command Group Length and
 * Command Data Set Type are handled by the codec itself.
 */
export const COMMAND_FIELDS = {
  affectedSopClassUid: { tag: CommandTag.AffectedSOPClassUID, vr: 'UI' },
  requestedSopClassUid: { tag: CommandTag.RequestedSOPClassUID, vr: 'UI' },
  messageId: { tag: CommandTag.MessageID, vr: 'US' },
  messageIdBeingRespondedTo: { tag: CommandTag.MessageIDBeingRespondedTo, vr: 'US' },
  moveDestination: { tag: CommandTag.MoveDestination, vr: 'AE' },
  priority: { tag: CommandTag.Priority, vr: 'US' },
  status: { tag: CommandTag.Status, vr: 'US' },
  offendingElement: { tag: CommandTag.OffendingElement, vr: 'AT' },
  errorComment: { tag: CommandTag.ErrorComment, vr: 'LO' },
  errorId: { tag: CommandTag.ErrorID, vr: 'US' },
  affectedSopInstanceUid: { tag: CommandTag.AffectedSOPInstanceUID, vr: 'UI' },
  requestedSopInstanceUid: { tag: CommandTag.RequestedSOPInstanceUID, vr: 'UI' },
  eventTypeId: { tag: CommandTag.EventTypeID, vr: 'US' },
  attributeIdentifierList: { tag: CommandTag.AttributeIdentifierList, vr: 'AT' },
  actionTypeId: { tag: CommandTag.ActionTypeID, vr: 'US' },
  numberOfRemainingSuboperations: { tag: CommandTag.NumberOfRemainingSuboperations, vr: 'US' },
  numberOfCompletedSuboperations: { tag: CommandTag.NumberOfCompletedSuboperations, vr: 'US' },
  numberOfFailedSuboperations: { tag: CommandTag.NumberOfFailedSuboperations, vr: 'US' },
  numberOfWarningSuboperations: { tag: CommandTag.NumberOfWarningSuboperations, vr: 'US' },
  moveOriginatorApplicationEntityTitle: { tag: CommandTag.MoveOriginatorApplicationEntityTitle, vr: 'AE' },
  moveOriginatorMessageId: { tag: CommandTag.MoveOriginatorMessageID, vr: 'US' },
} as const satisfies Record<string, { tag: number; vr: VR }>;

export type CommandFieldName = keyof typeof COMMAND_FIELDS;

/** Command Field (0000,0100) values (PS3.7 §9.3 and §10.3, each message's table). */
export const CommandField = {
  'C-STORE-RQ': 0x0001,
  'C-STORE-RSP': 0x8001,
  'C-GET-RQ': 0x0010,
  'C-GET-RSP': 0x8010,
  'C-FIND-RQ': 0x0020,
  'C-FIND-RSP': 0x8020,
  'C-MOVE-RQ': 0x0021,
  'C-MOVE-RSP': 0x8021,
  'C-ECHO-RQ': 0x0030,
  'C-ECHO-RSP': 0x8030,
  'N-EVENT-REPORT-RQ': 0x0100,
  'N-EVENT-REPORT-RSP': 0x8100,
  'N-GET-RQ': 0x0110,
  'N-GET-RSP': 0x8110,
  'N-SET-RQ': 0x0120,
  'N-SET-RSP': 0x8120,
  'N-ACTION-RQ': 0x0130,
  'N-ACTION-RSP': 0x8130,
  'N-CREATE-RQ': 0x0140,
  'N-CREATE-RSP': 0x8140,
  'N-DELETE-RQ': 0x0150,
  'N-DELETE-RSP': 0x8150,
  'C-CANCEL-RQ': 0x0fff,
} as const;

export type DimseMessageType = keyof typeof CommandField;

const TYPE_BY_FIELD = new Map<number, DimseMessageType>(
  (Object.entries(CommandField) as Array<[DimseMessageType, number]>).map(([type, value]) => [value, type]),
);

/** The message type of a Command Field value, or undefined when PS3.7 defines none. */
export function messageTypeOf(commandField: number): DimseMessageType | undefined {
  return TYPE_BY_FIELD.get(commandField);
}

/** Responses have bit 15 of the Command Field set; C-CANCEL-RQ (0FFF) is a request without a response. */
export function isResponseCommandField(commandField: number): boolean {
  return (commandField & 0x8000) !== 0;
}

/** Priority (0000,0700) (PS3.7 §9.3.1.1, Table 9.3-1). */
export const Priority = {
  LOW: 0x0002,
  MEDIUM: 0x0000,
  HIGH: 0x0001,
} as const;
export type Priority = (typeof Priority)[keyof typeof Priority];

/**
 * Command Data Set Type (0000,0800): 0101H means no data set; any other value means one follows
 * (PS3.7 Table E.1-1). Conduit sends 0001H for "present" and accepts any other value.
 */
export const NO_DATA_SET = 0x0101;
export const DATA_SET_PRESENT = 0x0001;
