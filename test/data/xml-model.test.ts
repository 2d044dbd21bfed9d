/**
 * The Native DICOM Model (PS3.19 A.1): a hand-written document, data sets built in code, round
 * trips, and the parser's refusals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DicomError } from '../../src/core/dicom-error.js';
import { BulkDataReference } from '../../src/data/bulk-data-reference.js';
import { DataSet } from '../../src/data/data-set.js';
import { toDicomJson } from '../../src/data/json-model.js';
import { PersonName } from '../../src/data/person-name.js';
import type { VR } from '../../src/data/vr.js';
import {
  fromNativeDicomXml, fromNativeDicomXmlSync, nativeDicomXmlToJson, toNativeDicomXml,
} from '../../src/data/xml-model.js';
import { parseXml } from '../../src/data/xml-parser.js';

const T = (hex: string): number => parseInt(hex, 16);

/** Written by hand after PS3.19 A.1.5 and A.1.6, with what other writers put around it. */
const EXAMPLE = `<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment before the root -->
<NativeDicomModel xmlns="http://dicom.nema.org/PS3.19/models/NativeDICOM" xml:space="preserve">
  <DicomAttribute tag="00080005" vr="CS" keyword="SpecificCharacterSet">
    <Value number="1">ISO_IR 192</Value>
  </DicomAttribute>
  <DicomAttribute tag="00080008" vr="CS" keyword="ImageType">
    <Value number="3">AXIAL</Value>
    <Value number="1">ORIGINAL</Value>
    <Value number="2"></Value>
  </DicomAttribute>
  <DicomAttribute tag="00080020" vr="DA" keyword="StudyDate"/>
  <DicomAttribute tag="00100010" vr="PN" keyword="PatientName">
    <PersonName number="1">
      <Alphabetic>
        <FamilyName>Yamada</FamilyName>
        <GivenName>Tarou</GivenName>
      </Alphabetic>
      <Ideographic>
        <FamilyName>山田</FamilyName>
        <GivenName>太郎</GivenName>
      </Ideographic>
      <Phonetic>
        <FamilyName>やまだ</FamilyName>
        <GivenName>たろう</GivenName>
      </Phonetic>
    </PersonName>
  </DicomAttribute>
  <DicomAttribute tag="00081060" vr="PN" keyword="NameOfPhysiciansReadingStudy">
    <PersonName number="1"><SingleByte><FamilyName>Smith</FamilyName><MiddleName>Q</MiddleName><NameSuffix>Jr</NameSuffix></SingleByte></PersonName>
    <PersonName number="2"/>
  </DicomAttribute>
  <DicomAttribute tag="00104000" vr="LT" keyword="PatientComments">
    <Value number="1">  &lt;b&gt; &amp; &#x263A; &#9731; <![CDATA[<raw> & ]]>&#xD;
line 2</Value>
  </DicomAttribute>
  <DicomAttribute tag="00200032" vr="DS" keyword="ImagePositionPatient">
    <Value number="1">-1.50</Value>
    <Value number="2"> 2 </Value>
    <Value number="3">3e2</Value>
  </DicomAttribute>
  <DicomAttribute tag="00280010" vr="US" keyword="Rows"><Value number="1">512</Value></DicomAttribute>
  <DicomAttribute tag="00189218" vr="FD"><Value number="1">0.25</Value></DicomAttribute>
  <DicomAttribute tag="00209165" vr="AT" keyword="DimensionIndexPointer"><Value number="1">00200032</Value></DicomAttribute>
  <DicomAttribute tag="00082218" vr="SQ" keyword="AnatomicRegionSequence">
    <Item number="1">
      <DicomAttribute tag="00080100" vr="SH" keyword="CodeValue"><Value number="1">T-D1100</Value></DicomAttribute>
      <DicomAttribute tag="00080104" vr="LO" keyword="CodeMeaning"><Value number="1">Kopf</Value></DicomAttribute>
    </Item>
    <Item number="2"></Item>
  </DicomAttribute>
  <DicomAttribute tag="00290010" vr="LO"><Value number="1">ACME 1.0</Value></DicomAttribute>
  <DicomAttribute tag="00291001" vr="OB" privateCreator="ACME 1.0">
    <InlineBinary>AQID
      BA==</InlineBinary>
  </DicomAttribute>
  <DicomAttribute tag="00282000" vr="OB" keyword="ICCProfile"><BulkData uuid="7d6bb9a2-3f0d-4c3e-9d6e-3bb1a2a7f001"/></DicomAttribute>
  <DicomAttribute tag="7FE00010" vr="OB" keyword="PixelData"><BulkData uri="https://example.org/studies/1/frames/1"/></DicomAttribute>
  <?some-processing instruction?>
</NativeDicomModel>
`;

test('reads a hand-written PS3.19 A.1 document', () => {
  const ds = fromNativeDicomXmlSync(EXAMPLE);
  assert.deepEqual(ds.strings(T('00080008')), ['ORIGINAL', '', 'AXIAL']);
  assert.equal(ds.get(T('00080020'))!.valueLength, 0);
  assert.deepEqual(ds.personName(T('00100010')), new PersonName('Yamada^Tarou', '山田^太郎', 'やまだ^たろう'));
  assert.deepEqual(ds.personNames(T('00081060')), [new PersonName('Smith^^Q^^Jr'), new PersonName()]);
  assert.equal(ds.string(T('00104000')), '  <b> & ☺ ☃ <raw> & \r\nline 2');
  assert.deepEqual(ds.strings(T('00200032')), ['-1.50', '2', '3e2']);
  assert.deepEqual(ds.numbers(T('00280010')), [512]);
  assert.deepEqual(ds.numbers(T('00189218')), [0.25]);
  assert.deepEqual(ds.tags(T('00209165')), [T('00200032')]);
  assert.deepEqual(ds.items(T('00082218')).map((i) => i.strings(T('00080104'))), [['Kopf'], []]);
  assert.deepEqual(ds.bytes(T('00291001')), new Uint8Array([1, 2, 3, 4]));
  assert.equal((ds.get(T('00282000'))!.bulk as BulkDataReference).uri, 'urn:uuid:7d6bb9a2-3f0d-4c3e-9d6e-3bb1a2a7f001');
  assert.equal((ds.get(T('7FE00010'))!.bulk as BulkDataReference).uri, 'https://example.org/studies/1/frames/1');
  // Written back, a uuid stays a uuid and a uri a uri.
  const again = toNativeDicomXml(ds);
  assert.match(again, /<BulkData uuid="7d6bb9a2-3f0d-4c3e-9d6e-3bb1a2a7f001"\/>/);
  assert.match(again, /<BulkData uri="https:\/\/example.org\/studies\/1\/frames\/1"\/>/);
  assert.match(again, /<DicomAttribute tag="00291001" vr="OB" privateCreator="ACME 1.0">/);
});

test('resolves BulkData references with the caller resolver', async () => {
  const ds = await fromNativeDicomXml(Buffer.from(EXAMPLE, 'utf8'), {
    resolveBulkData: (uri) => (uri.startsWith('urn:uuid:') ? new Uint8Array([9, 9]) : new Uint8Array(8)),
  });
  assert.deepEqual(ds.bytes(T('00282000')), new Uint8Array([9, 9]));
  assert.equal(ds.get(T('7FE00010'))!.valueLength, 8);
});

test('writes PS3.19 A.1: keyword, privateCreator, Value numbers, PersonName components, Items', () => {
  const ds = new DataSet();
  ds.set(T('00080005'), 'CS', 'ISO_IR 192');
  ds.set(T('00080008'), 'CS', ['ORIGINAL', '', 'A&B<C>']);
  ds.set(T('00100010'), 'PN', [PersonName.parse('Yamada^^Tarou=山田'), PersonName.parse('')]);
  ds.set(T('00090010'), 'LO', 'ACME "1"');
  ds.set(T('00091001'), 'UN', new Uint8Array([1, 2, 3, 4]));
  ds.set(T('00200032'), 'DS', ['1.50', '2']);
  ds.set(T('00209165'), 'AT', [T('7FE00010')]);
  const item = new DataSet();
  item.set(T('00080100'), 'SH', 'X');
  ds.set(T('00082218'), 'SQ', [item, new DataSet()]);
  ds.set(T('00080020'), 'DA', null);
  const xml = toNativeDicomXml(ds);
  assert.equal(xml, '<?xml version="1.0" encoding="UTF-8"?>\n'
    + '<NativeDicomModel xmlns="http://dicom.nema.org/PS3.19/models/NativeDICOM" xml:space="preserve">'
    + '<DicomAttribute tag="00080005" vr="CS" keyword="SpecificCharacterSet"><Value number="1">ISO_IR 192</Value></DicomAttribute>'
    + '<DicomAttribute tag="00080008" vr="CS" keyword="ImageType"><Value number="1">ORIGINAL</Value><Value number="2"/><Value number="3">A&amp;B&lt;C&gt;</Value></DicomAttribute>'
    + '<DicomAttribute tag="00080020" vr="DA" keyword="StudyDate"/>'
    + '<DicomAttribute tag="00082218" vr="SQ" keyword="AnatomicRegionSequence"><Item number="1">'
    + '<DicomAttribute tag="00080100" vr="SH" keyword="CodeValue"><Value number="1">X</Value></DicomAttribute></Item><Item number="2"/></DicomAttribute>'
    + '<DicomAttribute tag="00090010" vr="LO"><Value number="1">ACME "1"</Value></DicomAttribute>'
    + '<DicomAttribute tag="00091001" vr="UN" privateCreator="ACME &quot;1&quot;"><InlineBinary>AQIDBA==</InlineBinary></DicomAttribute>'
    + '<DicomAttribute tag="00100010" vr="PN" keyword="PatientName"><PersonName number="1">'
    + '<Alphabetic><FamilyName>Yamada</FamilyName><MiddleName>Tarou</MiddleName></Alphabetic><Ideographic><FamilyName>山田</FamilyName></Ideographic>'
    + '</PersonName><PersonName number="2"/></DicomAttribute>'
    + '<DicomAttribute tag="00200032" vr="DS" keyword="ImagePositionPatient"><Value number="1">1.50</Value><Value number="2">2</Value></DicomAttribute>'
    + '<DicomAttribute tag="00209165" vr="AT" keyword="DimensionIndexPointer"><Value number="1">7FE00010</Value></DicomAttribute>'
    + '</NativeDicomModel>\n');
  // Indented output reads back to the same.
  assert.deepEqual(toDicomJson(fromNativeDicomXmlSync(toNativeDicomXml(ds, { indent: 2 }))), toDicomJson(ds));
});

test('control characters: XML 1.1 with character references; CR survives line-end normalisation', () => {
  const ds = new DataSet();
  ds.set(T('00080005'), 'CS', 'ISO_IR 192');
  ds.set(T('00104000'), 'LT', 'page 1\fpage 2\r\nend\u0085');
  const xml = toNativeDicomXml(ds);
  assert.ok(xml.startsWith('<?xml version="1.1"'));
  assert.match(xml, /page 1&#xC;page 2&#xD;\nend&#x85;/);
  assert.equal(fromNativeDicomXmlSync(xml).string(T('00104000')), 'page 1\fpage 2\r\nend\u0085');
  ds.set(T('00104000'), 'LT', 'no controls\n');
  assert.ok(toNativeDicomXml(ds).startsWith('<?xml version="1.0"'));
});

test('decodes bytes by byte order mark or declared encoding', () => {
  const doc = '<NativeDicomModel><DicomAttribute tag="00100020" vr="LO"><Value number="1">Jürgen</Value></DicomAttribute></NativeDicomModel>';
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(doc, 'utf16le')]);
  const latin1 = Buffer.from(`<?xml version="1.0" encoding="ISO-8859-1"?>${doc}`, 'latin1');
  for (const bytes of [utf16, latin1, Buffer.from(`\uFEFF${doc}`, 'utf8')]) {
    assert.deepEqual(nativeDicomXmlToJson(bytes), { '00100020': { vr: 'LO', Value: ['Jürgen'] } });
  }
  assert.throws(() => nativeDicomXmlToJson(Buffer.from([0x3c, 0xff, 0x3e])), /cannot decode the XML as utf-8/);
  // A namespace prefix is dropped: the model has one namespace (PS3.19 A.1.6).
  const prefixed = '<n:NativeDicomModel xmlns:n="http://dicom.nema.org/PS3.19/models/NativeDICOM"><n:DicomAttribute tag="00100020" vr="LO"><n:Value number="1">X</n:Value></n:DicomAttribute></n:NativeDicomModel>';
  assert.deepEqual(nativeDicomXmlToJson(prefixed), { '00100020': { vr: 'LO', Value: ['X'] } });
});

test('a value the JSON model refuses is an XML error naming its tag once', () => {
  const xml = '<NativeDicomModel><DicomAttribute tag="00280010" vr="US"><Value number="1">abc</Value></DicomAttribute></NativeDicomModel>';
  assert.throws(() => fromNativeDicomXmlSync(xml), (e: unknown) => {
    assert.ok(e instanceof DicomError);
    assert.equal(e.code, 'ERR_DICOM_XML');
    assert.equal(e.tag, 0x00280010);
    assert.equal(e.message, '"abc" is not a US number (tag (0028,0010))');
    return true;
  });
});

test('refuses what is not the Native DICOM Model, saying where', () => {
  const bad = (xml: string, pattern: RegExp): void => {
    assert.throws(() => fromNativeDicomXmlSync(xml), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_XML' && pattern.test(e.message), pattern.source);
  };
  bad('<a><b></a>', /end tag <\/a> does not match <b>/);
  bad('<NativeDicomModel>', /not closed/);
  bad('<Other/>', /not NativeDicomModel/);
  bad('<NativeDicomModel></NativeDicomModel><x/>', /content after the root/);
  bad('<!DOCTYPE x [<!ENTITY a "aaaa">]><NativeDicomModel>&a;</NativeDicomModel>', /internal subset/);
  bad('<NativeDicomModel>&bogus;</NativeDicomModel>', /unknown entity/);
  bad('<NativeDicomModel a="1" a="2"/>', /repeated/);
  bad('<NativeDicomModel><DicomAttribute tag="0010001" vr="PN"/></NativeDicomModel>', /8 hex digits/);
  bad('<NativeDicomModel><DicomAttribute tag="00100010" vr="PN"><Value number="1">A</Value><PersonName number="1"/></DicomAttribute></NativeDicomModel>', /mixes/);
  bad('<NativeDicomModel><DicomAttribute tag="00080008" vr="CS"><Value number="1">A</Value><Value number="3">B</Value></DicomAttribute></NativeDicomModel>', /numbers are not 1, 2, 3/);
  bad('<NativeDicomModel><DicomAttribute tag="00280010" vr="US"><Value number="1">x</Value></DicomAttribute></NativeDicomModel>', /not a US number/);
  bad('<NativeDicomModel>text</NativeDicomModel>', /text "text" in NativeDicomModel/);
  try {
    parseXml('<a>\n<b c=1/></a>');
    assert.fail('parsed');
  } catch (e) {
    assert.ok(e instanceof DicomError && e.offset === 9 && /not quoted/.test(e.message));
  }
});

// ---- round trip ----

const element = fc.oneof(
  fc.tuple(fc.constant(T('00080008')), fc.constant<VR>('CS'), fc.array(fc.string({ unit: fc.constantFrom(...'ABC_ 019'), maxLength: 16 }), { maxLength: 4 })),
  fc.tuple(fc.constant(T('00081030')), fc.constant<VR>('LO'), fc.array(fc.string({ unit: 'binary', maxLength: 20 }).filter((s) => !s.includes('\\')), { maxLength: 3 })),
  fc.tuple(fc.constant(T('00104000')), fc.constant<VR>('LT'), fc.string({ unit: 'binary', maxLength: 40 })),
  fc.tuple(fc.constant(T('00100010')), fc.constant<VR>('PN'), fc.array(fc.array(fc.string({ maxLength: 6 }).map((s) => s.replace(/[=^\\]/g, '')), { maxLength: 5 })
    .map((c) => new PersonName(c.join('^'), c.slice(1).join('^'))), { maxLength: 3 })),
  fc.tuple(fc.constant(T('00200032')), fc.constant<VR>('DS'), fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 3 })),
  fc.tuple(fc.constant(T('00200013')), fc.constant<VR>('IS'), fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 3 })),
  fc.tuple(fc.constant(T('00280010')), fc.constant<VR>('US'), fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 3 })),
  fc.tuple(fc.constant(T('00189218')), fc.constant<VR>('FD'), fc.array(fc.double(), { maxLength: 3 })),
  fc.tuple(fc.constant(T('00109431')), fc.constant<VR>('FL'), fc.array(fc.float(), { maxLength: 3 })),
  fc.tuple(fc.constant(T('00660041')), fc.constant<VR>('UV'), fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 3 })),
  fc.tuple(fc.constant(T('00209165')), fc.constant<VR>('AT'), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 3 })),
  fc.tuple(fc.constant(T('00091001')), fc.constant<VR>('OB'), fc.uint8Array({ maxLength: 9 })),
);

test('round trip: data set -> XML -> data set -> XML is the same XML (property)', () => {
  fc.assert(fc.property(fc.uniqueArray(element, { selector: (e) => e[0], maxLength: 8 }), fc.boolean(), (spec, nested) => {
    const ds = new DataSet();
    ds.set(T('00080005'), 'CS', 'ISO_IR 192');
    const target = nested ? new DataSet({ parent: ds }) : ds;
    for (const [t, vr, value] of spec) target.set(t, vr, value as never);
    if (nested) ds.set(T('00082218'), 'SQ', [target, new DataSet()]);
    const xml = toNativeDicomXml(ds);
    assert.equal(toNativeDicomXml(fromNativeDicomXmlSync(xml)), xml);
  }), { numRuns: 300 });
});

test('a person name with every component group empty ("== ") is written as an empty value and reads back the same', () => {
  const alone = new DataSet();
  alone.set(0x00100010, 'PN', [new PersonName('', '', ' ')]);
  const xml = toNativeDicomXml(alone);
  assert.match(xml, /<DicomAttribute tag="00100010" vr="PN" keyword="PatientName"\/>/);
  assert.equal(toNativeDicomXml(fromNativeDicomXmlSync(xml)), xml);
  const among = new DataSet();
  among.set(0x00100010, 'PN', [new PersonName('', '', ' '), new PersonName('A', '', '')]);
  const xml2 = toNativeDicomXml(among);
  assert.match(xml2, /<PersonName number="1"\/><PersonName number="2"><Alphabetic><FamilyName>A<\/FamilyName>/);
  assert.equal(toNativeDicomXml(fromNativeDicomXmlSync(xml2)), xml2);
});
