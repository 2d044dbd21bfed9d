/**
 * Bad input never hangs or crashes the reader: real files with bytes flipped, cut short, with
 * garbage inserted or with a length field set huge (seeded, about 2,000 cases), and random bytes
 * (fast-check), go through parseBuffer, readFile and incremental feeding. Each read either
 * succeeds or throws a DicomError with a catalogued code and, for errors about bytes, an offset.
 * Any other exception (TypeError, RangeError, a zlib error, ...) fails. What we read we can write,
 * and what we write we read back the same. Then specific malformed inputs: a truncated file, a
 * wrong length, bad VR bytes, a missing meta.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { DicomError, type DicomErrorCode } from '../../../src/core/dicom-error.js';
import type { DataSet } from '../../../src/data/data-set.js';
import { DataSetParser, MAX_SEQUENCE_DEPTH, parseDataSet } from '../../../src/data/reader/data-set-parser.js';
import { transferSyntax } from '../../../src/data/transfer-syntax.js';
import { encodeDataSet, type Encoding } from '../../../src/data/writer.js';
import { parseFileMeta } from '../../../src/media/file-meta.js';
import { encodeFile, parseBuffer, readFile, type DicomFile } from '../../../src/media/part10.js';
import { peer, PYDICOM_DATA } from '../../helpers/peers.js';

const CORPUS = [
  'test_files/CT_small.dcm', // explicit LE, sequences, private elements
  'test_files/MR_small_implicit.dcm',
  'test_files/MR_small_bigendian.dcm',
  'test_files/rtplan.dcm', // implicit, deep sequences
  'test_files/UN_sequence.dcm', // UN of undefined length, encapsulated pixel data
  'test_files/JPEG2000.dcm', // encapsulated pixel data with an offset table
  'test_files/nested_priv_SQ.dcm',
  'test_files/dicomdirtests/DICOMDIR', // defined-length items and sequences
  'charset_files/chrSQEncoding.dcm',
  'test_files/image_dfl.dcm', // deflated
  'test_files/ExplVR_BigEndNoMeta.dcm', // bare data set
  'test_files/rtstruct.dcm', // bare implicit data set
];
const haveCorpus = existsSync(join(PYDICOM_DATA, CORPUS[0]!));
const skipCorpus = haveCorpus ? peer('pydicom') : 'pydicom test files are not installed (python3-pydicom)';

/** Codes a reader may throw; the ones in BYTE_CODES concern bytes and must say where. */
const READ_CODES = new Set<DicomErrorCode>([
  'ERR_DICOM_TRUNCATED', 'ERR_DICOM_BAD_LENGTH', 'ERR_DICOM_BAD_VR', 'ERR_DICOM_BAD_TAG', 'ERR_DICOM_BAD_ITEM',
  'ERR_DICOM_NOT_DICOM', 'ERR_DICOM_BAD_FILE_META', 'ERR_DICOM_BAD_VALUE',
]);
const BYTE_CODES = new Set<DicomErrorCode>(['ERR_DICOM_TRUNCATED', 'ERR_DICOM_BAD_LENGTH', 'ERR_DICOM_BAD_VR', 'ERR_DICOM_BAD_ITEM', 'ERR_DICOM_NOT_DICOM']);

/** mulberry32: a small seeded generator, so every run mutates the same way. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Outcome = { ok: true; value: DicomFile } | { ok: false; error: DicomError };

function describe(label: string, e: unknown): string {
  return `${label}: ${e instanceof Error ? `${e.constructor.name}: ${e.message}\n${e.stack}` : String(e)}`;
}

/** A DicomError with a catalogued code and, where it is about bytes, an offset in [0, limit]. */
function assertReadError(e: unknown, label: string, limit: number): asserts e is DicomError {
  if (!(e instanceof DicomError)) assert.fail(`not a DicomError: ${describe(label, e)}`);
  assert.ok(READ_CODES.has(e.code), `${label}: unexpected code ${e.code}: ${e.message}`);
  if (BYTE_CODES.has(e.code)) {
    assert.ok(Number.isInteger(e.offset) && e.offset! >= 0 && e.offset! <= limit, `${label}: ${e.code} offset ${e.offset} outside [0, ${limit}]: ${e.message}`);
  }
}

function attempt(fn: () => DicomFile, label: string, limit: number): Outcome {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    assertReadError(e, label, limit);
    return { ok: false, error: e };
  }
}

async function attemptAsync(fn: () => Promise<DicomFile>, label: string, limit: number): Promise<Outcome> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    assertReadError(e, label, limit);
    return { ok: false, error: e };
  }
}

const withoutMeta = (ds: DataSet): DataSet => {
  for (const e of ds.elements()) if (e.tag >>> 16 === 0x0002) ds.delete(e.tag);
  return ds;
};

function encodingOf(uid: string): Encoding {
  const ts = transferSyntax(uid);
  return { explicitVR: ts.explicitVR, littleEndian: ts.littleEndian };
}

/**
 * What we read we can write, and read back to the same data set (group 0002 elements found in a
 * damaged data set are left out of it: they belong to the meta).
 */
function assertWritable(file: DicomFile, label: string): void {
  let out: Uint8Array;
  try {
    out = encodeFile(file);
  } catch (e) {
    assertReadError(e, `${label}: encodeFile`, Infinity);
    return;
  }
  const first = file.dataSet.elements()[0];
  // Known limit: a Big Endian data set whose first element is in group 0200 starts with the bytes
  // 02 00, which a reader takes for more File Meta Information (group 0002 is little endian).
  if (!file.dataSet.littleEndian && first && first.tag >>> 16 === 0x0200) return;
  let again: DicomFile;
  try {
    again = parseBuffer(out);
  } catch (e) {
    assert.fail(`our output does not read back: ${describe(label, e)}`);
  }
  const enc = encodingOf(file.transferSyntaxUid);
  const a = encodeDataSet(withoutMeta(again.dataSet), enc);
  const b = encodeDataSet(withoutMeta(file.dataSet), enc);
  assert.ok(Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0, `${label}: read-write-read changed the data set`);
}

/** Feeds a data set in random chunks; the outcome must be the one of the whole-buffer parse. */
function assertIncrementalAgrees(body: Uint8Array, enc: Encoding, random: () => number, label: string): void {
  let whole: DataSet | DicomError;
  try {
    whole = parseDataSet(body, enc);
  } catch (e) {
    assertReadError(e, `${label} whole`, body.length);
    whole = e;
  }
  const parser = new DataSetParser(enc);
  let at = 0;
  let result: DataSet | DicomError;
  try {
    for (let guard = 0; ; guard++) {
      assert.ok(guard < body.length + 10_000, `${label}: the parser does not progress`);
      const step = parser.run();
      if (step.kind === 'done') break;
      assert.equal(step.kind, 'need');
      if (at >= body.length) {
        parser.end();
        continue;
      }
      // small chunks, but not so many that a large value is re-buffered thousands of times
      const n = 1 + Math.floor(random() * Math.max(97, body.length / 16));
      parser.feed(body.slice(at, at + n));
      at += n;
    }
    result = parser.root;
  } catch (e) {
    assertReadError(e, `${label} incremental`, body.length);
    result = e;
  }
  if (whole instanceof DicomError) {
    assert.ok(result instanceof DicomError, `${label}: whole parse failed (${whole.message}) but incremental succeeded`);
    assert.equal(result.code, whole.code, `${label}: ${result.message} vs ${whole.message}`);
    assert.equal(result.offset, whole.offset, `${label}: ${result.message} vs ${whole.message}`);
  } else {
    assert.ok(!(result instanceof DicomError), `${label}: incremental failed (${(result as DicomError).message}) but whole parse succeeded`);
    assert.ok(Buffer.compare(Buffer.from(encodeDataSet(result, enc)), Buffer.from(encodeDataSet(whole, enc))) === 0, `${label}: incremental and whole parses differ`);
  }
}

type Mutation = 'flip' | 'truncate' | 'insert' | 'huge length';
const MUTATIONS: readonly Mutation[] = ['flip', 'truncate', 'insert', 'huge length'];

function mutate(input: Uint8Array, kind: Mutation, random: () => number): { bytes: Uint8Array; what: string } {
  const at = Math.floor(random() * input.length);
  switch (kind) {
    case 'flip': {
      const b = input.slice();
      const n = 1 + Math.floor(random() * 8);
      const where: number[] = [];
      for (let i = 0; i < n; i++) {
        const p = Math.floor(random() * b.length);
        b[p] = Math.floor(random() * 256);
        where.push(p);
      }
      return { bytes: b, what: `bytes changed at ${where.join(',')}` };
    }
    case 'truncate':
      return { bytes: input.slice(0, at), what: `cut at ${at}` };
    case 'insert': {
      const garbage = new Uint8Array(1 + Math.floor(random() * 16)).map(() => Math.floor(random() * 256));
      const b = new Uint8Array(input.length + garbage.length);
      b.set(input.subarray(0, at));
      b.set(garbage, at);
      b.set(input.subarray(at), at + garbage.length);
      return { bytes: b, what: `${garbage.length} bytes inserted at ${at}` };
    }
    case 'huge length': {
      // a 16- or 32-bit length field somewhere made huge (or undefined)
      const b = input.slice();
      const p = at & ~1;
      const values = [0xffffffff, 0xfffffffe, 0x7fffffff, 0x80000000, 0xfffffff0, 0x0000fffe];
      const v = values[Math.floor(random() * values.length)]!;
      for (let i = 0; i < 4 && p + i < b.length; i++) b[p + i] = (v >>> (8 * i)) & 0xff;
      return { bytes: b, what: `0x${v.toString(16)} written at ${p}` };
    }
  }
}

let dir: string | undefined;
function tempPath(name: string): string {
  dir ??= mkdtempSync(join(tmpdir(), 'conduit-fuzz-'));
  return join(dir, name);
}
process.on('exit', () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Reads `bytes` every way; checks each way's outcome, and that they agree. */
async function checkEveryWay(bytes: Uint8Array, label: string, random: () => number): Promise<void> {
  const limit = bytes.length;
  const inMemory = attempt(() => parseBuffer(bytes), `${label} parseBuffer`, limit);
  const kept = attempt(() => parseBuffer(bytes, { truncated: 'keep' }), `${label} parseBuffer keep`, limit);
  const path = tempPath('case.dcm');
  writeFileSync(path, bytes);
  const fromFile = await attemptAsync(() => readFile(path, { bulkDataThreshold: 64 }), `${label} readFile`, limit);
  // (a lenient read of what the strict read accepts is the same read)
  const fromFileKept = fromFile.ok ? fromFile : await attemptAsync(() => readFile(path, { bulkDataThreshold: 64, truncated: 'keep' }), `${label} readFile keep`, limit);

  let deflated = false;
  try {
    deflated = transferSyntax(parseFileMeta(bytes, true).transferSyntaxUid).deflated;
  } catch {
    // the meta itself is damaged: the reads above have said how
  }
  // A file reads the same from memory and from disk (a deflated file's inflated offsets aside).
  assert.equal(fromFile.ok, inMemory.ok, `${label}: readFile ${fromFile.ok ? 'succeeded' : (fromFile as { error: Error }).error.message} but parseBuffer ${inMemory.ok ? 'succeeded' : (inMemory as { error: Error }).error.message}`);
  if (!inMemory.ok && !fromFile.ok && !deflated) assert.equal(fromFile.error.code, inMemory.error.code, `${label}: ${fromFile.error.message} vs ${inMemory.error.message}`);
  if (inMemory.ok) assert.ok(kept.ok, `${label}: truncated: 'keep' fails where the strict read succeeds`);
  if (!deflated) assert.equal(fromFileKept.ok, kept.ok, `${label}: readFile and parseBuffer with truncated: 'keep' disagree`);

  for (const o of new Set([inMemory, kept, fromFile, fromFileKept])) if (o.ok) assertWritable(o.value, label);

  // incremental feeding of the data set (inflated when deflated), in the file's encoding
  if (inMemory.ok || !(inMemory.error.code === 'ERR_DICOM_NOT_DICOM' || inMemory.error.code === 'ERR_DICOM_BAD_FILE_META')) {
    let head;
    try {
      head = parseFileMeta(bytes, true);
    } catch {
      return;
    }
    let body = bytes.subarray(head.dataSetOffset);
    if (transferSyntax(head.transferSyntaxUid).deflated) {
      try {
        body = inflateRawSync(body);
      } catch {
        return;
      }
    }
    assertIncrementalAgrees(body, encodingOf(head.transferSyntaxUid), random, label);
  }
}

const CASES_PER_MUTATION = 500; // x 4 mutations = 2,000 cases

test(`mutated real files (${CASES_PER_MUTATION * MUTATIONS.length} cases): DicomError or success, every way of reading`, { skip: skipCorpus, timeout: 120_000 }, async () => {
  const files = CORPUS.map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(PYDICOM_DATA, name))) }));
  const random = prng(0xd1c0);
  const chunking = prng(0xc4a2);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < CASES_PER_MUTATION; i++) {
    for (const kind of MUTATIONS) {
      const { name, bytes } = files[(i * MUTATIONS.length + MUTATIONS.indexOf(kind)) % files.length]!;
      const { bytes: mutated, what } = mutate(bytes, kind, random);
      const label = `case ${i} ${name} ${what}`;
      const started = Date.now();
      await checkEveryWay(mutated, label, chunking);
      assert.ok(Date.now() - started < 5_000, `${label}: took ${Date.now() - started} ms`);
      let key = 'ok';
      try {
        parseBuffer(mutated);
      } catch (e) {
        key = (e as DicomError).code;
      }
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
  }
  // The mutations reach the reader's checks, not only its happy path.
  for (const code of ['ok', 'ERR_DICOM_TRUNCATED', 'ERR_DICOM_BAD_VR', 'ERR_DICOM_BAD_ITEM', 'ERR_DICOM_BAD_LENGTH']) {
    assert.ok((outcomes.get(code) ?? 0) > 0, `no case gave ${code}: ${JSON.stringify([...outcomes])}`);
  }
});

test('random bytes, bare or after a valid preamble and meta, through every way of reading', { skip: skipCorpus, timeout: 120_000 }, async () => {
  const ct = new Uint8Array(readFileSync(join(PYDICOM_DATA, 'test_files/CT_small.dcm')));
  const metaEnd = parseFileMeta(ct, true).dataSetOffset;
  const random = prng(7);
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 600 }),
        fc.uint8Array({ maxLength: 600 }).map((b) => concatBytes(ct.subarray(0, metaEnd), b)),
        // a plausible start: a real first element, then noise
        fc.uint8Array({ maxLength: 600 }).map((b) => concatBytes(ct.subarray(0, metaEnd + 18), b)),
      ),
      async (bytes) => {
        await checkEveryWay(bytes, `${bytes.length} random bytes`, random);
      },
    ),
    { numRuns: 300, seed: 20240611 },
  );
});

test('random bytes as a data set in each encoding: whole and incremental parses agree', () => {
  const random = prng(11);
  for (const enc of [{ explicitVR: true, littleEndian: true }, { explicitVR: false, littleEndian: true }, { explicitVR: true, littleEndian: false }]) {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        assertIncrementalAgrees(bytes, enc, random, `${bytes.length} bytes`);
      }),
      { numRuns: 500, seed: 99 },
    );
  }
});

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

// ---- specific malformed inputs ----

/** Explicit VR Little Endian element bytes. */
function element(group: number, elem: number, vr: string, value: Uint8Array, length = value.length): Uint8Array {
  const long = ['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV'].includes(vr);
  const h = Buffer.alloc(long ? 12 : 8);
  h.writeUInt16LE(group, 0);
  h.writeUInt16LE(elem, 2);
  h.write(vr, 4, 'latin1');
  if (long) h.writeUInt32LE(length >>> 0, 8);
  else h.writeUInt16LE(length, 6);
  return concatBytes(h, value);
}
const text = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const LE: Encoding = { explicitVR: true, littleEndian: true };

function file(dataSet: Uint8Array): Uint8Array {
  const ts = text('1.2.840.10008.1.2.1\0');
  const metaBody = concatBytes(element(0x0002, 0x0001, 'OB', new Uint8Array([0, 1])), element(0x0002, 0x0010, 'UI', ts));
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(metaBody.length);
  return concatBytes(concatBytes(new Uint8Array(128), text('DICM')), concatBytes(concatBytes(element(0x0002, 0x0000, 'UL', groupLength), metaBody), dataSet));
}

test('a truncated file: the error names the offset and the tag of the element cut', async () => {
  const dataSet = concatBytes(element(0x0010, 0x0010, 'PN', text('Doe^Jane')), element(0x7fe0, 0x0010, 'OW', new Uint8Array(1000)));
  const whole = file(dataSet);
  const pixelAt = whole.length - 1000 - 12;
  const cut = whole.subarray(0, whole.length - 100);
  const isCut = (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_TRUNCATED' && e.tag === 0x7fe00010 && e.offset === pixelAt
    && /\(7FE0,0010\)/.test(e.message) && new RegExp(`offset ${pixelAt}`).test(e.message) && /value length 1000 exceeds the 900 bytes remaining/.test(e.message);
  assert.throws(() => parseBuffer(cut), isCut);
  const path = tempPath('cut.dcm');
  writeFileSync(path, cut);
  await assert.rejects(readFile(path), isCut);
  // above the bulk threshold the value is not read, and the error names the value's offset
  await assert.rejects(readFile(path, { bulkDataThreshold: 100 }), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_TRUNCATED' && e.tag === 0x7fe00010 && e.offset === pixelAt + 12);

  const kept = parseBuffer(cut, { truncated: 'keep' });
  assert.equal(kept.dataSet.get(0x7fe00010)!.valueLength, 900);
  assert.match(kept.warnings[0]!, /\(7FE0,0010\) \(1000 bytes\) cut short to 900/);
  const keptFromFile = await readFile(path, { bulkDataThreshold: 100, truncated: 'keep' });
  assert.equal(keptFromFile.dataSet.get(0x7fe00010)!.valueLength, 900);
  assert.equal(keptFromFile.warnings.length, 1);

  // cut inside a header and inside a sequence
  const inHeader = whole.subarray(0, pixelAt + 5);
  assert.throws(() => parseBuffer(inHeader), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_TRUNCATED' && e.offset === pixelAt);
  const sq = concatBytes(element(0x0008, 0x1115, 'SQ', new Uint8Array(0), 0xffffffff), new Uint8Array([0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]));
  const inSequence = file(concatBytes(sq, element(0x0020, 0x000e, 'UI', text('1.2.3\0'))));
  assert.throws(() => parseBuffer(inSequence), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_TRUNCATED' && e.tag === 0x00081115 && e.offset === inSequence.length);
});

test('a wrong length: a value running past its item or sequence is ERR_DICOM_BAD_LENGTH; huge lengths are never a RangeError', async () => {
  // item of defined length 8 holding an element of 8 + 6 bytes
  const item = concatBytes(new Uint8Array([0xfe, 0xff, 0x00, 0xe0, 8, 0, 0, 0]), element(0x0020, 0x000e, 'UI', text('1.2.3\0')));
  const sq = concatBytes(element(0x0008, 0x1115, 'SQ', new Uint8Array(0), item.length), item);
  const bytes = file(sq);
  const itemValueAt = bytes.length - 14;
  assert.throws(() => parseBuffer(bytes), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_BAD_LENGTH' && e.tag === 0x0020000e && e.offset === itemValueAt);
  const path = tempPath('wrong-length.dcm');
  writeFileSync(path, bytes);
  await assert.rejects(readFile(path), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_BAD_LENGTH');

  for (const huge of [0xfffffffe, 0x7fffffff, 0x80000000, 0xfffffff0]) {
    const b = file(element(0x0009, 0x1010, 'OB', new Uint8Array(16), huge));
    assert.throws(() => parseBuffer(b), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_TRUNCATED' && e.tag === 0x00091010, `length 0x${huge.toString(16)}`);
    writeFileSync(path, b);
    await assert.rejects(readFile(path), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_TRUNCATED' && e.tag === 0x00091010);
    await assert.rejects(readFile(path, { bulkDataThreshold: 0 }), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_TRUNCATED' && e.tag === 0x00091010);
    const sqHuge = file(element(0x0008, 0x1115, 'SQ', new Uint8Array(16), huge));
    assert.throws(() => parseBuffer(sqHuge), (e: unknown) => e instanceof DicomError && (e.code === 'ERR_DICOM_TRUNCATED' || e.code === 'ERR_DICOM_BAD_ITEM'));
  }
  // undefined length where the VR does not allow it
  assert.throws(() => parseBuffer(file(element(0x0010, 0x0010, 'OB', new Uint8Array(8), 0xffffffff))), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_BAD_LENGTH' && e.tag === 0x00100010);
});

test('bad VR bytes: ERR_DICOM_BAD_VR at the VR; unknown upper-case VRs are read as UN (PS3.5 §6.2)', () => {
  const good = element(0x0010, 0x0010, 'PN', text('Doe^Jane'));
  const bad = element(0x0010, 0x0020, 'LO', text('12345678'));
  bad[4] = 0x00;
  bad[5] = 0x01;
  const bytes = file(concatBytes(good, bad));
  const at = bytes.length - bad.length;
  assert.throws(() => parseBuffer(bytes), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_BAD_VR' && e.tag === 0x00100020 && e.offset === at + 4 && /0x0001/.test(e.message));
  // "ZZ" is no VR, but letters: a newer VR this reader does not know, with a long header (PS3.5 §6.2)
  const zz = Buffer.from(element(0x0009, 0x1010, 'OB', text('abcd')));
  zz.write('ZZ', 4, 'latin1');
  const ds = parseBuffer(file(zz)).dataSet;
  assert.equal(ds.get(0x00091010)!.vr, 'UN');
  assert.deepEqual([...ds.bytes(0x00091010)!], [...text('abcd')]);
});

test("pydicom's badVR.dcm (values that break their VR's rules) reads, keeps the values and writes back identically", { skip: skipCorpus }, () => {
  const input = readFileSync(join(PYDICOM_DATA, 'test_files/badVR.dcm'));
  const f = parseBuffer(input);
  assert.deepEqual(f.warnings, []);
  assert.equal(f.dataSet.get(0x00280008)!.vr, 'IS');
  assert.equal(f.dataSet.string(0x00280008), '1A', 'Number of Frames "1A" is kept as it is');
  assert.ok(Buffer.compare(Buffer.from(encodeFile(f)), input) === 0);
});

test('missing meta: a bare data set, "DICM" with no meta, and a meta with no transfer syntax are read', () => {
  const dataSet = concatBytes(element(0x0008, 0x0060, 'CS', text('CT')), element(0x0010, 0x0010, 'PN', text('Doe^Jane')));
  const bare = parseBuffer(dataSet);
  assert.equal(bare.preamble, null);
  assert.equal(bare.meta.size, 0);
  assert.equal(bare.transferSyntaxUid, '1.2.840.10008.1.2.1');
  assert.equal(bare.dataSet.string(0x00100010), 'Doe^Jane');

  const noMeta = parseBuffer(concatBytes(concatBytes(new Uint8Array(128), text('DICM')), dataSet));
  assert.ok(noMeta.preamble);
  assert.equal(noMeta.meta.size, 0);
  assert.equal(noMeta.dataSet.string(0x00080060), 'CT');

  const metaWithoutTs = concatBytes(concatBytes(new Uint8Array(128), text('DICM')), concatBytes(element(0x0002, 0x0001, 'OB', new Uint8Array([0, 1])), dataSet));
  const f = parseBuffer(metaWithoutTs);
  assert.equal(f.meta.size, 1);
  assert.equal(f.transferSyntaxUid, '1.2.840.10008.1.2.1');
  assert.equal(f.dataSet.string(0x00100010), 'Doe^Jane');
  // written back, the meta is complete
  const again = parseBuffer(encodeFile(f));
  assert.equal(again.meta.string(0x00020010), '1.2.840.10008.1.2.1');

  // and bytes that are no data set at all are not DICOM
  assert.throws(() => parseBuffer(text('%PDF-1.7 this is not DICOM at all, no no no')), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_NOT_DICOM' && e.offset === 0);
});

test('a deflated file cut short or corrupt is a DicomError, from memory and from disk', { skip: skipCorpus }, async () => {
  const input = new Uint8Array(readFileSync(join(PYDICOM_DATA, 'test_files/image_dfl.dcm')));
  const metaEnd = parseFileMeta(input, true).dataSetOffset;
  const path = tempPath('deflated.dcm');
  const cut = input.subarray(0, metaEnd + 200);
  assert.throws(() => parseBuffer(cut), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_TRUNCATED' && e.offset === cut.length);
  writeFileSync(path, cut);
  await assert.rejects(readFile(path), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_TRUNCATED' && e.offset === cut.length);
  const kept = parseBuffer(cut, { truncated: 'keep' });
  assert.ok(kept.warnings.some((w) => /deflated data set ends/.test(w)));
  assert.ok(kept.dataSet.size > 0);

  const corrupt = input.slice();
  for (let i = metaEnd + 10; i < metaEnd + 30; i++) corrupt[i] = 0xff;
  assert.throws(() => parseBuffer(corrupt), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_BAD_VALUE' && e.offset === metaEnd);
  writeFileSync(path, corrupt);
  await assert.rejects(readFile(path), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_BAD_VALUE');

  // an empty deflated data set (2 bytes of deflate) is a valid file
  const empty = parseBuffer(input);
  for (const e of empty.dataSet.elements()) empty.dataSet.delete(e.tag);
  const out = encodeFile(empty);
  assert.equal(out.length - metaEnd, 2);
  assert.equal(parseBuffer(out).dataSet.size, 0);
});

test(`sequences nested deeper than ${MAX_SEQUENCE_DEPTH} are refused, not a stack overflow later`, () => {
  const level = concatBytes(element(0x0008, 0x1115, 'SQ', new Uint8Array(0), 0xffffffff), new Uint8Array([0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]));
  const close = new Uint8Array([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0, 0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
  const nested = (depth: number) => {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < depth; i++) parts.push(level);
    for (let i = 0; i < depth; i++) parts.push(close);
    return parts.reduce(concatBytes, new Uint8Array(0));
  };
  const ok = parseDataSet(nested(MAX_SEQUENCE_DEPTH), LE);
  assert.equal(encodeDataSet(ok, LE).length, nested(MAX_SEQUENCE_DEPTH).length);
  assert.throws(() => parseDataSet(nested(MAX_SEQUENCE_DEPTH + 1), LE), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_BAD_ITEM' && e.tag === 0x00081115);
  // 100,000 levels in 2 MB, as an attacker would send, with truncated: 'keep'
  const deep: Uint8Array[] = [];
  for (let i = 0; i < 100_000; i++) deep.push(level);
  const bytes = Buffer.concat(deep);
  assert.throws(() => parseDataSet(bytes, { ...LE, truncated: 'keep' }), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_BAD_ITEM');
});
