/**
 * What SqliteIndexStore.find yields (storage/sqlite/find.ts): layered entity records whose level
 * records are parsed once and kept between searches, reused only while the row's JSON text is the
 * same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DataSet } from '../../src/data/data-set.js';
import { parseIdentifier } from '../../src/query/identifier.js';
import type { QueryLevel } from '../../src/query/query.js';
import { findAttribute, type EntityRecord } from '../../src/query/record.js';
import { SqliteIndexStore } from '../../src/storage/sqlite/sqlite-index-store.js';
import { collect, indexRecord, tempDir } from './helpers.js';

function cfind(level: QueryLevel, keys: Record<string, string | null>) {
  const ds = new DataSet();
  for (const [k, v] of Object.entries(keys)) ds.set(k, undefined, v === null ? null : v);
  ds.set('QueryRetrieveLevel', 'CS', level);
  return parseIdentifier(ds, { model: 'StudyRoot', options: { relational: true } });
}
const text = (e: EntityRecord, tag: number, keyword: string) => findAttribute(e, tag, keyword, 'LO');

test('find: a level record changed in the index is read again, not answered from the records kept between searches', async (t) => {
  const index = new SqliteIndexStore({ path: join(tempDir(t), 'index.db') });
  t.after(() => void index.close());
  await index.insertInstance(indexRecord({ PatientID: 'P1', PatientName: 'Doe^John', StudyInstanceUID: '1.1', StudyDescription: 'CHEST', SeriesInstanceUID: '1.1.1', Modality: 'CT', SOPInstanceUID: '1.1.1.1' }), 'reject');
  const q = cfind('SERIES', { StudyInstanceUID: '1.1', SeriesInstanceUID: null, StudyDescription: null, PatientName: null });
  const [first] = await collect(index.find(q, 'SERIES'));
  assert.deepEqual(text(first!, 0x00081030, 'StudyDescription'), { kind: 'values', values: ['CHEST'] });
  const [again] = await collect(index.find(q, 'SERIES'));
  assert.equal(again!.layers![1], first!.layers![1], 'the same study record, kept');
  assert.ok(Object.isFrozen(again!.layers![1]), 'shared, so frozen');

  index.db.prepare("UPDATE study SET attributes = json_set(attributes, '$.StudyDescription', 'HEAD')").run();
  index.db.prepare("UPDATE patient SET attributes = json_set(attributes, '$.PatientName', 'Roe^Jane')").run();
  const [changed] = await collect(index.find(q, 'SERIES'));
  assert.deepEqual(text(changed!, 0x00081030, 'StudyDescription'), { kind: 'values', values: ['HEAD'] });
  assert.deepEqual(findAttribute(changed!, 0x00100010, 'PatientName', 'PN'), { kind: 'values', values: ['Roe^Jane'] });
  assert.deepEqual(text(first!, 0x00081030, 'StudyDescription'), { kind: 'values', values: ['CHEST'] }, 'what was yielded before is not changed');
  assert.equal((changed!.attributes as Record<string, unknown>)['StudyDescription'], 'HEAD', 'the merged attributes too');
});
