import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBuffer } from '../../src/media/part10.js';
import { PYDICOM_DATA, PYTHON, peer } from '../helpers/peers.js';
import { tempDir } from '../storage/helpers.js';
import { loadedApp, multipartParts } from './helpers.js';

const skip = peer('dcmtk') ?? peer('pydicom') ?? peer('gdcm');
const JPEG_LOSSLESS = '1.2.840.10008.1.2.4.70';

function run(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, TCP_NODELAY: '1' } });
  assert.equal(r.status, 0, `${command} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function instancePath(path: string): string {
  const ds = parseBuffer(readFileSync(path)).dataSet;
  return `/dicom-web/studies/${ds.string('StudyInstanceUID')!.trim()}/series/${ds.string('SeriesInstanceUID')!.trim()}/instances/${ds.string('SOPInstanceUID')!.trim()}`;
}

/**
 * A real two-frame RGB image (pydicom's SC_rgb_rle_2frame) compressed by DCMTK to JPEG Lossless in
 * 1 KiB fragments (each frame spans several), with a Basic Offset Table and without; the same
 * fragments with an Extended Offset Table instead (written by pydicom); and one fragment per frame
 * with an empty table. Each variant gets its own SOP Instance UID so that all can be stored.
 */
function variants(dir: string): { files: Record<string, string>; frames: Buffer[] } {
  const raw = join(dir, 'raw.dcm');
  run('dcmdrle', [join(PYDICOM_DATA, 'test_files', 'SC_rgb_rle_2frame.dcm'), raw]);
  const files: Record<string, string> = {};
  for (const [name, options] of [['bot', ['+fs', '1']], ['empty', ['+fs', '1', '-ot']], ['per-frame', ['-ot']]] as const) {
    files[name] = join(dir, `${name}.dcm`);
    run('dcmcjpeg', ['+e1', ...options, '+ua', raw, files[name]]);
  }
  files.eot = join(dir, 'eot.dcm');
  // The oracle: pydicom's frames of the file with the Basic Offset Table; and the EOT variant.
  const out = run(PYTHON, ['-c', `
import sys, pydicom
from pydicom.encaps import generate_pixel_data_frame, get_frame_offsets, generate_pixel_data_fragment, itemize_fragment
from pydicom.filebase import DicomBytesIO
from pydicom.uid import generate_uid
d = pydicom.dcmread(sys.argv[1])
frames = list(generate_pixel_data_frame(d.PixelData, int(d.NumberOfFrames)))
print(','.join(f.hex() for f in frames))
fp = DicomBytesIO(d.PixelData); fp.is_little_endian = True
has_bot, offsets = get_frame_offsets(fp)
assert has_bot and len(offsets) == 2
fragments = list(generate_pixel_data_fragment(fp))
assert len(fragments) > 2, len(fragments)
d.PixelData = b'\\xfe\\xff\\x00\\xe0\\x00\\x00\\x00\\x00' + b''.join(itemize_fragment(f) for f in fragments)
d.ExtendedOffsetTable = b''.join(o.to_bytes(8, 'little') for o in offsets)
d.ExtendedOffsetTableLengths = b''.join(len(f).to_bytes(8, 'little') for f in frames)
d.SOPInstanceUID = generate_uid()
d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
d.save_as(sys.argv[2])
`, files.bot!, files.eot]);
  return { files, frames: out.trim().split(',').map((h) => Buffer.from(h, 'hex')) };
}

/**
 * The same image in JPEG 2000 by GDCM (one fragment per frame, each padded to even length with a
 * 00 after the end-of-codestream marker), its fragments each cut in two by pydicom with the Basic
 * Offset Table left empty: the frames can be told apart only by their (padded) end markers.
 */
function j2kSplit(dir: string): { file: string; frames: Buffer[] } {
  const raw = join(dir, 'raw.dcm');
  const j2k = join(dir, 'gdcm-j2k.dcm');
  run('dcmdrle', [join(PYDICOM_DATA, 'test_files', 'SC_rgb_rle_2frame.dcm'), raw]);
  run('gdcmconv', ['-K', raw, j2k]);
  const file = join(dir, 'j2k-split.dcm');
  const out = run(PYTHON, ['-c', `
import sys, pydicom
from pydicom.encaps import generate_pixel_data_fragment, get_frame_offsets, itemize_fragment
from pydicom.filebase import DicomBytesIO
from pydicom.uid import generate_uid
d = pydicom.dcmread(sys.argv[1])
fp = DicomBytesIO(d.PixelData); fp.is_little_endian = True
get_frame_offsets(fp)
frames = list(generate_pixel_data_fragment(fp))
assert len(frames) == int(d.NumberOfFrames) == 2 and all(f.endswith(b'\\xff\\xd9\\x00') for f in frames), [f[-3:] for f in frames]
pieces = [p for f in frames for p in (f[:len(f) // 2 & ~1], f[len(f) // 2 & ~1:])]
d.PixelData = b'\\xfe\\xff\\x00\\xe0\\x00\\x00\\x00\\x00' + b''.join(itemize_fragment(p) for p in pieces)
d.SOPInstanceUID = generate_uid()
d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
d.save_as(sys.argv[2])
print(','.join(f.hex() for f in frames))
`, j2k, file]);
  return { file, frames: out.trim().split(',').map((h) => Buffer.from(h, 'hex')) };
}

test('WADO-RS frames of compressed images: frames spanning fragments by BOT, EOT or end markers; as stored; 406 for transcoding', { skip }, async (t) => {
  const { files, frames } = variants(tempDir(t, 'conduit-frames-'));
  assert.equal(frames.length, 2);
  assert.notDeepEqual(frames[0], frames[1]);
  const { app, stored } = await loadedApp(t, Object.values(files));
  assert.equal(stored.size, 4);
  for (const [name, path] of Object.entries(files)) {
    const ds = parseBuffer(readFileSync(path)).dataSet;
    const fragments = ds.get('PixelData')!.encapsulated!.fragments.length;
    assert.ok(name === 'per-frame' ? fragments === 2 : fragments > 2, `${name}: ${fragments} fragments`);
    for (const list of ['1', '2', '2,1']) {
      const res = await app.inject({ url: `${instancePath(path)}/frames/${list}`, headers: { accept: 'multipart/related; type="image/jpeg"' } });
      assert.equal(res.statusCode, 200, `${name} ${list}: ${res.body}`);
      assert.match(res.headers['content-type'] as string, /^multipart\/related; type="image\/jpeg"; boundary=/);
      const parts = await multipartParts(res.rawPayload, res.headers['content-type'] as string);
      const numbers = list.split(',').map(Number);
      assert.equal(parts.length, numbers.length);
      parts.forEach((part, i) => {
        assert.equal(part.headers.get('content-type'), `image/jpeg; transfer-syntax=${JPEG_LOSSLESS}`);
        assert.match(part.headers.get('content-location')!, new RegExp(`/frames/${numbers[i]}$`));
        assert.ok(part.body.equals(frames[numbers[i]! - 1]!), `${name}: frame ${numbers[i]} as pydicom reads it`);
      });
    }
  }
  // Pixel Data resources (PS3.18 §10.4.1.1.6): every frame of every instance, one part each.
  const pixels = await app.inject({ url: `${instancePath(files.eot!)}/pixeldata`, headers: { accept: 'multipart/related; type="image/jpeg"' } });
  assert.equal(pixels.statusCode, 200, pixels.body);
  const pixelParts = await multipartParts(pixels.rawPayload, pixels.headers['content-type'] as string);
  assert.deepEqual(pixelParts.map((p) => p.headers.get('content-location')!.replace(/.*\/frames\//, '')), ['1', '2']);
  assert.ok(pixelParts.every((p, i) => p.body.equals(frames[i]!)));
  const studyPath = instancePath(files.bot!).replace(/\/series\/.*/, '');
  const study = await app.inject({ url: `${studyPath}/pixeldata`, headers: { accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' } });
  assert.equal(study.statusCode, 200, study.body);
  const studyParts = await multipartParts(study.rawPayload, study.headers['content-type'] as string);
  assert.equal(studyParts.length, 8, 'four instances of two frames');
  assert.ok(studyParts.every((p, i) => p.body.equals(frames[i % 2]!) && p.headers.get('content-type') === `application/octet-stream; transfer-syntax=${JPEG_LOSSLESS}`));
  assert.equal((await app.inject({ url: `${studyPath}/pixeldata`, headers: { accept: 'multipart/related; type="application/octet-stream"' } })).statusCode, 406);

  // JPEG 2000 with padded end markers, four fragments for two frames, no offset table.
  const j2k = j2kSplit(tempDir(t, 'conduit-frames-j2k-'));
  const { app: j2kApp } = await loadedApp(t, [j2k.file]);
  const j2kFrames = await j2kApp.inject({ url: `${instancePath(j2k.file)}/frames/2,1`, headers: { accept: 'multipart/related; type="image/jp2"' } });
  assert.equal(j2kFrames.statusCode, 200, j2kFrames.body);
  const j2kParts = await multipartParts(j2kFrames.rawPayload, j2kFrames.headers['content-type'] as string);
  assert.equal(j2kParts[0]!.headers.get('content-type'), 'image/jp2; transfer-syntax=1.2.840.10008.1.2.4.90');
  assert.ok(j2kParts[0]!.body.equals(j2k.frames[1]!) && j2kParts[1]!.body.equals(j2k.frames[0]!));

  const url = `${instancePath(files.empty!)}/frames/2`;
  // application/octet-stream with the stored transfer syntax (or *): the same bytes.
  for (const accept of ['multipart/related; type="application/octet-stream"; transfer-syntax=*', `multipart/related; type="application/octet-stream"; transfer-syntax=${JPEG_LOSSLESS}`]) {
    const res = await app.inject({ url, headers: { accept } });
    assert.equal(res.statusCode, 200, accept);
    const [part] = await multipartParts(res.rawPayload, res.headers['content-type'] as string);
    assert.equal(part!.headers.get('content-type'), `application/octet-stream; transfer-syntax=${JPEG_LOSSLESS}`);
    assert.ok(part!.body.equals(frames[1]!));
  }
  // Anything needing a transcoding: 406, saying what can be had.
  for (const accept of ['multipart/related; type="application/octet-stream"', 'multipart/related; type="image/jls"', 'multipart/related; type="image/jpeg"; transfer-syntax=1.2.840.10008.1.2.4.50']) {
    const res = await app.inject({ url, headers: { accept } });
    assert.equal(res.statusCode, 406, accept);
    assert.match(res.json().error.message, /transcoding/);
    assert.match(res.json().error.message, /1\.2\.840\.10008\.1\.2\.4\.70/);
  }
  // Quality order: the first acceptable range wins.
  const preferred = await app.inject({ url, headers: { accept: 'multipart/related; type="application/octet-stream"; q=0.9, multipart/related; type="image/jpeg"; q=0.5' } });
  assert.match(preferred.headers['content-type'] as string, /type="image\/jpeg"/);
});
