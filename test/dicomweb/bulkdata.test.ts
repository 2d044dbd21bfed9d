import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBuffer } from '../../src/media/part10.js';
import { PYDICOM_DATA, peer } from '../helpers/peers.js';
import { loadedApp, multipartParts } from './helpers.js';

const skip = peer('pydicom');
const file = (name: string) => join(PYDICOM_DATA, 'test_files', name);

function instancePath(path: string): string {
  const ds = parseBuffer(readFileSync(path)).dataSet;
  return `/dicom-web/studies/${ds.string('StudyInstanceUID')!.trim()}/series/${ds.string('SeriesInstanceUID')!.trim()}/instances/${ds.string('SOPInstanceUID')!.trim()}`;
}

test('WADO-RS bulkdata: the BulkDataURI of the metadata gives the value, whole or a byte range', { skip }, async (t) => {
  const { app } = await loadedApp(t);
  const ct = file('CT_small.dcm');
  const pixels = Buffer.from(parseBuffer(readFileSync(ct)).dataSet.get('PixelData')!.bytes);
  const [metadata] = (await app.inject({ url: `${instancePath(ct)}/metadata` })).json() as Array<Record<string, { BulkDataURI?: string }>>;
  const uri = new URL(metadata!['7FE00010']!.BulkDataURI!);
  const whole = await app.inject({ url: uri.pathname });
  assert.equal(whole.statusCode, 200);
  assert.equal(whole.headers['content-type'], 'application/octet-stream');
  assert.ok(whole.rawPayload.equals(pixels));
  const range = await app.inject({ url: uri.pathname, headers: { range: 'bytes=100-199' } });
  assert.equal(range.statusCode, 206);
  assert.equal(range.headers['content-range'], `bytes 100-199/${pixels.length}`);
  assert.ok(range.rawPayload.equals(pixels.subarray(100, 200)));
  const suffix = await app.inject({ url: uri.pathname, headers: { range: 'bytes=-4' } });
  assert.ok(suffix.rawPayload.equals(pixels.subarray(pixels.length - 4)));
  const outside = await app.inject({ url: uri.pathname, headers: { range: `bytes=${pixels.length}-` } });
  assert.equal(outside.statusCode, 416);
  assert.equal(outside.headers['content-range'], `bytes */${pixels.length}`);
  // Several ranges: 206 multipart/byteranges, one part per range in the order asked (RFC 9110 §14.6).
  const several = await app.inject({ url: uri.pathname, headers: { range: 'bytes=0-9, 300-309,-5' } });
  assert.equal(several.statusCode, 206);
  assert.match(several.headers['content-type'] as string, /^multipart\/byteranges; boundary=/);
  const byteParts = await multipartParts(several.rawPayload, several.headers['content-type'] as string);
  assert.deepEqual(byteParts.map((p) => p.headers.get('content-range')), [`bytes 0-9/${pixels.length}`, `bytes 300-309/${pixels.length}`, `bytes ${pixels.length - 5}-${pixels.length - 1}/${pixels.length}`]);
  assert.ok(byteParts[0]!.body.equals(pixels.subarray(0, 10)) && byteParts[1]!.body.equals(pixels.subarray(300, 310)) && byteParts[2]!.body.equals(pixels.subarray(pixels.length - 5)));
  assert.ok(byteParts.every((p) => p.headers.get('content-type') === 'application/octet-stream'));
  // Overlapping ranges are merged into one; unsatisfiable ones dropped while one is satisfiable.
  const merged = await app.inject({ url: uri.pathname, headers: { range: `bytes=10-19,15-29,${pixels.length + 5}-` } });
  assert.equal(merged.statusCode, 206);
  assert.equal(merged.headers['content-range'], `bytes 10-29/${pixels.length}`);
  assert.ok(merged.rawPayload.equals(pixels.subarray(10, 30)));
  const none = await app.inject({ url: uri.pathname, headers: { range: `bytes=${pixels.length}-,-0` } });
  assert.equal(none.statusCode, 416);
  assert.equal(none.headers['content-range'], `bytes */${pixels.length}`);
  // A Range that is not a valid bytes range set is ignored: the whole value (RFC 9110 §14.2).
  for (const ignored of ['bytes=9-5', 'items=0-5', 'bytes=a-b']) {
    const whole = await app.inject({ url: uri.pathname, headers: { range: ignored } });
    assert.equal(whole.statusCode, 200, ignored);
    assert.equal(whole.rawPayload.length, pixels.length, ignored);
  }
  // If-Range: the value's strong ETag lets the range through; another validator gets the whole value.
  const etag = range.headers.etag as string;
  assert.match(etag, /^"[^"]+"$/);
  assert.equal((await app.inject({ url: uri.pathname, headers: { range: 'bytes=0-3', 'if-range': etag } })).statusCode, 206);
  for (const other of ['"stale"', `W/${etag}`, 'Sat, 21 Nov 2026 10:00:00 GMT']) {
    const whole = await app.inject({ url: uri.pathname, headers: { range: 'bytes=0-3', 'if-range': other } });
    assert.equal(whole.statusCode, 200, other);
    assert.ok(whole.rawPayload.equals(pixels));
  }
  const multipart = await app.inject({ url: uri.pathname, headers: { accept: 'multipart/related; type="application/octet-stream"' } });
  const parts = await multipartParts(multipart.rawPayload, multipart.headers['content-type'] as string);
  assert.ok(parts[0]!.body.equals(pixels));
  // Asked as multipart/related, ranges are of the value too: one part each.
  const rangedParts = await app.inject({ url: uri.pathname, headers: { accept: 'multipart/related; type="application/octet-stream"', range: 'bytes=0-9,20-29' } });
  assert.equal(rangedParts.statusCode, 206);
  const ranged = await multipartParts(rangedParts.rawPayload, rangedParts.headers['content-type'] as string);
  assert.deepEqual(ranged.map((p) => p.headers.get('content-range')), [`bytes 0-9/${pixels.length}`, `bytes 20-29/${pixels.length}`]);
  assert.ok(ranged[0]!.body.equals(pixels.subarray(0, 10)) && ranged[1]!.body.equals(pixels.subarray(20, 30)));
  // The instance's and the study's Bulkdata resources (PS3.18 §10.4.1.1.5): every BulkDataURI's value.
  for (const url of [`${instancePath(ct)}/bulkdata`, `${instancePath(ct).replace(/\/series\/.*/, '')}/bulkdata`]) {
    const set = await app.inject({ url });
    assert.equal(set.statusCode, 200, set.body);
    assert.match(set.headers['content-type'] as string, /^multipart\/related; type="application\/octet-stream"/);
    const setParts = await multipartParts(set.rawPayload, set.headers['content-type'] as string);
    const uris = Object.values(metadata!).flatMap((v) => (v.BulkDataURI ? [v.BulkDataURI] : []));
    assert.deepEqual(setParts.map((p) => p.headers.get('content-location')), uris);
    assert.ok(setParts.find((p) => p.headers.get('content-location') === uri.href)!.body.equals(pixels));
  }
  assert.equal((await app.inject({ url: `${instancePath(ct)}/bulkdata`, headers: { accept: 'image/png' } })).statusCode, 406);
  assert.equal((await app.inject({ url: `${instancePath(ct)}/bulkdata/7FE00011` })).statusCode, 404);
  assert.equal((await app.inject({ url: `${instancePath(ct)}/bulkdata/nonsense` })).statusCode, 400);
});

test('WADO-RS frames: uncompressed frames cut from the pixel data; compressed frames as stored', { skip }, async (t) => {
  const { app } = await loadedApp(t);
  const dose = file('rtdose.dcm');
  const ds = parseBuffer(readFileSync(dose)).dataSet;
  const pixels = Buffer.from(ds.get('PixelData')!.bytes);
  const frameCount = Number(ds.string('NumberOfFrames'));
  assert.ok(frameCount > 2);
  const size = pixels.length / frameCount;
  const res = await app.inject({ url: `${instancePath(dose)}/frames/2,${frameCount}` });
  assert.equal(res.statusCode, 200, res.body);
  const parts = await multipartParts(res.rawPayload, res.headers['content-type'] as string);
  assert.equal(parts.length, 2);
  assert.ok(parts[0]!.body.equals(pixels.subarray(size, 2 * size)));
  assert.ok(parts[1]!.body.equals(pixels.subarray((frameCount - 1) * size)));
  assert.equal((await app.inject({ url: `${instancePath(dose)}/frames/${frameCount + 1}` })).statusCode, 404);
  assert.equal((await app.inject({ url: `${instancePath(dose)}/frames/0` })).statusCode, 400);
  // The instance's Pixel Data resource: every frame, in order, each with its Content-Location.
  const all = await app.inject({ url: `${instancePath(dose)}/pixeldata` });
  assert.equal(all.statusCode, 200, all.body);
  const allParts = await multipartParts(all.rawPayload, all.headers['content-type'] as string);
  assert.equal(allParts.length, frameCount);
  assert.ok(Buffer.concat(allParts.map((p) => p.body)).equals(pixels));
  assert.match(allParts[frameCount - 1]!.headers.get('content-location')!, new RegExp(`/frames/${frameCount}$`));
  // A study without Pixel Data (an RT Plan) has no Pixel Data resource.
  const plan = instancePath(file('rtplan.dcm')).replace(/\/series\/.*/, '');
  assert.equal((await app.inject({ url: `${plan}/pixeldata` })).statusCode, 404);

  const j2k = file('JPEG2000.dcm');
  const fragments = parseBuffer(readFileSync(j2k)).dataSet.get('PixelData')!.encapsulated!.fragments as Uint8Array[];
  const compressed = await app.inject({ url: `${instancePath(j2k)}/frames/1`, headers: { accept: 'multipart/related; type="image/jp2"; transfer-syntax=*' } });
  assert.equal(compressed.statusCode, 200, compressed.body);
  const [frame] = await multipartParts(compressed.rawPayload, compressed.headers['content-type'] as string);
  assert.equal(frame!.headers.get('content-type'), 'image/jp2; transfer-syntax=1.2.840.10008.1.2.4.91');
  assert.ok(frame!.body.equals(Buffer.concat(fragments)));
  const refused = await app.inject({ url: `${instancePath(j2k)}/frames/1`, headers: { accept: 'multipart/related; type="application/octet-stream"' } });
  assert.equal(refused.statusCode, 406);
});

test('WADO-RS frames of native pixel data in any native transfer syntax: Big Endian samples swapped, "*" as stored', { skip }, async (t) => {
  const littleEndian = Buffer.from(parseBuffer(readFileSync(file('MR_small.dcm'))).dataSet.get('PixelData')!.bytes);
  const bigEndian = Buffer.from(littleEndian).swap16();
  // The same image stored as Explicit VR Big Endian (the same SOP Instance UID: its own archive).
  const { app } = await loadedApp(t, [file('MR_small_bigendian.dcm')]);
  const url = `${instancePath(file('MR_small_bigendian.dcm'))}/frames/1`;
  for (const [accept, ts, bytes] of [
    [undefined, '1.2.840.10008.1.2.1', littleEndian],
    ['multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2', '1.2.840.10008.1.2', littleEndian],
    ['multipart/related; type="application/octet-stream"; transfer-syntax=*', '1.2.840.10008.1.2.2', bigEndian],
  ] as const) {
    const res = await app.inject({ url, headers: accept ? { accept } : {} });
    assert.equal(res.statusCode, 200, `${accept}: ${res.body}`);
    const [part] = await multipartParts(res.rawPayload, res.headers['content-type'] as string);
    assert.equal(part!.headers.get('content-type'), `application/octet-stream; transfer-syntax=${ts}`);
    assert.ok(part!.body.equals(bytes), `${accept}: the samples in ${ts} byte order`);
  }
  assert.equal((await app.inject({ url, headers: { accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.4.50' } })).statusCode, 406);
});
