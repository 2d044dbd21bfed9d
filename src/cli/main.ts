/**
 * The `conduit` command. Each subcommand lives in its own file under commands/ and is built only on
 * the library's public modules.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { dumpCommand } from './commands/dump.js';
import { echoCommand } from './commands/echo.js';
import { findCommand } from './commands/find.js';
import { getCommand } from './commands/get.js';
import { moveCommand } from './commands/move.js';
import { listenCommand } from './commands/listen.js';
import { storeCommand } from './commands/store.js';
import { serveCommand } from './commands/serve.js';
import { mediaCommand } from './commands/media.js';
import { webCommand } from './commands/web.js';

function packageVersion(): string {
  // dist/src/cli/main.js -> package.json at the package root.
  const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

export function createProgram(): Command {
  const program = new Command('conduit')
    .description('Conduit: a DICOM toolkit: Part 10 files (dump), DIMSE networking (echo, store, listen, find, move, get), the archive server (serve), DICOM file-sets (media) and a DICOMweb client (web); RTV is planned')
    .version(packageVersion(), '-V, --version', 'print the version of Conduit')
    .showHelpAfterError('(run conduit --help for usage)');
  program.addCommand(dumpCommand());
  program.addCommand(echoCommand());
  program.addCommand(storeCommand());
  program.addCommand(listenCommand());
  program.addCommand(findCommand());
  program.addCommand(moveCommand());
  program.addCommand(getCommand());
  program.addCommand(serveCommand());
  program.addCommand(mediaCommand());
  program.addCommand(webCommand());
  return program;
}

/** Runs the program with the given arguments (process.argv by default) and sets process.exitCode. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  // A closed pipe (`conduit dump x | head`) ends the output, it is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  await createProgram().parseAsync([...argv]);
}
