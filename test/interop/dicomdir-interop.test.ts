/**
 * DICOMDIR against real peers. Reading: python3-pydicom's DICOMDIR test sets (plain, big endian,
 * implicit VR, missing offsets, no patient records, records out of order, empty, and pydicom's own
 * TINY_ALPHA file-set) give the records pydicom finds, record by record (type, offsets, every
 * element's values) and the same tree. Writing: a file-set Conduit creates, and the same after an
 * update (instances added and removed), is read by pydicom's FileSet with the instances expected,
 * dumped by DCMTK's dcmdump without a warning and with every offset naming a record dcmdump found,
 * taken by DCMTK's dcmmkdir in update mode, and passes dicom3tools' dciodvfy without an error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataSet } from '../../src/data/data-set.js';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../../src/data/transfer-syntax.js';
import { buildFileMeta } from '../../src/media/file-meta.js';
import { writeFile as writePart10 } from '../../src/media/part10.js';
import { encodeDicomDir, FileSet, readDicomDir, type DirectoryRecord, type ReadDicomDir } from '../../src/media/dicomdir/index.js';
import { peer, PYDICOM_DATA, PYTHON } from '../helpers/peers.js';

const ORACLE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/interop/dicomdir-pydicom.py');
const TESTS_DIR = join(PYDICOM_DATA, 'test_files', 'dicomdirtests');
const VARIANTS = ['DICOMDIR', 'DICOMDIR-bigEnd', 'DICOMDIR-implicit', 'DICOMDIR-nooffset', 'DICOMDIR-nopatient', 'DICOMDIR-reordered', 'DICOMDIR-empty.dcm', 'TINY_ALPHA/DICOMDIR'];

interface PydicomRecord {
  offset: number;
  type: string | null;
  next: number | null;
  lower: number | null;
  inUse: number | null;
  elements: Record<string, unknown>;
}
interface PydicomView {
  transferSyntax: string;
  fileSetId: string | null;
  first: number | null;
  last: number | null;
  records: PydicomRecord[];
  tree?: Record<string, number | null>;
  instances?: string[];
  fileSetError?: string;
}

function pydicomView(path: string): PydicomView {
  const r = spawnSync(PYTHON, [ORACLE, path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as PydicomView;
}

/** A record's elements as the oracle prints them. */
function elementsOf(keys: DataSet): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of keys) {
    const tag = e.tag.toString(16).toUpperCase().padStart(8, '0');
    if (e.items) out[tag] = { items: e.items.length };
    else if (['OB', 'OW', 'UN'].includes(e.vr)) out[tag] = { bytes: e.valueLength };
    else out[tag] = keys.strings(e.tag).filter((s, _, all) => all.length > 1 || s !== '');
  }
  return out;
}

function parents(read: ReadDicomDir): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  const walk = (records: readonly DirectoryRecord[], parent: number | null): void => {
    for (const r of records) {
      out[String(r.offset)] = parent;
      walk(r.children, r.offset!);
    }
  };
  walk(read.roots, null);
  return out;
}

/** Reads `path` with Conduit and with pydicom and compares record by record, and the trees. */
async function compareWithPydicom(path: string): Promise<void> {
    const expected = pydicomView(path);
    const read = await readDicomDir(path);
    assert.equal(read.transferSyntaxUid, expected.transferSyntax);
    assert.equal(read.fileSetId, expected.fileSetId ?? '');
    assert.equal(read.records.length, expected.records.length);
    read.records.forEach((r, i) => {
      const p = expected.records[i]!;
      assert.deepEqual(
        { offset: r.offset, type: r.type, next: r.next, lower: r.lower, inUse: r.inUse, elements: elementsOf(r.record.keys) },
        { offset: p.offset, type: p.type ?? '', next: p.next ?? 0, lower: p.lower ?? 0, inUse: p.inUse !== 0, elements: p.elements },
        `record ${i} at offset ${p.offset}`,
      );
    });
    if (expected.tree) {
      assert.deepEqual(parents(read), expected.tree);
      assert.deepEqual(read.orphans, []);
      const ours = read.records.filter((r) => r.record.keys.has(0x00041500)).map((r) => r.record.keys.strings(0x00041500).join('/')).sort();
      assert.deepEqual(ours, expected.instances);
    } else {
      // pydicom refuses the file-set (DICOMDIR-nopatient: "UNKNOWN" records); Conduit reads what the offsets reach and says what they do not.
      assert.match(expected.fileSetError ?? '', /UNKNOWN/);
      assert.ok(read.orphans.length > 0);
      assert.match(read.warnings.join('\n'), /not reached from the root/);
    }
}

for (const variant of VARIANTS) {
  test(`${variant}: the same records and tree as pydicom`, { skip: peer('pydicom') }, async () => {
    await compareWithPydicom(join(TESTS_DIR, variant));
  });
}

test('a DICOMDIR with undefined-length sequence and items: the same records and tree as pydicom', { skip: peer('pydicom') }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-dicomdir-'));
  try {
    // Next to the referenced files, which pydicom's FileSet wants to find.
    cpSync(TESTS_DIR, dir, { recursive: true });
    const path = join(dir, 'DICOMDIR');
    writeFileSync(path, encodeDicomDir(await readDicomDir(join(TESTS_DIR, 'DICOMDIR')), { lengths: 'undefined' }));
    await compareWithPydicom(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Every check of the peers on the file-set in `dir`; `expected` are the File IDs pydicom should list. */
function checkWithPeers(dir: string, expected: string[], skipPeer: Record<string, boolean>, dcmmkdirProfile = '-Pgp'): void {
  const dicomdir = join(dir, 'DICOMDIR');
  if (!skipPeer.pydicom) {
    const view = pydicomView(dicomdir);
    assert.equal(view.fileSetError, undefined);
    assert.deepEqual(view.instances, [...expected].sort());
  }
  if (!skipPeer.dcmtk) {
    const dump = spawnSync('dcmdump', ['+L', dicomdir], { encoding: 'utf8' });
    assert.equal(dump.status, 0);
    assert.equal(dump.stderr, '', 'dcmdump says nothing on standard error');
    const items = new Set([...dump.stdout.matchAll(/# {2}offset=\$(\d+)/g)].map((m) => Number(m[1])));
    const links = [...dump.stdout.matchAll(/\((0004,1200|0004,1202|0004,1400|0004,1420)\) up (\d+)/g)].map((m) => Number(m[2]));
    assert.ok(items.size > 0 && links.length > 0);
    for (const offset of links) assert.ok(offset === 0 || items.has(offset), `offset ${offset} names a record dcmdump found`);
    // dcmmkdir in update mode reads the DICOMDIR and checks each file against its profile; it replaces the DICOMDIR, so it works on a copy.
    const copy = mkdtempSync(join(tmpdir(), 'conduit-dcmmkdir-'));
    try {
      cpSync(dir, copy, { recursive: true });
      const files = expected.map((id) => relative(copy, join(copy, ...id.split('/'))));
      const mk = spawnSync('dcmmkdir', ['--no-backup', '+U', '-w', '+I', '+D', 'DICOMDIR', dcmmkdirProfile, ...files], { cwd: copy, encoding: 'utf8' });
      assert.equal(mk.status, 0, mk.stderr);
      assert.doesNotMatch(mk.stderr, /^E: /m);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }
  if (!skipPeer.dicom3tools) {
    const v = spawnSync('dciodvfy', [dicomdir], { encoding: 'utf8' });
    const out = `${v.stdout}${v.stderr}`;
    assert.match(out, /BasicDirectory/);
    assert.doesNotMatch(out, /^Error/m, out);
  }
}

test('a file-set Conduit writes, and updates, passes pydicom, DCMTK and dciodvfy', { skip: peer('pydicom') ?? peer('dcmtk') ?? peer('dicom3tools') }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-fileset-'));
  try {
    const files = join(PYDICOM_DATA, 'test_files');
    const set = await FileSet.create(dir, { fileSetId: 'CONDUIT' });
    const inputs = ['CT_small.dcm', 'MR_small.dcm', 'rtplan.dcm', 'image_dfl.dcm', 'dicomdirtests/77654033/CR1/6154'];
    const ids: Record<string, string> = {};
    for (const name of inputs) {
      const r = await set.add(join(files, name));
      assert.equal(r.status, 'added');
      ids[name] = r.fileId.join('/');
    }
    await set.write();
    const skip = { pydicom: false, dcmtk: false, dicom3tools: false };
    checkWithPeers(dir, Object.values(ids), skip);

    const update = await FileSet.open(dir);
    const added = await update.add(join(files, 'dicomdirtests/77654033/CR2/6247'));
    const sameStudy = await update.add(join(files, 'dicomdirtests/77654033/CR3/6278'));
    await update.remove((await readDicomDir(join(dir, 'DICOMDIR'))).records.find((r) => r.record.keys.strings(0x00041500).join('/') === ids['MR_small.dcm'])!.record.keys.string(0x00041511)!);
    await update.write();
    const expected = [ids['CT_small.dcm']!, ids['rtplan.dcm']!, ids['image_dfl.dcm']!, ids['dicomdirtests/77654033/CR1/6154']!, added.fileId.join('/'), sameStudy.fileId.join('/')];
    checkWithPeers(dir, expected, skip);
    // The CR instances share one patient and study record (same Patient ID and Study Instance UID).
    const read = await readDicomDir(join(dir, 'DICOMDIR'));
    const patient = read.roots.find((r) => r.keys.string('PatientID') === '77654033')!;
    assert.equal(patient.children.length, 1);
    assert.equal(patient.children[0]!.children.length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SR, RT and waveform records, and a STD-GEN-DVD-JPEG file-set, pass the peers too', { skip: peer('pydicom') ?? peer('dcmtk') ?? peer('dicom3tools') }, async () => {
  const files = join(PYDICOM_DATA, 'test_files');
  const skip = { pydicom: false, dcmtk: false, dicom3tools: false };
  const dir = mkdtempSync(join(tmpdir(), 'conduit-fileset-'));
  try {
    const set = await FileSet.create(join(dir, 'cd'));
    const types: string[] = [];
    const ids: string[] = [];
    for (const name of ['test-SR.dcm', 'reportsi.dcm', 'rtdose.dcm', 'rtstruct.dcm', 'waveform_ecg.dcm']) {
      const r = await set.add(join(files, name));
      types.push(r.recordType);
      ids.push(r.fileId.join('/'));
    }
    assert.deepEqual(types, ['SR DOCUMENT', 'SR DOCUMENT', 'RT DOSE', 'RT STRUCTURE SET', 'WAVEFORM']);
    await set.write();
    checkWithPeers(join(dir, 'cd'), ids, skip);
    // Only the HAS CONCEPT MOD items of the root go into an SR record (PS3.3 F.5), not the whole content tree.
    const read = await readDicomDir(join(dir, 'cd', 'DICOMDIR'));
    const sr = read.records.filter((r) => r.type === 'SR DOCUMENT');
    for (const r of sr) {
      for (const item of r.record.keys.items('ContentSequence')) assert.equal(item.string('RelationshipType'), 'HAS CONCEPT MOD');
    }

    const dvd = await FileSet.create(join(dir, 'dvd'), { profile: 'STD-GEN-DVD-JPEG' });
    const jpeg = await dvd.add(join(files, 'SC_rgb_jpeg_dcmtk.dcm'));
    const extended = await dvd.add(join(files, 'JPGExtended.dcm'));
    await assert.rejects(dvd.add(join(files, 'JPEG2000.dcm')), /not allowed by STD-GEN-DVD-JPEG/);
    await dvd.write();
    const dvdRead = await readDicomDir(join(dir, 'dvd', 'DICOMDIR'));
    for (const r of dvdRead.records.filter((x) => x.type === 'IMAGE')) assert.ok(r.record.keys.has('Rows') && r.record.keys.has('Columns'));
    checkWithPeers(join(dir, 'dvd'), [jpeg.fileId.join('/'), extended.fileId.join('/')], skip, '-Pdv');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('updating a file-set another writer made (DCMTK, big endian): records kept, offsets rewritten, the peers agree', { skip: peer('pydicom') ?? peer('dcmtk') ?? peer('dicom3tools') }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-fileset-'));
  try {
    cpSync(TESTS_DIR, dir, { recursive: true });
    cpSync(join(TESTS_DIR, 'DICOMDIR-bigEnd'), join(dir, 'DICOMDIR'));
    const before = pydicomView(join(dir, 'DICOMDIR'));
    const set = await FileSet.open(dir);
    assert.equal(set.instances().length, 31);
    const gone = set.instances().find((i) => i.fileId.join('/') === '77654033/CR2/6247')!;
    await set.remove(gone.sopInstanceUid);
    const added = await set.add(join(PYDICOM_DATA, 'test_files', 'CT_small.dcm'));
    await set.write();
    const expected = [...before.instances!.filter((id) => id !== '77654033/CR2/6247'), added.fileId.join('/')];
    checkWithPeers(dir, expected, { pydicom: false, dcmtk: false, dicom3tools: false });
    const after = pydicomView(join(dir, 'DICOMDIR'));
    assert.equal(after.transferSyntax, '1.2.840.10008.1.2.1');
    // The CR2 series record went with its only instance, the CT brought four records; every other record is there with the same keys.
    const removed = before.records.filter((r) => (r.elements['00041500'] as string[] | undefined)?.join('/') === '77654033/CR2/6247'
      || (r.type === 'SERIES' && (r.elements['0020000E'] as string[])[0] === '1.3.6.1.4.1.5962.1.1.0.0.0.1196527414.5534.0.6'));
    assert.equal(removed.length, 2);
    assert.equal(after.records.length, before.records.length - 2 + 4);
    const left = after.records.map((r) => `${r.type} ${JSON.stringify(r.elements)}`);
    for (const r of before.records.filter((x) => !removed.includes(x))) {
      const i = left.indexOf(`${r.type} ${JSON.stringify(r.elements)}`);
      assert.ok(i >= 0, `the ${r.type} record at ${r.offset} is kept`);
      left.splice(i, 1);
    }
    assert.deepEqual(left.map((k) => k.split(' {')[0]), ['PATIENT', 'STUDY', 'SERIES', 'IMAGE']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A minimal instance of `sopClassUid` holding every key the record types of PS3.3 F.5 ask for. */
function syntheticInstance(sopClassUid: string, n: number): DataSet {
  const ds = new DataSet();
  const code = new DataSet();
  code.set('CodeValue', undefined, '121000');
  code.set('CodingSchemeDesignator', undefined, 'DCM');
  code.set('CodeMeaning', undefined, 'Test');
  const values: Record<string, string | number | string[]> = {
    SOPClassUID: sopClassUid, SOPInstanceUID: `1.2.826.0.1.3680043.9.7.${n}`, StudyDate: '20240101', StudyTime: '120000', PatientName: 'Test^Patient',
    PatientID: 'P1', StudyInstanceUID: '1.2.826.0.1.3680043.9.7', SeriesInstanceUID: `1.2.826.0.1.3680043.9.7.0.${n}`, StudyID: '1',
    SeriesNumber: String(n), InstanceNumber: '1', Modality: 'OT', ContentDate: '20240101', ContentTime: '120000', ContentLabel: 'LABEL',
    PresentationCreationDate: '20240101', PresentationCreationTime: '120000', MIMETypeOfEncapsulatedDocument: 'application/pdf',
    DocumentTitle: 'Title', TreatmentDate: '20240101', TreatmentTime: '120000', ImageType: ['ORIGINAL', 'PRIMARY'], NumberOfFrames: '1',
    Rows: 1, Columns: 1, DataPointRows: 1, DataPointColumns: 1,
  };
  for (const [keyword, value] of Object.entries(values)) ds.set(keyword, undefined, value);
  ds.set('ConceptNameCodeSequence', undefined, [code]);
  const image = new DataSet();
  image.set('ReferencedSOPClassUID', undefined, '1.2.840.10008.5.1.4.1.1.2');
  image.set('ReferencedSOPInstanceUID', undefined, '1.2.826.0.1.3680043.9.7.99.1');
  const series = new DataSet();
  series.set('SeriesInstanceUID', undefined, '1.2.826.0.1.3680043.9.7.99');
  series.set('ReferencedImageSequence', undefined, [image]);
  ds.set('ReferencedSeriesSequence', undefined, [series]);
  return ds;
}

test('the keys of PRESENTATION, KEY OBJECT DOC, ENCAP DOC, REGISTRATION, ... records satisfy dciodvfy and pydicom', { skip: peer('pydicom') ?? peer('dicom3tools') }, async () => {
  // TRACT is left out: the dicom3tools of Debian predates that record type.
  const classes: Record<string, string> = {
    PRESENTATION: '1.2.840.10008.5.1.4.1.1.11.1', 'KEY OBJECT DOC': '1.2.840.10008.5.1.4.1.1.88.59', 'ENCAP DOC': '1.2.840.10008.5.1.4.1.1.104.1',
    REGISTRATION: '1.2.840.10008.5.1.4.1.1.66.1', 'RAW DATA': '1.2.840.10008.5.1.4.1.1.66', FIDUCIAL: '1.2.840.10008.5.1.4.1.1.66.2',
    SURFACE: '1.2.840.10008.5.1.4.1.1.66.5', 'VALUE MAP': '1.2.840.10008.5.1.4.1.1.67', 'RT TREAT RECORD': '1.2.840.10008.5.1.4.1.1.481.4',
    MEASUREMENT: '1.2.840.10008.5.1.4.1.1.78.1', STEREOMETRIC: '1.2.840.10008.5.1.4.1.1.77.1.5.3',
  };
  const dir = mkdtempSync(join(tmpdir(), 'conduit-fileset-'));
  try {
    const set = await FileSet.create(join(dir, 'fs'));
    const ids: string[] = [];
    let n = 0;
    for (const [recordType, uid] of Object.entries(classes)) {
      const path = join(dir, `${++n}.dcm`);
      await writePart10(path, { preamble: null, meta: buildFileMeta({ sopClassUid: uid, sopInstanceUid: `1.2.826.0.1.3680043.9.7.${n}`, transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN }), dataSet: syntheticInstance(uid, n), transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN, warnings: [] });
      const r = await set.add(path);
      assert.equal(r.recordType, recordType);
      assert.deepEqual(r.warnings, [], 'no key had to be filled in');
      ids.push(r.fileId.join('/'));
    }
    await set.write();
    checkWithPeers(join(dir, 'fs'), ids, { pydicom: false, dcmtk: true, dicom3tools: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
