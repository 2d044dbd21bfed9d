import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { parseBuffer } from '../../src/media/part10.js';
import { PYDICOM_DATA, peer } from '../helpers/peers.js';
import { loadedApp } from './helpers.js';

const skip = peer('pydicom');
const CT = join(PYDICOM_DATA, 'test_files', 'CT_small.dcm');

function instancePath(path: string): string {
  const ds = parseBuffer(readFileSync(path)).dataSet;
  return `/dicom-web/studies/${ds.string('StudyInstanceUID')!.trim()}/series/${ds.string('SeriesInstanceUID')!.trim()}/instances/${ds.string('SOPInstanceUID')!.trim()}`;
}

test('rendered: annotation (accepted, a Warning names what is not burned in), iccprofile, elided viewport values, thumbnail viewport', { skip }, async (t) => {
  const { app } = await loadedApp(t, [CT]);
  const ct = instancePath(CT);
  const png = { accept: 'image/png' };
  const get = (query: string, headers: Record<string, string> = png) => app.inject({ url: `${ct}/rendered?${query}`, headers });
  const raw = async (query: string) => {
    const res = await get(query);
    assert.equal(res.statusCode, 200, `${query}: ${res.body}`);
    return (await sharp(res.rawPayload).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true }));
  };

  // PS3.18 §8.3.5.1.1: keywords only; values not applied are ignored, with a Warning.
  const annotated = await get('annotation=patient,technique');
  assert.equal(annotated.statusCode, 200);
  assert.equal(annotated.headers.warning, '299 localhost:80 "The following annotation values are not supported: patient, technique"');
  assert.ok(annotated.rawPayload.equals((await get('')).rawPayload), 'nothing burned in');
  assert.equal((await get('')).headers.warning, undefined);
  for (const bad of ['annotation=', 'annotation=patient,1', 'annotation=patient,,technique']) {
    const res = await get(bad);
    assert.equal(res.statusCode, 400, bad);
    assert.match(res.json().error.message, /annotation/);
  }

  // PS3.18 §8.3.5.1.5.
  assert.equal((await sharp((await get('iccprofile=no')).rawPayload).metadata()).icc, undefined);
  for (const q of ['iccprofile=srgb', 'iccprofile=yes']) {
    const res = await get(q);
    assert.equal(res.statusCode, 200, q);
    assert.ok((await sharp(res.rawPayload).metadata()).icc?.length, `${q}: an ICC profile embedded`);
  }
  for (const [q, headers] of [['iccprofile=srgb', { accept: 'image/gif' }], ['iccprofile=adobergb', png], ['iccprofile=maybe', png]] as const) {
    const res = await get(q, headers);
    assert.equal(res.statusCode, 400, q);
    assert.match(res.json().error.message, /iccprofile/);
  }

  // PS3.18 §8.3.5.1.3: elided sx, sy default to 0, elided sw, sh reach the edge (CT_small is 128x128).
  const explicit = await raw('window=0,2000,linear&viewport=32,32,0,0,64,64');
  const elided = await raw('window=0,2000,linear&viewport=32,32,,,64,64');
  assert.ok(elided.data.equals(explicit.data));
  const toEdge = await raw('window=0,2000,linear&viewport=59,64,10');
  assert.ok(toEdge.data.equals((await raw('window=0,2000,linear&viewport=59,64,10,0,118,128')).data));
  assert.notDeepEqual(toEdge.data, (await raw('window=0,2000,linear&viewport=59,64')).data);
  const decimal = await raw('window=0,2000,linear&viewport=32,32,0.2,0,64.4,64');
  assert.ok(decimal.data.equals(explicit.data), 'decimal region values are rounded to whole pixels');
  for (const bad of ['viewport=32', 'viewport=32,32,a', 'viewport=32,32,0,0,0,64', 'viewport=1.5,32', 'window=0,400']) {
    assert.equal((await get(bad)).statusCode, 400, bad);
  }
  // A thumbnail takes vw,vh only.
  assert.equal((await app.inject({ url: `${ct}/thumbnail?viewport=32,32`, headers: png })).statusCode, 200);
  const thumb = await app.inject({ url: `${ct}/thumbnail?viewport=32,32,0,0,10,10`, headers: png });
  assert.equal(thumb.statusCode, 400);
  assert.match(thumb.json().error.message, /thumbnail/);
});
