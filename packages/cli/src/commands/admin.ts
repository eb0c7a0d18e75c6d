/**
 * `noah-backup admin` (docs/PUSH.md §7), on the same configuration as `serve`
 * (environment variables, docs/OPERATIONS.md; `--data` overrides DATA_DIR):
 * - `admin trigger-backups --now [--json]` runs today's daily trigger job once and
 *   prints what it sent (at once: BACKUP_SPREAD does not apply, PUSH_RATE does). Safe
 *   to run on several machines at once or repeatedly: the day's lease lets one run, and
 *   no user is triggered twice a day.
 * - `admin stats [--json] [--top N]` prints users, enabled users, stale users, devices,
 *   bytes stored, the N users storing the most (by opaque user id) and the last job run.
 * - `admin s3-setup [--print]` sets up the bucket of BLOB_STORE_URL (admin-s3.ts).
 * - `admin import-noah` copies a Noah server's users here (admin-import-noah.ts).
 * - `admin scrub [--all] [--json]` re-reads stored objects against their recorded
 *   size and SHA-256 (docs/OPERATIONS.md "Scrub"); exit code 1 when one is damaged or
 *   missing.
 * The server modules are loaded only when a command runs.
 * @module
 */
import { type Command, InvalidArgumentError } from 'commander';
import { registerImportNoah } from './admin-import-noah.ts';
import { registerS3Setup } from './admin-s3.ts';
import { checkDataDir, dataDirProblem } from './serve.ts';

/** Exit code for invalid configuration (EX_CONFIG from sysexits.h). */
const EXIT_CONFIG = 78;
/** Exit code for a usage error. */
const EXIT_USAGE = 2;

interface AdminFlags {
  data?: string;
  json?: boolean;
}

/** `--top N`: 0 to 1000 users. */
function topUsers(text: string): number {
  const n = /^\d{1,4}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n <= 1000)) throw new InvalidArgumentError('expected a number of users from 0 to 1000');
  return n;
}

async function config(command: string, flags: AdminFlags) {
  const { ConfigError, loadConfig } = await import('@noah-backup/server/config');
  try {
    return loadConfig(process.env, flags.data === undefined ? {} : { dataDir: flags.data });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`noah-backup admin ${command}: ${err.message}\n`);
    process.exitCode = EXIT_CONFIG;
    return null;
  }
}

/**
 * Runs `fn` on the configured stores; a data directory that cannot be created or
 * written is one line, a hint and exit code 78, not a stack trace.
 */
async function onDataDir<T>(
  command: string,
  dataDir: string,
  fn: () => Promise<T>,
): Promise<T | null> {
  try {
    await checkDataDir(dataDir);
    return await fn();
  } catch (err) {
    const problem = dataDirProblem(err);
    if (!problem) throw err;
    process.stderr.write(
      `noah-backup admin ${command}: error: ${problem.message}\nhint: ${problem.hint}\n`,
    );
    process.exitCode = EXIT_CONFIG;
    return null;
  }
}

const MIB = 1024 * 1024;
const bytes = (n: number) => (n >= MIB ? `${(n / MIB).toFixed(1)} MiB (${n} bytes)` : `${n} bytes`);
const iso = (d: Date | null) => (d ? d.toISOString() : '-');

/**
 * Adds the `admin` command group to the program.
 *
 * @param program - the root `noah-backup` command
 * @example
 * ```ts
 * registerAdmin(program);
 * ```
 */
export function registerAdmin(program: Command): void {
  const admin = program
    .command('admin')
    .description('Operator commands on the server configuration (same env vars as serve)');
  registerS3Setup(admin, config);
  registerImportNoah(admin, config);

  admin
    .command('scrub')
    .description(
      "Re-read stored objects against their recorded size and SHA-256 (today's share, or --all); exit 1 on a mismatch",
    )
    .option('-d, --data <dir>', 'data directory (env DATA_DIR, default ./data)')
    .option('--all', 'read every stored object, not the daily share')
    .option('--json', 'print the result as JSON')
    .action(async (flags: AdminFlags & { all?: boolean }) => {
      const cfg = await config('scrub', flags);
      if (!cfg) return;
      const { runScrubOnce } = await import('@noah-backup/server/scrub-admin');
      const r = await onDataDir('scrub', cfg.dataDir, () =>
        runScrubOnce(cfg, flags.all ? { all: true } : {}),
      );
      if (!r) return;
      if (r.findings.length > 0) process.exitCode = 1;
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      const out = [
        `scrub: ${r.checked} of ${r.stored} stored objects read, ${r.findings.length} damaged or missing, ${r.filled} checksums filled in`,
        ...r.findings.map((f) => `  ${f.reason.padEnd(8)} ${f.objectKey} (user ${f.userId})`),
      ];
      if (r.findings.length > 0)
        out.push(
          'hint: the listed objects no longer hold what was uploaded; the users keep any other backup; see docs/OPERATIONS.md "Scrub"',
        );
      process.stdout.write(`${out.join('\n')}\n`);
    });

  admin
    .command('trigger-backups')
    .description(
      "Run today's daily backup trigger job once, now (PUSH_RATE applies, BACKUP_SPREAD does not), and print what it sent",
    )
    .option('--now', 'run it now (required)')
    .option('-d, --data <dir>', 'data directory (env DATA_DIR, default ./data)')
    .option('--json', 'print the result as JSON')
    .action(async (flags: AdminFlags & { now?: boolean }) => {
      if (!flags.now) {
        process.stderr.write(
          'noah-backup admin trigger-backups: add --now to run the job now (the server runs it at BACKUP_CRON)\n',
        );
        process.exitCode = EXIT_USAGE;
        return;
      }
      const cfg = await config('trigger-backups', flags);
      if (!cfg) return;
      const { runTriggerJobOnce } = await import('@noah-backup/server/push/admin');
      const r = await onDataDir('trigger-backups', cfg.dataDir, () => runTriggerJobOnce(cfg));
      if (!r) return;
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      const out = [`backup trigger job ${r.day}: ${r.status}`];
      if (r.status === 'lease_held')
        out.push("  another instance is running this day's job; nothing was sent from here");
      else {
        const sent = Object.entries(r.sent)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ');
        out.push(
          `  candidates         ${r.candidates}`,
          `  triggered users    ${r.triggered}`,
          `  messages sent      ${sent || '0'}`,
          `  failed users       ${r.failed} (${r.messageFailures} messages given up, ${r.retries} retries)`,
          `  pruned tokens      ${r.pruned}`,
          `  skipped            ${r.skippedRollout} by the rollout, ${r.claimedElsewhere} by another instance`,
        );
      }
      process.stdout.write(`${out.join('\n')}\n`);
    });

  admin
    .command('stats')
    .description(
      'Print users, enabled and stale users, devices, bytes stored, the largest users, the last job run',
    )
    .option('-d, --data <dir>', 'data directory (env DATA_DIR, default ./data)')
    .option('--json', 'print the figures as JSON')
    .option('--top <n>', 'how many of the largest users to list (default 10)', topUsers)
    .action(async (flags: AdminFlags & { top?: number }) => {
      const cfg = await config('stats', flags);
      if (!cfg) return;
      const { readAdminStats } = await import('@noah-backup/server/push/admin');
      const s = await onDataDir('stats', cfg.dataDir, () =>
        readAdminStats(cfg, flags.top === undefined ? {} : { top: flags.top }),
      );
      if (!s) return;
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(s)}\n`);
        return;
      }
      const job = s.lastJob;
      const ratio =
        s.triggers7d.sent === 0
          ? '-'
          : `${((100 * s.triggers7d.succeededWithinDay) / s.triggers7d.sent).toFixed(1)} %`;
      process.stdout.write(
        [
          `users              ${s.users}`,
          `enabled users      ${s.enabledUsers}`,
          `stale users        ${s.staleUsers} (enabled, with a device, no backup within BACKUP_STALE_AFTER)`,
          `devices            ${s.devices}`,
          `backups            ${s.backups}`,
          `bytes stored       ${bytes(s.bytesStored)}`,
          s.largestUsers.length === 0
            ? 'largest users      none'
            : 'largest users      (opaque user id, bytes, objects, newest backup)',
          ...s.largestUsers.map(
            (u) => `  ${u.userId}  ${bytes(u.bytes)}, ${u.objects}, ${iso(u.newestAt)}`,
          ),
          job
            ? `last job run       ${job.day}: started ${iso(job.startedAt)}, ${job.finishedAt ? `finished ${iso(job.finishedAt)}` : 'unfinished'}, ${job.triggered} triggered, ${job.failed} failed, ${job.pruned} pruned, ${job.runs} run(s)`
            : 'last job run       none',
          `trigger success    ${ratio} of ${s.triggers7d.sent} triggers (last 7 days) led to a backup within a day`,
        ].join('\n') + '\n',
      );
    });
}
