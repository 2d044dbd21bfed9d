import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataSet } from '../../src/data/data-set.js';
import { performFind } from '../../src/services/query-retrieve/find.js';
import { parseMultipart } from '../../src/dicomweb/multipart/index.js';
import { parseMediaType } from '../../src/dicomweb/media-type.js';
import { nativeDicomXmlToJson } from '../../src/data/xml-model.js';
import { peer } from '../helpers/peers.js';
import { jsonValues, loadedApp } from './helpers.js';

type Json = Array<Record<string, { vr: string; Value?: unknown[] }>>;
const skip = peer('pydicom');

/** UIDs C-FIND finds for the same keys through the same engine (Study Root, relational). */
async function cFindUids(archive: Parameters<typeof performFind>[0], level: string, keys: Record<string, string>, uidKeyword: string): Promise<string[]> {
  const id = new DataSet();
  id.set('QueryRetrieveLevel', 'CS', level);
  id.set(uidKeyword, 'UI', null);
  for (const [k, v] of Object.entries(keys)) if (k !== 'multiplevaluematching') id.set(k, undefined, v.split('\\'));
  const uids: string[] = [];
  for await (const r of performFind(archive, id, { model: 'StudyRoot', retrieveAeTitle: 'X', queryOptions: { relational: true, multipleValueMatching: true } })) {
    if (r.identifier) uids.push(r.identifier.string(uidKeyword)!.trim());
  }
  return uids.sort();
}

test('QIDO-RS finds what C-FIND finds, at every level, through the same engine', { skip }, async (t) => {
  const { app, archive } = await loadedApp(t);
  const cases: Array<{ path: string; level: string; keys: Record<string, string>; uid: string; tag: string }> = [
    { path: '/dicom-web/studies', level: 'STUDY', keys: {}, uid: 'StudyInstanceUID', tag: '0020000D' },
    { path: '/dicom-web/studies', level: 'STUDY', keys: { PatientName: 'CompressedSamples*' }, uid: 'StudyInstanceUID', tag: '0020000D' },
    { path: '/dicom-web/studies', level: 'STUDY', keys: { StudyDate: '20000101-' }, uid: 'StudyInstanceUID', tag: '0020000D' },
    { path: '/dicom-web/series', level: 'SERIES', keys: { Modality: 'MR' }, uid: 'SeriesInstanceUID', tag: '0020000E' },
    // PS3.4 C.2.2.2.8: Multiple Value Matching is for attributes with VM > 1 (every key value among the entity's values)
    { path: '/dicom-web/studies', level: 'STUDY', keys: { ModalitiesInStudy: 'CT\\MR', multiplevaluematching: 'true' }, uid: 'StudyInstanceUID', tag: '0020000D' },
    { path: '/dicom-web/studies', level: 'STUDY', keys: { ModalitiesInStudy: 'MR', multiplevaluematching: 'true' }, uid: 'StudyInstanceUID', tag: '0020000D' },
    { path: '/dicom-web/instances', level: 'IMAGE', keys: { SOPClassUID: '1.2.840.10008.5.1.4.1.1.2' }, uid: 'SOPInstanceUID', tag: '00080018' },
    { path: '/dicom-web/instances', level: 'IMAGE', keys: {}, uid: 'SOPInstanceUID', tag: '00080018' },
  ];
  for (const c of cases) {
    const qs = new URLSearchParams(c.keys).toString();
    const res = await app.inject({ method: 'GET', url: `${c.path}${qs ? `?${qs}` : ''}` });
    const expected = await cFindUids(archive.index, c.level, c.keys, c.uid);
    if (expected.length === 0) {
      assert.equal(res.statusCode, 204, `${c.path}?${qs}`);
      continue;
    }
    assert.equal(res.statusCode, 200, `${c.path}?${qs}: ${res.body}`);
    assert.match(res.headers['content-type'] as string, /^application\/dicom\+json/);
    const body = res.json() as Json;
    assert.deepEqual(body.map((r) => jsonValues(r, c.tag)[0]).sort(), expected, `${c.path}?${qs}`);
  }
});

test('QIDO-RS: resource paths scoped to a study and a series; Retrieve URL; default attributes', { skip }, async (t) => {
  const { app } = await loadedApp(t);
  const studies = (await app.inject({ url: '/dicom-web/studies?PatientID=1CT1' })).json() as Json;
  assert.equal(studies.length, 1);
  const study = jsonValues(studies[0]!, '0020000D')[0] as string;
  assert.deepEqual(jsonValues(studies[0]!, '00081190'), [`http://conduit.test/dicom-web/studies/${study}`]);
  assert.deepEqual(jsonValues(studies[0]!, '00201208'), [1], 'Number of Study Related Instances');
  assert.deepEqual(jsonValues(studies[0]!, '00080061'), ['CT'], 'Modalities in Study');
  const series = (await app.inject({ url: `/dicom-web/studies/${study}/series` })).json() as Json;
  assert.equal(series.length, 1);
  const seriesUid = jsonValues(series[0]!, '0020000E')[0] as string;
  assert.equal(series[0]!['00100010'], undefined, 'a series search scoped to a study does not repeat the study attributes');
  for (const url of [`/dicom-web/studies/${study}/series/${seriesUid}/instances`, `/dicom-web/studies/${study}/instances`]) {
    const instances = (await app.inject({ url })).json() as Json;
    assert.equal(instances.length, 1, url);
    const sop = jsonValues(instances[0]!, '00080018')[0];
    assert.deepEqual(jsonValues(instances[0]!, '00081190'), [`http://conduit.test/dicom-web/studies/${study}/series/${seriesUid}/instances/${sop}`]);
    assert.deepEqual(jsonValues(instances[0]!, '00280010'), [128], 'Rows');
  }
  const none = await app.inject({ url: '/dicom-web/studies/1.2.3.4/series' });
  assert.equal(none.statusCode, 204, 'PS3.18 Table 10.6.3-1: 204 when nothing matched');
  assert.equal(none.body, '');
});

test('QIDO-RS: includefield (a keyword, a tag, all), fuzzymatching, limit and offset with the Warning of how many results remain', { skip }, async (t) => {
  const { app, archive } = await loadedApp(t, undefined, { maxResults: 3 });
  const one = (await app.inject({ url: '/dicom-web/studies?PatientID=1CT1&includefield=StudyDescription,00081030&includefield=PatientAge' })).json() as Json;
  assert.ok('00101010' in one[0]!, 'PatientAge included');
  const all = (await app.inject({ url: '/dicom-web/studies?PatientID=1CT1&includefield=all' })).json() as Json;
  assert.ok(Object.keys(all[0]!).length >= Object.keys(one[0]!).length);
  // Fuzzy semantic matching of person names: a family name component matched in any case.
  const fuzzy = (await app.inject({ url: '/dicom-web/studies?PatientName=compressedsamples&fuzzymatching=true' })).json() as Json;
  assert.ok(fuzzy.length >= 1, 'fuzzy match found the patient');
  const literal = await app.inject({ url: '/dicom-web/studies?PatientName=compressedsamples' });
  assert.equal(literal.statusCode, 204, 'not found literally');

  const total = (await archive.index.stats()).instances;
  // PS3.18 §8.3.4.4.1: whenever matches remain past the page (cut by the maximum or by limit), a
  // Warning says how many.
  const cut = await app.inject({ url: '/dicom-web/instances' });
  assert.equal((cut.json() as Json).length, 3);
  assert.equal(cut.headers.warning, `299 localhost:80 "There are ${total - 3} additional results that can be requested"`);
  const everything: unknown[] = [];
  for (let offset = 0; ; offset += 3) {
    const page = await app.inject({ url: `/dicom-web/instances?limit=3&offset=${offset}` });
    if (page.statusCode === 204) break;
    const left = total - offset - (page.json() as Json).length;
    assert.equal(page.headers.warning, left > 0 ? `299 localhost:80 "There are ${left} additional results that can be requested"` : undefined, `page at ${offset}`);
    everything.push(...(page.json() as Json).map((r) => jsonValues(r, '00080018')[0]));
  }
  assert.equal(everything.length, total);
  assert.equal(new Set(everything).size, everything.length, 'pages do not overlap');
  const limited = await app.inject({ url: '/dicom-web/instances?limit=2' });
  assert.equal((limited.json() as Json).length, 2);
  assert.equal(limited.headers.warning, `299 localhost:80 "There are ${total - 2} additional results that can be requested"`);
  // A post-filtered search (a key on an attribute the index has no column for) is counted as it is matched.
  let originals = 0;
  for (let offset = 0; ; offset += 3) {
    const page = await app.inject({ url: `/dicom-web/instances?ImageType=ORIGINAL*&offset=${offset}` });
    if (page.statusCode === 204) break;
    originals += (page.json() as Json).length;
  }
  assert.ok(originals > 1 && originals < total, `${originals} of ${total} instances are ORIGINAL`);
  const first = await app.inject({ url: '/dicom-web/instances?ImageType=ORIGINAL*&limit=1' });
  assert.equal(first.headers.warning, `299 localhost:80 "There are ${originals - 1} additional results that can be requested"`);
  assert.equal((await app.inject({ url: `/dicom-web/instances?offset=${total - 1}` })).headers.warning, undefined, 'the last page: nothing remains');
});

test('QIDO-RS: XML as multipart/related; character sets; errors', { skip }, async (t) => {
  const { app } = await loadedApp(t);
  const res = await app.inject({ url: '/dicom-web/studies', headers: { accept: 'multipart/related; type="application/dicom+xml"' } });
  assert.equal(res.statusCode, 200);
  const ct = parseMediaType(res.headers['content-type'] as string);
  assert.equal(ct.type, 'multipart/related');
  assert.equal(ct.parameters.get('type'), 'application/dicom+xml');
  const names: string[] = [];
  for await (const part of parseMultipart((async function* () { yield res.rawPayload; })(), ct.parameters.get('boundary')!)) {
    const chunks: Buffer[] = [];
    for await (const c of part.body) chunks.push(Buffer.from(c));
    const json = nativeDicomXmlToJson(Buffer.concat(chunks)) as Record<string, { Value?: Array<{ Alphabetic?: string }> }>;
    const pn = json['00100010']?.Value?.[0]?.Alphabetic;
    if (pn) names.push(pn);
  }
  assert.ok(names.some((n) => n.includes('Люкceмбypг')), `Russian name decoded from ISO_IR 144: ${names.join(' | ')}`);
  assert.ok(names.some((n) => n.includes('やまだ') || n.includes('山田')), 'Japanese name decoded from ISO 2022 IR 87');
  // The same name found by its UTF-8 text.
  const russian = await app.inject({ url: `/dicom-web/studies?PatientName=${encodeURIComponent('Люкceмбypг')}` });
  assert.equal(russian.statusCode, 200);

  const bad = await app.inject({ url: '/dicom-web/studies?NoSuchKeyword=1' });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().error.message, /NoSuchKeyword/);
  assert.equal(bad.json().error.code, 'ERR_DICOM_QUERY_PARAMETER');
  const notAcceptable = await app.inject({ url: '/dicom-web/studies', headers: { accept: 'image/png' } });
  assert.equal(notAcceptable.statusCode, 406);
  const badUid = await app.inject({ url: '/dicom-web/studies/not-a-uid/series' });
  assert.equal(badUid.statusCode, 400);
  const unknown = await app.inject({ url: '/dicom-web/nothing' });
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json().error.code, 'ERR_DICOM_WEB_NOT_FOUND');
});

test('QIDO-RS: a key of a level below the search is refused (400), not ignored; ModalitiesInStudy finds the studies', { skip }, async (t) => {
  const { app } = await loadedApp(t);
  const all = (await app.inject({ url: '/dicom-web/studies' })).json() as Json;
  const withCt = all.filter((s) => jsonValues(s, '00080061').includes('CT'));
  assert.ok(withCt.length > 0 && withCt.length < all.length, `the sample archive has CT and non-CT studies (${withCt.length}/${all.length})`);
  // PS3.18 §10.6.1.2.1: Series IE Attributes only in searches for series or instances.
  const modality = await app.inject({ url: '/dicom-web/studies?Modality=CT' });
  assert.equal(modality.statusCode, 400, modality.body);
  assert.equal(modality.json().error.code, 'ERR_DICOM_QUERY_PARAMETER');
  assert.match(modality.json().error.message, /Modality is a SERIES level attribute .*search for studies.*ModalitiesInStudy=<value>.*\/series/);
  const instead = (await app.inject({ url: '/dicom-web/studies?ModalitiesInStudy=CT' })).json() as Json;
  assert.deepEqual(instead.map((s) => jsonValues(s, '0020000D')[0]).sort(), withCt.map((s) => jsonValues(s, '0020000D')[0]).sort());
  // Composite Instance IE Attributes only in searches for instances.
  const sopInSeries = await app.inject({ url: '/dicom-web/series?SOPInstanceUID=1.2.3' });
  assert.equal(sopInSeries.statusCode, 400);
  assert.match(sopInSeries.json().error.message, /SOPInstanceUID is a IMAGE level attribute .*search for series.*search \/instances instead/);
  const scoped = await app.inject({ url: `/dicom-web/studies/${jsonValues(withCt[0]!, '0020000D')[0]}/series?InstanceNumber=1` });
  assert.equal(scoped.statusCode, 400);
  // Keys of the level searched and above still match (relational upwards, as §10.6.1.2.1 allows).
  assert.equal((await app.inject({ url: '/dicom-web/instances?Modality=CT&PatientName=*' })).statusCode, 200);
});
