/**
 * Maps what went wrong in a client command to its exit code and a hint that says what
 * to change: the seedphrase, the server URL (no scheme, a path suffix, https against a
 * plain http server, something that is not a Noah Backup server), a path, a limit.
 * @module
 */
import { NoahError } from '@noah-backup/core/errors';
import { CliError, describeFsError, EXIT } from './cli-errors.ts';

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
const INTEGRITY = new Set([
  'integrity_error',
  'unsafe_archive',
  'integrity_check_failed',
  'not_a_backup',
  'unsupported_version',
  'unsupported_payload_kind',
  'malformed_manifest',
  'limit_exceeded',
]);

/** What {@link classify} says about an error. */
export interface Classified {
  exit: number;
  hint: string | null;
}

/** A system error code of a TLS handshake that met something else (a plain http server). */
const TLS_MISMATCH = /^(EPROTO|ERR_SSL_|ERR_TLS_|ECONNRESET$)/;
/** Node's HTTP parser refusing the answer: a TLS server spoken to in plain http. */
const NOT_HTTP = /^HPE_/;

/** Hints about the server URL, from how the exchange with it failed. */
function serverProblem(err: NoahError, server: string): Classified | null {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return null;
  }
  const detail = (err as { detail?: unknown }).detail;
  const status = (err as { status?: unknown }).status;
  const other = (scheme: string) => `${scheme}//${url.host}${url.pathname.replace(/\/$/, '')}`;
  if (err.code === 'network_error' && typeof detail === 'string') {
    if (url.protocol === 'https:' && TLS_MISMATCH.test(detail))
      return {
        exit: EXIT.network,
        hint: `TLS or scheme mismatch: ${url.host} did not answer in TLS (https); if the server is plain http, use --server ${other('http:')}`,
      };
    if (url.protocol === 'http:' && NOT_HTTP.test(detail))
      return {
        exit: EXIT.network,
        hint: `scheme mismatch: ${url.host} did not answer in plain http; if the server uses TLS, use --server ${other('https:')}`,
      };
  }
  const noApi = err.code === 'not_found' || (err.code === 'unexpected_response' && status === 404);
  if (noApi && url.pathname !== '/')
    return {
      exit: EXIT.network,
      hint: `--server is the server's base URL, without a path: try --server ${url.origin}`,
    };
  if (noApi || (err.code === 'unexpected_response' && typeof status === 'number' && status < 500))
    return {
      exit: EXIT.network,
      hint: `${server} does not answer as a Noah Backup server: check --server (or NOAH_SERVER); \`npm start\` prints the server's URL ("listening on …")`,
    };
  return null;
}

/**
 * A round MAX_BACKUP_SIZE in MiB for the hint: a power of two above both twice the
 * current limit and the wallet's uncompressed size plus a tenth (encryption adds a
 * little; data that does not compress then still fits).
 */
function suggestedLimit(maxBackupSize: unknown, walletBytes: number): number {
  const limit = typeof maxBackupSize === 'number' ? maxBackupSize : 0;
  const need = Math.max(limit * 2, walletBytes * 1.1) / 2 ** 20;
  let mib = 64;
  while (mib < need) mib *= 2;
  return mib;
}

/**
 * Maps an error to its exit code and a hint for the human reading stderr.
 * @param err - what the command threw
 * @param server - the server URL the command used, for hints
 * @example
 * ```ts
 * classify(new DecryptionError(), 'http://localhost:8080'); // { exit: 3, hint: 'check the seedphrase …' }
 * ```
 */
export function classify(err: unknown, server: string): Classified {
  if (err instanceof CliError) return { exit: err.exit, hint: err.hint };
  const fsError = describeFsError(err);
  if (fsError instanceof CliError) return { exit: fsError.exit, hint: fsError.hint };
  if (!(err instanceof NoahError)) return { exit: EXIT.generic, hint: null };
  const code = err.code;
  const status = (err as { status?: unknown }).status;
  if (code === 'invalid_data_dir')
    return {
      exit: EXIT.usage,
      hint: 'name the wallet data directory itself: --data DIR (backup) must exist, --to DIR (restore) must be a directory or not exist yet',
    };
  if (code === 'rollback_confirmation_required')
    return { exit: EXIT.confirm, hint: 're-run with --yes-older to restore it anyway' };
  if (AUTH.has(code))
    return {
      exit: EXIT.auth,
      hint: 'check the seedphrase (--mnemonic-file or NOAH_MNEMONIC) and that this is your server',
    };
  const problem = serverProblem(err, server);
  if (problem) return problem;
  if (code === 'backup_not_found')
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
  if (code === 'foreign_wallet')
    return {
      exit: EXIT.integrity,
      hint: 'the backup is intact but holds no wallet this client restores (another kind of wallet, or not a wallet archive); nothing was changed',
    };
  if (INTEGRITY.has(code))
    return {
      exit: EXIT.integrity,
      hint: 'the backup is damaged or unsafe; nothing was changed (try the other one with --version)',
    };
  if (code === 'backup_too_large') {
    const { maxBackupSize, walletBytes } = err as {
      maxBackupSize?: unknown;
      walletBytes?: unknown;
    };
    const now =
      typeof maxBackupSize === 'number' ? ` (now ${Math.floor(maxBackupSize / 2 ** 20)} MiB)` : '';
    const to =
      typeof walletBytes === 'number'
        ? `, e.g. MAX_BACKUP_SIZE=${suggestedLimit(maxBackupSize, walletBytes)}MiB,`
        : ' (a size such as 200MiB)';
    return {
      exit: EXIT.generic,
      hint: `the backups on the server are kept; its operator can raise MAX_BACKUP_SIZE${now}${to} and restart the server`,
    };
  }
  if (code === 'push_endpoint_not_allowed')
    return {
      exit: EXIT.generic,
      hint: 'register a UnifiedPush endpoint on a public address (not loopback, private or link-local)',
    };
  if (code === 'storage_full')
    return {
      exit: EXIT.network,
      hint: 'the server is out of storage space; nothing was changed and your backups are kept — try again later, or tell its operator',
    };
  if (code === 'insufficient_space')
    return {
      exit: EXIT.generic,
      hint: 'free some disk space, or use a directory on another disk; nothing was changed',
    };
  if (NETWORK.has(code) || (typeof status === 'number' && status >= 500))
    return {
      exit: EXIT.network,
      hint: `is the server at ${server} running? (--server or NOAH_SERVER)`,
    };
  return { exit: EXIT.generic, hint: null };
}
