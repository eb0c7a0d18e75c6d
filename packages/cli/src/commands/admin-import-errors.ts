/**
 * What stopped `noah-backup admin import-noah` (docs/OPERATIONS.md "Moving users from a
 * Noah server", exit codes): each kind of failure has a stable code, an exit code from
 * sysexits.h as the other admin commands use them, and a hint that names what to check.
 * The codes are a total map, so a new one does not compile without its exit code and
 * hint. Whatever stopped the run, what was imported stays: running it again finishes.
 * @module
 */
import type { ImportStore } from '@noah-backup/server/import-noah/errors';

/** EX_DATAERR: the input is not what it must be (a database that is not Noah's). */
const EX_DATAERR = 65;
/** EX_UNAVAILABLE: a store could not be reached; nothing is lost, run again. */
const EX_UNAVAILABLE = 69;
/** EX_SOFTWARE: an error without a class here (a bug): report it. */
const EX_SOFTWARE = 70;
/** EX_NOPERM: a store refused the credentials or the access. */
const EX_NOPERM = 77;

/** A failure class of the import. */
export type ImportFailureCode =
  | 'noah_database_unreachable'
  | 'noah_database_refused'
  | 'not_a_noah_database'
  | 'noah_bucket_unreachable'
  | 'noah_bucket_refused'
  | 'database_unavailable'
  | 'blob_store_unavailable'
  | 'import_failed';

const AGAIN = 'what was imported stays; run the import again to finish';

/** Each class: its exit code, what the message starts with, and the hint. */
const FAILURES: Readonly<Record<ImportFailureCode, { exit: number; what: string; hint: string }>> =
  {
    noah_database_unreachable: {
      exit: EX_UNAVAILABLE,
      what: "Noah's database cannot be reached",
      hint: `check the host and port of --noah-database-url (or NOAH_DATABASE_URL) and that its PostgreSQL runs; ${AGAIN}`,
    },
    noah_database_refused: {
      exit: EX_NOPERM,
      what: "Noah's database refused the connection",
      hint: "check the user, the password (PGPASSWORD, ~/.pgpass or NOAH_DATABASE_URL) and the database name in --noah-database-url; the user needs SELECT on Noah's tables",
    },
    not_a_noah_database: {
      exit: EX_DATAERR,
      what: "the database is not Noah's",
      hint: "--noah-database-url must name Noah's own database (tables users, backup_metadata, backup_settings, push_tokens, devices)",
    },
    noah_bucket_unreachable: {
      exit: EX_UNAVAILABLE,
      what: "Noah's bucket cannot be reached",
      hint: `check --noah-s3-endpoint and --noah-s3-region (or NOAH_S3_ENDPOINT, NOAH_S3_REGION) and the network; ${AGAIN}`,
    },
    noah_bucket_refused: {
      exit: EX_NOPERM,
      what: "Noah's bucket refused the request",
      hint: 'check NOAH_S3_ACCESS_KEY_ID and NOAH_S3_SECRET_ACCESS_KEY (or the AWS SDK default chain); they need s3:GetObject and s3:ListBucket on the bucket',
    },
    database_unavailable: {
      exit: EX_UNAVAILABLE,
      what: "this server's database cannot be used",
      hint: `check this server's DATABASE_URL and that its database runs; ${AGAIN}`,
    },
    blob_store_unavailable: {
      exit: EX_UNAVAILABLE,
      what: "this server's blob store cannot be used",
      hint: `check this server's BLOB_STORE_URL and its credentials; ${AGAIN}`,
    },
    import_failed: {
      exit: EX_SOFTWARE,
      what: 'the import failed unexpectedly',
      hint: `this is a bug: report it with this line; ${AGAIN}`,
    },
  };

/** What the command prints and exits with. */
export interface ImportFailure {
  code: ImportFailureCode;
  exit: number;
  message: string;
  hint: string;
}

/** Network failures of Node, pg and the AWS SDK: nothing answered. */
const NO_ANSWER =
  /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE)$/;

const fieldOf = (err: unknown, name: string): unknown =>
  err !== null && typeof err === 'object' ? (err as Record<string, unknown>)[name] : undefined;

/** A PostgreSQL SQLSTATE, when the error is the server's answer. */
function sqlState(err: unknown): string | null {
  const code = fieldOf(err, 'code');
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

/** Nothing answered, or the connection ended before an answer. */
function noAnswer(err: unknown): boolean {
  const code = fieldOf(err, 'code');
  if (typeof code === 'string' && NO_ANSWER.test(code)) return true;
  const name = fieldOf(err, 'name');
  if (name === 'TimeoutError') return true;
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|connect ETIMEDOUT|timeout exceeded when trying to connect/i.test(
    message,
  );
}

/** A failure of Noah's database. */
function databaseClass(err: unknown): ImportFailureCode {
  const state = sqlState(err);
  // 28: invalid authorization; 3D000: no such database; 42501: no SELECT on a table.
  if (state && (state.startsWith('28') || state === '3D000' || state === '42501'))
    return 'noah_database_refused';
  // 42P01, 42703: a table or column Noah's schema has is not there. The rest of class
  // 42 (a type mismatch, a syntax error) is no sign of another database: a bug here.
  if (state === '42P01' || state === '42703') return 'not_a_noah_database';
  // 08: connection exception; 57P: the server shuts down or is starting; 53: no room.
  if (noAnswer(err) || (state && /^(08|57P|53)/.test(state))) return 'noah_database_unreachable';
  return 'import_failed';
}

/** A failure of Noah's bucket. */
function bucketClass(err: unknown): ImportFailureCode {
  const status = (fieldOf(err, '$metadata') as { httpStatusCode?: unknown } | undefined)
    ?.httpStatusCode;
  if (status === 401 || status === 403) return 'noah_bucket_refused';
  if (noAnswer(err) || (typeof status === 'number' && status >= 500))
    return 'noah_bucket_unreachable';
  return 'import_failed';
}

const CLASS_OF_STORE: Readonly<Record<ImportStore, (err: unknown) => ImportFailureCode>> = {
  noah_database: databaseClass,
  noah_bucket: bucketClass,
  database: () => 'database_unavailable',
  blob_store: () => 'blob_store_unavailable',
};

/**
 * The failure class of what stopped the import.
 *
 * @param err - what `importNoah` threw (an `ImportStoreError` names its store)
 * @returns the code, exit code, one-line message and hint
 * @example
 * ```ts
 * classifyImportFailure(new ImportStoreError('noah_database', refused)).exit; // 69
 * ```
 */
export function classifyImportFailure(err: unknown): ImportFailure {
  const store = fieldOf(err, 'store') as ImportStore | undefined;
  const cause = store ? (fieldOf(err, 'cause') ?? err) : err;
  const code = store && store in CLASS_OF_STORE ? CLASS_OF_STORE[store](cause) : 'import_failed';
  const f = FAILURES[code];
  // pg and the AWS SDK name the host, never the password or the secret key.
  const detail = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  return { code, exit: f.exit, message: `${f.what}: ${detail}`, hint: f.hint };
}
