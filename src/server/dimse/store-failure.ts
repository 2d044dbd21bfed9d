/**
 * What `conduit serve`'s C-STORE SCP answers when the archive cannot store an object (PS3.4
 * Table B.2-1): a full disk is "Refused: Out of Resources" (A700), an object the archive cannot
 * index (a Unique Key missing) "Error: Cannot understand" (C000) with the attribute as Offending
 * Element; anything else stays with the dispatcher, which answers "Processing failure" (0110).
 * STOW-RS maps the same errors to the same Failure Reasons (dicomweb/stow.ts).
 */
import { DicomError } from '../../core/dicom-error.js';
import { ServiceError, Status } from '../../dimse/index.js';

export function storeFailure(err: unknown): unknown {
  if (!(err instanceof DicomError)) return err;
  if (err.code === 'ERR_DICOM_STORAGE_FULL') return new ServiceError(Status.RefusedOutOfResources, err.message, { cause: err });
  if (err.code !== 'ERR_DICOM_STORAGE_BAD_OBJECT') return err;
  // The tag goes as Offending Element; the Error Comment (64 characters) keeps the words.
  return new ServiceError(Status.ErrorCannotUnderstand, err.tag === undefined ? err.message : err.detail, { cause: err, ...(err.tag === undefined ? {} : { offendingElement: [err.tag] }) });
}
