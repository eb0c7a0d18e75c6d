/**
 * Strict base64 (RFC 4648 §4) for the platform seam: the engine-independent check both
 * platforms run before decoding, and the portable codec `web.ts` uses. Strict means: the
 * standard alphabet only, `=` padding to a multiple of 4 characters, `=` only in the last
 * two positions, and zero pad bits (canonical), as FORMAT.md §3.3 requires.
 * @module
 */
import { abytes } from '../bytes.ts';

const STRICT = /^[A-Za-z0-9+/]*={0,2}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Throws unless `text` is canonical padded base64 (the empty string is).
 * @param text - the base64 text
 * @throws SyntaxError naming the first rule broken (never echoing the text)
 * @example
 * ```ts
 * checkBase64('AQID'); // ok
 * checkBase64('AB=='); // SyntaxError: non-zero pad bits
 * ```
 */
export function checkBase64(text: string): void {
  if (text.length % 4 !== 0) throw new SyntaxError('base64: length is not a multiple of 4');
  if (!STRICT.test(text)) throw new SyntaxError('base64: invalid character or padding');
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  if (pad === 0) return;
  // The last data character carries 4 (one byte left) or 2 (two bytes) unused bits.
  const last = ALPHABET.indexOf(text[text.length - pad - 1]!);
  if ((last & (pad === 2 ? 0x0f : 0x03)) !== 0)
    throw new SyntaxError('base64: non-zero pad bits (not canonical)');
}

let latin1: TextDecoder | undefined;

/**
 * Decodes ASCII base64 text strictly, with `atob` after {@link checkBase64}.
 * @param text - the text as ASCII bytes
 * @returns the decoded bytes
 * @throws SyntaxError for anything but canonical padded base64; TypeError for a non-Uint8Array
 * @example
 * ```ts
 * base64DecodePortable(utf8ToBytes('AQID')); // Uint8Array [1, 2, 3]
 * ```
 */
export function base64DecodePortable(text: Uint8Array): Uint8Array {
  abytes('text', text);
  // WHATWG "latin1" is windows-1252, which differs only above 0x7f: rejected below anyway.
  latin1 ??= new TextDecoder('latin1');
  const s = latin1.decode(text);
  checkBase64(s);
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Encodes bytes as canonical padded base64, `btoa` over slices of 3·2^13 bytes.
 * @param bytes - the data
 * @returns the text as ASCII bytes
 * @throws TypeError for a non-Uint8Array
 * @example
 * ```ts
 * base64EncodePortable(Uint8Array.of(1, 2, 3)); // bytes of "AQID"
 * ```
 */
export function base64EncodePortable(bytes: Uint8Array): Uint8Array {
  abytes('bytes', bytes);
  const step = 3 * 8192; // a multiple of 3: slices encode without inner padding
  const out = new Uint8Array(4 * Math.ceil(bytes.length / 3));
  let pos = 0;
  for (let off = 0; off < bytes.length; off += step) {
    const part = bytes.subarray(off, Math.min(bytes.length, off + step));
    let bin = '';
    for (let i = 0; i < part.length; i++) bin += String.fromCharCode(part[i]!);
    const b64 = btoa(bin);
    for (let i = 0; i < b64.length; i++) out[pos++] = b64.charCodeAt(i);
  }
  return out;
}
