/**
 * The archive as the services see it: a BlobStore and an IndexStore composed so that an object is
 * acknowledged only once it is durable AND indexed, and nothing half-stored is ever indexed.
 *
 * storeInstance():
 *   1. (keep / reject) an instance already indexed is answered at once; its bytes are drained unread
 *   2. the Part 10 file (File Meta Information built here for a bare data set) is streamed into
 *      the blob store under a fresh random key
 *   3. it is parsed as it arrives (parse-as-received.ts; a deflated data set once its last byte is
 *      in, from the chunks kept in memory or, for a large object, from the durable blob), values
 *      above the threshold skipped, so what is indexed is what was stored, and pixel data is never
 *      in memory
 *   4. once the blob is whole and readable under its key, the index record (index-record.ts) is
 *      inserted in one transaction, marked unconfirmed, WHILE the blob is flushed (ADR 0013); the
 *      store resolves when both the blob and the commit are durable, and the mark is then cleared
 *      (lazily, with a later commit). With an index without marks, or the 'overwrite' policy, the
 *      record is inserted only once the blob is durable.
 *   5. a replaced object's blob, or the new blob when the index kept the old one, is deleted
 * A failure in 2-4 removes what was done (the blob; an entry indexed against a blob that failed) and
 * rejects. A crash between 2 and 4 leaves a blob the index does not know, which startupCheck()
 * reports (and removes if asked); a crash in 2 leaves a temporary file, which it removes; a power
 * loss while an unconfirmed blob was being flushed may leave an entry whose blob is missing or
 * short: never acknowledged, it is dropped by startupCheck().
 *
 * Deletion removes the index entries first (durably), then the blobs: a crash in between leaves
 * unreferenced blobs, never an index entry without its object.
 */
import { channel } from 'node:diagnostics_channel';
import type { Readable } from 'node:stream';
import { DicomError } from '../core/dicom-error.js';
import type { DataSet } from '../data/data-set.js';
import { part10Header } from '../media/part10-header.js';
import type { DicomFile } from '../media/part10.js';
import { BlobKeyBuckets } from './blob-key-buckets.js';
import { buildInstanceIndexRecord, recordReceived, type IndexFacts } from './index-record.js';
import { ParseAsReceived } from './parse-as-received.js';
import type {
  BlobStore, DeleteResult, DuplicatePolicy, IndexStore, InsertResult, InsertStatus, InstanceIndexRecord, StoredInstanceDetails,
} from './ports.js';
import { RetainedChunks } from './retained-chunks.js';
import { readStoredObject } from './stored-object.js';

/** A data set as received by C-STORE (in the negotiated transfer syntax), or a whole Part 10 file (STOW-RS, import). */
export type StoreInput =
  | {
    readonly dataSet: AsyncIterable<Uint8Array>;
    readonly sopClassUid: string;
    readonly sopInstanceUid: string;
    readonly transferSyntaxUid: string;
    /** Calling AE Title, written as Source Application Entity Title (0002,0016) and indexed. */
    readonly sourceAet?: string;
  }
  | {
    readonly part10: AsyncIterable<Uint8Array>;
    readonly sourceAet?: string;
    /**
     * Called with the stored object's data set and File Meta Information once it parses, before
     * its UIDs are checked and it is indexed (e.g. STOW-RS checking the Study Instance UID of the
     * request path, and noting which instance a part holds for its answer); an exception refuses
     * the object, which is then neither indexed nor kept.
     */
    readonly check?: (dataSet: DataSet, meta: DataSet) => void;
  };

export interface StoreResult {
  readonly status: InsertStatus;
  readonly sopInstanceUid: string;
  /** The blob now holding the instance ('inserted', 'overwritten'), else undefined. */
  readonly blobKey: string | undefined;
  /** Bytes of the stored Part 10 file (0 when nothing was stored). */
  readonly size: number;
  /** What was inconsistent with the index (the first values were kept), and cleanup problems. */
  readonly warnings: readonly string[];
}

export interface StartupReport {
  /** Temporary files of interrupted writes, removed. */
  readonly removedTemporaries: readonly string[];
  /**
   * Instances indexed while their blob was being flushed whose blob turned out missing or short (a
   * power loss before the flush ended: never acknowledged), removed from the index with the blob.
   */
  readonly droppedUnconfirmed: ReadonlyArray<{ readonly blobKey: string; readonly sopInstanceUid: string; readonly reason: string }>;
  /**
   * Blobs no index entry points at (a crash between storing and indexing, or deleting): the first
   * `reportLimit` keys in key order; orphanBlobCount says how many there are.
   */
  readonly orphanBlobs: readonly string[];
  readonly orphanBlobCount: number;
  /** Whether the orphan blobs (all of them, not only those listed) were removed. */
  readonly orphanBlobsRemoved: boolean;
  /**
   * Index entries whose blob is missing: damage from outside, reported, never repaired silently.
   * The first `reportLimit` in index order; missingBlobCount says how many there are (a lost disk
   * can make that millions: the report stays small whatever it is).
   */
  readonly missingBlobs: ReadonlyArray<{ readonly blobKey: string; readonly sopInstanceUid: string }>;
  readonly missingBlobCount: number;
  /**
   * What the blob store holds outside its layout (BlobStore.strays: files put there by hand), by
   * path in its area: the first `reportLimit`; strayFileCount says how many. Kept, never served.
   */
  readonly strayFiles: readonly string[];
  readonly strayFileCount: number;
}

export interface StartupCheckOptions {
  /** Delete the orphan blobs (default false: reported and kept). */
  readonly removeOrphanBlobs?: boolean;
  /** How many orphan blobs and missing blobs the report lists at most (default 100). */
  readonly reportLimit?: number;
}

export interface ArchiveStoreOptions {
  readonly index: IndexStore;
  readonly blobs: BlobStore;
  /** Values longer than this are not read when indexing (default 64 KiB). */
  readonly bulkDataThreshold?: number;
  /** Values longer than this become BulkDataURI markers in the metadata JSON (default 1024). */
  readonly metadataBulkDataThreshold?: number;
  /** Store each instance's metadata JSON (default true). */
  readonly storeMetadata?: boolean;
  /**
   * Key for a new blob. Default: "<hhhh>.<UUID>" from a bucket that no other store under way
   * holds (blob-key-buckets.ts), so consecutive blobs share a directory and concurrent ones do not.
   */
  readonly newBlobKey?: () => string;
  /**
   * Objects up to this size (bytes, default 4 MiB) are parsed for the index from the chunks as they
   * went to the blob store, not read back from it.
   */
  readonly parseFromMemoryUpTo?: number;
  readonly now?: () => Date;
}

/** diagnostics_channel on which each store publishes a StoreTrace (when something subscribes). */
export const STORE_CHANNEL = 'conduit:storage:store';
const storeChannel = channel(STORE_CHANNEL);

/**
 * Moments of one store (performance.now(), ms): start; received (the last byte of the object taken
 * from its source); parsed (index record built); readable (blob whole under its key); indexed (index
 * commit durable); durable (blob durable); end. A phase that did not happen is absent.
 */
export type StorePhase = 'start' | 'received' | 'parsed' | 'readable' | 'indexed' | 'durable' | 'end';
export interface StoreTrace {
  readonly sopInstanceUid: string;
  readonly blobKey: string;
  readonly status: InsertStatus | 'failed';
  /** Indexed before its blob was durable (ADR 0013). */
  readonly unconfirmed: boolean;
  readonly timing: Readonly<Partial<Record<StorePhase, number>>>;
}

const UID_TAGS = { sopClass: 0x00080016, sopInstance: 0x00080018, metaSopClass: 0x00020002, metaSopInstance: 0x00020003 };

export class ArchiveStore {
  readonly index: IndexStore;
  readonly blobs: BlobStore;
  private readonly options: ArchiveStoreOptions;
  /** Blob keys of the stores under way. */
  private readonly storing = new Set<string>();
  /**
   * Stores indexing with an unconfirmed blob, by SOP Instance UID, registered before their index
   * write: each settles true when it turns out not to hold the indexed copy or once its store
   * succeeded (and leaves), false when its indexed copy failed (and stays until a store of the UID
   * succeeds). A duplicate answered against such an instance waits for them (ADR 0013, 7).
   */
  private readonly flushing = new Map<string, Set<Flushing>>();
  private readonly buckets = new BlobKeyBuckets();
  /** While startupCheck() runs: every key stored since it began. */
  private touched: Set<string> | undefined;

  constructor(options: ArchiveStoreOptions) {
    this.index = options.index;
    this.blobs = options.blobs;
    this.options = options;
  }

  async storeInstance(input: StoreInput, policy: DuplicatePolicy = 'keep'): Promise<StoreResult> {
    if ('dataSet' in input && policy !== 'overwrite' && await this.isIndexed(input.sopInstanceUid)) {
      for await (const chunk of input.dataSet) void chunk;
      await this.heldDurably(input.sopInstanceUid);
      return { status: policy === 'keep' ? 'duplicate-kept' : 'rejected', sopInstanceUid: input.sopInstanceUid, blobKey: undefined, size: 0, warnings: [] };
    }
    const taken = this.options.newBlobKey ? { key: this.options.newBlobKey(), release: () => undefined } : this.buckets.take();
    const key = taken.key;
    this.storing.add(key);
    this.touched?.add(key);
    try {
      return await this.store(key, input, policy);
    } finally {
      this.storing.delete(key);
      taken.release();
    }
  }

  private async isIndexed(sopInstanceUid: string): Promise<boolean> {
    return this.index.hasInstance ? this.index.hasInstance(sopInstanceUid) : (await this.index.getInstance(sopInstanceUid)) !== undefined;
  }

  private async store(key: string, input: StoreInput, policy: DuplicatePolicy): Promise<StoreResult> {
    const timing = storeChannel.hasSubscribers ? { start: performance.now() } as Partial<Record<StorePhase, number>> : undefined;
    const retained = new RetainedChunks(this.options.parseFromMemoryUpTo ?? 4 << 20);
    const bulkDataThreshold = this.options.bulkDataThreshold ?? 64 * 1024;
    // Parsed while it arrives; the record built as soon as everything but the pixel data is in.
    const parse = new ParseAsReceived(key, bulkDataThreshold);
    let early: { record: InstanceIndexRecord; warnings: string[] } | undefined;
    let earlyTried = false;
    // One shape for every call (no spreads: ADR 0022).
    const facts = (size: number, dataSetOffset: number, transferSyntaxUid: string): IndexFacts => ({
      blobKey: key,
      size,
      dataSetOffset,
      transferSyntaxUid,
      sourceAet: input.sourceAet,
      receivedAt: this.options.now?.() ?? new Date(),
      metadata: this.options.storeMetadata ?? true,
      metadataBulkDataThreshold: this.options.metadataBulkDataThreshold,
    });
    const bytes = retained.tee('dataSet' in input ? input.dataSet : input.part10, (chunk) => {
      parse.push(chunk);
      // Parsed as it arrives: the chunks are kept for nothing (the rare object that does not
      // parse to its end is read back from its blob), and kept, they outlive the young-generation
      // collections the receive paces (ADR 0012) and wait for a full one.
      if (parse.parsing) retained.release();
      if (parse.pixelDataReached && !earlyTried) {
        earlyTried = true;
        const file = parse.partial();
        try {
          const warnings: string[] = [];
          early = { record: buildInstanceIndexRecord(file.dataSet, facts(0, file.dataSetOffset, file.transferSyntaxUid), warnings), warnings };
        } catch {
          // Built again after the last byte, where the error is reported.
        }
      }
    }, 'dataSet' in input ? () => part10Header(input) : undefined);
    // The object is indexed as soon as its blob is whole and readable, while the blob is flushed;
    // acknowledged once both the blob and the index commit are durable (ADR 0013).
    let durable = false;
    let putFailed = false;
    let wake!: () => void;
    const whenReadable = new Promise<void>((resolve) => { wake = resolve; });
    const putting = this.blobs.put(key, bytes, {
      fresh: true,
      visible: () => {
        if (timing) timing.readable = performance.now();
        wake();
      },
    });
    const putSettled = putting.then(() => {
      durable = true;
      if (timing) timing.durable = performance.now();
      wake();
    }, () => {
      putFailed = true;
      wake();
    });
    const confirmations = policy === 'overwrite' ? undefined : this.index.unconfirmedBlobs;
    const warnings: string[] = [];
    let inserting: Promise<InsertResult> | undefined;
    let unconfirmed = false;
    let sopInstanceUid = 'dataSet' in input ? input.sopInstanceUid : '';
    let status: InsertStatus | 'failed' = 'failed';
    let flushing: Flushing | undefined;
    try {
      const size = await Promise.race([retained.ended, putSettled.then(() => undefined)]);
      if (timing) timing.received = performance.now();
      if (size === undefined || putFailed) await putting; // throws when the put failed
      parse.end();
      let file: DicomFile | undefined;
      try {
        file = parse.result();
      } catch (cause) {
        throw doesNotParse(cause);
      }
      let objectSize = parse.size;
      if (!file) {
        let reader = retained.reader(key);
        if (!reader) {
          await putting;
          reader = await this.blobs.open(key);
        }
        objectSize = reader.size;
        try {
          file = await readStoredObject(reader, { bulkDataThreshold });
        } catch (cause) {
          throw doesNotParse(cause);
        } finally {
          await reader.close();
        }
      }
      if ('part10' in input) input.check?.(file.dataSet, file.meta);
      checkUids(input, file.meta, file.dataSet, warnings);
      let record: InstanceIndexRecord;
      if (early && !parse.elementsAfterPixelData) {
        record = recordReceived(early.record, objectSize, this.options.now?.() ?? new Date());
        warnings.push(...early.warnings);
      } else {
        record = buildInstanceIndexRecord(file.dataSet, facts(objectSize, file.dataSetOffset ?? 0, file.transferSyntaxUid), warnings);
      }
      sopInstanceUid = record.sopInstanceUid;
      if (timing) timing.parsed = performance.now();
      await whenReadable;
      if (putFailed) await putting;
      // Without the index's marks (or when replacing what an acknowledged instance holds), the
      // object is indexed only once its blob is durable, as before ADR 0013.
      if (!confirmations) await putting;
      unconfirmed = confirmations !== undefined && !durable;
      if (unconfirmed) flushing = this.startFlushing(sopInstanceUid);
      inserting = this.index.insertInstance(record, policy, unconfirmed ? { blobUnconfirmed: true } : {});
      const [result, blob] = await Promise.all([inserting.then((r) => {
        if (timing) timing.indexed = performance.now();
        // Not the indexed copy: nothing for a duplicate to wait for.
        if (flushing && r.status !== 'inserted') flushing = this.endFlushing(sopInstanceUid, flushing, true);
        return r;
      }, (error: unknown) => {
        if (flushing) flushing = this.endFlushing(sopInstanceUid, flushing, true);
        throw error;
      }), putting]);
      warnings.push(...result.warnings);
      const kept = result.status === 'inserted' || result.status === 'overwritten';
      if (!kept) await this.heldDurably(sopInstanceUid);
      if (kept && unconfirmed) confirmations!.confirm([key]);
      const obsolete = kept ? result.replacedBlobKey : key;
      if (obsolete !== undefined) {
        await this.blobs.delete(obsolete).catch((e: unknown) => warnings.push(`blob ${obsolete} not deleted (${(e as Error).message}); the startup check reports it`));
      }
      status = result.status;
      return { status: result.status, sopInstanceUid, blobKey: kept ? key : undefined, size: kept ? blob.size : 0, warnings };
    } catch (error) {
      await this.undo(key, putSettled, () => putFailed, inserting, unconfirmed);
      throw error;
    } finally {
      if (flushing) this.endFlushing(sopInstanceUid, flushing, status !== 'failed', status === 'inserted');
      if (timing) {
        timing.end = performance.now();
        storeChannel.publish({ sopInstanceUid, blobKey: key, status, unconfirmed, timing } satisfies StoreTrace);
      }
    }
  }

  private startFlushing(sopInstanceUid: string): Flushing {
    let settle!: (ok: boolean) => void;
    const entry: Flushing = { done: new Promise<boolean>((resolve) => { settle = resolve; }), settle: (ok) => settle(ok) };
    const set = this.flushing.get(sopInstanceUid) ?? new Set<Flushing>();
    this.flushing.set(sopInstanceUid, set.add(entry));
    return entry;
  }

  /**
   * Settles a store's entry (returns undefined: the caller's entry is done). A failed one stays; a
   * store that indexed the UID and succeeded also clears the failed ones before it.
   */
  private endFlushing(sopInstanceUid: string, entry: Flushing, ok: boolean, stored = false): undefined {
    entry.settle(ok);
    entry.failed = !ok;
    const set = this.flushing.get(sopInstanceUid);
    if (!set || !ok) return undefined;
    set.delete(entry);
    if (stored) for (const f of set) if (f.failed) set.delete(f);
    if (set.size === 0) this.flushing.delete(sopInstanceUid);
    return undefined;
  }

  /**
   * The index holds `sopInstanceUid` and a store is about to say so (duplicate kept or rejected):
   * if this process indexed it while its blob was being flushed, that flush must have succeeded
   * first, or the answer would claim an instance that a power loss could still take away.
   */
  private async heldDurably(sopInstanceUid: string): Promise<void> {
    const pending = this.flushing.get(sopInstanceUid);
    if (pending && (await Promise.all([...pending].map((f) => f.done))).includes(false)) {
      throw new DicomError('ERR_DICOM_STORAGE_IO', `the stored copy of ${sopInstanceUid} this one duplicates failed to be stored; send it again`);
    }
  }

  /**
   * A store failed: once its put and insert have settled, nothing of it may remain: an instance
   * indexed against a blob that failed is dropped (it is still marked unconfirmed: if the drop is
   * lost, the startup check drops it), a blob stored for an index write that failed is deleted.
   */
  private async undo(key: string, putSettled: Promise<void>, putFailed: () => boolean, inserting: Promise<InsertResult> | undefined, unconfirmed: boolean): Promise<void> {
    await putSettled;
    const result = await inserting?.catch(() => undefined);
    if (result !== undefined && (result.status === 'inserted' || result.status === 'overwritten')) {
      // Indexed with a durable blob: nothing to undo. Indexed against a blob that failed: dropped
      // (if the drop's commit fails too, the mark stays and the startup check removes the entry).
      if (!unconfirmed) return;
      if (await this.index.unconfirmedBlobs!.drop(key).then(() => false, () => true)) return;
    }
    // A failed put has removed what it wrote.
    if (!putFailed()) await this.blobs.delete(key).catch(() => undefined);
  }

  /** An instance's Part 10 bytes (whole: `from` 'file'; or only its data set, for C-GET / C-MOVE). */
  async openInstance(sopInstanceUid: string, from: 'file' | 'data-set' = 'file'): Promise<{ instance: StoredInstanceDetails; stream: Readable }> {
    const instance = await this.index.getInstance(sopInstanceUid);
    if (!instance) throw new DicomError('ERR_DICOM_STORAGE_NOT_FOUND', `instance ${sopInstanceUid} is not in the archive`);
    const stream = from === 'file' ? await this.blobs.get(instance.blobKey) : await this.blobs.getRange(instance.blobKey, instance.dataSetOffset, instance.size);
    return { instance, stream };
  }

  deleteInstance(sopInstanceUid: string): Promise<DeleteResult> {
    return this.deleted(this.index.deleteInstance(sopInstanceUid));
  }
  deleteSeries(seriesInstanceUid: string): Promise<DeleteResult> {
    return this.deleted(this.index.deleteSeries(seriesInstanceUid));
  }
  deleteStudy(studyInstanceUid: string): Promise<DeleteResult> {
    return this.deleted(this.index.deleteStudy(studyInstanceUid));
  }
  deletePatient(patientId: string, issuerOfPatientId?: string): Promise<DeleteResult> {
    return this.deleted(this.index.deletePatient(patientId, issuerOfPatientId));
  }

  /**
   * The startup consistency check: removes temporary files of interrupted writes, then compares
   * the blobs with the index. Meant for startup, before objects are accepted; run while stores are
   * under way, it leaves their blobs out of the comparison and temporary files in place.
   */
  async startupCheck(options: StartupCheckOptions = {}): Promise<StartupReport> {
    const limit = options.reportLimit ?? 100;
    this.touched = new Set(this.storing);
    try {
      const removedTemporaries = this.storing.size === 0 ? await this.blobs.recover() : [];
      const droppedUnconfirmed = await this.verifyUnconfirmed();
      const unreferenced = new Set<string>();
      for await (const key of this.blobs.list()) unreferenced.add(key);
      // The index is walked as a stream (it may hold millions of entries); only the count and the
      // first `limit` missing ones are kept.
      const missingBlobs: Array<{ blobKey: string; sopInstanceUid: string }> = [];
      let missingBlobCount = 0;
      for await (const entry of this.index.blobKeys()) {
        if (unreferenced.delete(entry.blobKey) || this.touched.has(entry.blobKey)) continue;
        if (missingBlobCount++ < limit) missingBlobs.push(entry);
      }
      const orphans = [...unreferenced].filter((key) => !this.touched!.has(key)).sort();
      unreferenced.clear();
      if (options.removeOrphanBlobs) for (const key of orphans) await this.blobs.delete(key);
      const strayFiles: string[] = [];
      let strayFileCount = 0;
      if (this.blobs.strays) for await (const path of this.blobs.strays()) if (strayFileCount++ < limit) strayFiles.push(path);
      return {
        removedTemporaries, droppedUnconfirmed,
        orphanBlobs: orphans.slice(0, limit), orphanBlobCount: orphans.length, orphanBlobsRemoved: options.removeOrphanBlobs === true,
        missingBlobs, missingBlobCount, strayFiles, strayFileCount,
      };
    } finally {
      this.touched = undefined;
    }
  }

  /**
   * The instances indexed with an unconfirmed blob (ADR 0013), stores under way left out: a blob of
   * the indexed size is kept and confirmed, any other is dropped with its entry.
   */
  private async verifyUnconfirmed(): Promise<StartupReport['droppedUnconfirmed']> {
    const marks = this.index.unconfirmedBlobs;
    if (!marks) return [];
    const dropped: Array<{ blobKey: string; sopInstanceUid: string; reason: string }> = [];
    const whole: string[] = [];
    for (const entry of await marks.list()) {
      if (this.touched!.has(entry.blobKey)) continue;
      let size: number | undefined;
      try {
        size = await this.blobs.size(entry.blobKey);
      } catch (error) {
        if ((error as DicomError).code !== 'ERR_DICOM_STORAGE_NOT_FOUND' && await this.blobs.exists(entry.blobKey)) throw error;
      }
      if (size === entry.size) {
        whole.push(entry.blobKey);
        continue;
      }
      await marks.drop(entry.blobKey);
      await this.blobs.delete(entry.blobKey).catch(() => undefined);
      dropped.push({ ...entry, reason: size === undefined ? 'its blob is missing' : `its blob holds ${size} of ${entry.size} bytes` });
    }
    marks.confirm(whole);
    return dropped;
  }

  async close(): Promise<void> {
    await this.index.close();
    await this.blobs.close();
  }

  private async deleted(pending: Promise<DeleteResult>): Promise<DeleteResult> {
    const result = await pending;
    for (const key of result.blobKeys) await this.blobs.delete(key).catch(() => undefined);
    return result;
  }
}

interface Flushing {
  readonly done: Promise<boolean>;
  readonly settle: (ok: boolean) => void;
  failed?: boolean;
}

function badObject(message: string, cause?: unknown): DicomError {
  return new DicomError('ERR_DICOM_STORAGE_BAD_OBJECT', message, cause === undefined ? {} : { cause });
}

/** The object stored could not be parsed (while it arrived, or read back from its blob). */
function doesNotParse(cause: unknown): DicomError {
  return badObject(`the stored object does not parse: ${(cause as Error).message}`, cause);
}

/**
 * The SOP Class and Instance UIDs of a C-STORE command must be those of its data set (the response
 * acknowledges the command's UID). A Part 10 file whose File Meta Information disagrees with its
 * data set is archived as it is, under the data set's UIDs, with a warning: real files do that
 * (pydicom's rtdose.dcm), and the data set is what C-FIND and retrieval speak about.
 */
function checkUids(input: StoreInput, meta: DataSet, dataSet: DataSet, warnings: string[]): void {
  const read = (ds: DataSet, tag: number) => {
    try {
      return ds.string(tag)?.trim() || undefined;
    } catch {
      return undefined;
    }
  };
  const inClass = read(dataSet, UID_TAGS.sopClass);
  const inInstance = read(dataSet, UID_TAGS.sopInstance);
  if ('dataSet' in input) {
    if (inInstance !== undefined && inInstance !== input.sopInstanceUid) {
      throw badObject(`the data set's SOP Instance UID ${inInstance} is not the ${input.sopInstanceUid} it was sent as`);
    }
    if (inClass !== undefined && inClass !== input.sopClassUid) {
      throw badObject(`the data set's SOP Class UID ${inClass} is not the ${input.sopClassUid} it was sent as`);
    }
    return;
  }
  if (meta.size === 0) throw badObject('not a Part 10 file: it has no File Meta Information');
  const metaInstance = read(meta, UID_TAGS.metaSopInstance);
  const metaClass = read(meta, UID_TAGS.metaSopClass);
  if (metaInstance !== undefined && inInstance !== undefined && metaInstance !== inInstance) {
    warnings.push(`Media Storage SOP Instance UID ${metaInstance} differs from the data set's SOP Instance UID ${inInstance}; archived as ${inInstance}`);
  }
  if (metaClass !== undefined && inClass !== undefined && metaClass !== inClass) {
    warnings.push(`Media Storage SOP Class UID ${metaClass} differs from the data set's SOP Class UID ${inClass}; archived as ${inClass}`);
  }
}
