/**
 * Every DICOM file in python3-pydicom's test data is read and written back: the output must be
 * byte-identical to the input, whether the file was parsed in memory (parseBuffer) or read with a
 * small bulk data threshold so that most values stay in the file (readFile) and are streamed back
 * (encodeFileStream). The few files that are not well-formed are listed with the reason each
 * cannot come back identical, and the test checks what does hold for them. For all files a
 * read-write-read gives the same data set, and writing is idempotent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { DicomError } from '../../src/core/dicom-error.js';
import type { DataSet } from '../../src/data/data-set.js';
import { transferSyntax } from '../../src/data/transfer-syntax.js';
import { concat, encodeDataSet } from '../../src/data/writer.js';
import { parseFileMeta } from '../../src/media/file-meta.js';
import { encodeFile, encodeFileStream, parseBuffer, readFile, type DicomFile } from '../../src/media/part10.js';
import { peer, PYDICOM_DATA } from '../helpers/peers.js';

const ROOTS = [join(PYDICOM_DATA, 'test_files'), join(PYDICOM_DATA, 'charset_files')];
const HAVE_FILES = existsSync(join(ROOTS[0]!, 'CT_small.dcm'));
const noFiles = HAVE_FILES ? peer('pydicom') : 'pydicom test files are not installed (python3-pydicom)';
const SMALL_THRESHOLD = 256;

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** Files that are not DICOM: notes, dumps, JSON, the gzip archive, Python. */
const NOT_DICOM_FILE = /(\.(txt|json|dump|gz|py|pyc)$)|(^|\/)README/;
const FILES = ROOTS.flatMap((r) => walk(r)).filter((p) => !NOT_DICOM_FILE.test(p));
const nameOf = (p: string) => relative(PYDICOM_DATA, p);

/**
 * The files that do not come back byte-identical, and why. Each has its own test below of what
 * does hold.
 */
const NOT_IDENTICAL: Record<string, string> = {
  'test_files/ExplVR_BigEndNoMeta.dcm': 'no preamble and no File Meta Information: we write both (the data set bytes are unchanged)',
  'test_files/ExplVR_LitEndNoMeta.dcm': 'no preamble and no File Meta Information: we write both (the data set bytes are unchanged)',
  'test_files/rtstruct.dcm': 'a bare Implicit VR data set with no preamble and no meta: we write both (the data set bytes are unchanged)',
  'test_files/empty_charset_LEI.dcm': 'meta incomplete (no Media Storage SOP Class/Instance UID): we complete it from the data set',
  'test_files/meta_missing_tsyntax.dcm': 'meta has no Transfer Syntax UID: we write the one found by looking at the data set; and (0001,0002) has odd length 9: written padded (PS3.5 §7.1.1)',
  'test_files/nested_priv_SQ.dcm': '(0001,0002) UN in a private sequence has odd length 9: written padded to 10 (PS3.5 §7.1.1)',
  'test_files/no_meta_group_length.dcm': 'meta has no File Meta Information Group Length: we write it',
  'test_files/image_dfl.dcm': 'deflated: our zlib output differs from the writer\'s; the inflated data set bytes are identical',
  'test_files/dicomdirtests/DICOMDIR-nooffset': 'an item runs 24 bytes past the end of its sequence: we read up to the sequence end and write consistent lengths',
  'test_files/SC_rgb_jpeg.dcm': 'declares Explicit VR (JPEG Baseline) but the data set is Implicit VR: we write what it declares',
  'test_files/MR_truncated.dcm': 'truncated inside Pixel Data: an error by default, read with truncated: \'keep\'',
  'test_files/rtplan_truncated.dcm': 'truncated inside a value: an error by default, read with truncated: \'keep\'',
  'test_files/no_meta.dcm': 'a stray first byte before a bare data set: not DICOM (DCMTK rejects it too)',
};

function same(actual: Uint8Array, expected: Uint8Array, message: string): void {
  if (Buffer.compare(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength), Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength)) === 0) return;
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  assert.fail(`${message}: first difference at byte ${i} (lengths ${actual.length} and ${expected.length})`);
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return concat(parts);
}

/** The data set's bytes after the meta, inflated when deflated. */
function dataSetBytes(file: Uint8Array): Uint8Array {
  const head = parseFileMeta(file, true);
  const body = file.subarray(head.dataSetOffset);
  return transferSyntax(head.transferSyntaxUid).deflated ? inflateRawSync(body) : body;
}

/** Writing what we read, then reading and writing that again, changes nothing: the same data set, the same bytes. */
function assertIdempotent(file: DicomFile, label: string): Uint8Array {
  const out = encodeFile(file);
  const again = parseBuffer(out);
  assert.deepEqual(again.warnings, [], `${label}: our output reads without warnings`);
  assert.equal(again.transferSyntaxUid, file.transferSyntaxUid);
  const ts = transferSyntax(file.transferSyntaxUid);
  const enc = { explicitVR: ts.explicitVR, littleEndian: ts.littleEndian };
  same(encodeDataSet(again.dataSet, enc), encodeDataSet(file.dataSet, enc), `${label}: read-write-read data set`);
  same(encodeFile(again), out, `${label}: writing our output again`);
  return out;
}

test('the pydicom test files are found', { skip: noFiles }, () => {
  assert.ok(FILES.length >= 150, `only ${FILES.length} files`);
  for (const name of Object.keys(NOT_IDENTICAL)) assert.ok(FILES.some((f) => nameOf(f) === name), `${name} is listed but missing`);
});

for (const path of HAVE_FILES ? FILES : []) {
  const name = nameOf(path);
  if (NOT_IDENTICAL[name] !== undefined) continue;
  test(`${name}: parseBuffer, readFile and streaming write back byte-identical`, { skip: noFiles }, async () => {
    const input = readFileSync(path);
    const file = parseBuffer(input);
    assert.deepEqual(file.warnings, [], 'a well-formed file reads without warnings');
    same(encodeFile(file), input, 'parseBuffer -> encodeFile');

    const fromFile = await readFile(path, { bulkDataThreshold: SMALL_THRESHOLD });
    assert.deepEqual(fromFile.warnings, []);
    same(encodeFile(fromFile), input, `readFile (bulkDataThreshold ${SMALL_THRESHOLD}) -> encodeFile`);
    same(await collect(encodeFileStream(fromFile)), input, `readFile (bulkDataThreshold ${SMALL_THRESHOLD}) -> encodeFileStream`);

    assertIdempotent(file, name);
  });
}

// ---- the files that are not byte-identical: what does hold ----

const P = (name: string) => join(PYDICOM_DATA, name);
const skipUnless = (name: string) => noFiles ?? (existsSync(P(name)) ? undefined : `${name} is not in this pydicom version`);

for (const name of ['test_files/ExplVR_BigEndNoMeta.dcm', 'test_files/ExplVR_LitEndNoMeta.dcm', 'test_files/rtstruct.dcm']) {
  test(`${name}: ${NOT_IDENTICAL[name]}`, { skip: skipUnless(name) }, async () => {
    const input = readFileSync(P(name));
    const file = parseBuffer(input);
    assert.equal(file.preamble, null);
    assert.equal(file.meta.size, 0);
    const out = assertIdempotent(file, name);
    const head = parseFileMeta(out, true);
    assert.ok(head.preamble, 'a preamble is written');
    assert.equal(head.transferSyntaxUid, file.transferSyntaxUid);
    assert.equal(head.meta.string(0x00020002), file.dataSet.string(0x00080016));
    assert.equal(head.meta.string(0x00020003), file.dataSet.string(0x00080018));
    same(out.subarray(head.dataSetOffset), input, 'the data set bytes');
    same(encodeFile(await readFile(P(name), { bulkDataThreshold: SMALL_THRESHOLD })), out, 'readFile gives the same output');
  });
}

for (const name of ['test_files/empty_charset_LEI.dcm', 'test_files/meta_missing_tsyntax.dcm', 'test_files/no_meta_group_length.dcm']) {
  test(`${name}: ${NOT_IDENTICAL[name]}`, { skip: skipUnless(name) }, async () => {
    const input = readFileSync(P(name));
    const file = parseBuffer(input);
    const out = assertIdempotent(file, name);
    const head = parseFileMeta(out, true);
    for (const t of [0x00020000, 0x00020001, 0x00020002, 0x00020003, 0x00020010, 0x00020012]) assert.ok(head.meta.has(t), `(0002,${(t & 0xffff).toString(16)}) written`);
    assert.equal(head.meta.number(0x00020000), head.dataSetOffset - 132 - 12, 'group length right');
    assert.equal(head.transferSyntaxGuessed, false);
    assertSameButPadding(dataSetBytes(out), dataSetBytes(input), file.dataSet, 'the data set bytes');
    same(encodeFile(await readFile(P(name), { bulkDataThreshold: SMALL_THRESHOLD })), out, 'readFile gives the same output');
  });
}

test(`test_files/image_dfl.dcm: ${NOT_IDENTICAL['test_files/image_dfl.dcm']}`, { skip: skipUnless('test_files/image_dfl.dcm') }, async () => {
  const input = readFileSync(P('test_files/image_dfl.dcm'));
  const file = parseBuffer(input);
  assert.deepEqual(file.warnings, []);
  const out = assertIdempotent(file, 'image_dfl');
  const head = parseFileMeta(input, true);
  same(out.subarray(0, head.dataSetOffset), input.subarray(0, head.dataSetOffset), 'preamble and meta');
  same(dataSetBytes(out), dataSetBytes(input), 'the inflated data set');
  const fromFile = await readFile(P('test_files/image_dfl.dcm'), { bulkDataThreshold: SMALL_THRESHOLD });
  same(dataSetBytes(encodeFile(fromFile)), dataSetBytes(input), 'readFile: the inflated data set');
  same(dataSetBytes(await collect(encodeFileStream(fromFile))), dataSetBytes(input), 'encodeFileStream: the inflated data set');
});

test(`test_files/dicomdirtests/DICOMDIR-nooffset: ${NOT_IDENTICAL['test_files/dicomdirtests/DICOMDIR-nooffset']}`, { skip: skipUnless('test_files/dicomdirtests/DICOMDIR-nooffset') }, async () => {
  const path = P('test_files/dicomdirtests/DICOMDIR-nooffset');
  const input = readFileSync(path);
  const file = parseBuffer(input);
  assert.equal(file.warnings.length, 1);
  assert.match(file.warnings[0]!, /runs 24 bytes past the end of its sequence/);
  const out = assertIdempotent(file, 'DICOMDIR-nooffset');
  assert.equal(out.length, input.length, 'only lengths change, not the contents');
  const fromFile = await readFile(path, { bulkDataThreshold: SMALL_THRESHOLD });
  assert.deepEqual(fromFile.warnings, file.warnings);
  same(encodeFile(fromFile), out, 'readFile gives the same output');
});

test(`test_files/SC_rgb_jpeg.dcm: ${NOT_IDENTICAL['test_files/SC_rgb_jpeg.dcm']}`, { skip: skipUnless('test_files/SC_rgb_jpeg.dcm') }, async () => {
  const path = P('test_files/SC_rgb_jpeg.dcm');
  const input = readFileSync(path);
  const file = parseBuffer(input);
  assert.equal(file.warnings.length, 1);
  assert.match(file.warnings[0]!, /says explicit VR but the data set is implicit VR/);
  assert.equal(file.dataSet.number(0x00280010), 256, 'Rows read with the right encoding');
  const out = assertIdempotent(file, 'SC_rgb_jpeg');
  const again = parseBuffer(out);
  assert.equal(again.dataSet.get(0x00280010)!.vr, 'US');
  assert.equal(again.dataSet.get(PIXEL)!.encapsulated?.fragments.length, file.dataSet.get(PIXEL)!.encapsulated?.fragments.length);
  const fromFile = await readFile(path, { bulkDataThreshold: SMALL_THRESHOLD });
  assert.deepEqual(fromFile.warnings, file.warnings);
  same(encodeFile(fromFile), out, 'readFile gives the same output');
});
const PIXEL = 0x7fe00010;

/** Values of odd length (not conformant, PS3.5 §7.1.1), which the writer pads. */
function oddValues(ds: DataSet): number {
  let n = 0;
  for (const e of ds) {
    if (e.items) for (const i of e.items) n += oddValues(i);
    else if (!e.encapsulated && e.valueLength & 1) n++;
  }
  return n;
}

/** The same bytes, but for one pad byte per odd-length value (and the lengths of the sequences and items around them). */
function assertSameButPadding(actual: Uint8Array, expected: Uint8Array, read: DataSet, message: string): void {
  const odd = oddValues(read);
  if (odd === 0) return same(actual, expected, message);
  assert.equal(actual.length, expected.length + odd, `${message}: ${odd} pad bytes`);
}

test(`test_files/nested_priv_SQ.dcm: ${NOT_IDENTICAL['test_files/nested_priv_SQ.dcm']}`, { skip: skipUnless('test_files/nested_priv_SQ.dcm') }, async () => {
  const path = P('test_files/nested_priv_SQ.dcm');
  const input = readFileSync(path);
  const file = parseBuffer(input);
  assert.deepEqual(file.warnings, []);
  const odd = file.dataSet.items(0x00010001)[0]!;
  assert.equal(odd.get(0x00010002)!.valueLength, 9, 'read as it is');
  const out = assertIdempotent(file, 'nested_priv_SQ');
  assert.equal(out.length, input.length + 1);
  const again = parseBuffer(out).dataSet.items(0x00010001)[0]!;
  assert.deepEqual([...again.bytes(0x00010002)!], [...odd.bytes(0x00010002)!, 0], 'padded with NUL (UN)');
  same(encodeFile(await readFile(path, { bulkDataThreshold: SMALL_THRESHOLD })), out, 'readFile gives the same output');
});

function containsTag(ds: DataSet, t: number): boolean {
  for (const e of ds) if (e.tag === t || (e.items ?? []).some((i) => containsTag(i, t))) return true;
  return false;
}

for (const [name, offset, tagNumber, topLevel] of [['test_files/MR_truncated.dcm', 1488, 0x7fe00010, true], ['test_files/rtplan_truncated.dcm', 2092, 0x300a012c, false]] as const) {
  test(`${name}: ${NOT_IDENTICAL[name]}`, { skip: skipUnless(name) }, async () => {
    const path = P(name);
    const input = readFileSync(path);
    const isTruncation = (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_TRUNCATED' && e.offset === offset && e.tag === tagNumber;
    assert.throws(() => parseBuffer(input), isTruncation);
    await assert.rejects(readFile(path), isTruncation);
    await assert.rejects(readFile(path, { bulkDataThreshold: SMALL_THRESHOLD }), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_TRUNCATED' && e.tag === tagNumber);

    const kept = parseBuffer(input, { truncated: 'keep' });
    assert.equal(kept.warnings.length, 1);
    assert.match(kept.warnings[0]!, /cut short/);
    assert.ok(containsTag(kept.dataSet, tagNumber), 'the partial value is kept');
    const out = assertIdempotent(kept, name);
    if (topLevel) same(out.subarray(0, offset), input.subarray(0, offset), 'everything before the cut value is as it was');
    // inside a sequence the enclosing defined lengths are corrected to what is there (and the cut value padded to even length)
    else assert.ok(out.length <= input.length + oddValues(kept.dataSet), `${out.length} > ${input.length}`);
    const fromFile = await readFile(path, { bulkDataThreshold: SMALL_THRESHOLD, truncated: 'keep' });
    assert.equal(fromFile.warnings.length, 1);
    same(encodeFile(fromFile), out, 'readFile with truncated: keep gives the same output');
  });
}

test(`test_files/no_meta.dcm: ${NOT_IDENTICAL['test_files/no_meta.dcm']}`, { skip: skipUnless('test_files/no_meta.dcm') }, async () => {
  const path = P('test_files/no_meta.dcm');
  const input = readFileSync(path);
  const notDicom = (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_NOT_DICOM' && e.offset === 0;
  assert.throws(() => parseBuffer(input), notDicom);
  await assert.rejects(readFile(path), notDicom);
  // Without the stray byte it is CT_small's data set, which reads and writes back.
  const rest = input.subarray(1);
  const file = parseBuffer(rest);
  assert.equal(file.dataSet.string(0x00100010), 'CompressedSamples^CT1');
  same(dataSetBytes(encodeFile(file)), rest, 'the data set after the stray byte');
  same(dataSetBytes(encodeFile(file)), dataSetBytes(readFileSync(P('test_files/CT_small.dcm'))), 'the same as CT_small.dcm');
});

test('no_meta.dcm is rejected by DCMTK as well', { skip: skipUnless('test_files/no_meta.dcm') ?? peer('dcmtk') }, () => {
  const r = spawnSync('dcmdump', [P('test_files/no_meta.dcm')], { encoding: 'utf8' });
  assert.match(r.stderr, /^E: /m);
});
