/**
 * DICOM file-sets: the DICOMDIR (PS3.3 Annex F), File IDs (PS3.10 §8) and the general-purpose
 * media storage application profiles (PS3.11).
 */
export {
  encodeDicomDir, flattenRecords, parseDicomDir, readDicomDir, referencedFileId, MEDIA_STORAGE_DIRECTORY_STORAGE,
} from './dicomdir.js';
export type { DicomDir, DirectoryRecord, EncodeDicomDirOptions, ReadDicomDir, RecordInFile } from './dicomdir.js';
export { FileSet } from './file-set.js';
export type { AddResult, FileSetInstance, FileSetOptions } from './file-set.js';
export { checkFileId, checkFileSetId, fileIdProblem, MAX_FILE_ID_COMPONENTS } from './file-id.js';
export { applicationProfile, DEFAULT_PROFILE, profileIds } from './profiles.js';
export type { ApplicationProfile } from './profiles.js';
export { RECORD_KEYS, recordTypeFor } from './record-types.js';
export type { RecordKey } from './record-types.js';
export { zipFolder, zipFolderStream } from './zip.js';
