/**
 * User Identity Negotiation (PS3.7 D.3.3.7) for the requestors (`conduit echo`, `store`, `find`,
 * `move`, `get`), with the options DCMTK's storescu gives it: --user, --password, --kerberos,
 * --saml, --jwt, and --pos-response to require the acceptor's confirmation.
 */
import type { Command } from 'commander';
import type { AssociationClient } from '../ae/index.js';
import { DicomError } from '../core/dicom-error.js';
import { UserIdentityType, type UserIdentityRq } from '../upper-layer/index.js';
import { readArgumentFile } from './network-options.js';

export interface UserIdentityFlags {
  user?: string;
  password?: string;
  kerberos?: string;
  saml?: string;
  jwt?: string;
  posResponse?: boolean;
}

export function addUserIdentityOptions(command: Command): Command {
  return command
    .option('--user <name>', 'User Identity (PS3.7 D.3.3.7): this user name; with --password, user name and passcode')
    .option('--password <passcode>', 'the passcode of --user (env CONDUIT_PASSWORD keeps it out of the process list)')
    .option('--kerberos <file>', 'User Identity: the Kerberos service ticket in this file')
    .option('--saml <file>', 'User Identity: the SAML assertion in this file')
    .option('--jwt <file>', 'User Identity: the JSON Web Token in this file')
    .option('--pos-response', 'ask the peer to confirm the identity, and fail if it does not (a peer that ignores identities would otherwise accept anyone)');
}

/** The User Identity sub-item the flags ask for, or undefined; a wrong combination is a usage error. */
export function userIdentityOf(flags: UserIdentityFlags, env: NodeJS.ProcessEnv = process.env): UserIdentityRq | undefined {
  const password = flags.password ?? (flags.user !== undefined ? env.CONDUIT_PASSWORD : undefined);
  const given = [flags.user !== undefined && '--user', flags.kerberos !== undefined && '--kerberos', flags.saml !== undefined && '--saml', flags.jwt !== undefined && '--jwt'].filter(Boolean);
  if (given.length > 1) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `one user identity at a time: ${given.join(' and ')} were given`);
  if (flags.password !== undefined && flags.user === undefined) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', '--password needs --user');
  if (given.length === 0) {
    if (flags.posResponse) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', '--pos-response needs an identity (--user, --kerberos, --saml or --jwt)');
    return undefined;
  }
  const positiveResponseRequested = flags.posResponse === true;
  const empty = new Uint8Array(0);
  if (flags.user !== undefined) {
    // PS3.7 D.3.3.7.1: the fields are UTF-8 text, at most 65535 bytes each.
    if (flags.user === '') throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', '--user needs a user name');
    const primaryField = Buffer.from(flags.user, 'utf8');
    if (password === undefined) return { userIdentityType: UserIdentityType.Username, positiveResponseRequested, primaryField, secondaryField: empty };
    return { userIdentityType: UserIdentityType.UsernameAndPasscode, positiveResponseRequested, primaryField, secondaryField: Buffer.from(password, 'utf8') };
  }
  const [type, path, option] = flags.kerberos !== undefined ? [UserIdentityType.KerberosServiceTicket, flags.kerberos, '--kerberos']
    : flags.saml !== undefined ? [UserIdentityType.SamlAssertion, flags.saml, '--saml']
    : [UserIdentityType.JsonWebToken, flags.jwt!, '--jwt'];
  const primaryField = readArgumentFile(path, `${option} file`);
  if (primaryField.length === 0 || primaryField.length > 0xffff) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${option} ${path}: expected 1 to 65535 bytes, the file has ${primaryField.length}`);
  return { userIdentityType: type, positiveResponseRequested, primaryField, secondaryField: empty };
}

/**
 * With --pos-response, the accepted association must carry the acceptor's User Identity sub-item
 * (PS3.7 D.3.3.7.2): an acceptor that ignores identities accepts without one. Then the association
 * is released and the error says so.
 */
export async function checkIdentityConfirmed(client: AssociationClient, identity: UserIdentityRq | undefined): Promise<void> {
  if (!identity?.positiveResponseRequested || client.association.accept.userInformation.userIdentityResponse !== undefined) return;
  await client.release().catch(() => client.abort());
  throw new DicomError('ERR_DICOM_USER_IDENTITY_NOT_CONFIRMED', 'the peer accepted the association without confirming the user identity (--pos-response): it does not verify identities, or ignored this one');
}

// ---- the acceptor (conduit listen --users) ----

/** The users file of `conduit listen --users`: user name to passcode (undefined: the name alone is enough). */
export type UserList = ReadonlyMap<string, string | undefined>;

/**
 * Reads a users file: a line per user, `name:passcode` (the requestor must send that user name and
 * passcode, storescu --user name --password passcode) or `name` alone (the user name is enough, with
 * or without a passcode); blank lines and lines starting with # are skipped. The passcode is what
 * follows the first colon, as it is.
 */
export function readUserList(path: string): UserList {
  const text = readArgumentFile(path, '--users file').toString('utf8');
  const users = new Map<string, string | undefined>();
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trimStart();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const name = (colon < 0 ? line : line.slice(0, colon)).trimEnd();
    if (name === '') throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `--users ${path}, line ${i + 1}: no user name before the colon`);
    users.set(name, colon < 0 ? undefined : line.slice(colon + 1));
  }
  if (users.size === 0) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `--users ${path}: no user in the file (a line per user: name:passcode, or name)`);
  return users;
}

/** Equal bytes, in a time that does not depend on where they differ. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ (b[i % Math.max(b.length, 1)] ?? 0);
  return diff === 0;
}

/**
 * Whether `identity` is one of `users` (PS3.7 D.3.3.7.1: types 1 and 2; Kerberos, SAML and JWT are
 * not verified here, so they are refused), and the reason when it is not.
 */
export function checkUser(users: UserList, identity: UserIdentityRq): { accept: true; user: string } | { accept: false; why: string } {
  if (identity.userIdentityType !== UserIdentityType.Username && identity.userIdentityType !== UserIdentityType.UsernameAndPasscode) {
    return { accept: false, why: `user identity type ${identity.userIdentityType} (only a user name, with or without passcode, is verified)` };
  }
  const user = new TextDecoder().decode(identity.primaryField);
  if (!users.has(user)) return { accept: false, why: `unknown user ${JSON.stringify(user)}` };
  const passcode = users.get(user);
  if (passcode === undefined) return { accept: true, user };
  if (identity.userIdentityType !== UserIdentityType.UsernameAndPasscode || !sameBytes(identity.secondaryField, Buffer.from(passcode, 'utf8'))) {
    return { accept: false, why: `wrong or missing passcode for user ${JSON.stringify(user)}` };
  }
  return { accept: true, user };
}
