/**
 * The one catalog of error codes a client meets: every code the libraries throw (core,
 * the client SDK, its Node and browser adapters, the CLI and the web app) and every code
 * the server's API answers (docs/API.md "Errors"). Each has a class that says what the
 * user can do about it; the CLI's exit codes and the web app's messages are total maps
 * over these codes, so a new code without an exit class or a message does not compile.
 * The table in docs/API.md "Client error codes" is generated from this file.
 * @module
 */
import type { ErrorCode } from './api.ts';

/**
 * What kind of failure a code is, by what the user (or the app) can do about it. Kept
 * small: each class is a different next step. (`missing` is "not found": named apart
 * from the API's code `not_found`, which means a wrong server URL.)
 */
export type ErrorClass =
  | 'auth'
  | 'network'
  | 'integrity'
  | 'missing'
  | 'confirm'
  | 'usage'
  | 'environment'
  | 'refused'
  | 'cancelled'
  | 'internal';

/** Each class and the next step it means, for docs and for apps that branch on it. */
export const ERROR_CLASSES: Readonly<Record<ErrorClass, string>> = {
  auth: 'the seedphrase or the login is not accepted: check the seedphrase and the server',
  network:
    'no usable answer from the server (unreachable, slow, overloaded, failing, or not a Noah Backup server): retry later, or check the server URL',
  integrity:
    'this backup cannot be restored here (damaged, unsafe, or of a newer format): nothing changed; choose another backup',
  missing: 'the backup asked for does not exist (any more): list the backups',
  confirm: 'the operation is safe only if the user confirms it',
  usage: 'the request or its arguments are wrong: change them',
  environment:
    'something on this device must change: disk space, permissions, an installed codec, another operation running',
  refused:
    'a limit or policy of the server refuses it (size limit, uploads in progress, rollout): nothing changed',
  cancelled: 'stopped on purpose (cancelled, interrupted): nothing changed',
  internal:
    'a bug here or on the server, or something in between altered the exchange: try again; report it if it persists',
};

/** One entry: the code's class and what it means, in a line. */
export type CatalogEntry = readonly [errorClass: ErrorClass, meaning: string];

/**
 * The server's API codes (core `ErrorCode`), as a client meets them. Typed over
 * `ErrorCode`: a code added to the API does not compile until it has a line here.
 */
const API_CODES = {
  bad_request: ['internal', 'the server refused the request as malformed'],
  unauthorized: ['auth', 'missing, unknown or revoked access token'],
  token_expired: ['auth', 'the access token expired'],
  invalid_k1: ['auth', 'the login challenge is unknown, expired or already used'],
  invalid_key: ['auth', 'the login key is not a compressed secp256k1 public key'],
  invalid_signature: ['auth', 'the login signature does not verify'],
  forbidden: ['auth', 'not allowed'],
  backups_not_enabled: ['refused', 'the server does not (yet) take new backups of this user'],
  push_endpoint_not_allowed: ['refused', 'a push endpoint on a non-public address'],
  not_found: ['network', 'no such route: the server URL does not lead to a Noah Backup API'],
  backup_not_found: ['missing', 'no such backup, or the store no longer holds its object'],
  upload_not_found: ['internal', 'no such pending upload (it expired)'],
  upload_incomplete: ['internal', 'the object was not uploaded before its completion'],
  size_mismatch: ['internal', 'the uploaded object does not have the declared size'],
  checksum_mismatch: [
    'internal',
    'the uploaded object does not have the SHA-256 the client declared; nothing was stored',
  ],
  conflict: ['internal', 'an object was already stored with this upload URL'],
  base_changed: [
    'refused',
    'the backup an incremental one builds on was replaced meanwhile (another device); nothing changed',
  ],
  backup_too_large: ['refused', "the backup is over the server's size limit; nothing was uploaded"],
  quota_exceeded: ['refused', 'too many uploads of this user in progress'],
  payload_too_large: ['internal', 'the request body is too large'],
  unsupported_media_type: ['internal', 'the request body is not JSON'],
  range_not_satisfiable: ['internal', 'a download range starts past the end of the object'],
  method_not_allowed: ['internal', 'the route exists with another method'],
  signature_invalid: ['internal', 'a pre-signed URL was altered'],
  url_expired: ['internal', 'a pre-signed URL expired'],
  rate_limited: ['network', 'too many requests: wait as Retry-After says'],
  storage_unavailable: ['network', "the server's blob store is down; nothing changed"],
  storage_full: ['network', 'the server has no storage space left; nothing changed'],
  not_ready: ['network', 'the server is starting, shutting down, or a store is down'],
  internal: ['network', 'the server failed unexpectedly (logged with the request id)'],
} as const satisfies Record<ErrorCode, CatalogEntry>;

/** The codes the libraries, the CLI and the web app throw themselves. */
const CLIENT_CODES = {
  // core: formats, keys, limits
  not_a_backup: ['integrity', 'not a Noah backup in any format this client knows'],
  unsupported_version: ['integrity', 'a format version this client cannot read (a newer one)'],
  unsupported_payload_kind: ['integrity', 'a payload kind this client cannot read (a newer one)'],
  malformed_manifest: ['integrity', "an incremental backup's manifest breaks docs/FORMAT.md §8.6"],
  limit_exceeded: ['integrity', 'the backup expands past a cap (plaintext, entries, manifest)'],
  decryption_failed: ['auth', 'wrong seedphrase, or the backup is corrupted or was tampered with'],
  invalid_mnemonic: ['auth', 'the seedphrase is not a valid BIP39 mnemonic'],
  unsupported_compression: ['environment', 'zstd, which this installation cannot decompress'],
  // the SDK: transfers, the manager, the pipelines
  unexpected_response: ['network', 'an answer that is not a Noah Backup API error'],
  network_error: ['network', 'no answer: connection refused or reset, DNS, TLS'],
  timeout: ['network', 'the request took longer than its deadline'],
  stalled: ['network', 'the transfer stopped moving'],
  incomplete_transfer: ['network', 'the transfer ended before all its bytes'],
  integrity_error: ['integrity', 'the bytes received do not match what the server declared'],
  aborted: ['cancelled', 'cancelled by its AbortSignal, or its worker was stopped'],
  interrupted: ['cancelled', 'the process stopped mid-operation (a signal, a crash)'],
  busy: ['environment', 'a backup or restore is already running on this device'],
  backup_changed: ['missing', 'the backup was replaced while it downloaded'],
  rollback_confirmation_required: ['confirm', 'the backup may be older than one seen here'],
  foreign_wallet: ['integrity', 'an intact backup that holds no wallet this client restores'],
  unexpected: ['internal', 'an error without a code of this catalog (a bug)'],
  // wallet adapters (Node; the browser's throws the same codes)
  not_a_wallet: ['usage', 'the wallet data directory holds no wallet to back up'],
  corrupt_wallet_database: ['integrity', 'a database of the wallet here is damaged'],
  wallet_database_missing: [
    'confirm',
    "a database of this device's last backup is gone from the wallet (deleted or renamed)",
  ],
  integrity_check_failed: ['integrity', 'a database in the backup fails its integrity check'],
  empty_backup: [
    'integrity',
    'the backup holds no wallet database (an old client or another tool made it): no wallet',
  ],
  unsafe_archive: ['integrity', 'the archive is malformed, or holds entries a restore refuses'],
  restore_conflict: ['integrity', 'an interrupted restore left two wallets to choose from'],
  target_not_a_wallet: ['usage', 'the restore target holds files but no wallet'],
  noah_wallet_missing: [
    'usage',
    "a noah-v1 backup would restore as an empty wallet in Noah's app (no bark db.sqlite)",
  ],
  invalid_data_dir: ['usage', 'the wallet data directory is not a directory'],
  insufficient_space: ['environment', 'not enough free disk space'],
  state_corrupt: ['environment', 'the device state file is damaged'],
  lock_timeout: ['environment', 'the device state stayed locked by another process'],
  // the command line
  usage: ['usage', 'bad arguments or options'],
  file_not_found: ['usage', 'a path given does not exist'],
  is_a_directory: ['usage', 'a path given is a directory, not a file'],
  target_is_mount_point: ['usage', 'restore: the target is a mount point, which cannot be swapped'],
  not_a_directory: ['usage', 'a path names a file where the command needs a directory'],
  target_not_empty: ['usage', 'demo-wallet: the directory is not empty'],
  not_writable: ['environment', 'a path cannot be written (read-only, permissions)'],
  permission_denied: ['environment', 'a path cannot be read (permissions)'],
  // the web app and its backup worker
  no_backups: ['missing', 'this seedphrase has no backups on this server'],
  worker_failed: ['internal', "the browser's backup worker stopped unexpectedly"],
  not_initialised: ['internal', 'the backup worker was called before its session'],
  no_such_method: ['internal', 'the backup worker has no such method'],
  stream_closed: ['internal', 'a stream across the worker boundary was already closed'],
} as const satisfies Record<string, CatalogEntry>;

/** Every code, with its class and meaning. */
export const ERROR_CATALOG = { ...API_CODES, ...CLIENT_CODES } as const;

/** A code of the catalog: the only codes a `NoahError` carries. */
export type CatalogCode = keyof typeof ERROR_CATALOG;

/**
 * Codes that were merged into another, for data written before (a stored status, an
 * app's own table): former code → the code that now means the same.
 */
export const FORMER_CODES: Readonly<Record<string, CatalogCode>> = {
  corrupt_archive: 'unsafe_archive',
  corrupt_database: 'integrity_check_failed',
  not_a_wallet_archive: 'foreign_wallet',
  backup_in_progress: 'busy',
  worker_stopped: 'aborted',
};

const has = (o: object, k: unknown): boolean => typeof k === 'string' && Object.hasOwn(o, k);

/**
 * True when `code` is a code of the catalog.
 * @example
 * ```ts
 * isCatalogCode('decryption_failed'); // true
 * isCatalogCode('toString'); // false
 * ```
 */
export function isCatalogCode(code: unknown): code is CatalogCode {
  return has(ERROR_CATALOG, code);
}

/**
 * True when `code` is one the server's API answers (core `ErrorCode`).
 * @example
 * ```ts
 * isApiCode('backup_not_found'); // true
 * isApiCode('decryption_failed'); // false: only the client throws it
 * ```
 */
export function isApiCode(code: unknown): code is ErrorCode {
  return has(API_CODES, code);
}

/**
 * The catalog code for `code`, a former (merged) code resolved; undefined for a string
 * the catalog does not know.
 * @example
 * ```ts
 * toCatalogCode('corrupt_archive'); // 'unsafe_archive'
 * ```
 */
export function toCatalogCode(code: unknown): CatalogCode | undefined {
  if (isCatalogCode(code)) return code;
  return has(FORMER_CODES, code) ? FORMER_CODES[code as string] : undefined;
}

/**
 * The class of a code.
 * @example
 * ```ts
 * errorClass('timeout'); // 'network'
 * ```
 */
export function errorClass(code: CatalogCode): ErrorClass {
  return ERROR_CATALOG[code][0];
}
