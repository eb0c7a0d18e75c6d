/**
 * The SDK's logging seam: structured, levelled, and never handed a secret (mnemonic,
 * keys, tokens, signatures, pre-signed URLs). Callers pass pino, console, or nothing.
 * @module
 */

/** Fields attached to a log line; values must never be secrets. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** A minimal structured logger (pino's and console's shapes both fit with a wrapper). */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
}

/** Discards everything; the default. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {} };
