import { Command } from 'commander';

/** Placeholder so that `npm start` says what it will do; the archive work brings the server. */
export function serveCommand(): Command {
  return new Command('serve')
    .description('run the Conduit server (not available yet)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      process.stderr.write('conduit serve: the server arrives with the archive work (issue 4)\n');
      process.exitCode = 1;
    });
}
