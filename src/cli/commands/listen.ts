/**
 * `conduit listen --port N --out DIR`: a Storage SCP like DCMTK's storescp +xa. It accepts every
 * Storage SOP Class in every transfer syntax proposed (and Verification), writes each object it
 * receives as a Part 10 file named by its SOP Instance UID into DIR, durably (fsync, then rename),
 * and answers Success only once the file is on disk. SIGINT or SIGTERM stops it gracefully: it stops
 * listening and lets the running associations finish, up to a time limit.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { DicomServer, type AssociationInfo, type StoreRequest } from '../../ae/index.js';
import { Status } from '../../dimse/index.js';
import { DurableDirectory, fileNameFor, writeReceivedObject } from '../../services/storage/part10-sink.js';
import { storageFailureStatus } from '../../services/storage/storage-failure.js';
import { lookupUid } from '../../dictionary/index.js';
import type { UserIdentityRq } from '../../upper-layer/index.js';
import { checkUser, readUserList, type UserList } from '../user-identity-options.js';
import {
  addTlsServerOptions, describeNetworkError, parseAeTitle, parseCount, parseMaxPdu, parsePort, parseSeconds, parseSecondsOrNever, tlsServerOptions,
  type TlsFlags,
} from '../network-options.js';

interface ListenOptions extends TlsFlags {
  port: number;
  host?: string;
  aet: string;
  out: string;
  fsync: boolean;
  quiet?: boolean;
  strictAet?: boolean;
  acceptCalling?: string[];
  maxPdu: number;
  maxAssociations?: number;
  shutdownTimeout: number;
  idleTimeout: number;
  users?: string;
}

export function listenCommand(): Command {
  const command = new Command('listen')
    .description('receive DICOM objects (a C-STORE SCP, like storescp +xa) and write them as files named by SOP Instance UID')
    .requiredOption('-p, --port <n>', 'TCP port to listen on (0: any free port; the first line of output names it)', parsePort)
    .requiredOption('-o, --out <dir>', 'folder to write the received files into (created if missing)')
    .option('--host <address>', 'address to listen on (default: every interface)')
    .addOption(new Option('--aet <title>', 'this end\'s AE title').default('CONDUIT').argParser(parseAeTitle))
    .option('--strict-aet', 'reject associations whose Called AE Title is not --aet (by default any title is answered, as storescp does)')
    .option('--accept-calling <title...>', 'accept associations only from these Calling AE Titles')
    .addOption(new Option('--max-pdu <bytes>', 'largest PDU this end receives (Maximum Length announced; 0 = no limit)').default(256 * 1024).argParser(parseMaxPdu))
    .addOption(new Option('--max-associations <n>', 'associations at once; beyond, A-ASSOCIATE-RJ (transient, local limit exceeded)').argParser(parseCount))
    .addOption(new Option('--idle-timeout <seconds>', 'abort an association that waits for its peer and receives nothing for this long; 0 = never').default(60).argParser(parseSecondsOrNever))
    .addOption(new Option('--shutdown-timeout <seconds>', 'on SIGINT/SIGTERM, wait this long for running associations before aborting them').default(30).argParser(parseSeconds))
    .option('--no-fsync', 'do not fsync each file before answering (faster; a crash may lose objects already acknowledged)')
    .option('-q, --quiet', 'print only the first line (the port) and errors, not a line per association and object')
    .option('--users <file>', 'require a User Identity (PS3.7 D.3.3.7) from this file: a line per user, name:passcode or name alone; others are rejected');
  addTlsServerOptions(command);
  return command
    .addHelpText('after', `
Output: "listening on port N" first, then a line per association and per object received.

Examples:
  conduit listen --port 11112 --out ./incoming
  conduit listen --port 0 --aet ARCHIVE --strict-aet --out /srv/dicom
  conduit listen --port 2762 --tls-key server.key --tls-cert server.pem --tls-ca ca.pem --out ./incoming
  conduit listen --port 11112 --users users.txt --out ./incoming     # storescu --user alice --password ...`)
    .action(async (options: ListenOptions) => {
      process.exitCode = await runListen(options);
    });
}

/**
 * Lines to stdout, written once per turn of the event loop (setImmediate) rather than one write
 * each: the line for a stored object then goes out after its C-STORE-RSP, not before it.
 */
class LineBuffer {
  private lines: string[] = [];

  line = (text: string): void => {
    if (this.lines.push(text) === 1) setImmediate(this.flush);
  };

  flush = (): void => {
    if (this.lines.length === 0) return;
    const text = `${this.lines.join('\n')}\n`;
    this.lines = [];
    process.stdout.write(text);
  };
}

/**
 * The User Identity the requestor sent (PS3.7 D.3.3.7.1), for the association line. Without --users
 * conduit listen verifies none (and so sends no positive response: PS3.7 D.3.3.7.2 lets an acceptor
 * that does not take part ignore the sub-item), but an administrator sees who sent what.
 */
function identityOf(info: AssociationInfo, verified: boolean): string {
  const id = info.association.request.userInformation.userIdentity;
  if (id === undefined) return '';
  const kind = ['', 'user', 'user', 'a Kerberos ticket', 'a SAML assertion', 'a JSON Web Token'][id.userIdentityType] ?? `user identity type ${id.userIdentityType}`;
  const who = kind === 'user' ? `user ${JSON.stringify(new TextDecoder().decode(id.primaryField))}` : kind;
  return `, ${who} (${verified ? 'verified' : 'not verified'})`;
}

function sopClassName(uid: string): string {
  return lookupUid(uid)?.name ?? uid;
}

async function runListen(options: ListenOptions): Promise<number> {
  const out = resolve(options.out);
  const lines = new LineBuffer();
  const say = lines.line;
  let tls;
  let users: UserList | undefined;
  try {
    tls = tlsServerOptions(options);
    if (options.users !== undefined) users = readUserList(options.users);
  } catch (err) {
    process.stderr.write(`conduit listen: ${describeNetworkError(err, '')}\n`);
    return 1;
  }
  try {
    await mkdir(out, { recursive: true });
  } catch (err) {
    process.stderr.write(`conduit listen: cannot create ${out}: ${(err as Error).message}\n`);
    return 1;
  }
  // One open folder for every object: concurrent associations share its fsyncs.
  const directory = new DurableDirectory(out);
  const verbose = !options.quiet;
  const ids = new WeakMap<AssociationInfo, number>();
  const counts = new WeakMap<AssociationInfo, number>();
  let nextId = 1;
  let active = 0;
  const label = (info: AssociationInfo): string => `association ${ids.get(info) ?? '?'}`;

  const store = async (req: StoreRequest): Promise<{ status: number; errorComment?: string } | void> => {
    const info = req.association;
    // storescp warns when it overwrites; an object with a SOP Instance UID already received (sent
    // again, or another object given the same UID by a faulty sender) replaces the file: say so.
    // One stat of a path the write is about to touch anyway: a few microseconds per object.
    const replacing = existsSync(join(out, fileNameFor(req.sopInstanceUid)));
    try {
      const written = await writeReceivedObject(out, {
        sopClassUid: req.sopClassUid,
        sopInstanceUid: req.sopInstanceUid,
        transferSyntaxUid: req.transferSyntaxUid,
        sourceAet: info.callingAeTitle,
      }, req.dataSet, { fsync: options.fsync, directory, synchronousWrites: true });
      counts.set(info, (counts.get(info) ?? 0) + 1);
      if (verbose) say(`${label(info)}: stored ${written.path} (${sopClassName(req.sopClassUid)}, ${written.bytes} bytes)`);
      if (replacing) process.stderr.write(`conduit listen: ${label(info)}: warning: ${written.path} replaced the file of that name (an object with the same SOP Instance UID)\n`);
      return undefined;
    } catch (err) {
      if (req.cancelled.aborted || info.association.state !== 'Sta6') throw err; // the association is gone: no one to answer
      process.stderr.write(`conduit listen: ${label(info)}: cannot store ${req.sopInstanceUid}: ${(err as Error).message}\n`);
      // PS3.4 B.2.3, Table B.2-1: A700 Refused: Out of Resources for a full disk or no file handle
      // left; 0110 Processing failure for another write error (the object itself is not at fault).
      const answer = storageFailureStatus(err);
      return answer ?? { status: Status.ProcessingFailure, errorComment: 'cannot write the object' };
    }
  };

  const server = new DicomServer({
    aeTitle: options.aet,
    port: options.port,
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(tls ? { tls } : {}),
    ...(options.strictAet ? { strictCalledAeTitle: true } : {}),
    ...(options.acceptCalling ? { allowedCallingAeTitles: options.acceptCalling } : {}),
    ...(options.maxAssociations !== undefined ? { maxAssociations: options.maxAssociations } : {}),
    timeouts: { idle: Math.round(options.idleTimeout * 1000) },
    maxPduLength: options.maxPdu,
    ...(users !== undefined ? {
      userIdentityRequired: true,
      userIdentity: (identity: UserIdentityRq) => {
        const verdict = checkUser(users, identity);
        if (!verdict.accept) process.stderr.write(`conduit listen: refused a user identity: ${verdict.why}\n`);
        return verdict.accept ? { accept: true as const } : { accept: false as const };
      },
    } : {}),
    handlers: {
      echo: (info) => {
        if (verbose) say(`${label(info)}: C-ECHO`);
      },
      store,
    },
  });
  server.on('association', (info) => {
    ids.set(info, nextId++);
    active++;
    if (verbose) say(`${label(info)}: from ${info.callingAeTitle} (${info.remoteAddress ?? 'unknown address'}) to ${info.calledAeTitle}${identityOf(info, users !== undefined)}`);
  });
  server.on('released', (info) => {
    active--;
    if (verbose) say(`${label(info)}: released, ${objects(counts.get(info) ?? 0)}`);
  });
  server.on('aborted', (info, err) => {
    active--;
    process.stderr.write(`conduit listen: ${label(info)}: aborted after ${objects(counts.get(info) ?? 0)}: ${err.message}\n`);
  });
  server.on('rejected', (reason, calling) => {
    if (verbose) say(`rejected an association from ${calling ?? 'a peer'}: ${reason}${users !== undefined && /no-reason-given/.test(reason) ? ' (--users: no user identity sent, or one not accepted)' : ''}`);
  });
  server.on('connectionFailed', (err, remoteAddress) => {
    // A peer that connects and hangs up (a port check, a load balancer's probe) is not worth a line.
    if (err.code === 'ERR_DICOM_ASSOCIATION_CONNECTION_LOST') return;
    process.stderr.write(`conduit listen: a connection from ${remoteAddress ?? 'an address no longer known'} failed before any association: ${err.message}\n`);
  });
  server.on('handlerError', (err, info) => {
    process.stderr.write(`conduit listen: ${label(info)}: ${err instanceof Error ? err.message : String(err)}\n`);
  });

  let port: number;
  try {
    ({ port } = await server.listen());
  } catch (err) {
    process.stderr.write(`conduit listen: ${describeNetworkError(err, `${options.host ?? '*'}:${options.port}`)}\n`);
    return 1;
  }
  say(`listening on port ${port} as ${options.aet}${tls ? ' (TLS)' : ''}, writing to ${out}`);

  await new Promise<void>((done) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        // A second signal: do not wait any longer.
        say(`${signal}: aborting ${active} association(s)`);
        void server.close({ abort: true }).then(done, done);
        return;
      }
      stopping = true;
      say(`${signal}: no longer listening${active ? `; waiting up to ${options.shutdownTimeout} s for ${active} association(s)` : ''}`);
      const timer = setTimeout(() => {
        say(`shutdown timeout: aborting ${active} association(s)`);
        void server.close({ abort: true });
      }, options.shutdownTimeout * 1000);
      server.close().then(() => {
        clearTimeout(timer);
        done();
      }, () => {
        clearTimeout(timer);
        done();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await directory.close().catch(() => undefined);
  say('stopped');
  lines.flush();
  return 0;
}

/** "1 object", "2 objects". */
function objects(n: number): string {
  return n === 1 ? '1 object' : `${n} objects`;
}
