/**
 * What `conduit find`, `move` and `get` share: the options named as DCMTK's findscu / movescu /
 * getscu name them (-P / -S for the information model, -k for keys), opening the association with
 * the right presentation contexts, and the run of a C-MOVE or C-GET with its progress bar and summary.
 */
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  buildIdentifier, connect, queryRetrieveProposals, type AssociationClient, type ConnectOptions, type QueryRetrieveLevel, type QueryRetrieveModel,
  type RetrieveOperation, type RetrieveProgress,
} from '../ae/index.js';
import { DicomError } from '../core/dicom-error.js';
import type { DataSet } from '../data/data-set.js';
import { Priority } from '../dimse/index.js';
import { ProgressBar } from './progress.js';
import {
  addTimeoutOption, addTlsClientOptions, collect, describeNetworkError, parseAeTitle, parseMaxPdu, timeoutsFor, tlsClientOptions, type TlsFlags,
} from './network-options.js';
import { addUserIdentityOptions, checkIdentityConfirmed, userIdentityOf, type UserIdentityFlags } from './user-identity-options.js';
import { addRelationalOption, extendedNegotiationOf, optionsNotAgreed, type NegotiationFlags } from './query-negotiation.js';

export interface QueryFlags extends TlsFlags, UserIdentityFlags, NegotiationFlags {
  aet: string;
  aec: string;
  patientRoot?: boolean;
  studyRoot?: boolean;
  key?: string[];
  level?: QueryRetrieveLevel;
  priority: number;
  charset?: string;
  maxPdu: number;
  timeout: number;
}

const LEVELS: readonly QueryRetrieveLevel[] = ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'];
const PRIORITIES: Record<string, number> = { low: Priority.LOW, medium: Priority.MEDIUM, high: Priority.HIGH };

function parseLevel(text: string): QueryRetrieveLevel {
  const level = text.toUpperCase() === 'INSTANCE' ? 'IMAGE' : text.toUpperCase();
  if (!LEVELS.includes(level as QueryRetrieveLevel)) throw new InvalidArgumentError('expected PATIENT, STUDY, SERIES or IMAGE');
  return level as QueryRetrieveLevel;
}

function parsePriority(text: string): number {
  const p = PRIORITIES[text.toLowerCase()];
  if (p === undefined) throw new InvalidArgumentError('expected low, medium or high');
  return p;
}

/** The options of the three commands, `what` naming the operation in the help. */
export function addQueryOptions(command: Command, what: string): Command {
  command
    .addOption(new Option('--aet <title>', 'calling AE title (this end)').default('CONDUIT').argParser(parseAeTitle))
    .addOption(new Option('--aec <title>', 'called AE title (the peer)').default('ANY-SCP').argParser(parseAeTitle))
    .option('-P, --patient-root', 'Patient Root information model')
    .option('-S, --study-root', 'Study Root information model (the default)')
    .option('-k, --key <key=value>', 'a key: Keyword=value, (gggg,eeee)=value, Sequence[0].Keyword=value; no value: a return key; repeat for several', collect)
    .addOption(new Option('--level <level>', 'Query/Retrieve Level: PATIENT, STUDY, SERIES or IMAGE (default: PATIENT for -P, STUDY for -S)').argParser(parseLevel))
    .addOption(new Option('--priority <p>', `priority of the ${what}: low, medium or high`).default(Priority.MEDIUM, 'medium').argParser(parsePriority))
    .option('--charset <terms>', 'Specific Character Set of the keys (default: ISO_IR 192 when a value is not ASCII)')
    .addOption(new Option('--max-pdu <bytes>', 'largest PDU this end receives (Maximum Length announced; 0 = no limit)').default(256 * 1024).argParser(parseMaxPdu));
  addTimeoutOption(command, 'give up on connecting, on the association and on each response after this long');
  return addUserIdentityOptions(addTlsClientOptions(addRelationalOption(command)));
}

export function modelOf(flags: QueryFlags): QueryRetrieveModel {
  if (flags.patientRoot && flags.studyRoot) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'give either -P (Patient Root) or -S (Study Root), not both');
  return flags.patientRoot ? 'PATIENT' : 'STUDY';
}

/** The Identifier of the -k keys (errors name the key). */
export function identifierOf(flags: QueryFlags): DataSet {
  return buildIdentifier(flags.key ?? [], flags.charset !== undefined ? { characterSet: flags.charset } : {});
}

/** Opens the association proposing `operation` on the model, and any extra contexts (C-GET's storage). */
export async function openQueryAssociation(
  host: string, port: number, flags: QueryFlags, operation: 'FIND' | 'MOVE' | 'GET', extra: Pick<ConnectOptions, 'presentationContexts' | 'roleSelections'> = {},
): Promise<AssociationClient> {
  const tls = tlsClientOptions(flags);
  const identity = userIdentityOf(flags);
  const query = queryRetrieveProposals([operation], [modelOf(flags)]);
  const sopClassUid = query[0]!.abstractSyntax;
  const client = await connect({
    host, port, callingAeTitle: flags.aet, calledAeTitle: flags.aec, maxPduLength: flags.maxPdu, ...timeoutsFor(flags.timeout),
    ...(tls ? { tls } : {}),
    ...(identity ? { userIdentity: identity } : {}),
    presentationContexts: [...query, ...(extra.presentationContexts ?? [])],
    ...(extra.roleSelections ? { roleSelections: extra.roleSelections } : {}),
    sopClassExtendedNegotiations: extendedNegotiationOf(flags, operation, sopClassUid),
  });
  await checkIdentityConfirmed(client, identity);
  for (const line of optionsNotAgreed(flags, operation, sopClassUid, client)) process.stderr.write(`conduit ${operation.toLowerCase()}: warning: ${line}\n`);
  return client;
}

/** Releases the association; a failed release is only a warning. */
export async function releaseQuietly(client: AssociationClient, name: string, where: string): Promise<void> {
  try {
    await client.release();
  } catch (err) {
    process.stderr.write(`conduit ${name}: warning: the release failed: ${describeNetworkError(err, where)}\n`);
  }
}

/**
 * Runs a C-MOVE or C-GET to its end with a progress bar on stderr (on a terminal), then prints the
 * summary on stdout and the failures on stderr. Returns the exit status: 0 when the peer answered
 * Success (or a warning without failed sub-operations), 130 when cancelled by a signal, 1 otherwise.
 */
export async function runRetrieve(
  name: string, client: AssociationClient, operation: RetrieveOperation, options: { progress: boolean; where: string; bytes?: () => number },
): Promise<number> {
  const started = performance.now();
  let bar: ProgressBar | undefined;
  let last: RetrieveProgress | undefined;
  // The first SIGINT or SIGTERM cancels (C-CANCEL at the next response, PS3.7 §9.3.2.3); a second aborts.
  let signals = 0;
  const onSignal = (): void => {
    if (++signals === 1) {
      const note = `conduit ${name}: cancelling (C-CANCEL); again to abort`;
      if (bar) bar.note(note);
      else process.stderr.write(`${note}\n`);
    } else {
      client.abort();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    for await (const p of operation) {
      last = p;
      if (p.final || signals > 0) break;
      const done = p.completed + p.failed + p.warning;
      bar ??= new ProgressBar(process.stderr, done + (p.remaining ?? 0), 0, { enabled: options.progress && process.stderr.isTTY === true, bytes: options.bytes !== undefined });
      bar.update(done, options.bytes?.() ?? 0, done + (p.remaining ?? 0));
    }
    // After a cancel, the final response was read by the operation.
    last = operation.result ?? last;
  } catch (err) {
    bar?.finish();
    process.stderr.write(`conduit ${name}: ${signals > 1 ? 'aborted' : describeNetworkError(err, options.where)}\n`);
    return signals > 0 ? 130 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  bar?.finish();
  if (!last?.final) {
    process.stderr.write(`conduit ${name}: the peer sent no final response\n`);
    return signals > 0 ? 130 : 1;
  }
  const seconds = (performance.now() - started) / 1000;
  const bytes = options.bytes?.();
  process.stdout.write(
    `completed ${last.completed}, failed ${last.failed}, warnings ${last.warning}; ${last.status.description}; ` +
    `${bytes !== undefined ? `${(bytes / 1e6).toFixed(2)} MB ` : ''}in ${seconds.toFixed(2)} s\n`,
  );
  for (const uid of last.failedSopInstanceUids) process.stderr.write(`conduit ${name}: failed: ${uid}\n`);
  if (last.status.isFailure || last.status.isCancel) {
    process.stderr.write(`conduit ${name}: ${last.status.description}\n`);
    return signals > 0 ? 130 : 1;
  }
  return last.failed > 0 ? 1 : 0;
}
