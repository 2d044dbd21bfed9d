/**
 * The built-in IndexStore: SQLite through better-sqlite3 (ADR 0006), schema in schema.ts, searches
 * in find.ts.
 *
 * Durability: journal_mode=WAL, and by default ('FULL') a write resolves only once its transaction's
 * log is on disk, so a resolved insertInstance() survives a power loss. The log is flushed by this
 * store (fdatasync of the -wal file on Node's thread pool, shared by the batches committed while one
 * runs: group-sync.ts) with SQLite itself at synchronous=NORMAL, which keeps the database consistent
 * and flushes before checkpoints; the event loop keeps receiving while the flush runs, where
 * SQLite's own FULL would block it for the whole fsync (walSync 'sqlite' still does that). With
 * synchronous=NORMAL and no flush of our own a WAL database stays consistent but may lose the last
 * commits: offered for measurements and deployments that accept that. Writes go through a
 * group-commit queue (commit-queue.ts).
 *
 * Patient identity: Patient ID + Issuer of Patient ID (both '' when absent) is the patient's key.
 * A study keeps the patient it was first indexed under: an instance of a known study that names
 * another patient is indexed in that study and a warning is recorded; likewise differing patient,
 * study or series attributes leave the first values in place, with a warning (ADR 0007).
 */
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { DicomError } from '../../core/dicom-error.js';
import type { Query, QueryLevel } from '../../query/query.js';
import type { AttributeRecord, AttributeValue, EntityRecord } from '../../query/record.js';
import { columnValueList } from '../../query/sql.js';
import type {
  DeleteResult, DuplicatePolicy, FindOptions, IndexStats, IndexStore, IndexWarning, InsertOptions, InsertResult, InstanceIndexRecord,
  InstanceMetadata, StoredInstance, StoredInstanceDetails,
} from '../ports.js';
import { GroupSync } from '../group-sync.js';
import { storageError } from '../storage-error.js';
import { openDatabase, type Database, type Statement } from './better-sqlite3.js';
import { CommitQueue, type CommitQueueStats, type GroupCommitOptions } from './commit-queue.js';
import { countEntities, decodeMetadata, EntityLoader, findEntities, StatementCache } from './find.js';
import { attributeColumns, multiValued, prepareSchema, splitMultiValued, studyModalities, studySopClasses } from './schema.js';
import { SqliteUnconfirmedBlobs } from './unconfirmed-blobs.js';

export interface SqliteIndexStoreOptions {
  /** The database file (created if missing), or ':memory:'. */
  readonly path: string;
  /** Durability of a commit; default 'FULL' (see the module comment). */
  readonly synchronous?: 'FULL' | 'NORMAL' | 'OFF';
  /**
   * With 'FULL', who flushes the write-ahead log after a commit: 'thread-pool' (default for a
   * file: SQLite runs with synchronous=NORMAL and the store fdatasyncs the log on Node's thread pool
   * before the writes resolve, so the event loop goes on meanwhile and concurrent batches share the
   * flush) or 'sqlite' (PRAGMA synchronous=FULL: SQLite fsyncs inside COMMIT, blocking the loop).
   */
  readonly walSync?: 'thread-pool' | 'sqlite';
  /** Group commit (default: on, maxDelayMs 2, maxBatch 256; commit-queue.ts), or false for one transaction per write. */
  readonly groupCommit?: GroupCommitOptions | false;
  /**
   * Deflate the stored metadata JSON (default false). Deflating a CT header's ~3 KB of JSON
   * (level 1) shrinks it ~3.4 times but cost 0.3 ms of the event loop per instance, most of it
   * setting up the zlib stream, on the path of every C-STORE and STOW-RS; plain text is also read
   * back without an inflate (WADO-RS metadata, C-FIND of attributes no level record holds). Rows
   * written either way are read.
   */
  readonly compressMetadata?: boolean;
  /** SQLite page cache in MiB (default 64). */
  readonly cacheMiB?: number;
}

interface InstanceRow { pk: number; series_pk: number; study_pk: number; blob_key: string; size: number }
interface StudyRow { pk: number; patient_pk: number; attributes: string; modalities_in_study: string | null; sop_classes_in_study: string | null }
interface StudyWithPatientRow extends StudyRow { key_patient_id: string; key_issuer: string; patient_attributes: string }
interface PatientRow { pk: number; key_patient_id: string; key_issuer: string; attributes: string }
interface SeriesRow { pk: number; study_pk: number; attributes: string }

const RETRIEVE_ORDER = 'ORDER BY study.pk, series.series_number IS NULL, series.series_number, series.pk, instance.instance_number IS NULL, instance.instance_number, instance.pk';
const RETRIEVE_SELECT = `SELECT instance.sop_instance_uid AS sopInstanceUid, instance.sop_class_uid AS sopClassUid, instance.transfer_syntax_uid AS transferSyntaxUid,
  series.series_instance_uid AS seriesInstanceUid, study.study_instance_uid AS studyInstanceUid, instance.blob_key AS blobKey, instance.size AS size,
  instance.data_set_offset AS dataSetOffset
  FROM instance JOIN series ON series.pk = instance.series_pk JOIN study ON study.pk = instance.study_pk`;
const RETRIEVE_WHERE: Readonly<Record<QueryLevel, string>> = {
  PATIENT: 'study.patient_pk IN (SELECT pk FROM patient WHERE key_patient_id IN (SELECT value FROM json_each(?)))',
  STUDY: 'study.study_instance_uid IN (SELECT value FROM json_each(?))',
  SERIES: 'series.series_instance_uid IN (SELECT value FROM json_each(?))',
  IMAGE: 'instance.sop_instance_uid IN (SELECT value FROM json_each(?))',
};

export class SqliteIndexStore implements IndexStore {
  readonly db: Database;
  private readonly queue: CommitQueue;
  private readonly statements: StatementCache;
  private readonly loader: EntityLoader;
  private readonly compress: boolean;
  private readonly s: ReturnType<typeof prepareStatements>;
  private open = true;
  /** Instances indexed before their blob was durable (ADR 0013). */
  readonly unconfirmedBlobs: SqliteUnconfirmedBlobs;
  /** The write-ahead log's flush when this store makes commits durable itself (walSync 'thread-pool'). */
  private readonly wal: { readonly path: string; fd?: number; readonly group: GroupSync } | undefined;

  /** Opens (creating, migrating) the index. */
  constructor(options: SqliteIndexStoreOptions) {
    this.db = openDatabase(options.path);
    const synchronous = options.synchronous ?? 'FULL';
    const onDisk = options.path !== ':memory:' && options.path !== '';
    if (synchronous === 'FULL' && onDisk && (options.walSync ?? 'thread-pool') === 'thread-pool') {
      const wal = { path: `${options.path}-wal`, fd: undefined as number | undefined, group: new GroupSync(() => fdatasyncAsync(this.walFd())) };
      this.wal = wal;
    }
    try {
      this.db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode: no flush inside COMMIT (the log is flushed before checkpoints, and its
      // header when it is reused); with walSync 'thread-pool' every commit is flushed by the store.
      this.db.pragma(`synchronous = ${this.wal ? 'NORMAL' : synchronous}`);
      this.db.pragma('foreign_keys = ON');
      this.db.pragma(`cache_size = ${-1024 * (options.cacheMiB ?? 64)}`);
      this.db.pragma('busy_timeout = 5000');
      prepareSchema(this.db);
    } catch (cause) {
      this.db.close();
      throw storageError('ERR_DICOM_STORAGE_INDEX', 'cannot prepare the index database', cause);
    }
    this.compress = options.compressMetadata ?? false;
    this.s = prepareStatements(this.db);
    this.statements = new StatementCache(this.db);
    this.loader = new EntityLoader(this.db);
    const savepoint = this.db.transaction((work: () => unknown) => work());
    this.unconfirmedBlobs = new SqliteUnconfirmedBlobs(this.db, {
      write: (work) => this.write(work),
      removeByBlobKey: (blobKey) => this.removeInstances(this.s.instancesByBlobKey.all(blobKey)),
    });
    let forgotten: readonly string[] = [];
    const batch = this.db.transaction((body: () => void) => {
      forgotten = this.unconfirmedBlobs.forgetConfirmed();
      body();
    });
    const runBatch = (body: () => void): void => {
      forgotten = [];
      try {
        batch.immediate(body);
      } catch (error) {
        // Rolled back, by a write or at COMMIT: the confirmations it took along go with the next commit.
        this.unconfirmedBlobs.confirm(forgotten);
        throw error;
      }
    };
    this.queue = new CommitQueue(
      runBatch,
      <T>(work: () => T) => savepoint(work) as T,
      options.groupCommit ?? {},
      this.wal ? () => this.wal!.group.sync() : undefined,
    );
  }

  /** The write-ahead log, opened once (the connection stays open, so SQLite never deletes it meanwhile). */
  private walFd(): number {
    const wal = this.wal!;
    wal.fd ??= openSync(wal.path, 'r+');
    return wal.fd;
  }

  /** Batches committed so far and their sizes (group commit at work). */
  get commitStats(): CommitQueueStats {
    return this.queue.stats;
  }

  insertInstance(record: InstanceIndexRecord, policy: DuplicatePolicy, options: InsertOptions = {}): Promise<InsertResult> {
    // Compressed (when asked) here, synchronously: the thread pool's deflate measured slower, its
    // callbacks breaking up the batches.
    const metadata = this.prepareMetadata(record);
    return this.write(() => this.insertOne(record, policy, metadata, options.blobUnconfirmed === true));
  }

  /**
   * Indexes records in transactions of `batchSize`, synchronously, without the queue: for bulk
   * imports (bench/index-scale.mjs) and rebuilding an index. Returns the statuses.
   */
  importInstances(records: Iterable<InstanceIndexRecord>, policy: DuplicatePolicy = 'keep', batchSize = 10_000): InsertResult[] {
    this.checkOpen();
    this.queue.flush();
    const out: InsertResult[] = [];
    let batch: InstanceIndexRecord[] = [];
    const run = this.db.transaction((rs: InstanceIndexRecord[]) => {
      for (const r of rs) out.push(this.insertOne(r, policy, this.prepareMetadata(r)));
    });
    for (const r of records) {
      batch.push(r);
      if (batch.length >= batchSize) {
        run.immediate(batch);
        batch = [];
      }
    }
    if (batch.length) run.immediate(batch);
    if (this.wal && out.length > 0) fdatasyncSync(this.walFd());
    return out;
  }

  find(query: Query, level: QueryLevel, options: FindOptions = {}): AsyncIterable<EntityRecord> {
    this.checkOpen();
    return findEntities(this.statements, this.loader, query, level, options, () => this.open);
  }

  async count(query: Query, level: QueryLevel): Promise<number> {
    this.checkOpen();
    return countEntities(this.statements, this.loader, query, level, () => this.open);
  }

  async instancesFor(level: QueryLevel, uids: string | readonly string[]): Promise<StoredInstance[]> {
    this.checkOpen();
    const list = typeof uids === 'string' ? [uids] : [...uids];
    return this.statements.get(`${RETRIEVE_SELECT} WHERE ${RETRIEVE_WHERE[level]} ${RETRIEVE_ORDER}`).all(JSON.stringify(list)) as unknown as StoredInstance[];
  }

  async getInstance(sopInstanceUid: string): Promise<StoredInstanceDetails | undefined> {
    this.checkOpen();
    const row = this.s.instanceDetails.get(sopInstanceUid);
    if (!row) return undefined;
    const { receivedAt, sourceAet, ...rest } = row;
    return { ...rest, sourceAet: sourceAet ?? undefined, receivedAt: new Date(receivedAt) };
  }

  async hasInstance(sopInstanceUid: string): Promise<boolean> {
    this.checkOpen();
    return this.s.instanceExists.get(sopInstanceUid) !== undefined;
  }

  async *instanceMetadata(studyInstanceUid: string, options: { seriesInstanceUid?: string } = {}): AsyncIterable<InstanceMetadata> {
    this.checkOpen();
    const stmt = options.seriesInstanceUid === undefined ? this.s.metadataOfStudy : this.s.metadataOfSeries;
    const scope = options.seriesInstanceUid ?? studyInstanceUid;
    let last = 0;
    for (;;) {
      if (!this.open) return;
      const rows = options.seriesInstanceUid === undefined ? stmt.all(scope, last, 200) : stmt.all(studyInstanceUid, scope, last, 200);
      for (const r of rows) {
        last = r.pk;
        yield { sopInstanceUid: r.sopInstanceUid, seriesInstanceUid: r.seriesInstanceUid, json: decodeMetadata(r.encoding, r.json) };
      }
      if (rows.length < 200) return;
    }
  }

  deleteInstance(sopInstanceUid: string): Promise<DeleteResult> {
    return this.write(() => this.removeInstances(this.s.instancesByUid.all(sopInstanceUid)));
  }
  deleteSeries(seriesInstanceUid: string): Promise<DeleteResult> {
    return this.write(() => this.removeInstances(this.s.instancesBySeries.all(seriesInstanceUid)));
  }
  deleteStudy(studyInstanceUid: string): Promise<DeleteResult> {
    return this.write(() => this.removeInstances(this.s.instancesByStudy.all(studyInstanceUid)));
  }
  deletePatient(patientId: string, issuerOfPatientId = ''): Promise<DeleteResult> {
    return this.write(() => this.removeInstances(this.s.instancesByPatient.all(patientId, issuerOfPatientId)));
  }

  async *blobKeys(): AsyncIterable<{ blobKey: string; sopInstanceUid: string }> {
    this.checkOpen();
    let last = 0;
    for (;;) {
      const rows = this.s.blobKeys.all(last, 5000);
      for (const r of rows) {
        last = r.pk;
        yield { blobKey: r.blob_key, sopInstanceUid: r.sop_instance_uid };
      }
      if (rows.length < 5000) return;
    }
  }

  async warnings(options: { limit?: number } = {}): Promise<IndexWarning[]> {
    this.checkOpen();
    return this.s.warnings.all(options.limit ?? 100).map((r) => ({
      level: r.level as QueryLevel, uid: r.uid, message: r.message, count: r.count, first: new Date(r.first_at), last: new Date(r.last_at),
    }));
  }

  async stats(): Promise<IndexStats> {
    this.checkOpen();
    const t = this.s.totals.get()!;
    return { patients: t.patients, studies: t.studies, series: t.series, instances: t.instances, totalSize: t.total_size };
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.queue.close();
    this.open = false;
    // Confirmations no commit took along: not flushed, which is harmless (ADR 0013).
    if (this.unconfirmedBlobs.pendingConfirmations > 0) {
      try {
        this.db.transaction(() => this.unconfirmedBlobs.forgetConfirmed()).immediate();
      } catch {
        // the startup check verifies those blobs again
      }
    }
    if (this.wal?.fd !== undefined) {
      // The last batches' flushes (their writes settle with them), then the log's descriptor.
      await this.wal.group.sync().catch(() => undefined);
      closeSync(this.wal.fd);
      this.wal.fd = undefined;
    }
    this.db.close();
  }

  // ---- writing ----

  /** Runs `work` through the commit queue; settles when the transaction holding it has committed. */
  private write<T>(work: () => T): Promise<T> {
    if (!this.open) return Promise.reject(new DicomError('ERR_DICOM_STORAGE_CLOSED', 'the index is closed'));
    return this.queue.submit(work).catch((cause: unknown) => {
      throw storageError('ERR_DICOM_STORAGE_INDEX', 'index write failed', cause);
    });
  }

  private prepareMetadata(r: InstanceIndexRecord): Uint8Array | string | undefined {
    if (r.metadata === undefined || !this.compress) return r.metadata;
    return deflateRawSync(Buffer.from(r.metadata, 'utf8'), { level: 1 });
  }

  private checkOpen(): void {
    if (!this.open) throw new DicomError('ERR_DICOM_STORAGE_CLOSED', 'the index is closed');
  }

  private insertOne(r: InstanceIndexRecord, policy: DuplicatePolicy, metadata: Uint8Array | string | undefined, blobUnconfirmed = false): InsertResult {
    const warnings: string[] = [];
    const now = r.receivedAt.toISOString();
    const existing = this.s.instancesByUid.get(r.sopInstanceUid);
    let replacedBlobKey: string | undefined;
    if (existing) {
      if (policy === 'keep') return { status: 'duplicate-kept', warnings };
      if (policy === 'reject') return { status: 'rejected', warnings };
      this.removeInstances([existing]);
      if (existing.blob_key !== r.blobKey) replacedBlobKey = existing.blob_key;
    }
    const s = this.s;
    // Study, and through it the patient.
    // A known study comes with its patient (one statement: this runs for every instance stored).
    let study: StudyRow | undefined = s.studyWithPatientByUid.get(r.studyInstanceUid);
    let patientPk: number;
    if (study) {
      patientPk = study.patient_pk;
      const patient = study as StudyWithPatientRow;
      if (patient.key_patient_id !== r.patientId || patient.key_issuer !== r.issuerOfPatientId) {
        this.warn(warnings, 'STUDY', r.studyInstanceUid, `arrived with Patient ID ${show(r.patientId)} (issuer ${show(r.issuerOfPatientId)}) but is indexed under Patient ID ${show(patient.key_patient_id)} (issuer ${show(patient.key_issuer)}); the study keeps its patient`, now);
      } else this.compare('PATIENT', patientLabel(patient.key_patient_id, patient.key_issuer), patient.patient_attributes, r.patient, warnings, now);
      this.compare('STUDY', r.studyInstanceUid, study.attributes, r.study, warnings, now);
    } else {
      const patient = s.patientByKey.get(r.patientId, r.issuerOfPatientId);
      if (patient) {
        patientPk = patient.pk;
        this.compare('PATIENT', patientLabel(r.patientId, r.issuerOfPatientId), patient.attributes, r.patient, warnings, now);
      } else {
        patientPk = Number(s.insertPatient.run(r.patientId, r.issuerOfPatientId, ...columnValueList('PATIENT', r.patient), JSON.stringify(r.patient), now).lastInsertRowid);
        s.addTotals.run(1, 0, 0, 0, 0);
      }
      const studyValues = columnValueList('STUDY', r.study);
      const pk = Number(s.insertStudy.run(patientPk, ...studyValues, JSON.stringify(r.study), now).lastInsertRowid);
      s.patientCounts.run(1, 0, 0, patientPk);
      s.addTotals.run(0, 1, 0, 0, 0);
      study = { pk, patient_pk: patientPk, attributes: '', modalities_in_study: null, sop_classes_in_study: null };
    }
    // Series.
    const series = s.seriesByUid.get(r.seriesInstanceUid);
    let seriesPk: number;
    if (series) {
      if (series.study_pk !== study.pk) {
        const other = s.studyUidByPk.get(series.study_pk)?.uid ?? '?';
        throw new DicomError('ERR_DICOM_STORAGE_CONFLICT', `series ${r.seriesInstanceUid} of instance ${r.sopInstanceUid} is indexed under study ${other}, not under ${r.studyInstanceUid}`);
      }
      seriesPk = series.pk;
      this.compare('SERIES', r.seriesInstanceUid, series.attributes, r.series, warnings, now);
    } else {
      seriesPk = Number(s.insertSeries.run(study.pk, ...columnValueList('SERIES', r.series), JSON.stringify(r.series), now).lastInsertRowid);
      s.studyCounts.run(1, 0, study.pk);
      s.patientCounts.run(0, 1, 0, patientPk);
      s.addTotals.run(0, 0, 1, 0, 0);
      const modality = firstText(r.series['Modality']);
      const modalities = splitMultiValued(study.modalities_in_study);
      if (modality && !modalities.includes(modality)) s.studyModalities.run(multiValued([...modalities, modality]), study.pk);
    }
    // Instance.
    const instancePk = Number(s.insertInstance.run(
      seriesPk, study.pk, ...columnValueList('IMAGE', r.instance), JSON.stringify(r.instance), r.blobKey, r.transferSyntaxUid, r.size,
      r.dataSetOffset, r.sourceAet ?? null, now,
    ).lastInsertRowid);
    if (metadata !== undefined) s.insertMetadata.run(instancePk, typeof metadata === 'string' ? 'identity' : 'deflate', metadata);
    if (blobUnconfirmed) this.unconfirmedBlobs.mark(r.blobKey);
    s.seriesCounts.run(1, seriesPk);
    s.studyCounts.run(0, 1, study.pk);
    s.patientCounts.run(0, 0, 1, patientPk);
    s.addTotals.run(0, 0, 0, 1, r.size);
    const sopClasses = splitMultiValued(study.sop_classes_in_study);
    if (!sopClasses.includes(r.sopClassUid)) s.studySopClasses.run(multiValued([...sopClasses, r.sopClassUid]), study.pk);
    // Two literals, not a conditional spread: one hidden class each (ADR 0022).
    if (replacedBlobKey !== undefined) return { status: 'overwritten', replacedBlobKey, warnings };
    return { status: existing ? 'overwritten' : 'inserted', warnings };
  }

  /**
   * Removes instances and, when they were the last of their series, study or patient, those too,
   * keeping every counter and derived column right. Returns their blob keys.
   */
  private removeInstances(rows: readonly InstanceRow[]): DeleteResult {
    const s = this.s;
    const bySeries = new Map<number, { study: number; n: number }>();
    const byStudy = new Map<number, { n: number; size: number }>();
    for (const row of rows) {
      s.deleteMetadata.run(row.pk);
      s.deleteInstance.run(row.pk);
      const se = bySeries.get(row.series_pk) ?? { study: row.study_pk, n: 0 };
      se.n++;
      bySeries.set(row.series_pk, se);
      const st = byStudy.get(row.study_pk) ?? { n: 0, size: 0 };
      st.n++;
      st.size += row.size;
      byStudy.set(row.study_pk, st);
    }
    const emptiedSeries = new Map<number, number>();
    for (const [seriesPk, { study, n }] of bySeries) {
      s.seriesCounts.run(-n, seriesPk);
      if (s.seriesCount.get(seriesPk)!.n <= 0) {
        s.deleteSeries.run(seriesPk);
        emptiedSeries.set(study, (emptiedSeries.get(study) ?? 0) + 1);
      }
    }
    for (const [studyPk, { n, size }] of byStudy) {
      const lostSeries = emptiedSeries.get(studyPk) ?? 0;
      const patientPk = s.studyPatient.get(studyPk)!.patient_pk;
      s.studyCounts.run(-lostSeries, -n, studyPk);
      s.patientCounts.run(0, -lostSeries, -n, patientPk);
      s.addTotals.run(0, 0, -lostSeries, -n, -size);
      if (s.studyCount.get(studyPk)!.n <= 0) {
        s.deleteStudy.run(studyPk);
        s.patientCounts.run(-1, 0, 0, patientPk);
        s.addTotals.run(0, -1, 0, 0, 0);
        if (s.patientCount.get(patientPk)!.n <= 0) {
          s.deletePatient.run(patientPk);
          s.addTotals.run(-1, 0, 0, 0, 0);
        }
      } else {
        s.studyDerived.run(multiValued(studyModalities(this.db, studyPk)), multiValued(studySopClasses(this.db, studyPk)), studyPk);
      }
    }
    return { instances: rows.length, blobKeys: rows.map((r) => r.blob_key) };
  }

  /** Warns about each attribute of `received` that differs from the stored record (which is kept). */
  private compare(level: QueryLevel, uid: string, storedJson: string, received: AttributeRecord, warnings: string[], now: string): void {
    if (storedJson === JSON.stringify(received)) return;
    const stored = JSON.parse(storedJson) as AttributeRecord;
    // A zero-length value and an absent attribute are the same to matching (PS3.4 C.2.2.2.7).
    const shown = (v: AttributeValue) => (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0) ? '(no value)' : JSON.stringify(v));
    for (const key of new Set([...Object.keys(stored), ...Object.keys(received)])) {
      const before = shown(stored[key]);
      const after = shown(received[key]);
      if (before !== after) this.warn(warnings, level, uid, `${key} received as ${clip(after)} differs from the indexed ${clip(before)}; the indexed value is kept`, now);
    }
  }

  private warn(warnings: string[], level: QueryLevel, uid: string, message: string, now: string): void {
    this.s.warn.run(level, uid, message, now, now);
    warnings.push(`${level} ${uid}: ${message}`);
  }
}

function prepareStatements(db: Database) {
  const cols = (level: QueryLevel) => attributeColumns(level);
  const marks = (n: number) => new Array(n).fill('?').join(', ');
  const insert = (table: string, fixed: readonly string[], level: QueryLevel, tail: readonly string[]) => {
    const names = [...fixed, ...cols(level), ...tail];
    return db.prepare(`INSERT INTO ${table} (${names.join(', ')}) VALUES (${marks(names.length)})`);
  };
  return {
    instancesByUid: db.prepare<InstanceRow>('SELECT pk, series_pk, study_pk, blob_key, size FROM instance WHERE sop_instance_uid = ?'),
    instanceExists: db.prepare<{ pk: number }>('SELECT pk FROM instance WHERE sop_instance_uid = ?'),
    instancesByBlobKey: db.prepare<InstanceRow>('SELECT pk, series_pk, study_pk, blob_key, size FROM instance WHERE blob_key = ?'),
    instancesBySeries: db.prepare<InstanceRow>('SELECT pk, series_pk, study_pk, blob_key, size FROM instance WHERE series_pk = (SELECT pk FROM series WHERE series_instance_uid = ?) ORDER BY pk'),
    instancesByStudy: db.prepare<InstanceRow>('SELECT pk, series_pk, study_pk, blob_key, size FROM instance WHERE study_pk = (SELECT pk FROM study WHERE study_instance_uid = ?) ORDER BY pk'),
    instancesByPatient: db.prepare<InstanceRow>(`SELECT instance.pk, instance.series_pk, instance.study_pk, instance.blob_key, instance.size FROM instance
      JOIN study ON study.pk = instance.study_pk JOIN patient ON patient.pk = study.patient_pk WHERE patient.key_patient_id = ? AND patient.key_issuer = ? ORDER BY instance.pk`),
    studyWithPatientByUid: db.prepare<StudyWithPatientRow>(`SELECT study.pk, study.patient_pk, study.attributes, study.modalities_in_study, study.sop_classes_in_study,
      patient.key_patient_id, patient.key_issuer, patient.attributes AS patient_attributes
      FROM study JOIN patient ON patient.pk = study.patient_pk WHERE study.study_instance_uid = ?`),
    studyUidByPk: db.prepare<{ uid: string }>('SELECT study_instance_uid AS uid FROM study WHERE pk = ?'),
    studyPatient: db.prepare<{ patient_pk: number }>('SELECT patient_pk FROM study WHERE pk = ?'),
    patientByKey: db.prepare<PatientRow>('SELECT pk, key_patient_id, key_issuer, attributes FROM patient WHERE key_patient_id = ? AND key_issuer = ?'),
    seriesByUid: db.prepare<SeriesRow>('SELECT pk, study_pk, attributes FROM series WHERE series_instance_uid = ?'),
    insertPatient: insert('patient', ['key_patient_id', 'key_issuer'], 'PATIENT', ['attributes', 'created_at']),
    insertStudy: insert('study', ['patient_pk'], 'STUDY', ['attributes', 'created_at']),
    insertSeries: insert('series', ['study_pk'], 'SERIES', ['attributes', 'created_at']),
    insertInstance: insert('instance', ['series_pk', 'study_pk'], 'IMAGE', ['attributes', 'blob_key', 'transfer_syntax_uid', 'size', 'data_set_offset', 'source_aet', 'received_at']),
    insertMetadata: db.prepare('INSERT INTO instance_metadata (instance_pk, encoding, json) VALUES (?, ?, ?)'),
    patientCounts: db.prepare('UPDATE patient SET number_of_studies = number_of_studies + ?, number_of_series = number_of_series + ?, number_of_instances = number_of_instances + ? WHERE pk = ?'),
    studyCounts: db.prepare('UPDATE study SET number_of_series = number_of_series + ?, number_of_instances = number_of_instances + ? WHERE pk = ?'),
    seriesCounts: db.prepare('UPDATE series SET number_of_instances = number_of_instances + ? WHERE pk = ?'),
    studyModalities: db.prepare('UPDATE study SET modalities_in_study = ? WHERE pk = ?'),
    studySopClasses: db.prepare('UPDATE study SET sop_classes_in_study = ? WHERE pk = ?'),
    studyDerived: db.prepare('UPDATE study SET modalities_in_study = ?, sop_classes_in_study = ? WHERE pk = ?'),
    addTotals: db.prepare('UPDATE totals SET patients = patients + ?, studies = studies + ?, series = series + ?, instances = instances + ?, total_size = total_size + ? WHERE id = 1'),
    seriesCount: db.prepare<{ n: number }>('SELECT number_of_instances AS n FROM series WHERE pk = ?'),
    studyCount: db.prepare<{ n: number }>('SELECT number_of_instances AS n FROM study WHERE pk = ?'),
    patientCount: db.prepare<{ n: number }>('SELECT number_of_studies AS n FROM patient WHERE pk = ?'),
    deleteMetadata: db.prepare('DELETE FROM instance_metadata WHERE instance_pk = ?'),
    deleteInstance: db.prepare('DELETE FROM instance WHERE pk = ?'),
    deleteSeries: db.prepare('DELETE FROM series WHERE pk = ?'),
    deleteStudy: db.prepare('DELETE FROM study WHERE pk = ?'),
    deletePatient: db.prepare('DELETE FROM patient WHERE pk = ?'),
    warn: db.prepare(`INSERT INTO index_warning (level, uid, message, first_at, last_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (level, uid, message) DO UPDATE SET count = count + 1, last_at = excluded.last_at`),
    warnings: db.prepare<{ level: string; uid: string; message: string; count: number; first_at: string; last_at: string }>(
      'SELECT level, uid, message, count, first_at, last_at FROM index_warning ORDER BY last_at DESC, pk DESC LIMIT ?'),
    totals: db.prepare<{ patients: number; studies: number; series: number; instances: number; total_size: number }>('SELECT patients, studies, series, instances, total_size FROM totals WHERE id = 1'),
    blobKeys: db.prepare<{ pk: number; blob_key: string; sop_instance_uid: string }>('SELECT pk, blob_key, sop_instance_uid FROM instance WHERE pk > ? ORDER BY pk LIMIT ?'),
    instanceDetails: db.prepare<{
      sopInstanceUid: string; sopClassUid: string; transferSyntaxUid: string; seriesInstanceUid: string; studyInstanceUid: string; blobKey: string;
      size: number; dataSetOffset: number; patientId: string; issuerOfPatientId: string; sourceAet: string | null; receivedAt: string;
    }>(`SELECT instance.sop_instance_uid AS sopInstanceUid, instance.sop_class_uid AS sopClassUid, instance.transfer_syntax_uid AS transferSyntaxUid,
      series.series_instance_uid AS seriesInstanceUid, study.study_instance_uid AS studyInstanceUid, instance.blob_key AS blobKey, instance.size AS size,
      instance.data_set_offset AS dataSetOffset, patient.key_patient_id AS patientId, patient.key_issuer AS issuerOfPatientId, instance.source_aet AS sourceAet, instance.received_at AS receivedAt
      FROM instance JOIN series ON series.pk = instance.series_pk JOIN study ON study.pk = instance.study_pk JOIN patient ON patient.pk = study.patient_pk
      WHERE instance.sop_instance_uid = ?`),
    metadataOfStudy: db.prepare<{ pk: number; sopInstanceUid: string; seriesInstanceUid: string; encoding: string; json: Uint8Array | string }>(
      `SELECT instance.pk AS pk, instance.sop_instance_uid AS sopInstanceUid, series.series_instance_uid AS seriesInstanceUid, m.encoding AS encoding, m.json AS json
      FROM instance JOIN series ON series.pk = instance.series_pk JOIN instance_metadata m ON m.instance_pk = instance.pk
      WHERE instance.study_pk = (SELECT pk FROM study WHERE study_instance_uid = ?) AND instance.pk > ? ORDER BY instance.pk LIMIT ?`),
    metadataOfSeries: db.prepare<{ pk: number; sopInstanceUid: string; seriesInstanceUid: string; encoding: string; json: Uint8Array | string }>(
      `SELECT instance.pk AS pk, instance.sop_instance_uid AS sopInstanceUid, series.series_instance_uid AS seriesInstanceUid, m.encoding AS encoding, m.json AS json
      FROM instance JOIN series ON series.pk = instance.series_pk JOIN study ON study.pk = instance.study_pk JOIN instance_metadata m ON m.instance_pk = instance.pk
      WHERE study.study_instance_uid = ? AND series.series_instance_uid = ? AND instance.pk > ? ORDER BY instance.pk LIMIT ?`),
  } satisfies Record<string, Statement<any>>;
}

function firstText(v: AttributeValue): string | undefined {
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' && first !== '' ? first : undefined;
}

function patientLabel(id: string, issuer: string): string {
  const who = id === '' ? '(no Patient ID)' : id;
  return issuer ? `${who} (issuer ${issuer})` : who;
}

function show(text: string): string {
  return JSON.stringify(text);
}

function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}
