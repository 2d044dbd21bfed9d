/**
 * Transcoding checked by other implementations: a representative set of pydicom's uncompressed
 * test files is written by Conduit in each uncompressed transfer syntax (Explicit VR Little
 * Endian, Implicit VR Little Endian, Explicit VR Big Endian, Deflated Explicit VR Little Endian),
 * and then
 * - DCMTK's dcmdump reads each output with no warning or error the input did not already give;
 * - dcmdump prints the same elements and values for input and output (but for the transfer syntax,
 *   group lengths, and the VRs Implicit VR cannot carry);
 * - dicom3tools' dciodvfy finds no error in the output it did not find in the input;
 * - Conduit reads the output back to the same data set: written again in the input's transfer
 *   syntax the data set bytes are identical.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN,
  transferSyntax, UNCOMPRESSED_TRANSFER_SYNTAXES,
} from '../../src/data/transfer-syntax.js';
import { encodeDataSet } from '../../src/data/writer.js';
import { parseFileMeta } from '../../src/media/file-meta.js';
import { encodeFile, parseBuffer, readFile, writeFile, type DicomFile } from '../../src/media/part10.js';
import { peer, PYDICOM_DATA } from '../helpers/peers.js';

const FILES = [
  'test_files/CT_small.dcm', // explicit LE, private creators, a sequence
  'test_files/MR_small.dcm',
  'test_files/MR_small_implicit.dcm',
  'test_files/MR_small_bigendian.dcm',
  'test_files/ExplVR_BigEnd.dcm', // 8-bit OB pixel data in Big Endian
  'test_files/liver_1frame.dcm', // enhanced multi-frame, functional group sequences
  'test_files/image_dfl.dcm', // deflated
  'test_files/rtplan.dcm', // implicit, deep sequences
  'test_files/rtstruct.dcm', // implicit, no preamble and no meta
  'test_files/rtdose.dcm', // implicit, multi-frame
  'test_files/reportsi.dcm', // SR content tree
  'test_files/test-SR.dcm',
  'test_files/waveform_ecg.dcm', // waveform data (OW / OB), private elements
  'test_files/nested_priv_SQ.dcm', // private sequences in private sequences
  'charset_files/chrJapMulti.dcm', // ISO 2022 escapes, private UN elements
  'charset_files/chrSQEncoding.dcm', // character set inside a sequence
];

const TS_NAMES: Record<string, string> = {
  [EXPLICIT_VR_LITTLE_ENDIAN]: 'Explicit VR Little Endian',
  [IMPLICIT_VR_LITTLE_ENDIAN]: 'Implicit VR Little Endian',
  [EXPLICIT_VR_BIG_ENDIAN]: 'Explicit VR Big Endian',
  [DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN]: 'Deflated Explicit VR Little Endian',
};

const haveFiles = existsSync(join(PYDICOM_DATA, 'test_files/CT_small.dcm'));
const skipAll = haveFiles ? peer('pydicom') : 'pydicom test files are not installed (python3-pydicom)';
const skipDcmtk = skipAll ?? peer('dcmtk');
const skipDciodvfy = skipAll ?? peer('dicom3tools') ?? peer('dcmtk');

function run(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'latin1', maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const lines = (text: string) => text.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');

/**
 * dcmdump's view of the data set: one line per element or item as `indent(gggg,eeee) VR value`,
 * without the meta header, the transfer syntax line, group lengths, delimitation items, and the
 * "# length, VM name" comments (lengths change with the encoding). DCMTK prints '??' for an
 * element it cannot type from Implicit VR, where an explicit file says UN: both become UN.
 */
function dumpDataSet(path: string): string[] {
  const r = run('dcmdump', ['-q', '+uc', '+L', path]);
  assert.equal(r.status, 0, `dcmdump -q +uc +L ${path}: ${r.stderr}`);
  const all = lines(r.stdout);
  const start = all.indexOf('# Dicom-Data-Set');
  assert.ok(start >= 0, `no data set in the dump of ${path}`);
  return all.slice(start + 1)
    .filter((l) => !l.startsWith('# Used TransferSyntax'))
    .filter((l) => !/^\s*\([0-9a-f]{4},0000\)/.test(l))
    .filter((l) => !/\((fffe,e00d|fffe,e0dd)\)/.test(l))
    .map((l) => l.replace(/ +#.*$/, '').replace(/(undefined|explicit) length /, '').replace(/^(\s*\([0-9a-f]{4},[0-9a-f]{4}\)) \?\? /, '$1 UN '));
}

const LINE = /^(\s*)\(([0-9a-f]{4}),([0-9a-f]{4})\) (\w\w) ?(.*)$/;

/**
 * Lines that may differ after a trip through Implicit VR, which does not carry VRs: private
 * elements DCMTK's dictionary does not know, and Pixel Data or overlays, which Implicit VR reads
 * as OW (PS3.5 A.1) where an explicit file may have OB.
 */
function vrOnlyDifference(a: string, b: string): boolean {
  const ma = LINE.exec(a), mb = LINE.exec(b);
  if (!ma || !mb || ma[1] !== mb[1] || ma[2] !== mb[2] || ma[3] !== mb[3] || ma[4] === mb[4]) return false;
  const group = parseInt(ma[2]!, 16);
  const element = parseInt(ma[3]!, 16);
  if (group & 1) return true;
  const obOrOw = (vr: string) => vr === 'OB' || vr === 'OW';
  return (group === 0x7fe0 && element === 0x0010 || (group & 0xff00) === 0x6000 && element === 0x3000) && obOrOw(ma[4]!) && obOrOw(mb[4]!);
}

/** dcmdump's warnings and errors (stderr) for a file. */
function dcmdumpProblems(path: string): { status: number | null; problems: string[] } {
  const r = run('dcmdump', [path]);
  return { status: r.status, problems: lines(r.stderr) };
}

/** dciodvfy's error lines (it reports on stderr); a deflated file is inflated by DCMTK first, as dciodvfy cannot. */
function dciodvfyErrors(path: string, dir: string): Set<string> {
  let target = path;
  const head = parseFileMeta(readFileSync(path).subarray(0, 64 * 1024), false);
  if (transferSyntax(head.transferSyntaxUid).deflated) {
    target = join(dir, `${basename(path)}.inflated.dcm`);
    const c = run('dcmconv', ['+te', path, target]);
    assert.equal(c.status, 0, `dcmconv +te ${path}: ${c.stderr}`);
  }
  const r = run('dciodvfy', [target]);
  return new Set(lines(r.stderr + r.stdout).filter((l) => /\bError\b/.test(l)).map((l) => l.replace(/\s+/g, ' ')));
}

/** A Part 10 file's data set bytes (inflated if deflated). */
function dataSetBytesOf(bytes: Uint8Array): Uint8Array {
  const head = parseFileMeta(bytes, true);
  const body = bytes.subarray(head.dataSetOffset);
  return transferSyntax(head.transferSyntaxUid).deflated ? inflateRawSync(body) : body;
}

/** The data set's bytes as written in `tsUid` (inflated if deflated). */
function dataSetBytesIn(file: DicomFile, tsUid: string): Uint8Array {
  return dataSetBytesOf(encodeFile(file, { transferSyntaxUid: tsUid }));
}

function same(actual: Uint8Array, expected: Uint8Array, message: string): void {
  if (Buffer.compare(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength), Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength)) === 0) return;
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  assert.fail(`${message}: first difference at byte ${i} (lengths ${actual.length} and ${expected.length})`);
}

interface Output { ts: string; path: string }

/**
 * Writes every file in every uncompressed transfer syntax, streaming as an application would: read
 * with a small bulk data threshold, so most values are streamed from the input file (and swapped
 * on the way when the byte order changes).
 */
async function writeAll(dir: string): Promise<Map<string, Output[]>> {
  const out = new Map<string, Output[]>();
  for (const name of FILES) {
    const input = join(PYDICOM_DATA, name);
    const file = await readFile(input, { bulkDataThreshold: 64 });
    const list: Output[] = [];
    for (const ts of UNCOMPRESSED_TRANSFER_SYNTAXES) {
      const path = join(dir, `${basename(name)}.${ts}.dcm`);
      await writeFile(path, file, { transferSyntaxUid: ts });
      list.push({ ts, path });
    }
    out.set(name, list);
  }
  return out;
}

let dir: string | undefined;
let written: Map<string, Output[]> | undefined;
async function outputs(): Promise<Map<string, Output[]>> {
  if (!written) {
    dir = mkdtempSync(join(tmpdir(), 'conduit-transcode-'));
    written = await writeAll(dir);
  }
  return written;
}
process.on('exit', () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('every input is one of the files listed, uncompressed', { skip: skipAll }, async () => {
  for (const name of FILES) {
    const f = await readFile(join(PYDICOM_DATA, name));
    assert.ok(UNCOMPRESSED_TRANSFER_SYNTAXES.includes(f.transferSyntaxUid), `${name}: ${f.transferSyntaxUid}`);
  }
});

for (const name of FILES) {
  const input = join(PYDICOM_DATA, name);

  test(`${name}: Conduit reads each transcoded output back to the same data set`, { skip: skipAll }, async () => {
    const original = await readFile(input);
    const originalTs = original.transferSyntaxUid;
    const expected = dataSetBytesIn(original, originalTs);
    // Implicit VR carries no VRs, so a value's VR may change through it (OB Pixel Data reads as OW,
    // private elements as UN); Implicit VR Little Endian, which writes no VR and swaps nothing,
    // compares the values and the structure whatever the VRs.
    const canonical = (f: DicomFile) => encodeDataSet(f.dataSet, { explicitVR: false, littleEndian: true }, { recalculateGroupLengths: true });
    for (const { ts, path } of (await outputs()).get(name)!) {
      const back = await readFile(path, { bulkDataThreshold: 1024 });
      assert.deepEqual(back.warnings, [], `${TS_NAMES[ts]}: read without warnings`);
      assert.equal(back.transferSyntaxUid, ts);
      same(canonical(back), canonical(original), `${TS_NAMES[ts]}: values and structure`);
      if (ts !== IMPLICIT_VR_LITTLE_ENDIAN || originalTs === IMPLICIT_VR_LITTLE_ENDIAN) {
        same(dataSetBytesIn(back, originalTs), expected, `${TS_NAMES[ts]}: written back in ${TS_NAMES[originalTs]}, byte-identical`);
      }
    }
  });

  test(`${name}: streamed output (values from the file) equals the in-memory encoding`, { skip: skipAll }, async () => {
    const inMemory = parseBuffer(readFileSync(input));
    for (const { ts, path } of (await outputs()).get(name)!) {
      const expected = encodeFile(inMemory, { transferSyntaxUid: ts });
      const actual = readFileSync(path);
      if (transferSyntax(ts).deflated) same(dataSetBytesOf(actual), dataSetBytesOf(expected), `${TS_NAMES[ts]}: inflated data set`);
      else same(actual, expected, TS_NAMES[ts]!);
    }
  });

  test(`${name}: dcmdump reads every output without new warnings, with the same elements and values`, { skip: skipDcmtk }, async () => {
    const before = dcmdumpProblems(input);
    assert.equal(before.status, 0);
    const inputDump = dumpDataSet(input);
    const inputImplicit = (await readFile(input, { untilTag: 0 })).transferSyntaxUid === IMPLICIT_VR_LITTLE_ENDIAN;
    for (const { ts, path } of (await outputs()).get(name)!) {
      const after = dcmdumpProblems(path);
      assert.equal(after.status, 0, `${TS_NAMES[ts]}: dcmdump exit status`);
      const fresh = after.problems.filter((l) => !before.problems.includes(l));
      assert.deepEqual(fresh, [], `${TS_NAMES[ts]}: new dcmdump warnings or errors`);

      const outputDump = dumpDataSet(path);
      assert.equal(outputDump.length, inputDump.length, `${TS_NAMES[ts]}: number of dump lines`);
      const vrOnly: string[] = [];
      for (let i = 0; i < inputDump.length; i++) {
        const a = inputDump[i]!, b = outputDump[i]!;
        if (a === b) continue;
        // Only a trip through Implicit VR may lose VRs (either way: input or output implicit).
        const implicitInvolved = ts === IMPLICIT_VR_LITTLE_ENDIAN || inputImplicit;
        assert.ok(implicitInvolved && vrOnlyDifference(a, b), `${TS_NAMES[ts]}: line ${i + 1} differs:\n  input:  ${a.slice(0, 160)}\n  output: ${b.slice(0, 160)}`);
        vrOnly.push(a.slice(0, 20));
      }
      if (ts !== IMPLICIT_VR_LITTLE_ENDIAN && !inputImplicit) assert.deepEqual(vrOnly, [], `${TS_NAMES[ts]}: explicit VR to explicit VR keeps every VR`);
    }
  });

  test(`${name}: dciodvfy finds no error in any output that it did not find in the input`, { skip: skipDciodvfy }, async () => {
    const work = mkdtempSync(join(tmpdir(), 'conduit-dciodvfy-'));
    try {
      const before = dciodvfyErrors(input, work);
      for (const { ts, path } of (await outputs()).get(name)!) {
        const fresh = [...dciodvfyErrors(path, work)].filter((l) => !before.has(l));
        assert.deepEqual(fresh, [], `${TS_NAMES[ts]}: new dciodvfy errors`);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}

test('the comparison is not vacuous: dcmdump sees values, and a changed value is a difference', { skip: skipDcmtk }, async () => {
  const dump = dumpDataSet(join(PYDICOM_DATA, 'test_files/CT_small.dcm'));
  assert.ok(dump.some((l) => l === '(0010,0010) PN [CompressedSamples^CT1]'), 'patient name line');
  assert.ok(dump.some((l) => /^\(7fe0,0010\) OW /.test(l)), 'pixel data line');
  assert.ok(!vrOnlyDifference('(0010,0010) PN [A]', '(0010,0010) PN [B]'));
  assert.ok(!vrOnlyDifference('(0028,0010) US 128', '(0028,0010) SS 128'));
  assert.ok(vrOnlyDifference('(0009,1001) LO [X]', '(0009,1001) UN 58'));
  assert.ok(vrOnlyDifference('(7fe0,0010) OB 01\\02', '(7fe0,0010) OW 0201'));
});

test('the dciodvfy comparison is not vacuous: it finds errors, and reads deflated files through DCMTK', { skip: skipDciodvfy }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'conduit-dciodvfy-'));
  try {
    const errors = dciodvfyErrors(join(PYDICOM_DATA, 'test_files/ExplVR_BigEnd.dcm'), work);
    assert.ok([...errors].some((l) => /Value invalid for this VR/.test(l)), [...errors].join('\n'));
    const deflatedOutput = (await outputs()).get('test_files/image_dfl.dcm')!.find((o) => o.ts === DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)!;
    for (const path of [join(PYDICOM_DATA, 'test_files/image_dfl.dcm'), deflatedOutput.path]) {
      const found = [...dciodvfyErrors(path, work)];
      assert.ok(!found.some((l) => /read failed|Tag read failed/.test(l)), `${path}:\n${found.join('\n')}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
