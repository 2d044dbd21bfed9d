import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBuffer } from '../../src/media/part10.js';
import { nativeDicomXmlToJson } from '../../src/data/xml-model.js';
import { PYDICOM_DATA, peer } from '../helpers/peers.js';
import { loadedApp, multipartParts } from './helpers.js';

const skip = peer('pydicom');
const CT = join(PYDICOM_DATA, 'test_files/CT_small.dcm');
const J2K = join(PYDICOM_DATA, 'test_files/JPEG2000.dcm');
type Json = Array<Record<string, { vr: string; Value?: unknown[]; BulkDataURI?: string }>>;

function uidsOf(path: string) {
  const ds = parseBuffer(readFileSync(path)).dataSet;
  return { study: ds.string('StudyInstanceUID')!.trim(), series: ds.string('SeriesInstanceUID')!.trim(), sop: ds.string('SOPInstanceUID')!.trim() };
}

test('WADO-RS metadata: from the stored JSON, BulkDataURI at the bulkdata resource, every level, JSON and XML', { skip }, async (t) => {
  const { app } = await loadedApp(t);
  const { study, series, sop } = uidsOf(CT);
  const instanceUrl = `http://conduit.test/dicom-web/studies/${study}/series/${series}/instances/${sop}`;
  for (const url of [`/dicom-web/studies/${study}/metadata`, `/dicom-web/studies/${study}/series/${series}/metadata`, `/dicom-web/studies/${study}/series/${series}/instances/${sop}/metadata`]) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    assert.match(res.headers['content-type'] as string, /^application\/dicom\+json/);
    const [ds] = res.json() as Json;
    assert.deepEqual(ds!['00100010']!.Value, [{ Alphabetic: 'CompressedSamples^CT1' }]);
    assert.equal(ds!['7FE00010']!.BulkDataURI, `${instanceUrl}/bulkdata/7FE00010`);
    assert.equal(ds!['7FE00010']!.Value, undefined);
  }
  const xml = await app.inject({ url: `/dicom-web/studies/${study}/metadata`, headers: { accept: 'multipart/related; type="application/dicom+xml"' } });
  assert.equal(xml.statusCode, 200);
  const parts = await multipartParts(xml.rawPayload, xml.headers['content-type'] as string);
  assert.equal(parts.length, 1);
  const fromXml = nativeDicomXmlToJson(parts[0]!.body) as Json[number];
  assert.equal(fromXml['7FE00010']!.BulkDataURI, `${instanceUrl}/bulkdata/7FE00010`);

  assert.equal((await app.inject({ url: '/dicom-web/studies/1.2.3/metadata' })).statusCode, 404);
  assert.equal((await app.inject({ url: `/dicom-web/studies/1.2.3/series/${series}/metadata` })).statusCode, 404, 'a series under another study');
});

test('WADO-RS retrieve: Part 10 bytes as stored, transfer-syntax negotiation, every level', { skip }, async (t) => {
  const { app, stored } = await loadedApp(t);
  const { study, series, sop } = uidsOf(CT);
  const url = `/dicom-web/studies/${study}/series/${series}/instances/${sop}`;

  const res = await app.inject({ url, headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
  assert.equal(res.statusCode, 200, res.body);
  const parts = await multipartParts(res.rawPayload, res.headers['content-type'] as string);
  assert.equal(parts.length, 1);
  assert.ok(parts[0]!.body.equals(readFileSync(CT)), 'the stored file, byte for byte');
  assert.equal(parts[0]!.headers.get('content-type'), 'application/dicom; transfer-syntax=1.2.840.10008.1.2.1');
  assert.equal(parts[0]!.headers.get('content-location'), `http://conduit.test${url}`);
  // PS3.18 §8.4.3: no Content-Encoding, so a Content-Length: known ahead when every instance goes as stored.
  assert.equal(res.headers['content-length'], String(res.rawPayload.length));

  // Converted among uncompressed transfer syntaxes; the values are the same.
  for (const ts of ['1.2.840.10008.1.2', '1.2.840.10008.1.2.2']) {
    const conv = await app.inject({ url, headers: { accept: `multipart/related; type="application/dicom"; transfer-syntax=${ts}` } });
    const [part] = await multipartParts(conv.rawPayload, conv.headers['content-type'] as string);
    assert.equal(part!.headers.get('content-type'), `application/dicom; transfer-syntax=${ts}`);
    assert.equal(conv.headers['content-length'], undefined, 'a converted instance is sized only once encoded: chunked');
    const file = parseBuffer(part!.body);
    assert.equal(file.transferSyntaxUid, ts);
    assert.equal(file.dataSet.string('PatientName'), 'CompressedSamples^CT1');
    assert.deepEqual(file.dataSet.numbers('PixelSpacing'), [0.661468, 0.661468]);
    assert.equal(file.dataSet.get('PixelData')!.valueLength, 128 * 128 * 2);
  }

  // A compressed object: as stored without a transfer-syntax, 406 when an uncompressed one is required.
  const j2k = uidsOf(J2K);
  assert.ok(stored.has(J2K), 'the JPEG 2000 file is archived');
  {
    const j2kUrl = `/dicom-web/studies/${j2k.study}/series/${j2k.series}/instances/${j2k.sop}`;
    const asStored = await app.inject({ url: j2kUrl, headers: { accept: 'multipart/related; type="application/dicom"' } });
    const [p] = await multipartParts(asStored.rawPayload, asStored.headers['content-type'] as string);
    assert.ok(p!.body.equals(readFileSync(J2K)));
    const refused = await app.inject({ url: j2kUrl, headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1' } });
    assert.equal(refused.statusCode, 406);
    assert.match(refused.json().error.message, /stored as 1\.2\.840\.10008\.1\.2\.4\.9/);
  }

  // Study and series level: one part per instance.
  const studyRes = await app.inject({ url: `/dicom-web/studies/${study}`, headers: { accept: '*/*' } });
  assert.equal((await multipartParts(studyRes.rawPayload, studyRes.headers['content-type'] as string)).length, 1);
  assert.equal(studyRes.headers['content-length'], String(studyRes.rawPayload.length));
  // The study with the most instances: the lengths of every part and delimiter add up.
  const many = (await app.inject({ url: '/dicom-web/instances?limit=1000' })).json() as Array<Record<string, { Value?: string[] }>>;
  const counts = new Map<string, number>();
  for (const i of many) counts.set(i['0020000D']!.Value![0]!, (counts.get(i['0020000D']!.Value![0]!) ?? 0) + 1);
  const [bigStudy] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
  const whole = await app.inject({ url: `/dicom-web/studies/${bigStudy}`, headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
  assert.equal((await multipartParts(whole.rawPayload, whole.headers['content-type'] as string)).length, counts.get(bigStudy));
  assert.equal(whole.headers['content-length'], String(whole.rawPayload.length));
  assert.equal((await app.inject({ url: `/dicom-web/studies/${study}/series/1.2.3` })).statusCode, 404);
  assert.equal((await app.inject({ url, headers: { accept: 'application/dicom+json' } })).statusCode, 406);
});

test('WADO-RS metadata of instances indexed without metadata: read from the stored object, the same JSON', { skip }, async (t) => {
  const { ArchiveStore } = await import('../../src/storage/archive-store.js');
  const { FilesystemBlobStore } = await import('../../src/storage/filesystem/filesystem-blob-store.js');
  const { SqliteIndexStore } = await import('../../src/storage/sqlite/sqlite-index-store.js');
  const { createDicomWebApp } = await import('../../src/dicomweb/app.js');
  const { tempDir, iterate } = await import('../storage/helpers.js');
  const dir = tempDir(t, 'conduit-no-metadata-');
  const bare = new ArchiveStore({ index: new SqliteIndexStore({ path: join(dir, 'index.sqlite') }), blobs: new FilesystemBlobStore({ root: join(dir, 'blobs') }), storeMetadata: false });
  await bare.storeInstance({ part10: iterate([readFileSync(CT)]) });
  const bareApp = createDicomWebApp({ archive: bare, publicUrl: 'http://conduit.test/dicom-web' });
  t.after(async () => { await bareApp.close(); await bare.close(); });
  const { app } = await loadedApp(t, [CT]);
  const { study, series, sop } = uidsOf(CT);
  const url = `/dicom-web/studies/${study}/series/${series}/instances/${sop}/metadata`;
  const fromObject = await bareApp.inject({ url });
  assert.equal(fromObject.statusCode, 200, fromObject.body);
  assert.deepEqual(fromObject.json(), (await app.inject({ url })).json());
  // The stored object, not the index's metadata, is what a rendering reads.
  const thumbnail = await bareApp.inject({ url: `/dicom-web/studies/${study}/thumbnail` });
  assert.equal(thumbnail.statusCode, 200, thumbnail.body);
  assert.equal(thumbnail.headers['content-type'], 'image/jpeg');
});

test('WADO-RS Retrieve Instance single part: Accept application/dicom gives the Part 10 file as the body (PS3.18 §10.4.4); not for a study or series', { skip }, async (t) => {
  const { app } = await loadedApp(t);
  const { study, series, sop } = uidsOf(CT);
  const url = `/dicom-web/studies/${study}/series/${series}/instances/${sop}`;
  const res = await app.inject({ url, headers: { accept: 'application/dicom' } });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'application/dicom; transfer-syntax=1.2.840.10008.1.2.1');
  assert.equal(res.headers['content-location'], `http://conduit.test${url}`);
  assert.equal(Number(res.headers['content-length']), readFileSync(CT).length);
  assert.ok(res.rawPayload.equals(readFileSync(CT)), 'the stored file, byte for byte');
  // A transfer syntax asked: converted among the uncompressed ones; a compressed one is 406.
  const implicit = await app.inject({ url, headers: { accept: 'application/dicom; transfer-syntax=1.2.840.10008.1.2' } });
  assert.equal(implicit.headers['content-type'], 'application/dicom; transfer-syntax=1.2.840.10008.1.2');
  assert.equal(parseBuffer(implicit.rawPayload).transferSyntaxUid, '1.2.840.10008.1.2');
  assert.equal((await app.inject({ url, headers: { accept: 'application/dicom; transfer-syntax=1.2.840.10008.1.2.4.50' } })).statusCode, 406);
  // Multipart when it is preferred, or listed first at the same quality.
  for (const accept of ['multipart/related; type="application/dicom", application/dicom', 'application/dicom; q=0.5, multipart/related; type="application/dicom"']) {
    const r = await app.inject({ url, headers: { accept } });
    assert.match(r.headers['content-type'] as string, /^multipart\/related; type="application\/dicom"/, accept);
  }
  // A study or a series is never single part (PS3.18 §10.4.4): 406 when nothing else is accepted.
  for (const resource of [`/dicom-web/studies/${study}`, `/dicom-web/studies/${study}/series/${series}`]) {
    assert.equal((await app.inject({ url: resource, headers: { accept: 'application/dicom' } })).statusCode, 406, resource);
  }
});
