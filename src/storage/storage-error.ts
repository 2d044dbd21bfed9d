/**
 * System and database failures turned into DicomErrors with a storage code, so that a service
 * can answer with the right status (a full disk is "Refused: Out of Resources", PS3.4 Table B.2-1
 * A700; anything else a processing failure) and the cause is kept.
 */
import { DicomError, type DicomErrorCode } from '../core/dicom-error.js';

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** `cause` as a DicomError: a DicomError is returned as it is; a full disk is ERR_DICOM_STORAGE_FULL. */
export function storageError(code: Extract<DicomErrorCode, `ERR_DICOM_STORAGE_${string}`>, message: string, cause: unknown): DicomError {
  if (cause instanceof DicomError) return cause;
  const sys = (cause as { code?: unknown } | null)?.code;
  const text = cause instanceof Error ? cause.message : String(cause);
  if (typeof sys === 'string' && FULL_CODES.has(sys)) return new DicomError('ERR_DICOM_STORAGE_FULL', `${message}: no space left (${text})`, { cause });
  if (sys === 'ENOENT') return new DicomError('ERR_DICOM_STORAGE_NOT_FOUND', `${message}: ${text}`, { cause });
  return new DicomError(code, `${message}: ${text}`, { cause });
}
