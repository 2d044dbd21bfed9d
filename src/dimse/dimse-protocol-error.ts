/**
 * A DIMSE protocol error carries what goes on the wire in answer (conventions: "Protocol errors
 * carry what goes on the wire"): either an A-ABORT, or a response message that keeps the
 * association usable.
 */
import { DicomError, type DicomErrorCode, type DicomErrorDetails } from '../core/dicom-error.js';

/**
 * The A-ABORT PDU's Source and Reason/Diag. fields (PS3.8 §9.3.8, Table 9-26). Reason is only
 * significant for source 2 (DICOM UL service-provider): 0 not specified, 1 unrecognized PDU,
 * 2 unexpected PDU, 4 unrecognized PDU parameter, 5 unexpected PDU parameter, 6 invalid PDU
 * parameter value.
 */
export interface AAbortParameters {
  source: 0 | 2;
  reason: 0 | 1 | 2 | 4 | 5 | 6;
}

/**
 * Errors in how PDVs are put together (PS3.8 Annex E.1) are errors in the P-DATA-TF parameters:
 * a fragment where none may come is an unexpected PDU parameter, a value that cannot be right is an
 * invalid one. A command set that cannot be read is treated alike, as nothing sensible can be
 * answered.
 */
export const ABORT_UNEXPECTED_PDV: AAbortParameters = { source: 2, reason: 5 };
export const ABORT_INVALID_PDV: AAbortParameters = { source: 2, reason: 6 };

export type DimseAnswer =
  /** Abort the association with these parameters. */
  | { kind: 'abort'; abort: AAbortParameters }
  /** Send this command set (no data set) on the message's presentation context, and go on. */
  | { kind: 'response'; command: Uint8Array; status: number };

export class DimseProtocolError extends DicomError {
  readonly answer: DimseAnswer;

  constructor(code: DicomErrorCode, message: string, answer: DimseAnswer, details: DicomErrorDetails = {}) {
    super(code, message, details);
    this.name = 'DimseProtocolError';
    this.answer = answer;
  }

  /** True when the answer is an A-ABORT: the association cannot go on. */
  get fatal(): boolean {
    return this.answer.kind === 'abort';
  }
}

export function abortAnswer(abort: AAbortParameters): DimseAnswer {
  return { kind: 'abort', abort };
}
