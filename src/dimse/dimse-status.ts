/**
 * The status of a DIMSE response as the SCU sees it: a value, not an exception (conventions,
 * "Errors and statuses"). A failure status is an answer the peer gave; Conduit raises errors only
 * when no answer came.
 */
import { formatTag } from '../data/tag.js';
import type { DimseResponse, DimseService, StatusDetail } from './messages.js';
import { serviceOf } from './messages.js';
import { formatStatus, statusCategory, statusMeaning, type StatusCategory } from './status.js';

export class DimseStatus {
  readonly code: number;
  readonly category: StatusCategory;
  /** The service whose vocabulary explains the code, when known. */
  readonly service: DimseService | undefined;
  readonly errorComment: string | undefined;
  readonly offendingElement: readonly number[] | undefined;
  readonly errorId: number | undefined;
  readonly attributeIdentifierList: readonly number[] | undefined;

  constructor(code: number, options: { service?: DimseService; detail?: StatusDetail } = {}) {
    this.code = code;
    this.category = statusCategory(code);
    this.service = options.service;
    const d = options.detail ?? {};
    this.errorComment = d.errorComment;
    this.offendingElement = d.offendingElement;
    this.errorId = d.errorId;
    this.attributeIdentifierList = d.attributeIdentifierList;
  }

  /** The status of a response, with its Annex C detail fields. */
  static fromResponse(response: DimseResponse): DimseStatus {
    return new DimseStatus(response.status, { service: serviceOf(response.type), detail: response });
  }

  get isSuccess(): boolean {
    return this.category === 'Success';
  }
  get isWarning(): boolean {
    return this.category === 'Warning';
  }
  get isFailure(): boolean {
    return this.category === 'Failure';
  }
  get isCancel(): boolean {
    return this.category === 'Cancel';
  }
  get isPending(): boolean {
    return this.category === 'Pending';
  }
  /** Success or Warning: the operation was performed. */
  get isCompleted(): boolean {
    return this.category === 'Success' || this.category === 'Warning';
  }

  /** The meaning of the code, e.g. "Refused: Out of Resources". */
  get meaning(): string {
    return statusMeaning(this.code, this.service);
  }

  /** e.g. "A700H Refused: Out of Resources (disk full; offending (0010,0010))" */
  get description(): string {
    const extra: string[] = [];
    if (this.errorComment) extra.push(this.errorComment);
    if (this.errorId !== undefined) extra.push(`error ID ${this.errorId}`);
    if (this.offendingElement?.length) extra.push(`offending ${this.offendingElement.map(formatTag).join(' ')}`);
    if (this.attributeIdentifierList?.length) extra.push(`attributes ${this.attributeIdentifierList.map(formatTag).join(' ')}`);
    return `${formatStatus(this.code)} ${this.meaning}${extra.length ? ` (${extra.join('; ')})` : ''}`;
  }

  toString(): string {
    return this.description;
  }
}
