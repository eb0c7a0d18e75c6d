/**
 * `noah-backup admin import-noah` (docs/OPERATIONS.md "Moving users from a Noah
 * server"): copies a Noah server's users — backups, backup setting, push token — into
 * the stores of this server's configuration. Noah's database and bucket are only read.
 * Exit 0 when every user is here, 1 when some were left out (one line each), 2 for a
 * usage error, 78 for bad configuration; a store that stops the run has its own code
 * and exit code (admin-import-errors.ts).
 * @module
 */
import { type Command, InvalidArgumentError } from 'commander';
import { classifyImportFailure } from './admin-import-errors.ts';
import { checkDataDir, dataDirProblem } from './serve.ts';

const EXIT_SKIPPED = 1;
const EXIT_USAGE = 2;
/** EX_CONFIG (sysexits.h), as for every admin command: an unusable data directory. */
const EXIT_CONFIG = 78;

interface Flags {
  data?: string;
  noahDatabaseUrl?: string;
  noahS3Bucket?: string;
  noahS3Region?: string;
  noahS3Endpoint?: string;
  noahS3ForcePathStyle?: boolean;
  dryRun?: boolean;
  json?: boolean;
  concurrency?: number;
}

type LoadConfig = (
  command: string,
  flags: { data?: string },
) => Promise<import('@noah-backup/server/config').ServerConfig | null>;

const NAME = 'noah-backup admin import-noah';

function concurrency(text: string): number {
  const n = /^\d{1,2}$/.test(text) ? Number(text) : 0;
  if (n < 1 || n > 32) throw new InvalidArgumentError('expected a number from 1 to 32');
  return n;
}

function usage(message: string, hint: string): void {
  process.stderr.write(`${NAME}: error: ${message}\nhint: ${hint}\n`);
  process.exitCode = EXIT_USAGE;
}

const MIB = 1024 * 1024;
const bytes = (n: number) => (n >= MIB ? `${(n / MIB).toFixed(1)} MiB` : `${n} bytes`);

/**
 * Adds `import-noah` to the `admin` command group.
 * @param admin - the `admin` command
 * @param config - loads the server configuration (null after reporting a problem)
 */
export function registerImportNoah(admin: Command, config: LoadConfig): void {
  admin
    .command('import-noah')
    .description(
      "Copy a Noah server's users (backups, backup setting, push token) here; Noah's database and bucket are only read",
    )
    .option('-d, --data <dir>', 'data directory (env DATA_DIR, default ./data)')
    .option('--noah-database-url <url>', "Noah's PostgreSQL (env NOAH_DATABASE_URL)")
    .option('--noah-s3-bucket <name>', "Noah's bucket (env NOAH_S3_BUCKET)")
    .option(
      '--noah-s3-region <region>',
      "its region (env NOAH_S3_REGION, default us-east-2, Noah's)",
    )
    .option('--noah-s3-endpoint <url>', 'an S3-compatible endpoint (env NOAH_S3_ENDPOINT)')
    .option('--noah-s3-force-path-style', 'path-style bucket addressing (MinIO and the like)')
    .option('--dry-run', 'read and check everything, write nothing, print what would be done')
    .option('--concurrency <n>', 'users imported at once (default 8)', concurrency)
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nNoah\'s bucket credentials: NOAH_S3_ACCESS_KEY_ID and NOAH_S3_SECRET_ACCESS_KEY (and\nNOAH_S3_SESSION_TOKEN), else the AWS SDK\'s default chain. Never on the command line.\nSee docs/OPERATIONS.md "Moving users from a Noah server".',
    )
    .action(async (flags: Flags) => {
      const env = process.env;
      const databaseUrl = flags.noahDatabaseUrl ?? env.NOAH_DATABASE_URL;
      const bucket = flags.noahS3Bucket ?? env.NOAH_S3_BUCKET;
      if (!databaseUrl || !/^postgres(ql)?:\/\//.test(databaseUrl))
        return usage(
          "Noah's database is not given (a postgres:// URL)",
          'pass --noah-database-url postgres://… or set NOAH_DATABASE_URL',
        );
      if (!bucket)
        return usage(
          "Noah's bucket is not given",
          'pass --noah-s3-bucket NAME or set NOAH_S3_BUCKET',
        );
      const endpoint = flags.noahS3Endpoint ?? env.NOAH_S3_ENDPOINT;
      if (endpoint !== undefined && !/^https?:\/\//.test(endpoint))
        return usage(
          '--noah-s3-endpoint must be an http(s) URL',
          'e.g. --noah-s3-endpoint https://minio.example.com',
        );
      const keyId = env.NOAH_S3_ACCESS_KEY_ID;
      const secret = env.NOAH_S3_SECRET_ACCESS_KEY;
      if (Boolean(keyId) !== Boolean(secret))
        return usage(
          'NOAH_S3_ACCESS_KEY_ID and NOAH_S3_SECRET_ACCESS_KEY go together',
          'set both, or neither to use the AWS SDK default chain',
        );
      const cfg = await config('import-noah', flags);
      if (!cfg) return;
      try {
        await checkDataDir(cfg.dataDir);
      } catch (err) {
        const problem = dataDirProblem(err);
        if (!problem) throw err;
        process.stderr.write(`${NAME}: error: ${problem.message}\nhint: ${problem.hint}\n`);
        process.exitCode = EXIT_CONFIG;
        return;
      }
      const { importNoah } = await import('@noah-backup/server/import-noah');
      let report: Awaited<ReturnType<typeof importNoah>>;
      const region = flags.noahS3Region ?? env.NOAH_S3_REGION ?? 'us-east-2';
      try {
        report = await importNoah(cfg, {
          noahDatabaseUrl: databaseUrl,
          noahS3: {
            bucket,
            region,
            ...(endpoint ? { endpoint } : {}),
            forcePathStyle: flags.noahS3ForcePathStyle ?? false,
            ...(keyId && secret
              ? {
                  credentials: {
                    accessKeyId: keyId,
                    secretAccessKey: secret,
                    ...(env.NOAH_S3_SESSION_TOKEN
                      ? { sessionToken: env.NOAH_S3_SESSION_TOKEN }
                      : {}),
                  },
                }
              : {}),
          },
          ...(flags.dryRun ? { dryRun: true } : {}),
          ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
          onProblem: (p) => {
            if (!flags.json) process.stderr.write(`${NAME}: ${p.problem}: ${p.line}\n`);
          },
        });
      } catch (err) {
        const f = classifyImportFailure(err, { noahS3Region: region });
        process.stderr.write(`${NAME}: error: ${f.message} [${f.code}]\nhint: ${f.hint}\n`);
        process.exitCode = f.exit;
        return;
      }
      if (report.skipped > 0) process.exitCode = EXIT_SKIPPED;
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      const r = report;
      const verb = r.dryRun ? 'would import' : 'imported';
      const out = [
        `${r.dryRun ? 'dry run: nothing was written. ' : ''}${r.noahUsers} Noah users read`,
        `  ${verb.padEnd(18)} ${r.imported} users: ${r.backupsCopied} backups (${bytes(r.bytesCopied)}), ${r.settingsSet} settings, ${r.devicesAdded} push tokens`,
        `  already here       ${r.unchanged} users${r.imported === 0 && r.skipped === 0 ? ' (nothing to change)' : ''}`,
        `  left out           ${r.skipped} users (listed above)`,
        `  kept here          ${r.backupsNewerHere} newer backups made on this server`,
        `  not carried over   ${r.olderBackupsLeft} backups older than a user's newest two; ${r.noahDeviceRows} rows of Noah's devices table (model and OS names, not kept here)`,
      ];
      if (r.skipped > 0)
        out.push(
          "hint: fix what the lines above name in Noah's bucket or database and run the import again; users already imported are left as they are",
        );
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
