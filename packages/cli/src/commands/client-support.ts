/**
 * Plumbing of the client commands: exit codes scripts can rely on, one-line errors
 * with a hint, the mnemonic source (a file or NOAH_MNEMONIC, never an argument), the
 * session (keys, API client, manager over the Node adapters), and progress bars on a
 * terminal's stderr.
 * @module
 */
import { createHash } from 'node:crypto';
import { lstat, readFile, stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { ApiClient } from '@noah-backup/client/api-client';
import type { Logger } from '@noah-backup/client/logger';
import type { BackupManager } from '@noah-backup/client/manager';

import { CliError, ensureNotFile, ensureWritableDir, fileError, UsageError } from './cli-errors.ts';

export { EXIT, UsageError } from './cli-errors.ts';

/**
 * The exit-code table of the client commands, as help text: a line for the exit code of
 * each class of the error catalog (cli-errors.ts `EXIT_OF_CLASS`).
 */
export const EXIT_HELP = `
Exit codes:
  0    success
  1    other failure (a path that cannot be written, no disk space, a backup over the
       server's limit, another backup or restore running with this --state)
  2    usage error (bad arguments, no seedphrase, a file that does not exist, a --data
       directory that is no wallet, a --to directory holding other files without --force
       or that is a mount point)
  3    authentication failed, wrong seedphrase, or the backup cannot be decrypted
  4    network error, server unavailable, or no Noah Backup server at --server
  5    not found (no such backup, or it was replaced during the download)
  6    integrity failure (damaged backup, unsafe archive, failed database check, a
       damaged wallet database, a backup of a newer format or of another kind of
       wallet, a backup that holds no wallet database (restore: --yes-empty), or an
       interrupted restore left two wallets to choose from)
  7    needs confirmation (restoring a backup that may be older, such as a legacy one
       after v2 backups: add --yes-older; backing up a wallet that lost a database
       of its last backup: add --accept-missing-databases)
  130  interrupted (SIGINT; 143 for SIGTERM): backup, restore and verify stop and
       remove their temp files; nothing changed`;

export { classify } from './classify.ts';

/** Options every client command takes. */
export interface CommonOptions {
  server: string;
  mnemonicFile?: string;
  state: string;
  json?: boolean;
  verbose?: boolean;
}

/** Default server URL: NOAH_SERVER or http://localhost:8080. */
export const defaultServer = (): string => process.env.NOAH_SERVER ?? 'http://localhost:8080';
/** Default device state directory. */
export const defaultStateDir = (): string => join(homedir(), '.noah-backup');

/**
 * Warns (a line on stderr, not an error) when the seedphrase file can be read by other
 * users: the seedphrase is the key to every backup. Not on Windows, whose modes do not
 * say it.
 */
async function warnIfShared(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  process.stderr.write(
    `noah-backup: warning: ${path} holds the seedphrase and other users can read it (mode ${mode.toString(8).padStart(4, '0')}): chmod 600 ${path}\n`,
  );
}

/** Reads the seedphrase from `--mnemonic-file` or NOAH_MNEMONIC (never from an argument). */
export async function readMnemonic(opts: Pick<CommonOptions, 'mnemonicFile'>): Promise<string> {
  if (opts.mnemonicFile) {
    let text: string;
    try {
      text = await readFile(opts.mnemonicFile, 'utf8');
      await warnIfShared(opts.mnemonicFile);
    } catch (err) {
      throw fileError(err, opts.mnemonicFile, 'read', '--mnemonic-file');
    }
    return text.trim();
  }
  const env = process.env.NOAH_MNEMONIC?.trim();
  if (env) return env;
  throw new UsageError(
    'no seedphrase: use --mnemonic-file FILE or set NOAH_MNEMONIC',
    'put the seedphrase in a file only you can read (chmod 600 FILE) and pass --mnemonic-file FILE',
  );
}

/**
 * The server's base URL from `--server` or NOAH_SERVER: http or https only. `localhost:8080`
 * parses as a URL whose scheme is `localhost:`, so the check is on the scheme.
 * @throws UsageError naming the URL it probably meant
 */
export function parseServerUrl(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    // not a URL at all
  }
  if (url && (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '')
    return url.href;
  // Another scheme (ftp://, ws://): the server speaks http or https on the same host.
  if (url && /^[a-z][a-z0-9+.-]*:\/\/[^/]/i.test(text) && url.host !== '')
    throw new UsageError(
      `--server (or NOAH_SERVER) must be an http:// or https:// URL, got ${JSON.stringify(text)}`,
      `a Noah Backup server speaks http or https: use --server http://${url.host} (or https://${url.host} if it uses TLS)`,
    );
  const guess = /^[\w.-]+(:\d+)?(\/.*)?$/.test(text) ? `http://${text}` : 'http://localhost:8080';
  throw new UsageError(
    `--server (or NOAH_SERVER) must be an http:// or https:// URL, got ${JSON.stringify(text)}`,
    `add the scheme, e.g. --server ${guess}`,
  );
}

/**
 * A retry wait at least this long is reported even without --verbose: a silent pause of
 * many seconds (a server's Retry-After, a long backoff) looks like a hang.
 */
export const LONG_WAIT_MS = 5000;

/**
 * Warnings (retries) on stderr with --verbose, and without it one line for a retry that
 * waits {@link LONG_WAIT_MS} or more; never a secret (the SDK logs none).
 * @param verbose - print every info and warning with its fields
 */
export function stderrLogger(verbose: boolean): Logger {
  const write = (text: string) => process.stderr.write(text);
  const line = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    if (verbose) write(`${level}: ${msg}${fields ? ` ${JSON.stringify(fields)}` : ''}\n`);
  };
  const verboseWarn = line('warn');
  return {
    debug: () => {},
    info: line('info'),
    warn(msg, fields) {
      if (verbose) return verboseWarn(msg, fields);
      const delay = fields?.delayMs;
      if (typeof delay !== 'number' || delay < LONG_WAIT_MS) return;
      const why = typeof fields?.code === 'string' ? ` (${fields.code})` : '';
      write(`noah-backup: ${msg}${why}; waiting ${Math.ceil(delay / 1000)} s\n`);
    },
  };
}

/** A restore target that is a file fails before the download, not after it. */
async function ensureNotAFile(dataDir: string, option: string): Promise<void> {
  const st = await lstat(dataDir).catch(() => null);
  if (st && !st.isDirectory())
    throw new CliError(
      'invalid_data_dir',
      `${dataDir} is not a directory (a file or a symlink)`,
      `${option} names the wallet data directory: a directory, or a path that does not exist yet`,
    );
}

/**
 * Refuses a temp directory (TMPDIR) that is a file, or lies below one, before the
 * snapshot or the spool meets it as a raw `EEXIST` or `ENOTDIR`.
 * @throws CliError `not_a_directory` (exit 2)
 */
async function ensureTempDir(): Promise<void> {
  const dir = resolve(tmpdir());
  for (let at = dir; ; at = dirname(at)) {
    const st = await stat(at).catch(() => null);
    if (st && !st.isDirectory())
      throw new CliError(
        'not_a_directory',
        `the temp directory ${dir} (TMPDIR) ${at === dir ? 'is a file' : `lies below the file ${at}`}, not a directory`,
        'TMPDIR names the directory for temp files: set it to a directory you can write to, or unset it',
      );
    if (st || dirname(at) === at) return;
  }
}

/** An open client session. */
export interface Session {
  api: ApiClient;
  manager: BackupManager;
  close(): Promise<void>;
}

/**
 * Derives the keys once, and builds the API client and the manager over the Node
 * adapters. The device state lives in `<state>/<account>.json`, one file per server
 * identity (a hash of the linking key), so two seedphrases never share sequence numbers.
 */
export async function openSession(
  opts: CommonOptions,
  dataDir: string | undefined,
  extra: {
    onRestorePhase?: (phase: string) => void;
    /** Restore may replace a directory that holds no wallet (`--force`). */
    replaceNonWallet?: boolean;
    /** The command records state (backup, restore): `--state` is checked first. */
    writesState?: boolean;
    /** The option naming `dataDir` when the command writes there (restore). */
    writesData?: string;
    /** Make one-object backups only (`backup --one-object`). */
    oneObject?: boolean;
    /** Called once the seedphrase is known to be a valid one (RunTarget). */
    onSeedphrase?: () => void;
  } = {},
): Promise<Session> {
  parseServerUrl(opts.server); // a bad URL is a usage error, before anything else
  // A read-only path would otherwise fail late, as "not enough free disk space" (a
  // read-only mount reports no free blocks) or a raw ENOENT from mkdir.
  if (extra.writesState) await ensureWritableDir(opts.state, '--state DIR');
  else await ensureNotFile(resolve(opts.state), '--state DIR');
  if (extra.writesData && dataDir !== undefined) {
    await ensureWritableDir(dirname(resolve(dataDir)), extra.writesData);
    await ensureNotAFile(dataDir, extra.writesData);
  }
  const mnemonic = await readMnemonic(opts);
  if (extra.onSeedphrase) {
    // A seedphrase typo fails at once, before anything starts work it would wait for.
    const { validateMnemonic } = await import('@noah-backup/core/keys');
    validateMnemonic(mnemonic);
    extra.onSeedphrase();
  }
  const [{ createSessionKeys }, { createApiClient }, { createBackupManager }] = await Promise.all([
    import('@noah-backup/client/keys'),
    import('@noah-backup/client/api-client'),
    import('@noah-backup/client/manager'),
  ]);
  const [
    { createNodeWalletAdapter },
    { createFileSpooler },
    { createFileStateStore },
    { nodeProcessProbe, removeTempLeftovers },
    { nodeFetch },
    { createFileCacheStore },
  ] = await Promise.all([
    import('@noah-backup/client/node/wallet'),
    import('@noah-backup/client/node/spool'),
    import('@noah-backup/client/node/state'),
    import('@noah-backup/client/node/process'),
    import('@noah-backup/client/node/http-fetch'),
    import('@noah-backup/client/node/cache'),
  ]);
  const serverUrl = parseServerUrl(opts.server);
  await ensureTempDir();
  // What a killed run left in the temp dir (a spool holds the whole encrypted backup,
  // snapshot copies the wallet in clear) goes now, whatever this command is.
  await removeTempLeftovers().catch(() => {});
  const keys = await createSessionKeys(mnemonic, serverUrl);
  const logger = stderrLogger(Boolean(opts.verbose));
  // node:http instead of the global fetch: undici alone costs about 40 MiB of RSS.
  const api = createApiClient({
    baseUrl: serverUrl,
    signer: keys.signer,
    logger,
    fetch: nodeFetch,
  });
  const account = createHash('sha256').update(keys.signer.linkingKey).digest('hex').slice(0, 16);
  const state = createFileStateStore(join(resolve(opts.state), `${account}.json`));
  const manager = createBackupManager({
    api,
    keys,
    wallet: createNodeWalletAdapter({
      // Only backup and restore touch the data directory; the others never reach it.
      dataDir: dataDir ?? tmpdir(),
      replaceNonWallet: extra.replaceNonWallet === true,
      // What recovery after a crashed restore kept or put back is always said, not only
      // with --verbose (docs/WALLET.md §3).
      logger: {
        ...logger,
        warn: (msg, fields) =>
          process.stderr.write(
            `noah-backup: ${msg}${fields ? ` ${JSON.stringify(fields)}` : ''}\n`,
          ),
      },
      ...(extra.onRestorePhase ? { onRestorePhase: extra.onRestorePhase } : {}),
    }),
    spooler: createFileSpooler(),
    state,
    // Beside the state file: what the last backup held, sealed (docs/FORMAT.md §8.8).
    cache: createFileCacheStore(join(resolve(opts.state), `${account}.cache`)),
    ...(extra.oneObject ? { incremental: false } : {}),
    logger,
    // A run killed mid-way (SIGKILL, power loss) does not block the next one.
    processProbe: nodeProcessProbe(),
    // `backup` does what it says; `verify` verifies, and reports like the SDK's schedule
    // (run it from cron for a schedule; docs/API.md "Verification").
    verifyEveryMs: 0,
  });
  await manager.ready;
  return {
    api,
    manager,
    async close() {
      keys.destroy();
    },
  };
}
