/**
 * `conduit move --dest AE [-P|-S] [-k KEY=VALUE]... HOST PORT`: a C-MOVE (PS3.4 C.4.2) like DCMTK's
 * movescu: the peer sends what the keys name to the Move Destination, an AE title it knows (its own
 * configuration maps it to a host and port). Progress (sub-operations) on stderr, a summary on stdout.
 */
import { Command, Option } from 'commander';
import type { AssociationClient } from '../../ae/index.js';
import { describeNetworkError, exitWhenFlushed, parseAeTitle, parsePort, wantsTls } from '../network-options.js';
import { addQueryOptions, identifierOf, modelOf, openQueryAssociation, releaseQuietly, runRetrieve, type QueryFlags } from '../query-options.js';

interface MoveFlags extends QueryFlags {
  dest: string;
  progress: boolean;
}

export function moveCommand(): Command {
  const command = new Command('move')
    .description('have a peer send studies, series or instances to an AE (C-MOVE), like movescu')
    .argument('<host>', 'host name or IP address of the peer')
    .argument('<port>', 'its TCP port', parsePort)
    .addOption(new Option('--dest <title>', 'Move Destination: the AE title the peer sends to (it must know its address)').makeOptionMandatory().argParser(parseAeTitle));
  addQueryOptions(command, 'C-MOVE');
  return command
    .option('--no-progress', 'no progress bar (it is drawn only when stderr is a terminal)')
    .addHelpText('after', `
The keys name what to move by its unique keys at the level (PS3.4 C.4.2.2.1): PatientID at PATIENT,
StudyInstanceUID at STUDY, SeriesInstanceUID at SERIES, SOPInstanceUID at IMAGE (several UIDs:
a\\b\\c). At the end one line gives the sub-operations completed, failed and with warnings and the
final status; the Failed SOP Instance UID List is printed on stderr. Exit status: 0 when everything
was sent; 1 on a failure status (shown with its Error Comment) or failed sub-operations.

Examples:
  conduit move --dest ARCHIVE -k StudyInstanceUID=1.2.840.113619.2.1.1 pacs.example.org 104
  conduit move --dest ME -P --level PATIENT -k PatientID=12345 localhost 11112`)
    .action(async (host: string, port: number, options: MoveFlags) => {
      await exitWhenFlushed(await runMove(host, port, options));
    });
}

async function runMove(host: string, port: number, flags: MoveFlags): Promise<number> {
  const where = `${host}:${port}`;
  let client: AssociationClient;
  let identifier;
  try {
    identifier = identifierOf(flags);
    client = await openQueryAssociation(host, port, flags, 'MOVE');
  } catch (err) {
    process.stderr.write(`conduit move: ${describeNetworkError(err, where, { tls: wantsTls(flags) })}\n`);
    return 1;
  }
  const operation = client.move(identifier, {
    destination: flags.dest, model: modelOf(flags), priority: flags.priority, ...(flags.level ? { level: flags.level } : {}),
  });
  const code = await runRetrieve('move', client, operation, { progress: flags.progress, where });
  if (client.association.state === 'Sta6') await releaseQuietly(client, 'move', where);
  return code;
}
