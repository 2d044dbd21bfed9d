/**
 * The composition root of `conduit serve`: the archive (SQLite index + filesystem blobs) with the
 * DIMSE SCP on top: Verification, Storage (success only once the object is durable and indexed)
 * and Query/Retrieve C-FIND. C-MOVE / C-GET and DICOMweb plug in here as they land.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DicomServer, PREFERRED_TRANSFER_SYNTAXES, type GenericRequest } from '../ae/index.js';
import { parseDataSet } from '../data/reader/data-set-parser.js';
import { transferSyntax } from '../data/transfer-syntax.js';
import { encodeDataSet } from '../data/writer.js';
import { ServiceError, Status } from '../dimse/index.js';
import { performFind } from '../services/query-retrieve/find.js';
import { QUERY_RETRIEVE_SOP_CLASSES, queryRetrieveSopClass } from '../services/query-retrieve/sop-classes.js';
import { storageSopClassUids } from '../services/storage/storage-sop-classes.js';
import { VERIFICATION_SOP_CLASS } from '../services/verification/verification.js';
import { ArchiveStore, FilesystemBlobStore, SqliteIndexStore } from '../storage/index.js';
import type { ServerConfig } from './config.js';
import { startHttp } from './http.js';

export interface RunningServer {
  archive: ArchiveStore;
  dimse: DicomServer;
  dimsePort: number;
  /** DICOMweb (PS3.18) under /dicom-web. */
  httpPort: number;
  /** Stops accepting, lets running associations end (up to the grace period), closes the archive. */
  close(): Promise<void>;
}

export type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

export async function startServer(config: ServerConfig, log: Log = () => undefined): Promise<RunningServer> {
  await mkdir(config.dataDir, { recursive: true });
  const blobs = new FilesystemBlobStore({ root: join(config.dataDir, 'blobs') });
  const index = new SqliteIndexStore({ path: join(config.dataDir, 'index.sqlite') });
  const archive = new ArchiveStore({ index, blobs });
  const report = await archive.startupCheck();
  for (const t of report.removedTemporaries) log('warn', `removed an interrupted write: ${t}`);
  if (report.orphanBlobs.length) log('warn', `${report.orphanBlobs.length} stored objects are not indexed (kept; see startupCheck)`);
  for (const m of report.missingBlobs) log('error', `indexed instance ${m.sopInstanceUid} has lost its stored object ${m.blobKey}`);

  const abstractSyntaxes: Record<string, readonly string[] | '*'> = { [VERIFICATION_SOP_CLASS]: PREFERRED_TRANSFER_SYNTAXES };
  const storage = config.sopClasses.length ? config.sopClasses : storageSopClassUids();
  for (const uid of storage) abstractSyntaxes[uid] = config.transferSyntaxes.length ? config.transferSyntaxes : '*';
  // Identifiers are small: Deflated is not offered for queries.
  const queryTs = PREFERRED_TRANSFER_SYNTAXES.filter((t) => !transferSyntax(t).deflated);
  for (const c of QUERY_RETRIEVE_SOP_CLASSES) if (c.operation === 'FIND') abstractSyntaxes[c.uid] = queryTs;

  const dimse = new DicomServer({
    aeTitle: config.aeTitle,
    host: config.host,
    port: config.dimsePort,
    maxAssociations: config.maxAssociations,
    maxPduLength: config.maxPduLength,
    abstractSyntaxes,
    ...(config.restrictToPeers ? { allowedCallingAeTitles: config.peers.map((p) => p.aeTitle) } : {}),
    handlers: {
      store: async (req) => {
        const result = await archive.storeInstance(
          { dataSet: req.dataSet, sopClassUid: req.sopClassUid, sopInstanceUid: req.sopInstanceUid, transferSyntaxUid: req.transferSyntaxUid, sourceAet: req.association.callingAeTitle },
          config.duplicatePolicy,
        );
        for (const w of result.warnings) log('warn', `${req.sopInstanceUid}: ${w}`);
        if (result.status === 'rejected') return { status: Status.DuplicateSOPInstance, errorComment: 'an instance with this SOP Instance UID is already stored' };
        return Status.Success;
      },
      request: (req) => handleQuery(req, archive, config),
    },
  });
  dimse.on('association', (a) => log('info', `association from ${a.callingAeTitle} (${a.remoteAddress ?? '?'})`));
  dimse.on('rejected', (reason, calling) => log('warn', `association from ${calling ?? '?'} rejected: ${reason}`));
  dimse.on('handlerError', (err) => log('error', `handler failed: ${(err as Error).stack ?? String(err)}`));
  const { port } = await dimse.listen();
  const http = await startHttp(config, archive, log).catch(async (e: unknown) => {
    await dimse.close({ abort: true });
    await archive.close();
    throw e;
  });
  return {
    archive,
    dimse,
    dimsePort: port,
    httpPort: http.port,
    async close() {
      await http.close();
      const timer = setTimeout(() => void dimse.close({ abort: true }), config.shutdownGraceSeconds * 1000);
      timer.unref();
      await dimse.close();
      clearTimeout(timer);
      await archive.close();
    },
  };
}

/** C-FIND on a Query/Retrieve SOP class: Pending responses with Identifiers, then the final status. */
async function handleQuery(req: GenericRequest, archive: ArchiveStore, config: ServerConfig): Promise<void> {
  const { request, respond } = req;
  const qr = queryRetrieveSopClass(request.presentationContext.abstractSyntax);
  if (request.message.type !== 'C-FIND-RQ' || !qr || qr.operation !== 'FIND') {
    request.dataSet?.discard();
    await respond({ status: Status.UnrecognizedOperation, errorComment: `${request.message.type} is not performed on this presentation context` } as never);
    return;
  }
  if (!request.dataSet) throw new ServiceError(Status.IdentifierDoesNotMatchSOPClass, 'C-FIND-RQ without an Identifier');
  const ts = transferSyntax(request.presentationContext.transferSyntax);
  const bytes = await request.dataSet.collect();
  const enc = { explicitVR: ts.explicitVR, littleEndian: ts.littleEndian };
  let identifier;
  try {
    identifier = parseDataSet(bytes, enc);
  } catch (err) {
    throw new ServiceError(0xc000, `the Identifier cannot be parsed: ${(err as Error).message}`);
  }
  for await (const r of performFind(archive.index, identifier, { model: qr.model, retrieveAeTitle: config.aeTitle, cancelled: request.cancelled })) {
    const data = r.identifier ? encodeDataSet(r.identifier, enc) : null;
    await respond({ status: r.status, ...(r.errorComment ? { errorComment: r.errorComment } : {}) } as never, data);
  }
}
