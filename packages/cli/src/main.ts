/**
 * `noah-backup` command-line entry point. Each command group registers itself from its
 * own module under ./commands.
 * @module
 */
import { Command } from 'commander';

const program = new Command();
program
  .name('noah-backup')
  .description('End-to-end encrypted wallet backups: server, client and format tools.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

(await import('./commands/serve.ts')).registerServe(program);
(await import('./commands/admin.ts')).registerAdmin(program);
(await import('./commands/client.ts')).registerClientCommands(program);
(await import('./commands/crypto.ts')).registerCryptoCommands(program);

await program.parseAsync(process.argv);
