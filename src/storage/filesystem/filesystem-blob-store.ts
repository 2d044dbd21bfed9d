/**
 * A BlobStore on a local file system: one file per blob at <root>/<d0d1>/<d2d3>/<key>. The two
 * directory levels d are the key's first four characters when the key starts with four lowercase
 * hex digits and a dot ("3fa0.<anything>": a caller that picks its keys, like the archive, can so
 * keep blobs written together in one directory); otherwise the first four hex digits of the
 * key's SHA-256, so that no directory holds more than a few thousand entries at millions of blobs
 * (65,536 leaf directories) whatever the keys look like.
 *
 * Durability of put(): the bytes go to a temporary file ".<key>.<random>.tmp" in the target
 * directory, which is fdatasync'd, renamed onto the final name (atomic on POSIX file systems), and
 * the directory is fsync'd so that the rename itself survives a power loss; directories created on
 * the way are fsync'd into their parents too. A crash at any point leaves either the old state or
 * the new, plus possibly a temporary file, which recover() removes at startup. A `fresh` put (a
 * new key nothing refers to yet) renames first and then flushes file and directory concurrently.
 *
 * Directory fsyncs are shared: puts that renamed into the same directory while an fsync of it was
 * running wait for the next one, which covers them all (group fsync); each put still resolves only
 * after an fsync that started after its own rename. Handles of recently used directories stay
 * open, so a directory fsync is one system call, not open + fsync + close.
 *
 * delete() does not fsync the directory: a deletion lost in a power cut brings back a blob the
 * index no longer points at, which the startup check reports (archive-store.ts) rather than a
 * missing one.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, read as fsRead, type Dirent } from 'node:fs';
import { mkdir, open, opendir, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { DicomError } from '../../core/dicom-error.js';
import { isValidBlobKey, type BlobInfo, type BlobReader, type BlobStore, type PutOptions } from '../ports.js';
import { GroupSync } from '../group-sync.js';
import { PipelinedAppender } from './file-appender.js';
import { closeFd, fdatasyncFd, fsyncFd, openFd, renameFile } from './file-descriptors.js';
import { TemporaryNames } from './temporary-names.js';
import { storageError } from '../storage-error.js';

const TEMPORARY = /^\..+\.[0-9a-f]{12}\.tmp$/;
/** A key that names its own directory: four lowercase hex digits and a dot. */
const PLACED_KEY = /^[0-9a-f]{4}\./;
/** Directory handles kept open (least recently used closed first). */
const OPEN_DIRECTORIES = 32;

export interface FilesystemBlobStoreOptions {
  /** The directory holding the blobs (created if missing). */
  readonly root: string;
  /**
   * fsync files and directories (default true). Turning it off makes put() return before the
   * bytes are on disk: for tests and measurements only.
   */
  readonly fsync?: boolean;
}

export class FilesystemBlobStore implements BlobStore {
  readonly root: string;
  private readonly fsync: boolean;
  private readonly directories = new Map<string, { readonly made: Promise<string | undefined>; readonly durable: Promise<void> }>();
  private readonly syncs = new DirectorySyncs(OPEN_DIRECTORIES);
  private readonly temporaries = new TemporaryNames();
  private closed = false;

  /** The root, normalized, with one separator after it: what join(root, a, b, key) begins with. */
  private readonly rootPrefix: string;

  constructor(options: FilesystemBlobStoreOptions) {
    this.root = options.root;
    this.fsync = options.fsync ?? true;
    const root = join(options.root);
    this.rootPrefix = root.endsWith(sep) ? root : root + sep;
  }

  /** The directory of a key's file: <root>/ab/cd. */
  directoryOf(key: string): string {
    const h = PLACED_KEY.test(key) ? key : createHash('sha256').update(key).digest('hex');
    return join(this.root, h.slice(0, 2), h.slice(2, 4));
  }

  /** The file holding a key's bytes. */
  pathOf(key: string): string {
    this.check(key);
    // A placed key (the archive's own) is the path's last three parts as they are: no path.join,
    // which normalizes the whole string again (two per read, at hundreds of reads a second).
    if (PLACED_KEY.test(key)) return `${this.rootPrefix}${key.slice(0, 2)}${sep}${key.slice(2, 4)}${sep}${key}`;
    return join(this.directoryOf(key), key);
  }

  async put(key: string, source: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<BlobInfo> {
    const finalPath = this.pathOf(key);
    const dir = this.directoryOf(key);
    let fd: number | undefined;
    let appender: PipelinedAppender | undefined;
    let tmp: string | undefined;
    let renamed = false;
    // New directories' entries are flushed while the bytes arrive; waited for before put() resolves.
    let directoriesDurable: Promise<void> | undefined;
    try {
      directoriesDurable = (await this.ensureDirectory(dir)).durable;
      ({ fd, path: tmp } = await this.temporaries.create(dir, key));
      // Written as the chunks arrive, one writev at a time taking what came meanwhile, so that
      // after the last chunk only that one is left to write (file-appender.ts).
      const writer = appender = new PipelinedAppender(fd);
      for await (const chunk of source) {
        const full = writer.add(chunk);
        if (full) await full;
      }
      if (options.fresh && this.fsync && process.platform !== 'win32') {
        // Nothing is under the key and nothing refers to it yet: the last bytes are written and the
        // file renamed at once, then the file and the directory are flushed at once (one round of
        // flushes; ext4 often joins them in one journal commit). The blob is whole and readable
        // under its key from then on (options.visible), durable when put() resolves. A crash before
        // both flushes are done leaves an unreferenced or unconfirmed blob (ADR 0013), never a torn one
        // that an acknowledged instance points at.
        const [wrote, moving] = await Promise.allSettled([writer.finish(), renameFile(tmp, finalPath)]);
        if (moving.status === 'fulfilled') {
          tmp = undefined;
          renamed = true;
        }
        if (wrote.status === 'rejected') throw wrote.reason;
        if (moving.status === 'rejected') throw moving.reason;
        const size = writer.bytes;
        const flushed = Promise.all([fdatasyncFd(fd), this.syncs.sync(dir), directoriesDurable]);
        options.visible?.({ key, size });
        await flushed;
        // The bytes are durable: the close has nothing left to write back (a file created
        // exclusively, never truncated), so it is done here rather than as one more round trip
        // to the thread pool per object; its error, if any, loses nothing.
        const open = fd;
        fd = undefined;
        try {
          closeSync(open);
        } catch {
          // see above
        }
        return { key, size };
      }
      await writer.finish();
      const size = writer.bytes;
      // fdatasync: the data and what is needed to read it back (the size); not the timestamps.
      if (this.fsync) await fdatasyncFd(fd);
      const open = fd;
      fd = undefined;
      await closeFd(open);
      await renameFile(tmp, finalPath);
      tmp = undefined;
      renamed = true;
      if (this.fsync) await Promise.all([this.syncs.sync(dir), directoriesDurable]);
      options.visible?.({ key, size });
      return { key, size };
    } catch (cause) {
      await directoriesDurable?.catch(() => undefined);
      await appender?.settled();
      if (fd !== undefined) await closeFd(fd).catch(() => undefined);
      if (tmp !== undefined) await unlink(tmp).catch(() => undefined);
      // The rename may not be durable: the blob is not stored (an old blob under the key is lost then).
      if (renamed) await unlink(finalPath).catch(() => undefined);
      throw storageError('ERR_DICOM_STORAGE_IO', `cannot store blob ${key}`, cause);
    }
  }

  async get(key: string): Promise<Readable> {
    const fh = await this.openFile(key);
    return fh.createReadStream({ highWaterMark: 1 << 20 });
  }

  async getRange(key: string, start: number, end: number): Promise<Readable> {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && end >= start)) {
      throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `bad byte range [${start}, ${end}) of blob ${key}`);
    }
    const fh = await this.openFile(key);
    if (end === start) {
      await fh.close();
      const { Readable } = await import('node:stream');
      return Readable.from([]);
    }
    // createReadStream's end is inclusive.
    return fh.createReadStream({ start, end: end - 1, highWaterMark: 1 << 20 });
  }

  async open(key: string): Promise<BlobReader> {
    const fh = await this.openFile(key);
    const path = this.pathOf(key);
    let size: number;
    try {
      size = (await fh.stat()).size;
    } catch (cause) {
      await fh.close();
      throw storageError('ERR_DICOM_STORAGE_IO', `cannot read blob ${key}`, cause);
    }
    return {
      key,
      size,
      path,
      async read(position: number, length: number): Promise<Uint8Array> {
        const want = Math.max(0, Math.min(length, size - position));
        const out = Buffer.allocUnsafe(want);
        let done = 0;
        while (done < want) {
          const { bytesRead } = await fh.read(out, done, want - done, position + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return done === want ? out : out.subarray(0, done);
      },
      close: () => fh.close(),
    };
  }

  /**
   * Opens and closes the file on the calling thread and reads it in the thread pool: one pool round
   * trip per blob instead of three. Opening a file whose folders are in the dentry cache (an
   * archive's few hundred folders, after the first reads) and closing a read-only descriptor cost a
   * few microseconds each, less than a pool round trip (its queueing, its wake-ups and its completion
   * on the event loop); the read (the blob's bytes, ~0.5 MB for a CT slice) is what may wait on the
   * disk, and stays in the pool (ADR 0022: ~10% less of the server's CPU in a retrieve of CT slices).
   */
  readInto(key: string, position: number, target: Uint8Array): Promise<number> {
    let fd: number;
    try {
      fd = openSync(this.pathOf(key), 'r');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return Promise.reject(e.code === 'ENOENT' ? new DicomError('ERR_DICOM_STORAGE_NOT_FOUND', `no blob ${key}`, { cause: e })
        : e instanceof DicomError ? e : storageError('ERR_DICOM_STORAGE_IO', `cannot read blob ${key}`, e));
    }
    return new Promise((resolve, reject) => {
      let done = 0;
      const finish = (error: Error | null): void => {
        try {
          closeSync(fd);
        } catch {
          // A read-only descriptor: nothing written can be lost by a failed close.
        }
        if (error) reject(storageError('ERR_DICOM_STORAGE_IO', `cannot read blob ${key}`, error));
        else resolve(done);
      };
      const next = (): void => {
        if (done === target.length) return finish(null);
        fsRead(fd, target, done, target.length - done, position + done, (readError, bytesRead) => {
          if (readError) return finish(readError);
          if (bytesRead === 0) return finish(null);
          done += bytesRead;
          next();
        });
      };
      next();
    });
  }

  async size(key: string): Promise<number> {
    try {
      return (await stat(this.pathOf(key))).size;
    } catch (cause) {
      if ((cause as { code?: unknown }).code === 'ENOENT') throw new DicomError('ERR_DICOM_STORAGE_NOT_FOUND', `no blob ${key}`, { cause });
      throw storageError('ERR_DICOM_STORAGE_IO', `cannot read blob ${key}`, cause);
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (cause) {
      if ((cause as { code?: unknown }).code === 'ENOENT') return false;
      throw storageError('ERR_DICOM_STORAGE_IO', `cannot read blob ${key}`, cause);
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      await unlink(this.pathOf(key));
      return true;
    } catch (cause) {
      if ((cause as { code?: unknown }).code === 'ENOENT') return false;
      throw storageError('ERR_DICOM_STORAGE_IO', `cannot delete blob ${key}`, cause);
    }
  }

  async *list(): AsyncIterable<string> {
    for await (const { name } of this.files()) if (isValidBlobKey(name)) yield name;
  }

  async *strays(): AsyncIterable<string> {
    // The layout is <root>/xx/yy/<key> (two lowercase hex digits each): anything else is not ours.
    const walk = async function* (dir: string, relative: string, depth: number): AsyncIterable<string> {
      for (const e of await sortedEntries(dir)) {
        const path = relative === '' ? e.name : `${relative}/${e.name}`;
        if (depth < 2 && e.isDirectory() && BUCKET.test(e.name)) yield* walk(join(dir, e.name), path, depth + 1);
        else if (depth === 2 && e.isFile() && (isValidBlobKey(e.name) || TEMPORARY.test(e.name))) continue;
        else if (e.isDirectory()) yield* everyFile(join(dir, e.name), path);
        else yield path;
      }
    };
    yield* walk(this.root, '', 0);
  }

  async recover(): Promise<string[]> {
    const removed: string[] = [];
    for await (const { name, dir } of this.files()) {
      if (!TEMPORARY.test(name)) continue;
      const path = join(dir, name);
      try {
        await unlink(path);
        removed.push(path);
      } catch (cause) {
        if ((cause as { code?: unknown }).code !== 'ENOENT') throw storageError('ERR_DICOM_STORAGE_IO', `cannot remove ${path}`, cause);
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.syncs.close();
  }

  /** Files of the two-level tree: <root>/xx/yy/<name>. */
  private async *files(): AsyncIterable<{ dir: string; name: string }> {
    for (const top of await directories(this.root)) {
      for (const leaf of await directories(join(this.root, top))) {
        const dir = join(this.root, top, leaf);
        let handle;
        try {
          handle = await opendir(dir);
        } catch (cause) {
          if ((cause as { code?: unknown }).code === 'ENOENT') continue;
          throw storageError('ERR_DICOM_STORAGE_IO', `cannot list ${dir}`, cause);
        }
        for await (const entry of handle) if (entry.isFile()) yield { dir, name: entry.name };
      }
    }
  }

  private check(key: string): void {
    if (this.closed) throw new DicomError('ERR_DICOM_STORAGE_CLOSED', 'the blob store is closed');
    if (!isValidBlobKey(key)) throw new DicomError('ERR_DICOM_STORAGE_BAD_KEY', `blob key ${JSON.stringify(key)} is not 1 to 200 of [A-Za-z0-9._-] starting with other than "."`);
  }

  private async openFile(key: string): Promise<FileHandle> {
    try {
      return await open(this.pathOf(key), 'r');
    } catch (cause) {
      if ((cause as { code?: unknown }).code === 'ENOENT') throw new DicomError('ERR_DICOM_STORAGE_NOT_FOUND', `no blob ${key}`, { cause });
      throw storageError('ERR_DICOM_STORAGE_IO', `cannot read blob ${key}`, cause);
    }
  }

  /**
   * Creates <root>/ab/cd if needed. Resolves once the directory exists, with a promise of its new
   * entries being durable (<cd> in <ab>, maybe <ab> in the root, maybe the root in its parent: the
   * flushes run at once, while the caller writes). Callers for the same directory share them.
   */
  private async ensureDirectory(dir: string): Promise<{ readonly durable: Promise<void> }> {
    let ready = this.directories.get(dir);
    if (!ready) {
      const made = mkdir(dir, { recursive: true });
      const durable = made.then(async (first) => {
        if (first === undefined || !this.fsync) return;
        // <cd> in <ab>; <ab> in the root only when it is new too; the root in its parent when new.
        const parent = dirname(dir);
        const flushes = [this.syncs.sync(parent)];
        if (first.length <= parent.length) flushes.push(this.syncs.sync(this.root));
        if (first.length <= this.root.length) flushes.push(fsyncDirectory(dirname(this.root)));
        await Promise.all(flushes);
      });
      durable.catch(() => undefined);
      ready = { made, durable };
      const entry = ready;
      durable.catch(() => {
        if (this.directories.get(dir) === entry) this.directories.delete(dir);
      });
      this.directories.set(dir, entry);
    }
    await ready.made;
    return { durable: ready.durable };
  }
}

/** A directory of the two-level tree: two lowercase hex digits. */
const BUCKET = /^[0-9a-f]{2}$/;

/** The entries of a directory by name (none when it is gone). */
async function sortedEntries(dir: string): Promise<Dirent[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (cause) {
    if ((cause as { code?: unknown }).code === 'ENOENT') return [];
    throw storageError('ERR_DICOM_STORAGE_IO', `cannot list ${dir}`, cause);
  }
}

/** Every file under a directory, by path relative to the blob area (a foreign folder is reported by what it holds). */
async function* everyFile(dir: string, relative: string): AsyncIterable<string> {
  for (const e of await sortedEntries(dir)) {
    if (e.isDirectory()) yield* everyFile(join(dir, e.name), `${relative}/${e.name}`);
    else yield `${relative}/${e.name}`;
  }
}

async function directories(dir: string): Promise<string[]> {
  try {
    const out: string[] = [];
    for await (const entry of await opendir(dir)) if (entry.isDirectory() && BUCKET.test(entry.name)) out.push(entry.name);
    return out.sort();
  } catch (cause) {
    if ((cause as { code?: unknown }).code === 'ENOENT') return [];
    throw storageError('ERR_DICOM_STORAGE_IO', `cannot list ${dir}`, cause);
  }
}

interface DirectoryEntry {
  /** A plain descriptor (a FileHandle's promise machinery showed in the profile of every store); undefined on Windows. */
  readonly fd: Promise<number | undefined>;
  readonly group: GroupSync;
  idle?: NodeJS.Timeout;
}

/** An idle directory handle is closed after this long (ms). */
const IDLE_CLOSE_MS = 2000;

/**
 * Directory fsyncs shared between puts (GroupSync per directory). The directory's handle stays open
 * for the next caller, until it has been idle for a while or more than `keep` are open.
 */
class DirectorySyncs {
  private readonly entries = new Map<string, DirectoryEntry>();

  constructor(private readonly keep: number) {}

  sync(dir: string): Promise<void> {
    let entry = this.entries.get(dir);
    if (entry) {
      clearTimeout(entry.idle);
      this.entries.delete(dir); // re-inserted last: the Map's order is the recency
    } else {
      const fd = openDirectory(dir);
      fd.catch(() => undefined);
      entry = {
        fd,
        group: new GroupSync(async () => {
          const open = await fd;
          if (open !== undefined) await fsyncFd(open);
        }),
      };
    }
    this.trim();
    this.entries.set(dir, entry);
    const e = entry;
    const synced = e.group.sync();
    synced.then(() => {
      if (e.group.busy || this.entries.get(dir) !== e) return;
      clearTimeout(e.idle);
      e.idle = setTimeout(() => {
        if (e.group.busy || this.entries.get(dir) !== e) return;
        this.entries.delete(dir);
        void closeHandle(e);
      }, IDLE_CLOSE_MS).unref();
    }, () => {
      // A failed fsync: the next caller reopens the directory.
      if (this.entries.get(dir) === e) this.entries.delete(dir);
      void closeHandle(e);
    });
    return synced;
  }

  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map(async (e) => {
      clearTimeout(e.idle);
      await e.group.sync().catch(() => undefined);
      await closeHandle(e);
    }));
  }

  private trim(): void {
    if (this.entries.size < this.keep) return;
    for (const [dir, e] of this.entries) {
      if (this.entries.size < this.keep) return;
      if (e.group.busy) continue;
      clearTimeout(e.idle);
      this.entries.delete(dir);
      void closeHandle(e);
    }
  }
}

async function closeHandle(e: DirectoryEntry): Promise<void> {
  const fd = await e.fd.catch(() => undefined);
  if (fd !== undefined) await closeFd(fd).catch(() => undefined);
}

async function openDirectory(dir: string): Promise<number | undefined> {
  try {
    return await openFd(dir, 'r');
  } catch (cause) {
    // Windows cannot open a directory for fsync; NTFS makes the rename durable with the file.
    if (process.platform === 'win32') return undefined;
    throw cause;
  }
}

/** fsync of a directory, which makes the entries created or renamed in it durable (POSIX). */
export async function fsyncDirectory(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (cause) {
    // Windows cannot open a directory for fsync; NTFS makes the rename durable with the file.
    if (process.platform === 'win32') return;
    throw cause;
  } finally {
    await fh?.close();
  }
}
