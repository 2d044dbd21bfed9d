/**
 * Acceptance test of the JSON model (PS3.18 Annex F) against pydicom: every .dcm file that
 * python3-pydicom ships as test data is read with our Part 10 reader, and its JSON model must equal
 * what pydicom's Dataset.to_json_dict() makes of it, element by element. The few differences that
 * are intended are listed below, each with its reason; anything else fails.
 *
 * The same files also go through JSON and XML round trips (data set -> model -> data set -> model).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBuffer, readFile, type DicomFile } from '../../src/media/part10.js';
import { toDicomJson, toDicomJsonAsync, toDicomJsonText, type DicomJsonAttribute, type DicomJsonDataSet } from '../../src/data/json-model.js';
import { fromDicomJsonSync } from '../../src/data/json-model-read.js';
import { fromNativeDicomXmlSync, toNativeDicomXml } from '../../src/data/xml-model.js';
import { swapBytes } from '../../src/data/values.js';
import { DicomError } from '../../src/core/dicom-error.js';
import type { DataSet } from '../../src/data/data-set.js';
import { tagHex } from '../../src/data/tag.js';
import { parseDataSet } from '../../src/data/reader/data-set-parser.js';
import { binaryValueSize, isStringVR, type VR } from '../../src/data/vr.js';
import { peer, PYDICOM_DATA, PYTHON } from '../helpers/peers.js';

const ORACLE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test/helpers/pydicom-json.py');

function dcmFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) dcmFiles(p, out);
    else if (name.endsWith('.dcm')) out.push(p);
  }
  return out;
}

const FILES = (() => {
  try {
    return [...dcmFiles(join(PYDICOM_DATA, 'test_files')), ...dcmFiles(join(PYDICOM_DATA, 'charset_files'))];
  } catch {
    return [];
  }
})();
const name = (file: string): string => relative(PYDICOM_DATA, file);

// ---- what pydicom says ----

interface OracleEntry {
  json?: Record<string, unknown>;
  forced?: boolean;
  littleEndian?: boolean;
  error?: string;
}
let oracle: Record<string, OracleEntry> = {};
const skipPydicom = peer('pydicom');

before(() => {
  if (skipPydicom || FILES.length === 0) return;
  const r = spawnSync(PYTHON, [ORACLE, ...FILES], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`pydicom oracle failed: ${r.stderr}`);
  oracle = JSON.parse(r.stdout) as Record<string, OracleEntry>;
});

/**
 * Files pydicom cannot read, with the reason. (None today: pydicom reads every file it ships,
 * the ones without File Meta Information with force=True; the oracle reports those as `forced`.)
 */
const PYDICOM_CANNOT_READ: Record<string, string> = {};

/**
 * Elements pydicom cannot convert to JSON (its to_json_dict raises), with what we write instead.
 */
const PYDICOM_ELEMENT_ERRORS: Array<{ file: string; tag: string; why: string; ours: DicomJsonAttribute }> = [
  {
    file: 'test_files/badVR.dcm',
    tag: '00280008',
    why: 'Number of Frames is IS "1A", no integer; pydicom raises ValueError. PS3.18 F.2.3 allows a string for IS, so we keep the text.',
    ours: { vr: 'IS', Value: ['1A'] },
  },
];

/**
 * The intended differences. Each is applied as a normalisation of one or both sides before the
 * comparison, and only where it applies.
 */
const DIFFERENCES = {
  groupLength: 'pydicom writes Group Length (gggg,0000) attributes; PS3.18 F.2.2 says they shall not be included. Dropped from pydicom\'s side.',
  emptyStringValue: 'pydicom writes an empty value within a multi-valued string attribute as ""; PS3.18 F.2.5 says null. "" is read as null on pydicom\'s side.',
  emptySequence: 'pydicom writes "Value": [] for a sequence of zero items; PS3.18 F.2.5 says an empty attribute has no Value. An empty Value array is dropped on pydicom\'s side.',
  valuePadding: 'pydicom strips padding only at the end of the whole value, so in "DERIVED \\PRIMARY" the first value keeps its space; PS3.5 §6.2 makes leading and trailing spaces insignificant in each value of these VRs, and we strip them per value. pydicom\'s values of multi-valued strings are trimmed the same way.',
  bigEndianInlineBinary: 'pydicom writes the InlineBinary of a big endian data set in big endian (its raw bytes); we write little endian, which PS3.18 F.2.7 (PS3.5 byte ordering) and WADO-RS bulk data use. pydicom\'s bytes are swapped per the VR\'s unit (OW 2, OF/OL 4, OD/OV 8) before comparing.',
  unknownVR: 'pydicom replaces the VR UN by the VR its dictionary (public or private) gives the tag (config.replace_un_with_known_vr); our reader keeps UN as the file has it, which PS3.5 §6.2.2 allows, so our JSON has InlineBinary. Our element is decoded with pydicom\'s VR before comparing, so the bytes must still match what pydicom decoded.',
} as const;
type Difference = keyof typeof DIFFERENCES;

/** VRs whose leading spaces are kept when decoding (PS3.5 §6.2: significant in LT, ST, UT; PN, UC, UR as written). */
const KEEPS_LEADING_SPACES: ReadonlySet<string> = new Set(['LT', 'ST', 'UT', 'PN', 'UC', 'UR']);

/** pydicom's JSON with the intended differences taken out. */
function normalisePydicom(json: Record<string, unknown>, littleEndian: boolean, used: Set<Difference>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(json).sort()) {
    if (key.endsWith('0000')) {
      used.add('groupLength');
      continue;
    }
    const attr = { ...(json[key] as Record<string, unknown>) };
    const vr = attr['vr'] as VR;
    if (Array.isArray(attr['Value'])) {
      let values = attr['Value'] as unknown[];
      if (vr === 'SQ') {
        values = values.map((item) => normalisePydicom(item as Record<string, unknown>, littleEndian, used));
      } else if (isStringVR(vr)) {
        const many = values.length > 1;
        values = values.map((v) => {
          if (many && typeof v === 'string') {
            const trimmed = v.replace(/ +$/, '').replace(KEEPS_LEADING_SPACES.has(vr) ? /^$/ : /^ +/, '');
            if (trimmed !== v) used.add('valuePadding');
            v = trimmed;
          }
          if (v !== '') return v;
          used.add('emptyStringValue');
          return null;
        });
      }
      if (values.length === 0) {
        used.add('emptySequence');
        delete attr['Value'];
      } else attr['Value'] = values;
    }
    if (typeof attr['InlineBinary'] === 'string') {
      let bytes: Uint8Array = Buffer.from(attr['InlineBinary'], 'base64');
      const unit = binaryValueSize(vr);
      if (!littleEndian && unit > 1) {
        used.add('bigEndianInlineBinary');
        bytes = swapBytes(bytes, unit);
      }
      attr['InlineBinary'] = Buffer.from(bytes).toString('base64');
    }
    out[key] = attr;
  }
  return out;
}

/** Paths where two JSON models differ, for a readable failure. */
function differences(a: unknown, b: unknown, path: string, out: string[]): string[] {
  if (out.length >= 20) return out;
  if (Object.is(a, b)) return out;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push(`${path}: ${a.length} values (ours) vs ${b.length} (pydicom): ${short(a)} vs ${short(b)}`);
    else a.forEach((v, i) => differences(v, b[i], `${path}[${i}]`, out));
    return out;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of [...keys].sort()) {
      const x = (a as Record<string, unknown>)[k];
      const y = (b as Record<string, unknown>)[k];
      if (x === undefined) out.push(`${path}/${k}: only pydicom has it: ${short(y)}`);
      else if (y === undefined) out.push(`${path}/${k}: only we have it: ${short(x)}`);
      else differences(x, y, `${path}/${k}`, out);
    }
    return out;
  }
  if (typeof a === 'number' && typeof b === 'number' && a === b) return out;
  out.push(`${path}: ours ${short(a)} vs pydicom ${short(b)}`);
  return out;
}
const short = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 160 ? `${s.slice(0, 160)}...` : s;
};

/**
 * Files cut short on purpose; pydicom reads what is there, and so do we with `truncated: 'keep'`
 * (our default is to refuse them).
 */
const TRUNCATED = new Set(['test_files/MR_truncated.dcm', 'test_files/rtplan_truncated.dcm']);

/** Files that are not DICOM, which pydicom reads only as garbage with force=True; we refuse them. */
const NOT_DICOM: Record<string, string> = {
  'test_files/no_meta.dcm': 'a stray byte (0x20) comes before an explicit VR data set, so nothing parses at offset 0; pydicom with force=True makes one element (0820,0500) UN of the whole rest of the file. Our reader says ERR_DICOM_NOT_DICOM.',
};

function read(file: string): DicomFile {
  return parseBuffer(readFileSync(file), TRUNCATED.has(name(file)) ? { truncated: 'keep' } : {});
}

/** Files our reader can read (all but NOT_DICOM), for the round trips. */
const READABLE = FILES.filter((f) => NOT_DICOM[name(f)] === undefined);

/**
 * Gives our UN elements the VR pydicom replaced it with (DIFFERENCES.unknownVR), so that the value
 * is decoded and compared, not skipped.
 */
function takeUnknownVRs(ds: DataSet, theirs: Record<string, unknown>, used: Set<Difference>): void {
  for (let e of ds.elements()) {
    const their = theirs[tagHex(e.tag)] as { vr?: VR; Value?: unknown[] } | undefined;
    if (!their || e.bulk) continue;
    if (e.vr === 'UN' && !e.items && their.vr === 'SQ') {
      // A UN value is Implicit VR Little Endian (PS3.5 §6.2.2): parsed as such, with the sequence's items.
      const header = Buffer.alloc(8);
      header.writeUInt16LE(e.tag >>> 16, 0);
      header.writeUInt16LE(e.tag & 0xffff, 2);
      header.writeUInt32LE(e.valueLength, 4);
      const parsed = parseDataSet(Buffer.concat([header, e.bytes]), { explicitVR: false, littleEndian: true }).get(e.tag);
      if (!parsed?.items) continue;
      for (const item of parsed.items) item.parent = ds;
      ds.add(parsed);
      e = parsed;
      used.add('unknownVR');
    } else if (e.vr === 'UN' && !e.items && their.vr && their.vr !== 'UN') {
      e.vr = their.vr;
      used.add('unknownVR');
    }
    e.items?.forEach((item, i) => {
      const theirItem = their.Value?.[i];
      if (theirItem && typeof theirItem === 'object') takeUnknownVRs(item, theirItem as Record<string, unknown>, used);
    });
  }
}

const usedOverall = new Set<Difference>();

for (const file of FILES) {
  test(`${name(file)}: JSON model equals pydicom's`, { skip: skipPydicom }, (t) => {
    const expected = oracle[file];
    assert.ok(expected, 'pydicom gave nothing for this file');
    if (expected.error !== undefined) {
      assert.ok(PYDICOM_CANNOT_READ[name(file)], `pydicom cannot read it (${expected.error}) and it is not listed in PYDICOM_CANNOT_READ`);
      return;
    }
    if (NOT_DICOM[name(file)]) {
      assert.equal(expected.forced, true, 'pydicom reads it without force now; drop it from NOT_DICOM');
      assert.throws(() => read(file), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_NOT_DICOM');
      return;
    }
    const used = new Set<Difference>();
    const theirs = { ...expected.json! };
    const ds = read(file).dataSet;
    takeUnknownVRs(ds, theirs, used);
    const ours = toDicomJson(ds) as unknown as Record<string, unknown>;
    for (const e of PYDICOM_ELEMENT_ERRORS.filter((x) => x.file === name(file))) {
      assert.ok((theirs[e.tag] as Record<string, unknown> | undefined)?.['__error__'], `${e.tag}: pydicom converts it now; drop it from PYDICOM_ELEMENT_ERRORS`);
      assert.deepEqual(ours[e.tag], e.ours, `${e.tag}: ${e.why}`);
      delete theirs[e.tag];
      delete ours[e.tag];
    }
    const errors = Object.entries(theirs).filter(([, v]) => (v as Record<string, unknown>)['__error__']);
    assert.deepEqual(errors, [], 'pydicom failed on elements not listed in PYDICOM_ELEMENT_ERRORS');
    const normalised = normalisePydicom(theirs, expected.littleEndian ?? true, used);
    for (const d of used) usedOverall.add(d);
    if (used.size) t.diagnostic(`intended differences: ${[...used].join(', ')}`);
    const found = differences(ours, normalised, '', []);
    assert.deepEqual(found, [], `differences from pydicom:\n  ${found.join('\n  ')}`);
  });
}

test('every intended difference listed is still needed', { skip: skipPydicom }, () => {
  // Runs after the file tests (node:test runs tests of a file in order).
  const unused = (Object.keys(DIFFERENCES) as Difference[]).filter((d) => !usedOverall.has(d));
  assert.deepEqual(unused, [], 'listed differences that no file needs any more');
});

// ---- reading with values left in the file gives the same JSON ----

test('values left in the file (readFile, BulkData) are read back to the same JSON', async () => {
  const failures: string[] = [];
  for (const file of READABLE) {
    let inMemory: DicomJsonDataSet;
    try {
      inMemory = toDicomJson(read(file).dataSet);
    } catch {
      continue; // reported by the tests above
    }
    try {
      const lazy = await readFile(file, { bulkDataThreshold: 64, ...(TRUNCATED.has(name(file)) ? { truncated: 'keep' as const } : {}) });
      const json = await toDicomJsonAsync(lazy.dataSet, { inlineBulkData: true, bulkDataThreshold: Infinity });
      const found = differences(json, inMemory, '', []);
      if (found.length) failures.push(`${name(file)}: ${found.slice(0, 3).join('; ')}`);
    } catch (e) {
      failures.push(`${name(file)}: ${(e as Error).message}`);
    }
  }
  assert.deepEqual(failures, []);
});

// ---- round trips on real files ----

/**
 * A binary value of odd length (invalid, PS3.5 §7.1.1; there are some in these files) comes back
 * padded to even length, as PS3.19 A.1.1 tells a recipient of the model to do. So the first JSON
 * is compared with its odd InlineBinary values padded.
 */
function padOddInlineBinary(json: DicomJsonDataSet): DicomJsonDataSet {
  const out: DicomJsonDataSet = {};
  for (const [key, attr] of Object.entries(json)) {
    const copy: DicomJsonAttribute = { ...attr };
    if (copy.InlineBinary !== undefined) {
      const bytes = Buffer.from(copy.InlineBinary, 'base64');
      if (bytes.length % 2 === 1) copy.InlineBinary = Buffer.concat([bytes, Buffer.from([0])]).toString('base64');
    }
    if (copy.vr === 'SQ' && copy.Value) copy.Value = copy.Value.map((item) => padOddInlineBinary(item as DicomJsonDataSet));
    out[key] = copy;
  }
  return out;
}

test('JSON round trip of every file: data set -> JSON -> data set -> JSON', () => {
  const failures: string[] = [];
  for (const file of READABLE) {
    try {
      const json = toDicomJson(read(file).dataSet);
      const again = toDicomJson(fromDicomJsonSync(toDicomJsonText(json)));
      const found = differences(again, padOddInlineBinary(json), '', []);
      if (found.length) failures.push(`${name(file)}: ${found.slice(0, 3).join('; ')}`);
    } catch (e) {
      failures.push(`${name(file)}: ${(e as Error).message}`);
    }
  }
  assert.deepEqual(failures, []);
});

test('XML round trip of every file: data set -> XML -> data set -> XML', () => {
  const failures: string[] = [];
  for (const file of READABLE) {
    try {
      const ds = read(file).dataSet;
      // As for JSON: odd binary values come back padded, so start from the padded data set.
      const xml = toNativeDicomXml(fromDicomJsonSync(toDicomJson(ds)));
      const again = toNativeDicomXml(fromNativeDicomXmlSync(xml));
      if (again !== xml) {
        let i = 0;
        while (i < xml.length && xml[i] === again[i]) i++;
        failures.push(`${name(file)}: differs at ${i}: ${JSON.stringify(xml.slice(Math.max(0, i - 60), i + 60))} vs ${JSON.stringify(again.slice(Math.max(0, i - 60), i + 60))}`);
      }
      // And the first XML says what the data set says.
      const fromXml = toDicomJson(fromNativeDicomXmlSync(toNativeDicomXml(ds)), { numberStrings: true });
      const direct = blankNamesAsEmpty(padOddInlineBinary(toDicomJson(ds, { numberStrings: true })));
      const found = differences(fromXml, direct, '', []);
      if (found.length) failures.push(`${name(file)}: ${found.slice(0, 3).join('; ')}`);
    } catch (e) {
      failures.push(`${name(file)}: ${(e as Error).message}`);
    }
  }
  assert.deepEqual(failures, []);
});

/**
 * A PN value with no component (e.g. "^^^^", in several of these files) has nothing the XML
 * PersonName can carry (PS3.19 A.1.5 names components, not delimiters), so it reads back as an
 * empty value.
 */
function blankNamesAsEmpty(json: DicomJsonDataSet): DicomJsonDataSet {
  const out: DicomJsonDataSet = {};
  for (const [key, attr] of Object.entries(json)) {
    const copy: DicomJsonAttribute = { ...attr };
    if (copy.vr === 'SQ' && copy.Value) copy.Value = copy.Value.map((item) => blankNamesAsEmpty(item as DicomJsonDataSet));
    if (copy.vr === 'PN' && copy.Value) {
      copy.Value = copy.Value.map((v) => {
        if (!v || typeof v !== 'object') return v;
        const groups = Object.entries(v as Record<string, string>).filter(([, g]) => g.replace(/[\^ ]/g, '') !== '');
        return groups.length ? Object.fromEntries(groups) : null;
      });
      if (copy.Value.length === 1 && copy.Value[0] === null) delete copy.Value;
    }
    out[key] = copy;
  }
  return out;
}
