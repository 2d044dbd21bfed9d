/**
 * Conduit's DICOMweb server against Orthanc's DICOMweb plugin (Debian packages orthanc and
 * orthanc-dicomweb), Conduit registered in Orthanc as the DICOMweb server "conduit":
 *   STOW-RS   Orthanc sends studies to Conduit (POST /dicom-web/servers/conduit/stow)
 *   QIDO-RS   Orthanc searches Conduit (POST /dicom-web/servers/conduit/qido)
 *   WADO-RS   Orthanc retrieves the studies back from Conduit (POST .../retrieve), and they match
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDicomWebApp } from '../../src/dicomweb/app.js';
import { parseBuffer } from '../../src/media/part10.js';
import { peer, PYDICOM_DATA } from '../helpers/peers.js';
import { startOrthanc } from '../helpers/orthanc.js';
import { openArchive, tempDir } from '../storage/helpers.js';

const PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
const skip = peer('orthanc') ?? peer('pydicom') ?? (existsSync(PLUGIN) ? undefined : `Orthanc's DICOMweb plugin is not installed (${PLUGIN})`);

const FILES = ['test_files/CT_small.dcm', 'test_files/MR_small.dcm', 'test_files/JPEG2000.dcm', 'charset_files/chrRuss.dcm', 'test_files/SC_rgb_rle.dcm']
  .map((f) => join(PYDICOM_DATA, f));

test('Orthanc DICOMweb plugin: STOW-RS into Conduit, QIDO-RS of Conduit, WADO-RS back out of Conduit', { skip, timeout: 180_000 }, async (t) => {
  const dir = tempDir(t, 'conduit-orthanc-dicomweb-');
  const archive = openArchive(dir);
  const conduitLog: string[] = [];
  const app = createDicomWebApp({ archive, log: (level, message) => conduitLog.push(`${level} ${message}`) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const conduitUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/dicom-web/`;
  const orthanc = await startOrthanc(dir, {
    Name: 'ConduitDicomWebInterop', Plugins: [PLUGIN], OverwriteInstances: true,
    DicomWeb: { Enable: true, Root: '/dicom-web/', Servers: { conduit: [conduitUrl] } },
  });
  t.after(async () => {
    await orthanc.proc.stop('SIGTERM', 20_000);
    await app.close();
    await archive.close();
  });
  const rest = async <T>(method: string, path: string, body?: unknown, raw?: Buffer): Promise<T> => {
    const r = await fetch(`${orthanc.url}${path}`, { method, ...(raw ? { body: new Uint8Array(raw) } : body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
    const text = await r.text();
    assert.ok(r.ok, `${method} ${path}: HTTP ${r.status} ${text}\nConduit's log:\n${conduitLog.join('\n')}\nOrthanc's log:\n${orthanc.proc.stderr.slice(-1500)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };

  const sops = new Map<string, string>(); // SOP Instance UID -> study
  for (const f of FILES) {
    await rest('POST', '/instances', undefined, readFileSync(f));
    const ds = parseBuffer(readFileSync(f)).dataSet;
    sops.set(ds.string('SOPInstanceUID')!.trim(), ds.string('StudyInstanceUID')!.trim());
  }
  const studyIds = await rest<string[]>('GET', '/studies');

  // STOW-RS: Orthanc -> Conduit.
  await rest('POST', '/dicom-web/servers/conduit/stow', { Resources: studyIds, Synchronous: true });
  for (const [sop, study] of sops) {
    const stored = await archive.index.getInstance(sop);
    assert.ok(stored, `${sop} stored in Conduit`);
    assert.equal(stored.studyInstanceUid, study);
  }

  // QIDO-RS: Orthanc searches Conduit.
  // Orthanc answers with its own simplified form of each result: { tag: { Name, Type, Value } }.
  const studies = await rest<Array<Record<string, { Value?: string | string[] }>>>('POST', '/dicom-web/servers/conduit/qido', { Uri: '/studies' });
  assert.deepEqual(studies.map((s) => [s['0020000D']!.Value].flat()[0]).sort(), [...new Set(sops.values())].sort());
  const russian = await rest<unknown[]>('POST', '/dicom-web/servers/conduit/qido', { Uri: '/studies', Arguments: { PatientName: 'Люкceмбypг' } });
  assert.equal(russian.length, 1);

  // WADO-RS: Orthanc forgets everything, then retrieves each study from Conduit.
  for (const id of studyIds) await rest('DELETE', `/studies/${id}`);
  assert.deepEqual(await rest<string[]>('GET', '/instances'), []);
  await rest('POST', '/dicom-web/servers/conduit/retrieve', { Resources: [...new Set(sops.values())].map((s) => ({ Study: s })), Synchronous: true });
  const back = await rest<string[]>('GET', '/instances');
  assert.equal(back.length, sops.size, 'every instance came back');
  for (const id of back) {
    const tags = await rest<Record<string, string>>('GET', `/instances/${id}/simplified-tags`);
    assert.ok(sops.has(tags.SOPInstanceUID!), `${tags.SOPInstanceUID} is one sent`);
    const file = Buffer.from(await (await fetch(`${orthanc.url}/instances/${id}/file`)).arrayBuffer());
    const original = FILES.find((f) => parseBuffer(readFileSync(f)).dataSet.string('SOPInstanceUID')!.trim() === tags.SOPInstanceUID)!;
    // Orthanc stores what it received: the data set is the original's, element for element.
    assert.equal(parseBuffer(file).dataSet.elements().length, parseBuffer(readFileSync(original)).dataSet.elements().length, tags.SOPInstanceUID);
  }
});
