/**
 * `conduit get` of a compressed study from `conduit serve` (which, like many archives, sends an
 * object only in its stored transfer syntax when that is compressed, PS3.4 C.4.3.3.1): by default
 * the common compressed syntaxes have contexts of their own, so JPEG Baseline and JPEG Lossless
 * objects arrive unchanged; one in a syntax not proposed fails with a message that says how to
 * propose it, and --transfer-syntax does.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { retrieveProposals } from '../../src/ae/index.js';
import { loadConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { peer } from '../helpers/peers.js';
import { TEST_FILES, compareReceived, conduit } from '../helpers/network.js';

const noFiles = existsSync(join(TEST_FILES, 'SC_rgb_jpeg_dcmtk.dcm')) ? peer('pydicom') : 'pydicom test files are not installed';
const JPEG_STUDY = '1.2.826.0.1.3680043.8.498.12406831542731051035295345080039845114';
const MIXED_STUDY = '1.3.6.1.4.1.5962.1.2.8.20040826185059.5457';
const FILES = ['SC_rgb_jpeg_dcmtk.dcm', 'SC_rgb_jpeg_gdcm.dcm', 'JPEG2000.dcm', 'JPEG-lossy.dcm'];

let work: string;
let server: RunningServer;

before(async () => {
  if (noFiles) return;
  work = mkdtempSync(join(tmpdir(), 'conduit-get-compressed-'));
  server = await startServer(loadConfig({ flags: { aeTitle: 'ARCHIVE', dimsePort: 0, httpPort: 0, host: '127.0.0.1', dataDir: join(work, 'data'), logLevel: 'silent' }, env: {} }));
  const r = await conduit(['store', '--aec', 'ARCHIVE', '127.0.0.1', String(server.dimsePort), ...FILES.map((f) => join(TEST_FILES, f))]);
  assert.equal(r.status, 0, r.stderr);
});

after(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('get of a JPEG Baseline + JPEG Lossless study with the defaults: both arrive as stored', { skip: noFiles }, async () => {
  const out = join(work, 'jpeg');
  const r = await conduit(['get', '--aec', 'ARCHIVE', '--out', out, '-k', `StudyInstanceUID=${JPEG_STUDY}`, '127.0.0.1', String(server.dimsePort)]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^completed 2, failed 0/);
  for (const [name, uid] of [['SC_rgb_jpeg_dcmtk.dcm', '1.2.276.0.7230010.3.1.4.8323329.15150.1506363677.126194'], ['SC_rgb_jpeg_gdcm.dcm', '1.2.826.0.1.3680043.8.498.49043964482360854182530167603505525116']]) {
    assert.equal(await compareReceived(join(TEST_FILES, name!), join(out, `${uid}.dcm`)), undefined, name);
  }
});

test('get where one object is in a syntax not proposed (JPEG Extended): the others arrive, the failure says how to propose it; --transfer-syntax does', { skip: noFiles }, async () => {
  const out = join(work, 'mixed');
  const r = await conduit(['get', '--aec', 'ARCHIVE', '--out', out, '-k', `StudyInstanceUID=${MIXED_STUDY}`, '127.0.0.1', String(server.dimsePort)]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^completed 1, failed 1/);
  assert.equal(await compareReceived(join(TEST_FILES, 'JPEG2000.dcm'), join(out, '1.3.6.1.4.1.5962.1.1.8.1.3.20040826185059.5457.dcm')), undefined, 'JPEG 2000 arrived as stored');
  assert.match(r.stdout, /B000H .*\(1 of 2 failed: not accepted as 1\.2\.840\.10008\.1\.2\.4\.51\)/, 'the name is too long for the Error Comment: the UID stands for it');
  assert.match(r.stderr, /could not send some objects .*1\.2\.840\.10008\.1\.2\.4\.51 is JPEG Extended \(Process 2 and 4\)\): propose their transfer syntax with --transfer-syntax/);
  const again = await conduit(['get', '--aec', 'ARCHIVE', '--out', out, '--transfer-syntax', '1.2.840.10008.1.2.4.51', '-k', `StudyInstanceUID=${MIXED_STUDY}`, '-k', 'SOPInstanceUID=1.3.6.1.4.1.5962.1.1.8.1.5.20040826185059.5457', '--level', 'IMAGE', '-k', 'SeriesInstanceUID=1.3.6.1.4.1.5962.1.3.8.1.20040826185059.5457', '127.0.0.1', String(server.dimsePort)]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(await compareReceived(join(TEST_FILES, 'JPEG-lossy.dcm'), join(out, '1.3.6.1.4.1.5962.1.1.8.1.5.20040826185059.5457.dcm')), undefined);
});

test('retrieveProposals: the default stays within 128 contexts with the Query/Retrieve ones; given transfer syntaxes are one context per class', () => {
  const def = retrieveProposals();
  assert.ok(def.presentationContexts.length + 2 <= 128, `${def.presentationContexts.length} contexts`);
  const ct = def.presentationContexts.filter((pc) => pc.abstractSyntax === '1.2.840.10008.5.1.4.1.1.2');
  assert.deepEqual(ct.map((pc) => pc.transferSyntaxes[0]), ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2.4.70', '1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.5']);
  const given = retrieveProposals({ transferSyntaxes: ['1.2.840.10008.1.2'] });
  assert.equal(given.presentationContexts.length, given.roleSelections.length);
  const none = retrieveProposals({ storageSopClasses: ['1.2.840.10008.5.1.4.1.1.2'], compressedTransferSyntaxes: [] });
  assert.equal(none.presentationContexts.length, 1);
});
