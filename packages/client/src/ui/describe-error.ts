/**
 * Turns any error the SDK, the core or the adapters throw into a human sentence with
 * a next step (`messages.ts`, one per code of the error catalog). Keyed on the stable
 * `code` of NoahError subclasses; never shows a raw message that could hold a URL or a
 * secret.
 * @module
 */
import { toCatalogCode } from '@noah-backup/core/error-catalog';
import { NoahError } from '@noah-backup/core/errors';
import { GENERIC, MESSAGES, SERVER_TROUBLE } from './messages.ts';

/** What the screens show for an error. */
export interface HumanError {
  /** One sentence: what happened. */
  title: string;
  /** What the user can do next. */
  next: string;
  /** The stable error code, shown small for support. */
  code: string;
}

/** Thrown by an app when a seedphrase has no backups on this server. */
export class NoBackupsError extends NoahError {
  constructor() {
    super('no_backups', 'no backups for this seedphrase');
  }
}

/**
 * Describes an error for the user.
 *
 * @param err - anything thrown
 * @returns title, next step and code
 * @example
 * ```ts
 * const { title, next } = describeError(new InvalidMnemonicError());
 * ```
 */
export function describeError(err: unknown): HumanError {
  const e = (err ?? {}) as { code?: unknown; status?: unknown };
  const status = typeof e.status === 'number' ? e.status : undefined;
  // A former code (a status stored before codes were merged) reads as its successor.
  const known = toCatalogCode(e.code);
  // Not the API's answer (a proxy's error page): the server's trouble, as any 5xx.
  if (known === 'unexpected_response' && status !== undefined && status >= 500)
    return { ...SERVER_TROUBLE, code: known };
  if (known) return { ...MESSAGES[known], code: known };
  const code = typeof e.code === 'string' ? e.code : 'unknown';
  if (status !== undefined && status >= 500) return { ...SERVER_TROUBLE, code };
  // fetch() rejects with a TypeError when the network is down or the host is unknown.
  if (err instanceof TypeError && /fetch|network/i.test(String(err.message)))
    return { ...MESSAGES.network_error, code: 'network_error' };
  return { ...GENERIC, code };
}
