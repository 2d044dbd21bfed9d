/**
 * A DICOM file-set (PS3.10 §8): a folder with a DICOMDIR at its root and the instances it
 * references by File ID. FileSet is the File-set Creator and Updater of PS3.11 (D.2.1.1, D.2.1.3):
 * it adds instances under PATIENT / STUDY / SERIES records (PS3.3 F.4), checks each against the
 * application profile, removes instances with their emptied upper records, and rewrites the
 * DICOMDIR with every offset recomputed.
 *
 * New instances are placed at File IDs PTnnnnnn/STnnnnnn/SEnnnnnn/IMnnnnnn (four components of 8
 * characters, within the limits of PS3.10 §8.2 and PS3.11); the instances of an opened file-set
 * stay where they are.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rename, rm, rmdir, unlink, writeFile as writeBytes } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { DicomError } from '../../core/dicom-error.js';
import type { DataSet } from '../../data/data-set.js';
import { EXPLICIT_VR_LITTLE_ENDIAN, isUncompressed } from '../../data/transfer-syntax.js';
import { lookupUid } from '../../dictionary/index.js';
import { readFile, writeFile, type DicomFile } from '../part10.js';
import {
  encodeDicomDir, littleEndianKeys, MEDIA_STORAGE_DIRECTORY_STORAGE, readDicomDir, referencedFileId, REFERENCED_FILE_ID,
  REFERENCED_SOP_CLASS_UID_IN_FILE, REFERENCED_SOP_INSTANCE_UID_IN_FILE, REFERENCED_TRANSFER_SYNTAX_UID_IN_FILE, type DicomDir,
  type DirectoryRecord,
} from './dicomdir.js';
import { checkFileId, checkFileSetId, numberedComponent } from './file-id.js';
import { applicationProfile, DEFAULT_PROFILE, type ApplicationProfile } from './profiles.js';
import { addMissingConditionalKeys, buildRecordKeys, newUid, type Filler } from './record-builder.js';
import { recordTypeFor } from './record-types.js';

export interface FileSetOptions {
  /** PS3.11 application profile (default STD-GEN-CD). */
  profile?: string;
  /** File-set ID (0004,1130): up to 16 characters of A-Z, 0-9, _ and space. */
  fileSetId?: string;
  /**
   * Keep compressed transfer syntaxes the profile does not allow (with a warning), as DCMTK's
   * `dcmmkdir --no-xfer-check` does: for readers that take more than the profile asks.
   */
  anyTransferSyntax?: boolean;
}

export interface AddResult {
  status: 'added' | 'duplicate';
  sopInstanceUid: string;
  /** Where the instance is in the file-set. */
  fileId: string[];
  recordType: string;
  /** Keys filled in, transfer syntax changed, duplicates: what the caller should tell. */
  warnings: string[];
}

export interface FileSetInstance {
  record: DirectoryRecord;
  fileId: string[];
  /** The file on disk. */
  path: string;
  sopInstanceUid: string;
  sopClassUid: string;
  transferSyntaxUid: string;
}

const LEAF_PREFIX: Record<string, string> = {
  IMAGE: 'IM', 'SR DOCUMENT': 'SR', PRESENTATION: 'PR', 'KEY OBJECT DOC': 'KO', WAVEFORM: 'WV', 'ENCAP DOC': 'DC',
  'RT DOSE': 'RT', 'RT STRUCTURE SET': 'RT', 'RT PLAN': 'RT', 'RT TREAT RECORD': 'RT',
};
const LEVEL_PREFIX = ['PT', 'ST', 'SE'];

export class FileSet {
  readonly root: string;
  readonly profile: ApplicationProfile;
  private readonly dir: DicomDir;
  /** Warnings from opening (records dropped) and from adding. */
  readonly warnings: string[] = [];
  /** Folder (File ID prefix) of each upper-level record. */
  private readonly folders = new Map<DirectoryRecord, string[]>();
  /** The instance records by SOP Instance UID, for the duplicate check. */
  private readonly bySopInstance = new Map<string, DirectoryRecord>();
  /** Every File ID and every prefix of one, joined with '/'. */
  private readonly used = new Set<string>();
  private readonly nextNumber = new Map<string, number>();
  private readonly inventedPatientIds = new Map<string, string>();
  private readonly inventedUids = new Map<DirectoryRecord | null, string>();

  private readonly anyTransferSyntax: boolean;

  private constructor(root: string, profile: ApplicationProfile, dir: DicomDir, anyTransferSyntax = false) {
    this.root = resolve(root);
    this.profile = profile;
    this.dir = dir;
    this.anyTransferSyntax = anyTransferSyntax;
    this.indexInstances();
  }

  private indexInstances(): void {
    for (const instance of this.instances()) {
      this.markUsed(instance.fileId);
      this.bySopInstance.set(instance.sopInstanceUid, instance.record);
    }
    if (this.dir.descriptorFileId) this.markUsed(this.dir.descriptorFileId);
  }

  /** A new, empty file-set in `root` (created if need be; it must not hold a DICOMDIR yet). */
  static async create(root: string, options: FileSetOptions = {}): Promise<FileSet> {
    const profile = applicationProfile(options.profile ?? DEFAULT_PROFILE);
    const fileSetId = options.fileSetId ?? '';
    checkFileSetId(fileSetId);
    if (existsSync(join(root, 'DICOMDIR'))) {
      throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${join(root, 'DICOMDIR')} exists already: open the file-set to update it`);
    }
    await mkdir(root, { recursive: true });
    return new FileSet(root, profile, { fileSetId, fileSetUid: newUid(), roots: [] }, options.anyTransferSyntax);
  }

  /** Opens the file-set whose DICOMDIR is `root`/DICOMDIR, to add or remove instances. */
  static async open(root: string, options: Omit<FileSetOptions, 'fileSetId'> = {}): Promise<FileSet> {
    const profile = applicationProfile(options.profile ?? DEFAULT_PROFILE);
    const read = await readDicomDir(join(root, 'DICOMDIR'));
    const set = new FileSet(root, profile, { fileSetId: read.fileSetId, descriptorFileId: read.descriptorFileId, descriptorCharacterSet: read.descriptorCharacterSet, fileSetUid: read.fileSetUid || newUid(), roots: [] }, options.anyTransferSyntax);
    set.warnings.push(...read.warnings);
    // Inactive records (PS3.3 F.3.2.2) and those no chain reaches are left out of the rewritten DICOMDIR.
    let dropped = 0;
    const keep = (records: DirectoryRecord[]): DirectoryRecord[] => records.filter((r) => {
      if (!r.inUse) {
        dropped++;
        return false;
      }
      r.children = keep(r.children);
      return true;
    });
    set.dir.roots = keep(read.roots);
    if (dropped) set.warnings.push(`${dropped} inactive directory record(s) left out`);
    if (read.orphans.length) set.warnings.push(`${read.orphans.length} unreachable directory record(s) left out`);
    set.indexInstances();
    return set;
  }

  get fileSetId(): string {
    return this.dir.fileSetId;
  }
  get fileSetUid(): string {
    return this.dir.fileSetUid;
  }
  get roots(): readonly DirectoryRecord[] {
    return this.dir.roots;
  }

  /** The instances the file-set references (records with a Referenced File ID). */
  instances(): FileSetInstance[] {
    const out: FileSetInstance[] = [];
    const walk = (records: readonly DirectoryRecord[]): void => {
      for (const record of records) {
        const fileId = referencedFileId(record);
        if (fileId) {
          out.push({
            record, fileId, path: join(this.root, ...fileId),
            sopInstanceUid: record.keys.string(REFERENCED_SOP_INSTANCE_UID_IN_FILE) ?? '',
            sopClassUid: record.keys.string(REFERENCED_SOP_CLASS_UID_IN_FILE) ?? '',
            transferSyntaxUid: record.keys.string(REFERENCED_TRANSFER_SYNTAX_UID_IN_FILE) ?? '',
          });
        }
        walk(record.children);
      }
    };
    walk(this.dir.roots);
    return out;
  }

  /**
   * Copies (or, with `move`, moves) the Part 10 file at `path` into the file-set and adds its
   * records. Throws ERR_DICOM_MEDIA_PROFILE when the profile cannot take it; an instance already
   * in the file-set (same SOP Instance UID) is left as it is ('duplicate').
   */
  async add(path: string, options: { move?: boolean } = {}): Promise<AddResult> {
    const file = await readFile(path);
    return this.addFile(file, path, options.move ?? false);
  }

  private async addFile(file: DicomFile, path: string, move: boolean): Promise<AddResult> {
    const warnings: string[] = [];
    const source = littleEndianKeys(file.dataSet);
    const sopClassUid = (source.string(0x00080016) ?? file.meta.string(0x00020002) ?? '').trim();
    const sopInstanceUid = (source.string(0x00080018) ?? file.meta.string(0x00020003) ?? '').trim();
    if (file.meta.string(0x00020002) === MEDIA_STORAGE_DIRECTORY_STORAGE) throw this.refuse(path, 'it is a DICOMDIR, not an instance');
    if (!sopClassUid || !sopInstanceUid) throw this.refuse(path, 'it has no SOP Class UID or SOP Instance UID');
    const typed = recordTypeFor(sopClassUid);
    if ('problem' in typed) throw this.refuse(path, `${typed.problem}; ${this.profile.id} takes the Composite IODs of Media Storage SOP Classes`);
    const recordType = typed.recordType;

    let targetTs = file.transferSyntaxUid;
    let rewrite = file.meta.size === 0 || file.preamble === null;
    if (!this.profile.transferSyntaxes.includes(targetTs)) {
      const notAllowed = `${tsName(targetTs)} is not allowed by ${this.profile.id} (${this.profile.source}), which allows ${this.profile.transferSyntaxes.map(tsName).join(', ')}`;
      if (isUncompressed(targetTs)) {
        warnings.push(`${path}: written as Explicit VR Little Endian, not ${tsName(targetTs)}, which ${this.profile.id} does not allow`);
        targetTs = EXPLICIT_VR_LITTLE_ENDIAN;
        rewrite = true;
      } else if (this.anyTransferSyntax) {
        warnings.push(`${path}: kept in ${notAllowed}; the file-set does not conform to ${this.profile.id}`);
      } else {
        throw this.refuse(path, `transfer syntax ${notAllowed}`);
      }
    }
    const existing = this.bySopInstance.get(sopInstanceUid);
    if (existing) {
      const fileId = referencedFileId(existing)!;
      return { status: 'duplicate', sopInstanceUid, fileId, recordType: existing.type, warnings: [`${path}: SOP Instance ${sopInstanceUid} is in the file-set already (${fileId.join('\\')}); left as it is`] };
    }

    const what = `${path}`;
    const patientId = source.string('PatientID')?.trim() || this.inventedPatientId(source);
    let patient = this.dir.roots.find((r) => r.type === 'PATIENT' && r.keys.string('PatientID')?.trim() === patientId);
    const fillPatient: Filler = (k) => (k === 'PatientID' ? patientId : undefined);
    if (!patient) {
      patient = { type: 'PATIENT', keys: buildRecordKeys('PATIENT', source, this.profile, fillPatient, warnings, what), inUse: true, children: [] };
      this.dir.roots.push(patient);
    } else {
      addMissingConditionalKeys(patient.keys, 'PATIENT', source, this.profile);
      const name = source.string('PatientName') ?? '';
      const recorded = patient.keys.string('PatientName') ?? '';
      // PS3.11 D.3.3: one PATIENT record per Patient ID; a differing name is kept in the file only.
      if (name !== recorded) warnings.push(`${what}: Patient's Name "${name}" differs from "${recorded}" of the PATIENT record with Patient ID ${patientId}; placed under that record`);
    }

    const studyUid = source.string('StudyInstanceUID')?.trim() || this.inventedUid(patient, warnings, what, 'StudyInstanceUID');
    let study = patient.children.find((r) => r.type === 'STUDY' && r.keys.string('StudyInstanceUID')?.trim() === studyUid);
    if (!study) {
      const fill: Filler = (k) => (k === 'StudyID' ? String(patient!.children.length + 1) : undefined);
      const keys = buildRecordKeys('STUDY', source, this.profile, fill, warnings, what);
      keys.set('StudyInstanceUID', 'UI', studyUid);
      study = { type: 'STUDY', keys, inUse: true, children: [] };
      patient.children.push(study);
    } else addMissingConditionalKeys(study.keys, 'STUDY', source, this.profile);

    const seriesUid = source.string('SeriesInstanceUID')?.trim() || this.inventedUid(study, warnings, what, 'SeriesInstanceUID');
    let series = study.children.find((r) => r.type === 'SERIES' && r.keys.string('SeriesInstanceUID')?.trim() === seriesUid);
    if (!series) {
      const fill: Filler = (k) => (k === 'SeriesInstanceUID' ? seriesUid : k === 'SeriesNumber' ? String(study!.children.length + 1) : k === 'Modality' ? 'OT' : undefined);
      series = { type: 'SERIES', keys: buildRecordKeys('SERIES', source, this.profile, fill, warnings, what), inUse: true, children: [] };
      study.children.push(series);
    } else addMissingConditionalKeys(series.keys, 'SERIES', source, this.profile);

    const seriesFolder = this.folderOf([patient, study, series]);
    const fileId = [...seriesFolder, this.allocate(seriesFolder, LEAF_PREFIX[recordType] ?? 'OB')];
    checkFileId(fileId);
    const fillLeaf: Filler = (k) => (k === 'InstanceNumber' ? String(series!.children.length + 1) : undefined);
    const keys = buildRecordKeys(recordType, source, this.profile, fillLeaf, warnings, what);
    keys.set(REFERENCED_FILE_ID, 'CS', fileId);
    keys.set(REFERENCED_SOP_CLASS_UID_IN_FILE, 'UI', sopClassUid);
    keys.set(REFERENCED_SOP_INSTANCE_UID_IN_FILE, 'UI', sopInstanceUid);
    keys.set(REFERENCED_TRANSFER_SYNTAX_UID_IN_FILE, 'UI', targetTs);

    const dest = join(this.root, ...fileId);
    await mkdir(dirname(dest), { recursive: true });
    try {
      if (rewrite) await writeFile(dest, file, { transferSyntaxUid: targetTs });
      else if (move) await moveFile(path, dest);
      else await copyFile(path, dest);
      if (rewrite && move) await unlink(path);
    } catch (cause) {
      await rm(dest, { force: true });
      this.dropEmpty([patient, study, series]);
      throw new DicomError('ERR_DICOM_IO', `cannot write ${dest}: ${(cause as Error).message}`, { cause });
    }
    const leaf: DirectoryRecord = { type: recordType, keys, inUse: true, children: [] };
    series.children.push(leaf);
    this.bySopInstance.set(sopInstanceUid, leaf);
    this.markUsed(fileId);
    this.warnings.push(...warnings);
    return { status: 'added', sopInstanceUid, fileId, recordType, warnings };
  }

  /**
   * Removes the instance with this SOP Instance UID: its file, its record, and the records above it
   * left with nothing below them. Throws ERR_DICOM_MEDIA_NOT_FOUND when it is not in the file-set.
   */
  async remove(sopInstanceUid: string): Promise<string[]> {
    const path: DirectoryRecord[] = [];
    const find = (records: DirectoryRecord[]): boolean => {
      for (const r of records) {
        path.push(r);
        if (r.keys.string(REFERENCED_SOP_INSTANCE_UID_IN_FILE)?.trim() === sopInstanceUid && referencedFileId(r)) return true;
        if (find(r.children)) return true;
        path.pop();
      }
      return false;
    };
    if (!find(this.dir.roots)) throw new DicomError('ERR_DICOM_MEDIA_NOT_FOUND', `SOP Instance ${sopInstanceUid} is not in the file-set`);
    const leaf = path[path.length - 1]!;
    const fileId = referencedFileId(leaf)!;
    const siblings = path.length > 1 ? path[path.length - 2]!.children : this.dir.roots;
    siblings.splice(siblings.indexOf(leaf), 1);
    this.dropEmpty(path.slice(0, -1));
    await rm(join(this.root, ...fileId), { force: true });
    this.used.delete(fileId.join('/'));
    this.bySopInstance.delete(sopInstanceUid);
    // Folders left empty go too; rmdir fails on one that still holds something.
    for (let n = fileId.length - 1; n >= 1; n--) {
      try {
        await rmdir(join(this.root, ...fileId.slice(0, n)));
      } catch {
        break;
      }
    }
    return fileId;
  }

  /** Copies `path` into the file-set as its descriptor file (0004,1141), named `name` (default README). */
  async setDescriptor(path: string, options: { name?: string; characterSet?: string } = {}): Promise<void> {
    const fileId = [options.name ?? 'README'];
    checkFileId(fileId);
    await copyFile(path, join(this.root, ...fileId));
    this.dir.descriptorFileId = fileId;
    this.dir.descriptorCharacterSet = options.characterSet;
    this.markUsed(fileId);
  }

  /** Writes the DICOMDIR (to a temporary file, then renamed over the old one). */
  async write(): Promise<void> {
    const bytes = encodeDicomDir(this.dir);
    const target = join(this.root, 'DICOMDIR');
    const temporary = `${target}.${process.pid}.tmp`;
    await writeBytes(temporary, bytes);
    await rename(temporary, target);
  }

  private refuse(path: string, why: string): DicomError {
    return new DicomError('ERR_DICOM_MEDIA_PROFILE', `${path}: not taken into the ${this.profile.id} file-set: ${why}`);
  }

  private inventedPatientId(source: DataSet): string {
    const name = source.string('PatientName') ?? '';
    let id = this.inventedPatientIds.get(name);
    if (!id) {
      id = `CONDUIT${String(this.inventedPatientIds.size + 1).padStart(6, '0')}`;
      this.inventedPatientIds.set(name, id);
    }
    return id;
  }

  private inventedUid(parent: DirectoryRecord, warnings: string[], what: string, keyword: string): string {
    let uid = this.inventedUids.get(parent);
    if (!uid) {
      uid = newUid();
      this.inventedUids.set(parent, uid);
    }
    warnings.push(`${what}: no ${keyword}; grouped under ${uid}`);
    return uid;
  }

  /** Takes out the records of `chain` (PATIENT, STUDY, SERIES) left with nothing below them, innermost first. */
  private dropEmpty(chain: DirectoryRecord[]): void {
    for (let i = chain.length - 1; i >= 0; i--) {
      const record = chain[i]!;
      if (record.children.length > 0) return;
      const siblings = i === 0 ? this.dir.roots : chain[i - 1]!.children;
      siblings.splice(siblings.indexOf(record), 1);
      this.folders.delete(record);
    }
  }

  /** The folder of the last record of `chain` (PATIENT, STUDY, SERIES), allocated when it has none. */
  private folderOf(chain: DirectoryRecord[]): string[] {
    let folder: string[] = [];
    chain.forEach((record, depth) => {
      let own = this.folders.get(record);
      if (!own) {
        own = this.existingFolder(record, folder, depth) ?? [...folder, this.allocate(folder, LEVEL_PREFIX[depth]!)];
        this.folders.set(record, own);
        this.markUsed(own);
      }
      folder = own;
    });
    return folder;
  }

  /** The folder the instances below `record` share already (an opened file-set), if they do. */
  private existingFolder(record: DirectoryRecord, parentFolder: string[], depth: number): string[] | undefined {
    const stack = [...record.children];
    while (stack.length) {
      const r = stack.pop()!;
      const id = referencedFileId(r);
      if (id && id.length > depth + 1 && parentFolder.every((c, i) => id[i] === c)) return id.slice(0, depth + 1);
      stack.push(...r.children);
    }
    return undefined;
  }

  private allocate(folder: string[], prefix: string): string {
    const key = `${folder.join('/')}|${prefix}`;
    let n = this.nextNumber.get(key) ?? 0;
    for (;;) {
      const name = numberedComponent(prefix, n++);
      const joined = [...folder, name].join('/');
      if (!this.used.has(joined) && !existsSync(join(this.root, ...folder, name))) {
        this.nextNumber.set(key, n);
        return name;
      }
    }
  }

  private markUsed(fileId: readonly string[]): void {
    for (let n = 1; n <= fileId.length; n++) this.used.add(fileId.slice(0, n).join('/'));
  }
}

async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyFile(from, to);
    await unlink(from);
  }
}

function tsName(uid: string): string {
  const name = lookupUid(uid)?.name;
  return name ? `${name} (${uid})` : uid;
}

