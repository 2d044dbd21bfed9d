/**
 * WADO-RS frames of 1-bit pixel data (Segmentations, Multi-frame Single Bit Secondary Capture): a
 * frame is Rows x Columns bits and the next one begins at the next bit (PS3.5 §8.1.1), so each part
 * holds its frame's bits from bit 0, the last byte padded with zero bits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSet } from '../../src/data/data-set.js';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../../src/data/transfer-syntax.js';
import { buildFileMeta } from '../../src/media/file-meta.js';
import { encodeFile, parseBuffer } from '../../src/media/part10.js';
import { PYDICOM_DATA, peer } from '../helpers/peers.js';
import { tempDir } from '../storage/helpers.js';
import { loadedApp, multipartParts } from './helpers.js';

const SINGLE_BIT_SC = '1.2.840.10008.5.1.4.1.1.7.1'; // Multi-frame Single Bit Secondary Capture Image Storage
const ROWS = 3;
const COLUMNS = 5;

/** Bits packed from the least significant bit of each byte on (PS3.5 §8.1.1), padded to `length` bytes. */
function pack(bits: readonly number[], length = Math.ceil(bits.length / 8)): Buffer {
  const out = Buffer.alloc(length);
  bits.forEach((b, i) => { if (b) out[i >> 3]! |= 1 << (i & 7); });
  return out;
}

function singleBitFile(dir: string, frames: readonly number[][]): string {
  const ds = new DataSet();
  const uid = '1.2.826.0.1.3680043.8.498.61.';
  ds.set(0x00080016, 'UI', SINGLE_BIT_SC);
  ds.set(0x00080018, 'UI', `${uid}3`);
  ds.set(0x0020000d, 'UI', `${uid}1`);
  ds.set(0x0020000e, 'UI', `${uid}2`);
  ds.set(0x00100020, 'LO', 'BITS');
  ds.set(0x00280002, 'US', 1);
  ds.set(0x00280004, 'CS', 'MONOCHROME2');
  ds.set(0x00280008, 'IS', String(frames.length));
  ds.set(0x00280010, 'US', ROWS);
  ds.set(0x00280011, 'US', COLUMNS);
  ds.set(0x00280100, 'US', 1);
  ds.set(0x00280101, 'US', 1);
  ds.set(0x00280102, 'US', 0);
  ds.set(0x00280103, 'US', 0);
  const all = frames.flat();
  ds.set(0x7fe00010, 'OB', pack(all, Math.ceil(Math.ceil(all.length / 8) / 2) * 2));
  const path = join(dir, 'single-bit.dcm');
  const meta = buildFileMeta({ sopClassUid: SINGLE_BIT_SC, sopInstanceUid: `${uid}3`, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN });
  writeFileSync(path, encodeFile({ preamble: new Uint8Array(128), meta, dataSet: ds, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN, warnings: [] }));
  return path;
}

function instancePath(path: string): string {
  const ds = parseBuffer(readFileSync(path)).dataSet;
  return `/dicom-web/studies/${ds.string('StudyInstanceUID')!.trim()}/series/${ds.string('SeriesInstanceUID')!.trim()}/instances/${ds.string('SOPInstanceUID')!.trim()}`;
}

test('WADO-RS frames of 1-bit pixel data whose frames end mid-byte: each frame from bit 0 of its part, zero-padded', async (t) => {
  // Frames of 3x5 = 15 bits: frame 2 begins at bit 15 (byte 1, bit 7), frame 3 at bit 30, ...; 200 of
  // them (375 bytes) so that the Pixel Data is read from the stored file, not held with the header.
  const frames = Array.from({ length: 200 }, (_, f) => Array.from({ length: ROWS * COLUMNS }, (_, i) => ((i * 7 + f * 3) % 5 < 2 ? 1 : 0)));
  const file = singleBitFile(tempDir(t), frames);
  const { app, stored } = await loadedApp(t, [file]);
  assert.ok(stored.has(file));
  const res = await app.inject({ url: `${instancePath(file)}/frames/3,1,2,200,137` });
  assert.equal(res.statusCode, 200, res.body);
  const parts = await multipartParts(res.rawPayload, res.headers['content-type'] as string);
  assert.deepEqual(parts.map((p) => p.body.toString('hex')), [3, 1, 2, 200, 137].map((n) => pack(frames[n - 1]!).toString('hex')));
  assert.equal(parts[0]!.headers.get('content-type'), 'application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1');
  // The Pixel Data resource: every frame the same way.
  const all = await app.inject({ url: `${instancePath(file)}/pixeldata` });
  assert.equal(all.statusCode, 200, all.body);
  assert.deepEqual((await multipartParts(all.rawPayload, all.headers['content-type'] as string)).map((p) => p.body.toString('hex')), frames.map((f) => pack(f).toString('hex')));
  // Big Endian would put the bits in 16-bit words: refused with a reason.
  const big = await app.inject({ url: `${instancePath(file)}/frames/1`, headers: { accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.2' } });
  assert.equal(big.statusCode, 406);
  assert.match(big.json().error.message, /1-bit pixel data are served in Little Endian only/);
});

test('WADO-RS frames of a 1-bit Segmentation whose frames are whole bytes (pydicom liver_1frame): the pixel data as stored', { skip: peer('pydicom') }, async (t) => {
  const liver = join(PYDICOM_DATA, 'test_files', 'liver_1frame.dcm');
  const { app } = await loadedApp(t, [liver]);
  const pixels = Buffer.from(parseBuffer(readFileSync(liver)).dataSet.get('PixelData')!.bytes);
  const res = await app.inject({ url: `${instancePath(liver)}/frames/1` });
  assert.equal(res.statusCode, 200, res.body);
  const [part] = await multipartParts(res.rawPayload, res.headers['content-type'] as string);
  assert.ok(part!.body.equals(pixels.subarray(0, (512 * 512) / 8)));
});
