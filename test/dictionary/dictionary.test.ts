/**
 * The generated data dictionary: known entries of PS3.6 (single tags, repeating groups, group
 * lengths, private creators, UIDs), keyword round trips over every entry, and agreement with the
 * installed pydicom the tables were generated from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  allTagEntries, allUids, DICTIONARY_EDITION, DICTIONARY_SOURCE, lookupTag, lookupUid, repeatingTagEntries,
  sopClassEntries, tagForKeyword, transferSyntaxEntries, uidForKeyword, uidsOfType,
} from '../../src/dictionary/index.js';
import { peer, PYTHON } from '../helpers/peers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function pick(tag: number) {
  const e = lookupTag(tag);
  assert.ok(e, `no entry for ${tag.toString(16)}`);
  return { tag: e.tag, vrs: [...e.vrs], vm: e.vm, keyword: e.keyword, name: e.name, retired: e.retired };
}

test('edition and source are recorded', () => {
  assert.match(DICTIONARY_EDITION, /^\d{4}[a-e]$/);
  assert.match(DICTIONARY_SOURCE, /pydicom \d+\.\d+/);
});

test('single-tag entries', () => {
  assert.deepEqual(pick(0x00100010), { tag: 0x00100010, vrs: ['PN'], vm: '1', keyword: 'PatientName', name: "Patient's Name", retired: false });
  assert.deepEqual(pick(0x00020010).keyword, 'TransferSyntaxUID');
  assert.deepEqual(pick(0x00080005).vm, '1-n');
  assert.deepEqual(pick(0x00000000), { tag: 0, vrs: ['UL'], vm: '1', keyword: 'CommandGroupLength', name: 'Command Group Length', retired: false });
  // PS3.5 §8.2: Pixel Data is OB or OW; the "or" lists keep the dictionary's order.
  assert.deepEqual(pick(0x7fe00010).vrs, ['OB', 'OW']);
  assert.deepEqual(pick(0x00280106).vrs, ['US', 'SS']);
  assert.deepEqual(pick(0x00283006).vrs, ['US', 'OW']);
  assert.deepEqual(pick(0x00281200).vrs, ['US', 'SS', 'OW']);
  // PS3.5 §7.5: items and delimiters have no VR.
  for (const [t, k] of [[0xfffee000, 'Item'], [0xfffee00d, 'ItemDelimitationItem'], [0xfffee0dd, 'SequenceDelimitationItem']] as const) {
    assert.deepEqual(pick(t).vrs, []);
    assert.equal(pick(t).keyword, k);
  }
  assert.deepEqual(pick(0x00000001).retired, true); // Command Length to End
  assert.deepEqual(pick(0x00080010), { tag: 0x00080010, vrs: ['SH'], vm: '1', keyword: 'RecognitionCode', name: 'Recognition Code', retired: true });
  assert.equal(lookupTag(0x00100010), lookupTag(0x00100010), 'entries are reused, not rebuilt');
});

test('repeating groups and elements resolve to the tag asked for', () => {
  // PS3.5 §7.6: overlays (60xx) and curves (50xx) in even groups 6000-60FF / 5000-50FF.
  assert.deepEqual(pick(0x60003000), { tag: 0x60003000, vrs: ['OB', 'OW'], vm: '1', keyword: 'OverlayData', name: 'Overlay Data', retired: false });
  assert.deepEqual(pick(0x60023000).tag, 0x60023000);
  assert.deepEqual(pick(0x60023000).keyword, 'OverlayData');
  assert.deepEqual(pick(0x601e0010).keyword, 'OverlayRows');
  assert.deepEqual(pick(0x60020050).vrs, ['SS']);
  assert.equal(lookupTag(0x60013000), undefined, 'an odd group is private, not an overlay');
  assert.deepEqual(pick(0x50100005), { tag: 0x50100005, vrs: ['US'], vm: '1', keyword: 'CurveDimensions', name: 'Curve Dimensions', retired: true });
  assert.deepEqual(pick(0x50023000).vrs, ['OB', 'OW']);
  assert.deepEqual(pick(0x7f020010).keyword, 'VariablePixelData');
  assert.deepEqual(pick(0x7fe00010).keyword, 'PixelData', 'an exact entry wins over a repeating one');
  // element masks
  assert.deepEqual(pick(0x00203105).keyword, 'SourceImageIDs');
  assert.deepEqual(pick(0x00280412).keyword, 'CoefficientCoding');
  assert.deepEqual(pick(0x10000011).keyword, 'RunLengthTriplet');
  assert.deepEqual(pick(0x10000120).keyword, 'EscapeTriplet');
  assert.deepEqual(pick(0x10101234).keyword, 'ZonalMap');
  assert.equal(lookupTag(0x10000016), undefined);
});

test('group lengths and private creators', () => {
  // PS3.5 §7.2
  assert.deepEqual(pick(0x00080000), { tag: 0x00080000, vrs: ['UL'], vm: '1', keyword: 'GenericGroupLength', name: 'Generic Group Length', retired: false });
  assert.deepEqual(pick(0x60000000).keyword, 'GenericGroupLength');
  assert.deepEqual(pick(0x00020000).keyword, 'FileMetaInformationGroupLength');
  assert.deepEqual(pick(0x00090000), { tag: 0x00090000, vrs: ['UL'], vm: '1', keyword: 'PrivateGroupLength', name: 'Private Group Length', retired: false });
  // PS3.5 §7.8.1
  assert.deepEqual(pick(0x00090010), { tag: 0x00090010, vrs: ['LO'], vm: '1', keyword: 'PrivateCreator', name: 'Private Creator', retired: false });
  assert.deepEqual(pick(0x002900ff).tag, 0x002900ff);
  assert.equal(lookupTag(0x00090009), undefined);
  assert.equal(lookupTag(0x00091010), undefined, 'a private data element needs its creator: lookupPrivateTag');
  assert.equal(lookupTag(0x00080001 + 0x7000), undefined);
  assert.equal(lookupTag((0xfffe << 16) | 0xe000), lookupTag(0xfffee000), 'a negative (signed) tag is read as unsigned');
});

test('tagForKeyword round trip over every entry', () => {
  let n = 0;
  for (const e of allTagEntries()) {
    if (!e.keyword) continue;
    assert.equal(tagForKeyword(e.keyword), e.tag, e.keyword);
    assert.equal(lookupTag(e.tag), e);
    n++;
  }
  for (const e of repeatingTagEntries()) {
    assert.equal(tagForKeyword(e.keyword), e.tag, e.keyword);
    assert.equal(lookupTag(e.tag)?.keyword, e.keyword, `${e.mask} base tag`);
    n++;
  }
  assert.ok(n > 4800, `${n} keywords`);
  assert.equal(tagForKeyword('OverlayData'), 0x60003000);
  assert.equal(tagForKeyword('EscapeTriplet'), 0x10000010);
  assert.equal(tagForKeyword('NoSuchKeyword'), undefined);
  assert.equal(tagForKeyword(''), undefined);
  assert.equal(tagForKeyword('GenericGroupLength'), undefined);
});

test('UIDs: transfer syntaxes, SOP classes, meta SOP classes, well-known instances', () => {
  const ts = (uid: string) => {
    const e = lookupUid(uid);
    assert.ok(e, uid);
    return [e.keyword, e.type, e.retired];
  };
  // PS3.5 §10 and Annex A
  assert.deepEqual(ts('1.2.840.10008.1.2'), ['ImplicitVRLittleEndian', 'Transfer Syntax', false]);
  assert.deepEqual(ts('1.2.840.10008.1.2.1'), ['ExplicitVRLittleEndian', 'Transfer Syntax', false]);
  assert.deepEqual(ts('1.2.840.10008.1.2.1.99'), ['DeflatedExplicitVRLittleEndian', 'Transfer Syntax', false]);
  assert.deepEqual(ts('1.2.840.10008.1.2.2'), ['ExplicitVRBigEndian', 'Transfer Syntax', true]);
  assert.deepEqual(ts('1.2.840.10008.1.2.4.50'), ['JPEGBaseline8Bit', 'Transfer Syntax', false]);
  assert.deepEqual(ts('1.2.840.10008.1.2.5'), ['RLELossless', 'Transfer Syntax', false]);
  assert.deepEqual(lookupUid('1.2.840.10008.1.1'), {
    uid: '1.2.840.10008.1.1', name: 'Verification SOP Class', keyword: 'Verification', type: 'SOP Class', retired: false,
  });
  assert.deepEqual(ts('1.2.840.10008.5.1.4.1.1.2'), ['CTImageStorage', 'SOP Class', false]);
  assert.deepEqual(ts('1.2.840.10008.5.1.1.9'), ['BasicGrayscalePrintManagementMeta', 'Meta SOP Class', false]);
  assert.deepEqual(ts('1.2.840.10008.1.5.1'), ['HotIronPalette', 'Well-known SOP Instance', false]);
  assert.deepEqual(ts('1.2.840.10008.3.1.1.1'), ['DICOMApplicationContext', 'Application Context Name', false]);
  assert.equal(lookupUid('1.2.840.10008.1.2.1\0')?.keyword, 'ExplicitVRLittleEndian', 'UI padding is ignored');
  assert.equal(lookupUid('1.2.3.4'), undefined);

  assert.ok(transferSyntaxEntries().length >= 40);
  assert.ok(transferSyntaxEntries().every((e) => e.type === 'Transfer Syntax'));
  assert.ok(sopClassEntries().length >= 250);
  assert.ok(uidsOfType('Meta SOP Class').length >= 5);
  let n = 0;
  for (const e of allUids()) {
    assert.equal(lookupUid(e.uid), e);
    if (!e.keyword) continue;
    assert.equal(uidForKeyword(e.keyword), e.uid, e.keyword);
    n++;
  }
  assert.ok(n > 400);
});

test('the tables load on first use, not at import', () => {
  // In a fresh process: the import itself is cheap, and each generated table is required only
  // by the first lookup that needs it.
  const script = `
    import { createRequire } from 'node:module';
    const cache = createRequire(${JSON.stringify(resolve(ROOT, 'package.json'))}).cache;
    const loaded = () => Object.keys(cache).filter((k) => k.includes('generated')).map((k) => k.split('/').pop()).sort();
    const t0 = performance.now();
    const d = await import(${JSON.stringify(resolve(ROOT, 'dist/src/dictionary/index.js'))});
    const ms = performance.now() - t0;
    const steps = [loaded()];
    d.lookupTag(0x00100010); steps.push(loaded());
    d.lookupUid('1.2.840.10008.1.1'); steps.push(loaded());
    d.tagForKeyword('PatientName'); steps.push(loaded());
    d.lookupPrivateTag('SIEMENS CSA HEADER', 0x00291010); steps.push(loaded());
    console.log(JSON.stringify({ ms, steps }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { ms, steps } = JSON.parse(r.stdout) as { ms: number; steps: string[][] };
  assert.deepEqual(steps, [
    [],
    ['tags.cjs'],
    ['tags.cjs', 'uids.cjs'],
    ['tag-keywords.cjs', 'tags.cjs', 'uids.cjs'],
    ['private-tags.cjs', 'tag-keywords.cjs', 'tags.cjs', 'uids.cjs'],
  ]);
  // The budget is ~25 ms (measured about 3 ms); the bound is loose for busy CI machines.
  assert.ok(ms < 100, `import took ${ms.toFixed(1)} ms`);
});

test('the tables match the installed pydicom', { skip: peer('pydicom') }, () => {
  const r = spawnSync(PYTHON, [resolve(ROOT, 'tools/gen-dictionary.py')], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const data = JSON.parse(r.stdout) as {
    dicomEdition: string;
    tags: Array<[number, string, string, string, string, string]>;
    repeaters: Array<[string, string, string, string, string, string]>;
    uids: Array<[string, string, string, string, string, string]>;
  };
  assert.equal(DICTIONARY_EDITION, data.dicomEdition, 'regenerate: node dist/tools/gen-dictionary.js');
  const vrs = (vr: string) => (vr === 'NONE' ? [] : vr.split(' or '));
  for (const [tag, vr, vm, name, retired, keyword] of data.tags) {
    const e = lookupTag(tag);
    assert.deepEqual(e && [[...e.vrs], e.vm, e.name, e.retired, e.keyword], [vrs(vr), vm, name, retired === 'Retired', keyword]);
  }
  assert.equal(allTagEntries().length, data.tags.length);
  for (const [mask, vr, vm, name, retired, keyword] of data.repeaters) {
    const t = tagForKeyword(keyword)!;
    const e = lookupTag(t);
    assert.deepEqual(e && [[...e.vrs], e.vm, e.name, e.retired], [vrs(vr), vm, name, retired === 'Retired'], mask);
  }
  for (const [uid, name, type, , retired, keyword] of data.uids) {
    assert.deepEqual(lookupUid(uid), { uid, name, keyword, type, retired: retired === 'Retired' });
  }
  assert.equal(allUids().length, data.uids.length);
});

test('shared entries cannot be changed by a caller', () => {
  const e = lookupTag(0x00100010)!;
  assert.throws(() => {
    (e as { vm: string }).vm = '2';
  }, TypeError);
  assert.throws(() => {
    (e.vrs as string[]).push('LO');
  }, TypeError);
  assert.equal(lookupTag(0x00100010)!.vm, '1');
});
