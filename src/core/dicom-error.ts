/**
 * The one error type of Conduit. Every error carries a stable `code` (documented in docs/errors.md)
 * and, where it concerns bytes, the offset and tag where it happened.
 */
export type DicomErrorCode =
  | 'ERR_DICOM_TRUNCATED'
  | 'ERR_DICOM_BAD_LENGTH'
  | 'ERR_DICOM_BAD_VR'
  | 'ERR_DICOM_BAD_TAG'
  | 'ERR_DICOM_BAD_ITEM'
  | 'ERR_DICOM_NOT_DICOM'
  | 'ERR_DICOM_BAD_FILE_META'
  | 'ERR_DICOM_UNSUPPORTED_TRANSFER_SYNTAX'
  | 'ERR_DICOM_BAD_VALUE'
  | 'ERR_DICOM_CHARSET'
  | 'ERR_DICOM_JSON'
  | 'ERR_DICOM_XML'
  | 'ERR_DICOM_IO'
  | 'ERR_DICOM_INVALID_ARGUMENT';

export interface DicomErrorDetails {
  /** Byte offset in the input where the problem was found. */
  offset?: number;
  /** Tag (as a 32-bit number) of the element concerned. */
  tag?: number;
  cause?: unknown;
}

export class DicomError extends Error {
  readonly code: DicomErrorCode;
  readonly offset: number | undefined;
  readonly tag: number | undefined;

  constructor(code: DicomErrorCode, message: string, details: DicomErrorDetails = {}) {
    const where: string[] = [];
    if (details.tag !== undefined) where.push(`tag ${formatTagForError(details.tag)}`);
    if (details.offset !== undefined) where.push(`offset ${details.offset}`);
    super(where.length ? `${message} (${where.join(', ')})` : message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'DicomError';
    this.code = code;
    this.offset = details.offset;
    this.tag = details.tag;
  }
}

function formatTagForError(tag: number): string {
  const hex = (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}
