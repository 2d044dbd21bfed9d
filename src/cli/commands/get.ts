/**
 * `conduit get [--out DIR] [-P|-S] [-k KEY=VALUE]... HOST PORT`: a C-GET (PS3.4 C.4.3) like DCMTK's
 * getscu: the peer sends what the keys name back on the same association, with C-STOREs this end
 * accepts in the SCP role it proposed (PS3.7 D.3.3.4). Each object is written to DIR as
 * <SOP Instance UID>.dcm, fsync'd before it is acknowledged.
 */
import { mkdir } from 'node:fs/promises';
import { DicomError } from '../../core/dicom-error.js';
import { Command, Option } from 'commander';
import { retrieveProposals, type AssociationClient } from '../../ae/index.js';
import { lookupUid } from '../../dictionary/index.js';
import { DurableDirectory, writeReceivedObject } from '../../services/storage/part10-sink.js';
import { collect, describeNetworkError, exitWhenFlushed, parsePort, wantsTls } from '../network-options.js';
import { addQueryOptions, identifierOf, modelOf, openQueryAssociation, releaseQuietly, runRetrieve, type QueryFlags } from '../query-options.js';

interface GetFlags extends QueryFlags {
  out: string;
  sopClass?: string[];
  transferSyntax?: string[];
  fsync: boolean;
  verbose?: boolean;
  progress: boolean;
}

export function getCommand(): Command {
  const command = new Command('get')
    .description('retrieve studies, series or instances from a peer on the same association (C-GET), like getscu')
    .argument('<host>', 'host name or IP address of the peer')
    .argument('<port>', 'its TCP port', parsePort)
    .addOption(new Option('--out <dir>', 'folder to write the received objects into (created if needed)').default('.'));
  addQueryOptions(command, 'C-GET');
  return command
    .option('--sop-class <uid>', 'a storage SOP class to accept (repeat; default: the common image, SR, RT and document classes)', collect)
    .option('--transfer-syntax <uid>', 'a transfer syntax to accept the objects in, all in one context per SOP class (repeat; default: Explicit or Implicit VR Little Endian, and for the common image classes JPEG Lossless, JPEG Baseline, JPEG 2000, JPEG-LS Lossless and RLE each in a context of its own)', collect)
    .option('--no-fsync', 'do not fsync each file before acknowledging it')
    .option('-v, --verbose', 'print a line per object received')
    .option('--no-progress', 'no progress bar (it is drawn only when stderr is a terminal)')
    .addHelpText('after', `
The keys name what to retrieve by its unique keys at the level, as for conduit move. Objects are
written in the transfer syntax they arrive in: compressed objects of the common image classes come as
the peer stores them (JPEG, JPEG-LS, JPEG 2000, RLE). An object of a SOP class or transfer syntax not
proposed is decompressed by peers that can (Orthanc), or fails (Conduit, and peers that cannot):
propose its syntax with --transfer-syntax (with 1.2.840.10008.1.2.1 for the uncompressed ones), or
--sop-class for its class. Only uncompressed files: --transfer-syntax 1.2.840.10008.1.2.1.
At the end one line gives the sub-operations completed, failed and with warnings, the final status
and the bytes received. Exit status: 0 when everything arrived; 1 on a failure status (shown with
its Error Comment) or failed sub-operations.

Examples:
  conduit get --out study/ -k StudyInstanceUID=1.2.840.113619.2.1.1 pacs.example.org 104
  conduit get --out ct/ --level SERIES -k StudyInstanceUID=1.2.3 -k SeriesInstanceUID=1.2.3.4 localhost 11112`)
    .action(async (host: string, port: number, options: GetFlags) => {
      await exitWhenFlushed(await runGet(host, port, options));
    });
}

async function runGet(host: string, port: number, flags: GetFlags): Promise<number> {
  const where = `${host}:${port}`;
  let client: AssociationClient;
  let identifier;
  try {
    identifier = identifierOf(flags);
    await mkdir(flags.out, { recursive: true }).catch((cause: NodeJS.ErrnoException) => {
      const why = cause.code === 'EEXIST' || cause.code === 'ENOTDIR' ? 'a file is there, not a folder' : `cannot create it: ${cause.message}`;
      throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `--out ${flags.out}: ${why}`, { cause });
    });
    const storage = retrieveProposals({
      ...(flags.sopClass ? { storageSopClasses: flags.sopClass } : {}),
      ...(flags.transferSyntax ? { transferSyntaxes: flags.transferSyntax } : {}),
    });
    client = await openQueryAssociation(host, port, flags, 'GET', storage);
    const proposed = new Set(storage.presentationContexts.map((pc) => pc.abstractSyntax));
    if (!client.association.acceptedPresentationContexts().some((pc) => pc.scpRole && proposed.has(pc.abstractSyntax))) {
      process.stderr.write('conduit get: warning: the peer accepted no storage SOP class with this end in the SCP role (PS3.7 D.3.3.4): it may have no way to send the objects\n');
    }
  } catch (err) {
    process.stderr.write(`conduit get: ${describeNetworkError(err, where, { tls: wantsTls(flags) })}\n`);
    return 1;
  }
  let bytes = 0;
  const source = flags.aec;
  // As conduit listen: the folder kept open for its fsyncs, and the writes, close and rename done
  // on this thread (a process that does nothing else while an object arrives).
  const directory = new DurableDirectory(flags.out);
  const operation = client.get(identifier, {
    model: modelOf(flags), priority: flags.priority, ...(flags.level ? { level: flags.level } : {}),
    onStore: async (instance) => {
      const written = await writeReceivedObject(flags.out, { ...instance, sourceAet: source }, instance.dataSet, { fsync: flags.fsync, directory, synchronousWrites: true });
      bytes += written.bytes;
      if (flags.verbose) process.stderr.write(`received ${instance.sopInstanceUid} -> ${written.path}\n`);
    },
  });
  let code: number;
  try {
    code = await runRetrieve('get', client, operation, { progress: flags.progress, where, bytes: () => bytes });
  } finally {
    await directory.close();
  }
  const comment = operation.result?.status.errorComment ?? '';
  // Conduit's SCP says "not accepted as <transfer syntax>" or "<SOP class> not accepted"; others say less, or nothing.
  if (operation.result !== undefined && operation.result.failed > 0 && /not accepted|transfer syntax|presentation context/i.test(comment)) {
    const uid = /\b(\d+(?:\.\d+){3,})\b/.exec(comment)?.[1];
    const name = uid !== undefined ? lookupUid(uid)?.name : undefined;
    process.stderr.write(`conduit get: the peer could not send some objects on this association (${comment}${name ? `; ${uid} is ${name}` : ''}): propose their transfer syntax with --transfer-syntax UID (repeatable, with 1.2.840.10008.1.2.1 for the uncompressed ones) or their class with --sop-class UID\n`);
  }
  if (client.association.state === 'Sta6') await releaseQuietly(client, 'get', where);
  return code;
}
