import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseXml, type XmlElement } from '../../src/data/xml-parser.js';
import { createDicomWebApp } from '../../src/dicomweb/app.js';
import { parseBuffer } from '../../src/media/part10.js';
import { peer } from '../helpers/peers.js';
import { openArchive, tempDir } from '../storage/helpers.js';
import { loadedApp, SAMPLE_FILES } from './helpers.js';

const skip = peer('pydicom');
const CT = SAMPLE_FILES[0]!;

type JsonElement = { '@path'?: string; '@name'?: string; resource?: JsonElement[]; method?: JsonElement[]; param?: JsonElement[]; request?: JsonElement; response?: JsonElement[] };

/** Every (method, path) of a WADL JSON resource tree; template segments as "{}". */
function describedMethods(resources: JsonElement[], prefix = ''): Array<{ method: string; path: string; template: string }> {
  return resources.flatMap((r) => {
    const template = `${prefix}/${r['@path']}`;
    const own = (r.method ?? []).map((m) => ({ method: m['@name']!, path: template.replace(/\{[^}]+\}/g, '{}'), template }));
    return [...own, ...describedMethods(r.resource ?? [], template)];
  });
}

function childElements(e: XmlElement, name: string): XmlElement[] {
  return e.children.filter((c): c is XmlElement => typeof c !== 'string' && c.name === name);
}

test('capabilities: every route the app serves is in the description, and every described method answers', { skip }, async (t) => {
  const archive = openArchive(tempDir(t));
  const app = createDicomWebApp({ archive, publicUrl: 'http://conduit.test/dicom-web' });
  t.after(async () => {
    await app.close();
    await archive.close();
  });
  // fastify's own list of the Studies Service's routes (registered when the app gets ready).
  const served = new Set<string>();
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/dicom-web/') && route.url !== '/dicom-web') return;
    for (const method of [route.method].flat()) {
      if (method === 'OPTIONS') continue;
      served.add(`${method} ${route.url.slice('/dicom-web'.length).replace(/:[^/]+|\*/g, '{}')}`);
    }
  });
  await app.ready();
  const res = await app.inject({ method: 'OPTIONS', url: '/dicom-web/', headers: { accept: 'application/json' } });
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /^application\/json/);
  const wadl = res.json() as { application: { resources: Array<{ '@base': string; resource: JsonElement[] }> } };
  assert.equal(wadl.application.resources.length, 1);
  assert.equal(wadl.application.resources[0]!['@base'], 'http://conduit.test/dicom-web/');
  const described = describedMethods(wadl.application.resources[0]!.resource);
  const describedSet = new Set(described.map((d) => `${d.method} ${d.path}`));
  assert.ok(served.size >= 40, `fastify registered ${served.size} routes`);
  assert.deepEqual([...served].filter((r) => !describedSet.has(r)), [], 'served but not described');
  assert.deepEqual([...describedSet].filter((r) => !served.has(r)), [], 'described but not served');
  // Every route has its transaction's description, not a placeholder.
  assert.ok(!res.body.includes('(not described)'));
  const ids: string[] = res.body.match(/"@id":"[A-Za-z]+"/g) ?? [];
  assert.ok(ids.includes('"@id":"SearchForStudyInstances"') && ids.includes('"@id":"RetrieveFrames"') && ids.includes('"@id":"StoreStudyInstances"'), ids.join());

  // Each described GET and POST is a route that answers (not 404 Not Found or 405).
  const values: Record<string, string> = { '{StudyInstance}': '1.2.3', '{SeriesInstance}': '1.2.3.4', '{SOPInstance}': '1.2.3.4.5', '{framelist}': '1', '{BulkDataReference}': '7FE00010' };
  for (const d of described.filter((x) => x.method === 'GET' || x.method === 'POST')) {
    const url = `/dicom-web${d.template.replace(/\{[^}]+\}/g, (m) => values[m]!)}`;
    const answer = await app.inject({ method: d.method as 'GET' | 'POST', url, headers: { 'content-type': 'text/plain' }, payload: d.method === 'POST' ? 'x' : undefined });
    // Nothing is stored: a retrieve says so in a 404 with the archive's message, not the router's.
    if (answer.statusCode === 404) assert.doesNotMatch(answer.json().error.message, /is not a resource of this server/, `${d.method} ${url}`);
    assert.notEqual(answer.statusCode, 405, `${d.method} ${url}`);
  }
});

test('capabilities: WADL XML by default, a resource with its methods and children, Allow, ETag, 304, 406, 405', { skip }, async (t) => {
  const { app } = await loadedApp(t, [CT]);
  const ds = parseBuffer(readFileSync(CT)).dataSet;
  const study = ds.string('StudyInstanceUID')!.trim();
  const res = await app.inject({ method: 'OPTIONS', url: `/dicom-web/studies/${study}` });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'application/vnd.sun.wadl+xml');
  assert.equal(res.headers.allow, 'GET, HEAD, POST, OPTIONS');
  const root = parseXml(res.body);
  assert.equal(root.name, 'application');
  assert.equal(root.attributes.get('xmlns'), 'http://wadl.dev.java.net/2009/02');
  const [resources] = childElements(root, 'resources');
  assert.equal(resources!.attributes.get('base'), 'http://conduit.test/dicom-web/');
  // Annex H: one resource element for the Target Resource, with all its methods and children.
  const [target, ...others] = childElements(resources!, 'resource');
  assert.equal(others.length, 0);
  assert.equal(target!.attributes.get('path'), `studies/${study}`);
  assert.deepEqual(childElements(target!, 'method').map((m) => m.attributes.get('name')), ['GET', 'HEAD', 'POST']);
  assert.deepEqual(childElements(target!, 'resource').map((r) => r.attributes.get('path')).sort(), ['bulkdata', 'instances', 'metadata', 'pixeldata', 'rendered', 'series', 'thumbnail']);
  const get = childElements(target!, 'method')[0]!;
  const accept = childElements(childElements(get, 'request')[0]!, 'param').find((p) => p.attributes.get('name') === 'Accept')!;
  assert.ok(childElements(accept, 'option').some((o) => o.attributes.get('value') === 'multipart/related; type="application/dicom"; transfer-syntax=*'));

  // Revalidation: the same description has the same ETag; If-None-Match gets 304.
  const etag = res.headers.etag as string;
  assert.match(etag, /^"[^"]+"$/);
  const again = await app.inject({ method: 'OPTIONS', url: `/dicom-web/studies/${study}`, headers: { 'if-none-match': etag } });
  assert.equal(again.statusCode, 304);
  assert.equal(again.body, '');
  assert.equal((await app.inject({ method: 'OPTIONS', url: `/dicom-web/studies/${study}`, headers: { 'if-none-match': '"other"' } })).statusCode, 200);

  // §8.9.4: WADL XML or JSON only.
  const html = await app.inject({ method: 'OPTIONS', url: '/dicom-web/', headers: { accept: 'text/html' } });
  assert.equal(html.statusCode, 406);
  assert.match(html.json().error.message, /vnd\.sun\.wadl\+xml/);
  // A search resource lists the query parameters and the charset.
  const search = await app.inject({ method: 'OPTIONS', url: '/dicom-web/studies', headers: { accept: 'application/json' } });
  const params = (search.json().application.resources[0].resource[0].method[0].request.param as JsonElement[]).map((p) => p['@name']);
  for (const name of ['PatientID', 'StudyDate', 'includefield', 'fuzzymatching', 'limit', 'offset', 'accept', 'charset', 'Accept-Charset']) assert.ok(params.includes(name), name);
  // Frames of a given instance: deep resources answer too.
  const frames = await app.inject({ method: 'OPTIONS', url: `/dicom-web/studies/${study}/series/1.2/instances/1.2.3/frames/1,2` });
  assert.equal(frames.statusCode, 200);
  assert.equal(frames.headers.allow, 'GET, HEAD, OPTIONS');
  assert.match(frames.body, /<method name="GET" id="RetrieveFrames">/);
  assert.equal((await app.inject({ method: 'OPTIONS', url: '/dicom-web/patients' })).statusCode, 404);

  // A resource asked with a method it has not: 405 with Allow (RFC 9110 §15.5.6).
  const del = await app.inject({ method: 'DELETE', url: `/dicom-web/studies/${study}/series` });
  assert.equal(del.statusCode, 405);
  assert.equal(del.headers.allow, 'GET, HEAD, OPTIONS');
  assert.equal((await app.inject({ method: 'DELETE', url: '/dicom-web/nothing' })).statusCode, 404);

  // WADO-URI describes itself with the origin as base.
  const uri = await app.inject({ method: 'OPTIONS', url: '/wado' });
  assert.equal(uri.statusCode, 200);
  assert.equal(uri.headers.allow, 'GET, HEAD, OPTIONS');
  const uriRoot = parseXml(uri.body);
  const [uriResources] = childElements(uriRoot, 'resources');
  assert.equal(uriResources!.attributes.get('base'), 'http://conduit.test/');
  const [wado] = childElements(uriResources!, 'resource');
  assert.equal(wado!.attributes.get('path'), 'wado');
  assert.match(uri.body, /<param name="requestType" style="query" required="true" fixed="WADO"\/>/);
});

test('a path that is no resource: 404 saying where the resources are, not "under /dicom-web" to someone who asked for /dicom-web', async (t) => {
  const app = createDicomWebApp({ archive: openArchive(tempDir(t)), publicUrl: 'http://conduit.test/dicom-web' });
  t.after(() => app.close());
  for (const url of ['/dicom-web', '/dicom-web/', '/dicom-web/patients']) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 404, url);
    assert.equal(res.json().error.message, `GET ${url} is not a resource of this server (the Studies Service's resources begin /dicom-web/studies, /dicom-web/series, /dicom-web/instances; OPTIONS /dicom-web/ describes them all)`);
  }
  const outside = await app.inject({ url: '/studies?PatientID=1' });
  assert.equal(outside.json().error.message, 'GET /studies is not a resource of this server (DICOMweb is under /dicom-web, WADO-URI at /wado)');
});
