/**
 * A file-set as one ZIP file (the packaging of PS3.11 Annex L, STD-GEN-ZIP-MAIL: the DICOMDIR at
 * the root of the archive, the File IDs as paths). Files are deflated as they are read, so a large
 * file-set takes little memory; the CRC and sizes follow each file's data in a data descriptor
 * (APPNOTE.TXT 4.3.9). Classic ZIP only: a file or an archive past 4 GiB, or more than 65535 files,
 * is refused rather than written wrong (no ZIP64).
 */
import { createReadStream } from 'node:fs';
import { open, readdir, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { createDeflateRaw, crc32 } from 'node:zlib';
import { DicomError } from '../../core/dicom-error.js';

const LOCAL_HEADER = 0x04034b50;
const DATA_DESCRIPTOR = 0x08074b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const LIMIT = 0xffffffff;
/** General purpose flags: bit 3, sizes and CRC in the data descriptor. */
const FLAGS = 0x0008;
const DEFLATE = 8;
const VERSION = 20;

interface Entry {
  name: Buffer;
  crc: number;
  compressed: number;
  size: number;
  offset: number;
  time: number;
  date: number;
}

/** A fixed-size ZIP record: little-endian fields at their offsets (APPNOTE.TXT 4.3), zeros elsewhere. */
function fields(size: number, values: ReadonlyArray<readonly [offset: number, bytes: 2 | 4, value: number]>): Buffer {
  const b = Buffer.alloc(size);
  for (const [offset, bytes, value] of values) {
    if (bytes === 2) b.writeUInt16LE(value, offset);
    else b.writeUInt32LE(value, offset);
  }
  return b;
}

/** MS-DOS time and date (APPNOTE.TXT 4.4.6), local time, 2-second resolution. */
function dosDateTime(d: Date): { time: number; date: number } {
  const year = Math.max(1980, d.getFullYear());
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const p = join(dir, name);
      if ((await stat(p)).isDirectory()) await walk(p);
      else out.push(p);
    }
  };
  await walk(root);
  // The DICOMDIR first, so a reader streaming the archive meets it before the files it names.
  return out.sort((a, b) => Number(relative(root, b) === 'DICOMDIR') - Number(relative(root, a) === 'DICOMDIR'));
}

/**
 * The ZIP file of every file under `root` (paths relative to `root`), as it is made: each file
 * deflated as it is read, so memory stays bounded whatever the file-set's size (an HTTP response
 * can send it as it comes). `what` names the archive in errors.
 */
export async function* zipFolderStream(root: string, what = 'the ZIP file'): AsyncGenerator<Uint8Array, number> {
  const files = await filesUnder(root);
  if (files.length > 0xffff) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${files.length} files do not fit a ZIP file without ZIP64`);
  let position = 0;
  const counted = (bytes: Uint8Array): Uint8Array => {
    position += bytes.length;
    if (position > LIMIT) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${what} would pass 4 GiB, which needs ZIP64; export to a folder instead`);
    return bytes;
  };
  const entries: Entry[] = [];
  for (const path of files) {
    const name = Buffer.from(relative(root, path).split(sep).join('/'), 'utf8');
    const { time, date } = dosDateTime((await stat(path)).mtime);
    const entry: Entry = { name, crc: 0, compressed: 0, size: 0, offset: position, time, date };
    yield counted(fields(30, [[0, 4, LOCAL_HEADER], [4, 2, VERSION], [6, 2, FLAGS], [8, 2, DEFLATE], [10, 2, time], [12, 2, date], [26, 2, name.length]]));
    yield counted(name);
    const deflate = createDeflateRaw();
    const source = createReadStream(path);
    source.on('data', (chunk) => {
      entry.crc = crc32(chunk as Buffer, entry.crc);
      entry.size += chunk.length;
    });
    source.on('error', (err) => deflate.destroy(err));
    source.pipe(deflate);
    try {
      for await (const chunk of deflate) {
        entry.compressed += (chunk as Buffer).length;
        yield counted(chunk as Buffer);
      }
    } finally {
      source.destroy();
    }
    if (entry.size > LIMIT) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${path} is larger than 4 GiB, which needs ZIP64`);
    yield counted(fields(16, [[0, 4, DATA_DESCRIPTOR], [4, 4, entry.crc >>> 0], [8, 4, entry.compressed], [12, 4, entry.size]]));
    entries.push(entry);
  }
  const centralStart = position;
  for (const e of entries) {
    yield counted(fields(46, [
      [0, 4, CENTRAL_HEADER], [4, 2, VERSION], [6, 2, VERSION], [8, 2, FLAGS], [10, 2, DEFLATE], [12, 2, e.time], [14, 2, e.date],
      [16, 4, e.crc >>> 0], [20, 4, e.compressed], [24, 4, e.size], [28, 2, e.name.length], [42, 4, e.offset],
    ]));
    yield counted(e.name);
  }
  yield counted(fields(22, [[0, 4, END_OF_CENTRAL_DIRECTORY], [8, 2, entries.length], [10, 2, entries.length], [12, 4, position - centralStart], [16, 4, centralStart]]));
  return entries.length;
}

/** Writes every file under `root` into the ZIP file `zipPath`, with paths relative to `root`; returns the number of files. */
export async function zipFolder(root: string, zipPath: string): Promise<number> {
  const out = await open(zipPath, 'w');
  try {
    const zip = zipFolderStream(root, zipPath);
    for (;;) {
      const step = await zip.next();
      if (step.done) {
        await out.close();
        return step.value;
      }
      await out.write(step.value);
    }
  } catch (err) {
    await out.close();
    await rm(zipPath, { force: true });
    throw err;
  }
}
