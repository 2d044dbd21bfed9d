/**
 * File IDs (PS3.10 §8.2, §8.5; PS3.11 for the media formats): an ordered list of up to 8
 * components, each 1 to 8 characters of the repertoire A-Z, 0-9 and "_", naming a file relative to
 * the file-set's root. In a DICOMDIR the components are the values of Referenced File ID (0004,1500)
 * and File-set Descriptor File ID (0004,1141), a CS with one value per component.
 */
import { DicomError } from '../../core/dicom-error.js';

export const MAX_FILE_ID_COMPONENTS = 8;
export const MAX_COMPONENT_LENGTH = 8;
const COMPONENT = /^[A-Z0-9_]{1,8}$/;
/** File-set ID (0004,1130): CS of up to 16 characters from the same repertoire (PS3.10 §8.5), spaces allowed in CS. */
const FILE_SET_ID = /^[A-Z0-9_ ]{0,16}$/;

/** Why `components` is not a valid File ID, or undefined when it is. */
export function fileIdProblem(components: readonly string[]): string | undefined {
  if (components.length === 0) return 'a File ID has at least one component';
  if (components.length > MAX_FILE_ID_COMPONENTS) return `${components.length} components; PS3.10 §8.2 allows at most ${MAX_FILE_ID_COMPONENTS}`;
  for (const c of components) {
    if (c.length > MAX_COMPONENT_LENGTH) return `component "${c}" is ${c.length} characters long; at most ${MAX_COMPONENT_LENGTH}`;
    if (!COMPONENT.test(c)) return `component "${c}" has characters outside A-Z, 0-9 and _ (PS3.10 §8.5)`;
  }
  return undefined;
}

export function checkFileId(components: readonly string[]): void {
  const problem = fileIdProblem(components);
  if (problem) throw new DicomError('ERR_DICOM_MEDIA_FILE_ID', `File ID ${components.join('\\')}: ${problem}`);
}

export function checkFileSetId(id: string): void {
  if (!FILE_SET_ID.test(id)) {
    throw new DicomError('ERR_DICOM_MEDIA_FILE_ID', `File-set ID "${id}": up to 16 characters of A-Z, 0-9, _ and space (PS3.10 §8.5)`);
  }
}

/**
 * The components of a File ID as read from a DICOMDIR. Readers are lenient where writers are not:
 * trailing spaces go, and a single value holding "\" or "/" separators (seen from some writers) is
 * split. Components that would lead out of the file-set (".", "..", empty) are refused.
 */
export function normalizeFileId(values: readonly string[]): string[] {
  const parts = values.flatMap((v) => v.split(/[\\/]/)).map((v) => v.trim());
  if (parts.length === 0 || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new DicomError('ERR_DICOM_MEDIA_FILE_ID', `File ID "${values.join('\\')}" leads outside the file-set or has an empty component`);
  }
  return parts;
}

/** A new component: `prefix` then a number, 8 characters in all (e.g. 'IM000012'). */
export function numberedComponent(prefix: string, n: number): string {
  const digits = MAX_COMPONENT_LENGTH - prefix.length;
  const text = n.toString(36).toUpperCase();
  if (text.length > digits) throw new DicomError('ERR_DICOM_MEDIA_FILE_ID', `no File ID component left for prefix ${prefix} (number ${n})`);
  return prefix + (n < 10 ** digits ? String(n).padStart(digits, '0') : text.padStart(digits, '0'));
}
