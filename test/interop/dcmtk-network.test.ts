/**
 * Conduit's network commands against DCMTK (Debian package dcmtk), with pydicom's test files:
 * echoscu and storescu (in several proposal variants, PDU sizes, folder scans) into `conduit
 * listen`; `conduit store` into storescp; and TLS both ways when DCMTK was built with OpenSSL. Every
 * object DCMTK reports stored is compared with the file sent: byte for byte where nobody re-encoded
 * it, else by re-encoding (DCMTK writes sequences with explicit lengths and drops trailing padding
 * when it sends). Every DCMTK process runs with TCP_NODELAY=1.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFile } from '../../src/ae/index.js';
import { isUncompressed } from '../../src/data/transfer-syntax.js';
import { peer } from '../helpers/peers.js';
import {
  TEST_FILES, compareAll, conduit, copyInto, instancesIn, makeCertificates, roundsOfUniqueInstances, run, startConduitListen, startOnFreePort, storableCorpus,
  type Background, type Certificates, type CorpusFile,
} from '../helpers/network.js';

const skip = peer('dcmtk');
const dcmtkTls = !skip && /\+tls\s+--enable-tls/.test(spawnSync('storescp', ['--help'], { encoding: 'utf8' }).stdout ?? '');
const hasOpenssl = spawnSync('sh', ['-c', 'command -v openssl'], { stdio: 'ignore' }).status === 0;
const skipTls = skip ?? (!dcmtkTls ? 'DCMTK was built without TLS support (storescp --help lists no +tls)' : !hasOpenssl ? 'openssl is not installed' : undefined);

/** storescu's option proposing each compressed (or deflated) syntax with the uncompressed ones. */
const PROPOSE: Record<string, string> = {
  '1.2.840.10008.1.2.4.50': '-xy',
  '1.2.840.10008.1.2.4.51': '-xx',
  '1.2.840.10008.1.2.4.70': '-xs',
  '1.2.840.10008.1.2.4.80': '-xt',
  '1.2.840.10008.1.2.4.81': '-xu',
  '1.2.840.10008.1.2.4.90': '-xv',
  '1.2.840.10008.1.2.4.91': '-xw',
  '1.2.840.10008.1.2.5': '-xr',
  '1.2.840.10008.1.2.1.99': '-xd',
};

let work: string;
let rounds: CorpusFile[][] = [];
let roundDirs: string[] = [];
let listen: { proc: Background; port: number; out: string };
let smallPdu: { proc: Background; port: number; out: string };

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'conduit-dcmtk-net-'));
  rounds = roundsOfUniqueInstances(await storableCorpus());
  roundDirs = rounds.map((r, i) => {
    const dir = join(work, `round-${i}`);
    copyInto(dir, r);
    return dir;
  });
  const out = join(work, 'out');
  listen = { ...(await startConduitListen(out)), out };
  const outSmall = join(work, 'out-small');
  smallPdu = { ...(await startConduitListen(outSmall, ['--max-pdu', '4096'])), out: outSmall };
});

after(async () => {
  await listen?.proc.stop('SIGKILL');
  await smallPdu?.proc.stop('SIGKILL');
  if (work) rmSync(work, { recursive: true, force: true });
});

function clear(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const n of readdirSync(dir)) rmSync(join(dir, n), { recursive: true, force: true });
}

type Outcome = 'stored' | 'failed' | 'skipped';

interface StorescuRun {
  /** Per file: stored (a Success or Warning response), failed (Store Failed), skipped (storescu could not read it as an instance, or had no context for its SOP class). */
  outcomes: Map<string, Outcome>;
  stored: Set<string>;
  output: string;
}

/** Runs storescu -v -nh with `args` (options, then the inputs), and reads from its log what became of each file. */
async function storescu(args: readonly string[], inputs: readonly string[], port: number): Promise<StorescuRun> {
  const r = await run('storescu', ['-v', '-nh', ...args, '127.0.0.1', String(port), ...inputs], { timeout: 120_000 });
  const output = `${r.stdout}${r.stderr}`;
  const outcomes = new Map<string, Outcome>();
  let current: string | undefined;
  for (const line of output.split('\n')) {
    let m = line.match(/^I: Sending file: (.*)$/);
    if (m) {
      current = m[1]!;
      continue;
    }
    m = line.match(/missing SOP class \(or instance\) in file: (.*), ignoring file/);
    if (m) outcomes.set(m[1]!, 'skipped');
    if (current === undefined) continue;
    if (/^I: Received Store Response \((Success|Warning)/.test(line)) outcomes.set(current, 'stored');
    else if (/^E: Store Failed, file: /.test(line)) outcomes.set(current, 'failed');
    else if (/^E: (No presentation context for|No SOP Class or Instance UID in file)/.test(line)) outcomes.set(current, 'skipped');
  }
  assert.ok(!/Association (Request Failed|Rejected|Aborted)/.test(output), output);
  const stored = new Set([...outcomes].filter(([, o]) => o === 'stored').map(([p]) => p));
  return { outcomes, stored, output };
}

/**
 * Runs a storescu variant over every round. What it stored must have arrived unchanged; an
 * uncompressed file it could read must have been stored (compressed ones fail in DCMTK when only
 * uncompressed syntaxes are proposed: it cannot decompress most of them). Returns the count stored.
 */
async function storescuVariant(options: { args: readonly string[]; folders?: boolean; target?: typeof listen }): Promise<number> {
  const target = options.target ?? listen;
  let total = 0;
  for (const [i, round] of rounds.entries()) {
    clear(target.out);
    const inputs = options.folders ? [roundDirs[i]!] : round.map((f) => join(roundDirs[i]!, f.name));
    const result = await storescu(options.args, inputs, target.port);
    const byPath = new Map(round.map((f) => [join(roundDirs[i]!, f.name), f]));
    const stored = [...result.stored].map((p) => byPath.get(p)).filter((f): f is CorpusFile => f !== undefined);
    assert.equal(stored.length, result.stored.size, `round ${i}: storescu stored files not in the round`);
    for (const [path, f] of byPath) {
      if (!isUncompressed(f.transferSyntaxUid)) continue;
      const outcome = result.outcomes.get(path);
      assert.ok(outcome === 'stored' || outcome === 'skipped', `round ${i}: ${f.name} (${f.transferSyntaxUid}): ${outcome ?? 'not sent'}\n${result.output}`);
    }
    assert.deepEqual(await compareAll(stored, target.out, { exact: false }), [], `round ${i}`);
    total += stored.length;
  }
  return total;
}

// ---- echoscu ----

test('echoscu to conduit listen: Success; a wrong called AE title to a strict listener: rejected, reason called-AE-title-not-recognized', { skip }, async () => {
  const ok = await run('echoscu', ['-v', '127.0.0.1', String(listen.port)]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr + ok.stdout, /Received Echo Response \(Success\)/);
  await listen.proc.waitFor(/from ECHOSCU .*\n.*: C-ECHO/);
  const strict = await startConduitListen(join(work, 'strict'), ['--aet', 'STRICT', '--strict-aet']);
  try {
    const bad = await run('echoscu', ['-aec', 'SOMEONE', '127.0.0.1', String(strict.port)]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr + bad.stdout, /Association Rejected[\s\S]*Called AE Title Not Recognized/i);
    const good = await run('echoscu', ['-aec', 'STRICT', '127.0.0.1', String(strict.port)]);
    assert.equal(good.status, 0, good.stderr);
  } finally {
    await strict.proc.stop();
  }
});

test('storescu --user/--password into conduit listen: stored, the user named on the association line (not verified); --pos-response gets no positive response, as PS3.7 D.3.3.7 allows an acceptor that verifies none', { skip }, async () => {
  const ct = join(TEST_FILES, 'CT_small.dcm');
  const ok = await run('storescu', ['-aet', 'WITHUSER', '--user', 'alice', '--password', 'secret', '127.0.0.1', String(listen.port), ct]);
  assert.equal(ok.status, 0, ok.stderr);
  await listen.proc.waitFor(/association \d+: from WITHUSER \(\S+\) to ANY-SCP, user "alice" \(not verified\)\n/);
  assert.doesNotMatch(listen.proc.stdout, /secret/);
  const positive = await run('storescu', ['--user', 'alice', '--password', 'secret', '--pos-response', '127.0.0.1', String(listen.port), ct]);
  assert.notEqual(positive.status, 0);
  assert.match(positive.stderr + positive.stdout, /User Identity Negotiation failed/i);
});

test('storescu --user/--password --pos-response into conduit listen --users: verified and confirmed; a wrong passcode or no identity is rejected', { skip }, async () => {
  const ct = join(TEST_FILES, 'CT_small.dcm');
  const users = join(work, 'users.txt');
  writeFileSync(users, '# name:passcode\nalice:secret\n');
  const out = join(work, 'out-users');
  const guarded = await startConduitListen(out, ['--users', users]);
  try {
    const positive = await run('storescu', ['-aet', 'WITHUSER', '--user', 'alice', '--password', 'secret', '--pos-response', '127.0.0.1', String(guarded.port), ct]);
    assert.equal(positive.status, 0, positive.stderr);
    await guarded.proc.waitFor(/association \d+: from WITHUSER \(\S+\) to ANY-SCP, user "alice" \(verified\)\n/);
    assert.equal(readdirSync(out).filter((n) => n.endsWith('.dcm')).length, 1);
    const wrong = await run('storescu', ['--user', 'alice', '--password', 'guess', '127.0.0.1', String(guarded.port), ct]);
    assert.notEqual(wrong.status, 0);
    await guarded.proc.waitForStderr(/refused a user identity: wrong or missing passcode for user "alice"/);
    const none = await run('storescu', ['127.0.0.1', String(guarded.port), ct]);
    assert.notEqual(none.status, 0);
    await guarded.proc.waitFor(/rejected an association from STORESCU: .*no-reason-given.* \(--users: no user identity sent, or one not accepted\)/);
    assert.equal(readdirSync(out).filter((n) => n.endsWith('.dcm')).length, 1, 'nothing stored from the rejected ones');
  } finally {
    await guarded.proc.stop();
  }
});

// ---- storescu variants into conduit listen ----

test('storescu (default proposals, files listed) into conduit listen: every file it stores arrives unchanged', { skip }, async () => {
  assert.ok(await storescuVariant({ args: [] }) > 100);
});

test('storescu -xi (Implicit VR Little Endian only): DCMTK transcodes, the data sets still match', { skip }, async () => {
  assert.ok(await storescuVariant({ args: ['-xi'] }) > 100);
});

test('storescu -xb (Big Endian first) and -xe (Little Endian first)', { skip }, async () => {
  assert.ok(await storescuVariant({ args: ['-xb'] }) > 100);
  assert.ok(await storescuVariant({ args: ['-xe'] }) > 100);
});

test('storescu +r +sd (folders scanned recursively)', { skip }, async () => {
  assert.ok(await storescuVariant({ args: ['+r', '+sd'], folders: true }) > 100);
});

test('storescu with small PDUs (-pdu 4096 --max-send-pdu 4096, to a listener announcing 4096) and large ones (-pdu 131072)', { skip }, async () => {
  assert.ok(await storescuVariant({ args: ['-pdu', '4096', '--max-send-pdu', '4096'], target: smallPdu }) > 100);
  assert.ok(await storescuVariant({ args: ['-pdu', '131072'] }) > 100);
});

test('storescu -R with each compressed syntax proposed (-xy, -xs, -xv, -xw, -xt, -xr, -xd...): the files arrive in their own syntax, unchanged', { skip }, async () => {
  let sent = 0;
  for (const [i, round] of rounds.entries()) {
    const byTs = new Map<string, CorpusFile[]>();
    for (const f of round) if (PROPOSE[f.transferSyntaxUid]) byTs.set(f.transferSyntaxUid, [...(byTs.get(f.transferSyntaxUid) ?? []), f]);
    for (const [ts, files] of byTs) {
      for (const combine of [false, true]) {
        clear(listen.out);
        const result = await storescu(['-R', PROPOSE[ts]!, ...(combine ? ['+C'] : [])], files.map((f) => join(roundDirs[i]!, f.name)), listen.port);
        // DCMTK reads a few of pydicom's odd files differently (no SOP instance where pydicom finds one): those it skips.
        const expected = files.filter((f) => result.outcomes.get(join(roundDirs[i]!, f.name)) !== 'skipped');
        assert.equal(result.stored.size, expected.length, `${ts}${combine ? ' +C' : ''}:\n${result.output}`);
        assert.deepEqual(await compareAll(expected, listen.out, { exact: false }), [], `${ts}${combine ? ' +C' : ''}`);
        // The SCP kept a compressed syntax (with +C it was offered together with the uncompressed
        // ones); deflate it may trade for Explicit VR Little Endian, which costs DCMTK little.
        if (!isUncompressed(ts)) {
          for (const p of (await instancesIn(listen.out)).values()) assert.equal((await describeFile(p)).transferSyntaxUid, ts);
        }
        sent += expected.length;
      }
    }
  }
  assert.ok(sent > 40, `${sent} compressed files stored`);
});

// ---- conduit store into storescp ----

test('conduit store into DCMTK storescp (+xa, bit-preserving): every storable file arrives unchanged', { skip }, async () => {
  const out = join(work, 'storescp');
  mkdirSync(out);
  const scp = await startOnFreePort('storescp', 'storescp', (port) => ['+xa', '+B', '-od', out, String(port)]);
  try {
    let sent = 0;
    for (const [i, round] of rounds.entries()) {
      clear(out);
      const r = await conduit(['store', '--aec', 'STORESCP', '127.0.0.1', String(scp.port), roundDirs[i]!], { timeout: 120_000 });
      // storescp refuses a few SOP classes it does not know (its list predates them): those are the only failures allowed.
      const failed = r.stderr.split('\n').filter((l) => l.startsWith('conduit store: failed:'));
      for (const l of failed) assert.match(l, /peer accepted no presentation context for SOP class/, `round ${i}: ${r.stderr}`);
      const notStored = new Set(failed.map((l) => l.match(/failed: (.*?): /)![1]!));
      const stored = round.filter((f) => !notStored.has(join(roundDirs[i]!, f.name)));
      assert.deepEqual(await compareAll(stored, out, { exact: true }), [], `round ${i}`);
      sent += stored.length;
    }
    assert.ok(sent > 120, `${sent} files stored`);
  } finally {
    await scp.proc.stop();
  }
});

test('conduit store into storescp at its smallest and largest maximum PDU lengths (-pdu 4096, 131072; +B): every PDU within them, every file unchanged', { skip }, async () => {
  // The data sets go out laid out in the PDUs' places (dimse/laid-out.ts); storescp aborts on a PDU
  // longer than it announced, and +B writes the data set as received.
  for (const pdu of [4096, 131072]) {
    const out = join(work, `storescp-pdu-${pdu}`);
    mkdirSync(out);
    const scp = await startOnFreePort('storescp', 'storescp', (port) => ['+xa', '+B', '-pdu', String(pdu), '-od', out, String(port)]);
    try {
      const round = rounds[0]!;
      const r = await conduit(['store', '--aec', 'STORESCP', '127.0.0.1', String(scp.port), roundDirs[0]!], { timeout: 120_000 });
      const failed = r.stderr.split('\n').filter((l) => l.startsWith('conduit store: failed:'));
      for (const l of failed) assert.match(l, /peer accepted no presentation context for SOP class/, `-pdu ${pdu}: ${r.stderr}`);
      const notStored = new Set(failed.map((l) => l.match(/failed: (.*?): /)![1]!));
      const stored = round.filter((f) => !notStored.has(join(roundDirs[0]!, f.name)));
      assert.ok(stored.length > 40, `${stored.length} files stored at -pdu ${pdu}`);
      assert.deepEqual(await compareAll(stored, out, { exact: true }), [], `-pdu ${pdu}`);
    } finally {
      await scp.proc.stop();
    }
  }
});

test('conduit store of a file cut short (pydicom\'s MR_truncated) into storescp, which aborts on it: the failure says the file is damaged and where, the next file is stored', { skip }, async () => {
  const out = join(work, 'storescp-truncated');
  mkdirSync(out);
  const truncated = join(TEST_FILES, 'MR_truncated.dcm');
  const scp = await startOnFreePort('storescp', 'storescp', (port) => ['-od', out, String(port)]);
  try {
    const r = await conduit(['store', '--aec', 'STORESCP', '127.0.0.1', String(scp.port), truncated, join(TEST_FILES, 'CT_small.dcm')]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^sent 1, failed 1,/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^conduit store: failed: ${truncated.replace(/[.]/g, '\\.')}: the file is damaged: value length 8192 exceeds the 8130 bytes remaining \\(tag \\(7FE0,0010\\), offset 1488\\) \\[ERR_DICOM_TRUNCATED\\]; sent as it was, then: peer aborted the association`));
  } finally {
    await scp.proc.stop();
  }
});

// ---- TLS ----

let certs: Certificates | undefined;
async function certificates(): Promise<Certificates> {
  if (!certs) {
    const dir = join(work, 'tls');
    mkdirSync(dir);
    certs = await makeCertificates(dir);
  }
  return certs;
}

test('TLS: echoscu and storescu +tls with a client certificate to conduit listen with TLS (client certificates required)', { skip: skipTls }, async () => {
  const c = await certificates();
  const out = join(work, 'tls-out');
  const l = await startConduitListen(out, ['--tls-key', c.serverKey, '--tls-cert', c.serverCert, '--tls-ca', c.ca]);
  try {
    const echo = await run('echoscu', ['-v', '+tls', c.clientKey, c.clientCert, '+cf', c.ca, '127.0.0.1', String(l.port)]);
    assert.equal(echo.status, 0, echo.stderr);
    assert.match(echo.stderr + echo.stdout, /Received Echo Response \(Success\)/);
    const untrusted = await run('echoscu', ['+tls', c.clientKey, c.clientCert, '+cf', c.otherCa, '127.0.0.1', String(l.port)]);
    assert.notEqual(untrusted.status, 0, 'echoscu must not trust a server certificate from another CA');
    assert.match(untrusted.stderr + untrusted.stdout, /certificate verify failed/);
    const files = rounds[0]!.filter((f) => ['CT_small.dcm', 'MR_small.dcm', 'rtplan.dcm'].includes(f.name));
    const stored = await storescu(['+tls', c.clientKey, c.clientCert, '+cf', c.ca], files.map((f) => f.path), l.port);
    assert.equal(stored.stored.size, files.length, stored.output);
    assert.deepEqual(await compareAll(files, out, { exact: false }), []);
  } finally {
    await l.proc.stop();
  }
});

test('TLS: conduit echo and store to storescp +tls, verifying its certificate; an untrusted CA and a missing client certificate fail', { skip: skipTls }, async () => {
  const c = await certificates();
  const out = join(work, 'storescp-tls');
  mkdirSync(out);
  const scp = await startOnFreePort('storescp +tls', 'storescp', (port) => ['+tls', c.serverKey, c.serverCert, '+cf', c.ca, '+xa', '+B', '-od', out, String(port)]);
  try {
    const client = ['--tls-ca', c.ca, '--tls-key', c.clientKey, '--tls-cert', c.clientCert];
    const ok = await conduit(['echo', ...client, 'localhost', String(scp.port)]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /0000H Success.*TLSv1\.[23]/);
    const byIp = await conduit(['echo', ...client, '127.0.0.1', String(scp.port)]);
    assert.equal(byIp.status, 0, byIp.stderr);
    const wrongCa = await conduit(['echo', '--tls-ca', c.otherCa, '--tls-key', c.clientKey, '--tls-cert', c.clientCert, 'localhost', String(scp.port)]);
    assert.equal(wrongCa.status, 1);
    assert.match(wrongCa.stderr, /TLS to localhost:\d+ failed: the server certificate chains to a CA that is not trusted|TLS to localhost:\d+ failed/);
    const noCert = await conduit(['echo', '--tls-ca', c.ca, 'localhost', String(scp.port)]);
    assert.equal(noCert.status, 1);
    assert.match(noCert.stderr, /TLS to localhost:\d+ failed: |reset the connection|closed/);
    const files = rounds[0]!.filter((f) => ['CT_small.dcm', 'MR_small.dcm', 'JPEG2000-embedded-sequence-delimiter.dcm'].includes(f.name));
    const stored = await conduit(['store', ...client, 'localhost', String(scp.port), ...files.map((f) => f.path)]);
    assert.equal(stored.status, 0, stored.stderr);
    assert.deepEqual(await compareAll(files, out, { exact: true }), []);
  } finally {
    await scp.proc.stop();
  }
});
