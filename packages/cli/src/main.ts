/**
 * `noah-backup` command-line entry point. Each command group registers itself from its
 * own module under ./commands.
 * @module
 */
import { Command } from 'commander';
import { EXIT } from './commands/cli-errors.ts';

const program = new Command();
program
  .name('noah-backup')
  .description('End-to-end encrypted wallet backups: server, client and format tools.')
  .version('0.1.0')
  // Inherited by every command registered below: a usage error (an unknown command or
  // option, a missing argument) is one line with a code and a hint, and exit code 2.
  .configureOutput({
    outputError: (str, write) =>
      write(
        str.startsWith('error: ')
          ? `noah-backup: ${str.trimEnd().replace(/\n/g, ' ')} [usage]\n`
          : str,
      ),
  })
  .showHelpAfterError('hint: run `noah-backup --help` (or `noah-backup COMMAND --help`)')
  .exitOverride((err) => {
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  });

(await import('./commands/serve.ts')).registerServe(program);
(await import('./commands/admin.ts')).registerAdmin(program);
(await import('./commands/client.ts')).registerClientCommands(program);
(await import('./commands/crypto.ts')).registerCryptoCommands(program);

await program.parseAsync(process.argv);
