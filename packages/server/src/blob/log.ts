/**
 * The slice of a pino/Fastify logger the blob stores use. Stores never pass pre-signed
 * URLs, signatures or signing keys to it.
 * @module
 */

/** A structured logger (pino's `(obj, msg)` call shape). */
export interface BlobLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** A logger that drops everything; the default when none is given. */
export const silentLogger: BlobLogger = { info: () => {}, warn: () => {} };
