/**
 * The `conduit` command. Each subcommand lives in its own file under commands/ and is built only on
 * the library's public modules.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';

/**
 * The subcommands, in the order help lists them, each loaded only when needed: `conduit store`
 * then does not load the archive server (fastify, SQLite, sharp) and the rest, which cost ~0.3 CPU
 * seconds and ~20 MiB at every start.
 */
const COMMANDS: ReadonlyArray<readonly [string, () => Promise<Command>]> = [
  ['dump', async () => (await import('./commands/dump.js')).dumpCommand()],
  ['echo', async () => (await import('./commands/echo.js')).echoCommand()],
  ['store', async () => (await import('./commands/store.js')).storeCommand()],
  ['listen', async () => (await import('./commands/listen.js')).listenCommand()],
  ['find', async () => (await import('./commands/find.js')).findCommand()],
  ['move', async () => (await import('./commands/move.js')).moveCommand()],
  ['get', async () => (await import('./commands/get.js')).getCommand()],
  ['serve', async () => (await import('./commands/serve.js')).serveCommand()],
  ['media', async () => (await import('./commands/media.js')).mediaCommand()],
  ['web', async () => (await import('./commands/web.js')).webCommand()],
];

function packageVersion(): string {
  // dist/src/cli/main.js -> package.json at the package root.
  const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/**
 * The program with its subcommands; `only` (a subcommand's name) loads just that one, for a run
 * that needs no other (help and unknown names load them all, so they are listed).
 */
export async function createProgram(only?: string): Promise<Command> {
  const program = new Command('conduit')
    .description('Conduit: a DICOM toolkit: Part 10 files (dump), DIMSE networking (echo, store, listen, find, move, get), the archive server (serve), DICOM file-sets (media) and a DICOMweb client (web); RTV is planned')
    .version(packageVersion(), '-V, --version', 'print the version of Conduit')
    .showHelpAfterError('(run conduit --help for usage)');
  const chosen = COMMANDS.filter(([name]) => name === only);
  for (const [name, load] of chosen.length > 0 ? chosen : COMMANDS) {
    // addCommand() does not pass the program's settings on: each says where its usage is.
    const command = await load();
    command.showHelpAfterError(`(run conduit ${name} --help for usage)`);
    for (const sub of command.commands) sub.showHelpAfterError(`(run conduit ${name} ${sub.name()} --help for usage)`);
    program.addCommand(command);
  }
  return program;
}

/** Runs the program with the given arguments (process.argv by default) and sets process.exitCode. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  // A closed pipe (`conduit dump x | head`) ends the output, it is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  // argv: node, the script, then the subcommand's name (the program itself has no options but
  // --help and --version, which do not take a subcommand's place).
  await (await createProgram(argv[2])).parseAsync([...argv]);
}
