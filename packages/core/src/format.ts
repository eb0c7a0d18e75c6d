/**
 * The format facade: readers auto-detect the format (FORMAT.md §2), writers choose one
 * (default v2). v2 streams in constant memory; the legacy formats are one base64 text
 * and are buffered whole.
 * @module
 */
import { abytes, aint } from './bytes.ts';
import type { RandomBytes } from './clock.ts';
import {
  DecryptionError,
  LimitExceededError,
  NotABackupError,
  UnsupportedPayloadKindError,
} from './errors.ts';
import type { Keyring } from './keys.ts';
import {
  encryptNoahV1,
  encryptSeedV0,
  inspectLegacy,
  isBinaryNoahV1,
  type LegacyInfo,
  NOAH_V1_VERSION,
  openNoahV1Blob,
  openSeedV0Blob,
  splitNoahV1,
} from './legacy.ts';
import { platform } from '#platform';
import { base64TextLength, decodeLegacyText, legacyFirstByte } from './legacy-text.ts';
import { collect, fromBytes } from './stream.ts';
import {
  type CompressionAlgorithm,
  checkCompression,
  encryptV2,
  isV2,
  openV2,
  type PayloadKind,
  parseV2Header,
  type V2Header,
  v2PayloadSize,
} from './v2/index.ts';

/** The formats a writer can choose (docs/FORMAT.md §2). */
export type { CompressionAlgorithm };

export type BackupFormat = 'v2' | 'noah-v1' | 'seed-v0';

/** Bytes {@link detectFormat} wants to see (fewer only if the file is shorter). */
export const DETECT_PREFIX_BYTES = 8;

/**
 * Default plaintext cap for the legacy formats, which are decrypted in memory: 256 MiB.
 * (v2 streams and has its own default.) Override with `maxPlaintextBytes`.
 */
export const LEGACY_DEFAULT_MAX_PLAINTEXT = 256 * 2 ** 20;

/** Bytes a legacy blob adds to its plaintext: seed-v0 IV + tag, noah-v1 also version + salt. */
const SEED_V0_OVERHEAD = 12 + 16;
const NOAH_V1_OVERHEAD = 1 + 16 + 12 + 16;

/**
 * Tells the format of a backup from its first bytes, without a key (FORMAT.md §2.1).
 *
 * @param prefix - the file's first {@link DETECT_PREFIX_BYTES} bytes or more (the whole
 *   file if it is shorter)
 * @returns `'v2'` (the magic matches), `'noah-v1'` (a binary noah-v1 blob: first byte
 *   0x01), `'seed-v0'` (base64 text whose first decoded byte is not 0x01), or `'legacy'`
 *   (base64 text that may be noah-v1 or seed-v0, told apart only by decrypting: FORMAT.md §2.2)
 * @throws NotABackupError if it is neither; TypeError if `prefix` is not a Uint8Array
 * @example
 * ```ts
 * detectFormat(firstBytes); // 'v2'
 * ```
 */
export function detectFormat(prefix: Uint8Array): BackupFormat | 'legacy' {
  abytes('prefix', prefix);
  if (isV2(prefix)) return 'v2';
  if (isBinaryNoahV1(prefix)) return 'noah-v1';
  const end = base64TextLength(prefix);
  if (end <= 0) throw new NotABackupError();
  // FORMAT.md §2.1: the first four base64 characters hold the first decoded byte.
  const b0 = legacyFirstByte(prefix);
  return b0 !== undefined && b0 !== NOAH_V1_VERSION ? 'seed-v0' : 'legacy';
}

/** Options of {@link encryptBackup}. */
export interface EncryptBackupOptions {
  /** Format to write (default `'v2'`). The legacy formats exist for old readers only. */
  format?: BackupFormat;
  /** The seedphrase's keys: `v2Key()` for v2, `legacySeedphrase` for the legacy formats. */
  keyring: Keyring;
  /** Creation time, from the injected clock; recorded (authenticated) by v2 only. */
  createdAt: Date;
  /** The writer's backup counter; required for v2 (rollback detection), unused by legacy. */
  sequence?: bigint | number;
  /** What the payload is; recorded by v2 only (a legacy reader must sniff it). */
  payloadKind?: PayloadKind;
  /** v2: compress before encryption (default true). Legacy formats cannot compress. */
  compress?: boolean;
  /**
   * v2: the algorithm when compressing, `'deflate'` (default) or `'zstd'` (where
   * `platform.zstdCompressAvailable()`). Checked for every format, like the level.
   */
  compression?: CompressionAlgorithm;
  /**
   * v2: level when compressing (zlib 1..9, default 6; zstd 1..19, default 1). Checked
   * for every format, used only where compression happens (not by the legacy formats).
   */
  compressionLevel?: number;
  /** v2 with zstd: the compressor's worker threads (see `EncryptV2Options.zstdWorkers`). */
  zstdWorkers?: number;
  /** Source of nonces, IVs and salts (default: the platform CSPRNG). */
  random?: RandomBytes;
}

const FORMATS: readonly BackupFormat[] = ['v2', 'noah-v1', 'seed-v0'];
const ONE_OBJECT_KINDS: readonly PayloadKind[] = ['raw', 'tar', 'zip'];

/** True if the header is a one-object backup's, not an incremental backup's object. */
function isOneObject(header: V2Header): header is BackupHeader {
  return (ONE_OBJECT_KINDS as readonly string[]).includes(header.payloadKind);
}

function checkKeyring(keyring: unknown): asserts keyring is Keyring {
  if (typeof keyring !== 'object' || keyring === null || !('legacySeedphrases' in keyring))
    throw new TypeError('keyring must be a Keyring (createKeyring)');
}

/**
 * Encrypts a backup in the chosen format. v2 streams in constant memory; `seed-v0` and
 * `noah-v1` collect the whole input first (they are one AES-GCM message) and yield the
 * base64 text as one chunk. Options are checked before this returns.
 *
 * @param source - the payload, in chunks of any size
 * @param opts - format (default v2), keyring, createdAt, sequence (v2), payloadKind,
 *   compress, compression, compressionLevel, random
 * @returns the backup file as a stream of byte chunks
 * @throws TypeError / RangeError for bad options (a v2 backup without `sequence`, a
 *   legacy one with `compress: true`); InvalidMnemonicError for v2 with a seedphrase that
 *   is not BIP39; whatever `source` throws
 * @example
 * ```ts
 * const file = encryptBackup(tarStream, { keyring, createdAt: clock.now(), sequence: 8n, payloadKind: 'tar' });
 * for await (const chunk of file) await upload(chunk);
 * ```
 */
export function encryptBackup(
  source: AsyncIterable<Uint8Array>,
  opts: EncryptBackupOptions,
): AsyncGenerator<Uint8Array> {
  if (source == null || typeof source[Symbol.asyncIterator] !== 'function')
    throw new TypeError('source must be an AsyncIterable<Uint8Array>');
  const format = opts?.format ?? 'v2';
  if (!FORMATS.includes(format)) throw new RangeError('format must be v2, noah-v1 or seed-v0');
  checkKeyring(opts.keyring);
  if (!(opts.createdAt instanceof Date)) throw new TypeError('createdAt must be a Date');
  if (opts.payloadKind !== undefined && !ONE_OBJECT_KINDS.includes(opts.payloadKind))
    throw new RangeError('payloadKind must be raw, tar or zip (a one-object backup)');
  if (format === 'v2') {
    if (opts.sequence === undefined) throw new TypeError('sequence is required for v2 backups');
    return encryptV2(source, {
      key: opts.keyring.v2Key(),
      createdAt: opts.createdAt,
      sequence: opts.sequence,
      payloadKind: opts.payloadKind,
      compress: opts.compress,
      compression: opts.compression,
      compressionLevel: opts.compressionLevel,
      zstdWorkers: opts.zstdWorkers,
      random: opts.random,
    });
  }
  // FORMAT.md §3, §4: no compression flag, so a legacy writer never compresses.
  if (opts.compress === true) throw new RangeError(`${format} cannot record compression`);
  checkCompression(opts.compression, opts.compressionLevel); // checked, then unused
  const seedphrase = opts.keyring.legacySeedphrase;
  const random = opts.random;
  return (async function* () {
    const plaintext = await collect(source);
    yield format === 'seed-v0'
      ? await encryptSeedV0(plaintext, seedphrase, { random })
      : await encryptNoahV1(plaintext, seedphrase, { random });
  })();
}

/**
 * The compression a v2 writer on this platform should choose by default: zstd where
 * this engine can write it (Node with its addon: about 5x faster than zlib to write, 3x
 * to read, at the same size on wallet data), else deflate (the web platform).
 * @returns `'zstd'` or `'deflate'`
 * @example
 * ```ts
 * const compression = await preferredCompression();
 * ```
 */
export async function preferredCompression(): Promise<CompressionAlgorithm> {
  return (await platform.zstdCompressAvailable()) ? 'zstd' : 'deflate';
}

/** Options of {@link openBackup}. */
export interface OpenBackupOptions {
  /** The seedphrase's keys. */
  keyring: Keyring;
  /**
   * Cap on plaintext bytes (after decompression). Default: v2's own (8 GiB, streamed);
   * {@link LEGACY_DEFAULT_MAX_PLAINTEXT} for the in-memory legacy formats.
   */
  maxPlaintextBytes?: number;
}

/** The header of a one-object v2 backup: its payload is raw, a tar or a zip. */
export type BackupHeader = V2Header & { payloadKind: PayloadKind };

/** An opened backup. */
export interface OpenedBackup {
  /** The format it turned out to be. */
  format: BackupFormat;
  /** v2 only: the authenticated header (creation time, sequence, payload kind). */
  header?: BackupHeader;
  /** The plaintext; complete and authentic only once it has ended without error. */
  plaintext: AsyncGenerator<Uint8Array>;
}

/**
 * Reads chunks until `n` bytes are buffered (or the end), then gives back the whole
 * stream, and `close()` to stop the source early whether or not the stream was started.
 */
async function peek(source: AsyncIterable<Uint8Array>, n: number) {
  const it = source[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let have = 0;
  let done = false;
  let closed = false;
  const close = async () => {
    if (closed || done) return;
    closed = true;
    await it.return?.();
  };
  try {
    while (have < n) {
      const r = await it.next();
      if (r.done) {
        done = true;
        break;
      }
      abytes('chunk', r.value);
      head.push(r.value);
      have += r.value.length;
    }
  } catch (err) {
    await close();
    throw err;
  }
  const prefix = new Uint8Array(have);
  let off = 0;
  for (const c of head) {
    prefix.set(c, off);
    off += c.length;
  }
  async function* stream(): AsyncGenerator<Uint8Array> {
    try {
      yield* head;
      if (done) return;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
      done = true;
    } finally {
      await close();
    }
  }
  return { prefix, stream: stream(), close };
}

function capError(cap: number): LimitExceededError {
  return new LimitExceededError(`plaintext exceeds the cap of ${cap} bytes`);
}

/**
 * Largest legacy text that can hold `cap` plaintext bytes (FORMAT.md §2.3): its base64
 * characters, up to two line-break bytes per 64 of them (wrapped text, §3.3), and a
 * little trailing whitespace.
 */
function legacyTextCap(cap: number): number {
  const chars = 4 * Math.ceil((cap + NOAH_V1_OVERHEAD) / 3);
  return chars + 2 * Math.ceil(chars / 64) + 64;
}

/**
 * Decrypts a binary noah-v1 blob (FORMAT.md §4.4) with each candidate text: only
 * noah-v1 has a binary form, so seed-v0 is never tried.
 */
async function openBinaryNoahV1(
  blob: Uint8Array,
  seedphrases: readonly string[],
): Promise<Uint8Array> {
  splitNoahV1(blob); // too short: "not a backup" before any key is derived
  for (const seedphrase of seedphrases) {
    try {
      return await openNoahV1Blob(blob, seedphrase);
    } catch (err) {
      if (!(err instanceof DecryptionError)) throw err;
    }
  }
  throw new DecryptionError();
}

/**
 * Decrypts a decoded legacy blob with each candidate text in turn (FORMAT.md §3.1: the
 * canonical phrase, then the text as given), each by the §2.2 rule: a first byte of
 * 0x01 means noah-v1 first, then seed-v0 on authentication failure; anything else,
 * seed-v0 only.
 */
async function openLegacy(
  blob: Uint8Array,
  seedphrases: readonly string[],
  cap: number,
): Promise<{ format: BackupFormat; plaintext: Uint8Array }> {
  const noahV1 = blob[0] === NOAH_V1_VERSION && blob.length >= NOAH_V1_OVERHEAD;
  if (noahV1 && blob.length - NOAH_V1_OVERHEAD > cap) throw capError(cap);
  for (const seedphrase of seedphrases) {
    if (noahV1) {
      try {
        return { format: 'noah-v1', plaintext: await openNoahV1Blob(blob, seedphrase) };
      } catch (err) {
        if (!(err instanceof DecryptionError)) throw err;
      }
    }
    if (blob.length - SEED_V0_OVERHEAD > cap) throw capError(cap);
    try {
      return { format: 'seed-v0', plaintext: await openSeedV0Blob(blob, seedphrase) };
    } catch (err) {
      if (!(err instanceof DecryptionError)) throw err;
    }
  }
  // Every attempt failing is one DecryptionError: the reader never says which failed.
  throw new DecryptionError();
}

/**
 * Opens a backup of any format (FORMAT.md §2). v2: the header MAC is verified now and the
 * plaintext streams, checked chunk by chunk. Legacy: the whole text is read (up to a cap),
 * decrypted and authenticated now, then yielded.
 *
 * @param source - the backup file, in chunks of any size
 * @param opts - keyring, and maxPlaintextBytes
 * @returns `{ format, header (v2 only), plaintext }`
 * @throws NotABackupError (unknown format, invalid base64, too short);
 *   UnsupportedVersionError; UnsupportedPayloadKindError (an incremental backup's
 *   manifest or pack, or a payload kind this version does not know: made by a newer
 *   client); DecryptionError (wrong seedphrase, tampering, truncation);
 *   LimitExceededError (legacy plaintext over the cap; v2: from the stream);
 *   InvalidMnemonicError (v2 with a seedphrase that is not BIP39)
 * @example
 * ```ts
 * const { format, header, plaintext } = await openBackup(download, { keyring });
 * for await (const chunk of plaintext) await tmp.write(chunk);
 * ```
 */
export async function openBackup(
  source: AsyncIterable<Uint8Array>,
  opts: OpenBackupOptions,
): Promise<OpenedBackup> {
  if (source == null || typeof source[Symbol.asyncIterator] !== 'function')
    throw new TypeError('source must be an AsyncIterable<Uint8Array>');
  checkKeyring(opts?.keyring);
  if (opts.maxPlaintextBytes !== undefined) aint('maxPlaintextBytes', opts.maxPlaintextBytes, 0);
  const { keyring, maxPlaintextBytes } = opts;
  const { prefix, stream, close } = await peek(source, DETECT_PREFIX_BYTES);
  try {
    if (detectFormat(prefix) === 'v2') {
      const { header, plaintext } = await openV2(stream, {
        key: keyring.v2Key(),
        maxPlaintextBytes,
      });
      // FORMAT.md §8.1: one object is not a whole incremental backup.
      if (!isOneObject(header)) {
        await plaintext.return(undefined);
        throw new UnsupportedPayloadKindError(header.payloadKind);
      }
      return { format: 'v2', header, plaintext };
    }
    const cap = maxPlaintextBytes ?? LEGACY_DEFAULT_MAX_PLAINTEXT;
    if (isBinaryNoahV1(prefix)) {
      // FORMAT.md §2.3: a binary blob over the cap is refused before reading it all.
      const blob = await collect(stream, cap + NOAH_V1_OVERHEAD).catch((err: unknown) => {
        throw err instanceof LimitExceededError ? capError(cap) : err;
      });
      const plaintext = await openBinaryNoahV1(blob, keyring.legacySeedphrases);
      return { format: 'noah-v1', plaintext: fromBytes(plaintext) };
    }
    const text = await collect(stream, legacyTextCap(cap)).catch((err: unknown) => {
      throw err instanceof LimitExceededError ? capError(cap) : err;
    });
    const opened = await openLegacy(decodeLegacyText(text), keyring.legacySeedphrases, cap);
    return { format: opened.format, plaintext: fromBytes(opened.plaintext) };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * One-shot {@link encryptBackup} over a buffer.
 *
 * @param plaintext - the payload
 * @param opts - as for {@link encryptBackup}
 * @returns the whole backup file
 * @throws as {@link encryptBackup}
 * @example
 * ```ts
 * const file = await encryptBackupBytes(data, { keyring, createdAt: clock.now(), sequence: 1 });
 * ```
 */
export function encryptBackupBytes(
  plaintext: Uint8Array,
  opts: EncryptBackupOptions,
): Promise<Uint8Array> {
  abytes('plaintext', plaintext);
  return collect(encryptBackup(fromBytes(plaintext), opts));
}

/**
 * One-shot {@link openBackup} over a buffer.
 *
 * @param data - the whole backup file
 * @param opts - as for {@link openBackup}
 * @returns the format, the v2 header if any, and the whole plaintext
 * @throws as {@link openBackup} and its stream
 * @example
 * ```ts
 * const { format, plaintext } = await decryptBackupBytes(file, { keyring });
 * ```
 */
export async function decryptBackupBytes(
  data: Uint8Array,
  opts: OpenBackupOptions,
): Promise<{ format: BackupFormat; header?: BackupHeader; plaintext: Uint8Array }> {
  abytes('data', data);
  const opened = await openBackup(fromBytes(data), opts);
  const plaintext = await collect(opened.plaintext);
  return opened.header
    ? { format: opened.format, header: opened.header, plaintext }
    : { format: opened.format, plaintext };
}

/** What {@link inspectBackup} reports about a v2 file. Nothing in it is authenticated. */
export interface V2Info {
  format: 'v2';
  /** The header as stored; not authenticated without the key. */
  header: V2Header;
  /** The file's size. */
  fileLength: number;
  /** Stored payload bytes (compressed, if the header says so), or null if the size is not a valid v2 size. */
  payloadLength: number | null;
}

/** What {@link inspectBackup} reports: v2 header fields, or legacy sizes. */
export type BackupInfo = V2Info | LegacyInfo;

/**
 * Describes a backup without any secret: the v2 header (unauthenticated) and sizes, or a
 * legacy blob's sizes and candidate formats.
 *
 * @param bytes - the whole backup file
 * @returns a {@link BackupInfo}
 * @throws NotABackupError (unknown format, malformed v2 header, invalid base64, too
 *   short); UnsupportedVersionError; TypeError if not a Uint8Array
 * @example
 * ```ts
 * const info = inspectBackup(file);
 * if (info.format === 'v2') console.log(info.header.createdAt, info.header.sequence);
 * ```
 */
export function inspectBackup(bytes: Uint8Array): BackupInfo {
  abytes('bytes', bytes);
  if (detectFormat(bytes) !== 'v2') return inspectLegacy(bytes);
  let payloadLength: number | null = null;
  try {
    payloadLength = v2PayloadSize(bytes.length);
  } catch {
    payloadLength = null;
  }
  return { format: 'v2', header: parseV2Header(bytes), fileLength: bytes.length, payloadLength };
}
