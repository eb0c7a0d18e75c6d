/**
 * Byte helpers and tiny named asserts for public boundaries (`TypeError` for a
 * wrong type, `RangeError` for a wrong range, the argument's name in the message).
 * No Node `Buffer` here: `Uint8Array` only.
 * @module
 */
export { bytesToHex, hexToBytes, utf8ToBytes, concatBytes } from '@noble/hashes/utils.js';

/** Asserts `value` is a Uint8Array, optionally of an exact length. */
export function abytes(name: string, value: unknown, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (length !== undefined && value.length !== length)
    throw new RangeError(`${name} must be ${length} bytes, got ${value.length}`);
}

/** Asserts `value` is a safe non-negative integer within [min, max]. */
export function aint(
  name: string,
  value: unknown,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw new TypeError(`${name} must be an integer`);
  if (value < min || value > max)
    throw new RangeError(`${name} must be in [${min}, ${max}], got ${value}`);
}

/** Asserts `value` is a string. */
export function astring(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string`);
}

/** Decodes UTF-8 strictly (throws on invalid sequences). */
export function bytesToUtf8(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}

/** Constant-time equality of two byte arrays (length leaks; content does not). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Overwrites a secret buffer with zeros. JavaScript cannot wipe copies the engine made. */
export function wipe(...buffers: (Uint8Array | undefined)[]): void {
  for (const b of buffers) b?.fill(0);
}
