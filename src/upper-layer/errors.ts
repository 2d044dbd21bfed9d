/**
 * The Upper Layer's errors. Each is a DicomError with a stable code (docs/errors.md, "Upper Layer")
 * and carries what goes, or went, on the wire: the A-ABORT source and reason a decode error calls
 * for, the A-ASSOCIATE-RJ result/source/reason a rejection carried.
 */
import { DicomError } from '../core/dicom-error.js';
import type { DicomErrorCode } from '../core/dicom-error.js';

/** PS3.8 §9.3.8, Table 9-26: A-ABORT Source. */
export const AbortSource = {
  ServiceUser: 0,
  Reserved: 1,
  ServiceProvider: 2,
} as const;
export type AbortSource = number;

/** PS3.8 §9.3.8, Table 9-26: A-ABORT Reason/Diag., significant when the source is the service-provider. */
export const AbortReason = {
  ReasonNotSpecified: 0,
  UnrecognizedPdu: 1,
  UnexpectedPdu: 2,
  UnrecognizedPduParameter: 4,
  UnexpectedPduParameter: 5,
  InvalidPduParameterValue: 6,
} as const;
export type AbortReason = number;

/** PS3.8 §9.3.4, Table 9-21: A-ASSOCIATE-RJ Result. */
export const RejectResult = {
  RejectedPermanent: 1,
  RejectedTransient: 2,
} as const;
export type RejectResult = number;

/** PS3.8 §9.3.4, Table 9-21: A-ASSOCIATE-RJ Source. */
export const RejectSource = {
  ServiceUser: 1,
  ServiceProviderAcse: 2,
  ServiceProviderPresentation: 3,
} as const;
export type RejectSource = number;

/** PS3.8 §9.3.4, Table 9-21: A-ASSOCIATE-RJ Reason/Diag., whose meaning depends on the source. */
export const RejectReason = {
  // source 1, DICOM UL service-user
  NoReasonGiven: 1,
  ApplicationContextNameNotSupported: 2,
  CallingAeTitleNotRecognized: 3,
  CalledAeTitleNotRecognized: 7,
  // source 2, DICOM UL service-provider (ACSE related function)
  ProviderNoReasonGiven: 1,
  ProtocolVersionNotSupported: 2,
  // source 3, DICOM UL service-provider (Presentation related function)
  TemporaryCongestion: 1,
  LocalLimitExceeded: 2,
} as const;
export type RejectReason = number;

const ABORT_REASON_CODES: Record<number, DicomErrorCode> = {
  [AbortReason.ReasonNotSpecified]: 'ERR_DICOM_PDU_INVALID_PARAMETER',
  [AbortReason.UnrecognizedPdu]: 'ERR_DICOM_PDU_UNRECOGNIZED',
  [AbortReason.UnexpectedPdu]: 'ERR_DICOM_PDU_UNEXPECTED',
  [AbortReason.UnrecognizedPduParameter]: 'ERR_DICOM_PDU_UNRECOGNIZED_PARAMETER',
  [AbortReason.UnexpectedPduParameter]: 'ERR_DICOM_PDU_UNEXPECTED_PARAMETER',
  [AbortReason.InvalidPduParameterValue]: 'ERR_DICOM_PDU_INVALID_PARAMETER',
};

/**
 * A PDU that cannot be accepted as received. `abortReason` is the A-ABORT reason the service-provider
 * sends for it (source 2), PS3.8 §9.3.8, Table 9-26.
 */
export class PduError extends DicomError {
  readonly abortReason: AbortReason;
  /** For an unrecognized PDU: the first bytes received in its place, which say what answered. */
  received: Uint8Array | undefined;

  constructor(abortReason: AbortReason, message: string, offset?: number, code?: DicomErrorCode) {
    super(code ?? ABORT_REASON_CODES[abortReason] ?? 'ERR_DICOM_PDU_INVALID_PARAMETER', message, offset === undefined ? {} : { offset });
    this.name = 'PduError';
    this.abortReason = abortReason;
  }
}

/** The peer answered A-ASSOCIATE-RQ with A-ASSOCIATE-RJ (PS3.8 §9.3.4). */
export class AssociationRejectedError extends DicomError {
  readonly result: RejectResult;
  readonly source: RejectSource;
  readonly reason: RejectReason;

  constructor(result: RejectResult, source: RejectSource, reason: RejectReason) {
    super('ERR_DICOM_ASSOCIATION_REJECTED', `association rejected: ${describeReject(result, source, reason)}`);
    this.name = 'AssociationRejectedError';
    this.result = result;
    this.source = source;
    this.reason = reason;
  }
}

/**
 * The association ended abnormally: an A-ABORT indication (the peer sent A-ABORT) or an A-P-ABORT
 * indication (this provider aborted on a protocol error and sent A-ABORT with `source` and `reason`).
 */
export class AssociationAbortedError extends DicomError {
  readonly source: AbortSource;
  readonly reason: AbortReason;
  /** 'received': the peer sent the A-ABORT PDU; 'sent': this end sent it. */
  readonly direction: 'received' | 'sent';

  constructor(source: AbortSource, reason: AbortReason, direction: 'received' | 'sent', cause?: unknown) {
    const who = direction === 'received' ? 'peer aborted the association' : 'association aborted';
    super('ERR_DICOM_ASSOCIATION_ABORTED', `${who}: ${describeAbort(source, reason)}`, cause === undefined ? {} : { cause });
    this.name = 'AssociationAbortedError';
    this.source = source;
    this.reason = reason;
    this.direction = direction;
  }
}

export function describeAbort(source: number, reason: number): string {
  const sources: Record<number, string> = { 0: 'service-user', 1: 'reserved', 2: 'service-provider' };
  const reasons: Record<number, string> = {
    0: 'reason-not-specified', 1: 'unrecognized-PDU', 2: 'unexpected-PDU', 4: 'unrecognized-PDU parameter',
    5: 'unexpected-PDU parameter', 6: 'invalid-PDU-parameter value',
  };
  const r = source === AbortSource.ServiceProvider ? `, ${reasons[reason] ?? `reason ${reason}`}` : '';
  return `source ${source} (${sources[source] ?? 'unknown'})${r}`;
}

export function describeReject(result: number, source: number, reason: number): string {
  const results: Record<number, string> = { 1: 'rejected-permanent', 2: 'rejected-transient' };
  const sources: Record<number, string> = {
    1: 'service-user', 2: 'service-provider (ACSE)', 3: 'service-provider (presentation)',
  };
  const reasons: Record<number, Record<number, string>> = {
    1: { 1: 'no-reason-given', 2: 'application-context-name-not-supported', 3: 'calling-AE-title-not-recognized', 7: 'called-AE-title-not-recognized' },
    2: { 1: 'no-reason-given', 2: 'protocol-version-not-supported' },
    3: { 1: 'temporary-congestion', 2: 'local-limit-exceeded' },
  };
  return `result ${result} (${results[result] ?? 'unknown'}), source ${source} (${sources[source] ?? 'unknown'}), ` +
    `reason ${reason} (${reasons[source]?.[reason] ?? 'reserved'})`;
}
