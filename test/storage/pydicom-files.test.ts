/**
 * Real files into the archive: every Part 10 file of pydicom's test data (python3-pydicom) stored
 * as STOW-RS would store it. Each is either archived (and then reads back byte-identical, is found
 * by C-FIND, and has its metadata) or refused with a storage error saying why; nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DicomError } from '../../src/core/dicom-error.js';
import { DataSet } from '../../src/data/data-set.js';
import { parseIdentifier } from '../../src/query/identifier.js';
import { peer, PYDICOM_DATA } from '../helpers/peers.js';
import { collect, iterate, openArchive, readAll, tempDir } from './helpers.js';

function dcmFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.dcm')).map((f) => join(dir, f)).filter((p) => statSync(p).size < 64 * 1024 * 1024).sort();
  } catch {
    return [];
  }
}

test('pydicom test files: archived byte-identical and findable, or refused with a storage error', { skip: peer('pydicom'), timeout: 120_000 }, async (t) => {
  const archive = openArchive(tempDir(t));
  t.after(() => void archive.close());
  const files = [...dcmFiles(join(PYDICOM_DATA, 'test_files')), ...dcmFiles(join(PYDICOM_DATA, 'charset_files'))];
  assert.ok(files.length > 50, `${files.length} files found`);
  const outcomes = new Map<string, number>();
  const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  for (const path of files) {
    const bytes = readFileSync(path);
    let result;
    try {
      result = await archive.storeInstance({ part10: iterate([bytes]), sourceAet: 'PYDICOM' }, 'keep');
    } catch (e) {
      assert.ok(e instanceof DicomError && (e.code === 'ERR_DICOM_STORAGE_BAD_OBJECT' || e.code === 'ERR_DICOM_STORAGE_CONFLICT'), `${path}: ${(e as Error).message}`);
      count(e.code);
      continue;
    }
    count(result.status);
    if (result.status !== 'inserted') continue;
    const stored = await readAll((await archive.openInstance(result.sopInstanceUid)).stream);
    assert.ok(stored.equals(bytes), `${path} reads back byte-identical`);
    const instance = (await archive.index.getInstance(result.sopInstanceUid))!;
    const metadata = (await collect(archive.index.instanceMetadata(instance.studyInstanceUid))).find((m) => m.sopInstanceUid === result.sopInstanceUid);
    assert.ok(metadata && typeof JSON.parse(metadata.json) === 'object', `${path} has metadata`);
    const identifier = new DataSet();
    identifier.set('QueryRetrieveLevel', 'CS', 'IMAGE');
    identifier.set('SOPInstanceUID', 'UI', result.sopInstanceUid);
    const found = await collect(archive.index.find(parseIdentifier(identifier, { model: 'StudyRoot', options: { relational: true } }), 'IMAGE'));
    assert.equal(found.length, 1, `${path} found by its SOP Instance UID`);
  }
  t.diagnostic(JSON.stringify(Object.fromEntries(outcomes)));
  assert.ok((outcomes.get('inserted') ?? 0) > 40);
  // Whatever was refused left nothing behind.
  assert.equal((await collect(archive.blobs.list())).length, (await archive.index.stats()).instances);
});
