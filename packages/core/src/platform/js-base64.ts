/**
 * Strict base64 (RFC 4648 §4, FORMAT.md §3.3) in plain JavaScript, for engines without
 * `TextDecoder` (React Native's Hermes has `atob` but no `TextDecoder`): the same strict
 * check as the other platforms (`checkBase64`), then @scure/base's codec.
 * @module
 */
import { base64 } from '@scure/base';
import { abytes } from '../bytes.ts';
import { checkBase64 } from './base64.ts';

/** Code units per `String.fromCharCode` call: well under every engine's argument limit. */
const STEP = 8192;

/** The bytes as a string of code units 0..255 (latin1), without TextDecoder. */
function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let off = 0; off < bytes.length; off += STEP)
    s += String.fromCharCode.apply(null, bytes.subarray(off, off + STEP) as unknown as number[]);
  return s;
}

/**
 * Decodes ASCII base64 text strictly.
 * @param text - the text as ASCII bytes
 * @returns the decoded bytes
 * @throws SyntaxError for anything but canonical padded base64; TypeError for a non-Uint8Array
 * @example
 * ```ts
 * base64DecodeJs(utf8ToBytes('AQID')); // Uint8Array [1, 2, 3]
 * ```
 */
export function base64DecodeJs(text: Uint8Array): Uint8Array {
  abytes('text', text);
  const s = latin1(text);
  checkBase64(s);
  return base64.decode(s);
}

/**
 * Encodes bytes as canonical padded base64.
 * @param bytes - the data
 * @returns the text as ASCII bytes
 * @throws TypeError for a non-Uint8Array
 * @example
 * ```ts
 * base64EncodeJs(Uint8Array.of(1, 2, 3)); // bytes of "AQID"
 * ```
 */
export function base64EncodeJs(bytes: Uint8Array): Uint8Array {
  abytes('bytes', bytes);
  const s = base64.encode(bytes);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
