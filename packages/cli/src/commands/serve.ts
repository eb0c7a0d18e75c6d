/**
 * `noah-backup serve [--port P] [--host H] [--data DIR]` (docs/OPERATIONS.md "Running
 * it"): runs the backup server on the environment's configuration (docs/OPERATIONS.md),
 * flags overriding PORT, HOST and DATA_DIR. Embedded defaults: SQLite file and filesystem
 * blob store under ./data. Stops gracefully on SIGINT/SIGTERM. The server modules are
 * loaded only when the command runs, so other commands start fast.
 * @module
 */
import type { Command } from 'commander';
import { CliError, describeFsError, ensureWritableDir } from './cli-errors.ts';

/** Exit code for invalid configuration (EX_CONFIG from sysexits.h). */
const EXIT_CONFIG = 78;

/** Exit codes of `serve`. */
const SERVE_EXIT_HELP = `
Exit codes:
  0   stopped by SIGINT or SIGTERM
  1   failure (a store cannot be opened)
  2   usage error (bad arguments)
  78  invalid configuration: a bad variable, a port that is taken or not allowed,
      a data directory that cannot be written`;

/**
 * One line and a hint for a port that cannot be bound (another server on it, a
 * privileged port) instead of Node's stack trace; null for any other failure.
 */
function listenProblem(
  err: unknown,
  host: string,
  port: number,
): { message: string; hint: string } | null {
  const code = (err as { code?: unknown } | null)?.code;
  const where = `${host}:${port}`;
  const other = port === 8080 ? 8081 : 8080;
  if (code === 'EADDRINUSE')
    return {
      message: `cannot listen on ${where}: the port is already in use (is another server running?) [EADDRINUSE]`,
      hint: `stop the other server, or choose another port: PORT=${other} npm start, or noah-backup serve --port ${other}`,
    };
  if (code === 'EACCES' || code === 'EADDRNOTAVAIL')
    return {
      message: `cannot listen on ${where}: ${code === 'EACCES' ? 'permission denied' : 'no such address on this machine'} [${code}]`,
      hint: `choose another port or address: PORT=${other} HOST=127.0.0.1 npm start`,
    };
  return null;
}

/**
 * One line and a hint for a data directory that cannot be created or written (a
 * read-only file system, no permission) instead of Node's stack trace; null otherwise.
 */
export function dataDirProblem(err: unknown): { message: string; hint: string } | null {
  const described = err instanceof CliError ? err : describeFsError(err);
  if (!(described instanceof CliError)) return null;
  return {
    message: `${described.message} [${described.code}]`,
    hint: 'give --data (or DATA_DIR) a directory you can write to',
  };
}

/** Checks the data directory before the stores open (Node's mkdir can misreport it). */
export async function checkDataDir(dataDir: string): Promise<void> {
  await ensureWritableDir(dataDir, '--data');
}

/**
 * Adds the `serve` command to the program.
 *
 * @param program - the root `noah-backup` command
 * @example
 * ```ts
 * registerServe(program);
 * ```
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'Run the backup server (configured by environment variables; see docs/OPERATIONS.md)',
    )
    .option('-p, --port <port>', 'port to listen on (env PORT, default 8080)')
    .option('-H, --host <host>', 'address to bind (env HOST, default 127.0.0.1)')
    .option(
      '-d, --data <dir>',
      'data directory for the embedded stores (env DATA_DIR, default ./data)',
    )
    .addHelpText('after', SERVE_EXIT_HELP)
    .action(async (flags: { port?: string; host?: string; data?: string }) => {
      const { ConfigError, loadConfig } = await import('@noah-backup/server/config');
      let config: ReturnType<typeof loadConfig>;
      try {
        config = loadConfig(process.env, {
          ...(flags.port === undefined ? {} : { port: flags.port }),
          ...(flags.host === undefined ? {} : { host: flags.host }),
          ...(flags.data === undefined ? {} : { dataDir: flags.data }),
        });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`noah-backup serve: ${err.message}\n`);
        process.exitCode = EXIT_CONFIG;
        return;
      }
      const { startServer } = await import('@noah-backup/server/start');
      let server: Awaited<ReturnType<typeof startServer>>;
      try {
        await checkDataDir(config.dataDir);
        server = await startServer(config);
      } catch (err) {
        const listen = listenProblem(err, config.host, config.port) ?? dataDirProblem(err);
        if (!listen) throw err;
        process.stderr.write(`noah-backup serve: error: ${listen.message}\nhint: ${listen.hint}\n`);
        process.exitCode = EXIT_CONFIG;
        return;
      }
      process.stdout.write(
        `noah-backup: listening on ${server.url} (public URL ${config.publicUrl}, data ${config.dataDir})\n`,
      );
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) {
          process.stderr.write(`noah-backup: ${signal} again, exiting now\n`);
          process.exit(1);
        }
        stopping = true;
        process.stderr.write(`noah-backup: ${signal}, shutting down\n`);
        server.close().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`noah-backup: shutdown failed: ${String(err)}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
