/**
 * `conduit web stow URL PATH...`: stores DICOM files (and the files under folders, recursively) with
 * STOW-RS (PS3.18 §10.5), in requests of up to --batch files, each file streamed from disk as the
 * upload goes. The server's answer names each instance stored or failed (with its Failure Reason);
 * the files are matched to it by SOP Instance UID.
 */
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DicomError } from '../../core/dicom-error.js';
import { createReadStream } from 'node:fs';
import type { StoreResult, StowInput } from '../../dicomweb/client/index.js';
import { part10Header } from '../../media/part10-header.js';
import type { SendableFile } from '../../services/storage/file-source.js';
import { ProgressBar } from '../progress.js';
import { exitWhenFlushed, parseCount } from '../network-options.js';
import { addWebOptions, clientFor, describeWebError, type WebFlags } from '../web-options.js';
import { gatherFiles, reportFailures, type Failure } from './store.js';

interface StowFlags extends WebFlags {
  study?: string;
  batch: number;
  batchMb: number;
  recurse: boolean;
  verbose?: boolean;
  progress: boolean;
}

function parseMegabytes(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of megabytes greater than 0');
  return n;
}

export function webStowCommand(): Command {
  return addWebOptions(new Command('stow').description('store DICOM files and folders (STOW-RS)'))
    .argument('<path...>', 'DICOM files, or folders to store everything in (recursively)')
    .option('--study <uid>', 'store into this study (POST /studies/{uid}); instances of other studies fail')
    .addOption(new Option('--batch <n>', 'files per request').default(50).argParser(parseCount))
    .addOption(new Option('--batch-mb <megabytes>', 'start a new request once one holds this much').default(256).argParser(parseMegabytes))
    .option('--no-recurse', 'do not descend into folders named on the command line')
    .option('-v, --verbose', 'print a line per file stored')
    .option('--no-progress', 'no progress bar (it is drawn only when stderr is a terminal)')
    .addHelpText('after', `
Files that are not DICOM, DICOMDIRs, links to folders (not followed), broken links and FIFOs are
skipped with a note. At the end a summary line gives the files stored, failed and stored with
warnings, the bytes, the time and the rate; each failure is listed with the server's reason.
Exit status: 0 when every file was stored, 1 otherwise.

Examples:
  conduit web stow http://localhost:8042/dicom-web image.dcm study/
  conduit web stow --user alice:secret https://pacs.example.org/dicom-web /data/export`)
    .action(async (url: string, paths: string[], flags: StowFlags) => {
      await exitWhenFlushed(await runStow(url, paths, flags));
    });
}

/**
 * What to send for a file: the file itself; or, for a data set without File Meta Information (as
 * DIMSE carries it, and files written that way), File Meta Information made from what the scan
 * read, then the file: an application/dicom part is a PS3.10 file (PS3.18 §8.7.3.1), and the
 * server cannot store a bare data set (conduit store sends such files over DIMSE as they are).
 */
export function stowInputOf(file: SendableFile): StowInput {
  if (file.dataSetOffset > 0) return file.path;
  const head = part10Header({ sopClassUid: file.sopClassUid, sopInstanceUid: file.sopInstanceUid, transferSyntaxUid: file.transferSyntaxUid });
  async function* stream(): AsyncGenerator<Uint8Array> {
    yield head;
    yield* createReadStream(file.path, { highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>;
  }
  return { stream: stream(), length: head.length + file.size };
}

/** Files in requests: at most `count` files, and a new request once one holds `bytes`. */
export function batchesOf(files: readonly SendableFile[], count: number, bytes: number): SendableFile[][] {
  const out: SendableFile[][] = [];
  let current: SendableFile[] = [];
  let size = 0;
  for (const f of files) {
    if (current.length > 0 && (current.length >= count || size >= bytes)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(f);
    size += f.size;
  }
  if (current.length) out.push(current);
  return out;
}

interface Tally {
  stored: number;
  bytes: number;
  failures: Failure[];
  warnings: Failure[];
}

/**
 * The server's words for each failure or warning: a Warning text "<SOP Instance UID>: why" (as
 * Conduit writes them, PS3.18 §10.5.3.2 recommends a reason there) for a named instance; for the
 * failures that name none, the other texts in order when there are as many.
 */
function failureTexts(result: StoreResult): { named: Map<string, string>; unnamed: string[] | undefined } {
  const uids = new Set([...result.referenced, ...result.failed].map((r) => r.sopInstanceUid).filter((u) => u !== ''));
  const named = new Map<string, string>();
  const rest: string[] = [];
  for (const w of result.warnings) {
    const colon = w.indexOf(': ');
    const uid = colon > 0 ? w.slice(0, colon) : '';
    if (uids.has(uid)) named.set(uid, w.slice(colon + 2));
    else rest.push(colon > 0 && uid === 'part' ? w.slice(colon + 2) : w);
  }
  const unnamedCount = result.failed.filter((f) => f.sopInstanceUid === '').length;
  return { named, unnamed: rest.length === unnamedCount ? rest : undefined };
}

/**
 * Matches the files of one request to the server's answer: by SOP Instance UID; the files the
 * answer does not name are paired in order with the failures that name no instance (Other Failures
 * Sequence, PS3.18 Table I.1-1; both follow the order of the parts) when there are as many, so each
 * failure is counted once, against its file.
 */
function tallyBatch(batch: readonly SendableFile[], result: StoreResult, tally: Tally, note: (line: string) => void, verbose: boolean): void {
  const stored = new Map(result.referenced.map((r) => [r.sopInstanceUid, r]));
  const failed = new Map(result.failed.filter((f) => f.sopInstanceUid !== '').map((f) => [f.sopInstanceUid, f]));
  const unnamed = result.failed.filter((f) => f.sopInstanceUid === '');
  const texts = failureTexts(result);
  const withText = (description: string, text: string | undefined) => (text ? `${description}: ${text}` : description);
  const fail = (path: string, reason: string) => {
    tally.failures.push({ path, reason });
    if (verbose) note(`conduit web stow: failed: ${path}: ${reason}`);
  };
  const unanswered: SendableFile[] = [];
  for (const file of batch) {
    const ok = stored.get(file.sopInstanceUid);
    const failure = failed.get(file.sopInstanceUid);
    if (ok && !failure) {
      tally.stored++;
      tally.bytes += file.size;
      if (ok.warningDescription !== undefined) {
        const reason = withText(ok.warningDescription, texts.named.get(file.sopInstanceUid));
        tally.warnings.push({ path: file.path, reason });
        note(`conduit web stow: warning: ${file.path}: ${reason}`);
      } else if (verbose) {
        note(`stored ${file.path} (${file.sopInstanceUid})`);
      }
    } else if (failure) {
      fail(file.path, withText(failure.description, texts.named.get(file.sopInstanceUid)));
    } else {
      unanswered.push(file);
    }
  }
  if (unanswered.length === unnamed.length) {
    unanswered.forEach((file, i) => fail(file.path, withText(unnamed[i]!.description, texts.unnamed?.[i])));
    return;
  }
  const others = unnamed.map((f, i) => withText(f.description, texts.unnamed?.[i]));
  const why = `not in the server's answer (HTTP ${result.httpStatus}${others.length ? `; failures that name no instance: ${others.join('; ')}` : result.warnings.length ? `: ${result.warnings.join('; ')}` : ''})`;
  for (const file of unanswered) fail(file.path, why);
  if (unanswered.length === 0) for (const reason of others) tally.failures.push({ path: '(request)', reason });
}

async function runStow(url: string, paths: string[], flags: StowFlags): Promise<number> {
  const started = performance.now();
  const tally: Tally = { stored: 0, bytes: 0, failures: [], warnings: [] };
  const { files, skipped } = await gatherFiles(paths, flags.recurse, tally.failures, 'conduit web stow');
  if (files.length === 0 && tally.failures.length === 0) {
    process.stderr.write(`conduit web stow: no DICOM files to store in ${paths.join(', ')}\n`);
    return 1;
  }

  const client = clientFor(url, flags);
  const totalBytes = files.reduce((n, f) => n + f.size, 0);
  const bar = new ProgressBar(process.stderr, files.length, totalBytes, flags.progress ? {} : { enabled: false });
  const note = (line: string): void => bar.note(line);
  const controller = new AbortController();
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let fatal: string | undefined;
  let done = 0;
  let sentBytes = 0;
  try {
    for (const batch of batchesOf(files, flags.batch, flags.batchMb * 1e6)) {
      if (fatal !== undefined || interrupted) {
        for (const f of batch) tally.failures.push({ path: f.path, reason: interrupted ? 'not sent: interrupted' : `not sent: ${fatal}` });
        continue;
      }
      const first = done;
      try {
        const result = await client.storeInstances(batch.map(stowInputOf), {
          ...(flags.study === undefined ? {} : { study: flags.study }),
          signal: controller.signal,
          onProgress: (n, part) => {
            sentBytes += n;
            bar.update(first + part, sentBytes);
          },
        });
        tallyBatch(batch, result, tally, note, flags.verbose === true);
      } catch (err) {
        const reason = interrupted ? 'interrupted' : describeWebError(err, url);
        for (const f of batch) tally.failures.push({ path: f.path, reason });
        // Unreachable, or refused as a whole for who this is: later requests would fare no better.
        const status = (err as { status?: number }).status;
        if ((err instanceof DicomError && err.code === 'ERR_DICOM_TRANSPORT') || status === 401 || status === 403) fatal = reason;
      }
      done = first + batch.length;
      bar.update(done, sentBytes);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    bar.finish();
  }

  if (fatal !== undefined) process.stderr.write(`conduit web stow: ${fatal}\n`);
  reportFailures('conduit web stow', tally.failures, flags.verbose === true);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `stored ${tally.stored}, failed ${tally.failures.length}, warnings ${tally.warnings.length}, skipped ${skipped}; ` +
    `${(tally.bytes / 1e6).toFixed(2)} MB in ${seconds.toFixed(2)} s (${(tally.stored / seconds).toFixed(1)} instances/s, ${(tally.bytes / 1e6 / seconds).toFixed(1)} MB/s)\n`,
  );
  if (interrupted) return 130;
  return tally.failures.length > 0 ? 1 : 0;
}
