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

/**
 * Decodes UTF-8 strictly (throws TypeError on invalid sequences), dropping one leading
 * byte-order mark as TextDecoder does. Engines without TextDecoder (Hermes, in React
 * Native) get {@link bytesToUtf8Js}, which decodes exactly the same way.
 */
export function bytesToUtf8(bytes: Uint8Array): string {
  if (typeof TextDecoder !== 'function') return bytesToUtf8Js(bytes);
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}

/** UTF-16 code units gathered before each `String.fromCharCode` call. */
const UNITS = 8192;

/**
 * Strict UTF-8 decoding in plain JavaScript, as the WHATWG Encoding Standard's decoder
 * with `fatal: true` (RFC 3629 §4 well-formed sequences only: no overlong forms, no
 * surrogates, nothing past U+10FFFF, no truncated sequence), dropping one leading BOM.
 * @param bytes - the UTF-8 bytes
 * @returns the text
 * @throws TypeError for a Uint8Array that is not well-formed UTF-8, or a non-Uint8Array
 * @example
 * ```ts
 * bytesToUtf8Js(Uint8Array.of(0xe2, 0x82, 0xac)); // '€'
 * ```
 */
export function bytesToUtf8Js(bytes: Uint8Array): string {
  abytes('bytes', bytes);
  const n = bytes.length;
  let i = n >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  let out = '';
  const units: number[] = [];
  while (i < n) {
    const b = bytes[i]!;
    let cp = b;
    if (b >= 0x80) {
      // The lead byte fixes the length and the range of the first continuation byte.
      let need: number;
      let lo = 0x80;
      let hi = 0xbf;
      if (b >= 0xc2 && b <= 0xdf) [need, cp] = [1, b & 0x1f];
      else if (b >= 0xe0 && b <= 0xef) {
        [need, cp] = [2, b & 0x0f];
        if (b === 0xe0) lo = 0xa0; // overlong
        if (b === 0xed) hi = 0x9f; // surrogates
      } else if (b >= 0xf0 && b <= 0xf4) {
        [need, cp] = [3, b & 0x07];
        if (b === 0xf0) lo = 0x90; // overlong
        if (b === 0xf4) hi = 0x8f; // past U+10FFFF
      } else throw new TypeError('The encoded data was not valid UTF-8');
      for (let k = 1; k <= need; k++) {
        const c = bytes[i + k];
        if (c === undefined || c < lo || c > hi)
          throw new TypeError('The encoded data was not valid UTF-8');
        cp = (cp << 6) | (c & 0x3f);
        [lo, hi] = [0x80, 0xbf];
      }
      i += need;
    }
    i++;
    if (cp > 0xffff) units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + (cp & 0x3ff));
    else units.push(cp);
    if (units.length >= UNITS) {
      out += String.fromCharCode(...units);
      units.length = 0;
    }
  }
  return out + String.fromCharCode(...units);
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
