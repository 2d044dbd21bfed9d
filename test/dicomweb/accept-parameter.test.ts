import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseBuffer } from '../../src/media/part10.js';
import { peer } from '../helpers/peers.js';
import { loadedApp, SAMPLE_FILES } from './helpers.js';

const skip = peer('pydicom');
const CT = SAMPLE_FILES[0]!;

test('the accept query parameter (PS3.18 §8.3.3.1) stands for Accept, within the Accept header; charset is taken', { skip }, async (t) => {
  const { app } = await loadedApp(t, [CT]);
  const ds = parseBuffer(readFileSync(CT)).dataSet;
  const instance = `/dicom-web/studies/${ds.string('StudyInstanceUID')!.trim()}/series/${ds.string('SeriesInstanceUID')!.trim()}/instances/${ds.string('SOPInstanceUID')!.trim()}`;
  const enc = encodeURIComponent;

  const xml = await app.inject({ url: `/dicom-web/studies?accept=${enc('multipart/related; type="application/dicom+xml"')}`, headers: { accept: '*/*' } });
  assert.equal(xml.statusCode, 200);
  assert.match(xml.headers['content-type'] as string, /^multipart\/related; type="application\/dicom\+xml"/);
  // Without an Accept header field anything is compatible.
  const png = await app.inject({ url: `${instance}/rendered?accept=${enc('image/png')}` });
  assert.equal(png.statusCode, 200);
  assert.equal(png.headers['content-type'], 'image/png');
  // The parameter wins over the header's own preference when both are compatible.
  const jpeg = await app.inject({ url: `${instance}/rendered?accept=${enc('image/gif')}`, headers: { accept: 'image/png, image/*;q=0.5' } });
  assert.equal(jpeg.headers['content-type'], 'image/gif');
  const metadata = await app.inject({ url: `${instance}/metadata?accept=${enc('multipart/related; type="application/dicom+xml"')}` });
  assert.match(metadata.headers['content-type'] as string, /application\/dicom\+xml/);

  // Not compatible with the Accept header: 406; DICOM and consumer types together: 400.
  const clash = await app.inject({ url: `${instance}/rendered?accept=${enc('image/png')}`, headers: { accept: 'image/jpeg' } });
  assert.equal(clash.statusCode, 406);
  assert.match(clash.json().error.message, /not compatible with the Accept header/);
  const mixed = await app.inject({ url: `/dicom-web/studies?accept=${enc('application/dicom+json,image/jpeg')}` });
  assert.equal(mixed.statusCode, 400);

  // charset (§8.3.3.2) and accept are not matching keys: a search with them still runs.
  const search = await app.inject({ url: `/dicom-web/studies?charset=UTF-8&accept=${enc('application/dicom+json')}&PatientID=${enc(ds.string('PatientID')!.trim())}` });
  assert.equal(search.statusCode, 200);
  assert.equal((search.json() as unknown[]).length, 1);
  // A charset in the media type or Accept-Charset that is not supported is ignored: UTF-8 (PS3.18 §8.8.1, §8.8.5).
  for (const headers of [{ accept: 'application/dicom+json; charset=ISO-8859-1' }, { 'accept-charset': 'ISO-8859-1' }, { accept: 'application/dicom+json; charset=utf-8' }]) {
    const res = await app.inject({ url: `/dicom-web/studies?PatientID=${enc(ds.string('PatientID')!.trim())}`, headers });
    assert.equal(res.statusCode, 200, JSON.stringify(headers));
    assert.equal((res.json() as unknown[]).length, 1);
  }
  // WADO-URI is not concerned (its accept-name is contentType).
  assert.equal((await app.inject({ url: '/wado?requestType=WADO&studyUID=1.2&seriesUID=1.2.3&objectUID=1.2.3.4&accept=image/png', headers: { accept: 'application/dicom' } })).statusCode, 404);
});
