/**
 * DATABASE_URL parsing: which MetadataStore backend a URL selects (docs/OPERATIONS.md
 * "Configuration reference": the backend is chosen by a URL), and redaction so a URL can
 * be logged without its password or auth token.
 * @module
 */

/** A parsed DATABASE_URL: the backend and what it needs to connect. */
export type DatabaseTarget =
  | { kind: 'sqlite' /** File path, or ':memory:'. */; path: string }
  | { kind: 'libsql' /** URL for @libsql/client. */; url: string; inMemory: boolean }
  | { kind: 'postgres'; url: string };

/** The URL forms `parseDatabaseUrl` accepts, for error messages and docs. */
export const ACCEPTED_DATABASE_URLS =
  'postgres://… or postgresql://… (PostgreSQL); libsql://…, https://…, http://… or file:PATH (libSQL/Turso); sqlite:PATH, sqlite::memory: or a bare file path (SQLite)';

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

/**
 * Chooses the backend for a DATABASE_URL.
 *
 * @param url `postgres://…`, `postgresql://…`, `libsql://…`, `https://…`, `http://…`,
 *   `file:…`, `sqlite:PATH`, `sqlite::memory:` or a bare path.
 * @returns the backend kind and its connection target.
 * @throws TypeError when `url` is not a non-empty string; Error naming the accepted forms
 *   for an unknown scheme (the URL itself is never echoed: it may hold a password).
 * @example
 * parseDatabaseUrl('sqlite:./data/noah.db'); // { kind: 'sqlite', path: './data/noah.db' }
 */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (typeof url !== 'string' || url.trim() === '')
    throw new TypeError('url: expected a non-empty database URL');
  const m = SCHEME.exec(url);
  // A one-letter "scheme" is a Windows drive letter: a bare path.
  if (!m?.[1] || m[1].length === 1) return { kind: 'sqlite', path: url };
  const scheme = m[1].toLowerCase();
  switch (scheme) {
    case 'postgres':
    case 'postgresql':
      return { kind: 'postgres', url };
    case 'libsql':
    case 'https':
    case 'http':
      return { kind: 'libsql', url, inMemory: false };
    case 'file': {
      const rest = url.slice('file:'.length);
      return { kind: 'libsql', url, inMemory: rest === ':memory:' || rest.startsWith(':memory:?') };
    }
    case 'sqlite': {
      let path = url.slice('sqlite:'.length);
      if (path.startsWith('//')) path = path.slice(2); // sqlite:///abs/path, sqlite://rel
      if (path === '') throw new Error('DATABASE_URL "sqlite:" needs a path or :memory:');
      return { kind: 'sqlite', path };
    }
    default:
      throw new Error(
        `unsupported database URL scheme "${scheme}:"; accepted: ${ACCEPTED_DATABASE_URLS}`,
      );
  }
}

/**
 * The URL with any password and `authToken` replaced by `***`, safe for logs.
 *
 * @param url any database URL.
 * @example
 * redactDatabaseUrl('postgres://u:secret@db/noah'); // 'postgres://u:***@db/noah'
 */
export function redactDatabaseUrl(url: string): string {
  let out = url.replace(/(\/\/[^/?#@:]*:)[^/?#]*@/, '$1***@');
  out = out.replace(/([?&]authToken=)[^&#]*/gi, '$1***');
  return out;
}
