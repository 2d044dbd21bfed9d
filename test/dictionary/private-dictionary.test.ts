/**
 * The private dictionary (pydicom's copy of GDCM's): entries are found by private creator, group
 * and the element's low byte, whatever block the creator was given (PS3.5 §7.8.1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lookupPrivateTag, privateCreators } from '../../src/dictionary/index.js';
import { peer, PYTHON } from '../helpers/peers.js';

test('Siemens CSA header, in any block', () => {
  const a = lookupPrivateTag('SIEMENS CSA HEADER', 0x00291010);
  assert.deepEqual(a && { ...a, vrs: [...a.vrs] }, {
    tag: 0x00291010, vrs: ['OB'], vm: '1', keyword: '', name: 'CSA Image Header Info', retired: false,
  });
  const b = lookupPrivateTag('SIEMENS CSA HEADER', 0x00291110);
  assert.equal(b?.tag, 0x00291110, 'the entry names the tag asked for');
  assert.deepEqual(b && [[...b.vrs], b.vm, b.name], [['OB'], '1', 'CSA Image Header Info']);
  assert.equal(lookupPrivateTag('SIEMENS CSA HEADER', 0x0029ff10)?.name, 'CSA Image Header Info');
  assert.equal(lookupPrivateTag('SIEMENS CSA HEADER', 0x00291020)?.name, 'CSA Series Header Info');
  assert.deepEqual(lookupPrivateTag('SIEMENS CSA HEADER', 0x00291008)?.vrs, ['CS']);
});

test('creator matching', () => {
  // LO padding: a value read from a data set may keep its trailing space.
  assert.equal(lookupPrivateTag('SIEMENS CSA HEADER ', 0x00291010)?.name, 'CSA Image Header Info');
  assert.equal(lookupPrivateTag('siemens csa header', 0x00291010), undefined, 'creators are compared exactly');
  assert.equal(lookupPrivateTag('NO SUCH CREATOR', 0x00291010), undefined);
  assert.equal(lookupPrivateTag('SIEMENS CSA HEADER', 0x00291011), undefined, 'no such element');
  assert.equal(lookupPrivateTag('SIEMENS CSA HEADER', 0x00190010 | 0x1000), undefined, 'other group');
  assert.equal(lookupPrivateTag('SIEMENS CSA HEADER', 0x00290010), undefined, 'the creator element itself is not in a block');
  assert.ok(privateCreators().includes('GEMS_ACQU_01'));
  assert.ok(privateCreators().length > 400);
});

test('group-ranging and fixed-tag private entries', () => {
  // 'PAPYRUS 3.0' defines (60xx,xx10): any group 60gg, any block.
  assert.equal(lookupPrivateTag('PAPYRUS 3.0', 0x60011010)?.name, 'Overlay Rows');
  assert.equal(lookupPrivateTag('PAPYRUS 3.0', 0x60331110)?.name, 'Overlay Rows');
  assert.equal(lookupPrivateTag('PAPYRUS 3.0', 0x60331110)?.tag, 0x60331110);
  // some Toshiba entries are keyed by a whole tag
  assert.deepEqual(lookupPrivateTag('PMTF INFORMATION DATA^10', 0x00190007)?.vm, '3');
  assert.deepEqual(lookupPrivateTag('PMTF INFORMATION DATA^10', 0x00190007)?.vrs, ['FL']);
});

test('every private entry resolves as pydicom resolves it, in any block', { skip: peer('pydicom') }, () => {
  // For each entry, concrete tags in the first and the last block (and in two groups for ggxx
  // keys); pydicom's own get_private_entry gives the expected answer for each, which also settles
  // precedence between a fixed-tag key and a block key.
  const script = `
import json
from pydicom._private_dict import private_dictionaries
from pydicom.datadict import get_private_entry
out = []
for creator, block in private_dictionaries.items():
    for key in block:
        k = key.lower()
        if k[6:] == 'xx':
            continue
        if k[2:6] == 'xxxx':
            concrete = [k.replace('xxxx', gb) for gb in ('0110', '01fe', 'ff10')]
        elif k[4:6] == 'xx':
            concrete = [k.replace('xx', b) for b in ('10', 'fe')]
        else:
            concrete = [k]
        for c in concrete:
            tag = int(c, 16)
            try:
                vr, vm, name, retired = get_private_entry(tag, creator)
                out.append([creator, tag, vr, vm, name])
            except KeyError:
                out.append([creator, tag, None, None, None])
print(json.dumps(out))
`;
  const r = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const expected = JSON.parse(r.stdout) as Array<[string, number, string | null, string | null, string | null]>;
  assert.ok(expected.length > 17000, `${expected.length} probes`);
  const wrong: string[] = [];
  for (const [creator, tag, vr, vm, name] of expected) {
    const e = lookupPrivateTag(creator, tag);
    const want = vr === null ? null : [tag, vr.split(/ or |_/).join('/'), vm, name];
    const got = e ? [e.tag, e.vrs.join('/'), e.vm, e.name] : null;
    if (JSON.stringify(got) !== JSON.stringify(want)) wrong.push(`${creator} ${tag.toString(16)}: ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
  }
  assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} of ${expected.length} private lookups differ from pydicom`);
});
