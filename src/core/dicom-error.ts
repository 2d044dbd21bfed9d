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
  | 'ERR_DICOM_INVALID_ARGUMENT'
  // DIMSE (PS3.7, and PS3.8 Annex E for message fragments): see docs/errors.md, "DIMSE"
  | 'ERR_DICOM_DIMSE_BAD_COMMAND'
  | 'ERR_DICOM_DIMSE_UNKNOWN_COMMAND'
  | 'ERR_DICOM_DIMSE_UNEXPECTED_PDV'
  | 'ERR_DICOM_DIMSE_CONTEXT_MISMATCH'
  | 'ERR_DICOM_DIMSE_COMMAND_TOO_LONG'
  | 'ERR_DICOM_DIMSE_ODD_LENGTH'
  | 'ERR_DICOM_DIMSE_DATA_SET_INCOMPLETE'
  | 'ERR_DICOM_DIMSE_MESSAGE_IDS_EXHAUSTED'
  | 'ERR_DICOM_DIMSE_CANCELLED'
  | 'ERR_DICOM_DIMSE_UNEXPECTED_RESPONSE'
  // Upper Layer (PS3.8): see docs/errors.md, "Upper Layer"
  | 'ERR_DICOM_PDU_UNRECOGNIZED'
  | 'ERR_DICOM_PDU_UNEXPECTED'
  | 'ERR_DICOM_PDU_UNRECOGNIZED_PARAMETER'
  | 'ERR_DICOM_PDU_UNEXPECTED_PARAMETER'
  | 'ERR_DICOM_PDU_INVALID_PARAMETER'
  | 'ERR_DICOM_PDU_TOO_LARGE'
  | 'ERR_DICOM_ASSOCIATION_REJECTED'
  | 'ERR_DICOM_SOP_CLASS_NOT_SUPPORTED'
  | 'ERR_DICOM_PRESENTATION_CONTEXT_REJECTED'
  | 'ERR_DICOM_USER_IDENTITY_NOT_CONFIRMED'
  | 'ERR_DICOM_ASSOCIATION_ABORTED'
  | 'ERR_DICOM_ASSOCIATION_CONNECTION_LOST'
  | 'ERR_DICOM_ASSOCIATION_TIMEOUT'
  | 'ERR_DICOM_ASSOCIATION_STATE'
  | 'ERR_DICOM_TRANSPORT'
  // Query (PS3.4 C.2.2, C.4.1; PS3.18 §8.3.4): see docs/errors.md, "Query"
  | 'ERR_DICOM_QUERY_LEVEL'
  | 'ERR_DICOM_QUERY_KEY_LEVEL'
  | 'ERR_DICOM_QUERY_UNIQUE_KEY'
  | 'ERR_DICOM_QUERY_BAD_VALUE'
  | 'ERR_DICOM_QUERY_NOT_NEGOTIATED'
  | 'ERR_DICOM_QUERY_PARAMETER'
  | 'ERR_DICOM_QUERY_UNABLE_TO_PROCESS'
  // Storage (the archive's index and blob stores, src/storage/): see docs/errors.md, "Storage"
  | 'ERR_DICOM_STORAGE_BAD_KEY'
  | 'ERR_DICOM_STORAGE_NOT_FOUND'
  | 'ERR_DICOM_STORAGE_BAD_OBJECT'
  | 'ERR_DICOM_STORAGE_CONFLICT'
  | 'ERR_DICOM_STORAGE_FULL'
  | 'ERR_DICOM_STORAGE_IO'
  | 'ERR_DICOM_STORAGE_INDEX'
  | 'ERR_DICOM_STORAGE_SCHEMA'
  | 'ERR_DICOM_STORAGE_CLOSED'
  // Media (PS3.10 file-sets, PS3.3 Annex F DICOMDIR, PS3.11 profiles): see docs/errors.md, "Media"
  | 'ERR_DICOM_MEDIA_BAD_DICOMDIR'
  | 'ERR_DICOM_MEDIA_FILE_ID'
  | 'ERR_DICOM_MEDIA_PROFILE'
  | 'ERR_DICOM_MEDIA_NOT_FOUND'
  // DICOMweb (PS3.18, src/dicomweb/): see docs/errors.md, "DICOMweb"
  | 'ERR_DICOM_MULTIPART'
  | 'ERR_DICOM_MEDIA_TYPE'
  | 'ERR_DICOM_WEB_REQUEST'
  | 'ERR_DICOM_WEB_NOT_FOUND'
  | 'ERR_DICOM_WEB_HTTP'
  | 'ERR_DICOM_WEB_RESPONSE';

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
  /**
   * The message as given, without the location (tag, offset) appended to `message`: for an error
   * that wraps this one, or a reply that carries the tag in a field of its own (Offending Element).
   */
  readonly detail: string;

  constructor(code: DicomErrorCode, message: string, details: DicomErrorDetails = {}) {
    const where: string[] = [];
    if (details.tag !== undefined) where.push(`tag ${formatTagForError(details.tag)}`);
    if (details.offset !== undefined) where.push(`offset ${details.offset}`);
    super(where.length ? `${message} (${where.join(', ')})` : message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'DicomError';
    this.code = code;
    this.offset = details.offset;
    this.tag = details.tag;
    this.detail = message;
  }
}

function formatTagForError(tag: number): string {
  const hex = (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

/**
 * The innermost system or TLS error under `err`, following `cause` (ECONNREFUSED,
 * DEPTH_ZERO_SELF_SIGNED_CERT, ERR_SSL_...): the first code that is not one of ours, with the
 * reason OpenSSL gives, if any. For messages in words about a failed connection.
 */
export function systemCause(err: unknown): { code: string; reason?: string } | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, reason } = e as { code?: unknown; reason?: unknown };
    if (typeof code === 'string' && !code.startsWith('ERR_DICOM_')) return { code, ...(typeof reason === 'string' ? { reason } : {}) };
  }
  return undefined;
}
