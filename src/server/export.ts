/**
 * Export of a study or a patient as a DICOM file-set over HTTP (issue 6): a ZIP holding a DICOMDIR
 * file-set of a PS3.11 application profile (the packaging of PS3.11 Annex L), on the serve HTTP
 * port beside DICOMweb but outside its base path, since it is not a PS3.18 resource:
 *   GET /export/studies/{StudyInstanceUID}?profile=STD-GEN-CD&fileSetId=ID
 *   GET /export/patients/{PatientID}?profile=...
 * Here, in the composition root, because it joins storage (the archive) and media (FileSet, which
 * works on files and may not import storage). The instances are copied from the blob store into a
 * temporary folder, the File-set Creator writes the DICOMDIR there, and the ZIP is streamed from
 * that folder as it is deflated (never whole in memory); the folder is removed when the response
 * ends, sent or not. An instance the profile refuses makes the whole export fail (409) before
 * anything is sent, naming it, unless anyTransferSyntax=true keeps compressed ones (as
 * `conduit media create --any-transfer-syntax` does).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { DicomError } from '../core/dicom-error.js';
import { badRequest, DicomWebError, notFound } from '../dicomweb/http-error.js';
import { checkUid } from '../dicomweb/request.js';
import { DEFAULT_PROFILE, FileSet, profileIds, zipFolderStream } from '../media/dicomdir/index.js';
import type { ArchiveStore } from '../storage/archive-store.js';
import type { StoredInstance } from '../storage/ports.js';

export interface ExportOptions {
  readonly archive: ArchiveStore;
  /** Where the file-sets are staged (default: the system's temporary folder). */
  readonly tempDir?: string;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

type Query = { profile?: string; fileSetId?: string; anyTransferSyntax?: string };

async function exportFileSet(options: ExportOptions, reply: FastifyReply, instances: readonly StoredInstance[], name: string, query: Query): Promise<FastifyReply> {
  const profile = query.profile ?? DEFAULT_PROFILE;
  if (!profileIds().includes(profile.toUpperCase())) throw badRequest(`profile=${profile} is not an application profile Conduit writes (${profileIds().join(', ')})`);
  const stage = await mkdtemp(join(options.tempDir ?? tmpdir(), 'conduit-export-'));
  const cleanup = () => rm(stage, { recursive: true, force: true }).catch(() => undefined);
  try {
    const root = join(stage, 'fileset');
    const set = await FileSet.create(root, { profile, fileSetId: query.fileSetId ?? '', anyTransferSyntax: query.anyTransferSyntax === 'true' });
    let n = 0;
    for (const instance of instances) {
      const path = join(stage, `in-${n++}.dcm`);
      await pipeline(Readable.from(await options.archive.blobs.get(instance.blobKey)), createWriteStream(path));
      try {
        const result = await set.add(path, { move: true });
        for (const w of result.warnings) options.log?.('warn', `export: ${w}`);
      } catch (error) {
        if (error instanceof DicomError && error.code === 'ERR_DICOM_MEDIA_PROFILE') {
          throw new DicomWebError('ERR_DICOM_MEDIA_PROFILE', `instance ${instance.sopInstanceUid} cannot go into a ${profile} file-set: ${error.message}`, 409, { cause: error });
        }
        throw error;
      }
    }
    await set.write();
    reply.raw.on('close', () => void cleanup());
    const body = Readable.from(zipFolderStream(root, `the export of ${name}`));
    return reply.code(200).type('application/zip').header('Content-Disposition', `attachment; filename="${name.replace(/[^A-Za-z0-9._-]/g, '_')}.zip"`).send(body);
  } catch (error) {
    await cleanup();
    throw error;
  }
}

export function registerExport(app: FastifyInstance, options: ExportOptions): void {
  app.get<{ Params: { study: string }; Querystring: Query }>('/export/studies/:study', async (request, reply) => {
    const study = request.params.study;
    checkUid(study, 'Study Instance UID');
    const instances = await options.archive.index.instancesFor('STUDY', study);
    if (instances.length === 0) throw notFound(`study ${study} is not in the archive`);
    return exportFileSet(options, reply, instances, `study-${study}`, request.query);
  });
  app.get<{ Params: { patient: string }; Querystring: Query }>('/export/patients/:patient', async (request, reply) => {
    const patient = request.params.patient;
    const instances = await options.archive.index.instancesFor('PATIENT', patient);
    if (instances.length === 0) throw notFound(`patient ${patient} is not in the archive`);
    return exportFileSet(options, reply, instances, `patient-${patient}`, request.query);
  });
}
