/**
 * describeFileFromHead (the `conduit store` scan: one synchronous read of a file's first bytes)
 * against describeFile: the same description, or the same error, for pydicom's test files and for
 * every length of the bytes read, so that a head cut inside or between elements never yields a
 * partial or missing UID.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFile, describeFileFromHead, describeFileFromHeadSync, DESCRIBE_HEAD_LENGTH } from '../../../src/services/storage/file-source.js';
import { TEST_FILES, walk } from '../../helpers/network.js';
import { peer } from '../../helpers/peers.js';


type Outcome = { ok: unknown } | { code: unknown };

async function outcome(describe: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: await describe() };
  } catch (err) {
    return { code: (err as { code?: unknown }).code };
  }
}

test('describeFileFromHead gives what describeFile gives for every pydicom test file (or the same error)', { skip: peer('pydicom') }, async () => {
  const files = walk(TEST_FILES);
  assert.ok(files.length > 50, `pydicom's test files in ${TEST_FILES}`);
  let described = 0;
  for (const scratchLength of [DESCRIBE_HEAD_LENGTH, 1024, 200]) {
    const scratch = new Uint8Array(scratchLength);
    for (const path of files) {
      const expected = await outcome(() => describeFile(path));
      const actual = await outcome(() => describeFileFromHead(path, scratch));
      assert.deepEqual(actual, expected, `${path} with ${scratchLength} bytes read`);
      if ('ok' in expected) described++;
    }
  }
  assert.ok(described > 150, `${described} descriptions compared`);
});

/**
 * CT_small.dcm with its File Meta's Media Storage SOP Instance UID changed in the last digit: the
 * data set's UID is the one to send, and a head cut before it must not fall back on the meta's.
 */
function withOtherMetaInstanceUid(dir: string): string {
  const bytes = readFileSync(join(TEST_FILES, 'CT_small.dcm'));
  const at = bytes.indexOf(Buffer.from([0x02, 0x00, 0x03, 0x00, 0x55, 0x49]));
  assert.ok(at > 0, '(0002,0003) in CT_small.dcm');
  let end = at + 8 + bytes.readUInt16LE(at + 6) - 1;
  if (bytes[end] === 0) end--; // the UI padding
  bytes[end] = bytes[end] === 0x31 ? 0x32 : 0x31;
  const path = join(dir, 'meta-uid-differs.dcm');
  writeFileSync(path, bytes);
  return path;
}

test('describeFileFromHead: a head cut at every offset (inside and between elements) still gives the whole UIDs', { skip: peer('pydicom') }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-describe-'));
  try {
    const paths = ['CT_small.dcm', 'MR_small_implicit.dcm', 'MR_small_bigendian.dcm', 'ExplVR_LitEndNoMeta.dcm'].map((n) => join(TEST_FILES, n));
    paths.push(withOtherMetaInstanceUid(dir));
    for (const path of paths) {
      const expected = await describeFile(path);
      for (let n = 1; n <= 1500; n++) {
        assert.deepEqual(await describeFileFromHead(path, new Uint8Array(n)), expected, `${path}, first ${n} bytes read`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('describeFileFromHead: a missing file and a folder fail as describeFile does', async () => {
  const scratch = new Uint8Array(DESCRIBE_HEAD_LENGTH);
  for (const path of ['/nonexistent/conduit-test.dcm', '/tmp']) {
    const expected = await outcome(() => describeFile(path));
    assert.ok('code' in expected, `${path} cannot be described`);
    assert.deepEqual(await outcome(() => describeFileFromHead(path, scratch)), expected, path);
  }
});

/** An Explicit VR Little Endian element (PS3.5 §7.1.2): long header for the VRs that have one. */
function explicitElement(group: number, element: number, vr: string, value: Uint8Array, long = false): Buffer {
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(element, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(value.length, 8);
  else header.writeUInt16LE(value.length, 6);
  return Buffer.concat([header, value]);
}

const uidBytes = (uid: string): Buffer => Buffer.from(uid.length & 1 ? `${uid}\0` : uid, 'latin1');

/** A Part 10 file in `dir`: preamble, "DICM", a Secondary Capture File Meta Information (Explicit VR Little Endian), then `dataSet`. */
function writePart10(dir: string, name: string, dataSet: Buffer): string {
  const meta = Buffer.concat([
    explicitElement(0x0002, 0x0002, 'UI', uidBytes('1.2.840.10008.5.1.4.1.1.7')),
    explicitElement(0x0002, 0x0003, 'UI', uidBytes('1.2.3.4.1')),
    explicitElement(0x0002, 0x0010, 'UI', uidBytes('1.2.840.10008.1.2.1')),
  ]);
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), meta, dataSet]));
  return path;
}

test('describeFileFromHead: an element of a VR unknown to PS3.5 (read like UN, a 4-byte length) before the UIDs gives the data set\'s UIDs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-describe-'));
  try {
    const dataSet = Buffer.concat([
      // PS3.5 §6.2: a VR this reader does not know has the long header; a 10-byte value.
      explicitElement(0x0008, 0x0012, 'ZZ', Buffer.from('0123456789'), true),
      explicitElement(0x0008, 0x0016, 'UI', uidBytes('1.2.840.10008.5.1.4.1.1.7')),
      explicitElement(0x0008, 0x0018, 'UI', uidBytes('1.2.3.4.2')),
      explicitElement(0x0010, 0x0010, 'PN', Buffer.from('DOE^JOHN')),
    ]);
    const path = writePart10(dir, 'unknown-vr.dcm', dataSet);
    const expected = await describeFile(path);
    assert.equal(expected.sopInstanceUid, '1.2.3.4.2', 'describeFile reads the data set\'s UID');
    assert.deepEqual(await describeFileFromHead(path, new Uint8Array(DESCRIBE_HEAD_LENGTH)), expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('describeFileFromHeadSync: UIDs past the first read (4 KiB) are found in the rest of the head, with or without the size given', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-describe-'));
  try {
    const paths: string[] = [];
    // An Image Type-like value long enough to push the UIDs past 4 KiB, then past 16 KiB (the
    // whole head: describeFile reads that file).
    for (const filler of [6000, 20000]) {
      const dataSet = Buffer.concat([
        explicitElement(0x0008, 0x0008, 'UN', Buffer.alloc(filler, 0x41), true),
        explicitElement(0x0008, 0x0016, 'UI', uidBytes('1.2.840.10008.5.1.4.1.1.7')),
        explicitElement(0x0008, 0x0018, 'UI', uidBytes(`1.2.3.4.${filler}`)),
        explicitElement(0x0010, 0x0010, 'PN', Buffer.from('DOE^JOHN')),
      ]);
      paths.push(writePart10(dir, `long-${filler}.dcm`, dataSet));
    }
    const scratch = new Uint8Array(DESCRIBE_HEAD_LENGTH);
    const [within, beyond] = paths as [string, string];
    const expected = await describeFile(within);
    assert.equal(expected.sopInstanceUid, '1.2.3.4.6000');
    assert.deepEqual(describeFileFromHeadSync(within, scratch), expected);
    assert.deepEqual(describeFileFromHeadSync(within, scratch, expected.size), expected);
    assert.equal(describeFileFromHeadSync(beyond, scratch), undefined, 'UIDs past the head: left to describeFile');
    assert.deepEqual(await describeFileFromHead(beyond, scratch), await describeFile(beyond));
    assert.equal(describeFileFromHeadSync(dir, scratch, 4096), undefined, 'a folder given a size (stat\'ed as a file before) fails to read');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
