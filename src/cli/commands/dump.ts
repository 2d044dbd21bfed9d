/**
 * `conduit dump [--json | --xml] FILE...`: prints DICOM files as text (like dcmdump), or one file
 * as the PS3.18 JSON model or the PS3.19 Native DICOM Model (XML).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DicomError } from '../../core/dicom-error.js';
import { BulkData } from '../../data/bulk-data.js';
import { toDicomJson, toDicomJsonText, type BulkDataUriCallback } from '../../data/json-model.js';
import { toNativeDicomXml } from '../../data/xml-model.js';
import { readFile } from '../../media/part10.js';
import { textDumpLines, type DumpableFile } from '../text-dump.js';

/** Values above this stay in the file (as BulkData), so the dump of a huge file stays small in memory. */
const BULK_DATA_THRESHOLD = 64 * 1024;

interface DumpOptions {
  json?: boolean;
  xml?: boolean;
  maxLength: number;
  meta: boolean;
}

export function dumpCommand(): Command {
  return new Command('dump')
    .description('print DICOM files: as text (tag, VR, value, length, VM, keyword), or one file as JSON or XML')
    .argument('<file...>', 'DICOM files (Part 10, or a bare data set)')
    .addOption(new Option('--json', 'print the DICOM JSON model (PS3.18 Annex F) of one file').conflicts('xml'))
    .addOption(new Option('--xml', 'print the Native DICOM Model (PS3.19 Annex A) of one file'))
    .addOption(new Option('--max-length <n>', 'cut text values longer than n characters, 0 for no limit').default(64).argParser(parseMaxLength))
    .option('--no-meta', 'leave out the File Meta Information')
    .addHelpText('after', `
Examples:
  conduit dump image.dcm
  conduit dump --max-length 0 a.dcm b.dcm
  conduit dump --json image.dcm > image.json`)
    .action(async (files: string[], options: DumpOptions, command: Command) => {
      if ((options.json || options.xml) && files.length !== 1) {
        command.error(`error: --${options.json ? 'json' : 'xml'} prints one file; ${files.length} were given`);
      }
      process.exitCode = await runDump(files, options);
    });
}

function parseMaxLength(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number of characters (0 for no limit)');
  return n === 0 ? Infinity : n;
}

/** Dumps each file in turn; a file that cannot be read is reported and the others still dumped. Returns the exit code. */
async function runDump(files: string[], options: DumpOptions): Promise<number> {
  let failed = 0;
  for (const [index, path] of files.entries()) {
    let file: DumpableFile;
    try {
      file = await readDicomFile(path);
    } catch (err) {
      failed++;
      process.stderr.write(`conduit dump: ${path}: ${describeError(err)}\n`);
      continue;
    }
    if (options.json || options.xml) {
      let text: string;
      try {
        text = options.json ? toJsonText(file, path) : toXmlText(file, path);
      } catch (err) {
        failed++;
        process.stderr.write(`conduit dump: ${path}: ${describeError(err)}\n`);
        continue;
      }
      await writeOut(text.endsWith('\n') ? text : text + '\n');
      continue;
    }
    if (index > 0) await writeOut('\n');
    await writeLines(textDumpLines(file, { maxLength: options.maxLength, meta: options.meta, source: path }));
  }
  return failed ? 1 : 0;
}

function describeError(err: unknown): string {
  // A file system error says it better in a few words than the system's message (which repeats the path).
  const system = systemErrorText(err instanceof DicomError ? err.cause : err);
  if (err instanceof DicomError) return `${system ?? err.message} [${err.code}]`;
  return system ?? (err instanceof Error ? err.message : String(err));
}

function systemErrorText(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT': return 'no such file';
    case 'EISDIR': return 'is a directory, not a file';
    case 'EACCES': case 'EPERM': return 'permission denied';
    default: return undefined;
  }
}

async function readDicomFile(path: string): Promise<DumpableFile> {
  return readFile(path, { bulkDataThreshold: BULK_DATA_THRESHOLD });
}

// ---- JSON (PS3.18 Annex F) and XML (PS3.19 Annex A) ----

/**
 * Values held in memory go inline; a value the reader left in the file (above the bulk threshold)
 * gets a BulkDataURI naming its bytes in the file, so that a 2 GB object prints in bounded memory:
 * file:///path/x.dcm?offset=N&length=M, the bytes as they are in the file (its byte order).
 */
function fileBulkDataUri(path: string): BulkDataUriCallback {
  const base = pathToFileURL(resolve(path)).href;
  const uri = (offset: number, length: number) => `${base}?offset=${offset}&length=${length}`;
  return (element) => {
    if (element.bulk) return uri(element.bulk.offset, element.bulk.length);
    const value = element.encapsulated;
    if (!value) return undefined;
    // The Value Field of encapsulated pixel data is contiguous in the file: the offset table item,
    // then the fragment items (PS3.5 §A.4). Locate it from the first fragment left in the file.
    const first = value.fragments.findIndex((f) => f instanceof BulkData);
    if (first < 0) return undefined;
    let start = (value.fragments[first] as BulkData).offset - 8;
    for (let i = 0; i < first; i++) start -= 8 + value.fragments[i]!.length;
    start -= 8 + value.offsetTable.length;
    const length = value.fragments.reduce((sum, f) => sum + 8 + f.length, 8 + value.offsetTable.length);
    return uri(start, length);
  };
}

function toJsonText(file: DumpableFile, path: string): string {
  // Everything in memory is at most BULK_DATA_THRESHOLD long, so nothing else is offered a URI.
  const json = toDicomJson(file.dataSet, { bulkDataUri: fileBulkDataUri(path), bulkDataThreshold: BULK_DATA_THRESHOLD });
  return toDicomJsonText(json, 2);
}

function toXmlText(file: DumpableFile, path: string): string {
  return toNativeDicomXml(file.dataSet, { bulkDataUri: fileBulkDataUri(path), bulkDataThreshold: BULK_DATA_THRESHOLD, indent: 2 });
}

// ---- output with back-pressure, so a long dump never piles up in memory ----

function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = process.stdout.write(text, (err) => (err ? reject(err) : undefined));
    if (ok) resolve();
    else process.stdout.once('drain', resolve);
  });
}

async function writeLines(lines: Iterable<string>): Promise<void> {
  let chunk = '';
  for (const line of lines) {
    chunk += line + '\n';
    if (chunk.length >= 64 * 1024) {
      await writeOut(chunk);
      chunk = '';
    }
  }
  if (chunk) await writeOut(chunk);
}
