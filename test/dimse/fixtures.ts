/**
 * Messages built in code for the DIMSE tests: for every message type, one with every field the
 * message table allows, and one with only the required ones.
 */
import type { DimseMessageType } from '../../src/dimse/command-elements.js';
import { Priority } from '../../src/dimse/command-elements.js';
import type { DimseMessage } from '../../src/dimse/messages.js';

const CT = '1.2.840.10008.5.1.4.1.1.2';
const INSTANCE = '1.2.826.0.1.3680043.8.498.1234567890.1';
const STUDY_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.2.1';
const STUDY_ROOT_MOVE = '1.2.840.10008.5.1.4.1.2.2.2';
const STUDY_ROOT_GET = '1.2.840.10008.5.1.4.1.2.2.3';
const VERIFICATION = '1.2.840.10008.1.1';
const COMMITMENT = '1.2.840.10008.1.20.1';
const COMMITMENT_INSTANCE = '1.2.840.10008.1.20.1.1';
const MPPS = '1.2.840.10008.3.1.2.3.3';

const detail = {
  errorComment: 'disk full',
  offendingElement: [0x00100010, 0x00100020],
  errorId: 17,
  attributeIdentifierList: [0x00080018],
  affectedSopClassUid: CT,
  affectedSopInstanceUid: INSTANCE,
};
const counts = {
  numberOfRemainingSuboperations: 3,
  numberOfCompletedSuboperations: 10,
  numberOfFailedSuboperations: 1,
  numberOfWarningSuboperations: 2,
};

/** Every field filled. */
export const FULL_MESSAGES: Record<DimseMessageType, DimseMessage> = {
  'C-STORE-RQ': { type: 'C-STORE-RQ', messageId: 1, affectedSopClassUid: CT, affectedSopInstanceUid: INSTANCE, priority: Priority.HIGH, moveOriginatorApplicationEntityTitle: 'MOVESCU', moveOriginatorMessageId: 99 },
  'C-STORE-RSP': { type: 'C-STORE-RSP', messageIdBeingRespondedTo: 1, status: 0xb000, ...detail },
  'C-FIND-RQ': { type: 'C-FIND-RQ', messageId: 2, affectedSopClassUid: STUDY_ROOT_FIND, priority: Priority.LOW },
  'C-FIND-RSP': { type: 'C-FIND-RSP', messageIdBeingRespondedTo: 2, status: 0xff00, commandDataSetType: 0x0001, ...detail, affectedSopClassUid: STUDY_ROOT_FIND },
  'C-GET-RQ': { type: 'C-GET-RQ', messageId: 3, affectedSopClassUid: STUDY_ROOT_GET, priority: Priority.MEDIUM },
  'C-GET-RSP': { type: 'C-GET-RSP', messageIdBeingRespondedTo: 3, status: 0xff00, ...counts, ...detail },
  'C-MOVE-RQ': { type: 'C-MOVE-RQ', messageId: 4, affectedSopClassUid: STUDY_ROOT_MOVE, priority: Priority.MEDIUM, moveDestination: 'STORESCP' },
  'C-MOVE-RSP': { type: 'C-MOVE-RSP', messageIdBeingRespondedTo: 4, status: 0xb000, ...counts, ...detail, commandDataSetType: 0x0001 },
  'C-ECHO-RQ': { type: 'C-ECHO-RQ', messageId: 5, affectedSopClassUid: VERIFICATION },
  'C-ECHO-RSP': { type: 'C-ECHO-RSP', messageIdBeingRespondedTo: 5, status: 0x0000, affectedSopClassUid: VERIFICATION },
  'C-CANCEL-RQ': { type: 'C-CANCEL-RQ', messageIdBeingRespondedTo: 2 },
  'N-EVENT-REPORT-RQ': { type: 'N-EVENT-REPORT-RQ', messageId: 6, affectedSopClassUid: COMMITMENT, affectedSopInstanceUid: COMMITMENT_INSTANCE, eventTypeId: 1, commandDataSetType: 0x0001 },
  'N-EVENT-REPORT-RSP': { type: 'N-EVENT-REPORT-RSP', messageIdBeingRespondedTo: 6, status: 0, eventTypeId: 1, ...detail },
  'N-GET-RQ': { type: 'N-GET-RQ', messageId: 7, requestedSopClassUid: MPPS, requestedSopInstanceUid: INSTANCE, attributeIdentifierList: [0x00400252, 0x00400270] },
  'N-GET-RSP': { type: 'N-GET-RSP', messageIdBeingRespondedTo: 7, status: 0x0107, commandDataSetType: 0x0001, ...detail },
  'N-SET-RQ': { type: 'N-SET-RQ', messageId: 8, requestedSopClassUid: MPPS, requestedSopInstanceUid: INSTANCE },
  'N-SET-RSP': { type: 'N-SET-RSP', messageIdBeingRespondedTo: 8, status: 0x0106, ...detail },
  'N-ACTION-RQ': { type: 'N-ACTION-RQ', messageId: 9, requestedSopClassUid: COMMITMENT, requestedSopInstanceUid: COMMITMENT_INSTANCE, actionTypeId: 1, commandDataSetType: 0x0001 },
  'N-ACTION-RSP': { type: 'N-ACTION-RSP', messageIdBeingRespondedTo: 9, status: 0x0114, actionTypeId: 1, ...detail },
  'N-CREATE-RQ': { type: 'N-CREATE-RQ', messageId: 10, affectedSopClassUid: MPPS, affectedSopInstanceUid: INSTANCE, commandDataSetType: 0x0001 },
  'N-CREATE-RSP': { type: 'N-CREATE-RSP', messageIdBeingRespondedTo: 10, status: 0x0000, ...detail, affectedSopClassUid: MPPS },
  'N-DELETE-RQ': { type: 'N-DELETE-RQ', messageId: 65535, requestedSopClassUid: MPPS, requestedSopInstanceUid: INSTANCE },
  'N-DELETE-RSP': { type: 'N-DELETE-RSP', messageIdBeingRespondedTo: 65535, status: 0x0112, ...detail },
};

/** Only the fields the message tables require. */
export const MINIMAL_MESSAGES: Record<DimseMessageType, DimseMessage> = {
  'C-STORE-RQ': { type: 'C-STORE-RQ', messageId: 1, affectedSopClassUid: CT, affectedSopInstanceUid: INSTANCE, priority: Priority.MEDIUM },
  'C-STORE-RSP': { type: 'C-STORE-RSP', messageIdBeingRespondedTo: 1, status: 0 },
  'C-FIND-RQ': { type: 'C-FIND-RQ', messageId: 2, affectedSopClassUid: STUDY_ROOT_FIND, priority: Priority.MEDIUM },
  'C-FIND-RSP': { type: 'C-FIND-RSP', messageIdBeingRespondedTo: 2, status: 0 },
  'C-GET-RQ': { type: 'C-GET-RQ', messageId: 3, affectedSopClassUid: STUDY_ROOT_GET, priority: Priority.MEDIUM },
  'C-GET-RSP': { type: 'C-GET-RSP', messageIdBeingRespondedTo: 3, status: 0 },
  'C-MOVE-RQ': { type: 'C-MOVE-RQ', messageId: 4, affectedSopClassUid: STUDY_ROOT_MOVE, priority: Priority.MEDIUM, moveDestination: 'A' },
  'C-MOVE-RSP': { type: 'C-MOVE-RSP', messageIdBeingRespondedTo: 4, status: 0 },
  'C-ECHO-RQ': { type: 'C-ECHO-RQ', messageId: 5, affectedSopClassUid: VERIFICATION },
  'C-ECHO-RSP': { type: 'C-ECHO-RSP', messageIdBeingRespondedTo: 5, status: 0 },
  'C-CANCEL-RQ': { type: 'C-CANCEL-RQ', messageIdBeingRespondedTo: 2 },
  'N-EVENT-REPORT-RQ': { type: 'N-EVENT-REPORT-RQ', messageId: 6, affectedSopClassUid: COMMITMENT, affectedSopInstanceUid: COMMITMENT_INSTANCE, eventTypeId: 2 },
  'N-EVENT-REPORT-RSP': { type: 'N-EVENT-REPORT-RSP', messageIdBeingRespondedTo: 6, status: 0 },
  'N-GET-RQ': { type: 'N-GET-RQ', messageId: 7, requestedSopClassUid: MPPS, requestedSopInstanceUid: INSTANCE },
  'N-GET-RSP': { type: 'N-GET-RSP', messageIdBeingRespondedTo: 7, status: 0 },
  'N-SET-RQ': { type: 'N-SET-RQ', messageId: 8, requestedSopClassUid: MPPS, requestedSopInstanceUid: INSTANCE },
  'N-SET-RSP': { type: 'N-SET-RSP', messageIdBeingRespondedTo: 8, status: 0 },
  'N-ACTION-RQ': { type: 'N-ACTION-RQ', messageId: 9, requestedSopClassUid: COMMITMENT, requestedSopInstanceUid: COMMITMENT_INSTANCE, actionTypeId: 1 },
  'N-ACTION-RSP': { type: 'N-ACTION-RSP', messageIdBeingRespondedTo: 9, status: 0 },
  'N-CREATE-RQ': { type: 'N-CREATE-RQ', messageId: 10, affectedSopClassUid: MPPS },
  'N-CREATE-RSP': { type: 'N-CREATE-RSP', messageIdBeingRespondedTo: 10, status: 0 },
  'N-DELETE-RQ': { type: 'N-DELETE-RQ', messageId: 11, requestedSopClassUid: MPPS, requestedSopInstanceUid: INSTANCE },
  'N-DELETE-RSP': { type: 'N-DELETE-RSP', messageIdBeingRespondedTo: 11, status: 0 },
};

/** Little-endian helpers for building command sets byte by byte. */
export function element(group: number, elementNumber: number, value: Uint8Array): number[] {
  const len = value.length;
  return [group & 0xff, group >> 8, elementNumber & 0xff, elementNumber >> 8, len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, len >>> 24, ...value];
}
export const us = (n: number): Uint8Array => new Uint8Array([n & 0xff, n >> 8]);
export const ul = (n: number): Uint8Array => new Uint8Array([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24]);
export function text(s: string, pad: number): Uint8Array {
  const b = [...Buffer.from(s, 'latin1')];
  if (b.length % 2) b.push(pad);
  return new Uint8Array(b);
}
/** A command set from elements given in order, with the group length computed. */
export function commandBytes(...elements: number[][]): Uint8Array {
  const body = elements.flat();
  return new Uint8Array([...element(0, 0, ul(body.length)), ...body]);
}
