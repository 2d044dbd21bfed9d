/**
 * encodeFindResponse (the C-FIND Identifier written straight from its attributes) gives the bytes
 * of encodeDataSet(buildFindResponse(...)) in every uncompressed encoding: for ASCII text (the
 * direct path), and for what goes the DataSet way (sequences, binary VRs, non-ASCII text).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DataSet } from '../../src/data/data-set.js';
import { encodeDataSet, type Encoding } from '../../src/data/writer.js';
import { encodeTextEntries } from '../../src/query/identifier-encoder.js';
import type { AttributeRecord, EntityRecord } from '../../src/query/record.js';
import { buildFindResponse, encodeFindResponse } from '../../src/query/response.js';
import { query } from './helpers.js';

const ENCODINGS: Encoding[] = [
  { explicitVR: false, littleEndian: true },
  { explicitVR: true, littleEndian: true },
  { explicitVR: true, littleEndian: false },
];

const study: AttributeRecord = {
  PatientName: 'Doe^John', PatientID: 'P1', PatientBirthDate: '19700101', PatientSex: 'M',
  StudyInstanceUID: '1.2.3', StudyDate: '20200102', StudyTime: '101500', AccessionNumber: 'A1', StudyDescription: 'CHEST',
  ReferencedStudySequence: [{ ReferencedSOPClassUID: '1.2.1', ReferencedSOPInstanceUID: '1.5' }],
};
const entity: EntityRecord = {
  attributes: study, instanceAvailability: 'ONLINE',
  derived: { ModalitiesInStudy: ['CT', 'SR'], NumberOfStudyRelatedSeries: 2, NumberOfStudyRelatedInstances: 120 },
};

function assertSame(q: ReturnType<typeof query>, e: EntityRecord | AttributeRecord, label: string): void {
  for (const enc of ENCODINGS) {
    const expected = encodeDataSet(buildFindResponse(q, e, { retrieveAETitles: ['ARCHIVE'] }), enc);
    assert.deepEqual(encodeFindResponse(q, e, enc, { retrieveAETitles: ['ARCHIVE'] }), expected, `${label} ${JSON.stringify(enc)}`);
  }
}

test('a STUDY-level response of ASCII text: the DataSet path\'s bytes, written directly', () => {
  const q = query('STUDY', {
    StudyInstanceUID: null, PatientName: 'Doe*', PatientID: null, StudyDate: null, ModalitiesInStudy: null, StudyDescription: null,
    NumberOfStudyRelatedSeries: null, NumberOfStudyRelatedInstances: null, ReferringPhysicianName: null, AccessionNumber: null,
  });
  assertSame(q, entity, 'study');
});

test('what the direct path leaves to the DataSet path: sequences, non-ASCII text, binary VRs', () => {
  assert.equal(encodeTextEntries([{ tag: 0x00081110, vr: 'SQ', items: [] }], ENCODINGS[0]!), undefined);
  assert.equal(encodeTextEntries([{ tag: 0x00100010, vr: 'PN', values: ['Müller'] }], ENCODINGS[0]!), undefined);
  assert.equal(encodeTextEntries([{ tag: 0x00280010, vr: 'US', values: ['512'] }], ENCODINGS[0]!), undefined);
  assertSame(query('STUDY', { StudyInstanceUID: null, ReferencedStudySequence: [{}] }), entity, 'sequence');
  assertSame(query('STUDY', { StudyInstanceUID: null, PatientName: null }), { StudyInstanceUID: '1.2', PatientName: 'Müller^Jörg' }, 'latin-1');
  assertSame(query('IMAGE', { SOPInstanceUID: null, Rows: null, Columns: null }), { StudyInstanceUID: '1.2', SeriesInstanceUID: '1.2.3', SOPInstanceUID: '1.2.3.4', Rows: '512', Columns: '500' }, 'US');
});

test('single-valued text with a backslash (LT), and long-header text VRs in Explicit VR (UT, UR, UC)', () => {
  const q = query('IMAGE', { SOPInstanceUID: null, ImageComments: null, ContentDate: null });
  assertSame(q, { StudyInstanceUID: '1.2', SeriesInstanceUID: '1.2.3', SOPInstanceUID: '1.2.3.4', ImageComments: 'odd\\text', ContentDate: '20240101' }, 'LT');
  const entries = [
    { tag: 0x00081190, vr: 'UR' as const, values: ['http://x/y'] },
    { tag: 0x00204000, vr: 'LT' as const, values: ['a\\b'] },
    { tag: 0x0040a160, vr: 'UT' as const, values: ['free text.'] },
    { tag: 0x00189916, vr: 'UC' as const, values: ['u1', 'u22'] },
  ];
  const ds = new DataSet();
  for (const e of entries) ds.set(e.tag, e.vr, [...e.values]);
  for (const enc of ENCODINGS) assert.deepEqual(encodeTextEntries(entries, enc), encodeDataSet(ds, enc), JSON.stringify(enc));
});

test('property: random ASCII and non-ASCII values, odd and even lengths, empty and multi-valued', () => {
  const text = fc.oneof(fc.stringMatching(/^[A-Za-z0-9 ^.]{0,21}$/), fc.string({ maxLength: 9 }));
  const uid = fc.array(fc.integer({ min: 0, max: 999 }), { minLength: 1, maxLength: 6 }).map((p) => p.join('.'));
  fc.assert(fc.property(text, text, uid, fc.array(fc.constantFrom('CT', 'MR', 'SR', 'OT'), { maxLength: 3 }), fc.nat(5000), text,
    (name, id, studyUid, modalities, count, description) => {
      const e: EntityRecord = {
        attributes: { PatientName: name, PatientID: id, StudyInstanceUID: studyUid, StudyDescription: description, StudyDate: '20230105' },
        derived: { ModalitiesInStudy: modalities, NumberOfStudyRelatedInstances: count },
        instanceAvailability: 'ONLINE',
      };
      const q = query('STUDY', {
        StudyInstanceUID: null, PatientName: null, PatientID: null, StudyDescription: null, ModalitiesInStudy: null,
        NumberOfStudyRelatedInstances: null, StudyDate: null,
      });
      assertSame(q, e, 'random');
    }), { numRuns: 200 });
});

test('Identifiers encoded one after another (views of a shared slab) stay as they were written', () => {
  const q = query('STUDY', { StudyInstanceUID: null, PatientName: null, PatientID: null, StudyDescription: null, NumberOfStudyRelatedInstances: null });
  const kept: Array<{ bytes: Uint8Array; expected: Uint8Array }> = [];
  for (let i = 0; i < 3000; i++) {
    const e: EntityRecord = { attributes: { PatientName: `Doe^${'J'.repeat(i % 40)}`, PatientID: `P${i}`, StudyInstanceUID: `1.2.${i}`, StudyDescription: i % 3 ? 'CHEST' : '' }, derived: { NumberOfStudyRelatedInstances: i } };
    const enc = ENCODINGS[i % ENCODINGS.length]!;
    kept.push({ bytes: encodeFindResponse(q, e, enc), expected: encodeDataSet(buildFindResponse(q, e), enc) });
  }
  for (const [i, { bytes, expected }] of kept.entries()) assert.deepEqual(bytes, expected, `Identifier ${i}`);
});
