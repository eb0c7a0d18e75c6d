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
/** EX_NOPERM: a store refused the credentials or the access, or none were found. */
const EX_NOPERM = 77;
/** EX_CONFIG: a setting that cannot work as given; running again changes nothing. */
const EX_CONFIG = 78;

/** A failure class of the import. */
export type ImportFailureCode =
  | 'noah_database_unreachable'
  | 'noah_database_refused'
  | 'noah_database_tls'
  | 'not_a_noah_database'
  | 'noah_bucket_unreachable'
  | 'noah_bucket_refused'
  | 'noah_bucket_wrong_region'
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
    noah_database_tls: {
      exit: EX_CONFIG,
      what: "no TLS connection to Noah's database",
      hint: "match sslmode in --noah-database-url to Noah's PostgreSQL: sslmode=require (or verify-full) where it demands TLS, sslmode=disable where it has none; a certificate of a private CA needs NODE_EXTRA_CA_CERTS",
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
    noah_bucket_wrong_region: {
      exit: EX_CONFIG,
      what: "Noah's bucket is in another region",
      hint: "pass the bucket's region with --noah-s3-region (or NOAH_S3_REGION), and with --noah-s3-endpoint that region's endpoint",
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

/** Each class's exit code (docs/OPERATIONS.md lists them; a test holds the two equal). */
export const IMPORT_FAILURE_EXITS: Readonly<Record<ImportFailureCode, number>> = Object.fromEntries(
  Object.entries(FAILURES).map(([code, f]) => [code, f.exit]),
) as Record<ImportFailureCode, number>;

/** What the command prints and exits with. */
export interface ImportFailure {
  code: ImportFailureCode;
  exit: number;
  message: string;
  hint: string;
}

/** Node's TLS failures: a certificate not trusted, expired or for another host. */
const TLS_FAILURE =
  /^(ERR_TLS_|ERR_SSL_|ERR_OSSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$)/;

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

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : '');

/** A failure of Noah's database. */
function databaseClass(err: unknown): ImportFailureCode {
  const state = sqlState(err);
  const code = fieldOf(err, 'code');
  const message = messageOf(err);
  // TLS asked of a server without it (pg's own words), a certificate not trusted, or
  // pg_hba.conf admitting this client only over TLS ("no encryption": PostgreSQL 14+).
  if (
    /server does not support SSL connections/.test(message) ||
    (typeof code === 'string' && TLS_FAILURE.test(code)) ||
    (state === '28000' && /no encryption|SSL off/.test(message))
  )
    return 'noah_database_tls';
  // The server asked for a password and none was given (pg's own words).
  if (/client password must be a string/.test(message)) return 'noah_database_refused';
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

/**
 * The region S3 names for the bucket when a request went to another: the
 * `x-amz-bucket-region` header (every answer, a HEAD's too), else the error's `Region`.
 */
function bucketRegion(err: unknown): string | null {
  const headers = (fieldOf(err, '$response') as { headers?: Record<string, unknown> } | undefined)
    ?.headers;
  const region = headers?.['x-amz-bucket-region'] ?? fieldOf(err, 'Region');
  return typeof region === 'string' && /^[a-z0-9-]{1,32}$/.test(region) ? region : null;
}

/** What the run was given, to tell an answer about it from another. */
export interface ImportSettings {
  /** The region Noah's bucket was asked in. */
  noahS3Region?: string;
}

/** A failure of Noah's bucket. */
function bucketClass(err: unknown, given: ImportSettings): ImportFailureCode {
  const status = (fieldOf(err, '$metadata') as { httpStatusCode?: unknown } | undefined)
    ?.httpStatusCode;
  const name = fieldOf(err, 'name');
  // S3 answers a request signed for, or sent to, another region with 301 or 400 and
  // names the bucket's region; a 400 naming the region asked is about something else.
  const region = bucketRegion(err);
  if (
    status === 301 ||
    (status === 400 && region !== null && region !== given.noahS3Region) ||
    name === 'PermanentRedirect' ||
    name === 'IllegalLocationConstraintException' ||
    (name === 'AuthorizationHeaderMalformed' && /region/i.test(messageOf(err)))
  )
    return 'noah_bucket_wrong_region';
  // No credentials at all: the SDK's default chain found none.
  if (status === 401 || status === 403 || name === 'CredentialsProviderError')
    return 'noah_bucket_refused';
  if (noAnswer(err) || (typeof status === 'number' && status >= 500))
    return 'noah_bucket_unreachable';
  return 'import_failed';
}

const CLASS_OF_STORE: Readonly<
  Record<ImportStore, (err: unknown, given: ImportSettings) => ImportFailureCode>
> = {
  noah_database: databaseClass,
  noah_bucket: bucketClass,
  database: () => 'database_unavailable',
  blob_store: () => 'blob_store_unavailable',
};

/**
 * The failure class of what stopped the import.
 *
 * @param err - what `importNoah` threw (an `ImportStoreError` names its store)
 * @param given - what the run was given (the bucket's region)
 * @returns the code, exit code, one-line message and hint
 * @example
 * ```ts
 * classifyImportFailure(new ImportStoreError('noah_database', refused)).exit; // 69
 * ```
 */
export function classifyImportFailure(err: unknown, given: ImportSettings = {}): ImportFailure {
  const store = fieldOf(err, 'store') as ImportStore | undefined;
  const cause = store ? (fieldOf(err, 'cause') ?? err) : err;
  const code =
    store && store in CLASS_OF_STORE ? CLASS_OF_STORE[store](cause, given) : 'import_failed';
  const f = FAILURES[code];
  // pg and the AWS SDK name the host, never the password or the secret key. An answer
  // to a HEAD has no text (the SDK says "UnknownError"): the region it named says more.
  const region = f === FAILURES.noah_bucket_wrong_region ? bucketRegion(cause) : null;
  const detail = region
    ? `S3 says the bucket is in ${region}`
    : (err instanceof Error ? err.message : String(err)).split('\n')[0];
  return { code, exit: f.exit, message: `${f.what}: ${detail}`, hint: f.hint };
}
