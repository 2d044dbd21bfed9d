/**
 * DIMSE statuses (0000,0900): their classes (PS3.7 Annex C) and the meanings PS3.7 Annex C and
 * the service classes of PS3.4 give them.
 */
import type { DimseService } from './messages.js';

/** The Status Classes of PS3.7 Annex C. */
export type StatusCategory = 'Success' | 'Warning' | 'Failure' | 'Cancel' | 'Pending';

/**
 * The class of a status code (PS3.7 Annex C, first table): Success 0000; Warning 0001, Bxxx,
 * 0107, 0116; Failure Axxx, Cxxx, 01xx (except 0107 and 0116), 02xx; Cancel FE00; Pending FF00
 * and FF01. Annex C forbids any other value; one received anyway is taken as a Failure, so that an
 * SCU never mistakes it for success.
 */
export function statusCategory(code: number): StatusCategory {
  if (code === 0x0000) return 'Success';
  if (code === 0xff00 || code === 0xff01) return 'Pending';
  if (code === 0xfe00) return 'Cancel';
  if (code === 0x0001 || code === 0x0107 || code === 0x0116 || (code & 0xf000) === 0xb000) return 'Warning';
  return 'Failure';
}

/** Whether a code belongs to one of the ranges of PS3.7 Annex C (anything else is classed Failure). */
export function isDefinedStatus(code: number): boolean {
  const high = code & 0xf000;
  return code === 0x0000 || code === 0x0001 || code === 0xfe00 || code === 0xff00 || code === 0xff01
    || high === 0xa000 || high === 0xb000 || high === 0xc000 || (code & 0xff00) === 0x0100 || (code & 0xff00) === 0x0200;
}

export const isSuccess = (code: number): boolean => statusCategory(code) === 'Success';
export const isWarning = (code: number): boolean => statusCategory(code) === 'Warning';
export const isFailure = (code: number): boolean => statusCategory(code) === 'Failure';
export const isCancel = (code: number): boolean => statusCategory(code) === 'Cancel';
export const isPending = (code: number): boolean => statusCategory(code) === 'Pending';
/** Success or Warning: the operation was performed (PS3.7 Annex C.1, C.4). */
export const isCompleted = (code: number): boolean => code === 0x0000 || statusCategory(code) === 'Warning';

/**
 * Named status codes. General ones from PS3.7 Annex C; service-specific ones from PS3.4, where a
 * range such as A7xx is named by its first code (see STATUS_MEANINGS for the ranges).
 */
export const Status = {
  // PS3.7 Annex C
  Success: 0x0000,
  Warning: 0x0001,
  AttributeListError: 0x0107,
  AttributeValueOutOfRange: 0x0116,
  NoSuchAttribute: 0x0105,
  InvalidAttributeValue: 0x0106,
  ProcessingFailure: 0x0110,
  DuplicateSOPInstance: 0x0111,
  NoSuchSOPInstance: 0x0112,
  NoSuchEventType: 0x0113,
  NoSuchArgument: 0x0114,
  InvalidArgumentValue: 0x0115,
  InvalidObjectInstance: 0x0117,
  NoSuchSOPClass: 0x0118,
  ClassInstanceConflict: 0x0119,
  MissingAttribute: 0x0120,
  MissingAttributeValue: 0x0121,
  RefusedSOPClassNotSupported: 0x0122,
  NoSuchActionType: 0x0123,
  RefusedNotAuthorized: 0x0124,
  DuplicateInvocation: 0x0210,
  UnrecognizedOperation: 0x0211,
  MistypedArgument: 0x0212,
  ResourceLimitation: 0x0213,
  Cancel: 0xfe00,
  Pending: 0xff00,
  PendingWarning: 0xff01,
  // PS3.4 B.2.3 (Storage)
  RefusedOutOfResources: 0xa700,
  ErrorDataSetDoesNotMatchSOPClass: 0xa900,
  ErrorCannotUnderstand: 0xc000,
  WarningCoercionOfDataElements: 0xb000,
  WarningElementsDiscarded: 0xb006,
  WarningDataSetDoesNotMatchSOPClass: 0xb007,
  // PS3.4 C.4.1.1.4, C.4.2.1.5, C.4.3.1.4 (Query/Retrieve)
  IdentifierDoesNotMatchSOPClass: 0xa900,
  UnableToProcess: 0xc000,
  RefusedOutOfResourcesNumberOfMatches: 0xa701,
  RefusedOutOfResourcesSubOperations: 0xa702,
  RefusedMoveDestinationUnknown: 0xa801,
  SubOperationsCompleteOneOrMoreFailures: 0xb000,
} as const;

export interface StatusMeaning {
  /** The code, or the first code of the range. */
  code: number;
  /** Bits that must match `code` (0xFFFF for one value, 0xFF00 for a range like A7xx, 0xF000 for Cxxx). */
  mask: number;
  meaning: string;
}

const exact = (code: number, meaning: string): StatusMeaning => ({ code, mask: 0xffff, meaning });
const range = (code: number, mask: number, meaning: string): StatusMeaning => ({ code, mask, meaning });

/** PS3.7 Annex C: meanings shared by every DIMSE service. */
const GENERAL: readonly StatusMeaning[] = [
  exact(0x0000, 'Success'),
  exact(0x0001, 'Warning'),
  exact(0x0107, 'Warning: Attribute list error'),
  exact(0x0116, 'Warning: Attribute Value out of range'),
  exact(0x0105, 'No such Attribute'),
  exact(0x0106, 'Invalid Attribute value'),
  exact(0x0110, 'Processing failure'),
  exact(0x0111, 'Duplicate SOP Instance'),
  exact(0x0112, 'No such SOP Instance'),
  exact(0x0113, 'No such Event Type'),
  exact(0x0114, 'No such argument'),
  exact(0x0115, 'Invalid argument value'),
  exact(0x0117, 'Invalid object instance'),
  exact(0x0118, 'No such SOP Class'),
  exact(0x0119, 'Class-instance conflict'),
  exact(0x0120, 'Missing Attribute'),
  exact(0x0121, 'Missing Attribute value'),
  exact(0x0122, 'Refused: SOP Class not supported'),
  exact(0x0123, 'No such action'),
  exact(0x0124, 'Refused: Not authorized'),
  exact(0x0210, 'Duplicate invocation'),
  exact(0x0211, 'Unrecognized operation'),
  exact(0x0212, 'Mistyped argument'),
  exact(0x0213, 'Resource limitation'),
  exact(0xfe00, 'Cancel'),
  exact(0xff00, 'Pending'),
  exact(0xff01, 'Pending'),
];

const RETRIEVE_COMMON: readonly StatusMeaning[] = [
  exact(0x0000, 'Success: Sub-operations complete - no failures'),
  exact(0xa701, 'Refused: Out of Resources - unable to calculate number of matches'),
  exact(0xa702, 'Refused: Out of Resources - unable to perform sub-operations'),
  range(0xa900, 0xff00, 'Failed: Identifier does not match SOP Class'),
  range(0xc000, 0xf000, 'Failed: Unable to process'),
  exact(0xfe00, 'Cancel: Sub-operations terminated due to Cancel indication'),
  exact(0xb000, 'Warning: Sub-operations complete - one or more failures'),
  exact(0xff00, 'Pending: Sub-operations are continuing'),
];

/** Meanings a service class of PS3.4 gives, looked up before the general ones. */
export const STATUS_MEANINGS: Readonly<Partial<Record<DimseService, readonly StatusMeaning[]>>> = {
  // PS3.4 B.2.3, Table B.2-1
  'C-STORE': [
    range(0xa700, 0xff00, 'Refused: Out of Resources'),
    range(0xa900, 0xff00, 'Error: Data Set does not match SOP Class'),
    range(0xc000, 0xf000, 'Error: Cannot understand'),
    exact(0xb000, 'Warning: Coercion of Data Elements'),
    exact(0xb007, 'Warning: Data Set does not match SOP Class'),
    exact(0xb006, 'Warning: Elements Discarded'),
  ],
  // PS3.4 C.4.1.1.4, Table C.4-1 (and K.4.1.1.4 for the Modality Worklist)
  'C-FIND': [
    range(0xa700, 0xff00, 'Refused: Out of Resources'),
    range(0xa900, 0xff00, 'Failed: Identifier does not match SOP Class'),
    range(0xc000, 0xf000, 'Failed: Unable to process'),
    exact(0xfe00, 'Cancel: Matching terminated due to Cancel request'),
    exact(0x0000, 'Success: Matching is complete - no final Identifier is supplied'),
    exact(0xff00, 'Pending: Matches are continuing - current match is supplied, Optional Keys supported as Required Keys'),
    exact(0xff01, 'Pending: Matches are continuing - one or more Optional Keys were not supported'),
  ],
  // PS3.4 C.4.2.1.5, Table C.4-2
  'C-MOVE': [exact(0xa801, 'Refused: Move Destination unknown'), ...RETRIEVE_COMMON],
  // PS3.4 C.4.3.1.4, Table C.4-3
  'C-GET': RETRIEVE_COMMON,
};

function find(list: readonly StatusMeaning[] | undefined, code: number): StatusMeaning | undefined {
  if (!list) return undefined;
  return list.find((m) => m.mask === 0xffff && m.code === code) ?? list.find((m) => (code & m.mask) === m.code);
}

/**
 * The meaning of a status: from the service's vocabulary, then PS3.7 Annex C, then its class.
 * Without a service, a service-specific meaning is used only when every service that defines the
 * code agrees on it (A700H is "Refused: Out of Resources" everywhere; B000H is not).
 */
export function statusMeaning(code: number, service?: DimseService): string {
  const m = service ? find(STATUS_MEANINGS[service], code) ?? find(GENERAL, code) : find(GENERAL, code) ?? unanimous(code);
  if (m) return m.meaning;
  const category = statusCategory(code);
  return isDefinedStatus(code) ? category : `${category} (a value PS3.7 Annex C does not define)`;
}

function unanimous(code: number): StatusMeaning | undefined {
  const found = Object.values(STATUS_MEANINGS).map((list) => find(list, code)).filter((m): m is StatusMeaning => m !== undefined);
  return found.length > 0 && found.every((m) => m.meaning === found[0]!.meaning) ? found[0] : undefined;
}

/** "A700H" */
export function formatStatus(code: number): string {
  return `${code.toString(16).toUpperCase().padStart(4, '0')}H`;
}
