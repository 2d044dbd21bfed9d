/**
 * `conduit find [-P|-S] [-k KEY=VALUE]... [--level L] HOST PORT`: a C-FIND (PS3.4 C.4.1) like DCMTK's
 * findscu, printing each match as one line of the DICOM JSON model (PS3.18 Annex F) on stdout, so
 * the output pipes into jq or a script. `--cancel N` sends C-CANCEL after N matches.
 */
import { Command, Option } from 'commander';
import type { AssociationClient } from '../../ae/index.js';
import { toDicomJson, toDicomJsonText } from '../../data/json-model.js';
import { describeNetworkError, exitWhenFlushed, parseCount, parsePort, wantsTls } from '../network-options.js';
import { addQueryOptions, identifierOf, modelOf, openQueryAssociation, releaseQuietly, type QueryFlags } from '../query-options.js';
import { addFindNegotiationOptions } from '../query-negotiation.js';

interface FindFlags extends QueryFlags {
  cancel?: number;
  quiet?: boolean;
}

export function findCommand(): Command {
  const command = new Command('find')
    .description('query a peer (C-FIND, Patient or Study Root), like findscu: one JSON object (PS3.18 F) per match per line')
    .argument('<host>', 'host name or IP address of the peer')
    .argument('<port>', 'its TCP port', parsePort);
  addFindNegotiationOptions(addQueryOptions(command, 'C-FIND'));
  return command
    .addOption(new Option('--cancel <n>', 'send C-CANCEL after n matches (and print only those)').argParser(parseCount))
    .option('-q, --quiet', 'no summary line on stderr')
    .addHelpText('after', `
Each match is printed as it arrives, as one line of the DICOM JSON model. A summary line (matches and
the final status) goes to stderr. Values use the usual matching (PS3.4 C.2.2.2): * and ? wildcards,
date and time ranges (20200101-20201231, -20200101, 20200101-), lists of UIDs (a\\b). Exit status:
0 when the peer answered Success (or Cancel after --cancel); 1 on a failure status, which is printed
with its Error Comment, or when no answer came.

Examples:
  conduit find -k PatientName='DOE*' -k StudyDate=20200101- -k StudyInstanceUID localhost 11112
  conduit find -P --level PATIENT -k PatientID -k PatientName pacs.example.org 104
  conduit find --level SERIES -k StudyInstanceUID=1.2.3 -k Modality -k SeriesInstanceUID localhost 11112 | jq .`)
    .action(async (host: string, port: number, options: FindFlags) => {
      await exitWhenFlushed(await runFind(host, port, options));
    });
}

async function runFind(host: string, port: number, flags: FindFlags): Promise<number> {
  const where = `${host}:${port}`;
  let client: AssociationClient;
  let identifier;
  let model;
  try {
    identifier = identifierOf(flags);
    model = modelOf(flags);
    client = await openQueryAssociation(host, port, flags, 'FIND');
  } catch (err) {
    process.stderr.write(`conduit find: ${describeNetworkError(err, where, { tls: wantsTls(flags) })}\n`);
    return 1;
  }
  const operation = client.find(identifier, { model, priority: flags.priority, ...(flags.level ? { level: flags.level } : {}) });
  let matches = 0;
  try {
    for await (const match of operation) {
      process.stdout.write(`${toDicomJsonText(toDicomJson(match))}\n`);
      if (++matches === flags.cancel) break;
    }
  } catch (err) {
    client.abort();
    process.stderr.write(`conduit find: ${describeNetworkError(err, where, { tls: wantsTls(flags) })}\n`);
    return 1;
  }
  await releaseQuietly(client, 'find', where);
  const status = operation.status;
  const cancelled = flags.cancel !== undefined && matches === flags.cancel;
  if (!status) {
    process.stderr.write(`conduit find: ${matches} matches; the peer sent no final response${cancelled ? ' after C-CANCEL' : ''}\n`);
    return cancelled ? 0 : 1;
  }
  const warnings = operation.pendingWarnings > 0 ? ` (${operation.pendingWarnings} with FF01H: optional keys not supported)` : '';
  if (status.isSuccess || status.isWarning || (cancelled && status.isCancel)) {
    if (!flags.quiet) process.stderr.write(`conduit find: ${matches} match${matches === 1 ? '' : 'es'}${warnings}${cancelled ? ', cancelled' : ''}; ${status.description}\n`);
    return 0;
  }
  process.stderr.write(`conduit find: ${matches} match${matches === 1 ? '' : 'es'}; ${status.description}\n`);
  return 1;
}
