/**
 * The client commands (README.md "Try it from the command line"): `backup --data DIR
 * [--accept-missing-databases]`, `restore --to DIR [--version N] [--yes-older]
 * [--yes-empty] [--force]`, `list`, `delete N`, `verify [N]`, `settings
 * [--enable|--disable]` and `demo-wallet DIR`. Every one takes `--server URL` (or
 * NOAH_SERVER), the seedphrase from `--mnemonic-file F` or NOAH_MNEMONIC (never an
 * argument: arguments show in `ps`), `--state DIR` for the device state, and `--json`
 * for scripts. Progress bars go to stderr on a terminal only; errors are one line plus a
 * hint on stderr, with the exit codes in {@link EXIT}.
 * @module
 */
import { readdir } from 'node:fs/promises';
import { NoahError } from '@noah-backup/core/errors';
import type { BackupInfo } from '@noah-backup/core/api';
import { type Command, InvalidArgumentError } from 'commander';
import { fail, print, run, toJson } from './client-run.ts';
import {
  type CommonOptions,
  defaultServer,
  defaultStateDir,
  EXIT,
  EXIT_HELP,
  UsageError,
} from './client-support.ts';

/**
 * What a backup sent, for its result line: "sent 4.3 MiB of 98.0 MiB (incremental:
 * 1,041 pages changed)", or the size of a one-object backup.
 */
export function sentLine(r: {
  bytes: number;
  incremental?: {
    incremental: boolean;
    changedPages: number;
    totalPages: number;
    totalBytes: number;
    fullReason?: string;
  };
}): string {
  const inc = r.incremental;
  if (!inc) return mib(r.bytes);
  const pages = (n: number) => `${grouped(n)} page${n === 1 ? '' : 's'}`;
  const why = inc.incremental
    ? `incremental: ${pages(inc.changedPages)} of ${grouped(inc.totalPages)} changed`
    : `full: ${fullReasons[inc.fullReason ?? ''] ?? 'every page'}`;
  return `sent ${mib(r.bytes)} of ${mib(inc.totalBytes)} (${why})`;
}

/**
 * `n` with a comma between groups of three digits, as `toLocaleString('en-US')` writes
 * a whole number but without loading ICU's locale data: that first call costs 20-70 ms
 * of every backup command's run, the line being built even for `--json`.
 */
export function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ',');
}

/** Why a backup was a full one, for the user. */
const fullReasons: Record<string, string> = {
  no_previous: 'no earlier backup known to this device',
  replaced: 'the backup this device knew was replaced, by another device or a delete',
  base_changed: 'another device backed up meanwhile',
  page_size_changed: 'a database changed its page size',
  many_changes: 'more than half the data changed',
  many_packs: 'the backup was repacked',
};

/** Parses a backup slot argument. */
function parseVersion(value: string): 1 | 2 {
  if (value !== '1' && value !== '2') throw new InvalidArgumentError('a backup version is 1 or 2');
  return Number(value) as 1 | 2;
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;

/** A backup's verification for `list`: `ok DATE`, `FAILED DATE (code)`, or `never`. */
const verified = (v: BackupInfo['verification']) =>
  !v
    ? 'never'
    : v.status === 'success'
      ? `ok ${v.verified_at.slice(0, 10)}`
      : `FAILED ${v.verified_at.slice(0, 10)} (${v.error ?? 'unknown'})`;
/** `1 entry`, `5 entries`: a count with its noun. */
const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** Adds the shared options and the usage exit code to a command. */
function common(cmd: Command): Command {
  return cmd
    .option('--server <url>', 'backup server URL (env NOAH_SERVER)', defaultServer())
    .option('--mnemonic-file <file>', 'file holding the seedphrase (or set NOAH_MNEMONIC)')
    .option('--state <dir>', 'device state directory', defaultStateDir())
    .option('--json', 'machine-readable output on stdout')
    .option(
      '-v, --verbose',
      'log every retry and warning on stderr (a wait of 5 s or more is always said)',
    )
    .addHelpText('after', EXIT_HELP)
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
    });
}

/**
 * Adds the client commands to the program.
 * @param program - the root `noah-backup` command
 * @example
 * ```ts
 * registerClientCommands(program);
 * ```
 */
export function registerClientCommands(program: Command): void {
  // Root options (-V/--version) only before a subcommand, so `restore --version 2` is
  // restore's own option, not the program's version flag.
  program.enablePositionalOptions();
  common(program.command('backup'))
    .description('Back up a wallet data directory now (incremental: only changed pages are sent)')
    .requiredOption('--data <dir>', 'the wallet data directory')
    .option(
      '--accept-missing-databases',
      "back up even though a database of this device's last backup is gone from the wallet (removed on purpose)",
    )
    .option('--one-object', 'send the whole wallet as one object, as clients before 0.2 did')
    .action(
      (
        o: CommonOptions & { data: string; oneObject?: boolean; acceptMissingDatabases?: boolean },
      ) => {
        // The integrity check is a backup's critical path: it starts on the wallet once the
        // seedphrase is known to be valid, while the keys are derived and the lock is taken,
        // and the snapshot adopts it when it saw the same state; else its thread is at least
        // loaded (docs/WALLET.md §5). Not before: the process cannot end while SQLite checks.
        let early: Promise<typeof import('@noah-backup/client/node/early-check')> | undefined;
        const startEarly = () => {
          early = Promise.all([
            import('@noah-backup/client/node/early-check'),
            import('@noah-backup/client/node/sqlite'),
          ]).then(async ([e, s]) => {
            if (!(await e.startEarlyCheck(o.data))) s.prestartIntegrityCheck();
            return e;
          });
          early.catch(() => {});
        };
        return run(
          o,
          {
            data: o.data,
            writesState: true,
            oneObject: Boolean(o.oneObject),
            ...(o.oneObject ? {} : { onSeedphrase: startEarly }),
          },
          async ({ manager, signal }) => {
            const r = await manager.triggerBackup({
              signal,
              acceptMissingDatabases: Boolean(o.acceptMissingDatabases),
            });
            if (r.status === 'skipped')
              throw new NoahError('busy', 'a backup or restore is already running on this device');
            print(
              o,
              {
                ...r.backup,
                sequence: r.sequence,
                bytes: r.bytes,
                ...(r.incremental ? { incremental: r.incremental } : {}),
              },
              `backed up ${o.data} as backup ${r.backup.backup_version} (${sentLine(r)}, created ${r.backup.created_at})`,
            );
          },
        ).finally(async () => (await early?.catch(() => undefined))?.stopEarlyChecks());
      },
    );

  common(program.command('restore'))
    .description('Restore a backup (default: the latest) into a directory, atomically')
    .requiredOption('--to <dir>', 'the wallet data directory to restore into')
    .option('--version <n>', 'backup version to restore (1 or 2)', parseVersion)
    .option(
      '--yes-older',
      'restore even if it may be older than the newest backup seen here (an older sequence, or a legacy format)',
    )
    .option(
      '--yes-empty',
      'restore even a backup that holds no wallet database (made by an old client or another tool)',
    )
    .option(
      '--force',
      'replace a directory that holds files but no wallet (they are moved aside, not deleted)',
    )
    .action(
      (
        o: CommonOptions & {
          to: string;
          version?: 1 | 2;
          yesOlder?: boolean;
          yesEmpty?: boolean;
          force?: boolean;
        },
      ) =>
        run(
          o,
          {
            data: o.to,
            writesState: true,
            writesData: '--to DIR',
            replaceNonWallet: Boolean(o.force),
          },
          async ({ manager, signal }) => {
            const r = await manager.restoreBackup(o.version, {
              signal,
              confirmRollback: Boolean(o.yesOlder),
              confirmEmpty: Boolean(o.yesEmpty),
            });
            // docs/WALLET.md §2: what was there before is kept, never deleted.
            const kept = r.previous ? `; what was in ${o.to} before is kept in ${r.previous}` : '';
            print(
              o,
              r,
              `restored backup ${r.backup_version} (created ${r.created_at}, ${r.format}) into ${o.to}: ${count(r.entries, 'entry', 'entries')}${kept}`,
            );
          },
        ),
    );

  common(program.command('list'))
    .description('List the backups on the server, newest first')
    .action((o: CommonOptions) =>
      run(o, {}, async ({ manager }) => {
        const list = await manager.listBackups();
        // SIZE is all the backup stores (its manifest and every object it references);
        // VERIFIED the last verification reported of it (docs/API.md "Verification").
        const lines = list.map(
          (b) =>
            `${String(b.backup_version).padEnd(8)}${b.created_at.padEnd(28)}${mib(b.total_size ?? b.backup_size).padEnd(12)}${String(b.object_count ?? 0).padEnd(9)}${verified(b.verification)}`,
        );
        print(
          o,
          list,
          list.length
            ? [
                `${'VERSION'.padEnd(8)}${'CREATED'.padEnd(28)}${'SIZE'.padEnd(12)}${'OBJECTS'.padEnd(9)}VERIFIED`,
                ...lines,
              ].join('\n')
            : 'no backups',
        );
      }),
    );

  common(program.command('delete'))
    .description('Delete a backup from the server')
    .argument('<version>', 'backup version (1 or 2)', parseVersion)
    .action((version: 1 | 2, o: CommonOptions) =>
      run(o, {}, async ({ manager }) => {
        await manager.deleteBackup(version);
        print(o, { deleted: true, backup_version: version }, `deleted backup ${version}`);
      }),
    );

  common(program.command('verify'))
    .description('Download, decrypt and check a backup without restoring it')
    .argument('[version]', 'backup version (1 or 2; default: the latest)', parseVersion)
    .action((version: 1 | 2 | undefined, o: CommonOptions) =>
      run(o, {}, async ({ manager, signal }) => {
        const r = await manager.verifyBackup(version, { signal });
        print(
          o,
          { ok: true, ...r },
          `backup ${r.backup_version} is intact: ${r.format}, created ${r.created_at}, ${count(r.entries, 'entry', 'entries')}, ${count(r.databases, 'database', 'databases')} checked`,
        );
      }),
    );

  common(program.command('settings'))
    .description('Show, enable or disable the daily automatic backup')
    .option('--enable', 'enable daily backups')
    .option('--disable', 'disable daily backups')
    .action((o: CommonOptions & { enable?: boolean; disable?: boolean }) =>
      run(o, {}, async ({ api }) => {
        if (o.enable && o.disable)
          throw new UsageError('--enable and --disable exclude each other');
        const settings =
          o.enable || o.disable
            ? await api.setSettings({ backup_enabled: Boolean(o.enable) })
            : await api.getSettings();
        print(
          o,
          settings,
          `daily backups ${settings.backup_enabled ? 'enabled' : 'disabled'}; last backup ${settings.last_backup_at ?? 'never'}`,
        );
      }),
    );

  program
    .command('demo-wallet')
    .description('Create a realistic demo wallet data directory (SQLite in WAL mode)')
    .argument('<dir>', 'directory to create (a new or empty one)')
    .option('--size-mb <n>', 'size of the wallet database in MiB', '4')
    .option('--json', 'machine-readable output on stdout')
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
    })
    .action(async (dir: string, o: { sizeMb: string; json?: boolean }) => {
      const sizeMb = Number(o.sizeMb);
      try {
        if (!(sizeMb > 0)) throw new UsageError('--size-mb must be a positive number');
        // It writes wallet.sqlite over whatever is there: never into someone's files
        // (docs/WALLET.md §2).
        const present = await readdir(dir).catch((e: { code?: unknown }) => {
          if (e.code === 'ENOENT') return [];
          throw e;
        });
        if (present.length > 0)
          throw new NoahError(
            'target_not_empty',
            `${dir} is not empty: demo-wallet creates a new directory, or fills an empty one`,
          );
        const { createDemoWallet } = await import('@noah-backup/client/demo-wallet');
        const w = await createDemoWallet(dir, { sizeMb });
        const out = { dir: w.dir, database: w.database, payments: w.payments, coins: w.coins };
        process.stdout.write(
          o.json
            ? `${toJson(out)}\n`
            : `created a demo wallet in ${w.dir}: ${w.payments} payments, ${w.coins} coins\n`,
        );
      } catch (err) {
        fail({ server: defaultServer(), state: defaultStateDir(), json: o.json }, err);
      }
    });
}
