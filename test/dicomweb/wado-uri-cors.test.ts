import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBuffer } from '../../src/media/part10.js';
import { PYDICOM_DATA, peer } from '../helpers/peers.js';
import { loadedApp } from './helpers.js';

const skip = peer('pydicom');
const CT = join(PYDICOM_DATA, 'test_files/CT_small.dcm');

function query(path: string, extra = ''): string {
  const ds = parseBuffer(readFileSync(path)).dataSet;
  return `/wado?requestType=WADO&studyUID=${ds.string('StudyInstanceUID')!.trim()}&seriesUID=${ds.string('SeriesInstanceUID')!.trim()}&objectUID=${ds.string('SOPInstanceUID')!.trim()}${extra}`;
}

test('WADO-URI: the instance as application/dicom, transferSyntax honoured, rendering refused', { skip }, async (t) => {
  const { app } = await loadedApp(t);
  const res = await app.inject({ url: query(CT, '&contentType=application%2Fdicom') });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'application/dicom');
  assert.ok(res.rawPayload.equals(readFileSync(CT)));
  const implicit = await app.inject({ url: query(CT, '&transferSyntax=1.2.840.10008.1.2') });
  assert.equal(parseBuffer(implicit.rawPayload).transferSyntaxUid, '1.2.840.10008.1.2');
  assert.equal((await app.inject({ url: query(CT, '&contentType=image%2Fjpeg') })).statusCode, 406);
  assert.equal((await app.inject({ url: '/wado?requestType=WADO&studyUID=1.2&seriesUID=1.2.3&objectUID=1.2.3.4' })).statusCode, 404);
  const missing = await app.inject({ url: '/wado?requestType=WADO&studyUID=1.2' });
  assert.equal(missing.statusCode, 400);
  assert.match(missing.json().error.message, /seriesUID/);
});

test('CORS: allowed origins get the headers and preflight answers; others do not; OPTIONS tells the capabilities', { skip }, async (t) => {
  const { app } = await loadedApp(t, [], { corsOrigins: ['https://viewer.example'] });
  const ok = await app.inject({ url: '/dicom-web/studies', headers: { origin: 'https://viewer.example' } });
  assert.equal(ok.headers['access-control-allow-origin'], 'https://viewer.example');
  assert.match(ok.headers['access-control-expose-headers'] as string, /Warning/);
  const other = await app.inject({ url: '/dicom-web/studies', headers: { origin: 'https://evil.example' } });
  assert.equal(other.headers['access-control-allow-origin'], undefined);
  const preflight = await app.inject({ method: 'OPTIONS', url: '/dicom-web/studies', headers: { origin: 'https://viewer.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
  assert.equal(preflight.statusCode, 204);
  assert.match(preflight.headers['access-control-allow-methods'] as string, /POST/);
  assert.equal(preflight.headers['access-control-allow-headers'], 'content-type');

  const root = await app.inject({ method: 'OPTIONS', url: '/dicom-web/', headers: { accept: 'application/json' } });
  assert.equal(root.statusCode, 200);
  assert.deepEqual(root.json().application.resources[0].resource.map((r: { '@path': string }) => r['@path']).sort(), ['instances', 'series', 'studies']);
  const studies = await app.inject({ method: 'OPTIONS', url: '/dicom-web/studies' });
  assert.equal(studies.headers.allow, 'GET, HEAD, POST, OPTIONS');
});
