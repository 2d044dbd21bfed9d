/**
 * Errors as HTTP responses (PS3.18 §8.5: status codes; the payload "may include a Status Report",
 * here a small JSON object): one mapping from DicomError codes to statuses, as Orthanc maps its
 * error catalog, so that every route fails the same way and says why.
 */
import { DicomError, type DicomErrorCode } from '../core/dicom-error.js';
import { QueryError } from '../query/query-error.js';

/** A DicomError with the HTTP status it answers with. */
export class DicomWebError extends DicomError {
  readonly httpStatus: number;
  /** Header fields to add to the error response (Allow for 405, Content-Range for 416, ...). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: DicomErrorCode, message: string, httpStatus: number, options: { cause?: unknown; headers?: Record<string, string> } = {}) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'DicomWebError';
    this.httpStatus = httpStatus;
    this.headers = options.headers ?? {};
  }
}

export function badRequest(message: string, status = 400): DicomWebError {
  return new DicomWebError('ERR_DICOM_WEB_REQUEST', message, status);
}

export function notFound(message: string): DicomWebError {
  return new DicomWebError('ERR_DICOM_WEB_NOT_FOUND', message, 404);
}

export function notAcceptable(message: string): DicomWebError {
  return new DicomWebError('ERR_DICOM_MEDIA_TYPE', message, 406);
}

export function unsupportedMediaType(message: string): DicomWebError {
  return new DicomWebError('ERR_DICOM_MEDIA_TYPE', message, 415);
}

const STATUS_BY_CODE: Partial<Record<DicomErrorCode, number>> = {
  ERR_DICOM_MULTIPART: 400,
  ERR_DICOM_MEDIA_TYPE: 400,
  ERR_DICOM_WEB_REQUEST: 400,
  ERR_DICOM_WEB_NOT_FOUND: 404,
  ERR_DICOM_STORAGE_NOT_FOUND: 404,
  ERR_DICOM_STORAGE_BAD_OBJECT: 400,
  ERR_DICOM_STORAGE_CONFLICT: 409,
  ERR_DICOM_STORAGE_FULL: 507,
  ERR_DICOM_UNSUPPORTED_TRANSFER_SYNTAX: 406,
  ERR_DICOM_JSON: 400,
  ERR_DICOM_XML: 400,
};

/** The HTTP status an error answers with (500 for anything unexpected). */
export function httpStatusOf(error: unknown): number {
  if (error instanceof DicomWebError || error instanceof QueryError) return error.httpStatus;
  if (error instanceof DicomError) {
    if (error.code.startsWith('ERR_DICOM_QUERY_')) return 400;
    return STATUS_BY_CODE[error.code] ?? 500;
  }
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

/** The JSON body of an error response. */
export function errorBody(error: unknown, status: number): { error: { status: number; code: string; message: string } } {
  const code = error instanceof DicomError ? error.code : ((error as { code?: unknown } | null)?.code as string | undefined) ?? 'ERR_INTERNAL';
  const message = status >= 500 && !(error instanceof DicomError) ? `internal error: ${(error as Error)?.message ?? String(error)}` : (error as Error)?.message ?? String(error);
  return { error: { status, code: String(code), message } };
}
