/**
 * The archive's storage (ADR 0007): two ports and their adapters, and the composition services use.
 *
 *   ports.ts                  BlobStore, IndexStore and the records they exchange
 *   archive-store.ts          ArchiveStore: store (durable and indexed), retrieve, delete, startup check
 *   index-record.ts           a data set -> what the index stores (level records, metadata JSON)
 *   stored-object.ts          a stored Part 10 object parsed back through a BlobReader
 *   storage-error.ts          system / database failures -> ERR_DICOM_STORAGE_* errors
 *   filesystem/               BlobStore on a directory tree (durable put, temporary-file recovery)
 *   sqlite/                   IndexStore on SQLite (schema, migrations, group commit, find)
 */
export { isValidBlobKey } from './ports.js';
export type {
  BlobInfo, BlobReader, BlobStore, DuplicatePolicy, InstanceIndexRecord, InsertStatus, InsertResult, StoredInstance,
  StoredInstanceDetails, FindOptions, InstanceMetadata, DeleteResult, IndexStats, IndexWarning, IndexStore,
  PutOptions, InsertOptions, UnconfirmedBlob, UnconfirmedBlobs,
} from './ports.js';
export { ArchiveStore } from './archive-store.js';
export type { StoreInput, StoreResult, StartupReport, StartupCheckOptions, ArchiveStoreOptions } from './archive-store.js';
export {
  BULK_DATA_MARKER_PREFIX, bulkDataMarker, parseBulkDataMarker, attributeRecordOf, attributeRecordFromJson, buildInstanceIndexRecord,
  levelRecords, metadataJson, storedLevelOf,
} from './index-record.js';
export type { IndexFacts } from './index-record.js';
export { readStoredObject } from './stored-object.js';
export { FilesystemBlobStore } from './filesystem/filesystem-blob-store.js';
export type { FilesystemBlobStoreOptions } from './filesystem/filesystem-blob-store.js';
export { SqliteIndexStore } from './sqlite/sqlite-index-store.js';
export type { SqliteIndexStoreOptions } from './sqlite/sqlite-index-store.js';
export type { GroupCommitOptions, CommitQueueStats } from './sqlite/commit-queue.js';
