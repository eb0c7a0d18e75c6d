/**
 * Object keys and prefixes, named and checked here only. The server names every object
 * itself (docs/API.md "What the server learns": opaque, no user id, new each time), so
 * keys are a narrow alphabet — `[a-z0-9_-]` segments joined by `/`. Anything
 * else is a programming error and throws a TypeError, which also rules out path
 * traversal in the fs store (no `.`, no empty segment, no leading or trailing `/`).
 * A key is at most 512 characters, each segment at most 255.
 * @module
 */

/**
 * Prefix of every object the server names: uploads, the sweeper's orphan scan and the
 * bucket's lifecycle rules (blob/s3-setup-documents.ts) all depend on it.
 */
export const OBJECT_PREFIX = 'b/';

/**
 * A new object key: {@link OBJECT_PREFIX} and 128 random bits in hex, so a key says
 * nothing about its user and is never reused.
 *
 * @param random - the source of randomness (the service's, so tests can pin it)
 * @returns e.g. `b/3f2a…` (34 characters)
 * @example
 * ```ts
 * const key = newObjectKey(secureRandom);
 * ```
 */
export function newObjectKey(random: (n: number) => Uint8Array): string {
  const hex = Array.from(random(16), (b) => b.toString(16).padStart(2, '0')).join('');
  return `${OBJECT_PREFIX}${hex}`;
}

/** Longest key accepted (S3 allows 1,024 bytes; ours are far shorter). */
export const MAX_KEY_LENGTH = 512;

// Segments are file names in the fs store: at most 255 bytes (NAME_MAX).
const KEY_RE = /^[a-z0-9_-]{1,255}(?:\/[a-z0-9_-]{1,255})*$/;
const PREFIX_RE = /^[a-z0-9/_-]*$/;

/**
 * Asserts `key` is a valid object key.
 * @param name - argument name for the error message
 * @param key - the value to check
 * @throws TypeError when `key` is not a string of `[a-z0-9_-]` segments joined by `/`
 * @example assertBlobKey('key', 'u/3f2a/b-1')
 */
export function assertBlobKey(name: string, key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length > MAX_KEY_LENGTH || !KEY_RE.test(key))
    throw new TypeError(`${name} must be [a-z0-9_-] segments joined by "/"`);
}

/**
 * Asserts `prefix` is a valid list prefix: any string over the key alphabet (it need not
 * end at a segment boundary, as with S3's Prefix), possibly empty.
 * @throws TypeError otherwise
 * @example assertBlobPrefix('prefix', 'u/')
 */
export function assertBlobPrefix(name: string, prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string' || prefix.length > MAX_KEY_LENGTH || !PREFIX_RE.test(prefix))
    throw new TypeError(`${name} must be a string over [a-z0-9/_-]`);
}

/** Longest pre-signed URL lifetime: one week, as for AWS SigV4 pre-signed URLs. */
export const MAX_EXPIRES_SEC = 7 * 24 * 3600;

/**
 * Asserts `value` is a whole number of seconds in [1, one week] (AWS SigV4 limit).
 * @throws TypeError for a non-integer, RangeError outside the range
 */
export function assertExpiresIn(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw new TypeError(`${name} must be an integer`);
  if (value < 1 || value > MAX_EXPIRES_SEC)
    throw new RangeError(`${name} must be in [1, ${MAX_EXPIRES_SEC}], got ${value}`);
}

/**
 * Asserts `size` is a whole number of bytes in [0, maxObjectSize]: a store never signs a
 * URL for more bytes than it accepts.
 * @throws TypeError for a non-integer, RangeError outside the range
 */
export function assertObjectSize(
  name: string,
  size: unknown,
  maxObjectSize: number,
): asserts size is number {
  if (typeof size !== 'number' || !Number.isSafeInteger(size))
    throw new TypeError(`${name} must be an integer`);
  if (size < 0 || size > maxObjectSize)
    throw new RangeError(`${name} must be in [0, ${maxObjectSize}], got ${size}`);
}

/**
 * Asserts `value` is absent or a SHA-256 in lowercase hex (64 characters), the form
 * the API and the stores use (docs/API.md "Checksums").
 * @throws TypeError otherwise
 */
export function assertSha256(name: string, value: unknown): asserts value is string | undefined {
  if (value !== undefined && (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)))
    throw new TypeError(`${name} must be a SHA-256 in lowercase hex`);
}
