import { beforeAll, describe, expect, it } from 'vitest';
import { bytesToUtf8, utf8ToBytes } from '../src/bytes.ts';
import {
  DecryptionError,
  InvalidMnemonicError,
  LimitExceededError,
  NotABackupError,
} from '../src/errors.ts';
import {
  type BackupFormat,
  decryptBackupBytes,
  detectFormat,
  encryptBackup,
  encryptBackupBytes,
  inspectBackup,
  openBackup,
} from '../src/format.ts';
import { createKeyring, type Keyring } from '../src/keys.ts';
import { decryptSeedV0, encryptSeedV0 } from '../src/legacy.ts';
import { collect } from '../src/stream.ts';
import { V2_MAGIC } from '../src/v2/index.ts';

const MNEMONIC = 'legal winner thank year wave sausage worth useful legal winner thank yellow';
const CREATED = new Date('2026-03-01T04:00:00.123Z');
let keyring: Keyring;
let other: Keyring;

beforeAll(async () => {
  keyring = await createKeyring(`  ${MNEMONIC}\n`);
  other = await createKeyring(
    'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
  );
});

function pattern(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 251 + (i >> 9)) & 0xff;
  return out;
}

/** A stream of `bytes` in pieces of `size`, recording whether it was closed early. */
function tracked(bytes: Uint8Array, size: number) {
  const state = { closed: false, pulled: 0 };
  async function* gen() {
    try {
      for (let i = 0; i < bytes.length; i += size) {
        state.pulled += 1;
        yield bytes.slice(i, i + size);
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, stream: gen() };
}

/** A RandomBytes returning the given bytes for each call, in order. */
function fixedRandom(...chunks: Uint8Array[]) {
  const queue = [...chunks];
  return (n: number) => {
    const next = queue.shift();
    if (!next || next.length !== n) throw new Error(`unexpected random(${n})`);
    return Uint8Array.from(next);
  };
}

const withIv = (first: number) => Uint8Array.of(first, ...pattern(11));

describe('detectFormat (FORMAT.md §2.1)', () => {
  it('recognises v2 by its magic', () => {
    expect(detectFormat(Uint8Array.of(...V2_MAGIC, 2, 0, 0))).toBe('v2');
  });

  it('says seed-v0 when the first decoded byte is not 0x01, legacy when it is', async () => {
    const v0 = await encryptSeedV0(pattern(5), 'p', { random: fixedRandom(withIv(0x02)) });
    expect(detectFormat(v0.subarray(0, 8))).toBe('seed-v0');
    const amb = await encryptSeedV0(pattern(5), 'p', { random: fixedRandom(withIv(0x01)) });
    expect(detectFormat(amb.subarray(0, 8))).toBe('legacy');
    expect(detectFormat(utf8ToBytes('AQ'))).toBe('legacy');
  });

  it('rejects anything else as not a backup', () => {
    const bad = [
      new Uint8Array(0),
      utf8ToBytes('\n\n'),
      Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
      V2_MAGIC.subarray(0, 7),
      utf8ToBytes('{"a":1}'),
      utf8ToBytes('PK\u0003\u0004'),
      utf8ToBytes('AB=='),
    ];
    for (const b of bad) expect(() => detectFormat(b), String(b)).toThrow(NotABackupError);
  });
});

describe('encryptBackup / openBackup round trips', () => {
  const cases: [BackupFormat, number[]][] = [
    ['v2', [0, 1, 65_536, 200_001]],
    ['seed-v0', [0, 1, 100_000]],
    ['noah-v1', [300]],
  ];
  for (const [format, sizes] of cases) {
    for (const n of sizes) {
      it(`${format}, ${n} bytes, read back in odd-sized pieces`, async () => {
        const file = await encryptBackupBytes(pattern(n), {
          format,
          keyring,
          createdAt: CREATED,
          sequence: 42n,
          payloadKind: 'tar',
        });
        if (format !== 'v2') expect(detectFormat(file)).not.toBe('v2');
        // Tiny pieces exercise format detection across chunk borders; then larger ones.
        const { stream } = tracked(file, file.length < 2000 ? 3 : 1021);
        const opened = await openBackup(stream, { keyring });
        expect(opened.format).toBe(format);
        expect(await collect(opened.plaintext)).toEqual(pattern(n));
        if (format === 'v2') {
          expect(opened.header?.createdAt).toEqual(CREATED);
          expect(opened.header?.sequence).toBe(42n);
          expect(opened.header?.payloadKind).toBe('tar');
        } else expect(opened.header).toBeUndefined();
      });
    }
  }

  it('defaults to v2, compressed', async () => {
    const data = new Uint8Array(100_000).fill(0x61);
    const file = await encryptBackupBytes(data, { keyring, createdAt: CREATED, sequence: 1 });
    expect(detectFormat(file)).toBe('v2');
    expect(file.length).toBeLessThan(data.length / 10);
    const out = await decryptBackupBytes(file, { keyring });
    expect(out.format).toBe('v2');
    expect(out.header?.compression).toBe('deflate');
    expect(out.plaintext).toEqual(data);
  });

  it('writes legacy text that the legacy module reads with the trimmed seedphrase', async () => {
    const file = await encryptBackupBytes(pattern(50), {
      format: 'seed-v0',
      keyring,
      createdAt: CREATED,
    });
    expect(bytesToUtf8(file)).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(await decryptSeedV0(file, MNEMONIC)).toEqual(pattern(50));
  });

  it('encrypts legacy formats for a seedphrase that is not BIP39; v2 refuses it', async () => {
    const odd = await createKeyring('my old passphrase, not BIP39');
    const file = await encryptBackupBytes(pattern(9), {
      format: 'seed-v0',
      keyring: odd,
      createdAt: CREATED,
    });
    expect((await decryptBackupBytes(file, { keyring: odd })).plaintext).toEqual(pattern(9));
    expect(() =>
      encryptBackup(tracked(pattern(1), 1).stream, {
        keyring: odd,
        createdAt: CREATED,
        sequence: 1,
      }),
    ).toThrow(InvalidMnemonicError);
  });
});

describe('legacy ambiguity (FORMAT.md §2.2)', () => {
  it('opens a seed-v0 file whose IV starts with 0x01 after noah-v1 fails', async () => {
    const file = await encryptBackupBytes(pattern(64), {
      format: 'seed-v0',
      keyring,
      createdAt: CREATED,
      random: fixedRandom(withIv(0x01)),
    });
    expect(inspectBackup(file).format).toBe('legacy');
    const out = await decryptBackupBytes(file, { keyring });
    expect(out.format).toBe('seed-v0');
    expect(out.plaintext).toEqual(pattern(64));
  });

  it('gives one DecryptionError when both attempts fail', async () => {
    const file = await encryptBackupBytes(pattern(64), {
      format: 'seed-v0',
      keyring,
      createdAt: CREATED,
      random: fixedRandom(withIv(0x01)),
    });
    const err = await decryptBackupBytes(file, { keyring: other }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecryptionError);
    expect((err as Error).message).toBe(new DecryptionError().message);
  });

  it('opens noah-v1 as noah-v1 and rejects it under another seedphrase', async () => {
    const file = await encryptBackupBytes(pattern(10), {
      format: 'noah-v1',
      keyring,
      createdAt: CREATED,
    });
    expect(inspectBackup(file)).toMatchObject({ format: 'legacy', decodedLength: 55 });
    await expect(decryptBackupBytes(file, { keyring: other })).rejects.toThrow(DecryptionError);
  });
});

describe('openBackup errors, caps and source handling', () => {
  it('rejects a v2 file under another seedphrase', async () => {
    const file = await encryptBackupBytes(pattern(10), {
      keyring,
      createdAt: CREATED,
      sequence: 0,
    });
    await expect(decryptBackupBytes(file, { keyring: other })).rejects.toThrow(DecryptionError);
  });

  it('reports invalid base64 as not a backup and closes the source', async () => {
    const text = utf8ToBytes('QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\nQUJD\n');
    const t = tracked(text, 5);
    const err = await openBackup(t.stream, { keyring }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotABackupError);
    expect((err as Error).message).toBe('not a backup: invalid base64');
    const junk = tracked(new Uint8Array(1000).fill(0xfe), 10);
    await expect(openBackup(junk.stream, { keyring })).rejects.toThrow(NotABackupError);
    expect(junk.state.closed).toBe(true);
    expect(junk.state.pulled).toBe(1);
  });

  it('caps legacy plaintext before decrypting, and stops reading an oversized text', async () => {
    for (const format of ['seed-v0', 'noah-v1'] as const) {
      const file = await encryptBackupBytes(pattern(11), {
        format,
        keyring,
        createdAt: CREATED,
        random: format === 'seed-v0' ? fixedRandom(withIv(0x01)) : undefined,
      });
      await expect(decryptBackupBytes(file, { keyring, maxPlaintextBytes: 10 })).rejects.toThrow(
        LimitExceededError,
      );
    }
    const ok = await encryptBackupBytes(pattern(10), {
      format: 'seed-v0',
      keyring,
      createdAt: CREATED,
    });
    expect((await decryptBackupBytes(ok, { keyring, maxPlaintextBytes: 10 })).plaintext).toEqual(
      pattern(10),
    );
    const huge = tracked(new Uint8Array(1 << 20).fill(0x41), 1024);
    await expect(openBackup(huge.stream, { keyring, maxPlaintextBytes: 100 })).rejects.toThrow(
      LimitExceededError,
    );
    expect(huge.state.closed).toBe(true);
    expect(huge.state.pulled).toBeLessThan(10);
  });

  it('caps v2 plaintext in the stream', async () => {
    const file = await encryptBackupBytes(pattern(5000), {
      keyring,
      createdAt: CREATED,
      sequence: 3,
    });
    const opened = await openBackup(tracked(file, 4096).stream, {
      keyring,
      maxPlaintextBytes: 4000,
    });
    await expect(collect(opened.plaintext)).rejects.toThrow(LimitExceededError);
  });

  it('validates options', async () => {
    const src = () => tracked(pattern(1), 1).stream;
    expect(() => encryptBackup(src(), { keyring, createdAt: CREATED })).toThrow(/sequence/);
    expect(() =>
      encryptBackup(src(), { keyring, createdAt: CREATED, format: 'seed-v0', compress: true }),
    ).toThrow(RangeError);
    expect(() =>
      encryptBackup(src(), { keyring, createdAt: CREATED, format: 'v3' as BackupFormat }),
    ).toThrow(RangeError);
    expect(() =>
      encryptBackup(src(), { keyring: {} as Keyring, createdAt: CREATED, sequence: 1 }),
    ).toThrow(TypeError);
    expect(() =>
      encryptBackup(src(), { keyring, createdAt: 5 as unknown as Date, sequence: 1 }),
    ).toThrow(TypeError);
    await expect(openBackup(src(), { keyring, maxPlaintextBytes: -1 })).rejects.toThrow(RangeError);
    await expect(
      openBackup('abc' as unknown as AsyncIterable<Uint8Array>, { keyring }),
    ).rejects.toThrow(TypeError);
  });
});

describe('inspectBackup', () => {
  it('reports the v2 header and sizes without a key', async () => {
    const file = await encryptBackupBytes(pattern(70_000), {
      keyring,
      createdAt: CREATED,
      sequence: 9n,
      compress: false,
      payloadKind: 'zip',
    });
    const info = inspectBackup(file);
    if (info.format !== 'v2') throw new Error('expected v2');
    expect(info.header).toMatchObject({ sequence: 9n, payloadKind: 'zip', compression: 'none' });
    expect(info.header.createdAt).toEqual(CREATED);
    expect(info.fileLength).toBe(file.length);
    expect(info.payloadLength).toBe(70_000);
    expect(inspectBackup(file.subarray(0, file.length - 1)).format).toBe('v2');
  });

  it('reports legacy sizes and rejects junk', async () => {
    const file = await encryptSeedV0(pattern(30), MNEMONIC, { random: fixedRandom(withIv(7)) });
    expect(inspectBackup(file)).toMatchObject({
      format: 'seed-v0',
      candidates: ['seed-v0'],
      seedV0: { ciphertextLength: 30 },
      noahV1: null,
    });
    expect(() => inspectBackup(utf8ToBytes('hello, world'))).toThrow(NotABackupError);
    expect(() => inspectBackup(V2_MAGIC)).toThrow(NotABackupError);
  });
});
