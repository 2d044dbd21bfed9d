/**
 * What an SCP handler throws to answer with a status other than success (conventions: "An SCP
 * handler throws a service error with a DICOM status (and Error Comment / Offending Element); the
 * dispatcher turns it into the response").
 */
import { DicomError } from '../core/dicom-error.js';
import type { DimseService, StatusDetail } from './messages.js';
import { formatStatus, Status, statusCategory, statusMeaning } from './status.js';

export interface ServiceErrorOptions extends StatusDetail {
  cause?: unknown;
}

/** The status and Annex C detail fields of a response (PS3.7 Annex C). */
export interface ResponseStatusFields extends StatusDetail {
  status: number;
}

export class ServiceError extends Error {
  readonly status: number;
  readonly errorComment: string | undefined;
  readonly offendingElement: number[] | undefined;
  readonly errorId: number | undefined;
  readonly attributeIdentifierList: number[] | undefined;

  /**
   * @param status a Warning, Failure or Cancel status (PS3.7 Annex C); Success and Pending are
   *   answers a handler returns, not throws.
   * @param errorComment sent as Error Comment (0000,0902): at most 64 characters, a longer one cut at
   *   a word boundary with "..." (dimse/error-comment.ts).
   */
  constructor(status: number, errorComment?: string, options: ServiceErrorOptions = {}) {
    const category = statusCategory(status);
    if (category === 'Success' || category === 'Pending' || !Number.isInteger(status) || status < 0 || status > 0xffff) {
      throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `a ServiceError needs a Warning, Failure or Cancel status, not ${formatStatus(status)}`);
    }
    super(`${formatStatus(status)} ${statusMeaning(status)}${errorComment ? `: ${errorComment}` : ''}`, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'ServiceError';
    this.status = status;
    this.errorComment = errorComment;
    this.offendingElement = options.offendingElement;
    this.errorId = options.errorId;
    this.attributeIdentifierList = options.attributeIdentifierList;
  }

  /**
   * The ServiceError to answer with for whatever a handler threw: a ServiceError as it is;
   * anything else becomes the service's generic failure (Processing failure 0110H, or "Unable to
   * process" C000H for C-FIND, C-GET and C-MOVE, whose PS3.4 tables do not list 0110H), with the
   * original kept as `cause`. Its message goes to the peer only when `exposeMessage` is set, since
   * it may name local paths.
   */
  static from(error: unknown, service: DimseService, options: { exposeMessage?: boolean } = {}): ServiceError {
    if (error instanceof ServiceError) return error;
    const status = service === 'C-FIND' || service === 'C-GET' || service === 'C-MOVE' ? Status.UnableToProcess : Status.ProcessingFailure;
    const comment = options.exposeMessage && error instanceof Error ? error.message : undefined;
    return new ServiceError(status, comment, { cause: error });
  }

  /** The fields to put in the response command. */
  responseFields(): ResponseStatusFields {
    const fields: ResponseStatusFields = { status: this.status };
    if (this.errorComment !== undefined && this.errorComment !== '') fields.errorComment = this.errorComment;
    if (this.offendingElement?.length) fields.offendingElement = this.offendingElement;
    if (this.errorId !== undefined) fields.errorId = this.errorId;
    if (this.attributeIdentifierList?.length) fields.attributeIdentifierList = this.attributeIdentifierList;
    return fields;
  }
}
