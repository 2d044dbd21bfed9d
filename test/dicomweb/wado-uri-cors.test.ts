import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { parseBuffer } from '../../src/media/part10.js';
import { PYDICOM_DATA, peer } from '../helpers/peers.js';
import { loadedApp } from './helpers.js';

const skip = peer('pydicom');
const CT = join(PYDICOM_DATA, 'test_files/CT_small.dcm');

function query(path: string, extra = ''): string {
  const ds = parseBuffer(readFileSync(path)).dataSet;
  return `/wado?requestType=WADO&studyUID=${ds.string('StudyInstanceUID')!.trim()}&seriesUID=${ds.string('SeriesInstanceUID')!.trim()}&objectUID=${ds.string('SOPInstanceUID')!.trim()}${extra}`;
}

test('WADO-URI: the instance as application/dicom, transferSyntax honoured; Content-Location', { skip }, async (t) => {
  const { app } = await loadedApp(t);
  const res = await app.inject({ url: query(CT, '&contentType=application%2Fdicom') });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'application/dicom');
  assert.ok(res.rawPayload.equals(readFileSync(CT)));
  const implicit = await app.inject({ url: query(CT, '&transferSyntax=1.2.840.10008.1.2') });
  assert.equal(parseBuffer(implicit.rawPayload).transferSyntaxUid, '1.2.840.10008.1.2');
  assert.equal(res.headers['content-location'], `http://conduit.test${query(CT, '&contentType=application%2Fdicom')}`);
  // Accept application/dicom without contentType: the DICOM transaction (PS3.18 §9.3).
  const accepted = await app.inject({ url: query(CT), headers: { accept: 'application/dicom' } });
  assert.equal(accepted.headers['content-type'], 'application/dicom');
  // Rendering parameters do not go with application/dicom; media type parameters not in contentType.
  assert.equal((await app.inject({ url: query(CT, '&contentType=application%2Fdicom&windowCenter=0&windowWidth=10') })).statusCode, 400);
  assert.equal((await app.inject({ url: query(CT, `&contentType=${encodeURIComponent('application/dicom; transfer-syntax=1.2.840.10008.1.2')}`) })).statusCode, 400);
  assert.equal((await app.inject({ url: query(CT, '&anonymize=yes') })).statusCode, 406);
  assert.equal((await app.inject({ url: '/wado?requestType=WADO&studyUID=1.2&seriesUID=1.2.3&objectUID=1.2.3.4' })).statusCode, 404);
  const missing = await app.inject({ url: '/wado?requestType=WADO&studyUID=1.2' });
  assert.equal(missing.statusCode, 400);
  assert.match(missing.json().error.message, /seriesUID/);
});

test('WADO-URI Retrieve Rendered Instance: image/jpeg by default, as WADO-RS renders it; rows/columns, region, window, frameNumber', { skip }, async (t) => {
  const { app } = await loadedApp(t);
  const instancePath = (() => {
    const ds = parseBuffer(readFileSync(CT)).dataSet;
    return `/dicom-web/studies/${ds.string('StudyInstanceUID')!.trim()}/series/${ds.string('SeriesInstanceUID')!.trim()}/instances/${ds.string('SOPInstanceUID')!.trim()}`;
  })();
  // No contentType and Accept */* (or none): image/jpeg (PS3.18 §9.3).
  for (const headers of [{}, { accept: '*/*' }]) {
    const res = await app.inject({ url: query(CT), headers });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'image/jpeg');
    assert.equal((await sharp(res.rawPayload).metadata()).format, 'jpeg');
  }
  // The same pipeline as WADO-RS rendered: the same pixels for the same asks.
  const same = async (uri: string, rs: string) => {
    const a = await app.inject({ url: query(CT, uri) });
    const b = await app.inject({ url: `${instancePath}/rendered?${rs}`, headers: { accept: 'image/png' } });
    assert.equal(a.statusCode, 200, `${uri}: ${a.body}`);
    assert.equal(a.headers['content-type'], 'image/png');
    assert.ok(a.rawPayload.equals(b.rawPayload), `${uri} = ${rs}`);
    return a;
  };
  const scaled = await same('&contentType=image%2Fpng&windowCenter=0&windowWidth=2000&rows=32&columns=64', 'window=0,2000,linear&viewport=64,32');
  assert.deepEqual([(await sharp(scaled.rawPayload).metadata()).width, (await sharp(scaled.rawPayload).metadata()).height], [32, 32]);
  await same('&contentType=image%2Fpng&windowCenter=0&windowWidth=2000&region=0,0.25,0.5,0.75', 'window=0,2000,linear&viewport=64,64,0,32,64,64');
  // rows or columns alone: that side, the other from the aspect ratio (PS3.18 §9.5.1.2.4; 2019a §8.2.2):
  // the top half of the 128x128 CT (128x64) at 16 rows is 32x16, at 32 columns too.
  for (const one of ['&rows=16', '&columns=32']) {
    const alone = await same(`&contentType=image%2Fpng&region=0,0,1,0.5${one}`, 'viewport=32,16,0,0,128,64');
    const m = await sharp(alone.rawPayload).metadata();
    assert.deepEqual([m.width, m.height], [32, 16], one);
  }
  const annotated = await app.inject({ url: query(CT, '&annotation=patient') });
  assert.match(annotated.headers.warning as string, /annotation values are not supported: patient/);
  for (const bad of ['&windowCenter=10', '&rows=0', '&columns=x', '&region=0,0,1.5,1', '&region=0.5,0,0.5,1', '&frameNumber=0', '&imageQuality=101', '&presentationUID=1.2.3&presentationSeriesUID=1.2']) {
    assert.equal((await app.inject({ url: query(CT, bad) })).statusCode, 400, bad);
  }
  assert.equal((await app.inject({ url: query(CT, '&frameNumber=2') })).statusCode, 404);
  assert.equal((await app.inject({ url: query(CT, '&contentType=text%2Fhtml') })).statusCode, 406);
  // contentType is a list with preferences (PS3.18 §9.1.2.2.1): the most preferred served, q=0 never.
  const preferred = async (contentType: string) => (await app.inject({ url: query(CT, `&contentType=${encodeURIComponent(contentType)}`) })).headers['content-type'];
  assert.equal(await preferred('image/jpeg;q=0.5,image/png'), 'image/png');
  assert.equal(await preferred('image/gif;q=0.2, image/jpeg;q=0.9, application/dicom;q=0.4'), 'image/jpeg');
  assert.equal(await preferred('image/png, image/gif'), 'image/png', 'equal preferences: the first');
  assert.equal(await preferred('image/png;q=0, image/gif'), 'image/gif');
  assert.equal((await app.inject({ url: query(CT, `&contentType=${encodeURIComponent('image/png;q=0')}`) })).statusCode, 406);
  // Compressed pixel data cannot be rendered yet: 406 naming the transfer syntax.
  const j2k = await app.inject({ url: query(join(PYDICOM_DATA, 'test_files/JPEG2000.dcm'), '&contentType=image%2Fjpeg') });
  assert.equal(j2k.statusCode, 406);
  assert.match(j2k.json().error.message, /1\.2\.840\.10008\.1\.2\.4\.9/);
});

test('CORS: allowed origins get the headers and preflight answers; others do not; OPTIONS tells the capabilities', { skip }, async (t) => {
  const { app } = await loadedApp(t, [], { corsOrigins: ['https://viewer.example'] });
  const ok = await app.inject({ url: '/dicom-web/studies', headers: { origin: 'https://viewer.example' } });
  assert.equal(ok.headers['access-control-allow-origin'], 'https://viewer.example');
  assert.match(ok.headers['access-control-expose-headers'] as string, /Warning/);
  // A browser's script can read the validators and the Allow of the capabilities too.
  for (const name of ['Allow', 'ETag', 'Content-Range', 'Accept-Ranges']) assert.ok((ok.headers['access-control-expose-headers'] as string).split(', ').includes(name), name);
  const other = await app.inject({ url: '/dicom-web/studies', headers: { origin: 'https://evil.example' } });
  assert.equal(other.headers['access-control-allow-origin'], undefined);
  const preflight = await app.inject({ method: 'OPTIONS', url: '/dicom-web/studies', headers: { origin: 'https://viewer.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
  assert.equal(preflight.statusCode, 204);
  assert.equal(preflight.headers['access-control-allow-methods'], 'GET, HEAD, POST, OPTIONS');
  assert.equal(preflight.headers['access-control-allow-headers'], 'content-type');
  // The preflight names each resource's own methods: a rendered resource takes no POST.
  const rendered = await app.inject({ method: 'OPTIONS', url: '/dicom-web/studies/1.2.3/rendered', headers: { origin: 'https://viewer.example', 'access-control-request-method': 'POST' } });
  assert.equal(rendered.headers['access-control-allow-methods'], 'GET, HEAD, OPTIONS');
  // A path that is no resource gets no Access-Control-Allow-Methods, so the browser does not send the request.
  const nowhere = await app.inject({ method: 'OPTIONS', url: '/dicom-web/nowhere', headers: { origin: 'https://viewer.example', 'access-control-request-method': 'GET' } });
  assert.equal(nowhere.headers['access-control-allow-methods'], undefined);

  const root = await app.inject({ method: 'OPTIONS', url: '/dicom-web/', headers: { accept: 'application/json' } });
  assert.equal(root.statusCode, 200);
  assert.deepEqual(root.json().application.resources[0].resource.map((r: { '@path': string }) => r['@path']).sort(), ['instances', 'series', 'studies']);
  const studies = await app.inject({ method: 'OPTIONS', url: '/dicom-web/studies' });
  assert.equal(studies.headers.allow, 'GET, HEAD, POST, OPTIONS');
});
