/**
 * The archive's two storage ports (conventions: "storage behind two ports (index, blob area)"):
 *
 *   BlobStore    the stored objects' bytes (Part 10 files) under opaque keys: a directory tree
 *                (filesystem/), later an object store (s3/)
 *   IndexStore   what is known about them: patients, studies, series, instances with the columns
 *                the query engine matches on (src/query/sql.ts), derived counts, per-instance
 *                metadata JSON: SQLite (sqlite/), later PostgreSQL (postgres/)
 *
 * Services reach storage only through these interfaces and the ArchiveStore that composes them
 * (archive-store.ts); an adapter is a class implementing one port, nothing else changes.
 *
 * Every operation is asynchronous, even where the SQLite adapter could answer at once, so that a
 * networked database or object store fits the same shape. Failures are DicomErrors with an
 * ERR_DICOM_STORAGE_* code (docs/errors.md, "Storage").
 */
import type { Readable } from 'node:stream';
import type { AttributeRecord, EntityRecord } from '../query/record.js';
import type { Query, QueryLevel } from '../query/query.js';

// ---- blobs ----

export interface BlobInfo {
  readonly key: string;
  /** Bytes stored. */
  readonly size: number;
}

export interface PutOptions {
  /** See BlobStore.put. */
  readonly fresh?: boolean;
  /**
   * Called at most once, before put() resolves, when the whole blob can be read under its key but
   * may not be durable yet: a caller may then index it, as long as it acknowledges nothing before
   * put() resolves (ADR 0013). A store that cannot tell calls it just before resolving.
   */
  readonly visible?: (info: BlobInfo) => void;
}

/** Random access to one blob, for reading a header and skipping large values (BulkData-like reads). */
export interface BlobReader {
  readonly key: string;
  readonly size: number;
  /** A path on the local file system holding the bytes, when the store has one (BulkData needs a path). */
  readonly path?: string;
  /** Up to `length` bytes from `position` (fewer only at the end of the blob). */
  read(position: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/**
 * Bytes under keys. Keys are chosen by the caller (ArchiveStore uses a fresh random key per stored
 * object, so that replacing an object never overwrites the bytes the index still points at) and are
 * 1 to 200 characters of [A-Za-z0-9._-] not starting with "." (isValidBlobKey).
 */
export interface BlobStore {
  /**
   * Stores the bytes of `source` under `key`. When the promise resolves the blob is durable: it
   * survives a crash or power loss of this machine (files: written to a temporary file in the
   * target directory, fsync'd, renamed into place, the directory fsync'd). When it rejects
   * nothing is left under `key`. An existing blob under `key` is replaced atomically.
   *
   * `fresh`: the caller guarantees that no blob is stored under `key` and that nothing refers to it
   * before put() resolves (the archive's new random keys). The store may then make the blob visible
   * under its key before its bytes are durable (files: written and renamed, then the file and the
   * directory flushed at once): a crash in between leaves at worst an unreferenced blob, which the
   * startup check reports, or a blob the index holds as unconfirmed (ADR 0013). Durable when it
   * resolves, all the same.
   */
  put(key: string, source: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<BlobInfo>;
  /** The whole blob as a stream; rejects with ERR_DICOM_STORAGE_NOT_FOUND when there is none. */
  get(key: string): Promise<Readable>;
  /** Bytes [start, end) of the blob (end exclusive, clamped to the size). */
  getRange(key: string, start: number, end: number): Promise<Readable>;
  /** Random access (see BlobReader); the caller closes it. */
  open(key: string): Promise<BlobReader>;
  /**
   * Optional: fills `target` with the bytes from `position` and resolves with how many were read
   * (fewer only at the end of the blob). One read into the caller's buffer, which it may reuse
   * (C-MOVE / C-GET read instance after instance); without it, open() + read().
   */
  readInto?(key: string, position: number, target: Uint8Array): Promise<number>;
  /** Size in bytes; rejects with ERR_DICOM_STORAGE_NOT_FOUND when there is none. */
  size(key: string): Promise<number>;
  exists(key: string): Promise<boolean>;
  /** Removes the blob; true when there was one. Idempotent. */
  delete(key: string): Promise<boolean>;
  /** Every key stored, in no particular order (for the startup consistency check and cleanup). */
  list(): AsyncIterable<string>;
  /**
   * What lies in the store's area that is neither a blob nor a temporary file of one (a file
   * copied there by hand, a folder of another layout), by its path in the area: for the startup
   * report. Never served, never removed.
   */
  strays?(): AsyncIterable<string>;
  /**
   * Removes what interrupted puts left behind (temporary files of a crashed process, unfinished
   * multipart uploads) and returns a description of each. Call it only while no put is running,
   * i.e. at startup.
   */
  recover(): Promise<string[]>;
  close(): Promise<void>;
}

// ---- the index ----

/** What to do when an instance with the same SOP Instance UID is already indexed. */
export type DuplicatePolicy = 'keep' | 'overwrite' | 'reject';

/**
 * One instance to index: its identity, its attributes split by level (PS3.4 C.6 key tables, see
 * index-record.ts), where its bytes are, and its metadata in the JSON model.
 */
export interface InstanceIndexRecord {
  readonly sopInstanceUid: string;
  readonly sopClassUid: string;
  readonly seriesInstanceUid: string;
  readonly studyInstanceUid: string;
  /** Patient ID (0010,0020); '' when the object has none. With the issuer, the patient's key. */
  readonly patientId: string;
  /** Issuer of Patient ID (0010,0021); '' when the object has none. */
  readonly issuerOfPatientId: string;
  /**
   * The attributes of each level, decoded (query/record.ts AttributeRecord): the keys the PS3.4
   * C.6 tables list for that level, plus Timezone Offset From UTC at every level.
   */
  readonly patient: AttributeRecord;
  readonly study: AttributeRecord;
  readonly series: AttributeRecord;
  readonly instance: AttributeRecord;
  readonly transferSyntaxUid: string;
  readonly blobKey: string;
  /** Bytes of the stored blob. */
  readonly size: number;
  /** Offset of the data set in the blob (after the File Meta Information): what C-GET / C-MOVE send. */
  readonly dataSetOffset: number;
  /** Calling AE Title of the sender (or an HTTP client's name), when known. */
  readonly sourceAet?: string;
  /** When the object was received. */
  readonly receivedAt: Date;
  /**
   * The whole data set in the DICOM JSON model (PS3.18 F.2) as JSON text, values above the
   * metadata threshold replaced by BulkDataURI markers (index-record.ts bulkDataMarker). Optional:
   * bulk imports may leave it out.
   */
  readonly metadata?: string;
}

export type InsertStatus = 'inserted' | 'duplicate-kept' | 'overwritten' | 'rejected';

export interface InsertResult {
  readonly status: InsertStatus;
  /** For 'overwritten': the blob the index no longer points at (the caller deletes it). */
  readonly replacedBlobKey?: string;
  /**
   * What was inconsistent with what the index already held (a study arriving under another
   * patient, a patient's name differing from the stored one, ...): the first values were kept.
   */
  readonly warnings: readonly string[];
}

/** What retrieval needs to know about one stored instance. */
export interface StoredInstance {
  readonly sopInstanceUid: string;
  readonly sopClassUid: string;
  readonly transferSyntaxUid: string;
  readonly seriesInstanceUid: string;
  readonly studyInstanceUid: string;
  readonly blobKey: string;
  /** Bytes of the blob (a Part 10 file). */
  readonly size: number;
  /** Offset of the data set in the blob: getRange(blobKey, dataSetOffset, size) is the data set. */
  readonly dataSetOffset: number;
}

export interface StoredInstanceDetails extends StoredInstance {
  readonly patientId: string;
  readonly issuerOfPatientId: string;
  readonly sourceAet: string | undefined;
  readonly receivedAt: Date;
}

export interface FindOptions {
  /** At most this many entities. */
  readonly limit?: number;
  /** Skip this many matching entities first. */
  readonly offset?: number;
}

/** One instance's metadata, as stored (index-record.ts). */
export interface InstanceMetadata {
  readonly sopInstanceUid: string;
  readonly seriesInstanceUid: string;
  /** JSON text of the instance's data set in the DICOM JSON model, bulk values as markers. */
  readonly json: string;
}

export interface DeleteResult {
  /** Instances removed from the index. */
  readonly instances: number;
  /** Their blobs, which the caller deletes now that the index no longer points at them. */
  readonly blobKeys: readonly string[];
}

export interface IndexStats {
  readonly patients: number;
  readonly studies: number;
  readonly series: number;
  readonly instances: number;
  /** Sum of the stored blobs' sizes. */
  readonly totalSize: number;
}

/** A warning recorded by the index (InsertResult.warnings), counted per entity and attribute. */
export interface IndexWarning {
  readonly level: QueryLevel;
  /** The Unique Key of the entity concerned (Patient ID for a patient). */
  readonly uid: string;
  readonly message: string;
  /** How many instances raised it. */
  readonly count: number;
  readonly first: Date;
  readonly last: Date;
}

export interface InsertOptions {
  /**
   * The instance's blob is readable but may not be durable yet (ADR 0013): the index records its
   * key as unconfirmed in the same transaction, until UnconfirmedBlobs.confirm(). Only for an index
   * that has `unconfirmedBlobs`.
   */
  readonly blobUnconfirmed?: boolean;
}

/** An instance indexed before its blob was known to be durable, not yet confirmed. */
export interface UnconfirmedBlob {
  readonly blobKey: string;
  readonly sopInstanceUid: string;
  /** The blob's size the instance was indexed with. */
  readonly size: number;
}

/**
 * The index's side of ADR 0013: instances indexed while their blob was still being flushed carry a
 * mark, cleared once the blob is durable; after a crash the startup check verifies the blobs of
 * the marked ones and drops the instances whose blob is missing or short (never acknowledged).
 */
export interface UnconfirmedBlobs {
  /** These blobs are durable: their marks go (with a later commit; losing that is harmless). */
  confirm(blobKeys: readonly string[]): void;
  /** The marked blobs whose instance is indexed (marks left without one are cleared). */
  list(): Promise<UnconfirmedBlob[]>;
  /** Removes the instance indexed with this blob if it is still marked, and the mark; resolves once committed. */
  drop(blobKey: string): Promise<DeleteResult>;
}

export interface IndexStore {
  /**
   * Indexes one instance, creating its patient, study and series as needed and updating the
   * derived counts in the same transaction. Resolves once that transaction is durable.
   * Duplicates (same SOP Instance UID): 'keep' leaves the indexed one ('duplicate-kept'),
   * 'overwrite' replaces it ('overwritten', replacedBlobKey set), 'reject' leaves it ('rejected').
   * A series already indexed under another study raises ERR_DICOM_STORAGE_CONFLICT.
   */
  insertInstance(record: InstanceIndexRecord, policy: DuplicatePolicy, options?: InsertOptions): Promise<InsertResult>;
  /** Optional (ADR 0013): without it the archive indexes an object only once its blob is durable. */
  readonly unconfirmedBlobs?: UnconfirmedBlobs;
  /**
   * The entities of `level` that match the query (SQL from compileWhere, then its post-filter),
   * with their ancestors' attributes and the derived attributes of PS3.4 C.3.4 Table C.3-1.
   * Breaking out of the loop stops the search.
   */
  find(query: Query, level: QueryLevel, options?: FindOptions): AsyncIterable<EntityRecord>;
  /**
   * Optional: how many entities find() would yield without limit and offset (QIDO-RS tells how
   * many results remain, PS3.18 §8.3.4.4.1); without it the caller counts what find() yields.
   */
  count?(query: Query, level: QueryLevel): Promise<number>;
  /**
   * The instances to retrieve for entities of `level` (C-MOVE / C-GET / WADO-RS): by Patient ID,
   * Study, Series or SOP Instance UID(s), ordered by study, series (Series Number), instance
   * (Instance Number), then order of arrival.
   */
  instancesFor(level: QueryLevel, uids: string | readonly string[]): Promise<StoredInstance[]>;
  getInstance(sopInstanceUid: string): Promise<StoredInstanceDetails | undefined>;
  /**
   * Optional: whether an instance is indexed, without its details (the archive asks before every
   * C-STORE; getInstance answers when a store does not offer this).
   */
  hasInstance?(sopInstanceUid: string): Promise<boolean>;
  /** The stored metadata of a study's instances (optionally one series), in order of arrival. */
  instanceMetadata(studyInstanceUid: string, options?: { seriesInstanceUid?: string }): AsyncIterable<InstanceMetadata>;
  deleteInstance(sopInstanceUid: string): Promise<DeleteResult>;
  deleteSeries(seriesInstanceUid: string): Promise<DeleteResult>;
  deleteStudy(studyInstanceUid: string): Promise<DeleteResult>;
  /** A patient is Patient ID plus Issuer of Patient ID ('' for none). */
  deletePatient(patientId: string, issuerOfPatientId?: string): Promise<DeleteResult>;
  /** Every blob the index points at, with its instance (for the startup consistency check). */
  blobKeys(): AsyncIterable<{ readonly blobKey: string; readonly sopInstanceUid: string }>;
  warnings(options?: { limit?: number }): Promise<IndexWarning[]>;
  stats(): Promise<IndexStats>;
  /** Waits for pending commits, then closes. */
  close(): Promise<void>;
}

const BLOB_KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

/** True for keys every BlobStore accepts: 1 to 200 of [A-Za-z0-9._-], not starting with ".". */
export function isValidBlobKey(key: string): boolean {
  return BLOB_KEY.test(key);
}
