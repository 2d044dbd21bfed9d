/**
 * Helpers for the network tests that run real processes: the built `conduit` command as a child,
 * peers (DCMTK, Orthanc) started on free ports with TCP_NODELAY=1 and waited for by polling a
 * connection (never a fixed sleep), pydicom's test files that can be stored, and the check that a
 * received file's data set is the one sent.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeFile } from '../../src/ae/index.js';
import type { DataSet } from '../../src/data/data-set.js';
import { transferSyntax } from '../../src/data/transfer-syntax.js';
import { encodeDataSet } from '../../src/data/writer.js';
import { readFile } from '../../src/media/part10.js';
import { isStorageSopClass } from '../../src/services/storage/storage-sop-classes.js';
import { PYDICOM_DATA } from './peers.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = join(ROOT, 'bin/conduit');
export const TEST_FILES = join(PYDICOM_DATA, 'test_files');
/** DCMTK leaves Nagle on unless told otherwise: ~40 ms per DIMSE round trip. */
export const PEER_ENV = { ...process.env, TCP_NODELAY: '1' };

// ---- waiting ----

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

/** Resolves once a TCP connection to the port succeeds (closed at once), polling every 50 ms. */
export async function waitForPort(port: number, options: { host?: string; timeout?: number; alive?: () => boolean } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeout ?? 20_000);
  for (;;) {
    if (options.alive && !options.alive()) throw new Error(`the process meant to listen on port ${port} has exited`);
    const ok = await new Promise<boolean>((res) => {
      const s = net.connect({ port, host: options.host ?? '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A port free at the time of asking (bound on port 0, then released). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => res(port));
    });
  });
}

// ---- child processes ----

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (asynchronously, so servers in this process keep serving). */
export function run(cmd: string, args: readonly string[], options: SpawnOptions & { timeout?: number } = {}): Promise<RunResult> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { env: PEER_ENV, ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`${cmd} ${args.join(' ')} took more than ${options.timeout ?? 60_000} ms\n${stdout}\n${stderr}`));
    }, options.timeout ?? 60_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      res({ status, signal, stdout, stderr });
    });
  });
}

/** Runs the built CLI: `node bin/conduit ...args`. */
export function conduit(args: readonly string[], options: SpawnOptions & { timeout?: number } = {}): Promise<RunResult> {
  return run(process.execPath, [BIN, ...args], options);
}

/** A long-running child (a server), with its output so far and a stop() that signals only it. */
export class Background {
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
  private running = true;

  constructor(readonly child: ChildProcess, readonly name: string) {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((res) => child.once('exit', (status, signal) => {
      this.running = false;
      res({ status, signal });
    }));
    child.once('error', () => {
      this.running = false;
    });
  }

  static start(name: string, cmd: string, args: readonly string[], options: SpawnOptions = {}): Background {
    return new Background(spawn(cmd, args, { env: PEER_ENV, ...options, stdio: ['ignore', 'pipe', 'pipe'] }), name);
  }

  get alive(): boolean {
    return this.running;
  }

  /** Resolves with the first match of `re` in stdout. */
  waitFor(re: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
    return this.waitOn('stdout', re, ms);
  }

  /** Resolves with the first match of `re` in stderr. */
  waitForStderr(re: RegExp, ms = 20_000): Promise<RegExpMatchArray> {
    return this.waitOn('stderr', re, ms);
  }

  private waitOn(stream: 'stdout' | 'stderr', re: RegExp, ms: number): Promise<RegExpMatchArray> {
    return withTimeout(new Promise<RegExpMatchArray>((res, rej) => {
      const check = (): void => {
        const m = this[stream].match(re);
        if (m) {
          this.child[stream]?.off('data', check);
          res(m);
        } else if (!this.running) {
          rej(new Error(`${this.name} exited before printing ${re}:\n${this.stdout}\n${this.stderr}`));
        }
      };
      this.child[stream]?.on('data', check);
      void this.exited.then(check);
      check();
    }), ms, `${this.name} to print ${re} on ${stream}\n${this.stderr}`);
  }

  /** Sends `signal` to this child only, and waits for it to exit (SIGKILL after `ms`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', ms = 10_000): Promise<{ status: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** `conduit listen --port 0 ...` started and its port read from the first line. */
export async function startConduitListen(outDir: string, extra: readonly string[] = []): Promise<{ proc: Background; port: number }> {
  const proc = Background.start('conduit listen', process.execPath, [BIN, 'listen', '--port', '0', '--out', outDir, ...extra]);
  const m = await proc.waitFor(/^listening on port (\d+)/m);
  return { proc, port: Number(m[1]) };
}

/**
 * Starts a server that takes its port on the command line, on a free port, waiting until it
 * accepts connections; a lost race for the port (the server exits) is retried on another one.
 */
export async function startOnFreePort(name: string, cmd: string, args: (port: number) => string[], options: SpawnOptions = {}): Promise<{ proc: Background; port: number }> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const proc = Background.start(name, cmd, args(port), options);
    try {
      await waitForPort(port, { alive: () => proc.alive });
      return { proc, port };
    } catch (e) {
      last = e;
      await proc.stop('SIGKILL');
    }
  }
  throw new Error(`${name} did not start: ${String(last)}`);
}

// ---- the corpus ----

export interface CorpusFile {
  path: string;
  /** Relative to the pydicom test files folder. */
  name: string;
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
}

/** The files under `dir`, recursively, sorted. */
export function walk(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/**
 * pydicom's test files that a Storage SCU can send: Part 10 files (or bare data sets) with a SOP
 * Class and Instance, of a Storage SOP Class (no DICOMDIR), read whole without error or warning
 * (no truncated files, no mislabelled encodings).
 */
export async function storableCorpus(): Promise<CorpusFile[]> {
  const out: CorpusFile[] = [];
  for (const path of walk(TEST_FILES)) {
    try {
      const d = await describeFile(path);
      if (!isStorageSopClass(d.sopClassUid)) continue;
      const full = await readFile(path);
      if (full.warnings.length > 0 || full.meta.size === 0) continue;
      out.push({ path, name: relative(TEST_FILES, path), sopClassUid: d.sopClassUid, sopInstanceUid: d.sopInstanceUid, transferSyntaxUid: d.transferSyntaxUid });
    } catch {
      // not storable
    }
  }
  return out;
}

/** The files split into rounds in which each SOP Instance UID occurs once (pydicom has variants of one instance). */
export function roundsOfUniqueInstances(files: readonly CorpusFile[]): CorpusFile[][] {
  const rounds: { uids: Set<string>; files: CorpusFile[] }[] = [];
  for (const f of files) {
    let r = rounds.find((x) => !x.uids.has(f.sopInstanceUid));
    if (!r) rounds.push((r = { uids: new Set(), files: [] }));
    r.uids.add(f.sopInstanceUid);
    r.files.push(f);
  }
  return rounds.map((r) => r.files);
}

/** Copies the files into `dir`, keeping their relative paths (a folder tree to send). */
export function copyInto(dir: string, files: readonly CorpusFile[]): void {
  for (const f of files) {
    const to = join(dir, f.name);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(f.path, to);
  }
}

/** SOP Instance UID -> path, for the Part 10 files in a folder (recursively). */
export async function instancesIn(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of walk(dir)) {
    if (p.endsWith('.partial') || /\/\.[^/]*$/.test(p)) continue;
    try {
      const d = await describeFile(p);
      out.set(d.sopInstanceUid, p);
    } catch {
      // not DICOM
    }
  }
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

const TEXT_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);

/**
 * A data set brought to one form for comparing what two encoders wrote, as DCMTK re-encodes what it
 * sends: every sequence and item of undefined length (DCMTK writes explicit lengths), no group
 * lengths (gggg,0000, which it recalculates), no Data Set Trailing Padding (FFFC,FFFC, which it
 * drops), text values without trailing spaces or NULs (which it trims), encapsulated Pixel Data as
 * OB (PS3.5 A.4; some files say OW). Changes `ds` in place.
 */
function normalize(ds: DataSet): DataSet {
  for (const e of ds.elements()) {
    if ((e.tag & 0xffff) === 0 || e.tag === 0xfffcfffc) {
      ds.delete(e.tag);
      continue;
    }
    if (e.items) {
      e.undefinedLength = true;
      for (const item of e.items) {
        item.undefinedLength = true;
        normalize(item);
      }
    } else if (e.encapsulated) {
      e.vr = 'OB';
    } else if (TEXT_VRS.has(e.vr) && !e.bulk) {
      const b = e.bytes;
      let end = b.length;
      while (end > 0 && (b[end - 1] === 0x20 || b[end - 1] === 0x00)) end--;
      if (end !== b.length) e.setBytes(b.slice(0, end));
    }
  }
  return ds;
}

/**
 * Whether the received file holds the data set that was sent: undefined if so, else what differs.
 * `exact`: the data set bytes after the File Meta Information must be identical when the transfer
 * syntax is the same (a sender that streams the file's bytes, like Conduit); otherwise (a sender
 * that re-encodes, like DCMTK, or a transcoding to another uncompressed syntax) the sent data set,
 * encoded in the received syntax by Conduit's writer, must equal the received bytes, or failing
 * that both parsed, normalized (sequence lengths, group lengths, trailing padding) and re-encoded.
 */
export async function compareReceived(sentPath: string, receivedPath: string, options: { exact?: boolean } = {}): Promise<string | undefined> {
  const exact = options.exact ?? true;
  const sentBytes = readFileSync(sentPath);
  const receivedBytes = readFileSync(receivedPath);
  const sent = await readFile(sentPath, { bulkDataThreshold: Infinity });
  const received = await readFile(receivedPath, { bulkDataThreshold: Infinity });
  if (received.meta.size === 0) return 'the received file has no File Meta Information';
  const sop = (f: typeof sent, tag: number, metaTag: number) => f.dataSet.string(tag) || f.meta.string(metaTag);
  if (sop(received, 0x00080018, 0x00020003) !== sop(sent, 0x00080018, 0x00020003)) return 'the SOP Instance UIDs differ';
  if (sop(received, 0x00080016, 0x00020002) !== sop(sent, 0x00080016, 0x00020002)) return 'the SOP Class UIDs differ';
  const sentBody = sentBytes.subarray(sent.dataSetOffset ?? 0);
  const receivedBody = receivedBytes.subarray(received.dataSetOffset ?? 0);
  const sentTs = sent.transferSyntaxUid;
  const receivedTs = received.transferSyntaxUid;
  if (sentTs === receivedTs && equalBytes(sentBody, receivedBody)) return undefined;
  const target = transferSyntax(receivedTs);
  const source = transferSyntax(sentTs);
  if (sentTs === receivedTs && exact && !target.deflated) {
    return `same transfer syntax ${sentTs}, but the data set bytes differ (lengths ${sentBody.length} and ${receivedBody.length}, first difference at ${firstDifference(sentBody, receivedBody)})`;
  }
  // A peer that decompressed (DCMTK decodes RLE when only uncompressed syntaxes were accepted):
  // everything but the pixels must be the same; the pixels are not compared here.
  const decompressed = !exact && source.encapsulated && !target.encapsulated;
  if (sentTs !== receivedTs && (target.encapsulated || source.encapsulated) && !decompressed) {
    return `transcoded from ${sentTs} to ${receivedTs}, which no uncompressed conversion explains`;
  }
  if (decompressed) {
    for (const f of [sent, received]) f.dataSet.delete(0x7fe00010);
  }
  const enc = { explicitVR: target.explicitVR, littleEndian: target.littleEndian };
  if (!target.deflated) {
    const reencoded = encodeDataSet(sent.dataSet, enc, { recalculateGroupLengths: source.explicitVR !== target.explicitVR });
    if (equalBytes(reencoded, receivedBody)) return undefined;
  }
  const normalizedSent = encodeDataSet(normalize(sent.dataSet), enc);
  const normalizedReceived = encodeDataSet(normalize(received.dataSet), enc);
  if (equalBytes(normalizedSent, normalizedReceived)) return undefined;
  return `${sentTs === receivedTs ? `re-encoded in ${sentTs}` : `transcoded from ${sentTs} to ${receivedTs}`}: the data sets differ ` +
    `(normalized lengths ${normalizedSent.length} and ${normalizedReceived.length}, first difference at ${firstDifference(normalizedSent, normalizedReceived)})`;
}

/** Compares every sent file with the one received under its SOP Instance UID; returns the problems. */
export async function compareAll(sent: readonly CorpusFile[], receivedDir: string, options: { exact?: boolean } = {}): Promise<string[]> {
  const received = await instancesIn(receivedDir);
  const problems: string[] = [];
  for (const f of sent) {
    const r = received.get(f.sopInstanceUid);
    if (!r) {
      problems.push(`${f.name}: not received`);
      continue;
    }
    const diff = await compareReceived(f.path, r, options);
    if (diff) problems.push(`${f.name}: ${diff}`);
  }
  if (received.size !== new Set(sent.map((f) => f.sopInstanceUid)).size) problems.push(`${received.size} objects received for ${sent.length} sent`);
  return problems;
}

// ---- TLS material ----

export interface Certificates {
  ca: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
  /** A CA that signed nothing here: verifying against it fails. */
  otherCa: string;
}

/**
 * A test CA and a server and a client certificate it signs (RSA 2048, valid two days; the server's
 * names localhost and 127.0.0.1), made with the openssl command into `dir`.
 */
export async function makeCertificates(dir: string): Promise<Certificates> {
  const p = (n: string) => join(dir, n);
  const openssl = async (...args: string[]): Promise<void> => {
    const r = await run('openssl', args, { cwd: dir });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${r.stderr}`);
  };
  for (const ca of ['ca', 'other-ca']) {
    await openssl('req', '-x509', '-newkey', 'rsa:2048', '-noenc', '-keyout', p(`${ca}.key`), '-out', p(`${ca}.pem`), '-days', '2',
      '-subj', `/CN=Conduit test ${ca}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  }
  let serial = 2;
  for (const who of ['server', 'client']) {
    writeFileSync(p(`${who}.ext`), [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      `subjectAltName=${who === 'server' ? 'DNS:localhost,IP:127.0.0.1' : 'DNS:conduit-client'}`,
      '',
    ].join('\n'));
    await openssl('req', '-newkey', 'rsa:2048', '-noenc', '-keyout', p(`${who}.key`), '-out', p(`${who}.csr`), '-subj', `/CN=${who === 'server' ? 'localhost' : 'conduit-client'}`);
    await openssl('x509', '-req', '-in', p(`${who}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-set_serial', String(serial++),
      '-days', '2', '-out', p(`${who}.pem`), '-extfile', p(`${who}.ext`));
  }
  return {
    ca: p('ca.pem'), serverKey: p('server.key'), serverCert: p('server.pem'), clientKey: p('client.key'), clientCert: p('client.pem'),
    otherCa: p('other-ca.pem'),
  };
}
