/**
 * `conduit store [--aet A] [--aec B] [--max-pdu N] [--tls...] HOST PORT PATH...`: sends DICOM files
 * (and the files under folders, recursively) to a Storage SCP with C-STORE (PS3.4 Annex B), like
 * DCMTK's storescu +r +sd. Presentation contexts come from the files' SOP classes and transfer
 * syntaxes; more than the 128 an association allows (PS3.8 §9.3.2.2) are spread over several
 * associations. A file whose uncompressed transfer syntax the peer did not accept goes as Explicit or
 * Implicit VR Little Endian (the client transcodes it).
 */
import { statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError, Option } from 'commander';
import { connect, proposalsFor, type AssociationClient, type StoreOptions as ClientStoreOptions } from '../../ae/client.js';
import { DicomError } from '../../core/dicom-error.js';
import { readFile } from '../../media/part10.js';
import {
  DESCRIBE_HEAD_LENGTH, describeFile, describeFileFromHeadSync, readAndDescribeIntoSlotsSync, readAndDescribeSync, type DataSetBytes, type SendableFile,
} from '../../services/storage/file-source.js';
import type { SlotBuffer } from '../../dimse/laid-out.js';
import { ProgressBar } from '../progress.js';
import {
  addTimeoutOption, addTlsClientOptions, describeNetworkError, exitWhenFlushed, parseAeTitle, parseMaxPdu, parsePort, timeoutsFor, tlsClientOptions,
  type TlsFlags,
} from '../network-options.js';
import { addUserIdentityOptions, checkIdentityConfirmed, userIdentityOf, type UserIdentityFlags } from '../user-identity-options.js';

/** PS3.8 §9.3.2.2: presentation context IDs are odd numbers from 1 to 255. */
const MAX_CONTEXTS = 128;
/** Media Storage Directory Storage: a DICOMDIR describes a file-set, it is not sent over the network. */
const MEDIA_STORAGE_DIRECTORY = '1.2.840.10008.1.3.10';
/**
 * Candidates described before the first association opens: it proposes their kinds, so a set of
 * this many files or fewer goes on one association (more kinds than --max-contexts aside); the
 * rest are described while sending (ADR 0024).
 */
export const DESCRIBED_BEFORE_CONNECT = 64;
/** Files whose headers are read at once. */
const DESCRIBE_CONCURRENCY = 16;

interface StoreOptions extends TlsFlags, UserIdentityFlags {
  aet: string;
  aec: string;
  maxPdu: number;
  maxContexts: number;
  timeout: number;
  recurse: boolean;
  verbose?: boolean;
  progress: boolean;
}

export interface Failure {
  path: string;
  reason: string;
}

export function storeCommand(): Command {
  const command = new Command('store')
    .description('send DICOM files and folders to a Storage SCP (C-STORE), like storescu +r +sd')
    .argument('<host>', 'host name or IP address of the peer')
    .argument('<port>', 'its TCP port', parsePort)
    .argument('<path...>', 'DICOM files, or folders to send everything in (recursively)')
    .addOption(new Option('--aet <title>', 'calling AE title (this end)').default('CONDUIT').argParser(parseAeTitle))
    .addOption(new Option('--aec <title>', 'called AE title (the peer)').default('ANY-SCP').argParser(parseAeTitle))
    .addOption(new Option('--max-pdu <bytes>', 'largest PDU this end receives (Maximum Length announced; 0 = no limit)').default(256 * 1024).argParser(parseMaxPdu))
    .addOption(new Option('--max-contexts <n>', 'presentation contexts per association (1 to 128); more kinds of files go over several associations')
      .default(MAX_CONTEXTS).argParser(parseMaxContexts))
    .option('--no-recurse', 'do not descend into folders named on the command line');
  addTimeoutOption(command, 'give up on connecting, on the association and on each C-STORE answer after this long');
  addTlsClientOptions(command);
  addUserIdentityOptions(command);
  return command
    .option('-v, --verbose', 'print a line per file sent')
    .option('--no-progress', 'no progress bar (it is drawn only when stderr is a terminal)')
    .addHelpText('after', `
Files that are not DICOM, DICOMDIRs, links to folders (not followed), broken links and FIFOs are
skipped with a note. At the end a summary line gives the files sent, failed and with warnings, the
bytes, the time and the rate; each failure is listed with its status and Error Comment.
Exit status: 0 when every file was stored, 1 otherwise, 130 when interrupted (Ctrl-C: the association
is aborted, the files not sent are listed as failures).

Examples:
  conduit store localhost 11112 image.dcm
  conduit store --aec ORTHANC pacs.example.org 4242 /data/study1 /data/study2
  conduit store --max-pdu 16384 --tls-ca ca.pem pacs.example.org 2762 ./export`)
    .action(async (host: string, port: number, paths: string[], options: StoreOptions) => {
      await exitWhenFlushed(await runStore(host, port, paths, options));
    });
}

function parseMaxContexts(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_CONTEXTS) throw new InvalidArgumentError('expected a number from 1 to 128');
  return n;
}

// ---- finding and describing the files ----

/** A file to describe; its size when a stat of the path named gave it. */
interface Candidate {
  path: string;
  size?: number;
  /** Why it is not read: a link to a folder, a broken link, not a regular file. */
  skip?: string;
}

const NOT_A_FILE = 'not a regular file (a FIFO, socket or device)';

/** Files named, and those under folders named (sorted, so runs are repeatable). */
async function collectFiles(paths: readonly string[], recurse: boolean, failures: Failure[]): Promise<Candidate[]> {
  const out: Candidate[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      failures.push({ path: dir, reason: `cannot read the folder: ${systemText(err)}` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push({ path: p });
      else if (e.isSymbolicLink()) {
        const s = await stat(p).catch((err: unknown) => err as NodeJS.ErrnoException);
        if (s instanceof Error) out.push({ path: p, skip: s.code === 'ENOENT' ? 'a broken link' : `a link that cannot be followed: ${systemText(s)}` });
        else if (s.isFile()) out.push({ path: p, size: s.size });
        // Links to folders are not followed (they could loop), but said: a tree of links sends nothing.
        else if (s.isDirectory()) out.push({ path: p, skip: 'a link to a folder, not followed (name the folder itself to send it)' });
        else out.push({ path: p, skip: NOT_A_FILE });
      } else {
        out.push({ path: p, skip: NOT_A_FILE });
      }
    }
  };
  for (const path of paths) {
    let s;
    try {
      // Synchronous: a system call each, where an awaited stat costs a thread-pool round trip per
      // path named (storescu is given thousands of files the same way).
      s = statSync(path);
    } catch (err) {
      failures.push({ path, reason: systemText(err) });
      continue;
    }
    if (s.isDirectory()) {
      if (recurse) await walk(path);
      else failures.push({ path, reason: 'is a folder (and --no-recurse was given)' });
    } else {
      // A FIFO (a shell's <(...)) would block the synchronous scan until a writer came.
      out.push(s.isFile() ? { path, size: s.size } : { path, skip: NOT_A_FILE });
    }
  }
  return out;
}

function systemText(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT': return 'no such file or folder';
    case 'EACCES': case 'EPERM': return 'permission denied';
    default: return err instanceof Error ? err.message : String(err);
  }
}

type Described = { kind: 'file'; file: SendableFile } | { kind: 'skip'; note: string } | { kind: 'fail'; reason: string };

function described(file: SendableFile): Described {
  if (file.sopClassUid === MEDIA_STORAGE_DIRECTORY) return { kind: 'skip', note: 'a DICOMDIR, not sent (it describes a file-set)' };
  return { kind: 'file', file };
}

/** A file the synchronous scan could not describe, through describeFile (which also gives the errors). */
async function describe(path: string): Promise<Described> {
  try {
    return described(await describeFile(path));
  } catch (err) {
    if (err instanceof DicomError && err.code === 'ERR_DICOM_NOT_DICOM') return { kind: 'skip', note: 'not a DICOM file' };
    const system = (err as { cause?: NodeJS.ErrnoException }).cause?.code ?? (err as NodeJS.ErrnoException).code;
    if (system === 'EACCES' || system === 'EPERM') return { kind: 'fail', reason: 'cannot read it: permission denied' };
    return { kind: 'fail', reason: `cannot read it: ${err instanceof DicomError ? `${err.message} [${err.code}]` : String(err)}` };
  }
}

/** Runs `fn` over `items` with at most `limit` at once, keeping the order of the results. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * The DICOM files named and under the folders named, their headers read: files that are not DICOM
 * (and DICOMDIRs) are skipped with a note on stderr (`who: skipped ...`), unreadable ones added
 * to `failures`.
 */
export async function gatherFiles(paths: readonly string[], recurse: boolean, failures: Failure[], who: string): Promise<{ files: SendableFile[]; skipped: number }> {
  const candidates = await collectFiles(paths, recurse, failures);
  // Headers are read synchronously into one buffer, in one loop (storescu scans its files the same
  // way); only files whose UIDs lie further in, or that the scan cannot read, go through
  // describeFile, several at once.
  const scratch = new Uint8Array(DESCRIBE_HEAD_LENGTH);
  const results = new Array<Described | undefined>(candidates.length);
  const slow: number[] = [];
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    if (c.skip !== undefined) {
      results[i] = { kind: 'skip', note: c.skip };
      continue;
    }
    const file = describeFileFromHeadSync(c.path, scratch, c.size);
    if (file !== undefined) results[i] = described(file);
    else slow.push(i);
  }
  if (slow.length > 0) {
    const late = await mapLimited(slow, DESCRIBE_CONCURRENCY, (i) => describe(candidates[i]!.path));
    for (const [k, i] of slow.entries()) results[i] = late[k];
  }
  const files: SendableFile[] = [];
  let skipped = 0;
  for (let i = 0; i < candidates.length; i++) {
    const d = results[i]!;
    if (d.kind === 'file') files.push(d.file);
    else if (d.kind === 'skip') {
      skipped++;
      process.stderr.write(`${who}: skipped ${candidates[i]!.path}: ${d.note}\n`);
    } else {
      failures.push({ path: candidates[i]!.path, reason: d.reason });
    }
  }
  return { files, skipped };
}

/**
 * The candidates described one at a time, in order, as the sending reaches them (`conduit store`,
 * docs/adr/0024-store-describes-while-sending.md): the first association opens once the first
 * DESCRIBED_BEFORE_CONNECT candidates are described, and each later file is described while the
 * previous one's response is awaited (peek, from the read-ahead), not all before the first byte
 * goes. Skipped files are noted and unreadable ones added to the failures when met.
 */
class FileQueue {
  private at = 0;
  /** Candidates dealt with so far (described, skipped or failed). */
  get reached(): number {
    return this.at;
  }
  /** The description of candidates[at], when peek() made it. */
  private held: Described | undefined;
  private readonly scratch = new Uint8Array(DESCRIBE_HEAD_LENGTH);
  skipped = 0;

  constructor(
    private readonly candidates: readonly Candidate[],
    private readonly failures: Failure[],
    /** A candidate that is not sent after all (skipped with `note`, or failed): for the notes and the progress totals. */
    private readonly dropped: (candidate: Candidate, note?: string) => void,
  ) {}

  /**
   * The next file that `accept` takes, described (by the header scan, else by describeFile);
   * the files met before it that it does not take go to `other`, in order. Undefined at the end.
   */
  async next(accept: (f: SendableFile) => boolean, other: (f: SendableFile) => void): Promise<SendableFile | undefined> {
    while (this.at < this.candidates.length) {
      const c = this.candidates[this.at]!;
      const d = this.held ?? this.describeSync(c) ?? await describe(c.path);
      this.held = undefined;
      this.at++;
      const file = this.take(c, d);
      if (file === undefined) continue;
      if (accept(file)) return file;
      other(file);
    }
    return undefined;
  }

  /**
   * What next() will return, if it can be told without waiting (files met before it are dealt
   * with as next() would): read whole into `buffer` and described from those bytes when it fits
   * (one read for both; its data set's bytes returned too), else by the header scan; undefined
   * when a file needs describeFile, or at the end.
   */
  peek(
    buffer: Uint8Array, slots: SlotBuffer | undefined, accept: (f: SendableFile) => boolean, other: (f: SendableFile) => void,
  ): { file: SendableFile; dataSet?: DataSetBytes } | undefined {
    while (this.at < this.candidates.length) {
      const c = this.candidates[this.at]!;
      let d = this.held;
      let read: { file: SendableFile; dataSet: DataSetBytes } | undefined;
      if (d === undefined) {
        if (c.skip === undefined && (c.size === undefined || c.size < buffer.length)) {
          // Into the PDUs' places when the client lays data sets out (one write per message).
          read = slots !== undefined ? readAndDescribeIntoSlotsSync(c.path, slots) : readAndDescribeSync(c.path, buffer);
        }
        d = read !== undefined ? described(read.file) : this.describeSync(c);
        if (d === undefined) return undefined;
      }
      if (d.kind === 'file' && accept(d.file)) {
        this.held = d;
        return read?.file === d.file ? read : { file: d.file };
      }
      this.held = undefined;
      this.at++;
      const file = this.take(c, d);
      if (file !== undefined) other(file);
    }
    return undefined;
  }

  /**
   * The candidates not reached (after an interrupt or a refused association), not read: those
   * known to be skipped (links to folders, FIFOs) are noted as such, the others returned.
   */
  rest(): Candidate[] {
    const out: Candidate[] = [];
    for (const c of this.candidates.slice(this.at)) {
      if (c.skip === undefined) out.push(c);
      else this.take(c, { kind: 'skip', note: c.skip });
    }
    this.at = this.candidates.length;
    this.held = undefined;
    return out;
  }

  private describeSync(c: Candidate): Described | undefined {
    if (c.skip !== undefined) return { kind: 'skip', note: c.skip };
    const file = describeFileFromHeadSync(c.path, this.scratch, c.size);
    return file === undefined ? undefined : described(file);
  }

  private take(c: Candidate, d: Described): SendableFile | undefined {
    if (d.kind === 'file') return d.file;
    if (d.kind === 'skip') {
      this.skipped++;
      this.dropped(c, `conduit store: skipped ${c.path}: ${d.note}`);
    } else {
      this.failures.push({ path: c.path, reason: d.reason });
      this.dropped(c);
    }
    return undefined;
  }
}

// ---- associations ----

/**
 * Files grouped so that each group's presentation contexts (proposalsFor) fit in one association:
 * files of the same SOP class and transfer syntax stay together, in the order first seen.
 */
export function planAssociations(files: readonly SendableFile[], maxContexts: number): SendableFile[][] {
  const byPair = new Map<string, SendableFile[]>();
  for (const f of files) {
    const key = `${f.sopClassUid}|${f.transferSyntaxUid}`;
    let list = byPair.get(key);
    if (!list) byPair.set(key, (list = []));
    list.push(f);
  }
  const groups: SendableFile[][] = [];
  let pairs: { sopClassUid: string; transferSyntaxUid: string }[] = [];
  let current: SendableFile[] = [];
  for (const list of byPair.values()) {
    const pair = { sopClassUid: list[0]!.sopClassUid, transferSyntaxUid: list[0]!.transferSyntaxUid };
    if (current.length > 0 && proposalsFor([...pairs, pair]).length > maxContexts) {
      groups.push(current);
      pairs = [];
      current = [];
    }
    pairs.push(pair);
    current.push(...list);
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

async function runStore(host: string, port: number, paths: string[], options: StoreOptions): Promise<number> {
  const where = `${host}:${port}`;
  const started = performance.now();
  const failures: Failure[] = [];
  const warnings: Failure[] = [];
  let tls;
  let identity;
  try {
    tls = tlsClientOptions(options);
    identity = userIdentityOf(options);
  } catch (err) {
    process.stderr.write(`conduit store: ${describeNetworkError(err, where)}\n`);
    return 1;
  }

  const candidates = await collectFiles(paths, options.recurse, failures);
  // The progress bar's totals: the files found, less those skipped or failed as they are met; the
  // bytes when every size is known (a folder's entries are not stat'ed).
  let total = 0;
  let totalBytes = 0;
  for (const c of candidates) {
    if (c.skip !== undefined) continue;
    total++;
    totalBytes = c.size === undefined || Number.isNaN(totalBytes) ? NaN : totalBytes + c.size;
  }
  const bar = new ProgressBar(process.stderr, total, Number.isNaN(totalBytes) ? 0 : totalBytes, options.progress ? {} : { enabled: false });
  let done = 0;
  let sent = 0;
  let bytes = 0;
  const queue = new FileQueue(candidates, failures, (c, note) => {
    if (note !== undefined) bar.note(note);
    if (c.skip === undefined) bar.update(done, bytes, --total);
  });
  // The first candidates are described before connecting, and the first association carries their
  // kinds; later files of those kinds are described as they are reached, files of other kinds kept
  // for the next associations.
  const later: SendableFile[] = [];
  const keep = (f: SendableFile): void => void later.push(f);
  const head: SendableFile[] = [];
  while (queue.reached < DESCRIBED_BEFORE_CONNECT) {
    const f = await queue.next(() => true, keep);
    if (f === undefined) break;
    head.push(f);
  }
  if (head.length === 0 && failures.length === 0) {
    bar.finish();
    process.stderr.write(`conduit store: no DICOM files to send in ${paths.join(', ')}\n`);
    return 1;
  }
  let client: AssociationClient | undefined;
  let fatal: string | undefined;
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    client?.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  // This process only sends: reading each file on the main thread beats two thread-pool round
  // trips per file (storescu reads synchronously too).
  const connectOptions = {
    synchronousFileReads: true,
    host, port, callingAeTitle: options.aet, calledAeTitle: options.aec, maxPduLength: options.maxPdu, ...timeoutsFor(options.timeout),
    ...(tls ? { tls } : {}),
    ...(identity ? { userIdentity: identity } : {}),
  };
  const notSent = (path: string): void => void failures.push({ path, reason: interrupted ? 'not sent: interrupted' : `not sent: ${fatal}` });
  /** One C-STORE on the association for `presentationContexts` (opened, or opened again, first). */
  const send = async (file: SendableFile, presentationContexts: ReturnType<typeof proposalsFor>, next: ClientStoreOptions['next']): Promise<void> => {
    if (fatal !== undefined || interrupted) return notSent(file.path);
    if (client === undefined || client.association.state !== 'Sta6') {
      try {
        client = await connect({ ...connectOptions, presentationContexts });
        await checkIdentityConfirmed(client, identity);
      } catch (err) {
        // The peer refused this end altogether (rejected, unreachable): later associations would fare no better.
        fatal = describeNetworkError(err, where, { tls: tls !== undefined });
        failures.push({ path: file.path, reason: `not sent: ${fatal}` });
        return;
      }
    }
    try {
      // The next file's data set is read while this one's response is awaited: against a peer
      // on another machine, and for files not in the page cache, the read then costs the cycle
      // nothing. (On one busy 2-core machine it competes with the receiver's work: ADR 0021.)
      const status = await client.store(file, { next });
      if (status.isCompleted) {
        sent++;
        bytes += file.size;
        if (status.isWarning) {
          warnings.push({ path: file.path, reason: status.description });
          bar.note(`conduit store: warning: ${file.path}: ${status.description}`);
        } else if (options.verbose) {
          bar.note(`stored ${file.path} (${file.sopInstanceUid})`);
        }
      } else {
        failures.push({ path: file.path, reason: status.description });
        if (options.verbose) bar.note(`conduit store: failed: ${file.path}: ${status.description}`);
      }
    } catch (err) {
      let reason = interrupted ? 'interrupted' : describeNetworkError(err, where, { tls: tls !== undefined });
      if (!interrupted && err instanceof DicomError && err.code === 'ERR_DICOM_ASSOCIATION_ABORTED') reason = await withDamage(file.path, reason);
      failures.push({ path: file.path, reason });
      if (options.verbose) bar.note(`conduit store: failed: ${file.path}: ${reason}`);
    }
    done++;
    bar.update(done, bytes);
  };
  const releaseClient = async (): Promise<void> => {
    if (client !== undefined && client.association.state === 'Sta6') await release(client, where);
    client = undefined;
  };
  try {
    if (head.length > 0) {
      // The kinds of the files described, as many as fit in one association's contexts: transfer
      // syntaxes by SOP class (no key string made per file sent).
      const kinds = new Map<string, Set<string>>();
      let pairs: SendableFile[] = [];
      const ofKind = (f: SendableFile): boolean => kinds.get(f.sopClassUid)?.has(f.transferSyntaxUid) === true;
      for (const f of head) {
        if (ofKind(f) || proposalsFor([...pairs, f]).length > options.maxContexts) continue;
        let syntaxes = kinds.get(f.sopClassUid);
        if (syntaxes === undefined) kinds.set(f.sopClassUid, (syntaxes = new Set()));
        syntaxes.add(f.transferSyntaxUid);
        pairs = [...pairs, f];
      }
      const contexts = proposalsFor(pairs);
      let h = 0;
      /**
       * The file to send after the current one, without taking it: the client's read-ahead calls
       * it in the wait for this one's response; a file not yet described is read into `buffer`
       * and described from those bytes.
       */
      const upcoming = (buffer: Uint8Array, slots?: SlotBuffer): { file: SendableFile; dataSet?: DataSetBytes } | undefined => {
        for (; h < head.length; h++) if (ofKind(head[h]!)) return { file: head[h]! }; else keep(head[h]!);
        return queue.peek(buffer, slots, ofKind, keep);
      };
      const take = (): Promise<SendableFile | undefined> => {
        for (; h < head.length; h++) if (ofKind(head[h]!)) return Promise.resolve(head[h++]); else keep(head[h]!);
        return queue.next(ofKind, keep);
      };
      for (let file = await take(); file !== undefined; file = await take()) {
        await send(file, contexts, upcoming);
        if (fatal !== undefined || interrupted) break;
      }
      for (const f of head.slice(h)) notSent(f.path);
      for (const c of queue.rest()) notSent(c.path);
      await releaseClient();
    }
    for (const group of planAssociations(later, options.maxContexts)) {
      const presentationContexts = proposalsFor(group);
      for (const [i, file] of group.entries()) await send(file, presentationContexts, group[i + 1]);
      await releaseClient();
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await releaseClient();
    bar.finish();
  }
  const skipped = queue.skipped;

  if (fatal !== undefined) process.stderr.write(`conduit store: ${fatal}\n`);
  reportFailures('conduit store', failures, options.verbose === true);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `sent ${sent}, failed ${failures.length}, warnings ${warnings.length}, skipped ${skipped}; ` +
    `${(bytes / 1e6).toFixed(2)} MB in ${seconds.toFixed(2)} s (${(sent / seconds).toFixed(1)} instances/s, ${(bytes / 1e6 / seconds).toFixed(1)} MB/s)\n`,
  );
  if (interrupted) return 130;
  return failures.length > 0 ? 1 : 0;
}

/** More files than this not sent for one reason (an interrupt, a refused peer) are told in one line. */
const NOT_SENT_LINES = 3;

/**
 * A line per failed file; but the files never sent after an interrupt or a refused association
 * (possibly thousands) are told as one line per reason, with the first and last, unless --verbose.
 */
export function reportFailures(who: string, failures: readonly Failure[], verbose: boolean): void {
  const notSent = new Map<string, string[]>();
  for (const f of failures) {
    if (!f.reason.startsWith('not sent: ')) continue;
    const paths = notSent.get(f.reason);
    if (paths === undefined) notSent.set(f.reason, [f.path]);
    else paths.push(f.path);
  }
  const told = new Set<string>();
  for (const f of failures) {
    const paths = notSent.get(f.reason);
    if (verbose || paths === undefined || paths.length <= NOT_SENT_LINES) {
      process.stderr.write(`${who}: failed: ${f.path}: ${f.reason}\n`);
    } else if (!told.has(f.reason)) {
      told.add(f.reason);
      process.stderr.write(`${who}: failed: ${paths.length} files ${f.reason}: ${paths[0]} ... ${paths[paths.length - 1]} (--verbose lists each)\n`);
    }
  }
}

/**
 * The reason for a file the peer aborted on, with what is wrong with the file when it is damaged: the
 * scan reads only its header, so a data set cut short (a value longer than the bytes left) is sent
 * as it is and a peer that parses it (storescp) aborts, which alone would blame the peer. Read
 * only after such a failure (large values stay in the file).
 */
async function withDamage(path: string, reason: string): Promise<string> {
  try {
    await readFile(path);
    return reason;
  } catch (err) {
    if (!(err instanceof DicomError)) return reason;
    return `the file is damaged: ${err.message} [${err.code}]; sent as it was, then: ${reason}`;
  }
}

async function release(client: AssociationClient, where: string): Promise<void> {
  try {
    await client.release();
  } catch (err) {
    process.stderr.write(`conduit store: warning: the release failed: ${describeNetworkError(err, where)}\n`);
  }
}
