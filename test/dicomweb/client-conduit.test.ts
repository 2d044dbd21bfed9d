/**
 * The DICOMweb client against Conduit's own DICOMweb app (QIDO-RS, Retrieve Capabilities), listening on port 0
 * over pydicom's files: matches with "^" and wildcards, a name in Japanese (percent-encoded UTF-8),
 * the 299 Warning when the server's maximum cuts the results, 204 when nothing matches, and a
 * 400 whose message and code come through as a DicomWebHttpError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { DicomWebClient, DicomWebHttpError } from '../../src/dicomweb/client/index.js';
import { readFile } from '../../src/media/part10.js';
import { loadedApp, SAMPLE_FILES } from './helpers.js';

async function listening(t: Parameters<typeof loadedApp>[0], options: Parameters<typeof loadedApp>[2] = {}): Promise<DicomWebClient> {
  const { app } = await loadedApp(t, SAMPLE_FILES, options);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return new DicomWebClient({ baseUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/dicom-web` });
}

test('QIDO-RS against conduit: studies by patient name ("^", wildcards, Japanese), instances of a study, values as stored', async (t) => {
  const client = await listening(t);
  const ct = (await readFile(SAMPLE_FILES[0]!)).dataSet;
  const byName = await client.searchForStudies({ PatientName: 'CompressedSamples^CT1', includefield: 'StudyDescription' }).all();
  assert.deepEqual(byName.map((s) => [s.string('StudyInstanceUID'), s.string('PatientID'), s.string('StudyDescription')]),
    [[ct.string('StudyInstanceUID'), ct.string('PatientID'), ct.string('StudyDescription')]]);
  const wildcard = await client.searchForStudies({ PatientName: 'CompressedSamples*' }).all();
  assert.ok(wildcard.length >= 3, `${wildcard.length} studies of CompressedSamples`);
  const japanese = (await readFile(SAMPLE_FILES.find((f) => f.endsWith('chrJapMulti.dcm'))!)).dataSet;
  const name = japanese.personName('PatientName')!.toString();
  const found = await client.searchForStudies({ PatientName: name }).all();
  assert.deepEqual(found.map((s) => s.string('StudyInstanceUID')), [japanese.string('StudyInstanceUID')]);
  assert.equal(found[0]!.personName('PatientName')!.toString(), name);
  const instances = await client.searchForInstances({}, { study: ct.string('StudyInstanceUID')! }).all();
  assert.deepEqual(instances.map((i) => i.string('SOPInstanceUID')), [ct.string('SOPInstanceUID')]);
});

test('QIDO-RS against conduit: results cut at the server\'s maximum carry its Warning; none is 204; a bad key is a 400 with conduit\'s message', async (t) => {
  const client = await listening(t, { maxResults: 2 });
  const search = client.searchForStudies();
  assert.equal((await search.all()).length, 2);
  assert.equal(search.httpStatus, 200);
  // PS3.18 §8.3.4.4.1: how many matches remain past the page.
  let studies = 0;
  for (let offset = 0; ; offset += 2) {
    const page = await client.searchForStudies({ offset }).all();
    if (page.length === 0) break;
    studies += page.length;
  }
  assert.ok(studies > 2, `${studies} studies`);
  assert.deepEqual(search.warnings, [`There are ${studies - 2} additional results that can be requested`]);
  const none = client.searchForStudies({ PatientID: 'no-such-patient' });
  assert.deepEqual(await none.all(), []);
  assert.equal(none.httpStatus, 204);
  await assert.rejects(client.searchForStudies({ NoSuchKeyword: 'x' }).all(), (err: unknown) => {
    assert.ok(err instanceof DicomWebHttpError);
    assert.equal(err.status, 400);
    assert.match(err.serverMessage ?? '', /NoSuchKeyword/);
    return true;
  });
});

test('Retrieve Capabilities against conduit: the service root\'s description and a resource\'s, with Allow', async (t) => {
  const client = await listening(t);
  const root = await client.retrieveCapabilities();
  const [resources] = root.description.application.resources!;
  assert.match(resources!['@base']!, /\/dicom-web\/$/);
  assert.deepEqual(resources!.resource!.map((r) => r['@path']).sort(), ['instances', 'series', 'studies']);
  const studies = await client.retrieveCapabilities('studies');
  assert.deepEqual(studies.allow, ['GET', 'HEAD', 'POST', 'OPTIONS']);
  const [target] = studies.description.application.resources![0]!.resource!;
  assert.equal(target!['@path'], 'studies');
  assert.deepEqual(target!.method!.map((m) => m['@id']), ['SearchForStudies', 'SearchForStudiesHead', 'StoreInstances']);
  await assert.rejects(client.retrieveCapabilities('patients'), (err: unknown) => err instanceof DicomWebHttpError && err.status === 404);
});
