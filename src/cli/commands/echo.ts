/**
 * `conduit echo [--aet A] [--aec B] [--tls...] HOST PORT`: verifies a DICOM peer with C-ECHO (PS3.4
 * Annex A, PS3.7 §9.1.5), like DCMTK's echoscu, and prints the status and the round-trip time.
 */
import { performance } from 'node:perf_hooks';
import { Command, Option } from 'commander';
import { connect, type AssociationClient } from '../../ae/index.js';
import {
  addTimeoutOption, addTlsClientOptions, describeNetworkError, exitWhenFlushed, parseAeTitle, parseCount, parsePort, timeoutsFor, tlsClientOptions,
  type TlsFlags,
} from '../network-options.js';
import { addUserIdentityOptions, checkIdentityConfirmed, userIdentityOf, type UserIdentityFlags } from '../user-identity-options.js';

interface EchoOptions extends TlsFlags, UserIdentityFlags {
  aet: string;
  aec: string;
  repeat: number;
  timeout: number;
}

export function echoCommand(): Command {
  const command = new Command('echo')
    .description('verify a DICOM peer (C-ECHO): prints the status and the round-trip time')
    .argument('<host>', 'host name or IP address of the peer')
    .argument('<port>', 'its TCP port', parsePort)
    .addOption(new Option('--aet <title>', 'calling AE title (this end)').default('CONDUIT').argParser(parseAeTitle))
    .addOption(new Option('--aec <title>', 'called AE title (the peer)').default('ANY-SCP').argParser(parseAeTitle))
    .addOption(new Option('-r, --repeat <n>', 'C-ECHOs to send on the association').default(1).argParser(parseCount));
  addTimeoutOption(command, 'give up on connecting, on the association and on each answer after this long');
  addTlsClientOptions(command);
  addUserIdentityOptions(command);
  return command
    .addHelpText('after', `
Exit status: 0 when every C-ECHO succeeded; 1 otherwise (association rejected or aborted,
connection refused, timeout, or a C-ECHO status other than Success).

Examples:
  conduit echo localhost 11112
  conduit echo --aec STORESCP pacs.example.org 104
  conduit echo --tls-ca ca.pem --tls-key me.key --tls-cert me.pem pacs.example.org 2762
  CONDUIT_PASSWORD=secret conduit echo --user alice --pos-response pacs.example.org 104`)
    .action(async (host: string, port: number, options: EchoOptions) => {
      await exitWhenFlushed(await runEcho(host, port, options));
    });
}

async function runEcho(host: string, port: number, options: EchoOptions): Promise<number> {
  const where = `${host}:${port}`;
  let client: AssociationClient;
  let tls;
  let identity;
  try {
    tls = tlsClientOptions(options);
    identity = userIdentityOf(options);
  } catch (err) {
    process.stderr.write(`conduit echo: ${describeNetworkError(err, where)}\n`);
    return 1;
  }
  const hint = { tls: tls !== undefined };
  const started = performance.now();
  try {
    client = await connect({
      host, port, callingAeTitle: options.aet, calledAeTitle: options.aec, ...timeoutsFor(options.timeout), ...(tls ? { tls } : {}),
      ...(identity ? { userIdentity: identity } : {}),
    });
    await checkIdentityConfirmed(client, identity);
  } catch (err) {
    process.stderr.write(`conduit echo: ${describeNetworkError(err, where, hint)}\n`);
    return 1;
  }
  const associated = performance.now() - started;
  let failed = 0;
  try {
    for (let i = 1; i <= options.repeat; i++) {
      const t0 = performance.now();
      const status = await client.echo();
      const rtt = performance.now() - t0;
      const n = options.repeat > 1 ? ` #${i}` : '';
      const line = `C-ECHO${n} to ${options.aec} at ${where}: ${status.description}, round trip ${ms(rtt)}` +
        (i === 1 ? ` (association ${ms(associated)}${client.association.peer?.tls ? `, ${client.association.peer.tls.protocol ?? 'TLS'}` : ''})` : '');
      if (status.isSuccess) {
        process.stdout.write(`${line}\n`);
      } else {
        failed++;
        process.stderr.write(`conduit echo: ${line}\n`);
      }
    }
  } catch (err) {
    client.abort();
    process.stderr.write(`conduit echo: ${describeNetworkError(err, where, hint)}\n`);
    return 1;
  }
  try {
    await client.release();
  } catch (err) {
    process.stderr.write(`conduit echo: warning: the release failed: ${describeNetworkError(err, where, hint)}\n`);
  }
  return failed ? 1 : 0;
}

function ms(t: number): string {
  return `${t < 10 ? t.toFixed(2) : t.toFixed(1)} ms`;
}
