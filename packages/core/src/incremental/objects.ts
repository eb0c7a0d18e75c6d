/**
 * The objects of an incremental backup (FORMAT.md §8.1, §8.2): packs and the manifest,
 * each a complete v2 file of its own payload kind, written and opened through the v2
 * code. Writers measure what the manifest records about each pack (ciphertext size and
 * SHA-256, plaintext size) as the bytes stream; readers check all three against it.
 * @module
 */
import { platform } from '#platform';
import { abytes, equalBytes } from '../bytes.ts';
import { DecryptionError, LimitExceededError, MalformedManifestError } from '../errors.ts';
import { collect } from '../stream.ts';
import { type EncryptV2Options, encryptV2, encryptV2Bytes, openV2 } from '../v2/index.ts';
import type { OpenedV2 } from '../v2/decrypt.ts';
import type { V2Header } from '../v2/header.ts';
import { decodeManifest, encodeManifest } from './manifest.ts';
import { type Manifest, type ManifestPack, MAX_MANIFEST_BYTES } from './types.ts';

/** Options of the writers: those of `encryptV2`, whose payload kind they set themselves. */
export type ObjectWriteOptions = Omit<EncryptV2Options, 'payloadKind'>;

/** What the manifest records about a written object (FORMAT.md §8.4 `pack`). */
export interface ObjectSummary {
  /** Bytes of the encrypted object. */
  size: number;
  /** SHA-256 of the encrypted object, 32 bytes. */
  sha256: Uint8Array;
  /** Bytes of its plaintext. */
  plainSize: number;
}

/** An object being written: its bytes, then what they were. */
export interface SealedObject {
  /** The encrypted object; drain it once, to the end. */
  stream: AsyncGenerator<Uint8Array>;
  /**
   * Size and SHA-256 of the object and its plaintext size.
   * @throws Error until `stream` has ended
   */
  summary(): ObjectSummary;
}

/** Passes a stream through, counting its bytes and hashing them (SHA-256). */
function measured(source: AsyncIterable<Uint8Array>, maxBytes = Number.POSITIVE_INFINITY) {
  const hash = platform.sha256();
  let size = 0;
  let digest: Uint8Array | undefined;
  async function* stream(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      abytes('chunk', chunk);
      size += chunk.length;
      // More bytes than the manifest says: not the object it lists (stop reading now).
      if (size > maxBytes) throw new DecryptionError();
      hash.update(chunk);
      yield chunk;
    }
    digest = hash.digest();
  }
  return { stream: stream(), result: () => (digest ? { size, sha256: digest } : undefined) };
}

/**
 * Passes a stream through, counting its bytes: the manifest records a pack's plaintext
 * size only (FORMAT.md §8.4), so its plaintext is not hashed.
 */
function counted(source: AsyncIterable<Uint8Array>) {
  let size = 0;
  let ended = false;
  async function* stream(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      abytes('chunk', chunk);
      size += chunk.length;
      yield chunk;
    }
    ended = true;
  }
  return { stream: stream(), result: () => (ended ? { size } : undefined) };
}

/**
 * Encrypts a pack (FORMAT.md §8.2): page images and file contents, concatenated, as a v2
 * file of payload kind `pack`. The bytes stream in constant memory; once drained,
 * `summary()` gives what the manifest records about the pack.
 * @param source - the pack's plaintext, in chunks of any size
 * @param opts - as `encryptV2` (key, createdAt and sequence of the backup writing it,
 *   compression…) without `payloadKind`
 * @returns `{ stream, summary }`
 * @throws TypeError / RangeError for bad options (at call time); whatever `source` throws
 * @example
 * ```ts
 * const pack = encryptPack(pages, { key: keyring.v2Key(), createdAt, sequence, compression: 'zstd' });
 * await upload(pack.stream);
 * const { size, sha256, plainSize } = pack.summary();
 * ```
 */
export function encryptPack(
  source: AsyncIterable<Uint8Array>,
  opts: ObjectWriteOptions,
): SealedObject {
  if (source == null || typeof source[Symbol.asyncIterator] !== 'function')
    throw new TypeError('source must be an AsyncIterable<Uint8Array>');
  const plain = counted(source);
  const sealed = measured(encryptV2(plain.stream, { ...opts, payloadKind: 'pack' }));
  return {
    stream: sealed.stream,
    summary() {
      const p = plain.result();
      const s = sealed.result();
      if (!p || !s) throw new Error('the pack has not been written to the end');
      return { size: s.size, sha256: s.sha256, plainSize: p.size };
    },
  };
}

/**
 * Encodes and encrypts a manifest (FORMAT.md §8.1, §8.4) as a v2 file of payload kind
 * `manifest`, carrying the backup's created_at and sequence.
 * @param manifest - checked against every rule of FORMAT.md §8.6
 * @param opts - as `encryptV2` without `payloadKind`
 * @returns the object's bytes and its SHA-256 (which the device cache records)
 * @throws RangeError for a manifest that breaks a rule, or bad options
 * @example
 * ```ts
 * const { bytes, sha256 } = await encryptManifest(next, { key, createdAt, sequence });
 * ```
 */
export async function encryptManifest(
  manifest: Manifest,
  opts: ObjectWriteOptions,
): Promise<{ bytes: Uint8Array; sha256: Uint8Array }> {
  const plaintext = encodeManifest(manifest);
  const bytes = await encryptV2Bytes(plaintext, { ...opts, payloadKind: 'manifest' });
  return { bytes, sha256: platform.sha256().update(bytes).digest() };
}

/**
 * Reads and decodes the plaintext of an opened manifest object, for a reader that opened
 * a slot's object with `openV2` and found payload kind `manifest` in its header.
 * @param opened - from `openV2` (with the default cap or one of at least 64 MiB)
 * @returns the manifest
 * @throws MalformedManifestError (another payload kind, or a rule of FORMAT.md §8.6
 *   broken); UnsupportedVersionError (another manifest version); LimitExceededError
 *   (over 64 MiB); what the plaintext stream throws (DecryptionError…)
 * @example
 * ```ts
 * const opened = await openV2(download, { key });
 * if (opened.header.payloadKind === 'manifest') manifest = await readManifest(opened);
 * ```
 */
export async function readManifest(opened: OpenedV2): Promise<Manifest> {
  return decodeManifest(await readManifestBytes(opened));
}

/** The plaintext of an opened manifest object, not yet decoded (see {@link readManifest}). */
async function readManifestBytes(opened: OpenedV2): Promise<Uint8Array> {
  const kind = opened.header.payloadKind;
  if (kind !== 'manifest') {
    await opened.plaintext.return(undefined);
    throw new MalformedManifestError(`the object is a ${kind} payload, not a manifest`);
  }
  return collect(opened.plaintext, MAX_MANIFEST_BYTES).catch((err: unknown) => {
    if (err instanceof LimitExceededError)
      throw new LimitExceededError(`manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
    throw err;
  });
}

/**
 * Opens a manifest object: `openV2`, then {@link readManifest}; also hashes the object.
 * @param source - the manifest object, in chunks of any size
 * @param opts - `key`: the v2 root key
 * @returns the authenticated header (the backup's created_at and sequence), the
 *   manifest and its encoding (the plaintext it was decoded from), and the object's
 *   size and SHA-256
 * @throws as `openV2` and {@link readManifest}
 * @example
 * ```ts
 * const { header, manifest, sha256 } = await openManifest(download, { key: keyring.v2Key() });
 * ```
 */
export async function openManifest(
  source: AsyncIterable<Uint8Array>,
  opts: { key: Uint8Array },
): Promise<{
  header: V2Header;
  manifest: Manifest;
  encoded: Uint8Array;
  size: number;
  sha256: Uint8Array;
}> {
  const meter = measured(source);
  const opened = await openV2(meter.stream, {
    key: opts?.key,
    maxPlaintextBytes: MAX_MANIFEST_BYTES,
  });
  const encoded = await readManifestBytes(opened);
  const manifest = decodeManifest(encoded);
  const m = meter.result();
  // openV2 reads its source to the end before its stream ends: the result is there.
  if (!m) throw new Error('manifest object not read to the end');
  return { header: opened.header, manifest, encoded, size: m.size, sha256: m.sha256 };
}

/**
 * Opens a pack the manifest lists (FORMAT.md §8.7): the v2 header MAC first, then the
 * plaintext, chunk by chunk as each verifies. The stream also checks the object against
 * the manifest's record: payload kind `pack`, never more bytes than `size` nor more
 * plaintext than `plainSize`, and at the end exactly `size` bytes with that SHA-256 and
 * exactly `plainSize` bytes of plaintext. Treat what it yields as provisional until it
 * has ended without error (another genuine pack of the same seedphrase decrypts, and is
 * caught only at the end).
 * @param source - the pack object, in chunks of any size
 * @param opts - `key` (the v2 root key), `pack` (the manifest's record of it), and
 *   `transient` (as for `openV2`)
 * @returns the authenticated header and the plaintext stream
 * @throws DecryptionError for every mismatch (wrong kind, size, hash, plaintext size),
 *   as for tampering; what `openV2` throws
 * @example
 * ```ts
 * const { plaintext } = await openPack(download, { key, pack: manifest.packs[i] });
 * for await (const chunk of plaintext) place(chunk);
 * ```
 */
export async function openPack(
  source: AsyncIterable<Uint8Array>,
  opts: { key: Uint8Array; pack: ManifestPack; transient?: boolean },
): Promise<OpenedV2> {
  const pack = opts?.pack;
  if (typeof pack?.size !== 'number' || typeof pack.plainSize !== 'number')
    throw new TypeError('pack must be a ManifestPack');
  abytes('pack.sha256', pack.sha256, 32);
  const meter = measured(source, pack.size);
  const opened = await openV2(meter.stream, {
    key: opts.key,
    maxPlaintextBytes: pack.plainSize,
    transient: opts.transient === true,
  });
  if (opened.header.payloadKind !== 'pack') {
    await opened.plaintext.return(undefined);
    throw new DecryptionError(); // another object of this seedphrase, in the pack's place
  }
  async function* checked(): AsyncGenerator<Uint8Array> {
    let n = 0;
    try {
      for await (const chunk of opened.plaintext) {
        n += chunk.length;
        yield chunk;
      }
    } catch (err) {
      throw err instanceof LimitExceededError ? new DecryptionError() : err;
    }
    const m = meter.result();
    if (!m || m.size !== pack.size || !equalBytes(m.sha256, pack.sha256) || n !== pack.plainSize)
      throw new DecryptionError();
  }
  const plaintext = checked();
  // As openV2: abandoning the stream unread must still close the source under it.
  const end = plaintext.return.bind(plaintext);
  plaintext.return = async (value) => {
    try {
      return await end(value);
    } finally {
      await opened.plaintext.return(undefined);
    }
  };
  return { header: opened.header, plaintext };
}
