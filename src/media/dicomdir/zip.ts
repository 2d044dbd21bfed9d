/**
 * A file-set as one ZIP file (the packaging of PS3.11 Annex L, STD-GEN-ZIP-MAIL: the DICOMDIR at
 * the root of the archive, the File IDs as paths). Files are deflated as they are read, so a large
 * file-set takes little memory; the CRC and sizes follow each file's data in a data descriptor
 * (APPNOTE.TXT 4.3.9). Classic ZIP only: a file or an archive past 4 GiB, or more than 65535 files,
 * is refused rather than written wrong (no ZIP64).
 */
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
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

/** Writes every file under `root` into the ZIP file `zipPath`, with paths relative to `root`. */
export async function zipFolder(root: string, zipPath: string): Promise<number> {
  const files = await filesUnder(root);
  if (files.length > 0xffff) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${files.length} files do not fit a ZIP file without ZIP64`);
  const out = await open(zipPath, 'w');
  let position = 0;
  const write = async (bytes: Uint8Array): Promise<void> => {
    await out.write(bytes);
    position += bytes.length;
    if (position > LIMIT) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${zipPath} would pass 4 GiB, which needs ZIP64; export to a folder instead`);
  };
  const entries: Entry[] = [];
  try {
    for (const path of files) {
      const name = Buffer.from(relative(root, path).split(sep).join('/'), 'utf8');
      const { time, date } = dosDateTime((await stat(path)).mtime);
      const entry: Entry = { name, crc: 0, compressed: 0, size: 0, offset: position, time, date };
      const header = Buffer.alloc(30);
      header.writeUInt32LE(LOCAL_HEADER, 0);
      header.writeUInt16LE(VERSION, 4);
      header.writeUInt16LE(FLAGS, 6);
      header.writeUInt16LE(DEFLATE, 8);
      header.writeUInt16LE(time, 10);
      header.writeUInt16LE(date, 12);
      header.writeUInt16LE(name.length, 26);
      await write(header);
      await write(name);
      const deflate = createDeflateRaw();
      const source = createReadStream(path);
      source.on('data', (chunk) => {
        entry.crc = crc32(chunk as Buffer, entry.crc);
        entry.size += chunk.length;
      });
      source.on('error', (err) => deflate.destroy(err));
      source.pipe(deflate);
      for await (const chunk of deflate) {
        entry.compressed += (chunk as Buffer).length;
        await write(chunk as Buffer);
      }
      if (entry.size > LIMIT) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${path} is larger than 4 GiB, which needs ZIP64`);
      const descriptor = Buffer.alloc(16);
      descriptor.writeUInt32LE(DATA_DESCRIPTOR, 0);
      descriptor.writeUInt32LE(entry.crc >>> 0, 4);
      descriptor.writeUInt32LE(entry.compressed, 8);
      descriptor.writeUInt32LE(entry.size, 12);
      await write(descriptor);
      entries.push(entry);
    }
    const centralStart = position;
    for (const e of entries) {
      const h = Buffer.alloc(46);
      h.writeUInt32LE(CENTRAL_HEADER, 0);
      h.writeUInt16LE(VERSION, 4);
      h.writeUInt16LE(VERSION, 6);
      h.writeUInt16LE(FLAGS, 8);
      h.writeUInt16LE(DEFLATE, 10);
      h.writeUInt16LE(e.time, 12);
      h.writeUInt16LE(e.date, 14);
      h.writeUInt32LE(e.crc >>> 0, 16);
      h.writeUInt32LE(e.compressed, 20);
      h.writeUInt32LE(e.size, 24);
      h.writeUInt16LE(e.name.length, 28);
      h.writeUInt32LE(e.offset, 42);
      await write(h);
      await write(e.name);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0);
    end.writeUInt16LE(entries.length, 8);
    end.writeUInt16LE(entries.length, 10);
    end.writeUInt32LE(position - centralStart, 12);
    end.writeUInt32LE(centralStart, 16);
    await write(end);
  } finally {
    await out.close();
  }
  return entries.length;
}
