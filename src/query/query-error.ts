/**
 * The error a query parser raises: a DicomError that also carries what the C-FIND SCP answers
 * (status and Offending Element, PS3.4 Table C.4-1, PS3.7 Annex C) and what QIDO-RS answers (an
 * HTTP status, PS3.18 §8.6). The query layer cannot import dimse/, so the statuses are numbers
 * here; the dispatcher turns the error into a ServiceError.
 */
import { DicomError, type DicomErrorCode } from '../core/dicom-error.js';
import type { Tag } from '../data/tag.js';

/** The C-FIND failure statuses of PS3.4 Table C.4-1 that a query can cause. */
export const QueryStatus = Object.freeze({
  /** A900 "Identifier does not match SOP Class". */
  IdentifierDoesNotMatchSOPClass: 0xa900,
  /** C000 "Unable to process" (Cxxx). */
  UnableToProcess: 0xc000,
});

export interface QueryErrorDetails {
  /** Offending Element (0000,0901): the attributes at fault, outermost first for sequence paths. */
  offendingElements?: readonly Tag[];
  status?: number;
  httpStatus?: number;
  cause?: unknown;
}

export class QueryError extends DicomError {
  /** The C-FIND response status (PS3.4 Table C.4-1). */
  readonly status: number;
  /** The QIDO-RS response status. */
  readonly httpStatus: number;
  readonly offendingElements: readonly Tag[];

  constructor(code: Extract<DicomErrorCode, `ERR_DICOM_QUERY_${string}`>, message: string, details: QueryErrorDetails = {}) {
    const offending = details.offendingElements ?? [];
    super(code, message, { ...(offending.length ? { tag: offending[offending.length - 1]! } : {}), ...(details.cause !== undefined ? { cause: details.cause } : {}) });
    this.name = 'QueryError';
    this.status = details.status ?? QueryStatus.IdentifierDoesNotMatchSOPClass;
    this.httpStatus = details.httpStatus ?? 400;
    this.offendingElements = Object.freeze([...offending]);
  }
}
