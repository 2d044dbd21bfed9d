/**
 * Issue 5's acceptance: the `dicomweb-client` npm package (DCMJS/OHIF, the client OHIF Viewer
 * uses) against an in-process `conduit serve`, for every transaction it supports: STOW-RS
 * (storeInstances), QIDO-RS (searchFor Studies/Series/Instances, values checked), WADO-RS metadata
 * (study, series, instance), instances (instance, series, study: the data sets identical to those
 * stored), frames, bulk data, and rendered and thumbnail images. The package is a browser library on
 * XMLHttpRequest; xhr2 gives Node one (ADR 0011), set as a global for this file only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import sharp from 'sharp';
import dicomwebClient from 'dicomweb-client';
import { parseBuffer } from '../../src/media/part10.js';
import { loadConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/serve.js';
import { PYDICOM_DATA, peer } from '../helpers/peers.js';
import { tempDir } from '../storage/helpers.js';

type Json = Record<string, { vr: string; Value?: unknown[]; BulkDataURI?: string }>;
interface Client {
  storeInstances(o: { datasets: ArrayBuffer[] }): Promise<unknown>;
  searchForStudies(o?: { queryParams?: Record<string, unknown> }): Promise<Json[]>;
  searchForSeries(o: { studyInstanceUID?: string; queryParams?: Record<string, unknown> }): Promise<Json[]>;
  searchForInstances(o: { studyInstanceUID?: string; seriesInstanceUID?: string; queryParams?: Record<string, unknown> }): Promise<Json[]>;
  retrieveStudyMetadata(o: { studyInstanceUID: string }): Promise<Json[]>;
  retrieveSeriesMetadata(o: { studyInstanceUID: string; seriesInstanceUID: string }): Promise<Json[]>;
  retrieveInstanceMetadata(o: Uids): Promise<Json[]>;
  retrieveInstance(o: Uids): Promise<ArrayBuffer>;
  retrieveSeries(o: { studyInstanceUID: string; seriesInstanceUID: string }): Promise<ArrayBuffer[]>;
  retrieveStudy(o: { studyInstanceUID: string }): Promise<ArrayBuffer[]>;
  retrieveInstanceFrames(o: Uids & { frameNumbers: number[]; mediaTypes?: MediaTypes }): Promise<ArrayBuffer[]>;
  retrieveBulkData(o: { BulkDataURI: string; byteRange?: [number, number] }): Promise<ArrayBuffer[]>;
  retrieveInstanceRendered(o: Uids & { mediaTypes?: Array<{ mediaType: string }>; queryParams?: Record<string, unknown> }): Promise<ArrayBuffer | ArrayBuffer[]>;
  retrieveInstanceThumbnail(o: Uids & { mediaTypes?: Array<{ mediaType: string }>; queryParams?: Record<string, unknown> }): Promise<ArrayBuffer | ArrayBuffer[]>;
  retrieveInstanceFramesRendered(o: Uids & { frameNumbers: number[]; mediaTypes?: Array<{ mediaType: string }> }): Promise<ArrayBuffer | ArrayBuffer[]>;
}
type MediaTypes = Array<{ mediaType: string; transferSyntaxUID?: string }>;
interface Uids { studyInstanceUID: string; seriesInstanceUID: string; sopInstanceUID: string }

const FILES = ['CT_small.dcm', 'MR_small.dcm', 'SC_rgb_small_odd.dcm'].map((f) => join(PYDICOM_DATA, 'test_files', f));

function uidsOf(bytes: Uint8Array): Uids {
  const ds = parseBuffer(bytes).dataSet;
  return { studyInstanceUID: ds.string('StudyInstanceUID')!.trim(), seriesInstanceUID: ds.string('SeriesInstanceUID')!.trim(), sopInstanceUID: ds.string('SOPInstanceUID')!.trim() };
}

function arrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** The rendered answers come as one ArrayBuffer or a one-element array, depending on the path taken. */
function single(r: ArrayBuffer | ArrayBuffer[]): Buffer {
  const one = Array.isArray(r) ? r[0]! : r;
  assert.ok(one instanceof ArrayBuffer, 'an ArrayBuffer');
  return Buffer.from(one);
}

test('dicomweb-client (npm) against conduit serve: STOW, QIDO, WADO metadata/instances/frames/bulkdata, rendered, thumbnail', { skip: peer('pydicom') }, async (t) => {
  const globals = globalThis as { XMLHttpRequest?: unknown };
  const saved = globals.XMLHttpRequest;
  globals.XMLHttpRequest = createRequire(import.meta.url)('xhr2');
  t.after(() => { globals.XMLHttpRequest = saved; });

  const dataDir = tempDir(t, 'conduit-dicomweb-client-npm-');
  const server = await startServer(loadConfig({ flags: { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir }, env: {} }));
  t.after(() => server.close());
  const { api } = dicomwebClient as unknown as { api: { DICOMwebClient: new (options: object) => Client } };
  const client = new api.DICOMwebClient({ url: `http://127.0.0.1:${server.httpPort}/dicom-web`, verbose: false });

  // STOW-RS: the three files in one request.
  const files = FILES.map((f) => readFileSync(f));
  const stowed = await client.storeInstances({ datasets: files.map(arrayBuffer) });
  assert.ok(stowed !== undefined);
  assert.equal((await server.archive.index.instancesFor('IMAGE', files.map((f) => uidsOf(f).sopInstanceUID))).length, 3, 'all three stored');

  const [ct, mr, rgb] = files.map(uidsOf) as [Uids, Uids, Uids];

  // QIDO-RS, values checked.
  const studies = await client.searchForStudies({ queryParams: { PatientID: '1CT1' } });
  assert.equal(studies.length, 1);
  assert.deepEqual(studies[0]!['0020000D']!.Value, [ct.studyInstanceUID]);
  assert.deepEqual(studies[0]!['00100010']!.Value, [{ Alphabetic: 'CompressedSamples^CT1' }]);
  assert.deepEqual(studies[0]!['00201208']!.Value, [1], 'Number of Study Related Instances');
  assert.equal((await client.searchForStudies()).length, 3);
  const series = await client.searchForSeries({ studyInstanceUID: mr.studyInstanceUID });
  assert.deepEqual(series.map((s) => s['0020000E']!.Value), [[mr.seriesInstanceUID]]);
  assert.deepEqual(series[0]!['00080060']!.Value, ['MR']);
  const allMr = await client.searchForSeries({ queryParams: { Modality: 'MR' } });
  assert.deepEqual(allMr.map((s) => s['0020000E']!.Value![0]), [mr.seriesInstanceUID]);
  const instances = await client.searchForInstances({ studyInstanceUID: ct.studyInstanceUID, seriesInstanceUID: ct.seriesInstanceUID });
  assert.deepEqual(instances.map((i) => i['00080018']!.Value![0]), [ct.sopInstanceUID]);
  assert.deepEqual((await client.searchForInstances({ queryParams: { SOPInstanceUID: rgb.sopInstanceUID } })).map((i) => i['00080016']!.Value![0]), ['1.2.840.10008.5.1.4.1.1.7']);

  // WADO-RS metadata at every level.
  const studyMeta = await client.retrieveStudyMetadata({ studyInstanceUID: ct.studyInstanceUID });
  const seriesMeta = await client.retrieveSeriesMetadata({ studyInstanceUID: ct.studyInstanceUID, seriesInstanceUID: ct.seriesInstanceUID });
  const instanceMeta = await client.retrieveInstanceMetadata(ct);
  for (const meta of [studyMeta, seriesMeta, instanceMeta]) {
    assert.equal(meta.length, 1);
    assert.deepEqual(meta[0]!['00280010']!.Value, [128], 'Rows');
    assert.deepEqual(meta[0]!['00281052']!.Value, [-1024], 'Rescale Intercept');
  }
  const bulkDataUri = instanceMeta[0]!['7FE00010']!.BulkDataURI!;
  assert.ok(bulkDataUri.endsWith(`/instances/${ct.sopInstanceUID}/bulkdata/7FE00010`), bulkDataUri);

  // WADO-RS instances: the data sets identical to the stored ones.
  const ctPixels = parseBuffer(files[0]!).dataSet.get('PixelData')!.bytes;
  const sameDataSet = (got: ArrayBuffer, stored: Buffer) => {
    const a = parseBuffer(new Uint8Array(got));
    const b = parseBuffer(stored);
    assert.equal(a.dataSet.elements().length, b.dataSet.elements().length);
    for (const e of b.dataSet.elements()) assert.deepEqual(Buffer.from(a.dataSet.get(e.tag)?.bytes ?? []), Buffer.from(e.bytes ?? []), `tag ${e.tag.toString(16)}`);
  };
  sameDataSet(await client.retrieveInstance(ct), files[0]!);
  const seriesParts = await client.retrieveSeries({ studyInstanceUID: mr.studyInstanceUID, seriesInstanceUID: mr.seriesInstanceUID });
  assert.equal(seriesParts.length, 1);
  sameDataSet(seriesParts[0]!, files[1]!);
  const studyParts = await client.retrieveStudy({ studyInstanceUID: rgb.studyInstanceUID });
  assert.equal(studyParts.length, 1);
  sameDataSet(studyParts[0]!, files[2]!);

  // (retrieveInstance/Series/Study with mediaTypes throw in the client itself, 0.11.3:
  // "Media type application/ is not supported", so the default transfer syntax is what it can ask.)

  // Frames and bulk data: the pixel bytes, whole or a range.
  const [frame] = await client.retrieveInstanceFrames({ ...ct, frameNumbers: [1] });
  assert.ok(Buffer.from(frame!).equals(Buffer.from(ctPixels)), 'frame 1 is the pixel data');
  const [explicitFrame] = await client.retrieveInstanceFrames({ ...ct, frameNumbers: [1], mediaTypes: [{ mediaType: 'application/octet-stream', transferSyntaxUID: '1.2.840.10008.1.2.1' }] });
  assert.ok(Buffer.from(explicitFrame!).equals(Buffer.from(ctPixels)));
  const [bulk] = await client.retrieveBulkData({ BulkDataURI: bulkDataUri });
  assert.ok(Buffer.from(bulk!).equals(Buffer.from(ctPixels)), 'the bulk data is the pixel data');
  const [range] = await client.retrieveBulkData({ BulkDataURI: bulkDataUri, byteRange: [100, 199] });
  assert.ok(Buffer.from(range!).equals(Buffer.from(ctPixels.subarray(100, 200))), 'bytes 100-199');

  // Rendered and thumbnail.
  const rendered = single(await client.retrieveInstanceRendered({ ...ct, mediaTypes: [{ mediaType: 'image/png' }], queryParams: { viewport: '64,64' } }));
  const renderedMeta = await sharp(rendered).metadata();
  assert.deepEqual([renderedMeta.format, renderedMeta.width, renderedMeta.height], ['png', 64, 64]);
  const jpeg = single(await client.retrieveInstanceRendered(mr));
  assert.equal((await sharp(jpeg).metadata()).format, 'jpeg');
  const thumb = single(await client.retrieveInstanceThumbnail({ ...mr, mediaTypes: [{ mediaType: 'image/jpeg' }] }));
  const thumbMeta = await sharp(thumb).metadata();
  assert.deepEqual([thumbMeta.format, thumbMeta.width, thumbMeta.height], ['jpeg', 128, 128]);
  const framePng = single(await client.retrieveInstanceFramesRendered({ ...rgb, frameNumbers: [1], mediaTypes: [{ mediaType: 'image/png' }] }));
  const frameMeta = await sharp(framePng).metadata();
  assert.deepEqual([frameMeta.format, frameMeta.width, frameMeta.channels], ['png', 3, 3]);
});
