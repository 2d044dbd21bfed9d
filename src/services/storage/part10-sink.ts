/**
 * Writes a received C-STORE data set as a Part 10 file, as it arrives, durably: into a temporary
 * file in the destination folder, its data synced (fdatasync), then renamed into place and the
 * folder synced, so that a success response is only sent for an object that is on disk under its
 * final name (and a crash never leaves a partial file under that name).
 *
 * The sender waits for the response, so what happens after the last PDV is kept short: the file is
 * opened (O_CREAT | O_EXCL) while the first PDVs are on their way and the data written as it
 * arrives (storage/filesystem/file-appender.ts; the Part 10 header goes with the first write), so that only the last
 * piece, the fdatasync, the rename and the folder fsync are left. Each is a round trip to libuv's
 * thread pool unless `synchronousWrites` does the writes, the close and the rename on the calling
 * thread. A DurableDirectory keeps the folder open and lets concurrent objects share one folder fsync.
 */
import { closeSync, openSync, renameSync } from 'node:fs';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { part10Header } from '../../media/part10-header.js';
import { type FileAppender, DirectAppender, PipelinedAppender } from '../../storage/filesystem/file-appender.js';
import { closeFd, fdatasyncFd, openFd } from '../../storage/filesystem/file-descriptors.js';
import { TemporaryNames } from '../../storage/filesystem/temporary-names.js';

export { part10Header };

export interface ReceivedObject {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** Calling AE title of the sender, recorded as Source Application Entity Title (0002,0016). */
  sourceAet?: string;
}

/** A file name safe on every file system, from a SOP Instance UID (digits and dots only). */
export function fileNameFor(sopInstanceUid: string): string {
  const safe = sopInstanceUid.replace(/[^0-9.]/g, '_') || 'unnamed';
  return `${safe}.dcm`;
}

/**
 * A destination folder whose entries are made durable by fsync of the folder (POSIX: a rename
 * survives a crash only once its directory is synced). The folder stays open; callers that ask
 * while a sync is running share the next one (group commit), which starts after their change.
 */
export class DurableDirectory {
  private handle: Promise<FileHandle> | undefined;
  private current: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private closed = false;

  constructor(readonly path: string) {}

  /** Resolves once every entry changed before the call is durable. */
  sync(): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`${this.path}: the durable directory is closed`));
    // A sync already queued starts after this caller's change: it covers it.
    if (this.next !== undefined) return this.next;
    if (this.current === undefined) return this.start();
    // The running sync may have begun before the change: wait for the next one.
    this.next = this.current.catch(() => undefined).then(() => {
      this.next = undefined;
      return this.start();
    });
    return this.next;
  }

  /** Closes the folder once the syncs under way are done. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.current, this.next]);
    const h = this.handle;
    this.handle = undefined;
    if (h !== undefined) await (await h).close();
  }

  private start(): Promise<void> {
    const run = this.run().finally(() => {
      if (this.current === run) this.current = undefined;
    });
    this.current = run;
    return run;
  }

  /** One fsync of the folder (protected: tests count and pace them). */
  protected async run(): Promise<void> {
    this.handle ??= open(this.path, 'r');
    let fh: FileHandle;
    try {
      fh = await this.handle;
    } catch (err) {
      this.handle = undefined;
      throw err;
    }
    await fh.sync();
  }
}

export interface WriteReceivedObjectOptions {
  /** Default: fileNameFor(obj.sopInstanceUid). */
  fileName?: string;
  /** Sync the file's data and the folder before resolving (default true). */
  fsync?: boolean;
  /** The folder `dir`, kept open and synced for many objects at once; default: opened for this object only. */
  directory?: DurableDirectory;
  /**
   * Write, close and rename with blocking calls on the calling thread (the syncs stay on libuv's
   * thread pool): fewer thread hand-offs per object, at the price of the event loop waiting on
   * the page cache. For a process that does little else, such as `conduit listen`. Default false.
   */
  synchronousWrites?: boolean;
}

/**
 * Opens the temporary file; a destination folder that is not there yet is made first (the
 * README's `writeReceivedObject('incoming', ...)` in a fresh folder), so the first object of a
 * handler does not fail with a bare ENOENT. Only on that failure: no extra call per object.
 */
async function openTemporary(dir: string, tmpPath: string, direct: boolean, durable: boolean): Promise<number> {
  try {
    return direct ? openSync(tmpPath, 'wx') : await openFd(tmpPath, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(dir, { recursive: true });
    // The new folder's own entry, for the file's rename to survive a crash with it.
    if (durable) await fsyncDirectory(dirname(resolve(dir)));
    return direct ? openSync(tmpPath, 'wx') : await openFd(tmpPath, 'wx');
  }
}

/**
 * Streams `dataSet` (the data set bytes in the negotiated transfer syntax, deflated or not: the
 * Part 10 body is the same bytes) into `<dir>/<name>` durably, making `dir` when it is missing.
 * Returns the final path and size.
 */
export async function writeReceivedObject(
  dir: string,
  obj: ReceivedObject,
  dataSet: AsyncIterable<Uint8Array>,
  options: WriteReceivedObjectOptions = {},
): Promise<{ path: string; bytes: number }> {
  const finalPath = join(dir, options.fileName ?? fileNameFor(obj.sopInstanceUid));
  const durable = options.fsync !== false;
  const direct = options.synchronousWrites === true;
  // Opened while the first data PDUs are still on their way ('wx': never over another's file).
  const { fd, path: tmpPath } = await temporaryNames.create(dir, basename(finalPath), (path) => openTemporary(dir, path, direct, durable));
  const appender: FileAppender = direct ? new DirectAppender(fd) : new PipelinedAppender(fd);
  let closing: Promise<void> | undefined;
  try {
    appender.add(part10Header(obj));
    for await (const chunk of dataSet) {
      const wait = appender.add(chunk);
      if (wait !== undefined) await wait;
    }
    await appender.finish();
    // fdatasync: the bytes and the size needed to read them back, not the timestamps.
    if (durable) await fdatasyncFd(fd);
    if (direct) {
      closeSync(fd);
      closing = Promise.resolve();
      renameSync(tmpPath, finalPath);
    } else {
      closing = closeFd(fd);
      await rename(tmpPath, finalPath);
    }
  } catch (err) {
    await appender.settled();
    await (closing ?? closeFd(fd)).catch(() => undefined);
    await unlink(tmpPath).catch(() => undefined);
    throw err;
  }
  try {
    // The rename is durable only once the directory entry is (POSIX: fsync the directory).
    if (durable) await (options.directory !== undefined ? options.directory.sync() : fsyncDirectory(dir));
  } finally {
    await closing;
  }
  return { path: finalPath, bytes: appender.bytes };
}

/**
 * ".<file name>.<12 hex digits>.tmp", unique in this process and, through a random part drawn once,
 * among processes writing into the same folder (storage/filesystem/temporary-names.ts).
 */
const temporaryNames = new TemporaryNames();

async function fsyncDirectory(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

