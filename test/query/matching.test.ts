import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseQidoQuery } from '../../src/query/qido-parameters.js';
import { matches } from '../../src/query/matching.js';
import type { AttributeRecord } from '../../src/query/record.js';
import { dataSet, query, type KeyObject } from './helpers.js';
import type { QueryOptions } from '../../src/query/query.js';

const UID = '1.2.840.99.1';
const base = { SOPInstanceUID: null } as const;

/** Which of the records match a relational IMAGE query with these keys (keys of every level allowed). */
function which(keys: KeyObject, records: readonly AttributeRecord[], options: Partial<QueryOptions> = {}): number[] {
  const q = query('IMAGE', { ...base, ...keys }, options);
  return records.flatMap((r, i) => (matches(q, r) ? [i] : []));
}

test('Universal Matching: a zero-length key matches every entity, with or without a value (C.2.2.2.3)', () => {
  assert.deepEqual(which({ PatientName: null, StudyDescription: null }, [{ PatientName: 'A' }, {}, { StudyDescription: '' }]), [0, 1, 2]);
  // C.2.2.2.4 note 1: "*" is Universal Matching, so it also matches entities without a value.
  assert.deepEqual(which({ StudyDescription: '*' }, [{ StudyDescription: 'x' }, {}]), [0, 1]);
});

test('Single Value Matching is exact and case-sensitive except for PN (C.2.2.2.1)', () => {
  const records = [{ StudyDescription: 'CHEST' }, { StudyDescription: 'Chest' }, { StudyDescription: 'CHEST PA' }, {}];
  assert.deepEqual(which({ StudyDescription: 'CHEST' }, records), [0]);
  assert.deepEqual(which({ Modality: 'CT' }, [{ Modality: 'CT' }, { Modality: 'ct' }]), [0]);
  assert.deepEqual(which({ AccessionNumber: 'A1' }, [{ AccessionNumber: 'A1' }, { AccessionNumber: 'A10' }, {}]), [0]);
});

test('PN Single Value Matching: case- and accent-insensitive, trailing empty components ignored (C.2.2.2.1.1)', () => {
  const records: AttributeRecord[] = [
    { PatientName: 'DOE^JOHN' }, { PatientName: 'Doe^John^^^' }, { PatientName: 'Doe^Johnny' }, { PatientName: 'Müller^Jürgen' },
    { PatientName: 'MULLER^JURGEN' }, { PatientName: 'Doe' },
  ];
  assert.deepEqual(which({ PatientName: 'doe^john' }, records), [0, 1]);
  assert.deepEqual(which({ PatientName: 'Muller^Jurgen' }, records), [3, 4]);
  assert.deepEqual(which({ PatientName: 'MÜLLER^JÜRGEN' }, records), [3, 4]);
  assert.deepEqual(which({ PatientName: 'Doe' }, records), [5]);
});

test('DA, TM, DT Single Value Matching is by meaning (C.2.2.2.1.3 note 1)', () => {
  // the TM "2230" matches "223000"; a key names the whole minute.
  assert.deepEqual(which({ StudyTime: '2230' }, [{ StudyTime: '223000' }, { StudyTime: '223059.99' }, { StudyTime: '2231' }, { StudyTime: '22' }]), [0, 1]);
  assert.deepEqual(which({ StudyDate: '20200102' }, [{ StudyDate: '20200102' }, { StudyDate: '2020.01.02' }, { StudyDate: '20200103' }, { StudyDate: 'garbage' }]), [0, 1]);
  // the DT "19980128103000.0000" matches "19980128103000"
  assert.deepEqual(which({ AcquisitionDateTime: '19980128103000.0000' }, [{ AcquisitionDateTime: '19980128103000' }]), [0]);
  // the DT "19980128103000" with no offset matches "19980128073000" with offset "-0300"
  assert.deepEqual(which({ AcquisitionDateTime: '19980128103000' }, [{ AcquisitionDateTime: '19980128073000-0300' }, { AcquisitionDateTime: '19980128073000' }]), [0]);
});

test('List of UID Matching: any UID of the list (C.2.2.2.2)', () => {
  const records = [{ StudyInstanceUID: '1.2.3' }, { StudyInstanceUID: '1.2.4' }, { StudyInstanceUID: '1.2.5' }];
  const q = query('STUDY', { StudyInstanceUID: '1.2.3\\1.2.5' });
  assert.deepEqual(q.keys[0]!.matching, { type: 'uid-list', values: ['1.2.3', '1.2.5'] });
  assert.deepEqual(records.map((r) => matches(q, r)), [true, false, true]);
});

test('Wild Card Matching: "*" any sequence (also none), "?" one character, case-sensitive except PN (C.2.2.2.4)', () => {
  const records: AttributeRecord[] = [
    { StudyDescription: 'CHEST' }, { StudyDescription: 'CHEST PA' }, { StudyDescription: 'chest' }, { StudyDescription: 'HEAD' }, {},
  ];
  assert.deepEqual(which({ StudyDescription: 'CHEST*' }, records), [0, 1]);
  assert.deepEqual(which({ StudyDescription: '?HEST' }, records), [0]);
  assert.deepEqual(which({ StudyDescription: '*E*' }, records), [0, 1, 3]);
  assert.deepEqual(which({ StudyDescription: 'H??D' }, records), [3]);
  assert.deepEqual(which({ StudyDescription: 'H?D' }, records), []);
  assert.deepEqual(which({ Modality: 'c*' }, [{ Modality: 'CT' }]), []);
  assert.deepEqual(which({ PatientName: 'doe*' }, [{ PatientName: 'DOE^JOHN' }, { PatientName: 'Doeson' }, { PatientName: 'Done' }]), [0, 1]);
  // "?" is one character of the decoded text, not one byte.
  assert.deepEqual(which({ StudyDescription: '胸?' }, [{ StudyDescription: '胸部' }, { StudyDescription: '胸' }]), [0]);
});

test('characters that are special elsewhere (regular expressions, SQL LIKE, GLOB) are literal in keys', () => {
  const records: AttributeRecord[] = [{ AccessionNumber: '100%_A' }, { AccessionNumber: '100xyA' }, { AccessionNumber: 'a.b[c]' }, { AccessionNumber: 'aXb[c]' }];
  assert.deepEqual(which({ AccessionNumber: '100%_*' }, records), [0]);
  assert.deepEqual(which({ AccessionNumber: 'a.b[*' }, records), [2]);
  assert.deepEqual(which({ AccessionNumber: 'a.b[c]' }, records), [2]);
  assert.deepEqual(which({ AccessionNumber: 'A-1/*' }, [{ AccessionNumber: 'A-1/2' }, { AccessionNumber: 'A-12' }]), [0]);
  assert.deepEqual(which({ AccessionNumber: '*(x)+$^|{?}' }, [{ AccessionNumber: 'a(x)+$^|{z}' }, { AccessionNumber: '(x)$^|{z}' }]), [0]);
});

test('Range Matching of DA, inclusive and open-ended (C.2.2.2.5.1)', () => {
  const records = ['20191231', '20200101', '20200115', '20200131', '20200201'].map((d) => ({ StudyDate: d }));
  assert.deepEqual(which({ StudyDate: '20200101-20200131' }, records), [1, 2, 3]);
  assert.deepEqual(which({ StudyDate: '-20200101' }, records), [0, 1]);
  assert.deepEqual(which({ StudyDate: '20200131-' }, records), [3, 4]);
});

test('Range Matching of TM within one day, a bound naming its whole period (C.2.2.2.5.2)', () => {
  const records = ['0959', '1000', '115959.999', '1200', '120059', '1201'].map((t) => ({ StudyTime: t }));
  assert.deepEqual(which({ StudyTime: '1000-1200' }, records), [1, 2, 3, 4]);
  assert.deepEqual(which({ StudyTime: '-10' }, records), [0, 1]);
  assert.deepEqual(which({ StudyTime: '12-' }, records), [3, 4, 5]);
});

test('Range Matching of DT takes the UTC offsets into account (C.2.2.2.5.3)', () => {
  const records = [
    { AcquisitionDateTime: '20200101113000+0000' }, { AcquisitionDateTime: '20200101123000+0100' },
    { AcquisitionDateTime: '20200101120001' }, { AcquisitionDateTime: '2020' },
  ];
  // 11:00 to 12:00 UTC; the second record is 11:30 UTC.
  assert.deepEqual(which({ AcquisitionDateTime: '20200101120000+0100-20200101130000+0100' }, records), [0, 1]);
  // A negative offset in a range: every "-" is tried as the separator.
  assert.deepEqual(which({ AcquisitionDateTime: '20200101060000-0500-20200101070000-0500' }, records), [0, 1]);
  assert.deepEqual(which({ AcquisitionDateTime: '20200101060000-0500-20200101070001-0500' }, records), [0, 1, 2]);
  assert.deepEqual(which({ AcquisitionDateTime: '2020-2020' }, records), [0, 1, 2, 3]);
});

test('combined date and time Range Matching when negotiated (C.2.2.2.5.4 note)', () => {
  const records = [
    { StudyDate: '20060705', StudyTime: '0900' }, { StudyDate: '20060705', StudyTime: '1000' }, { StudyDate: '20060706', StudyTime: '0900' },
    { StudyDate: '20060707', StudyTime: '1759' }, { StudyDate: '20060707', StudyTime: '1900' }, { StudyDate: '20060706' },
  ];
  const keys = { StudyDate: '20060705-20060707', StudyTime: '1000-1800' };
  // July 5, 10am until July 7, 6pm ...
  assert.deepEqual(which(keys, records, { combinedDateTimeMatching: true }), [1, 2, 3]);
  // ... rather than 10am until 6pm on each day.
  assert.deepEqual(which(keys, records), [1, 3]);
  // Ranges of different forms are matched apart.
  assert.deepEqual(which({ StudyDate: '20060705-20060707', StudyTime: '1000-' }, records, { combinedDateTimeMatching: true }), [1, 3, 4]);
  // An open-ended pair: from July 6, 10:00 on.
  assert.deepEqual(which({ StudyDate: '20060706-', StudyTime: '1000-' }, records, { combinedDateTimeMatching: true }), [3, 4]);
  // Only as combined ranges may the time range run "backwards" (July 5 18:00 to July 7 10:00).
  assert.deepEqual(which({ StudyDate: '20060705-20060707', StudyTime: '1800-1000' }, records, { combinedDateTimeMatching: true }), [2]);
});

test('timezone query adjustment: keys in the query offset, records in their own offset or UTC (C.2.2.2.1.3)', () => {
  const records: AttributeRecord[] = [
    { StudyDate: '20200101', StudyTime: '093000' }, // UTC 09:30
    { StudyDate: '20200101', StudyTime: '103000', TimezoneOffsetFromUTC: '+0100' }, // UTC 09:30
    { StudyDate: '20200101', StudyTime: '103000' }, // UTC 10:30
    { StudyDate: '20200102', StudyTime: '003000', TimezoneOffsetFromUTC: '+0100' }, // UTC 2020-01-01 23:30
  ];
  const keys = { StudyTime: '1000-1100', TimezoneOffsetFromUTC: '+0100' } as const;
  assert.deepEqual(which(keys, records, { timezoneQueryAdjustment: true }), [0, 1]);
  // Without the option (0008,0201) is not used and the times compare as written.
  assert.deepEqual(which(keys, records), [1, 2]);
  // A date with the adjusted time moves with it: 2020-01-02 00:00-01:00 at +0100 is 2020-01-01 23:00-24:00 UTC.
  assert.deepEqual(which({ StudyDate: '20200102', StudyTime: '0000-0100', TimezoneOffsetFromUTC: '+0100' }, records, { timezoneQueryAdjustment: true }), [3]);
  // A local range that wraps past UTC midnight: 00:00-01:00 at +0100 is 23:00-24:00 UTC.
  assert.deepEqual(which({ StudyTime: '0000-0100', TimezoneOffsetFromUTC: '+0100' }, records, { timezoneQueryAdjustment: true }), [3]);
  // A DT key without an offset is in the query's offset.
  assert.deepEqual(which({ AcquisitionDateTime: '202001011030', TimezoneOffsetFromUTC: '+0100' }, [{ AcquisitionDateTime: '202001010930' }, { AcquisitionDateTime: '202001011030' }], { timezoneQueryAdjustment: true }), [0]);
});

test('Sequence Matching: one item must match every item key (C.2.2.2.6)', () => {
  const records: AttributeRecord[] = [
    { ReferencedStudySequence: [{ ReferencedSOPClassUID: '1.2.1', ReferencedSOPInstanceUID: UID }] },
    { ReferencedStudySequence: [{ ReferencedSOPClassUID: '1.2.1', ReferencedSOPInstanceUID: '9.9' }, { ReferencedSOPClassUID: '1.2.2', ReferencedSOPInstanceUID: UID }] },
    { ReferencedStudySequence: [] },
    {},
  ];
  assert.deepEqual(which({ ReferencedStudySequence: [{ ReferencedSOPInstanceUID: UID }] }, records), [0, 1]);
  // Both keys in one item: record 1 has them only in different items.
  assert.deepEqual(which({ ReferencedStudySequence: [{ ReferencedSOPClassUID: '1.2.1', ReferencedSOPInstanceUID: UID }] }, records), [0]);
  // An empty item is Universal Matching.
  assert.deepEqual(which({ ReferencedStudySequence: [{}] }, records), [0, 1, 2, 3]);
  // Recursive: a code sequence inside an item.
  const coded: AttributeRecord[] = [
    { ProcedureCodeSequence: [{ CodeValue: 'X1', CodingSchemeDesignator: 'L', CodeMeaning: 'chest' }] },
    { ProcedureCodeSequence: [{ CodeValue: 'X1', CodingSchemeDesignator: 'M' }] },
  ];
  assert.deepEqual(which({ ProcedureCodeSequence: [{ CodeValue: 'X1', CodingSchemeDesignator: 'L', CodeMeaning: null }] }, coded), [0]);
  assert.deepEqual(which({ ProcedureCodeSequence: [{ CodeMeaning: 'ch*' }] }, coded), [0]);
});

test('Empty Value Matching: "" matches entities with no value when negotiated (C.2.2.2.7)', () => {
  const records: AttributeRecord[] = [{ AccessionNumber: 'A1' }, { AccessionNumber: '' }, {}, { PatientName: '^' }, { StudyDate: '20200101' }];
  assert.deepEqual(which({ AccessionNumber: '""' }, records, { emptyValueMatching: true }), [1, 2, 3, 4]);
  assert.deepEqual(which({ PatientName: '""' }, records, { emptyValueMatching: true }), [0, 1, 2, 3, 4]);
  assert.deepEqual(which({ StudyDate: '""' }, records, { emptyValueMatching: true }), [0, 1, 2, 3]);
  // Without the option "" is just a value no entity has.
  assert.deepEqual(which({ AccessionNumber: '""' }, records), []);
});

test('Multiple Value Matching: every key value must be one of the entity\'s values, in any order (C.2.2.2.8)', () => {
  const records: AttributeRecord[] = [{ ModalitiesInStudy: ['CT', 'SR'] }, { ModalitiesInStudy: 'MR' }, { ModalitiesInStudy: ['US'] }, { ModalitiesInStudy: ['PT', 'CT'] }, { ModalitiesInStudy: ['SR', 'PT', 'CT'] }];
  // PS3.4 C.2.2.2.8 note 1: CT\PT matches only studies with both a CT and a PT series.
  assert.deepEqual(which({ ModalitiesInStudy: 'CT\\PT' }, records, { multipleValueMatching: true }), [3, 4]);
  assert.deepEqual(which({ ModalitiesInStudy: 'PT\\CT' }, records, { multipleValueMatching: true }), [3, 4]);
  assert.deepEqual(which({ ModalitiesInStudy: 'MR\\US' }, records, { multipleValueMatching: true }), []);
  assert.deepEqual(which({ ModalitiesInStudy: 'CT\\CT' }, records, { multipleValueMatching: true }), [0, 3, 4]);
});

test('an attribute with several values matches when any value does (C.2.2.3)', () => {
  const records: AttributeRecord[] = [{ ModalitiesInStudy: ['CT', 'MR'] }, { ModalitiesInStudy: 'PT\\CT' }, { ModalitiesInStudy: ['US'] }];
  assert.deepEqual(which({ ModalitiesInStudy: 'CT' }, records), [0, 1]);
  assert.deepEqual(which({ ModalitiesInStudy: 'M?' }, records), [0]);
  // Patient ID has VM 1: a second value is not a value of the attribute.
  assert.deepEqual(which({ PatientID: 'B' }, [{ PatientID: 'A\\B' }, { PatientID: 'B' }]), [1]);
});

test('PN matching by component group (PS3.5 §6.2.1.1)', () => {
  const records: AttributeRecord[] = [
    { PatientName: 'Yamada^Tarou=山田^太郎=やまだ^たろう' }, { PatientName: 'Wang^XiaoDong=王^小東' }, { PatientName: 'Yamada^Hanako' },
  ];
  assert.deepEqual(which({ PatientName: 'Yamada^*' }, records), [0, 2]);
  assert.deepEqual(which({ PatientName: '山田*' }, records), [0]);
  assert.deepEqual(which({ PatientName: 'やまだ^たろう' }, records), [0]);
  assert.deepEqual(which({ PatientName: 'Wang^XiaoDong=王^小東' }, records), [1]);
  // Each group of the key constrains the same group of the value; an empty key group does not.
  assert.deepEqual(which({ PatientName: '=山田^太郎' }, records), [0]);
  assert.deepEqual(which({ PatientName: 'Yamada*=山田*' }, records), [0]);
  assert.deepEqual(which({ PatientName: 'Yamada*=王*' }, records), []);
});

test('a Japanese name stored as ISO 2022 IR 87 is found by wild card and single value keys sent as ISO 2022 IR 87', () => {
  const charset = ['', 'ISO 2022 IR 87'];
  const stored = dataSet({ PatientName: 'Yamada^Tarou=山田^太郎=やまだ^たろう', StudyInstanceUID: UID }, charset);
  // The bytes hold escape sequences, not UTF-8.
  assert.ok(Buffer.from(stored.get('PatientName')!.bytes).includes(Buffer.from('\x1b$B', 'latin1')));
  const wild = query('STUDY', { PatientName: '山田*', StudyInstanceUID: null }, {}, { charset });
  const single = query('STUDY', { PatientName: '山田^太郎', StudyInstanceUID: null }, {}, { charset });
  const other = query('STUDY', { PatientName: '山本*', StudyInstanceUID: null }, {}, { charset });
  assert.equal(matches(wild, stored), true);
  assert.equal(matches(single, stored), true);
  assert.equal(matches(other, stored), false);
  // The same key against a UTF-8 record: matching is on characters, whatever the encoding.
  const utf8 = dataSet({ PatientName: 'Yamada^Tarou=山田^太郎=やまだ^たろう' }, ['ISO_IR 192']);
  assert.equal(matches(wild, utf8), true);
  // And a UTF-8 key against the ISO 2022 record.
  assert.equal(matches(query('STUDY', { PatientName: '*=山?^*', StudyInstanceUID: null }, {}, { charset: ['ISO_IR 192'] }), stored), true);
});

test('fuzzy semantic matching of person names when negotiated (C.2.2.2.1.1): word prefixes in any order', () => {
  const records: AttributeRecord[] = [
    { PatientName: 'Mary^Smith' }, { PatientName: 'SMITH, MARY' }, { PatientName: 'Smithers^Maryanne' }, { PatientName: 'Smith^John' },
    { PatientName: 'Mary Smith' }, { PatientName: 'Swayne^Mary' }, { PatientName: 'Smíth^Mary' },
  ];
  const fuzzy = { fuzzySemanticMatching: true };
  assert.deepEqual(which({ PatientName: 'Smith^Mary' }, records, fuzzy), [0, 1, 2, 4, 6]);
  // Literal matching finds only the same name, accents aside.
  assert.deepEqual(which({ PatientName: 'Smith^Mary' }, records), [6]);
  assert.deepEqual(which({ PatientName: 'Mar' }, records, fuzzy), [0, 1, 2, 4, 5, 6]);
  // Each key word needs its own value word.
  assert.deepEqual(which({ PatientName: 'Mary^Mary' }, records, fuzzy), []);
  // Not phonetic: "Swain" does not find "Swayne".
  assert.deepEqual(which({ PatientName: 'Swain' }, records, fuzzy), []);
  assert.deepEqual(which({ PatientName: 'Sm?th' }, records, fuzzy), [0, 1, 2, 3, 4, 6]);
});

test('numbers match by value (IS, US)', () => {
  const q = query('SERIES', { SeriesNumber: '007', SeriesInstanceUID: null });
  assert.deepEqual([{ SeriesNumber: '7' }, { SeriesNumber: ' 7 ' }, { SeriesNumber: 70 }, { SeriesNumber: 7 }].map((r) => matches(q, r)), [true, true, false, true]);
  const rows = query('IMAGE', { Rows: '512', SOPInstanceUID: null });
  assert.equal(matches(rows, dataSet({ Rows: '512' })), true);
  assert.equal(matches(rows, dataSet({ Rows: '256' })), false);
});

test('DataSet candidates: sequence items, derived attributes of an EntityRecord', () => {
  const ds = dataSet({ StudyInstanceUID: UID, ReferencedStudySequence: [{ ReferencedSOPInstanceUID: '1.5' }] });
  assert.equal(matches(query('STUDY', { ReferencedStudySequence: [{ ReferencedSOPInstanceUID: '1.5' }], StudyInstanceUID: null }), ds), true);
  const q = query('STUDY', { ModalitiesInStudy: 'MR', NumberOfStudyRelatedSeries: '2', StudyInstanceUID: null });
  assert.equal(matches(q, { attributes: ds, derived: { ModalitiesInStudy: ['CT', 'MR'], NumberOfStudyRelatedSeries: 2 } }), true);
  assert.equal(matches(q, { attributes: ds, derived: { ModalitiesInStudy: ['CT'], NumberOfStudyRelatedSeries: 2 } }), false);
});

test('property: any text matches itself as a single value, and its prefixes followed by "*" (wild card text is never a pattern)', () => {
  const chars = [...'aZ09 .^$+()[]{}|/-%_\'"=,', 'é', 'e\u0301', 'ß', '山', '田', 'が', 'ｶ', '😀', '\u00a0'];
  const text = fc.array(fc.constantFrom(...chars), { minLength: 1, maxLength: 12 }).map((a) => a.join('').trim()).filter((s) => s !== '' && s !== '""');
  fc.assert(fc.property(text, fc.nat(), fc.constantFrom('StudyDescription', 'PatientName', 'AccessionNumber'), (value, cut, keyword) => {
    // "^" and "=" structure a PN (component and group delimiters); PN structure is tested above.
    if (keyword === 'PatientName' && /[=^]/.test(value)) return;
    const record = { [keyword]: value };
    const single = parseQidoQuery([[keyword, value]], { level: 'STUDY' });
    assert.equal(matches(single, record), true, `${keyword}=${value}`);
    const prefix = `${[...value].slice(0, cut % ([...value].length + 1)).join('')}*`;
    assert.equal(matches(parseQidoQuery([[keyword, prefix]], { level: 'STUDY' }), record), true, `${keyword}=${prefix}`);
    // "?" stands for exactly one character (a code point), so replacing the first one still matches.
    const first = [...value];
    first[0] = '?';
    // (Not for PN when a combining accent follows: PN matching drops accents, so "?" + accent has no base letter left.)
    if (keyword === 'PatientName' && /\p{M}/u.test(first[1] ?? '')) return;
    assert.equal(matches(parseQidoQuery([[keyword, first.join('')]], { level: 'STUDY' }), record), true, `${keyword}=${first.join('')}`);
  }), { numRuns: 500, seed: 7 });
});
