/**
 * User Identity Negotiation (PS3.7 D.3.3.7) from the command line: `conduit echo`, `store`, `find`
 * (and so move and get, which share find's options) send --user/--password, --jwt, and with
 * --pos-response require the acceptor's confirmation; `conduit listen --users` requires and
 * verifies an identity. DCMTK's storescu against `conduit listen --users` is in
 * test/interop/dcmtk-network.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userIdentityOf } from '../../src/cli/user-identity-options.js';
import { DicomError } from '../../src/core/dicom-error.js';
import { negotiate, type AcceptancePolicy } from '../../src/upper-layer/negotiation.js';
import { PduType, UserIdentityType, emptyUserInformation, type AAssociateRq } from '../../src/upper-layer/index.js';
import { peer } from '../helpers/peers.js';
import { TEST_FILES, conduit, startConduitListen, type Background } from '../helpers/network.js';

const noFiles = existsSync(join(TEST_FILES, 'CT_small.dcm')) ? peer('pydicom') : 'pydicom test files are not installed';

let work: string;
let guarded: { proc: Background; port: number };
let open: { proc: Background; port: number };

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'conduit-identity-cli-'));
  writeFileSync(join(work, 'users.txt'), '# who may send\nalice:s3cret: with a colon\nbob\n');
  guarded = await startConduitListen(join(work, 'guarded'), ['--users', join(work, 'users.txt')]);
  open = await startConduitListen(join(work, 'open'));
});

after(async () => {
  await guarded?.proc.stop('SIGKILL');
  await open?.proc.stop('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

test('echo --user --password --pos-response to listen --users: accepted, confirmed, the user verified on the association line', async () => {
  const r = await conduit(['echo', '--aet', 'ALICE', '--user', 'alice', '--password', 's3cret: with a colon', '--pos-response', '127.0.0.1', String(guarded.port)]);
  assert.equal(r.status, 0, r.stderr);
  await guarded.proc.waitFor(/from ALICE \(\S+\) to ANY-SCP, user "alice" \(verified\)/);
  assert.doesNotMatch(guarded.proc.stdout + guarded.proc.stderr, /s3cret/, 'the passcode is never shown');
  // CONDUIT_PASSWORD instead of --password, and a user listed without passcode.
  const env = await conduit(['echo', '--user', 'alice', '127.0.0.1', String(guarded.port)], { env: { ...process.env, CONDUIT_PASSWORD: 's3cret: with a colon' } });
  assert.equal(env.status, 0, env.stderr);
  const bob = await conduit(['echo', '--user', 'bob', '--pos-response', '127.0.0.1', String(guarded.port)]);
  assert.equal(bob.status, 0, bob.stderr);
});

test('listen --users rejects a wrong passcode, an unknown user, a token it cannot verify, and no identity at all; each said', async () => {
  const wrong = await conduit(['echo', '--user', 'alice', '--password', 'guess', '127.0.0.1', String(guarded.port)]);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /rejected.*no-reason-given/);
  await guarded.proc.waitForStderr(/refused a user identity: wrong or missing passcode for user "alice"/);
  const unknown = await conduit(['echo', '--user', 'mallory', '127.0.0.1', String(guarded.port)]);
  assert.equal(unknown.status, 1);
  await guarded.proc.waitForStderr(/refused a user identity: unknown user "mallory"/);
  writeFileSync(join(work, 'token.jwt'), 'eyJhbGciOiJub25lIn0.e30.');
  const jwt = await conduit(['echo', '--jwt', join(work, 'token.jwt'), '127.0.0.1', String(guarded.port)]);
  assert.equal(jwt.status, 1);
  await guarded.proc.waitForStderr(/refused a user identity: user identity type 5/);
  const none = await conduit(['echo', '--aet', 'NOBODY', '127.0.0.1', String(guarded.port)]);
  assert.equal(none.status, 1);
  await guarded.proc.waitFor(/rejected an association from NOBODY: .*\(--users: no user identity sent, or one not accepted\)/);
});

test('--pos-response to a listener that verifies no identity: the association is released and the command fails in words', { skip: noFiles }, async () => {
  const echo = await conduit(['echo', '--user', 'alice', '--pos-response', '127.0.0.1', String(open.port)]);
  assert.equal(echo.status, 1);
  assert.match(echo.stderr, /accepted the association without confirming the user identity \(--pos-response\).*\[ERR_DICOM_USER_IDENTITY_NOT_CONFIRMED\]/);
  const store = await conduit(['store', '--user', 'alice', '--pos-response', '127.0.0.1', String(open.port), join(TEST_FILES, 'CT_small.dcm')]);
  assert.equal(store.status, 1);
  assert.match(store.stderr, /without confirming the user identity/);
  assert.equal(readdirSync(join(work, 'open')).filter((n) => n.endsWith('.dcm')).length, 0, 'nothing was sent');
  // Without --pos-response the identity is only offered: the store goes through.
  const offered = await conduit(['store', '--user', 'alice', '127.0.0.1', String(open.port), join(TEST_FILES, 'CT_small.dcm')]);
  assert.equal(offered.status, 0, offered.stderr);
});

test('store and find send the identity too (find, move and get share the options)', { skip: noFiles }, async () => {
  const store = await conduit(['store', '--user', 'alice', '--password', 's3cret: with a colon', '--pos-response', '127.0.0.1', String(guarded.port), join(TEST_FILES, 'CT_small.dcm')]);
  assert.equal(store.status, 0, store.stderr);
  assert.equal(readdirSync(join(work, 'guarded')).filter((n) => n.endsWith('.dcm')).length, 1);
  // conduit listen performs no C-FIND: the identity is accepted, then the Query/Retrieve context is not.
  const find = await conduit(['find', '--user', 'alice', '--password', 's3cret: with a colon', '--pos-response', '-k', 'PatientID', '127.0.0.1', String(guarded.port)]);
  assert.equal(find.status, 1);
  assert.doesNotMatch(find.stderr, /no-reason-given|confirming/, find.stderr);
  assert.match(find.stderr, /did not accept/);
  const help = await conduit(['get', '--help']);
  for (const flag of ['--user', '--password', '--kerberos', '--saml', '--jwt', '--pos-response']) assert.match(help.stdout, new RegExp(`${flag}\\b`), flag);
});

test('identity options that do not go together are usage errors, before connecting', async () => {
  const bad: Array<[string[], RegExp]> = [
    [['--password', 'x'], /--password needs --user/],
    [['--user', 'a', '--jwt', 'f'], /one user identity at a time: --user and --jwt/],
    [['--pos-response'], /--pos-response needs an identity/],
    [['--jwt', join(tmpdir(), 'no-such-token-file')], /cannot read the --jwt file .*: no such file/],
  ];
  for (const [flags, re] of bad) {
    const r = await conduit(['echo', ...flags, '127.0.0.1', '1']);
    assert.equal(r.status, 1, flags.join(' '));
    assert.match(r.stderr, re);
  }
  const missing = await conduit(['listen', '--port', '0', '--out', join(work, 'never'), '--users', join(work, 'no-such-users-file')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot read the --users file .*: no such file/);
});

test('userIdentityOf: types 1 and 2 as UTF-8, the positive response flag', () => {
  const one = userIdentityOf({ user: 'jürgen' }, {});
  assert.equal(one?.userIdentityType, UserIdentityType.Username);
  assert.equal(Buffer.from(one!.primaryField).toString('utf8'), 'jürgen');
  const two = userIdentityOf({ user: 'a', password: 'p', posResponse: true }, {});
  assert.equal(two?.userIdentityType, UserIdentityType.UsernameAndPasscode);
  assert.equal(two?.positiveResponseRequested, true);
  assert.equal(Buffer.from(two!.secondaryField).toString(), 'p');
  assert.equal(userIdentityOf({}, { CONDUIT_PASSWORD: 'p' }), undefined, 'no --user: the environment is not read');
  assert.throws(() => userIdentityOf({ user: '' }, {}), (e: unknown) => e instanceof DicomError && /needs a user name/.test(e.message));
});

test('negotiate: with userIdentityRequired a requestor without an identity is rejected (1, 1, 1); without it, accepted unverified', () => {
  const rq = {
    type: PduType.AAssociateRq, protocolVersion: 1, calledAeTitle: 'A', callingAeTitle: 'B', applicationContextName: '1.2.840.10008.3.1.1.1',
    presentationContexts: [{ id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] }],
    userInformation: { ...emptyUserInformation(), maximumLength: 16384, implementationClassUid: '1.2.3' },
  } as AAssociateRq;
  const policy: AcceptancePolicy = {
    abstractSyntaxes: { '1.2.840.10008.1.1': { transferSyntaxes: ['1.2.840.10008.1.2'] } }, maximumLength: 16384, implementationClassUid: '1.2.3',
    userIdentity: () => ({ accept: true }),
  };
  const required = negotiate(rq, { ...policy, userIdentityRequired: true });
  assert.deepEqual(required, { type: PduType.AAssociateRj, result: 1, source: 1, reason: 1 });
  const optional = negotiate(rq, policy);
  assert.equal(optional.type, PduType.AAssociateAc);
  assert.equal(negotiate(rq, { ...policy, userIdentityRequired: true, userIdentity: undefined } as AcceptancePolicy).type, PduType.AAssociateAc, 'without a verifier nothing is required');
});

test('media import --host sends the identity too, and says in words when the association is refused', { skip: noFiles }, async () => {
  const set = join(work, 'file-set');
  const created = await conduit(['media', 'create', set, join(TEST_FILES, 'MR_small.dcm')]);
  assert.equal(created.status, 0, created.stderr);
  const refused = await conduit(['media', 'import', set, '--host', '127.0.0.1', '--port', String(guarded.port)]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /^conduit media import: 127\.0\.0\.1:\d+ .*rejected.*no-reason-given.*\[ERR_DICOM_ASSOCIATION_REJECTED\]\n$/m);
  const before = readdirSync(join(work, 'guarded')).length;
  const sent = await conduit(['media', 'import', set, '--host', '127.0.0.1', '--port', String(guarded.port), '--user', 'bob', '--pos-response']);
  assert.equal(sent.status, 0, sent.stderr);
  assert.equal(readdirSync(join(work, 'guarded')).length, before + 1);
});
