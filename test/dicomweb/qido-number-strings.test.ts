/**
 * DS and IS values come back from C-FIND and QIDO-RS as the text that was stored (PS3.5 §6.2: they
 * are strings; "5.000000" is not "5" to a viewer that compares them), while matching on them stays
 * numeric.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { DataSet } from '../../src/data/data-set.js';
import { encodeFile } from '../../src/media/part10.js';
import { buildFileMeta } from '../../src/media/file-meta.js';
import { performFind } from '../../src/services/query-retrieve/find.js';
import { createDicomWebApp } from '../../src/dicomweb/app.js';
import { nativeDicomXmlToJson } from '../../src/data/xml-model.js';
import { dicomJsonText } from '../../src/data/json-model.js';
import { parseBuffer } from '../../src/media/part10.js';
import { buildInstanceIndexRecord } from '../../src/storage/index-record.js';
import type { ArchiveStore } from '../../src/storage/archive-store.js';
import { iterate, openArchive, tempDir } from '../storage/helpers.js';
import { multipartParts } from './helpers.js';

const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
const CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2';
const UID = '1.2.826.0.1.3680043.8.498.77.';

/** An instance whose DS and IS values have non-canonical text. */
function instanceBytes(): Uint8Array {
  const ds = new DataSet();
  ds.set('SOPClassUID', 'UI', CT_IMAGE);
  ds.set('SOPInstanceUID', 'UI', `${UID}3`);
  ds.set('StudyInstanceUID', 'UI', `${UID}1`);
  ds.set('SeriesInstanceUID', 'UI', `${UID}2`);
  ds.set('PatientID', 'LO', 'NUMBERS');
  ds.set('Modality', 'CS', 'CT');
  ds.set('SeriesNumber', 'IS', '+1');
  ds.set('InstanceNumber', 'IS', ' 42 ');
  ds.set('SliceThickness', 'DS', '5.000000');
  ds.set('PixelSpacing', 'DS', ['0.50', '1e2']);
  ds.set('PatientWeight', 'DS', '070.5');
  const meta = buildFileMeta({ sopClassUid: CT_IMAGE, sopInstanceUid: `${UID}3`, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN });
  return encodeFile({ preamble: new Uint8Array(128), meta, dataSet: ds, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN, warnings: [] });
}

/**
 * An archive holding the instance: stored as this version stores it, or (`earlier`) indexed with
 * the metadata an earlier version wrote, DS and IS as JSON numbers only.
 */
async function stored(t: TestContext, earlier = false) {
  const archive = openArchive(tempDir(t));
  if (earlier) {
    const ds = parseBuffer(instanceBytes()).dataSet;
    const record = buildInstanceIndexRecord(ds, { blobKey: 'earlier', size: 1, dataSetOffset: 0, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN });
    await archive.index.insertInstance({ ...record, metadata: dicomJsonText(ds, {}, (tag) => tag >>> 16 === 0x0002) }, 'keep');
  } else {
    await archive.storeInstance({ part10: iterate([instanceBytes()]), sourceAet: 'TEST' });
  }
  const app = createDicomWebApp({ archive, publicUrl: 'http://conduit.test/dicom-web' });
  t.after(async () => {
    await app.close();
    await archive.close();
  });
  return { archive, app };
}

async function cFind(archive: ArchiveStore, level: string, keys: Record<string, string | null>): Promise<DataSet[]> {
  const id = new DataSet();
  id.set('QueryRetrieveLevel', 'CS', level);
  for (const [k, v] of Object.entries(keys)) id.set(k, undefined, v);
  const out: DataSet[] = [];
  for await (const r of performFind(archive.index, id, { model: 'StudyRoot', retrieveAeTitle: 'X', queryOptions: { relational: true } })) {
    if (r.identifier) out.push(r.identifier);
  }
  return out;
}

const SCOPE = { StudyInstanceUID: `${UID}1`, SeriesInstanceUID: `${UID}2` };
const RETURN_KEYS = { SOPInstanceUID: null, InstanceNumber: null, SliceThickness: null, PixelSpacing: null, PatientWeight: null };

test('C-FIND answers DS and IS with the stored text (padding aside) at every level', async (t) => {
  const { archive } = await stored(t);
  const [image] = await cFind(archive, 'IMAGE', { ...SCOPE, ...RETURN_KEYS });
  assert.ok(image);
  assert.deepEqual(image.strings('InstanceNumber'), ['42'], 'IS " 42 ": the spaces are padding (PS3.5 Table 6.2-1)');
  assert.deepEqual(image.strings('SliceThickness'), ['5.000000']);
  assert.deepEqual(image.strings('PixelSpacing'), ['0.50', '1e2']);
  assert.deepEqual(image.strings('PatientWeight'), ['070.5']);
  const [series] = await cFind(archive, 'SERIES', { StudyInstanceUID: `${UID}1`, SeriesInstanceUID: null, SeriesNumber: null, SliceThickness: null });
  assert.deepEqual(series!.strings('SeriesNumber'), ['+1']);
  assert.deepEqual(series!.strings('SliceThickness'), ['5.000000'], 'lent by the representative instance');
});

test('matching on DS and IS stays numeric', async (t) => {
  const { archive } = await stored(t);
  const cases: Array<Record<string, string>> = [{ SliceThickness: '5' }, { SliceThickness: '5.0' }, { InstanceNumber: '42' }, { PixelSpacing: '100' }, { PatientWeight: '70.5' }];
  for (const keys of cases) {
    assert.equal((await cFind(archive, 'IMAGE', { ...SCOPE, SOPInstanceUID: null, ...keys })).length, 1, JSON.stringify(keys));
  }
  assert.equal((await cFind(archive, 'IMAGE', { ...SCOPE, SOPInstanceUID: null, SliceThickness: '5.1' })).length, 0);
  assert.equal((await cFind(archive, 'SERIES', { StudyInstanceUID: `${UID}1`, SeriesInstanceUID: null, SeriesNumber: '1' })).length, 1);
});

test('QIDO-RS answers DS and IS with the stored text: JSON strings where a number would change it, and in XML', async (t) => {
  const { app } = await stored(t);
  const url = `/dicom-web/studies/${UID}1/series/${UID}2/instances?includefield=SliceThickness,PixelSpacing,PatientWeight&SliceThickness=5`;
  const res = await app.inject({ url });
  assert.equal(res.statusCode, 200, res.body);
  const [json] = res.json() as Array<Record<string, { vr: string; Value?: unknown[] }>>;
  assert.deepEqual(json!['00180050']!.Value, ['5.000000'], 'Slice Thickness');
  assert.deepEqual(json!['00280030']!.Value, ['0.50', '1e2'], 'Pixel Spacing');
  assert.deepEqual(json!['00101030']!.Value, ['070.5'], "Patient's Weight");
  assert.deepEqual(json!['00200013']!.Value, [42], 'canonical text stays a JSON number (Instance Number)');
  const series = (await app.inject({ url: `/dicom-web/studies/${UID}1/series?SeriesNumber=1` })).json() as Array<Record<string, { Value?: unknown[] }>>;
  assert.deepEqual(series[0]!['00200011']!.Value, ['+1'], 'Series Number');

  const xml = await app.inject({ url, headers: { accept: 'multipart/related; type="application/dicom+xml"' } });
  assert.equal(xml.statusCode, 200);
  const [part] = await multipartParts(xml.rawPayload, xml.headers['content-type'] as string);
  const fromXml = nativeDicomXmlToJson(part!.body) as Record<string, { Value?: unknown[] }>;
  assert.deepEqual(fromXml['00180050']!.Value, ['5.000000']);
});

test('an archive indexed by an earlier version (DS and IS metadata as JSON numbers) still answers and matches', async (t) => {
  const { archive, app } = await stored(t, true);
  const [image] = await cFind(archive, 'IMAGE', { ...SCOPE, ...RETURN_KEYS, SliceThickness: '5' });
  assert.ok(image, 'matched numerically');
  // The text was not kept then: the number's text is what there is. Level attributes were always text.
  assert.deepEqual(image.strings('SliceThickness'), ['5']);
  assert.deepEqual(image.strings('PixelSpacing'), ['0.5', '100']);
  assert.deepEqual(image.strings('InstanceNumber'), ['42']);
  const [series] = await cFind(archive, 'SERIES', { StudyInstanceUID: `${UID}1`, SeriesInstanceUID: null, SeriesNumber: null });
  assert.deepEqual(series!.strings('SeriesNumber'), ['+1']);
  const res = await app.inject({ url: `/dicom-web/instances?SliceThickness=5&includefield=SliceThickness` });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual((res.json() as Array<Record<string, { Value?: unknown[] }>>)[0]!['00180050']!.Value, [5]);
});

test('WADO-RS metadata keeps giving DS and IS as JSON numbers (what viewers read), while the index keeps their text for C-FIND and QIDO-RS', async (t) => {
  const { app } = await stored(t);
  const res = await app.inject({ url: `/dicom-web/studies/${UID}1/metadata` });
  assert.equal(res.statusCode, 200, res.body);
  const [json] = res.json() as Array<Record<string, { vr: string; Value?: unknown[] }>>;
  assert.deepEqual(json!['00180050']!.Value, [5], 'Slice Thickness');
  assert.deepEqual(json!['00280030']!.Value, [0.5, 100], 'Pixel Spacing');
  assert.deepEqual(json!['00101030']!.Value, [70.5], "Patient's Weight");
  assert.deepEqual(json!['00200011']!.Value, [1], 'Series Number');
  assert.deepEqual(json!['00200013']!.Value, [42], 'Instance Number');
});
