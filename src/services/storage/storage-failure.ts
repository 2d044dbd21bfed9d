/**
 * The C-STORE status for an object that could not be stored (PS3.4 B.2.3, Table B.2-1), in one place
 * for every receiver: `conduit serve`'s C-STORE SCP, its STOW-RS (whose Failure Reasons are these
 * statuses, PS3.18 Table 10.5.3-2), and `conduit listen`.
 *  - a full disk or quota, or no file handle left: A700 "Refused: Out of Resources";
 *  - an object the archive cannot index (a Unique Key missing, ERR_DICOM_STORAGE_BAD_OBJECT):
 *    C000 "Error: Cannot understand", the attribute as Offending Element;
 *  - anything else: undefined, for the caller's "Processing failure" (0110).
 */
import { DicomError } from '../../core/dicom-error.js';
import { Status } from '../../dimse/status.js';

export interface StorageFailureStatus {
  status: number;
  /** The reason in words (the error's message; the Error Comment keeps what fits of it). */
  errorComment: string;
  offendingElement?: number[];
}

/** System errors that mean the receiver is out of a resource, not that the object is wrong. */
const OUT_OF_RESOURCES = new Set(['ENOSPC', 'EDQUOT', 'EMFILE', 'ENFILE']);

export function storageFailureStatus(err: unknown): StorageFailureStatus | undefined {
  if (err instanceof DicomError) {
    if (err.code === 'ERR_DICOM_STORAGE_FULL') return { status: Status.RefusedOutOfResources, errorComment: err.message };
    if (err.code !== 'ERR_DICOM_STORAGE_BAD_OBJECT') return undefined;
    // The tag goes as Offending Element, so the comment keeps only the words.
    return err.tag === undefined
      ? { status: Status.ErrorCannotUnderstand, errorComment: err.message }
      : { status: Status.ErrorCannotUnderstand, errorComment: err.detail, offendingElement: [err.tag] };
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && OUT_OF_RESOURCES.has(code)) {
    return { status: Status.RefusedOutOfResources, errorComment: code === 'EMFILE' || code === 'ENFILE' ? 'out of file handles' : 'out of disk space' };
  }
  return undefined;
}
