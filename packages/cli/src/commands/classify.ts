/**
 * Maps what went wrong in a client command to its exit code and a hint that says what
 * to change: the seedphrase, the server URL (no scheme, a path suffix, https against a
 * plain http server, something that is not a Noah Backup server), a path, a limit. The
 * exit code follows from the code's class in the error catalog (core `error-catalog.ts`,
 * docs/API.md "Client error codes"); the hints are a total map over its codes, so a new
 * code does not compile without one (null says "no hint" on purpose).
 * @module
 */
import { join } from 'node:path';
import type { CatalogCode } from '@noah-backup/core/error-catalog';
import { NoahError } from '@noah-backup/core/errors';
import { CliError, describeFsError, EXIT, exitCodeOf } from './cli-errors.ts';

/** What {@link classify} says about an error. */
export interface Classified {
  exit: number;
  hint: string | null;
  /** What to print: the mapped error where the raw one was mapped (a file-system error). */
  error: unknown;
}

/** A hint: fixed, none, or built from the error and the server URL the command used. */
type Hint = string | null | ((err: NoahError, server: string) => string | null);

const SEEDPHRASE =
  'check the seedphrase (--mnemonic-file or NOAH_MNEMONIC) and that this is your server';
const DAMAGED =
  'the backup is damaged or unsafe; nothing was changed (try the other one with --version)';
const NEWER =
  'it was made by a newer Noah Backup: upgrade; nothing was changed (or try the other one with --version)';
const LIST = 'run `noah-backup list` to see the backups';
const running = (_err: NoahError, server: string) =>
  `is the server at ${server} running? (--server or NOAH_SERVER)`;

/** A system error code of a TLS handshake that met something else (a plain http server). */
const TLS_MISMATCH = /^(EPROTO|ERR_SSL_|ERR_TLS_|ECONNRESET$)/;
/** Node's HTTP parser refusing the answer: a TLS server spoken to in plain http. */
const NOT_HTTP = /^HPE_/;

const field = (err: NoahError, name: string): unknown =>
  (err as unknown as Record<string, unknown>)[name];

/** `network_error`: a scheme that does not match the server's, else "is it running?". */
function noAnswer(err: NoahError, server: string): string {
  const detail = field(err, 'detail');
  const url = URL.parse(server);
  if (url && typeof detail === 'string') {
    const other = (scheme: string) => `${scheme}//${url.host}${url.pathname.replace(/\/$/, '')}`;
    if (url.protocol === 'https:' && TLS_MISMATCH.test(detail))
      return `TLS or scheme mismatch: ${url.host} did not answer in TLS (https); if the server is plain http, use --server ${other('http:')}`;
    if (url.protocol === 'http:' && NOT_HTTP.test(detail))
      return `scheme mismatch: ${url.host} did not answer in plain http; if the server uses TLS, use --server ${other('https:')}`;
  }
  return running(err, server);
}

/** `not_found` (no such route) and foreign answers: the server URL is not the API's. */
function notTheApi(err: NoahError, server: string): string {
  const url = URL.parse(server);
  const status = field(err, 'status');
  if (field(err, 'serverCode') !== undefined)
    // A Noah Backup server newer than this client: its own message says what happened.
    return typeof status === 'number' && status >= 500
      ? running(err, server)
      : 'the server answered with an error code this noah-backup does not know: upgrade it';
  if (url && url.pathname !== '/' && (err.code === 'not_found' || status === 404))
    return `--server is the server's base URL, without a path: try --server ${url.origin}`;
  if (err.code === 'unexpected_response' && typeof status === 'number' && status >= 500)
    return running(err, server);
  return `${server} does not answer as a Noah Backup server: check --server (or NOAH_SERVER); \`npm start\` prints the server's URL ("listening on …")`;
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

function tooLarge(err: NoahError): string {
  const maxBackupSize = field(err, 'maxBackupSize');
  const walletBytes = field(err, 'walletBytes');
  const now =
    typeof maxBackupSize === 'number' ? ` (now ${Math.floor(maxBackupSize / 2 ** 20)} MiB)` : '';
  const to =
    typeof walletBytes === 'number'
      ? `, e.g. MAX_BACKUP_SIZE=${suggestedLimit(maxBackupSize, walletBytes)}MiB,`
      : ' (a size such as 200MiB)';
  return `the backups on the server are kept; its operator can raise MAX_BACKUP_SIZE${now}${to} and restart the server`;
}

/** The hint of each code in the client commands. */
const HINTS: Readonly<Record<CatalogCode, Hint>> = {
  // the server's API
  bad_request: null,
  unauthorized: SEEDPHRASE,
  token_expired: SEEDPHRASE,
  invalid_k1: SEEDPHRASE,
  invalid_key: SEEDPHRASE,
  invalid_signature: SEEDPHRASE,
  forbidden: SEEDPHRASE,
  backups_not_enabled: null,
  push_endpoint_not_allowed:
    'register a UnifiedPush endpoint on a public address (not loopback, private or link-local)',
  not_found: notTheApi,
  backup_not_found: LIST,
  upload_not_found: null,
  upload_incomplete: null,
  size_mismatch: null,
  checksum_mismatch:
    'the upload arrived altered (a faulty network or proxy); nothing was stored and the backups on the server are kept — run the backup again',
  conflict: null,
  base_changed:
    'another device backed up this wallet at the same time; nothing was changed and the backups on the server are kept — run the backup again (it sends the whole wallet once)',
  backup_too_large: tooLarge,
  quota_exceeded: null,
  payload_too_large: null,
  unsupported_media_type: null,
  range_not_satisfiable: null,
  method_not_allowed: null,
  signature_invalid: null,
  url_expired: null,
  rate_limited: running,
  storage_unavailable: running,
  storage_full:
    'the server is out of storage space; nothing was changed and your backups are kept — try again later, or tell its operator',
  not_ready: running,
  internal: running,
  // core
  not_a_backup: DAMAGED,
  unsupported_version: NEWER,
  unsupported_payload_kind: NEWER,
  malformed_manifest: DAMAGED,
  limit_exceeded: DAMAGED,
  decryption_failed: SEEDPHRASE,
  invalid_mnemonic: SEEDPHRASE,
  unsupported_compression: null,
  // the SDK
  unexpected_response: notTheApi,
  network_error: noAnswer,
  timeout: running,
  stalled: running,
  incomplete_transfer: running,
  integrity_error: DAMAGED,
  aborted: null,
  interrupted: null,
  busy: 'another noah-backup run with this --state is backing up or restoring; wait for it to end',
  backup_changed: `the backup was replaced while it downloaded: run the command again, or ${LIST}`,
  rollback_confirmation_required: 're-run with --yes-older to restore it anyway',
  foreign_wallet:
    'the backup is intact but holds no wallet this client restores (another kind of wallet, or not a wallet archive); nothing was changed',
  unexpected: null,
  // the wallet adapter
  not_a_wallet:
    '--data must be the wallet data directory, one holding its SQLite database (docs/WALLET.md §1); the backups on the server are kept',
  corrupt_wallet_database:
    'nothing was uploaded and the backups on the server are kept; repair or replace the wallet database before the next backup',
  wallet_database_missing:
    'nothing was uploaded and the backups on the server are kept; check the wallet, and if the database was removed on purpose, re-run with --accept-missing-databases',
  integrity_check_failed: DAMAGED,
  empty_backup:
    'nothing was changed; restore the other backup with --version N (see `noah-backup list`; add --yes-older if asked), or add --yes-empty to restore this one anyway',
  unsafe_archive: DAMAGED,
  restore_conflict:
    'both wallets are kept; choose one as the message says, then back up again (docs/WALLET.md §3)',
  target_not_a_wallet:
    'restore into a new or empty directory, or add --force to replace it (its files are then moved aside, not deleted)',
  noah_wallet_missing:
    "noah-v1 is for Noah's app, which restores bark's db.sqlite from the wallet directory's top: back up that directory (its ZIP), or choose --format v2 (docs/FORMAT.md §4.5)",
  target_is_mount_point: (err) => {
    const path = field(err, 'path');
    const inside = typeof path === 'string' ? join(path, 'wallet') : 'DIR/wallet';
    return `restore into a directory inside the volume, e.g. --to ${inside}, or mount the volume one level up (docs/WALLET.md §3)`;
  },
  invalid_data_dir:
    'name the wallet data directory itself: --data DIR (backup) must exist, --to DIR (restore) must be a directory or not exist yet',
  insufficient_space:
    'free some disk space, or use a directory on another disk; nothing was changed',
  state_corrupt: null,
  lock_timeout: null,
  // the CLI's own (a CliError names the option in its own hint; these are fallbacks)
  usage: 'run with --help for usage',
  file_not_found: 'check the path: relative paths start from the current directory',
  is_a_directory: 'name a file, not a directory',
  not_a_directory: 'name a directory, not a file',
  target_not_empty: 'choose a new directory; nothing was written',
  not_writable: 'give a path on a writable file system, or fix its permissions',
  permission_denied: 'check the permissions of the path',
  // the web app's (never met here)
  no_backups: LIST,
  worker_failed: null,
  not_initialised: null,
  no_such_method: null,
  stream_closed: null,
};

function hintOf(err: NoahError, server: string): string | null {
  const hint = HINTS[err.code];
  return typeof hint === 'function' ? hint(err, server) : hint;
}

/**
 * The exit code of an error: its class's, but for a code a newer server sent that this
 * client does not know (`serverCode`): then by its status, as before the catalog knew it.
 */
function exitOf(err: NoahError): number {
  const status = field(err, 'status');
  if (field(err, 'serverCode') !== undefined)
    return typeof status === 'number' && status >= 500 ? EXIT.network : EXIT.generic;
  return exitCodeOf(err.code);
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
  if (err instanceof CliError)
    return { exit: err.exit, hint: err.hint ?? hintOf(err, server), error: err };
  const fsError = describeFsError(err);
  if (fsError instanceof CliError)
    return { exit: fsError.exit, hint: fsError.hint ?? hintOf(fsError, server), error: fsError };
  if (!(err instanceof NoahError)) return { exit: EXIT.generic, hint: null, error: err };
  return { exit: exitOf(err), hint: hintOf(err, server), error: err };
}
