/**
 * DCMTK findscu against `conduit serve` (in process, port 0): a corpus of pydicom's test files and
 * data sets written with Conduit's own writer (controlled names, dates, times, modalities) is
 * stored with storescu, then queried with findscu in Patient Root (-P) and Study Root (-S) at
 * every level. Responses are captured with `findscu -X -od DIR` and read back with readFile; each
 * test asserts the exact set of matches, the values returned and the exact set of attributes in a
 * response (PS3.4 C.4.1.1.3.2). Where the same identifier can be evaluated on the stored files,
 * the in-memory matcher (query/matching.ts) must select the same entities as the SQL path did.
 *
 * The rules and Conduit's choices are in docs/query-matching.md.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSet } from '../../src/data/data-set.js';
import { formatTag, type Tag } from '../../src/data/tag.js';
import { encodeDataSet } from '../../src/data/writer.js';
import { readFile, writeFile } from '../../src/media/part10.js';
import { parseIdentifier } from '../../src/query/identifier.js';
import { matches } from '../../src/query/matching.js';
import type { QueryOptions } from '../../src/query/query.js';
import { loadConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { performFind } from '../../src/services/query-retrieve/find.js';
import { peer, PYDICOM_DATA } from '../helpers/peers.js';

const env = { ...process.env, TCP_NODELAY: '1' };
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const CT = '1.2.840.10008.5.1.4.1.1.2';
const MR = '1.2.840.10008.5.1.4.1.1.4';
const PET = '1.2.840.10008.5.1.4.1.1.128';

const PYDICOM = [
  join(PYDICOM_DATA, 'test_files', 'CT_small.dcm'), // 1CT1, 20040119 072730, CT, Other Patient IDs ABCD1234 / 1234ABCD
  join(PYDICOM_DATA, 'test_files', 'MR_small.dcm'), // 4MR1, 20040826 185059, MR
  join(PYDICOM_DATA, 'test_files', 'rtplan.dcm'), // id00001, 20030716 153557, RTPLAN
  join(PYDICOM_DATA, 'charset_files', 'chrH31.dcm'), // H31EXAMPLE, Yamada^Tarou=山田^太郎=やまだ^たろう (ISO 2022 IR 87), no date
  join(PYDICOM_DATA, 'charset_files', 'chrX1.dcm'), // X1EXAMPLE, Wang^XiaoDong=王^小東= (UTF-8), no date
  join(PYDICOM_DATA, 'charset_files', 'chrJapMulti.dcm'), // 2008-4, やまだ^たろう, 20080504 171715, CR, accession 2008050417172310
  join(PYDICOM_DATA, 'charset_files', 'chrFren.dcm'), // SCSFREN, Buc^Jérôme (ISO_IR 100), no date
  join(PYDICOM_DATA, 'charset_files', 'chrRuss.dcm'), // SCSRUSS, Люкceмбypг (ISO_IR 144, with Latin c, e, y, p), no date
];

// Study Instance UIDs of the corpus.
const U = {
  ct: '1.3.6.1.4.1.5962.1.2.1.20040119072730.12322',
  mr: '1.3.6.1.4.1.5962.1.2.4.20040826185059.5457',
  rt: '1.22.333.4.555555.6.7777777777777777777777777777',
  h31: '1.3.6.1.4.1.5962.1.2.0.1175775771.5702.0',
  x1: '1.3.6.1.4.1.5962.1.2.0.1175775771.5711.0',
  jap: '1.3.51.0.7.11986030739.15242.20106.39861.48967.23056.44420',
  fren: '1.3.6.1.4.1.5962.1.2.0.1175775772.5720.0',
  russ: '1.3.6.1.4.1.5962.1.2.0.1175775772.5729.0',
  a: '2.25.1001',
  b: '2.25.1002',
  c: '2.25.2001',
};

type Spec = Record<string, string | null>;
const JOHN: Spec = { PatientName: 'Doe^John', PatientID: 'GEN-1', PatientBirthDate: '19700101', PatientSex: 'M' };
const JANE: Spec = { PatientName: 'DOE^JANE', PatientID: 'GEN-2', PatientSex: 'F' };
const STUDY_A: Spec = { ...JOHN, StudyInstanceUID: U.a, StudyDate: '19991231', StudyTime: '233000', AccessionNumber: 'ACC1', StudyID: 'S1', StudyDescription: 'Head CT', ReferringPhysicianName: 'Ref^Doc' };
const STUDY_B: Spec = { ...JOHN, StudyInstanceUID: U.b, StudyDate: '20000101', StudyTime: '000500', AccessionNumber: 'ACC2', StudyID: 'S2', StudyDescription: 'head ct' };
// Study C has no Accession Number at all and an empty Study Description.
const STUDY_C: Spec = { ...JANE, StudyInstanceUID: U.c, StudyDate: '20100615', StudyTime: '120000', StudyID: 'S3', StudyDescription: null };

/** The generated instances: study A has a CT series of two images and a PT series of one. */
const GENERATED: Spec[] = [
  { ...STUDY_A, SOPClassUID: CT, SeriesInstanceUID: `${U.a}.1`, Modality: 'CT', SeriesNumber: '1', SOPInstanceUID: `${U.a}.1.1`, InstanceNumber: '1', SeriesDescription: 'Axial' },
  { ...STUDY_A, SOPClassUID: CT, SeriesInstanceUID: `${U.a}.1`, Modality: 'CT', SeriesNumber: '1', SOPInstanceUID: `${U.a}.1.2`, InstanceNumber: '2', SeriesDescription: 'Axial' },
  { ...STUDY_A, SOPClassUID: PET, SeriesInstanceUID: `${U.a}.2`, Modality: 'PT', SeriesNumber: '2', SOPInstanceUID: `${U.a}.2.1`, InstanceNumber: '1', SeriesDescription: 'PET AC' },
  { ...STUDY_B, SOPClassUID: MR, SeriesInstanceUID: `${U.b}.1`, Modality: 'MR', SeriesNumber: '1', SOPInstanceUID: `${U.b}.1.1`, InstanceNumber: '1' },
  { ...STUDY_C, SOPClassUID: CT, SeriesInstanceUID: `${U.c}.1`, Modality: 'CT', SeriesNumber: '3', SOPInstanceUID: `${U.c}.1.1`, InstanceNumber: '7' },
];

function generated(spec: Spec): DataSet {
  const ds = new DataSet();
  for (const [keyword, value] of Object.entries(spec)) ds.set(keyword, undefined, value === null ? null : value);
  return ds;
}

/**
 * A Study Root STUDY Identifier with a Patient's Name key in `charset`, encoded by Conduit's writer
 * (findscu's -k cannot encode such text; it sends the file as the query).
 */
function nameQuery(charset: string | string[], name: string): DataSet {
  const ds = new DataSet();
  ds.set('SpecificCharacterSet', 'CS', charset);
  ds.set('QueryRetrieveLevel', 'CS', 'STUDY');
  ds.set('StudyInstanceUID', 'UI', null);
  ds.set('PatientName', 'PN', name);
  return ds;
}

const QR_LEVEL = 0x00080052;
const RETRIEVE_AE = 0x00080054;
const AVAILABILITY = 0x00080056;
const CHARSET = 0x00080005;
const STUDY_UID = 0x0020000d;

interface FindResult {
  /** The Identifiers of the Pending responses, in the order received. */
  responses: DataSet[];
  /** The final status. */
  status: number;
  /** The statuses of the Pending responses. */
  pending: number[];
  errorComment?: string;
  offendingElement?: string;
}

/** Runs a peer tool without blocking the event loop (the server under test runs in this process). */
function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('latin1')));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${output}`))));
  });
}

describe('findscu against conduit serve', { skip: peer('dcmtk') }, () => {
  let server: RunningServer;
  let dataDir: string;
  let work: string;
  /** Every stored data set (pydicom's and the generated ones), for the in-memory matcher. */
  const corpus: DataSet[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'conduit-find-data-'));
    work = mkdtempSync(join(tmpdir(), 'conduit-find-work-'));
    server = await startServer(loadConfig({ flags: { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir }, env: {} }));
    const files = [...PYDICOM];
    for (const [i, spec] of GENERATED.entries()) {
      const path = join(work, `generated-${i}.dcm`);
      await writeFile(path, { preamble: null, meta: new DataSet(), dataSet: generated(spec), transferSyntaxUid: EXPLICIT_LE, warnings: [] });
      files.push(path);
    }
    await run('storescu', ['-aec', 'ARCHIVE', '127.0.0.1', String(server.dimsePort), ...files]);
    for (const f of files) corpus.push((await readFile(f)).dataSet);
    assert.equal((await server.archive.index.stats()).instances, files.length);
  });

  after(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  let runs = 0;
  /** findscu with `-k` keys (and optionally a query file); -d so that the status details are printed. */
  async function find(model: '-P' | '-S' | '-O', keys: readonly string[], queryFile?: DataSet): Promise<FindResult> {
    const out = join(work, `out-${++runs}`);
    mkdirSync(out);
    const args = ['-d', model, '-aec', 'ARCHIVE', '-X', '-od', out, ...keys.flatMap((k) => ['-k', k]), '127.0.0.1', String(server.dimsePort)];
    if (queryFile) {
      const path = join(work, `query-${runs}.dcm`);
      writeFileSync(path, encodeDataSet(queryFile, { explicitVR: true, littleEndian: true }));
      args.push(path);
    }
    const log = await run('findscu', args);
    const statuses = [...log.matchAll(/DIMSE Status\s*:\s*0x([0-9a-f]{4})/g)].map((m) => parseInt(m[1]!, 16));
    const responses = await Promise.all(readdirSync(out).filter((f) => f.startsWith('rsp')).sort().map(async (f) => (await readFile(join(out, f))).dataSet));
    const result: FindResult = { responses, status: statuses[statuses.length - 1]!, pending: statuses.slice(0, -1) };
    const comment = /\(0000,0902\) LO \[([^\]]*)\]/.exec(log);
    if (comment) result.errorComment = comment[1]!;
    const offending = /\(0000,0901\) AT (\([0-9a-f]{4},[0-9a-f]{4}\))/i.exec(log);
    if (offending) result.offendingElement = offending[1]!.toUpperCase();
    assert.equal(statuses.filter((s) => s === 0xff00 || s === 0xff01).length, responses.length, 'one Identifier per Pending response');
    return result;
  }

  /** The Study Instance UIDs of the responses, sorted. */
  const studies = (r: FindResult) => r.responses.map((d) => d.string(STUDY_UID)!).sort();
  const sorted = (...uids: string[]) => [...uids].sort();
  const tags = (ds: DataSet) => ds.elements().map((e) => e.tag).filter((t) => t >>> 16 !== 0x0002).sort((a, b) => a - b);

  /**
   * PS3.4 C.4.1.1.3.2: a response holds the keys of the request, Query/Retrieve Level, Retrieve AE
   * Title, Instance Availability (Conduit sends it), Specific Character Set only when needed, and
   * (C.4.1.3.1.1 a) the Unique Keys of the levels above; nothing else.
   */
  function assertResponseTags(ds: DataSet, requested: readonly Tag[]): void {
    const expected = new Set<Tag>([...requested, QR_LEVEL, RETRIEVE_AE, AVAILABILITY]);
    const nonAscii = ds.elements().some((e) => e.vr !== 'SQ' && /[^\x00-\x7f]/.test(ds.strings(e.tag).join('')));
    if (nonAscii || ds.has(CHARSET)) {
      assert.ok(nonAscii, 'Specific Character Set only when the text needs it');
      expected.add(CHARSET);
    }
    assert.deepEqual(tags(ds).map(formatTag), [...expected].sort((a, b) => a - b).map(formatTag));
    assert.equal(ds.string(RETRIEVE_AE), 'ARCHIVE');
    assert.equal(ds.string(AVAILABILITY), 'ONLINE');
  }

  /** The Study Instance UIDs of the stored data sets the in-memory matcher selects for `keys` (Study Root, STUDY). */
  function inMemoryStudies(keys: Record<string, string | null>, options: Partial<QueryOptions> = {}): string[] {
    const identifier = new DataSet();
    if (/[^\x00-\x7f]/.test(Object.values(keys).join(''))) identifier.set('SpecificCharacterSet', 'CS', 'ISO_IR 192');
    identifier.set('QueryRetrieveLevel', 'CS', 'STUDY');
    identifier.set('StudyInstanceUID', 'UI', null);
    for (const [k, v] of Object.entries(keys)) identifier.set(k, undefined, v === null ? null : v.split('\\'));
    const query = parseIdentifier(identifier, { model: 'StudyRoot', options });
    return [...new Set(corpus.filter((ds) => matches(query, ds)).map((ds) => ds.string(STUDY_UID)!))].sort();
  }

  /**
   * The same archive through performFind (the C-FIND SCP under `conduit serve`) with options
   * findscu cannot negotiate; Study Root, STUDY level. Returns the Study Instance UIDs found.
   */
  async function direct(keys: Record<string, string | readonly string[]>, options: Partial<QueryOptions>): Promise<string[]> {
    const identifier = new DataSet();
    identifier.set('QueryRetrieveLevel', 'CS', 'STUDY');
    identifier.set('StudyInstanceUID', 'UI', null);
    for (const [k, v] of Object.entries(keys)) identifier.set(k, undefined, typeof v === 'string' ? v : [...v]);
    const got: string[] = [];
    for await (const r of performFind(server.archive.index, identifier, { model: 'StudyRoot', retrieveAeTitle: 'ARCHIVE', queryOptions: options })) {
      if (r.identifier) got.push(r.identifier.string(STUDY_UID)!);
    }
    return got.sort();
  }

  test('universal matching at every level of Patient Root, with the derived counts', async () => {
    const patients = await find('-P', ['QueryRetrieveLevel=PATIENT', 'PatientID', 'PatientName', 'NumberOfPatientRelatedStudies', 'NumberOfPatientRelatedSeries', 'NumberOfPatientRelatedInstances']);
    assert.equal(patients.status, 0);
    assert.deepEqual(patients.responses.map((d) => d.string('PatientID')).sort(), ['1CT1', '2008-4', '4MR1', 'GEN-1', 'GEN-2', 'H31EXAMPLE', 'SCSFREN', 'SCSRUSS', 'X1EXAMPLE', 'id00001']);
    const john = patients.responses.find((d) => d.string('PatientID') === 'GEN-1')!;
    assert.equal(john.string('PatientName'), 'Doe^John');
    assert.deepEqual([john.number(0x00201200), john.number(0x00201202), john.number(0x00201204)], [2, 3, 4]);
    for (const r of patients.responses) assertResponseTags(r, [0x00100010, 0x00100020, 0x00201200, 0x00201202, 0x00201204]);

    const johnStudies = await find('-P', ['QueryRetrieveLevel=STUDY', 'PatientID=GEN-1', 'StudyInstanceUID', 'StudyDate', 'StudyTime', 'AccessionNumber', 'StudyID', 'ModalitiesInStudy', 'NumberOfStudyRelatedSeries', 'NumberOfStudyRelatedInstances']);
    assert.deepEqual(studies(johnStudies), [U.a, U.b]);
    const a = johnStudies.responses.find((d) => d.string(STUDY_UID) === U.a)!;
    assert.deepEqual([a.string('StudyDate'), a.string('StudyTime'), a.string('AccessionNumber'), a.string('StudyID')], ['19991231', '233000', 'ACC1', 'S1']);
    assert.deepEqual(a.strings('ModalitiesInStudy'), ['CT', 'PT']);
    assert.deepEqual([a.number(0x00201206), a.number(0x00201208)], [2, 3]);
    for (const r of johnStudies.responses) assertResponseTags(r, [0x00100020, STUDY_UID, 0x00080020, 0x00080030, 0x00080050, 0x00200010, 0x00080061, 0x00201206, 0x00201208]);

    const series = await find('-P', ['QueryRetrieveLevel=SERIES', 'PatientID=GEN-1', `StudyInstanceUID=${U.a}`, 'SeriesInstanceUID', 'Modality', 'SeriesNumber', 'NumberOfSeriesRelatedInstances']);
    assert.deepEqual(series.responses.map((d) => [d.string('SeriesInstanceUID'), d.string('Modality'), d.number('SeriesNumber'), d.number(0x00201209)]).sort(), [[`${U.a}.1`, 'CT', 1, 2], [`${U.a}.2`, 'PT', 2, 1]]);
    for (const r of series.responses) assertResponseTags(r, [0x00100020, STUDY_UID, 0x0020000e, 0x00080060, 0x00200011, 0x00201209]);

    const images = await find('-P', ['QueryRetrieveLevel=IMAGE', 'PatientID=GEN-1', `StudyInstanceUID=${U.a}`, `SeriesInstanceUID=${U.a}.1`, 'SOPInstanceUID', 'SOPClassUID', 'InstanceNumber']);
    assert.deepEqual(images.responses.map((d) => [d.string('SOPInstanceUID'), d.string('SOPClassUID'), d.number('InstanceNumber')]).sort(), [[`${U.a}.1.1`, CT, 1], [`${U.a}.1.2`, CT, 2]]);
    for (const r of images.responses) assertResponseTags(r, [0x00100020, STUDY_UID, 0x0020000e, 0x00080018, 0x00080016, 0x00200013]);
  });

  test('universal matching at every level of Study Root; the Unique Keys above the level are returned', async () => {
    const all = await find('-S', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID', 'PatientID']);
    assert.deepEqual(studies(all), sorted(...Object.values(U)));
    for (const r of all.responses) assertResponseTags(r, [STUDY_UID, 0x00100020]);

    const series = await find('-S', ['QueryRetrieveLevel=SERIES', `StudyInstanceUID=${U.ct}`, 'SeriesInstanceUID', 'Modality']);
    assert.equal(series.responses.length, 1);
    assert.deepEqual([series.responses[0]!.string('SeriesInstanceUID'), series.responses[0]!.string('Modality')], ['1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322', 'CT']);

    const images = await find('-S', ['QueryRetrieveLevel=IMAGE', `StudyInstanceUID=${U.a}`, `SeriesInstanceUID=${U.a}.2`, 'SOPInstanceUID']);
    assert.deepEqual(images.responses.map((d) => d.string('SOPInstanceUID')), [`${U.a}.2.1`]);
    assertResponseTags(images.responses[0]!, [STUDY_UID, 0x0020000e, 0x00080018]);
  });

  test('the retired Patient/Study Only model (findscu -O): PATIENT and STUDY levels only', async () => {
    const r = await find('-O', ['QueryRetrieveLevel=STUDY', 'PatientID=GEN-1', 'StudyInstanceUID', 'StudyDate=-19991231']);
    assert.deepEqual(studies(r), [U.a]);
    assertResponseTags(r.responses[0]!, [0x00100020, STUDY_UID, 0x00080020]);
    const series = await find('-O', ['QueryRetrieveLevel=SERIES', 'PatientID=GEN-1', `StudyInstanceUID=${U.a}`, 'SeriesInstanceUID']);
    assert.equal(series.status, 0xa900);
    assert.equal(series.offendingElement, '(0008,0052)');
  });

  test('single value matching: exact and case-sensitive except PN; trailing spaces are not significant', async () => {
    const q = (...keys: string[]) => find('-S', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID', ...keys]);
    assert.deepEqual(studies(await q('PatientID=GEN-2')), [U.c]);
    assert.deepEqual(studies(await q('AccessionNumber=ACC1')), [U.a]);
    assert.deepEqual(studies(await q('StudyDescription=head ct')), [U.b]);
    assert.deepEqual(studies(await q('StudyDescription=Head CT')), [U.a]);
    assert.deepEqual(studies(await q('StudyDescription=HEAD CT')), []);
    // PN: Conduit matches names case- and accent-insensitively (C.2.2.2.1.1 lets it).
    assert.deepEqual(studies(await q('PatientName=doe^john')), [U.a, U.b]);
    assert.deepEqual(studies(await q('PatientName=Doe^Jane')), [U.c]);
    // PS3.5 6.2: trailing spaces of LO, SH, PN values are padding.
    assert.deepEqual(studies(await q('PatientID=GEN-2 ')), [U.c]);
    assert.deepEqual(studies(await q('PatientName=Doe^John ')), [U.a, U.b]);
    // A value of Study Root's Required keys, and what is returned for it.
    const r = await q('StudyID=S2', 'StudyDescription', 'ReferringPhysicianName');
    assert.deepEqual(studies(r), [U.b]);
    assert.equal(r.responses[0]!.string('StudyDescription'), 'head ct');
    assert.equal(r.responses[0]!.has('ReferringPhysicianName'), true, 'a requested key without a value comes back empty');
    assert.equal(r.responses[0]!.string('ReferringPhysicianName'), undefined);
    assertResponseTags(r.responses[0]!, [STUDY_UID, 0x00200010, 0x00081030, 0x00080090]);
  });

  test('wild card matching: "*" and "?", case-sensitive except PN, only for string VRs; "*" alone is universal', async () => {
    const q = (...keys: string[]) => find('-S', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID', ...keys]);
    assert.deepEqual(studies(await q('PatientName=Doe*')), [U.a, U.b, U.c]);
    assert.deepEqual(studies(await q('PatientName=D?e^J*')), [U.a, U.b, U.c]);
    assert.deepEqual(studies(await q('PatientName=Compressed?amples^*')), [U.ct, U.mr]);
    assert.deepEqual(studies(await q('StudyDescription=*ct')), [U.b]);
    assert.deepEqual(studies(await q('StudyDescription=*CT')), [U.a]);
    assert.deepEqual(studies(await q('StudyDescription=?ead*')), [U.a, U.b]);
    assert.deepEqual(studies(await q('AccessionNumber=ACC?')), [U.a, U.b]);
    // "*" alone matches every entity, those without a value too (C.2.2.2.4 note 1).
    assert.deepEqual(studies(await q('StudyDescription=*')), sorted(...Object.values(U)));
    assert.deepEqual(studies(await q('StudyDate=*')), sorted(...Object.values(U)));
    // CS: case-sensitive.
    const ct = await find('-S', ['QueryRetrieveLevel=SERIES', `StudyInstanceUID=${U.a}`, 'SeriesInstanceUID', 'Modality=C?']);
    assert.deepEqual(ct.responses.map((d) => d.string('SeriesInstanceUID')), [`${U.a}.1`]);
    assert.deepEqual((await find('-S', ['QueryRetrieveLevel=SERIES', `StudyInstanceUID=${U.a}`, 'SeriesInstanceUID', 'Modality=c*'])).responses, []);
    // A wild card in a date is not Wild Card Matching: the Identifier does not match the SOP Class.
    const bad = await q('StudyDate=2004*');
    assert.equal(bad.status, 0xa900);
    assert.equal(bad.offendingElement, '(0008,0020)');
  });

  test('range matching of dates and of times; the DA and TM of a pair are matched separately without combined datetime matching', async () => {
    const q = (...keys: string[]) => find('-S', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID', ...keys]);
    assert.deepEqual(studies(await q('StudyDate=20000101-')), sorted(U.b, U.c, U.ct, U.mr, U.rt, U.jap));
    assert.deepEqual(studies(await q('StudyDate=-19991231')), [U.a]);
    assert.deepEqual(studies(await q('StudyDate=20000101-20041231')), sorted(U.b, U.ct, U.mr, U.rt));
    assert.deepEqual(studies(await q('StudyDate=19991231')), [U.a]);
    assert.deepEqual(studies(await q('StudyTime=2300-')), [U.a]);
    assert.deepEqual(studies(await q('StudyTime=-0010')), [U.b]);
    assert.deepEqual(studies(await q('StudyTime=1200-1900')), sorted(U.c, U.mr, U.rt, U.jap));
    // Each of its own: dates in the two days, times in the first hour of a day.
    assert.deepEqual(studies(await q('StudyDate=19991231-20000101', 'StudyTime=0000-0100')), [U.b]);
    // With combined datetime matching agreed (C.2.2.2.5.4) the pair is one range of instants.
    assert.deepEqual(await direct({ StudyDate: '19991231-20000101', StudyTime: '2300-0100' }, { combinedDateTimeMatching: true }), [U.a, U.b]);
    assert.deepEqual(await direct({ StudyDate: '19991231-20000101', StudyTime: '2340-0100' }, { combinedDateTimeMatching: true }), [U.b]);
    // A reversed range, and a time range across midnight (C.2.2.2.5.2), are refused.
    for (const keys of [['StudyDate=20001231-20000101'], ['StudyTime=2300-0100']]) {
      const bad = await q(...keys);
      assert.equal(bad.status, 0xa900, keys.join(' '));
      assert.equal(bad.responses.length, 0);
    }
    // The returned pair is the stored one, with the Timezone Offset From UTC of CT_small's times
    // (C.4.1.1.3.2: included when times are in a designated local time zone, absent otherwise).
    const r = await q(`StudyInstanceUID=${U.ct}\\${U.a}`, 'StudyDate', 'StudyTime');
    const ct = r.responses.find((d) => d.string(STUDY_UID) === U.ct)!;
    assert.deepEqual([ct.string('StudyDate'), ct.string('StudyTime'), ct.string('TimezoneOffsetFromUTC')], ['20040119', '072730', '-0500']);
    assertResponseTags(ct, [STUDY_UID, 0x00080020, 0x00080030, 0x00080201]);
    assertResponseTags(r.responses.find((d) => d.string(STUDY_UID) === U.a)!, [STUDY_UID, 0x00080020, 0x00080030]);
  });

  test('matching keys of the PATIENT, SERIES and IMAGE levels (Patient Root and Study Root)', async () => {
    const ids = async (keys: string[]) => (await find('-P', ['QueryRetrieveLevel=PATIENT', 'PatientID', ...keys])).responses.map((d) => d.string('PatientID')).sort();
    assert.deepEqual(await ids(['PatientBirthDate=19700101']), ['GEN-1']);
    assert.deepEqual(await ids(['PatientBirthDate=19600101-19791231']), ['GEN-1']);
    assert.deepEqual(await ids(['PatientName=doe^*']), ['GEN-1', 'GEN-2']);
    assert.deepEqual(await ids(['PatientID=GEN-?']), ['GEN-1', 'GEN-2'], 'a wild card in the Unique Key of the query level');
    assert.ok((await ids(['PatientSex=F'])).includes('GEN-2') && !(await ids(['PatientSex=F'])).includes('GEN-1'));

    const series = async (keys: string[]) => (await find('-S', ['QueryRetrieveLevel=SERIES', `StudyInstanceUID=${U.a}`, 'SeriesInstanceUID', ...keys])).responses.map((d) => d.string('SeriesInstanceUID')).sort();
    assert.deepEqual(await series(['SeriesDescription=*AC']), [`${U.a}.2`]);
    assert.deepEqual(await series(['SeriesNumber=1']), [`${U.a}.1`]);
    assert.deepEqual(await series(['SeriesNumber=01']), [`${U.a}.1`], 'IS values are compared as numbers');
    assert.deepEqual(await series(['NumberOfSeriesRelatedInstances=2']), [`${U.a}.1`]);
    assert.deepEqual(await series([`SeriesInstanceUID=${U.a}.2`]), [`${U.a}.2`]);

    const images = async (keys: string[]) => (await find('-P', ['QueryRetrieveLevel=IMAGE', 'PatientID=GEN-1', `StudyInstanceUID=${U.a}`, `SeriesInstanceUID=${U.a}.1`, 'SOPInstanceUID', ...keys])).responses.map((d) => d.string('SOPInstanceUID')).sort();
    assert.deepEqual(await images(['InstanceNumber=2']), [`${U.a}.1.2`]);
    assert.deepEqual(await images(['InstanceNumber=+2']), [`${U.a}.1.2`]);
    assert.deepEqual(await images([`SOPClassUID=${CT}`]), [`${U.a}.1.1`, `${U.a}.1.2`]);
    assert.deepEqual(await images([`SOPClassUID=${MR}`]), []);
    // The hierarchy holds: the series of another patient's study finds nothing.
    assert.deepEqual((await find('-P', ['QueryRetrieveLevel=SERIES', 'PatientID=GEN-2', `StudyInstanceUID=${U.a}`, 'SeriesInstanceUID'])).responses, []);
  });

  test('list of UID matching at the query level and below', async () => {
    const r = await find('-S', ['QueryRetrieveLevel=STUDY', `StudyInstanceUID=${U.a}\\${U.c}\\1.2.3.4`, 'PatientID']);
    assert.deepEqual(studies(r), [U.a, U.c]);
    const images = await find('-S', ['QueryRetrieveLevel=IMAGE', `StudyInstanceUID=${U.a}`, `SeriesInstanceUID=${U.a}.1`, `SOPInstanceUID=${U.a}.1.2\\${U.a}.2.1`]);
    assert.deepEqual(images.responses.map((d) => d.string('SOPInstanceUID')), [`${U.a}.1.2`]);
  });

  test('empty value matching: "" is a literal value without the negotiation, and matches absent or empty values with it', async () => {
    assert.deepEqual(studies(await find('-S', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID', 'AccessionNumber=""'])), []);
    // findscu cannot negotiate it: the same archive through performFind with the option agreed.
    const expected = sorted(U.ct, U.mr, U.rt, U.h31, U.x1, U.fren, U.russ, U.c);
    for (const [keyword, want] of [['AccessionNumber', expected], ['StudyDescription', sorted(U.mr, U.rt, U.h31, U.x1, U.fren, U.russ, U.c)], ['StudyDate', sorted(U.h31, U.x1, U.fren, U.russ)]] as const) {
      assert.deepEqual(await direct({ [keyword]: '""' }, { emptyValueMatching: true }), want, keyword);
      assert.deepEqual(inMemoryStudies({ [keyword]: '""' }, { emptyValueMatching: true }), want, `${keyword}: the in-memory matcher agrees`);
    }
  });

  test('sequence matching: one item of item keys; the matching items come back with the requested item keys only', async () => {
    const r = await find('-S', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID', 'OtherPatientIDsSequence[0].PatientID=ABCD1234']);
    assert.deepEqual(studies(r), [U.ct]);
    const items = r.responses[0]!.items('OtherPatientIDsSequence');
    assert.equal(items.length, 1);
    assert.deepEqual(tags(items[0]!).map(formatTag), ['(0010,0020)']);
    assert.equal(items[0]!.string('PatientID'), 'ABCD1234');
    assert.deepEqual(studies(await find('-S', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID', 'OtherPatientIDsSequence[0].PatientID=1234*'])), [U.ct]);
    assert.deepEqual(studies(await find('-S', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID', 'OtherPatientIDsSequence[0].PatientID=NOPE'])), []);
    // An empty sequence key is universal and returns the whole sequence (Patient Root, PATIENT level).
    const whole = await find('-P', ['QueryRetrieveLevel=PATIENT', 'PatientID=1CT1', 'OtherPatientIDsSequence']);
    assert.deepEqual(whole.responses[0]!.items('OtherPatientIDsSequence').map((i) => [i.string('PatientID'), i.string('TypeOfPatientID')]), [['ABCD1234', 'TEXT'], ['1234ABCD', 'TEXT']]);
    // An item of universal item keys matches every entity and returns the items with those keys only.
    const itemKeys = await find('-P', ['QueryRetrieveLevel=PATIENT', 'PatientID', 'OtherPatientIDsSequence[0].PatientID']);
    assert.equal(itemKeys.responses.length, 10);
    const ct = itemKeys.responses.find((d) => d.string('PatientID') === '1CT1')!;
    assert.deepEqual(ct.items('OtherPatientIDsSequence').map((i) => tags(i).map(formatTag)), [['(0010,0020)'], ['(0010,0020)']]);
    assert.deepEqual(ct.items('OtherPatientIDsSequence').map((i) => i.string('PatientID')), ['ABCD1234', '1234ABCD']);
    assert.deepEqual(inMemoryStudies({ PatientID: '1CT1' }), [U.ct]);
  });

  test('Japanese names: ISO 2022 IR 87 keys and responses, and UTF-8', async () => {
    const ir87 = await find('-S', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID', 'SpecificCharacterSet=\\ISO 2022 IR 87', 'PatientName=Yamada*']);
    assert.deepEqual(studies(ir87), [U.h31]);
    // The response is in the character set asked for.
    assert.deepEqual(ir87.responses[0]!.strings(CHARSET), ['', 'ISO 2022 IR 87']);
    const name = ir87.responses[0]!.personName('PatientName')!;
    assert.deepEqual([name.alphabetic, name.ideographic, name.phonetic], ['Yamada^Tarou', '山田^太郎', 'やまだ^たろう']);

    // Ideographic and phonetic keys, encoded by Conduit's writer into a query file findscu sends.
    assert.deepEqual(studies(await find('-S', [], nameQuery(['', 'ISO 2022 IR 87'], '=山田^太郎'))), [U.h31]);
    // One group tries every group of the value; "=" places the key on a group.
    assert.deepEqual(studies(await find('-S', [], nameQuery(['', 'ISO 2022 IR 87'], 'やまだ*'))), [U.h31, U.jap].sort());
    assert.deepEqual(studies(await find('-S', [], nameQuery(['', 'ISO 2022 IR 87'], '==やまだ*'))), [U.h31]);
    assert.deepEqual(studies(await find('-S', [], nameQuery(['', 'ISO 2022 IR 87'], '=やまだ*'))), []);
    assert.deepEqual(studies(await find('-S', [], nameQuery(['ISO_IR 192'], '王^小東'))), [U.x1]);
    assert.deepEqual(studies(await find('-S', [], nameQuery(['ISO_IR 192'], '*小東'))), [U.x1]);
    assert.deepEqual(inMemoryStudies({ PatientName: 'やまだ*' }), [U.h31, U.jap].sort());
  });

  test('Latin-1 and Cyrillic names: keys in the Identifier\'s character set, case and accents not significant in PN', async () => {
    const latin1 = await find('-S', [], nameQuery('ISO_IR 100', 'Buc^Jérôme'));
    assert.deepEqual(studies(latin1), [U.fren]);
    assert.equal(latin1.responses[0]!.string(CHARSET), 'ISO_IR 100');
    assert.equal(latin1.responses[0]!.string('PatientName'), 'Buc^Jérôme');
    assert.deepEqual(studies(await find('-S', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID', 'PatientName=buc^jerome'])), [U.fren]);
    assert.deepEqual(studies(await find('-S', [], nameQuery('ISO_IR 100', 'BUC^J?RÔME'))), [U.fren]);
    const cyrillic = await find('-S', [], nameQuery('ISO_IR 144', 'люкceмбypг'));
    assert.deepEqual(studies(cyrillic), [U.russ]);
    assert.equal(cyrillic.responses[0]!.string(CHARSET), 'ISO_IR 144');
    assert.equal(cyrillic.responses[0]!.string('PatientName'), 'Люкceмбypг');
    assert.deepEqual(studies(await find('-S', [], nameQuery('ISO_IR 144', 'Люк*'))), [U.russ]);
    // A response to a request without a character set is in UTF-8.
    const plain = await find('-S', ['QueryRetrieveLevel=STUDY', `StudyInstanceUID=${U.russ}`, 'PatientName']);
    assert.equal(plain.responses[0]!.string(CHARSET), 'ISO_IR 192');
    assert.equal(plain.responses[0]!.string('PatientName'), 'Люкceмбypг');
    assert.deepEqual(inMemoryStudies({ PatientName: 'buc^jerome' }), [U.fren]);
    assert.deepEqual(inMemoryStudies({ PatientName: 'ЛЮК*' }), [U.russ]);
  });

  test('Modalities in Study: matched on every value, returned with all of them; several values need Multiple Value Matching', async () => {
    const pt = await find('-S', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID', 'ModalitiesInStudy=PT']);
    assert.deepEqual(studies(pt), [U.a]);
    assert.deepEqual(pt.responses[0]!.strings('ModalitiesInStudy'), ['CT', 'PT'], 'PS3.4 C.2.2.3: all values are returned');
    assert.deepEqual(studies(await find('-S', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID', 'ModalitiesInStudy=CT'])), sorted(U.a, U.c, U.ct));
    assert.deepEqual(studies(await find('-S', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID', 'ModalitiesInStudy=?T'])), sorted(U.a, U.c, U.ct, U.h31, U.x1, U.fren, U.russ));
    const several = await find('-S', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID', 'ModalitiesInStudy=CT\\PT']);
    assert.equal(several.status, 0xa900);
    assert.equal(several.offendingElement, '(0008,0061)');
    // With Multiple Value Matching agreed (C.2.2.2.8): studies with a CT and a PT series.
    assert.deepEqual(await direct({ ModalitiesInStudy: ['CT', 'PT'] }, { multipleValueMatching: true }), [U.a]);
    assert.deepEqual(await direct({ ModalitiesInStudy: ['PT', 'CT', 'MR'] }, { multipleValueMatching: true }), []);
  });

  test('unsupported optional keys (private attributes) are neither matched nor returned, and the responses say FF01', async () => {
    const r = await find('-S', ['QueryRetrieveLevel=STUDY', `StudyInstanceUID=${U.ct}`, '(0009,0010)=GEMS_IDEN_01', '(0009,1001)', 'PatientID']);
    assert.equal(r.responses.length, 1);
    assertResponseTags(r.responses[0]!, [STUDY_UID, 0x00100020]);
    assert.deepEqual(r.pending, [0xff01]);
    assert.equal(r.status, 0x0000);
    const plain = await find('-S', ['QueryRetrieveLevel=STUDY', `StudyInstanceUID=${U.ct}`, 'PatientID']);
    assert.deepEqual(plain.pending, [0xff00]);
  });

  test('hierarchical rules: A900 with the Offending Element and an Error Comment', async () => {
    // Patient Root, STUDY level, no Patient ID: the Unique Key of the level above is missing.
    const noPatient = await find('-P', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID']);
    assert.equal(noPatient.status, 0xa900);
    assert.equal(noPatient.offendingElement, '(0010,0020)');
    assert.match(noPatient.errorComment!, /^missing Unique Key PatientID \(0010,0020\) of the PATIENT level/);
    assert.ok(noPatient.errorComment!.length <= 64, 'an LO: 64 characters at most');
    assert.equal(noPatient.responses.length, 0);
    // ... not a single value.
    const wild = await find('-P', ['QueryRetrieveLevel=STUDY', 'PatientID=GEN*', 'StudyInstanceUID']);
    assert.equal(wild.status, 0xa900);
    assert.equal(wild.offendingElement, '(0010,0020)');
    assert.match(wild.errorComment!, /^PatientID \(0010,0020\) needs one value, not wildcard matching/);
    // A Required key of a level above the query level.
    const above = await find('-P', ['QueryRetrieveLevel=STUDY', 'PatientID=GEN-1', 'PatientName', 'StudyInstanceUID']);
    assert.equal(above.status, 0xa900);
    assert.equal(above.offendingElement, '(0010,0010)');
    assert.match(above.errorComment!, /^PatientName \(0010,0010\): PATIENT key above STUDY; only Unique/);
    // Study Root, SERIES level without the study's UID; a key below the query level.
    const noStudy = await find('-S', ['QueryRetrieveLevel=SERIES', 'SeriesInstanceUID']);
    assert.equal(noStudy.status, 0xa900);
    assert.equal(noStudy.offendingElement, '(0020,000D)');
    const below = await find('-S', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID', 'Modality=CT']);
    assert.equal(below.status, 0xa900);
    assert.equal(below.offendingElement, '(0008,0060)');
    assert.match(below.errorComment!, /^Modality \(0008,0060\): SERIES key below the STUDY level/);
    // A query without its own level's Unique Key is answered with it, as dcmqrscp and Orthanc
    // answer it (a simple requester needs the UIDs to retrieve), not refused.
    const withKey = await find('-S', ['QueryRetrieveLevel=STUDY', 'PatientID=GEN-1', 'StudyInstanceUID']);
    const noUnique = await find('-S', ['QueryRetrieveLevel=STUDY', 'PatientID=GEN-1']);
    assert.equal(noUnique.status, 0, noUnique.errorComment);
    assert.ok(studies(withKey).length > 0);
    assert.deepEqual(studies(noUnique), studies(withKey), 'the same studies, each with its Study Instance UID');
    // A level the model does not have.
    const level = await find('-S', ['QueryRetrieveLevel=PATIENT', 'PatientID']);
    assert.equal(level.status, 0xa900);
    assert.equal(level.offendingElement, '(0008,0052)');
  });

  test('the SQL path and the in-memory matcher select the same studies', async () => {
    const identifiers: Array<Record<string, string>> = [
      { PatientName: 'doe*' }, { PatientName: '*^*' }, { PatientName: 'compressedsamples^?r1' }, { PatientID: '?CT1' },
      { StudyDate: '20040101-20041231' }, { StudyDate: '-20031231' }, { StudyTime: '0700-1600' }, { StudyTime: '185059' },
      { StudyDate: '20000101-', StudyTime: '-1300' }, { AccessionNumber: '2008*' }, { StudyDescription: '*e*' },
      { StudyDescription: 'e+1' }, { PatientBirthDate: '18000101' }, { PatientSex: 'M' }, { ReferringPhysicianName: 'ref*' },
      { StudyID: 'S?' }, { PatientName: 'Wang^XiaoDong' }, { PatientName: 'yamada^tarou' },
    ];
    for (const keys of identifiers) {
      const r = await find('-S', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID', ...Object.entries(keys).map(([k, v]) => `${k}=${v}`)]);
      assert.equal(r.status, 0, JSON.stringify(keys));
      const expected = inMemoryStudies(keys);
      assert.deepEqual(studies(r), expected, JSON.stringify(keys));
    }
  });
});
