/**
 * Writes a received C-STORE data set as a Part 10 file, as it arrives, durably: into a temporary
 * file in the destination folder, fsync'd, then renamed into place, so that a success response is
 * only sent for an object that is on disk (and a crash never leaves a partial file under its
 * final name).
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeDataSet } from '../../data/writer.js';
import { buildFileMeta, PREAMBLE_LENGTH } from '../../media/file-meta.js';

const WRITE_BATCH = 1 << 20;

export interface ReceivedObject {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** Calling AE title of the sender, recorded as Source Application Entity Title (0002,0016). */
  sourceAet?: string;
}

/** Bytes of the preamble, "DICM" and File Meta Information for a received object. */
export function part10Header(obj: ReceivedObject): Uint8Array {
  const meta = encodeDataSet(buildFileMeta({ ...obj, sourceAet: obj.sourceAet }), { explicitVR: true, littleEndian: true }, { recalculateGroupLengths: true });
  const out = new Uint8Array(PREAMBLE_LENGTH + 4 + meta.length);
  out.set([0x44, 0x49, 0x43, 0x4d], PREAMBLE_LENGTH);
  out.set(meta, PREAMBLE_LENGTH + 4);
  return out;
}

/** A file name safe on every file system, from a SOP Instance UID (digits and dots only). */
export function fileNameFor(sopInstanceUid: string): string {
  const safe = sopInstanceUid.replace(/[^0-9.]/g, '_') || 'unnamed';
  return `${safe}.dcm`;
}

/**
 * Streams `dataSet` (the data set bytes in the negotiated transfer syntax, deflated or not: the
 * Part 10 body is the same bytes) into `<dir>/<name>` durably. Returns the final path and size.
 */
export async function writeReceivedObject(
  dir: string,
  obj: ReceivedObject,
  dataSet: AsyncIterable<Uint8Array>,
  options: { fileName?: string; fsync?: boolean } = {},
): Promise<{ path: string; bytes: number }> {
  const finalPath = join(dir, options.fileName ?? fileNameFor(obj.sopInstanceUid));
  const tmpPath = join(dir, `.${randomBytes(6).toString('hex')}.partial`);
  const fh = await open(tmpPath, 'wx');
  let bytes = 0;
  try {
    const header = part10Header(obj);
    await fh.write(header);
    bytes += header.length;
    // PDVs arrive in PDU-sized pieces; gather them so each write system call moves ~1 MiB.
    let batch: Uint8Array[] = [];
    let batched = 0;
    for await (const chunk of dataSet) {
      batch.push(chunk);
      batched += chunk.length;
      if (batched >= WRITE_BATCH) {
        await fh.writev(batch);
        bytes += batched;
        batch = [];
        batched = 0;
      }
    }
    if (batch.length) await fh.writev(batch);
    bytes += batched;
    if (options.fsync !== false) await fh.sync();
    await fh.close();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmpPath).catch(() => undefined);
    throw err;
  }
  await rename(tmpPath, finalPath);
  // The rename is durable only once the directory entry is (POSIX: fsync the directory).
  if (options.fsync !== false) await fsyncDirectory(dir);
  return { path: finalPath, bytes };
}

async function fsyncDirectory(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
