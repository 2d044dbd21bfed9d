/**
 * The composition root of `conduit serve`: the archive (SQLite index + filesystem blobs) with the
 * DIMSE SCP on top: Verification, Storage (success only once the object is durable and indexed)
 * and Query/Retrieve C-FIND, C-MOVE and C-GET (handlers in dimse/). DICOMweb plugs in here as it lands.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DicomError } from '../core/dicom-error.js';
import { DicomServer, PREFERRED_TRANSFER_SYNTAXES } from '../ae/index.js';
import { transferSyntax } from '../data/transfer-syntax.js';
import { ServiceError, Status } from '../dimse/index.js';
import { answerExtendedNegotiation } from '../services/query-retrieve/extended-negotiation.js';
import { OpenAssociations } from './dimse/open-associations.js';
import { QUERY_RETRIEVE_SOP_CLASSES } from '../services/query-retrieve/sop-classes.js';
import { storageSopClassUids } from '../services/storage/storage-sop-classes.js';
import { VERIFICATION_SOP_CLASS } from '../services/verification/verification.js';
import { ArchiveStore, FilesystemBlobStore, SqliteIndexStore, type InsertStatus, type StartupReport } from '../storage/index.js';
import type { ServerConfig } from './config.js';
import type { Log } from './dimse/context.js';
import { handleQueryRetrieve } from './dimse/query-retrieve.js';
import { startHttp } from './http.js';
import { storeFailure } from './dimse/store-failure.js';
import { dimseTlsOptions, httpTlsOptions, peerTlsOptions } from './tls.js';

export interface RunningServer {
  archive: ArchiveStore;
  dimse: DicomServer;
  dimsePort: number;
  /** DICOMweb (PS3.18) under /dicom-web. */
  httpPort: number;
  /** Stops accepting, lets running associations end (up to the grace period), closes the archive. */
  close(): Promise<void>;
  /**
   * Reads the TLS files the configuration names again (renewed certificates) and uses them for the
   * connections from now on: the DIMSE port's, the HTTPS port's and the client side's to +tls peers.
   * Returns what was reloaded (empty: no TLS configured). A file that cannot be read or used throws,
   * naming it, and nothing changes.
   */
  reloadTls(): string[];
}

export type { Log };

/** What became of a C-STORE of an instance already stored, for the log (the modality is told only for reject). */
const DUPLICATE_OUTCOMES: Partial<Record<InsertStatus, string>> = {
  'duplicate-kept': 'the stored instance is kept and this one discarded',
  overwritten: 'replaced by this one',
  rejected: 'refused with 0111H',
};

/** How many orphan and missing blobs the startup check names in the log (it counts them all). */
const STARTUP_REPORT_LINES = 10;

/**
 * The startup check's findings, a line each: counts, and the first few names, so that a damaged
 * archive of millions of instances logs a dozen lines rather than millions.
 */
function logStartupReport(report: StartupReport, blobsFolder: string, log: Log): void {
  for (const t of report.removedTemporaries) log('warn', `removed an interrupted write: ${t}`);
  for (const d of report.droppedUnconfirmed) log('warn', `dropped instance ${d.sopInstanceUid}, never acknowledged: ${d.reason} (an interrupted flush)`);
  // Named by file name: the folder is said once, so that an administrator knows where to look.
  const keptFiles = (n: number, names: readonly string[], why: string): void => {
    if (!n) return;
    const listed = names.length < n ? `the first ${names.length}` : n === 1 ? 'its name' : 'their names';
    log('warn', `${n} ${n === 1 ? 'file' : 'files'} in ${blobsFolder} ${n === 1 ? 'is' : 'are'} ${why} (kept, not served); ${listed}: ${names.join(', ')}`);
  };
  keptFiles(report.orphanBlobCount, report.orphanBlobs, 'not in the index');
  keptFiles(report.strayFileCount, report.strayFiles, 'outside its folder layout');
  const m = report.missingBlobCount;
  if (m) {
    const listed = report.missingBlobs.length < m ? `the first ${report.missingBlobs.length} follow` : 'each follows';
    log('error', `${m} indexed ${m === 1 ? 'instance has' : 'instances have'} lost ${m === 1 ? 'its' : 'their'} stored object in ${blobsFolder} (index entries kept); ${listed}`);
    for (const x of report.missingBlobs) log('error', `indexed instance ${x.sopInstanceUid} has lost its stored object ${x.blobKey}`);
  }
}

/** A port that cannot be had (in use, not permitted): which one, for what, and the system's reason. */
function listenError(what: 'DIMSE' | 'HTTP', host: string, port: number, err: unknown): DicomError {
  const cause = err instanceof DicomError && err.cause instanceof Error ? err.cause : err;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new DicomError('ERR_DICOM_TRANSPORT', `cannot listen for ${what} on ${host}:${port}: ${reason}`, { cause: err });
}

export async function startServer(config: ServerConfig, log: Log = () => undefined): Promise<RunningServer> {
  const tls = dimseTlsOptions(config);
  let peerTls = peerTlsOptions(config, tls);
  const https = httpTlsOptions(config);
  await mkdir(config.dataDir, { recursive: true });
  const blobsFolder = join(config.dataDir, 'blobs');
  const blobs = new FilesystemBlobStore({ root: blobsFolder });
  const index = new SqliteIndexStore({ path: join(config.dataDir, 'index.sqlite') });
  const archive = new ArchiveStore({ index, blobs });
  logStartupReport(await archive.startupCheck({ reportLimit: STARTUP_REPORT_LINES }), blobsFolder, log);

  const abstractSyntaxes: Record<string, readonly string[] | '*'> = { [VERIFICATION_SOP_CLASS]: PREFERRED_TRANSFER_SYNTAXES };
  const storage = config.sopClasses.length ? config.sopClasses : storageSopClassUids();
  for (const uid of storage) abstractSyntaxes[uid] = config.transferSyntaxes.length ? config.transferSyntaxes : '*';
  // Identifiers are small: Deflated is not offered for C-FIND, C-MOVE and C-GET.
  const queryTs = PREFERRED_TRANSFER_SYNTAXES.filter((t) => !transferSyntax(t).deflated);
  for (const c of QUERY_RETRIEVE_SOP_CLASSES) abstractSyntaxes[c.uid] = queryTs;
  // A C-GET requester takes the SCP role for the Storage SOP Classes it wants to receive (PS3.4 C.5.3).
  const roles = Object.fromEntries(storage.map((uid) => [uid, { scu: true, scp: true }]));

  const dimse: DicomServer = new DicomServer({
    aeTitle: config.aeTitle,
    host: config.host,
    port: config.dimsePort,
    maxAssociations: config.maxAssociations,
    timeouts: { idle: config.idleTimeoutSeconds * 1000 },
    maxPduLength: config.maxPduLength,
    abstractSyntaxes,
    roles,
    sopClassExtendedNegotiation: answerExtendedNegotiation,
    ...(config.restrictToPeers ? { allowedCallingAeTitles: config.peers.map((p) => p.aeTitle) } : {}),
    strictCalledAeTitle: config.checkCalledAeTitle,
    ...(tls ? { tls } : {}),
    handlers: {
      store: async (req) => {
        const result = await associations.track(req.association, 'C-STORE-RQ', () => archive.storeInstance(
          { dataSet: req.dataSet, sopClassUid: req.sopClassUid, sopInstanceUid: req.sopInstanceUid, transferSyntaxUid: req.transferSyntaxUid, sourceAet: req.association.callingAeTitle },
          config.duplicatePolicy,
        )).catch((err: unknown) => {
          const answer = storeFailure(err);
          // The dispatcher logs what it answers 0110 for; a full disk and a refused object are told here.
          if (answer instanceof ServiceError) log(answer.status === Status.RefusedOutOfResources ? 'error' : 'warn', `C-STORE of ${req.sopInstanceUid} from ${req.association.callingAeTitle}: ${answer.message}`);
          throw answer;
        });
        for (const w of result.warnings) log('warn', `${req.sopInstanceUid}: ${w}`);
        const duplicate = DUPLICATE_OUTCOMES[result.status];
        if (duplicate) log(result.status === 'rejected' ? 'warn' : 'info', `C-STORE of ${req.sopInstanceUid} from ${req.association.callingAeTitle}: already stored; ${duplicate} (duplicatePolicy ${config.duplicatePolicy})`);
        if (result.status === 'rejected') return { status: Status.DuplicateSOPInstance, errorComment: 'an instance with this SOP Instance UID is already stored' };
        return Status.Success;
      },
      // peerTls is read per request: reloadTls() may have replaced it.
      request: (req) => associations.track(req.association, req.request.message.type,
        () => handleQueryRetrieve(req, { archive, config, log, ...(peerTls ? { peerTls } : {}) })),
    },
  });
  const associations = new OpenAssociations(dimse);
  dimse.on('association', (a) => log('info', `association from ${a.callingAeTitle} (${a.remoteAddress ?? '?'})`));
  dimse.on('rejected', (reason, calling) => log('warn', `association from ${calling ?? '?'} rejected: ${reason}`));
  dimse.on('aborted', (a, err) => log('warn', `association from ${a.callingAeTitle} (${a.remoteAddress ?? '?'}) aborted: ${err.message}`));
  dimse.on('handlerError', (err) => log('error', `handler failed: ${(err as Error).stack ?? String(err)}`));
  // A modality whose TLS handshake fails (no client certificate, an untrusted CA, plain DICOM to
  // the TLS port) or that sends no PDU never reaches the association log; a bare connect (a port
  // check) is not worth a line.
  dimse.on('connectionFailed', (err, remoteAddress) => {
    if (err.code !== 'ERR_DICOM_ASSOCIATION_CONNECTION_LOST') log('warn', `a connection from ${remoteAddress ?? 'an address no longer known'} failed before any association: ${err.message}`);
  });
  const { port } = await dimse.listen().catch(async (e: unknown) => {
    await archive.close();
    throw listenError('DIMSE', config.host, config.dimsePort, e);
  });
  const http = await startHttp(config, archive, log, https).catch(async (e: unknown) => {
    await dimse.close({ abort: true });
    await archive.close();
    throw listenError('HTTP', config.host, config.httpPort, e);
  });
  return {
    archive,
    dimse,
    dimsePort: port,
    httpPort: http.port,
    async close() {
      await http.close();
      const timer = setTimeout(() => {
        const open = associations.describe();
        const n = open.length;
        if (n) log('warn', `shutdown: aborted ${n} ${n === 1 ? 'association' : 'associations'} still open after ${config.shutdownGraceSeconds} s: ${open.join(', ')}`);
        void dimse.close({ abort: true });
      }, config.shutdownGraceSeconds * 1000);
      timer.unref();
      await dimse.close();
      clearTimeout(timer);
      await archive.close();
    },
    reloadTls() {
      // Everything read and checked first, so that one bad file changes nothing.
      const nextDimse = dimseTlsOptions(config);
      const nextPeer = peerTlsOptions(config, nextDimse);
      const nextHttps = httpTlsOptions(config);
      const reloaded: string[] = [];
      if (nextDimse) {
        dimse.setTlsCredentials(nextDimse);
        reloaded.push('DIMSE port');
      }
      if (nextHttps) {
        http.setTlsCredentials(nextHttps);
        reloaded.push('HTTPS port');
      }
      if (nextPeer) {
        peerTls = nextPeer;
        reloaded.push('+tls peers');
      }
      return reloaded;
    },
  };
}
