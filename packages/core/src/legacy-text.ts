/**
 * The text encoding shared by both legacy formats (FORMAT.md §3.3): strict, canonical,
 * padded base64 (RFC 4648 §4). On read, CR and LF are ignored anywhere (line-wrapped
 * base64 such as Android's `Base64.DEFAULT` or MIME) and trailing ASCII whitespace is
 * tolerated; any other byte is rejected. Writers emit neither.
 * @module
 */
import { base64Decode, base64Encode } from '#platform';
import { abytes } from './bytes.ts';
import { NotABackupError } from './errors.ts';

const CR = 0x0d;
const LF = 0x0a;

/** Base64 alphabet and padding (RFC 4648 §4) as byte flags. */
const B64 = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=')
  B64[c.charCodeAt(0)] = 1;

/** Whether byte `b` is ASCII whitespace a legacy text may end with. */
function isTrailingSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === LF || b === CR;
}

/** Length of `text` without its trailing ASCII whitespace. */
function trimmedEnd(text: Uint8Array): number {
  let end = text.length;
  while (end > 0 && isTrailingSpace(text[end - 1]!)) end--;
  return end;
}

/** `text` without any CR or LF (a subarray when it has none). */
function withoutLineBreaks(text: Uint8Array): Uint8Array {
  if (text.indexOf(LF) < 0 && text.indexOf(CR) < 0) return text;
  const out = new Uint8Array(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const b = text[i]!;
    if (b !== LF && b !== CR) out[n++] = b;
  }
  return out.subarray(0, n);
}

/**
 * Checks that `text` looks like legacy base64 text (FORMAT.md §2.1 step 3).
 *
 * @param text - bytes of a file, or of its first bytes
 * @returns the number of base64 characters (line breaks and trailing whitespace not
 *   counted) if every byte is in the base64 alphabet (with `=`) or is CR or LF, or is
 *   trailing whitespace; else -1 (0 for an empty or all-whitespace text)
 * @throws TypeError if `text` is not a Uint8Array
 * @example
 * ```ts
 * base64TextLength(utf8ToBytes('AQID\nAQID\n')); // 8
 * ```
 */
export function base64TextLength(text: Uint8Array): number {
  abytes('text', text);
  const end = trimmedEnd(text);
  let n = 0;
  for (let i = 0; i < end; i++) {
    const b = text[i]!;
    if (B64[b] === 1) n++;
    else if (b !== LF && b !== CR) return -1;
  }
  return n;
}

/**
 * The first decoded byte of a legacy text, from its first four base64 characters
 * (FORMAT.md §2.1: `B0`), for detection without decoding the whole text.
 *
 * @param prefix - the first bytes of a file
 * @returns the byte, or undefined if the prefix holds fewer than four base64 characters
 * @throws NotABackupError if those four characters are not valid base64
 * @example
 * ```ts
 * legacyFirstByte(utf8ToBytes('AQID')); // 1
 * ```
 */
export function legacyFirstByte(prefix: Uint8Array): number | undefined {
  abytes('prefix', prefix);
  const quad = new Uint8Array(4);
  let n = 0;
  for (let i = 0; i < prefix.length && n < 4; i++) {
    const b = prefix[i]!;
    if (b !== LF && b !== CR) quad[n++] = b;
  }
  return n < 4 ? undefined : decodeLegacyText(quad)[0];
}

/**
 * Decodes a legacy backup's text strictly: standard alphabet, `=` padding required,
 * canonical (zero) pad bits; CR and LF are ignored anywhere and trailing ASCII
 * whitespace is tolerated; any other byte, embedded spaces included, is rejected
 * (FORMAT.md §3.3).
 *
 * @param text - the backup file's bytes (ASCII base64, possibly line-wrapped)
 * @returns the decoded bytes
 * @throws TypeError if `text` is not a Uint8Array; NotABackupError ("not a backup:
 *   invalid base64") for anything else
 * @example
 * ```ts
 * decodeLegacyText(utf8ToBytes('AQ\r\nID\n')); // Uint8Array [1, 2, 3]
 * ```
 */
export function decodeLegacyText(text: Uint8Array): Uint8Array {
  abytes('text', text);
  const body = withoutLineBreaks(text.subarray(0, trimmedEnd(text)));
  if (body.length === 0) throw new NotABackupError('not a backup: invalid base64');
  try {
    return base64Decode(body);
  } catch {
    throw new NotABackupError('not a backup: invalid base64');
  }
}

/**
 * Encodes a legacy blob as writers must (FORMAT.md §3.3): standard padded base64, no
 * line breaks, no trailing newline.
 *
 * @param blob - the binary blob
 * @returns the base64 text as ASCII bytes
 * @throws TypeError if `blob` is not a Uint8Array
 * @example
 * ```ts
 * encodeLegacyText(Uint8Array.of(1, 2, 3)); // bytes of "AQID"
 * ```
 */
export function encodeLegacyText(blob: Uint8Array): Uint8Array {
  abytes('blob', blob);
  return base64Encode(blob);
}
