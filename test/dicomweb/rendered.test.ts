import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { DataSet } from '../../src/data/data-set.js';
import { createDicomWebApp } from '../../src/dicomweb/app.js';
import { renderFrame, voi, type PixelModule } from '../../src/dicomweb/rendered/pixels.js';
import { parseBuffer } from '../../src/media/part10.js';
import { PYDICOM_DATA, PYTHON, peer } from '../helpers/peers.js';
import { openArchive, storeInput, tempDir } from '../storage/helpers.js';
import { loadedApp, multipartParts } from './helpers.js';

const skip = peer('pydicom');
const file = (name: string) => join(PYDICOM_DATA, 'test_files', name);
const CT = file('CT_small.dcm');
const MR = file('MR_small.dcm');
const MR_BIG_ENDIAN = file('MR_small_bigendian.dcm');
const RGB = file('SC_rgb_small_odd.dcm');
const J2K = file('JPEG2000.dcm');

function instancePath(path: string): string {
  const ds = parseBuffer(readFileSync(path)).dataSet;
  return `/dicom-web/studies/${ds.string('StudyInstanceUID')!.trim()}/series/${ds.string('SeriesInstanceUID')!.trim()}/instances/${ds.string('SOPInstanceUID')!.trim()}`;
}

async function pixelsOf(image: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number; format: string }> {
  const meta = await sharp(image).metadata();
  // A gray file decodes to one channel (sharp's raw output is sRGB otherwise).
  const decoder = meta.channels === 1 ? sharp(image).toColourspace('b-w') : sharp(image);
  const { data, info } = await decoder.raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, meta.channels);
  return { data, width: info.width, height: info.height, channels: meta.channels!, format: meta.format! };
}

/** A synthetic signed 16-bit ramp: stored value = 100 * column - 800 (column 0..15), Rescale 2, -100. */
function rampDataSet(options: { photometric?: string; window?: [number, number] } = {}): DataSet {
  const ds = new DataSet();
  ds.set('SOPClassUID', 'UI', '1.2.840.10008.5.1.4.1.1.2');
  ds.set('SOPInstanceUID', 'UI', `2.25.${options.photometric === 'MONOCHROME1' ? 71 : 70}${options.window ? 1 : 0}`);
  ds.set('StudyInstanceUID', 'UI', '2.25.7001');
  ds.set('SeriesInstanceUID', 'UI', '2.25.7002');
  ds.set('Modality', 'CS', 'CT');
  ds.set('SamplesPerPixel', 'US', 1);
  ds.set('PhotometricInterpretation', 'CS', options.photometric ?? 'MONOCHROME2');
  ds.set('Rows', 'US', 2);
  ds.set('Columns', 'US', 16);
  ds.set('BitsAllocated', 'US', 16);
  ds.set('BitsStored', 'US', 16);
  ds.set('HighBit', 'US', 15);
  ds.set('PixelRepresentation', 'US', 1);
  ds.set('RescaleSlope', 'DS', '2');
  ds.set('RescaleIntercept', 'DS', '-100');
  if (options.window) {
    ds.set('WindowCenter', 'DS', String(options.window[0]));
    ds.set('WindowWidth', 'DS', String(options.window[1]));
  }
  const pixels = Buffer.alloc(2 * 16 * 2);
  for (let r = 0; r < 2; r++) for (let c = 0; c < 16; c++) pixels.writeInt16LE(100 * c - 800, (r * 16 + c) * 2);
  ds.set('PixelData', 'OW', new Uint8Array(pixels));
  return ds;
}

test('VOI functions follow PS3.3 C.11.2.1.2 at and around their edges', () => {
  const linear = voi({ center: 100, width: 11, function: 'LINEAR' });
  // x <= c - 0.5 - (w-1)/2 = 94.5 -> 0; x > c - 0.5 + (w-1)/2 = 104.5 -> 255
  assert.equal(linear(94.5), 0);
  assert.equal(linear(104.6), 255);
  assert.equal(linear(99.5), 127.5);
  const exact = voi({ center: 0, width: 400, function: 'LINEAR_EXACT' });
  assert.equal(exact(-200), 0);
  assert.equal(exact(200), 255);
  assert.equal(exact(100), 191.25);
  const sigmoid = voi({ center: 10, width: 20, function: 'SIGMOID' });
  assert.equal(sigmoid(10), 127.5);
  assert.ok(sigmoid(30) > 250 && sigmoid(-10) < 5);
});

test('renderFrame: masks to Bits Stored with the high bit, sign-extends, big endian, planar RGB', () => {
  const base: PixelModule = { rows: 1, columns: 2, samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 12, highBit: 11, pixelRepresentation: 1, photometricInterpretation: 'MONOCHROME2', planarConfiguration: 0, rescaleSlope: 1, rescaleIntercept: 0, littleEndian: true };
  // 0xF800 in 12 bits is 0x800 = -2048; the top 4 bits are overlay garbage and ignored. 0x07FF = 2047.
  const out = renderFrame(base, new Uint8Array([0x00, 0xf8, 0xff, 0x07]), { center: 0, width: 4096, function: 'LINEAR_EXACT' });
  assert.deepEqual([...out.data], [0, 255]);
  const be = renderFrame({ ...base, littleEndian: false }, new Uint8Array([0xf8, 0x00, 0x07, 0xff]), { center: 0, width: 4096, function: 'LINEAR_EXACT' });
  assert.deepEqual([...be.data], [0, 255]);
  const planar = renderFrame({ ...base, samplesPerPixel: 3, bitsAllocated: 8, bitsStored: 8, highBit: 7, pixelRepresentation: 0, photometricInterpretation: 'RGB', planarConfiguration: 1 },
    new Uint8Array([10, 11, 20, 21, 30, 31]));
  assert.deepEqual([...planar.data], [10, 20, 30, 11, 21, 31]);
});

test('rendered: a 16-bit signed ramp through Rescale and a requested window gives the expected gray levels', async (t) => {
  const archive = openArchive(tempDir(t));
  const app = createDicomWebApp({ archive });
  t.after(async () => { await app.close(); await archive.close(); });
  for (const ds of [rampDataSet(), rampDataSet({ photometric: 'MONOCHROME1' }), rampDataSet({ window: [0, 400] })]) await archive.storeInstance(storeInput(ds));
  const url = (sop: string) => `/dicom-web/studies/2.25.7001/series/2.25.7002/instances/${sop}/rendered`;
  // Modality values: 2 * (100c - 800) - 100 = 200c - 1700, c = 0..15: -1700, -1500, ..., 1300.
  const modality = Array.from({ length: 16 }, (_, c) => 200 * c - 1700);

  // window=0,400,linear-exact: y = ((x - 0) / 400 + 0.5) * 255 in [-200, 200].
  const res = await app.inject({ url: `${url('2.25.700')}?window=0,400,linear-exact`, headers: { accept: 'image/png' } });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'image/png');
  const png = await pixelsOf(res.rawPayload);
  assert.equal(png.format, 'png');
  assert.deepEqual([png.width, png.height, png.channels], [16, 2, 1]);
  const expected = modality.map((x) => (x <= -200 ? 0 : x > 200 ? 255 : Math.round((x / 400 + 0.5) * 255)));
  assert.deepEqual([...png.data.subarray(0, 16)], expected);
  assert.deepEqual(expected.slice(7, 11), [0, 64, 191, 255], 'the ramp crosses the window');

  // No window anywhere: the frame's range, -1700 black and 1300 white.
  const full = await pixelsOf((await app.inject({ url: url('2.25.700'), headers: { accept: 'image/png' } })).rawPayload);
  assert.equal(full.data[0], 0);
  assert.equal(full.data[15], 255);
  assert.equal(full.data[5], Math.round(((modality[5]! + 1700) / 3000) * 255));

  // The stored window (0, 400, LINEAR by default) when the request gives none.
  const stored = await pixelsOf((await app.inject({ url: url('2.25.701'), headers: { accept: 'image/png' } })).rawPayload);
  const linear = voi({ center: 0, width: 400, function: 'LINEAR' });
  assert.deepEqual([...stored.data.subarray(0, 16)], modality.map((x) => Math.round(linear(x))));

  // MONOCHROME1: the same ramp, inverted.
  const inverted = await pixelsOf((await app.inject({ url: `${url('2.25.710')}?window=0,400,linear-exact`, headers: { accept: 'image/png' } })).rawPayload);
  assert.deepEqual([...inverted.data.subarray(0, 16)], expected.map((y) => 255 - y));

  // Two frames, 8-bit: frame 1 all 10, frame 2 all 200 (window 0..255 exact: y = x); each frame's
  // rendering and thumbnail is its own, and there is no frame 3.
  const two = rampDataSet();
  two.set('SOPInstanceUID', 'UI', '2.25.702');
  for (const [k, v] of [['BitsAllocated', 8], ['BitsStored', 8], ['HighBit', 7], ['PixelRepresentation', 0]] as const) two.set(k, 'US', v);
  two.set('RescaleSlope', 'DS', '1');
  two.set('RescaleIntercept', 'DS', '0');
  two.set('NumberOfFrames', 'IS', '2');
  two.set('PixelData', 'OB', new Uint8Array([...new Array<number>(32).fill(10), ...new Array<number>(32).fill(200)]));
  await archive.storeInstance(storeInput(two));
  const frameUrl = (n: string, kind: string) => `/dicom-web/studies/2.25.7001/series/2.25.7002/instances/2.25.702/frames/${n}/${kind}?window=127.5,255,linear-exact`;
  for (const [n, value] of [['1', 10], ['2', 200]] as const) {
    for (const kind of ['rendered', 'thumbnail']) {
      const image = await pixelsOf((await app.inject({ url: frameUrl(n, kind), headers: { accept: 'image/png' } })).rawPayload);
      assert.deepEqual(new Set(image.data), new Set([value]), `frame ${n} ${kind}`);
    }
  }
  assert.equal((await app.inject({ url: frameUrl('3', 'thumbnail') })).statusCode, 404);
  assert.equal((await app.inject({ url: frameUrl('1,2', 'thumbnail') })).statusCode, 400);

  // Bad parameters are 400, each naming what was wrong.
  for (const [query, pattern] of [['window=0', /window=0/], ['window=0,400,cubic', /linear-exact/], ['quality=0', /quality/], ['viewport=0,10', /viewport/], ['viewport=8,8,10,0,8,2', /outside/]] as const) {
    const bad = await app.inject({ url: `${url('2.25.700')}?${query}` });
    assert.equal(bad.statusCode, 400, query);
    assert.match(bad.json().error.message, pattern);
  }
});

test('rendered: real images (MR window from the object, big endian, RGB) agree with pydicom\'s pixel values', { skip }, async (t) => {
  const { app } = await loadedApp(t, [MR, MR_BIG_ENDIAN, RGB, CT, J2K]);
  // The expected gray levels: pydicom's decoded stored values through PS3.3's LINEAR window (600, 1600).
  const oracle = spawnSync(PYTHON, ['-c', `
import json, sys, pydicom
d = pydicom.dcmread(sys.argv[1])
a = d.pixel_array.astype(float) * float(d.get('RescaleSlope', 1)) + float(d.get('RescaleIntercept', 0))
c, w = float(d.WindowCenter), float(d.WindowWidth)
def y(x):
    if x <= c - 0.5 - (w - 1) / 2: return 0
    if x > c - 0.5 + (w - 1) / 2: return 255
    return ((x - (c - 0.5)) / (w - 1) + 0.5) * 255
r = pydicom.dcmread(sys.argv[2]).pixel_array
print(json.dumps({'mr': [y(x) for x in a.flatten().tolist()], 'rgb': r.flatten().tolist()}))
`, MR, RGB], { encoding: 'utf8' });
  assert.equal(oracle.status, 0, oracle.stderr);
  const expected = JSON.parse(oracle.stdout) as { mr: number[]; rgb: number[] };
  for (const path of [MR, MR_BIG_ENDIAN]) {
    const res = await app.inject({ url: `${instancePath(path)}/rendered`, headers: { accept: 'image/png' } });
    assert.equal(res.statusCode, 200, res.body);
    const png = await pixelsOf(res.rawPayload);
    assert.deepEqual([png.width, png.height, png.channels], [64, 64, 1]);
    const off = [...png.data].filter((v, i) => Math.abs(v - expected.mr[i]!) > 0.5);
    assert.deepEqual(off, [], `${path}: every pixel within rounding of the window`);
  }
  const rgb = await pixelsOf((await app.inject({ url: `${instancePath(RGB)}/frames/1/rendered`, headers: { accept: 'image/png' } })).rawPayload);
  assert.deepEqual([rgb.width, rgb.height, rgb.channels], [3, 3, 3]);
  assert.deepEqual([...rgb.data], expected.rgb);

  // Viewport: scaled to fit with the aspect ratio kept; a source region cut out, flipped when negative.
  const ct = instancePath(CT);
  const fit = await pixelsOf((await app.inject({ url: `${ct}/rendered?viewport=64,32`, headers: { accept: 'image/png' } })).rawPayload);
  assert.deepEqual([fit.width, fit.height], [32, 32]);
  const whole = await pixelsOf((await app.inject({ url: `${ct}/rendered?window=0,2000,linear`, headers: { accept: 'image/png' } })).rawPayload);
  const region = await pixelsOf((await app.inject({ url: `${ct}/rendered?window=0,2000,linear&viewport=10,5,20,30,10,5`, headers: { accept: 'image/png' } })).rawPayload);
  assert.deepEqual([region.width, region.height], [10, 5]);
  for (let y = 0; y < 5; y++) for (let x = 0; x < 10; x++) assert.equal(region.data[y * 10 + x], whole.data[(30 + y) * 128 + 20 + x]);
  const flipped = await pixelsOf((await app.inject({ url: `${ct}/rendered?window=0,2000,linear&viewport=10,5,30,30,-10,5`, headers: { accept: 'image/png' } })).rawPayload);
  for (let y = 0; y < 5; y++) for (let x = 0; x < 10; x++) assert.equal(flipped.data[y * 10 + x], whole.data[(30 + y) * 128 + 29 - x]);

  // JPEG by default; quality changes the size; GIF too; anything else 406.
  const low = await app.inject({ url: `${ct}/rendered?quality=10` });
  const high = await app.inject({ url: `${ct}/rendered?quality=95`, headers: { accept: '*/*' } });
  assert.equal(low.headers['content-type'], 'image/jpeg');
  assert.equal(high.headers['content-type'], 'image/jpeg');
  assert.equal((await pixelsOf(low.rawPayload)).format, 'jpeg');
  assert.ok(low.rawPayload.length * 1.5 < high.rawPayload.length, `quality 10 (${low.rawPayload.length} bytes) well under quality 95 (${high.rawPayload.length})`);
  const gif = await app.inject({ url: `${ct}/rendered`, headers: { accept: 'image/gif, image/jpeg;q=0.5' } });
  assert.equal(gif.headers['content-type'], 'image/gif');
  assert.equal((await pixelsOf(gif.rawPayload)).format, 'gif');
  const refused = await app.inject({ url: `${ct}/rendered`, headers: { accept: 'image/jp2, application/dicom' } });
  assert.equal(refused.statusCode, 406);
  assert.match(refused.json().error.message, /image\/jpeg, image\/png, image\/gif/);

  // Compressed pixel data: 406 naming the transfer syntax.
  const j2k = await app.inject({ url: `${instancePath(J2K)}/rendered` });
  assert.equal(j2k.statusCode, 406);
  assert.match(j2k.json().error.message, /1\.2\.840\.10008\.1\.2\.4\.91, JPEG 2000/);

  // Frames: one frame an image, no such frame 404.
  assert.equal((await app.inject({ url: `${ct}/frames/2/rendered` })).statusCode, 404);
  const two = await app.inject({ url: `${ct}/frames/1,1/rendered`, headers: { accept: 'image/png' } });
  const parts = await multipartParts(two.rawPayload, two.headers['content-type'] as string);
  assert.equal(parts.length, 2);
  assert.deepEqual((await pixelsOf(parts[0]!.body)).data, (await pixelsOf((await app.inject({ url: `${ct}/rendered`, headers: { accept: 'image/png' } })).rawPayload)).data);
});

test('thumbnail: study, series and instance, small by default, a viewport when asked; rendered series as multipart', { skip }, async (t) => {
  const { app } = await loadedApp(t, [CT, J2K]);
  const ct = instancePath(CT);
  const [, , , study, , series] = ct.split('/');
  for (const url of [`/dicom-web/studies/${study}/thumbnail`, `/dicom-web/studies/${study}/series/${series}/thumbnail`, `${ct}/thumbnail`]) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    assert.equal(res.headers['content-type'], 'image/jpeg');
    const image = await pixelsOf(res.rawPayload);
    assert.ok(image.width <= 128 && image.height <= 128 && image.width === 128, `${url}: ${image.width}x${image.height}`);
  }
  const small = await pixelsOf((await app.inject({ url: `${ct}/thumbnail?viewport=40,40`, headers: { accept: 'image/png' } })).rawPayload);
  assert.deepEqual([small.width, small.height], [40, 40]);
  // A study of compressed images only: nothing to render, 406.
  const j2k = instancePath(J2K).split('/');
  assert.equal((await app.inject({ url: `/dicom-web/studies/${j2k[3]}/thumbnail` })).statusCode, 406);
  const seriesRendered = await app.inject({ url: `/dicom-web/studies/${study}/series/${series}/rendered`, headers: { accept: 'image/png' } });
  assert.equal(seriesRendered.statusCode, 200);
  const parts = await multipartParts(seriesRendered.rawPayload, seriesRendered.headers['content-type'] as string);
  assert.equal(parts.length, 1);
  assert.equal(parts[0]!.headers.get('content-location'), `http://conduit.test${ct}/rendered`);
});

test('rendered, thumbnail and WADO-URI of an instance without Pixel Data (an SR): 406 saying so, not 404 as if it were not there', { skip }, async (t) => {
  const sr = file('test-SR.dcm');
  const { app } = await loadedApp(t, [sr]);
  const path = instancePath(sr);
  const [, , , study, , series, , sop] = path.split('/');
  for (const url of [`${path}/rendered`, `${path}/thumbnail`, `/dicom-web/studies/${study}/rendered`, `/wado?requestType=WADO&studyUID=${study}&seriesUID=${series}&objectUID=${sop}`]) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 406, `${url}: ${res.body}`);
    assert.match(res.json().error.message, /has no Pixel Data, so no image\/jpeg rendering \(Conduit renders images only; the instance itself is application\/dicom\)/, url);
  }
  // The instance itself is there.
  assert.equal((await app.inject({ url: `/wado?requestType=WADO&studyUID=${study}&seriesUID=${series}&objectUID=${sop}&contentType=application%2Fdicom` })).statusCode, 200);
});
