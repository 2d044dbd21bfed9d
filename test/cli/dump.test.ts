/**
 * `conduit dump` run as a child process on pydicom's test files, as a user runs it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { peer, PYDICOM_DATA } from '../helpers/peers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin/conduit');
const FILES = join(PYDICOM_DATA, 'test_files');
const CT = join(FILES, 'CT_small.dcm');
const noPydicomFiles = existsSync(CT) ? peer('pydicom') : 'pydicom test files are not installed';

function conduit(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-cli-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('--version prints the package version', () => {
  const r = conduit('--version');
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim(), version);
});

test('serve refuses a bad setting with a message naming it, before starting anything', () => {
  const r = conduit('serve', '--duplicates', 'sometimes', '--dimse-port', '0', '--data', join(tmpdir(), 'conduit-never-created'));
  assert.equal(r.status, 1, 'a setting that cannot be used exits as a usage error does (docs/errors.md, "Exit statuses")');
  assert.match(r.stderr, /duplicatePolicy: "sometimes" is not keep, overwrite or reject/);
  const usage = conduit('serve', '--no-such-option');
  assert.equal(usage.status, r.status, 'a usage error and a bad setting: the same status');
  assert.match(usage.stderr, /unknown option '--no-such-option'\n\(run conduit serve --help for usage\)/);
  const missing = conduit('echo');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /missing required argument 'host'\n\(run conduit echo --help for usage\)/, 'a subcommand says where its usage is');
  assert.match(conduit('media', 'import').stderr, /\(run conduit media import --help for usage\)/);
});

test('dump of CT_small.dcm: meta, transfer syntax, values, private creators, sequences', { skip: noPydicomFiles }, () => {
  const r = conduit('dump', CT);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const has = (re: RegExp) => assert.ok(lines.some((l) => re.test(l)), `no line matching ${re}`);
  has(/^\(0002,0010\) UI \[1\.2\.840\.10008\.1\.2\.1\] +# +20, 1 TransferSyntaxUID/);
  has(/^\(0010,0010\) PN \[CompressedSamples\^CT1\] +# +22, 1 PatientName$/);
  has(/^\(0008,0008\) CS \[ORIGINAL\\PRIMARY\\AXIAL\] +# +22, 3 ImageType$/);
  has(/^\(0028,0010\) US 128 +# +2, 1 Rows$/);
  has(/^\(0009,1001\) LO \[GE_GENESIS_FF\] +# +14, 1 Full fidelity \(GEMS_IDEN_01\)$/);
  // Other Patient IDs Sequence: two explicit-length items, their elements indented.
  const sq = lines.findIndex((l) => l.startsWith('(0010,1002) SQ'));
  assert.ok(sq >= 0, 'no (0010,1002) line');
  assert.match(lines[sq]!, /\(Sequence with explicit length #=2\) +# +72, 1 OtherPatientIDsSequence$/);
  assert.match(lines[sq + 1]!, /^ {2}\(FFFE,E000\) na \(Item with explicit length #=2\) +# +28, 1 Item$/);
  assert.match(lines[sq + 2]!, /^ {4}\(0010,0020\) LO \[ABCD1234\]/);
  assert.ok(r.stdout.indexOf('# File Meta Information') < r.stdout.indexOf('# Data Set'));
});

test('--no-meta leaves the File Meta Information out; --max-length cuts values', { skip: noPydicomFiles }, () => {
  const r = conduit('dump', '--no-meta', '--max-length', '8', CT);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!r.stdout.includes('(0002,0010)'));
  assert.match(r.stdout, /^\(0008,0018\) UI \[1\.3\.6\.1\.\.\.\.\] /m);
});

test('values above the bulk threshold are described, not printed', { skip: noPydicomFiles }, () => {
  // Waveform Data of 240000 bytes inside the Waveform Sequence.
  const r = conduit('dump', join(FILES, 'waveform_ecg.dcm'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ {4}\(5400,1010\) OW \(not loaded: 240000 bytes at offset \d+\) +# 240000, 1 WaveformData$/m);
});

test('encapsulated pixel data: offset table and fragments with their lengths', { skip: noPydicomFiles }, () => {
  const r = conduit('dump', join(FILES, 'JPEG2000.dcm'));
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const px = lines.findIndex((l) => l.startsWith('(7FE0,0010) OB (PixelSequence #=2)'));
  assert.ok(px >= 0, r.stdout);
  assert.match(lines[px + 1]!, /^ {2}\(FFFE,E000\) pi \(no value available\) +# +0, 0 Basic Offset Table$/);
  assert.match(lines[px + 2]!, /^ {2}\(FFFE,E000\) pi ff\\4f\\ff\\51\\.*# 250, 1 Fragment 1$/);
  assert.match(lines[px + 3]!, /^\(FFFE,E0DD\) na \(SequenceDelimitationItem\)/);
});

test('--json prints the JSON model of one file', { skip: noPydicomFiles }, () => {
  const r = conduit('dump', '--json', CT);
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout) as Record<string, { vr: string; Value?: unknown[] }>;
  assert.equal(json['00100010']?.vr, 'PN');
  assert.deepEqual(json['00100010']?.Value, [{ Alphabetic: 'CompressedSamples^CT1' }]);
  assert.equal(json['00020010'], undefined, 'the JSON model is of the data set, without the File Meta Information');
});

test('--json: a value left in the file becomes a BulkDataURI naming its bytes', { skip: noPydicomFiles }, () => {
  const path = join(FILES, 'J2K_pixelrep_mismatch.dcm');
  const r = conduit('dump', '--json', path);
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout) as Record<string, { vr: string; BulkDataURI?: string }>;
  const uri = json['7FE00010']?.BulkDataURI;
  assert.ok(uri, r.stdout.slice(-500));
  const url = new URL(uri);
  assert.equal(fileURLToPath(url), path);
  const offset = Number(url.searchParams.get('offset'));
  const length = Number(url.searchParams.get('length'));
  // The Value Field of the encapsulated pixel data: it starts with an item and the Sequence Delimitation Item follows it.
  const bytes = readFileSync(path);
  assert.equal(bytes.readUInt32LE(offset), 0xe000fffe);
  assert.equal(bytes.readUInt32LE(offset + length), 0xe0ddfffe);
});

test('--xml prints the Native DICOM Model of one file', { skip: noPydicomFiles }, () => {
  const r = conduit('dump', '--xml', CT);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^<\?xml version="1\.[01]" encoding="UTF-8"\?>\n<NativeDicomModel xmlns="http:\/\/dicom\.nema\.org\/PS3\.19\/models\/NativeDICOM"/);
  assert.match(r.stdout, /<DicomAttribute [^>]*tag="00100010"[^>]*vr="PN"/);
  assert.match(r.stdout, /<FamilyName>CompressedSamples<\/FamilyName>/);
  assert.match(r.stdout, /<\/NativeDicomModel>\s*$/);
});

test('--json and --xml refuse several files', { skip: noPydicomFiles }, () => {
  for (const flag of ['--json', '--xml']) {
    const r = conduit('dump', flag, CT, CT);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /one file/);
    assert.equal(r.stdout, '');
  }
});

test('a missing file: non-zero exit and a message naming it', () => {
  const r = conduit('dump', '/nonexistent/x.dcm');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /\/nonexistent\/x\.dcm: no such file/);
});

test('a text file is not DICOM: non-zero exit and a message saying why', () => {
  withTempDir((dir) => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'These are not the bytes you are looking for.\n'.repeat(20));
    const r = conduit('dump', path);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /notes\.txt: .*\[ERR_DICOM_[A-Z_]+\]/);
    assert.equal(r.stdout, '');
  });
});

test('a truncated file: non-zero exit, the message gives the offset and tag', { skip: noPydicomFiles }, () => {
  withTempDir((dir) => {
    const path = join(dir, 'cut.dcm');
    // Cut inside Pixel Data's value (CT_small's pixel data starts near byte 6400).
    writeFileSync(path, readFileSync(CT).subarray(0, 20000));
    const r = conduit('dump', path);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cut\.dcm: .*tag \(7FE0,0010\).*offset \d+.*\[ERR_DICOM_TRUNCATED\]/);
  });
});

test('a file cut short by its maker (MR_truncated.dcm) is reported with tag and offset', { skip: noPydicomFiles }, () => {
  const r = conduit('dump', join(FILES, 'MR_truncated.dcm'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /MR_truncated\.dcm: .*tag \(7FE0,0010\).*offset \d+.*\[ERR_DICOM_TRUNCATED\]/);
});

test('a 2 GiB file dumps in bounded memory: its pixel data stays in the file', { skip: noPydicomFiles }, () => {
  withTempDir((dir) => {
    // CT_small's elements before Pixel Data, then a 2 GiB OW Pixel Data left as a hole (sparse file).
    const ct = readFileSync(CT);
    const at = ct.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57]));
    const size = 2 ** 31;
    const header = Buffer.alloc(12);
    ct.copy(header, 0, at, at + 8);
    header.writeUInt32LE(size, 8);
    const path = join(dir, 'big.dcm');
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, ct.subarray(0, at));
      writeSync(fd, header);
      ftruncateSync(fd, at + 12 + size);
    } finally {
      closeSync(fd);
    }
    const main = join(ROOT, 'dist/src/cli/main.js');
    const script = `const { main } = await import(${JSON.stringify(main)});
await main(['node', 'conduit', 'dump', ${JSON.stringify(path)}]);
process.stderr.write('maxRSS=' + process.resourceUsage().maxRSS + '\\n');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^\\(7FE0,0010\\) OW \\(not loaded: ${size} bytes at offset ${at + 12}\\) +# ${size}, 1 PixelData$`, 'm'));
    const maxRssKiB = Number(/maxRSS=(\d+)/.exec(r.stderr)?.[1]);
    assert.ok(maxRssKiB < 256 * 1024, `dump used ${maxRssKiB} KiB`);
  });
});

test('several files: a bad one is reported, the others still dumped, exit 1 at the end', { skip: noPydicomFiles }, () => {
  const r = conduit('dump', '/nonexistent/a.dcm', CT, join(FILES, 'MR_small.dcm'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /a\.dcm: no such file/);
  assert.match(r.stdout, /# File: .*CT_small\.dcm/);
  assert.match(r.stdout, /# File: .*MR_small\.dcm/);
});

// ---- against DCMTK: the same elements, in the same order, at every depth ----

/** Tags of a dump's element lines with their depth, leaving out items and delimiters (dcmdump adds some for re-encoding). */
function elementTags(dump: string, indentOf: (line: string) => number): string[] {
  const out: string[] = [];
  for (const l of dump.split('\n')) {
    const m = /^(\s*)\(([0-9a-fA-F]{4}),([0-9a-fA-F]{4})\)/.exec(l);
    if (!m || m[2]!.toLowerCase() === 'fffe') continue;
    out.push(`${indentOf(l)}:${m[2]}${m[3]}`.toUpperCase());
  }
  return out;
}
const depth = (l: string) => (l.length - l.trimStart().length) / 2;

const COMPARED = [
  'CT_small.dcm', 'MR_small.dcm', 'MR_small_implicit.dcm', 'MR_small_bigendian.dcm', 'reportsi.dcm', 'rtplan.dcm',
  'JPEG2000.dcm', 'image_dfl.dcm', 'waveform_ecg.dcm', 'priv_SQ.dcm', 'nested_priv_SQ.dcm', 'UN_sequence.dcm',
  'test-SR.dcm', 'ExplVR_BigEndNoMeta.dcm', 'rtdose_rle.dcm',
];

for (const name of COMPARED) {
  test(`dump of ${name} lists the elements dcmdump lists`, { skip: noPydicomFiles ?? peer('dcmtk') }, () => {
    const path = join(FILES, name);
    const ours = conduit('dump', path);
    assert.equal(ours.status, 0, ours.stderr);
    const theirs = spawnSync('dcmdump', ['-q', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(theirs.status, 0, theirs.stderr);
    assert.deepEqual(elementTags(ours.stdout, depth), elementTags(theirs.stdout, depth));
  });
}
