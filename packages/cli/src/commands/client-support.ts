/**
 * Plumbing of the client commands: exit codes scripts can rely on, one-line errors
 * with a hint, the mnemonic source (a file or NOAH_MNEMONIC, never an argument), the
 * session (keys, API client, manager over the Node adapters), and progress bars on a
 * terminal's stderr.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NoahError } from '@noah-backup/core/errors';
import type { ApiClient } from '@noah-backup/client/api-client';
import type { Logger } from '@noah-backup/client/logger';
import type { BackupManager } from '@noah-backup/client/manager';
import type { ProgressEvent } from '@noah-backup/client/status';

/** Exit codes of the client commands (documented in `noah-backup --help`). */
export const EXIT = {
  ok: 0,
  generic: 1,
  usage: 2,
  auth: 3,
  network: 4,
  notFound: 5,
  integrity: 6,
  confirm: 7,
} as const;

/** The exit-code table as help text. */
export const EXIT_HELP = `
Exit codes:
  0  success
  1  other failure
  2  usage error (bad arguments, no mnemonic, a --data directory that is no wallet, a
     --to directory holding other files without --force)
  3  authentication failed, wrong seedphrase, or the backup cannot be decrypted
  4  network error or server unavailable
  5  not found (no such backup)
  6  integrity failure (damaged backup, unsafe archive, failed database check, a
     damaged wallet database, or an interrupted restore left two wallets to choose from)
  7  needs confirmation (restoring a backup that may be older, such as a legacy one
     after v2 backups: add --yes-older)`;

/** A usage error: exit code 2. */
export class UsageError extends NoahError {
  constructor(message: string) {
    super('usage', message);
  }
}

const AUTH = new Set([
  'decryption_failed',
  'invalid_mnemonic',
  'unauthorized',
  'token_expired',
  'invalid_k1',
  'invalid_key',
  'invalid_signature',
  'forbidden',
]);
const NETWORK = new Set([
  'network_error',
  'timeout',
  'stalled',
  'incomplete_transfer',
  'rate_limited',
  'storage_unavailable',
  'not_ready',
]);
const NOT_FOUND = new Set(['not_found', 'backup_not_found']);
const INTEGRITY = new Set([
  'integrity_error',
  'unsafe_archive',
  'integrity_check_failed',
  'not_a_backup',
  'unsupported_version',
  'limit_exceeded',
  'not_a_wallet_archive',
]);

/**
 * Maps an error to its exit code and a hint for the human reading stderr.
 * @example
 * ```ts
 * classify(new DecryptionError()); // { exit: 3, hint: 'check the seedphrase …' }
 * ```
 */
export function classify(err: unknown, server: string): { exit: number; hint: string | null } {
  const code = err instanceof NoahError ? err.code : '';
  const status = (err as { status?: unknown }).status;
  if (code === 'usage') return { exit: EXIT.usage, hint: 'run with --help for usage' };
  if (code === 'rollback_confirmation_required')
    return { exit: EXIT.confirm, hint: 're-run with --yes-older to restore it anyway' };
  if (AUTH.has(code))
    return {
      exit: EXIT.auth,
      hint: 'check the seedphrase (--mnemonic-file or NOAH_MNEMONIC) and that this is your server',
    };
  if (NOT_FOUND.has(code))
    return { exit: EXIT.notFound, hint: 'run `noah-backup list` to see the backups' };
  if (code === 'corrupt_wallet_database')
    return {
      exit: EXIT.integrity,
      hint: 'nothing was uploaded and the backups on the server are kept; repair or replace the wallet database before the next backup',
    };
  if (code === 'not_a_wallet')
    return {
      exit: EXIT.usage,
      hint: '--data must be the wallet data directory, one holding its SQLite database (docs/WALLET.md §1); the backups on the server are kept',
    };
  if (code === 'target_not_a_wallet')
    return {
      exit: EXIT.usage,
      hint: 'restore into a new or empty directory, or add --force to replace it (its files are then moved aside, not deleted)',
    };
  if (code === 'target_not_empty')
    return { exit: EXIT.usage, hint: 'choose a new directory; nothing was written' };
  if (code === 'restore_conflict')
    return {
      exit: EXIT.integrity,
      hint: 'both wallets are kept; choose one as the message says, then back up again (docs/WALLET.md §3)',
    };
  if (INTEGRITY.has(code))
    return {
      exit: EXIT.integrity,
      hint: 'the backup is damaged or unsafe; nothing was changed (try the other one with --version)',
    };
  if (NETWORK.has(code) || (typeof status === 'number' && status >= 500))
    return {
      exit: EXIT.network,
      hint: `is the server at ${server} running? (--server or NOAH_SERVER)`,
    };
  return { exit: EXIT.generic, hint: null };
}

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

/** Reads the seedphrase from `--mnemonic-file` or NOAH_MNEMONIC (never from an argument). */
export async function readMnemonic(opts: CommonOptions): Promise<string> {
  if (opts.mnemonicFile) {
    let text: string;
    try {
      text = await readFile(opts.mnemonicFile, 'utf8');
    } catch {
      throw new UsageError(`cannot read the mnemonic file ${opts.mnemonicFile}`);
    }
    return text.trim();
  }
  const env = process.env.NOAH_MNEMONIC?.trim();
  if (env) return env;
  throw new UsageError('no seedphrase: use --mnemonic-file FILE or set NOAH_MNEMONIC');
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
  extra: { onRestorePhase?: (phase: string) => void; replaceNonWallet?: boolean } = {},
): Promise<Session> {
  const mnemonic = await readMnemonic(opts);
  const [{ createSessionKeys }, { createApiClient }, { createBackupManager }] = await Promise.all([
    import('@noah-backup/client/keys'),
    import('@noah-backup/client/api-client'),
    import('@noah-backup/client/manager'),
  ]);
  const [
    { createNodeWalletAdapter },
    { createFileSpooler },
    { createFileStateStore },
    { nodeProcessProbe },
    { nodeFetch },
  ] = await Promise.all([
    import('@noah-backup/client/node/wallet'),
    import('@noah-backup/client/node/spool'),
    import('@noah-backup/client/node/state'),
    import('@noah-backup/client/node/process'),
    import('@noah-backup/client/node/http-fetch'),
  ]);
  let serverUrl: string;
  try {
    serverUrl = new URL(opts.server).href;
  } catch {
    throw new UsageError(`--server must be a URL, got ${JSON.stringify(opts.server)}`);
  }
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
    logger,
    // A run killed mid-way (SIGKILL, power loss) does not block the next one.
    processProbe: nodeProcessProbe(),
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

/** Renders progress events as a bar on stderr when it is a terminal; otherwise nothing. */
export async function progressReporter(
  enabled: boolean,
): Promise<{ onEvent(e: ProgressEvent | null): void; stop(): void }> {
  if (!enabled || !process.stderr.isTTY) return { onEvent() {}, stop() {} };
  const { SingleBar, Presets } = await import('cli-progress');
  const bar = new SingleBar(
    {
      stream: process.stderr,
      format: '{phase} |{bar}| {done} / {all}',
      hideCursor: true,
      clearOnComplete: true,
    },
    Presets.shades_classic,
  );
  let phase: string | null = null;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  return {
    onEvent(e) {
      if (!e) return;
      const total = e.totalBytes ?? 0;
      const payload = {
        phase: e.phase.padEnd(8),
        done: mib(e.bytes),
        all: total ? mib(total) : '?',
      };
      if (e.phase !== phase) {
        if (phase !== null) bar.stop();
        phase = e.phase;
        bar.start(Math.max(total, 1), Math.min(e.bytes, Math.max(total, 1)), payload);
      } else bar.update(total ? e.bytes : 0, payload);
    },
    stop() {
      if (phase !== null) bar.stop();
    },
  };
}
