/**
 * The text encoding shared by both legacy formats (FORMAT.md §3.3): strict, canonical,
 * padded base64 (RFC 4648 §4) with only trailing whitespace tolerated on read.
 * @module
 */
import { base64 } from '@scure/base';
import { abytes, utf8ToBytes } from './bytes.ts';
import { NotABackupError } from './errors.ts';

/** Base64 alphabet and padding (RFC 4648 §4) as byte flags. */
const B64 = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=')
  B64[c.charCodeAt(0)] = 1;

/** Whether byte `b` is ASCII whitespace a legacy text may end with. */
function isTrailingSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/**
 * Checks that `text` looks like legacy base64 text (FORMAT.md §2.1 step 2).
 *
 * @param text - bytes of a file, or of its first bytes
 * @returns the length without trailing ASCII whitespace if every other byte is in the
 *   base64 alphabet (with `=`), else -1 (0 for an empty or all-whitespace text)
 * @example
 * ```ts
 * base64TextLength(utf8ToBytes('AQID\n')); // 4
 * ```
 */
export function base64TextLength(text: Uint8Array): number {
  abytes('text', text);
  let end = text.length;
  while (end > 0 && isTrailingSpace(text[end - 1]!)) end--;
  for (let i = 0; i < end; i++) if (text[i]! >= 128 || B64[text[i]!] !== 1) return -1;
  return end;
}

/**
 * Decodes a legacy backup's text strictly: standard alphabet, `=` padding required,
 * canonical (zero) pad bits, no embedded whitespace or line breaks; trailing ASCII
 * whitespace (a final newline) is tolerated (FORMAT.md §3.3).
 *
 * @param text - the backup file's bytes (ASCII base64)
 * @returns the decoded bytes
 * @throws TypeError if `text` is not a Uint8Array; NotABackupError ("not a backup:
 *   invalid base64") for anything else
 * @example
 * ```ts
 * decodeLegacyText(utf8ToBytes('AQID\n')); // Uint8Array [1, 2, 3]
 * ```
 */
export function decodeLegacyText(text: Uint8Array): Uint8Array {
  abytes('text', text);
  const end = base64TextLength(text);
  if (end <= 0 || end % 4 !== 0) throw new NotABackupError('not a backup: invalid base64');
  let s = '';
  for (let i = 0; i < end; i += 0x8000)
    s += String.fromCharCode(...text.subarray(i, Math.min(end, i + 0x8000)));
  try {
    return base64.decode(s);
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
 * @example
 * ```ts
 * encodeLegacyText(Uint8Array.of(1, 2, 3)); // bytes of "AQID"
 * ```
 */
export function encodeLegacyText(blob: Uint8Array): Uint8Array {
  return utf8ToBytes(base64.encode(blob));
}
