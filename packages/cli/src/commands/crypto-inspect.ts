/**
 * `noah-backup inspect`: what a backup file says about itself without any secret
 * (FORMAT.md §2, §5.3): the format, and the v2 header fields or the legacy sizes. A v2
 * file is read only for its header; a legacy file is read whole (it is one base64 text).
 * @module
 */
import { open } from 'node:fs/promises';
import { detectFormat, inspectBackup } from '@noah-backup/core/format';
import { parseV2Header, V2_HEADER_LENGTH, v2ChunkCount, v2PayloadSize } from '@noah-backup/core/v2';

/** The facts `inspect` prints, as JSON-ready values. */
export type FileInfo = Record<string, string | number | boolean | null | string[]>;

/** Reads up to `n` bytes from the start of a file. */
async function head(path: string, n: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function v2Info(bytes: Uint8Array, fileSize: number): FileInfo {
  const h = parseV2Header(bytes);
  let payload: number | null = null;
  try {
    payload = v2PayloadSize(fileSize);
  } catch {
    payload = null; // not the size of any complete v2 file: truncated or padded
  }
  return {
    format: 'v2',
    version: h.version,
    created_at: h.createdAt.toISOString(),
    sequence: h.sequence.toString(),
    compression: h.compression,
    payload_kind: h.payloadKind,
    file_size: fileSize,
    header_length: h.headerLength,
    payload_size: payload,
    chunks: payload === null ? null : v2ChunkCount(payload),
    nonce_hex: Buffer.from(h.nonce).toString('hex'),
    authenticated: false,
  };
}

/**
 * Describes a backup file.
 * @param path - the file (`-`: the bytes come from `readAll`)
 * @param size - its size, or null for stdin
 * @param readAll - reads the whole input (legacy files, stdin)
 * @throws NotABackupError / UnsupportedVersionError; fs errors
 */
export async function describeFile(
  path: string,
  size: number | null,
  readAll: () => Promise<Uint8Array>,
): Promise<FileInfo> {
  const whole = size === null ? await readAll() : undefined;
  const prefix = whole ?? (await head(path, V2_HEADER_LENGTH));
  const fileSize = size ?? whole!.length;
  if (detectFormat(prefix) === 'v2') return v2Info(prefix, fileSize);
  const info = inspectBackup(whole ?? (await readAll()));
  if (info.format === 'v2') return v2Info(prefix, fileSize); // unreachable: detected above
  return {
    format:
      info.format === 'legacy'
        ? 'noah-v1 or seed-v0'
        : info.encoding === 'binary'
          ? 'noah-v1 (binary)'
          : info.format,
    candidates: info.candidates,
    file_size: fileSize,
    base64_chars: info.encodedLength,
    decoded_length: info.decodedLength,
    plaintext_size_if_seed_v0: info.seedV0?.ciphertextLength ?? null,
    plaintext_size_if_noah_v1: info.noahV1?.ciphertextLength ?? null,
    authenticated: false,
  };
}

/**
 * Prints the facts: `key: value` lines, or one JSON object with --json.
 * @param info - from {@link describeFile}
 * @param json - JSON output
 */
export function printInfo(info: FileInfo, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    return;
  }
  const lines = Object.entries(info)
    .filter(([k]) => k !== 'authenticated')
    .map(([k, v]) => `${`${k}:`.padEnd(28)}${Array.isArray(v) ? v.join(', ') : String(v)}`);
  lines.push('(nothing here is authenticated until the file is decrypted with the seedphrase)');
  process.stdout.write(`${lines.join('\n')}\n`);
}
