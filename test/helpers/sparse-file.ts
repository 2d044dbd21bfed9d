/**
 * A Part 10 file of any size made in an instant: a header, then a Pixel Data value of the length
 * asked for, of which only a few marker bytes at its start and end are written; the file system
 * keeps the rest sparse. For the tests that check large objects go in bounded memory.
 */
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { DataSet } from '../../src/data/data-set.js';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../../src/data/transfer-syntax.js';
import { encodeDataSet } from '../../src/data/writer.js';
import { buildFileMeta } from '../../src/media/file-meta.js';

export const MARK_START = [1, 2, 3, 4];
export const MARK_END = [5, 6, 7, 8];

/**
 * Writes preamble, meta, a few elements and the Pixel Data header, then extends the file sparsely.
 * `metaEnd` is where the data set starts (so the data set is `size - metaEnd` bytes).
 */
export function makeSparseFile(path: string, pixelLength: number, sopInstanceUid = '1.2.826.0.1.3680043.8.498.1'): { size: number; pixelValueOffset: number; metaEnd: number } {
  const ds = new DataSet();
  ds.set(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.7');
  ds.set(0x00080018, 'UI', sopInstanceUid);
  ds.set(0x00100010, 'PN', 'Large^File');
  ds.set(0x00280002, 'US', 1);
  ds.set(0x00280004, 'CS', 'MONOCHROME2');
  ds.set(0x00280008, 'IS', '1');
  ds.set(0x00280010, 'US', 33_000);
  ds.set(0x00280011, 'US', 33_333);
  ds.set(0x00280100, 'US', 16);
  ds.set(0x00280101, 'US', 16);
  ds.set(0x00280102, 'US', 15);
  ds.set(0x00280103, 'US', 0);
  const meta = buildFileMeta({ sopClassUid: '1.2.840.10008.5.1.4.1.1.7', sopInstanceUid, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN });
  const le = { explicitVR: true, littleEndian: true };
  const metaBytes = encodeDataSet(meta, le, { recalculateGroupLengths: true });
  const pixelHeader = Buffer.alloc(12);
  pixelHeader.writeUInt16LE(0x7fe0, 0);
  pixelHeader.writeUInt16LE(0x0010, 2);
  pixelHeader.write('OW', 4, 'latin1');
  pixelHeader.writeUInt32LE(pixelLength, 8);
  const head = Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), metaBytes, encodeDataSet(ds, le), pixelHeader]);
  const size = head.length + pixelLength;
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head, 0, head.length, 0);
    writeSync(fd, Buffer.from(MARK_START), 0, 4, head.length);
    writeSync(fd, Buffer.from(MARK_END), 0, 4, size - 4);
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
  return { size, pixelValueOffset: head.length, metaEnd: 128 + 4 + metaBytes.length };
}
