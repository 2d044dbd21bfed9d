/**
 * `conduit media`: DICOM file-sets (PS3.10 §8, PS3.11): create one from files and folders, read a
 * DICOMDIR as a tree, add and remove instances, import a file-set into the archive or a Storage SCP
 * (media-import.ts), export a study or patient from the archive as a file-set.
 */
import { createWriteStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Command, Option } from 'commander';
import { DicomError } from '../../core/dicom-error.js';
import {
  DEFAULT_PROFILE, FileSet, profileIds, readDicomDir, referencedFileId, zipFolder, type AddResult, type DirectoryRecord, type ReadDicomDir,
} from '../../media/dicomdir/index.js';
import { lookupTag, lookupUid } from '../../dictionary/index.js';
import { mediaImportCommand, openArchive } from './media-import.js';

interface Tally {
  added: number;
  duplicates: number;
  refused: number;
  failed: number;
  skipped: number;
}

const say = (line: string): void => {
  process.stderr.write(`conduit media: ${line}\n`);
};

export function mediaCommand(): Command {
  const media = new Command('media').description('DICOM file-sets (DICOMDIR, PS3.10 and PS3.11): create, read, add, remove, import, export');
  media.addCommand(createCommand());
  media.addCommand(readCommand());
  media.addCommand(addCommand());
  media.addCommand(removeCommand());
  media.addCommand(mediaImportCommand());
  media.addCommand(exportCommand());
  return media;
}

const profileOption = () => new Option('--profile <id>', `application profile (PS3.11): ${profileIds().join(', ')}`).default(DEFAULT_PROFILE);
const anyTransferSyntaxOption = () => new Option('--any-transfer-syntax', 'keep compressed transfer syntaxes the profile does not allow, with a warning (the file-set then does not conform; like dcmmkdir -Nxc)');

function createCommand(): Command {
  return new Command('create')
    .description('make a file-set in OUTDIR from DICOM files and folders (recursively), with its DICOMDIR')
    .argument('<outdir>', 'folder for the file-set (created; must not hold a DICOMDIR yet)')
    .argument('<path...>', 'DICOM files, or folders to take every file in')
    .addOption(profileOption())
    .addOption(anyTransferSyntaxOption())
    .option('--file-set-id <id>', 'File-set ID (0004,1130): up to 16 characters A-Z, 0-9, _ and space', '')
    .option('--descriptor <file>', 'a text file to copy in as the File-set Descriptor File (README)')
    .option('--descriptor-charset <term>', 'Specific Character Set of the descriptor file (0004,1142), e.g. ISO_IR 100')
    .option('--zip <file>', 'also pack the file-set into this ZIP file (DICOMDIR at its root)')
    .option('-v, --verbose', 'a line per instance added')
    .addHelpText('after', `
Each instance goes to PTnnnnnn/STnnnnnn/SEnnnnnn/IMnnnnnn under OUTDIR. An instance the profile does
not take (a SOP Class that is not a Media Storage one, a compressed transfer syntax the profile does
not allow) is refused with the reason; uncompressed ones in another transfer syntax are written as
Explicit VR Little Endian; a Type 1 record key missing from an instance is filled in, with a warning.
Exit status: 0 when every DICOM file was taken, 1 otherwise.

Examples:
  conduit media create /media/cd ./study1 ./study2
  conduit media create --profile STD-GEN-USB-J2K --file-set-id PATIENT_1 /mnt/usb exported/`)
    .action(async (outdir: string, paths: string[], options: { profile: string; anyTransferSyntax?: boolean; fileSetId: string; descriptor?: string; descriptorCharset?: string; zip?: string; verbose?: boolean }) => {
      process.exitCode = await guard(async () => {
        const set = await FileSet.create(outdir, { profile: options.profile, fileSetId: options.fileSetId, anyTransferSyntax: options.anyTransferSyntax });
        if (options.descriptor) await set.setDescriptor(options.descriptor, { characterSet: options.descriptorCharset });
        const status = await addAndWrite(set, paths, options.verbose ?? false);
        if (options.zip && set.instances().length) await zip(set, options.zip);
        return status;
      });
    });
}

function addCommand(): Command {
  return new Command('add')
    .description('add DICOM files and folders to the file-set in DIR and rewrite its DICOMDIR')
    .argument('<dir>', 'the file-set\'s folder (holding the DICOMDIR)')
    .argument('<path...>', 'DICOM files, or folders to take every file in')
    .addOption(profileOption())
    .addOption(anyTransferSyntaxOption())
    .option('-v, --verbose', 'a line per instance added')
    .action(async (dir: string, paths: string[], options: { profile: string; anyTransferSyntax?: boolean; verbose?: boolean }) => {
      process.exitCode = await guard(async () => {
        const set = await FileSet.open(dir, { profile: options.profile, anyTransferSyntax: options.anyTransferSyntax });
        for (const w of set.warnings) say(`${dir}: ${w}`);
        return addAndWrite(set, paths, options.verbose ?? false);
      });
    });
}

function removeCommand(): Command {
  return new Command('remove')
    .description('remove instances (by SOP Instance UID) from the file-set in DIR, with their files, and rewrite its DICOMDIR')
    .argument('<dir>', 'the file-set\'s folder (holding the DICOMDIR)')
    .argument('<uid...>', 'SOP Instance UIDs')
    .action(async (dir: string, uids: string[]) => {
      process.exitCode = await guard(async () => {
        const set = await FileSet.open(dir);
        let missing = 0;
        for (const uid of uids) {
          try {
            const fileId = await set.remove(uid);
            process.stdout.write(`removed ${uid} (${fileId.join('\\')})\n`);
          } catch (err) {
            if (!(err instanceof DicomError && err.code === 'ERR_DICOM_MEDIA_NOT_FOUND')) throw err;
            missing++;
            say(`${err.message} [${err.code}]`);
          }
        }
        await set.write();
        return missing ? 1 : 0;
      });
    });
}

function readCommand(): Command {
  return new Command('read')
    .description('print a DICOMDIR\'s records as a tree (patients, studies, series, instances), like dcmdump of a DICOMDIR but readable')
    .argument('<dicomdir>', 'a DICOMDIR file, or the folder holding it')
    .option('--offsets', 'print each record\'s offset in the file')
    .action(async (path: string, options: { offsets?: boolean }) => {
      process.exitCode = await guard(async () => {
        const file = (await stat(path)).isDirectory() ? join(path, 'DICOMDIR') : path;
        const read = await readDicomDir(file);
        process.stdout.write(formatTree(file, read, options.offsets ?? false));
        for (const w of read.warnings) say(`${file}: ${w}`);
        return 0;
      });
    });
}

function exportCommand(): Command {
  return new Command('export')
    .description('write a study or a patient from the archive (conduit serve --data) as a file-set')
    .requiredOption('--data <dir>', 'the archive folder of conduit serve')
    .option('--study <uid>', 'Study Instance UID to export (repeatable)', collect)
    .option('--patient <id>', 'Patient ID to export (repeatable)', collect)
    .addOption(profileOption())
    .option('--file-set-id <id>', 'File-set ID (0004,1130)', '')
    .option('--zip <file>', 'also pack the file-set into this ZIP file (DICOMDIR at its root)')
    .argument('<outdir>', 'folder for the file-set (created; must not hold a DICOMDIR yet)')
    .addHelpText('after', `
The file-set is a folder, and with --zip also one ZIP file. Export over HTTP comes with the
DICOMweb work.

Example:
  conduit media export --data ./data --study 1.2.840.113619.2.1.1 /media/cd`)
    .action(async (outdir: string, options: { data: string; study?: string[]; patient?: string[]; profile: string; fileSetId: string; zip?: string }) => {
      process.exitCode = await guard(async () => {
        if (!options.study?.length && !options.patient?.length) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'name a --study or a --patient to export');
        const archive = await openArchive(options.data);
        try {
          const instances = [
            ...(await Promise.all((options.study ?? []).map((uid) => archive.index.instancesFor('STUDY', uid)))).flat(),
            ...(await Promise.all((options.patient ?? []).map((id) => archive.index.instancesFor('PATIENT', id)))).flat(),
          ];
          if (instances.length === 0) throw new DicomError('ERR_DICOM_STORAGE_NOT_FOUND', `nothing in the archive ${options.data} for ${[...(options.study ?? []), ...(options.patient ?? [])].join(', ')}`);
          const set = await FileSet.create(outdir, { profile: options.profile, fileSetId: options.fileSetId });
          const tally: Tally = { added: 0, duplicates: 0, refused: 0, failed: 0, skipped: 0 };
          for (const instance of instances) {
            const temporary = join(resolve(outdir), `EXPORT.${process.pid}.TMP`);
            const { stream } = await archive.openInstance(instance.sopInstanceUid);
            await pipeline(stream, createWriteStream(temporary));
            await addOne(set, temporary, instance.sopInstanceUid, tally, false, true);
            await rm(temporary, { force: true });
          }
          const status = await finish(set, tally);
          if (options.zip && set.instances().length) await zip(set, options.zip);
          return status;
        } finally {
          await archive.close();
        }
      });
    });
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Runs a command body; a DicomError or system error is printed and gives status 1. */
async function guard(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    const code = (err as { code?: string }).code;
    say(`${(err as Error).message}${code ? ` [${code}]` : ''}`);
    return 1;
  }
}

async function collectFiles(paths: readonly string[], skip: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string): Promise<void> => {
    if (resolve(path) === skip) return;
    const s = await stat(path);
    if (!s.isDirectory()) {
      out.push(path);
      return;
    }
    const names = (await readdir(path)).sort();
    for (const name of names) await walk(join(path, name));
  };
  for (const p of paths) await walk(p);
  return out;
}

async function addPaths(set: FileSet, paths: readonly string[], verbose: boolean): Promise<Tally> {
  const tally: Tally = { added: 0, duplicates: 0, refused: 0, failed: 0, skipped: 0 };
  for (const path of await collectFiles(paths, set.root)) await addOne(set, path, path, tally, verbose, false);
  return tally;
}

async function zip(set: FileSet, path: string): Promise<void> {
  const n = await zipFolder(set.root, path);
  process.stdout.write(`${path}: ${n} files\n`);
}

/** Adds the files under `paths`, writes the DICOMDIR and reports; 1 when something was refused or failed. */
async function addAndWrite(set: FileSet, paths: readonly string[], verbose: boolean): Promise<number> {
  return finish(set, await addPaths(set, paths, verbose));
}

/** Writes the DICOMDIR (unless it would have no records) and reports; 1 when something was refused or failed. */
async function finish(set: FileSet, tally: Tally): Promise<number> {
  if (set.instances().length === 0) {
    // PS3.11 D.3.3 (and H.3.3, J.3.3): a DICOMDIR with no directory information is not allowed.
    say(`no instance to write: ${set.profile.id} allows no DICOMDIR without records; nothing written`);
    return 1;
  }
  await set.write();
  report(set, tally);
  return tally.refused + tally.failed > 0 ? 1 : 0;
}

async function addOne(set: FileSet, path: string, name: string, tally: Tally, verbose: boolean, move: boolean): Promise<void> {
  let result: AddResult;
  try {
    result = await set.add(path, { move });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_DICOM_NOT_DICOM' || (code === 'ERR_DICOM_MEDIA_PROFILE' && /is a DICOMDIR/.test((err as Error).message))) {
      tally.skipped++;
      say(`skipped ${name}: ${code === 'ERR_DICOM_NOT_DICOM' ? 'not a DICOM file' : 'a DICOMDIR'}`);
      return;
    }
    if (code === 'ERR_DICOM_MEDIA_PROFILE') tally.refused++;
    else tally.failed++;
    say(`${code === 'ERR_DICOM_MEDIA_PROFILE' ? 'refused' : 'failed'}: ${(err as Error).message.replace(path, name)}${code ? ` [${code}]` : ''}`);
    return;
  }
  for (const w of result.warnings) say(`warning: ${w.replace(path, name)}`);
  if (result.status === 'duplicate') tally.duplicates++;
  else {
    tally.added++;
    if (verbose) process.stdout.write(`added ${name} as ${result.fileId.join('\\')} (${result.recordType})\n`);
  }
}

function report(set: FileSet, tally: Tally): void {
  const count = (type: string): number => {
    let n = 0;
    const walk = (records: readonly DirectoryRecord[]): void => {
      for (const r of records) {
        if (r.type === type) n++;
        walk(r.children);
      }
    };
    walk(set.roots);
    return n;
  };
  process.stdout.write(
    `${join(set.root, 'DICOMDIR')} (${set.profile.id}): ${set.instances().length} instances, ${count('PATIENT')} patients, ${count('STUDY')} studies, ${count('SERIES')} series; `
    + `added ${tally.added}, already there ${tally.duplicates}, refused ${tally.refused}, failed ${tally.failed}, skipped ${tally.skipped}\n`,
  );
}

// ---- the tree ----

const LINK_KEYS = new Set([0x00041500, 0x00041510, 0x00041511, 0x00041512, 0x00080005]);

function keywordOf(tag: number): string {
  const keyword = lookupTag(tag)?.keyword;
  if (keyword) return keyword;
  const hex = tag.toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

function describeRecord(record: DirectoryRecord): string {
  const parts: string[] = [];
  for (const e of record.keys) {
    if (LINK_KEYS.has(e.tag) || e.tag >>> 16 === 0x0004) continue;
    if (e.items) {
      parts.push(`${keywordOf(e.tag)}=(${e.items.length} items)`);
      continue;
    }
    const values = record.keys.strings(e.tag);
    if (values.every((v) => v === '')) continue;
    parts.push(`${keywordOf(e.tag)}=${values.join('\\')}`);
  }
  const fileId = safeFileId(record);
  if (fileId) {
    const sopClass = record.keys.string(0x00041510);
    const ts = record.keys.string(0x00041512);
    parts.push(`-> ${fileId.join('\\')}${sopClass ? ` [${lookupUid(sopClass)?.name ?? sopClass}` : ' ['}${ts ? `, ${lookupUid(ts)?.name ?? ts}]` : ']'}`);
  }
  return parts.join('  ');
}

function safeFileId(record: DirectoryRecord): string[] | undefined {
  try {
    return referencedFileId(record);
  } catch {
    return record.keys.strings(0x00041500);
  }
}

/** The records as an indented tree, one line each (exported for tests of the CLI's output). */
export function formatTree(file: string, read: ReadDicomDir, offsets: boolean): string {
  const lines: string[] = [];
  lines.push(`# ${file}: File-set ID "${read.fileSetId}", ${lookupUid(read.transferSyntaxUid)?.name ?? read.transferSyntaxUid}, ${read.records.length} records`);
  if (read.descriptorFileId) lines.push(`# descriptor file ${read.descriptorFileId.join('\\')}`);
  const walk = (records: readonly DirectoryRecord[], depth: number): void => {
    for (const r of records) {
      const flags = `${r.inUse ? '' : ' (inactive)'}${offsets ? ` @${r.offset}` : ''}`;
      lines.push(`${'  '.repeat(depth)}${r.type}${flags}  ${describeRecord(r)}`.trimEnd());
      walk(r.children, depth + 1);
    }
  };
  walk(read.roots, 0);
  if (read.orphans.length) {
    lines.push('# not reached from the root directory entity:');
    walk(read.orphans, 1);
  }
  return `${lines.join('\n')}\n`;
}
