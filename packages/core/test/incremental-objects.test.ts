/**
 * Pack and manifest objects (FORMAT.md §8.1, §8.2, §8.7): written through the v2 writer
 * with the right payload kind, measured as they stream, and opened with every check
 * against the manifest's record of them.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../src/bytes.ts';
import {
  DecryptionError,
  LimitExceededError,
  MalformedManifestError,
  UnsupportedPayloadKindError,
} from '../src/errors.ts';
import { encodeManifest, writeManifestFields } from '../src/incremental/manifest.ts';
import {
  encryptManifest,
  encryptPack,
  openManifest,
  openPack,
  readManifest,
} from '../src/incremental/objects.ts';
import type { ManifestPack } from '../src/incremental/types.ts';
import { openBackup } from '../src/format.ts';
import { createKeyring } from '../src/keys.ts';
import { collect, fromBytes } from '../src/stream.ts';
import { encryptV2Bytes, openV2, parseV2Header } from '../src/v2/index.ts';
import { sampleManifest } from './incremental-helpers.ts';
import { CREATED_AT, drain, fixedRandom, KEY, OTHER_KEY, payload } from './v2-helpers.ts';

const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const opts = { key: KEY, createdAt: CREATED_AT, sequence: 42n, random: fixedRandom(3) };

async function writePack(plain: Uint8Array, extra: object = {}) {
  const sealed = encryptPack(fromBytes(plain, 5000), { ...opts, ...extra });
  expect(() => sealed.summary()).toThrow(/not been written to the end/);
  const bytes = await collect(sealed.stream);
  const summary = sealed.summary();
  const record: ManifestPack = { key: 'b/p', ...summary };
  return { bytes, summary, record };
}

describe('packs', () => {
  it('are v2 files of payload kind pack whose summary is size, SHA-256, plaintext size', async () => {
    for (const compression of ['deflate', 'zstd', undefined] as const) {
      const plain = payload(700_000, 2);
      const extra = compression ? { compression } : { compress: false };
      const { bytes, summary, record } = await writePack(plain, extra);
      expect(summary).toEqual({ size: bytes.length, sha256: sha(bytes), plainSize: 700_000 });
      const header = parseV2Header(bytes);
      expect(header.payloadKind).toBe('pack');
      expect(header.sequence).toBe(42n);
      const { plaintext } = await openPack(fromBytes(bytes, 3001), { key: KEY, pack: record });
      expect(Buffer.compare(await collect(plaintext), plain)).toBe(0);
    }
  });

  it('an empty pack has a summary too', async () => {
    const { summary } = await writePack(new Uint8Array(0), { compress: false });
    expect(summary.size).toBe(108);
    expect(summary.plainSize).toBe(0);
  });

  it('open only as the manifest records them: any mismatch is the opaque error', async () => {
    const plain = payload(300_000, 5);
    const { bytes, record } = await writePack(plain, { compression: 'zstd' });
    const other = await writePack(payload(300_000, 6), { compression: 'zstd' });
    const cases: [string, Uint8Array, ManifestPack][] = [
      ['another genuine pack', other.bytes, record],
      ['a record of another size', bytes, { ...record, size: record.size - 1 }],
      ['a longer object than recorded', concatBytes(bytes, new Uint8Array(1)), record],
      ['a shorter object than recorded', bytes, { ...record, size: record.size + 16 }],
      ['another hash', bytes, { ...record, sha256: sha(other.bytes) }],
      ['less plaintext than recorded', bytes, { ...record, plainSize: record.plainSize + 1 }],
      ['more plaintext than recorded', bytes, { ...record, plainSize: record.plainSize - 1 }],
    ];
    for (const [what, object, pack] of cases) {
      const r = await openPack(fromBytes(object, 4096), { key: KEY, pack })
        .then((o) => drain(o.plaintext))
        .catch((error: unknown) => ({ error }));
      expect(r.error, what).toBeInstanceOf(DecryptionError);
    }
    await expect(openPack(fromBytes(bytes), { key: OTHER_KEY, pack: record })).rejects.toThrow(
      DecryptionError,
    );
  });

  it('a manifest object in a pack’s place is refused', async () => {
    const { bytes } = await encryptManifest(sampleManifest(), opts);
    const pack = { key: 'b/p', size: bytes.length, sha256: sha(bytes), plainSize: 10_000 };
    await expect(openPack(fromBytes(bytes), { key: KEY, pack })).rejects.toThrow(DecryptionError);
  });

  it('abandoning the plaintext unread closes the download', async () => {
    const { bytes, record } = await writePack(payload(600_000, 1), { compress: false });
    let closed = false;
    async function* source() {
      try {
        yield* fromBytes(bytes, 65536);
      } finally {
        closed = true;
      }
    }
    const { plaintext } = await openPack(source(), { key: KEY, pack: record });
    await plaintext.return(undefined);
    expect(closed).toBe(true);
  });
});

describe('manifests', () => {
  it('round-trip through a v2 file of payload kind manifest, with their hash', async () => {
    const m = sampleManifest();
    const { bytes, sha256 } = await encryptManifest(m, { ...opts, compression: 'zstd' });
    expect(sha256).toEqual(sha(bytes));
    expect(parseV2Header(bytes).payloadKind).toBe('manifest');
    const opened = await openManifest(fromBytes(bytes, 100), { key: KEY });
    expect(opened.manifest).toEqual(m);
    expect(opened.encoded).toEqual(encodeManifest(m)); // the plaintext it was decoded from
    expect(opened.header.sequence).toBe(42n);
    expect(opened.header.createdAt).toEqual(CREATED_AT);
    expect(opened.size).toBe(bytes.length);
    expect(opened.sha256).toEqual(sha256);
    // Opened with openV2 first (a reader deciding by the header), then read.
    const v2 = await openV2(fromBytes(bytes), { key: KEY });
    expect(await readManifest(v2)).toEqual(m);
    // A one-object reader says: made by a newer client.
    const keyring = await createKeyring(
      'legal winner thank year wave sausage worth useful legal winner thank yellow',
    );
    const { bytes: mine } = await encryptManifest(m, { ...opts, key: keyring.v2Key() });
    await expect(openBackup(fromBytes(mine), { keyring })).rejects.toThrow(
      UnsupportedPayloadKindError,
    );
    keyring.destroy();
  });

  it('the encoder refuses a broken manifest before encrypting anything', async () => {
    const m = sampleManifest();
    m.packs.push(m.packs[0]!);
    await expect(encryptManifest(m, opts)).rejects.toThrow(/key listed twice/);
  });

  it('another payload kind, a malformed plaintext, or one over 64 MiB are refused', async () => {
    const tar = await encryptV2Bytes(new Uint8Array(10), { ...opts, payloadKind: 'tar' });
    await expect(openManifest(fromBytes(tar), { key: KEY })).rejects.toThrow(
      MalformedManifestError,
    );
    const bad = writeManifestFields({ ...sampleManifest(), packs: [] });
    const file = await encryptV2Bytes(bad, { ...opts, payloadKind: 'manifest' });
    await expect(openManifest(fromBytes(file), { key: KEY })).rejects.toThrow(
      /malformed: entry 0: pack index out of range/,
    );
    const huge = await encryptV2Bytes(new Uint8Array(64 * 2 ** 20 + 1), {
      ...opts,
      payloadKind: 'manifest',
      compression: 'zstd',
    });
    expect(huge.length).toBeLessThan(2 ** 20);
    await expect(openManifest(fromBytes(huge), { key: KEY })).rejects.toThrow(LimitExceededError);
  });
});
