/**
 * EntityRecord.layers (query/record.ts): an entity given as the records of its levels, the most
 * specific first, must match and answer exactly as the one merged record an index used to build
 * for it ({ ...patient, ...study, ...series }, a spread from the last layer to the first).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeDataSet, type Encoding } from '../../src/data/writer.js';
import { matches } from '../../src/query/matching.js';
import { findAttribute, mergeLayers, type AttributeRecord, type AttributeValue, type EntityRecord } from '../../src/query/record.js';
import { buildFindResponse, buildQidoResult, encodeFindResponse } from '../../src/query/response.js';
import { query, type KeyObject } from './helpers.js';

const ENCODINGS: Encoding[] = [{ explicitVR: false, littleEndian: true }, { explicitVR: true, littleEndian: true }];

/** The merge as find.ts built it before layers: one spread per level, the ancestors' first. */
function spreadMerge(layers: readonly AttributeRecord[]): AttributeRecord {
  let merged: AttributeRecord = {};
  for (let i = layers.length - 1; i >= 0; i--) merged = { ...merged, ...layers[i] };
  return merged;
}

const VALUES: Record<string, fc.Arbitrary<AttributeValue>> = {
  PatientName: fc.constantFrom('Doe^John', 'DOE^JANE', 'Müller^Jürgen', '', null),
  PatientID: fc.constantFrom('P1', 'P2', 'p1', null),
  StudyDate: fc.constantFrom('20240110', '20231231', '', null),
  StudyTime: fc.constantFrom('101500', '235959.5', null),
  StudyDescription: fc.constantFrom('CHEST', 'chest pa', 'HEAD', null),
  AccessionNumber: fc.constantFrom('A1', 'A2', ''),
  Modality: fc.constantFrom('CT', 'MR'),
  ModalitiesInStudy: fc.constantFrom(['CT', 'SR'], ['MR'], 'CT\\PT'),
  SeriesInstanceUID: fc.constantFrom('1.2.3.1', '1.2.3.2'),
  TimezoneOffsetFromUTC: fc.constantFrom('+0100', '-0500', null),
  OtherPatientIDs: fc.constantFrom(['X1', 'X2'], 'Y1', null),
  ReferencedStudySequence: fc.constantFrom([{ ReferencedSOPClassUID: '1.2.1', ReferencedSOPInstanceUID: '1.5' }], []),
  // An attribute held under its tag rather than a keyword (records of tags the dictionary lacks).
  '00081030': fc.constantFrom('BY TAG', null),
};
const layer = fc.dictionary(fc.constantFrom(...Object.keys(VALUES)), fc.constant(null), { maxKeys: 8 })
  .chain((keys) => fc.record(Object.fromEntries(Object.keys(keys).map((k) => [k, VALUES[k]!]))) as fc.Arbitrary<AttributeRecord>);

const KEYS: Record<string, fc.Arbitrary<string | null>> = {
  PatientName: fc.constantFrom('Doe*', 'DOE^JANE', '*', null),
  PatientID: fc.constantFrom('P1', 'P?', null),
  StudyDate: fc.constantFrom('20240101-', '-20240101', '20240110', null),
  StudyTime: fc.constantFrom('1000-1100', null),
  StudyDescription: fc.constantFrom('CHEST', '*PA', null),
  AccessionNumber: fc.constantFrom('A1', null),
  ModalitiesInStudy: fc.constantFrom('CT', null),
  OtherPatientIDs: fc.constantFrom('X1', null),
  NumberOfStudyRelatedInstances: fc.constantFrom('3', null),
};
const keys = fc.dictionary(fc.constantFrom(...Object.keys(KEYS)), fc.constant(null), { minKeys: 1, maxKeys: 6 })
  .chain((k) => fc.record(Object.fromEntries(Object.keys(k).map((name) => [name, KEYS[name]!]))) as fc.Arbitrary<KeyObject>)
  // The level's Unique Key is in every query (PS3.4 C.4.1.2.1).
  .map((k): KeyObject => ({ StudyInstanceUID: null, ...k }));

test('property: layered entities match, answer C-FIND and QIDO-RS as the spread-merged record', () => {
  fc.assert(fc.property(fc.array(layer, { minLength: 1, maxLength: 4 }), keys, fc.boolean(), (layers, k, adjust) => {
    const derived = { NumberOfStudyRelatedInstances: 3, ModalitiesInStudy: ['CT'] };
    const merged = spreadMerge(layers);
    const flat: EntityRecord = { level: 'STUDY', attributes: merged, derived, instanceAvailability: 'ONLINE' };
    const layered: EntityRecord = { level: 'STUDY', layers, get attributes() { return mergeLayers(layers); }, derived, instanceAvailability: 'ONLINE' };
    assert.deepEqual(layered.attributes, merged, 'mergeLayers is the spread merge');
    const q = query('STUDY', k, adjust ? { timezoneQueryAdjustment: true } : {});
    assert.equal(matches(q, layered), matches(q, flat), 'matching');
    for (const enc of ENCODINGS) {
      const options = { retrieveAETitles: ['ARCHIVE'] };
      assert.deepEqual(encodeFindResponse(q, layered, enc, options), encodeFindResponse(q, flat, enc, options), 'C-FIND Identifier');
      assert.deepEqual(encodeDataSet(buildFindResponse(q, layered, options), enc), encodeDataSet(buildFindResponse(q, flat, options), enc), 'C-FIND DataSet');
    }
    assert.deepEqual(encodeDataSet(buildQidoResult(q, layered), ENCODINGS[1]!), encodeDataSet(buildQidoResult(q, flat), ENCODINGS[1]!), 'QIDO-RS result');
  }), { numRuns: 400 });
});

test('a layer that holds an attribute, even with no value, hides the layers after it', () => {
  const layers: AttributeRecord[] = [{ PatientName: null, StudyDescription: 'OWN' }, { PatientName: 'Doe^John', StudyDescription: 'PARENT', PatientID: 'P1' }];
  const e: EntityRecord = { layers, attributes: {} };
  assert.deepEqual(findAttribute(e, 0x00100010, 'PatientName', 'PN'), { kind: 'absent' });
  assert.deepEqual(findAttribute(e, 0x00081030, 'StudyDescription', 'LO'), { kind: 'values', values: ['OWN'] });
  assert.deepEqual(findAttribute(e, 0x00100020, 'PatientID', 'LO'), { kind: 'values', values: ['P1'] }, 'from the parent');
  assert.deepEqual(mergeLayers(layers), { PatientName: null, StudyDescription: 'OWN', PatientID: 'P1' });
});
