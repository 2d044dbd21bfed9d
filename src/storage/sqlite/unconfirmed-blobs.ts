/**
 * The SQLite side of ADR 0013: the blob keys of instances indexed while their blob was still being
 * flushed, in the table unconfirmed_blob, written in the instance's own transaction. A confirmed
 * key is deleted with the next transaction that commits anyway (or at close): no commit of its
 * own. A mark outliving its confirmation (a crash before that commit) only makes the startup check
 * look at a whole blob once more.
 */
import type { DeleteResult, UnconfirmedBlob, UnconfirmedBlobs } from '../ports.js';
import type { Database, Statement } from './better-sqlite3.js';

/** What the marks need from the index store: its write queue and its instance removal. */
export interface UnconfirmedBlobsHost {
  write<T>(work: () => T): Promise<T>;
  removeByBlobKey(blobKey: string): DeleteResult;
}

export class SqliteUnconfirmedBlobs implements UnconfirmedBlobs {
  private confirmed: string[] = [];
  private readonly s: {
    mark: Statement;
    forget: Statement;
    forgetOne: Statement;
    marked: Statement<{ n: number }>;
    list: Statement<{ blobKey: string; sopInstanceUid: string | null; size: number | null }>;
  };

  constructor(private readonly db: Database, private readonly host: UnconfirmedBlobsHost) {
    this.s = {
      mark: db.prepare('INSERT OR IGNORE INTO unconfirmed_blob (blob_key) VALUES (?)'),
      forget: db.prepare('DELETE FROM unconfirmed_blob WHERE blob_key IN (SELECT value FROM json_each(?))'),
      forgetOne: db.prepare('DELETE FROM unconfirmed_blob WHERE blob_key = ?'),
      marked: db.prepare<{ n: number }>('SELECT count(*) AS n FROM unconfirmed_blob WHERE blob_key = ?'),
      list: db.prepare(`SELECT u.blob_key AS blobKey, i.sop_instance_uid AS sopInstanceUid, i.size AS size
        FROM unconfirmed_blob u LEFT JOIN instance i ON i.blob_key = u.blob_key ORDER BY u.blob_key`),
    };
  }

  /** Inside the instance's transaction. */
  mark(blobKey: string): void {
    this.s.mark.run(blobKey);
  }

  /**
   * Inside any transaction about to commit: the confirmed marks go with it. Returns their keys, for
   * `confirm()` again should that transaction roll back.
   */
  forgetConfirmed(): readonly string[] {
    if (this.confirmed.length === 0) return [];
    const keys = this.confirmed;
    this.confirmed = [];
    // One key (one association storing) by its primary key: a fifth of the json_each form's cost.
    if (keys.length === 1) this.s.forgetOne.run(keys[0]);
    else this.s.forget.run(JSON.stringify(keys));
    return keys;
  }

  confirm(blobKeys: readonly string[]): void {
    this.confirmed.push(...blobKeys);
  }

  get pendingConfirmations(): number {
    return this.confirmed.length;
  }

  async list(): Promise<UnconfirmedBlob[]> {
    const rows = this.s.list.all();
    const orphaned = rows.filter((r) => r.sopInstanceUid === null).map((r) => r.blobKey);
    if (orphaned.length) this.db.transaction(() => this.s.forget.run(JSON.stringify(orphaned))).immediate();
    return rows.filter((r) => r.sopInstanceUid !== null).map((r) => ({ blobKey: r.blobKey, sopInstanceUid: r.sopInstanceUid!, size: r.size! }));
  }

  drop(blobKey: string): Promise<DeleteResult> {
    return this.host.write(() => {
      if (this.s.marked.get(blobKey)!.n === 0) return { instances: 0, blobKeys: [] };
      this.s.forget.run(JSON.stringify([blobKey]));
      return this.host.removeByBlobKey(blobKey);
    });
  }
}
