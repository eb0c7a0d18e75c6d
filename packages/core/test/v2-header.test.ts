import { createCipheriv, createHmac, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../src/bytes.ts';
import { NotABackupError, UnsupportedVersionError } from '../src/errors.ts';
import { fromBytes } from '../src/stream.ts';
import {
  decryptV2Bytes,
  encryptV2,
  encryptV2Bytes,
  isV2,
  openV2,
  parseV2Header,
  V2_CHUNK_SIZE,
  V2_HEADER_LENGTH,
  V2_MAGIC,
  V2_SEALED_CHUNK_SIZE,
  v2ChunkCount,
  v2CiphertextSize,
  v2PayloadSize,
} from '../src/v2/index.ts';
import { CREATED_AT, firstDiff, fixedRandom, KEY, payload } from './v2-helpers.ts';

const C = V2_CHUNK_SIZE;
const S = V2_SEALED_CHUNK_SIZE;
const H = V2_HEADER_LENGTH;

/**
 * An independent v2 writer (uncompressed), straight from FORMAT.md §5 with node:crypto
 * only: a differential check that the spec and the code say the same thing.
 */
function referenceV2(plain: Uint8Array, root: Uint8Array, nonce: Uint8Array, kind: number): Buffer {
  const hk = Buffer.from(hkdfSync('sha256', root, nonce, 'noah-backup/v2/header', 32));
  const pk = Buffer.from(hkdfSync('sha256', root, nonce, 'noah-backup/v2/payload', 32));
  const header = Buffer.alloc(92);
  Buffer.from('\x89NOAH\r\n\x1a', 'latin1').copy(header, 0);
  header[8] = 2;
  header[9] = 0; // no compression
  header[10] = kind;
  header.writeBigUInt64BE(BigInt(CREATED_AT.getTime()), 12);
  header.writeBigUInt64BE(77n, 20);
  Buffer.from(nonce).copy(header, 28);
  createHmac('sha256', hk).update(header.subarray(0, 60)).digest().copy(header, 60);
  const parts: Buffer[] = [header];
  const n = Math.max(1, Math.ceil(plain.length / C));
  for (let i = 0; i < n; i++) {
    const iv = Buffer.alloc(12);
    iv.writeUInt32BE(i, 7);
    iv[11] = i === n - 1 ? 1 : 0;
    const c = createCipheriv('aes-256-gcm', pk, iv);
    parts.push(c.update(plain.subarray(i * C, (i + 1) * C)), c.final(), c.getAuthTag());
  }
  return Buffer.concat(parts);
}

describe('v2 matches an independent writer', () => {
  it('byte for byte, across chunk boundaries', async () => {
    for (const n of [0, 1, C - 1, C, C + 1, 2 * C + 7]) {
      const plain = payload(n, n);
      const random = fixedRandom(n + 1);
      const nonce = fixedRandom(n + 1)(32);
      const ours = await encryptV2Bytes(plain, {
        key: KEY,
        createdAt: CREATED_AT,
        sequence: 77,
        payloadKind: 'tar',
        compress: false,
        random,
      });
      expect(firstDiff(ours, referenceV2(plain, KEY, nonce, 1)), `n=${n}`).toBe(-1);
    }
  });

  it('a pinned known-answer file (changes only if the format changes)', async () => {
    const file = await encryptV2Bytes(new TextEncoder().encode('noah'), {
      key: KEY,
      createdAt: CREATED_AT,
      sequence: 1,
      compress: false,
      random: () => new Uint8Array(32).fill(0x11),
    });
    // magic | 02 | 00 none | 00 raw | 00 | created_at | sequence | nonce | MAC | chunk 0
    expect(bytesToHex(file)).toBe(
      '894e4f41480d0a1a' +
        '02' +
        '00' +
        '00' +
        '00' +
        '0000019b7ca98f2e' +
        '0000000000000001' +
        '11'.repeat(32) +
        '59ce6d651be11dc6d381af9e1eb81f89e3394e60194224646aa3988eb97f3881' +
        'c6b00758b938c9203e215aa25fcb8bf562aaa740',
    );
    expect(CREATED_AT.getTime()).toBe(0x19b7ca98f2e);
    expect(file.length).toBe(H + 4 + 16);
  });
});

describe('parseV2Header and isV2', () => {
  it('parses what openV2 authenticates, without a key', async () => {
    const file = await encryptV2Bytes(payload(10), {
      key: KEY,
      createdAt: CREATED_AT,
      sequence: 2n ** 40n,
      payloadKind: 'zip',
    });
    const parsed = parseV2Header(file);
    const { header } = await decryptV2Bytes(file, { key: KEY });
    expect(parsed).toEqual(header);
    expect(parsed).toMatchObject({
      version: 2,
      compression: 'deflate',
      payloadKind: 'zip',
      sequence: 2n ** 40n,
      headerLength: H,
    });
    expect(parsed.createdAt.toISOString()).toBe(CREATED_AT.toISOString());
    expect(parseV2Header(file.subarray(0, H))).toEqual(parsed);
    // No key, no MAC check: a damaged MAC still parses (openV2 would refuse it).
    const bad = file.slice();
    bad[H - 1]! ^= 1;
    expect(parseV2Header(bad).sequence).toBe(2n ** 40n);
  });

  it('rejects short, foreign and newer headers', async () => {
    const file = await encryptV2Bytes(payload(10), {
      key: KEY,
      createdAt: CREATED_AT,
      sequence: 0,
    });
    expect(() => parseV2Header(file.subarray(0, H - 1))).toThrow(NotABackupError);
    expect(() => parseV2Header(file.subarray(0, 8))).toThrow(NotABackupError);
    expect(() => parseV2Header(new Uint8Array(100))).toThrow(NotABackupError);
    const v3 = file.slice();
    v3[8] = 3;
    expect(() => parseV2Header(v3)).toThrow(UnsupportedVersionError);
    const reserved = file.slice();
    reserved[11] = 0x80;
    expect(() => parseV2Header(reserved)).toThrow(/reserved/);
    expect(() => parseV2Header('x' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('isV2 looks at the magic only', () => {
    expect(V2_MAGIC).toEqual(new Uint8Array(Buffer.from('\x89NOAH\r\n\x1a', 'latin1')));
    expect(isV2(V2_MAGIC)).toBe(true);
    expect(isV2(Uint8Array.of(...V2_MAGIC, 9))).toBe(true);
    expect(isV2(V2_MAGIC.subarray(0, 7))).toBe(false);
    expect(isV2(new TextEncoder().encode('iVBORw0KGgoAAAANSUhEUg=='))).toBe(false);
    expect(isV2(new Uint8Array(0))).toBe(false);
  });
});

describe('v2 size arithmetic', () => {
  it('a table of payload sizes', () => {
    const table: [number, number, number][] = [
      [0, 1, H + 16],
      [1, 1, H + 17],
      [C - 1, 1, H + C - 1 + 16],
      [C, 1, H + S],
      [C + 1, 2, H + S + 17],
      [2 * C, 2, H + 2 * S],
      [2 * C + 1, 3, H + 2 * S + 17],
    ];
    for (const [n, chunks, size] of table) {
      expect(v2ChunkCount(n)).toBe(chunks);
      expect(v2CiphertextSize(n)).toBe(size);
      expect(v2PayloadSize(size)).toBe(n);
    }
  });

  it('v2PayloadSize inverts v2CiphertextSize and rejects impossible sizes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (n) => {
        expect(v2PayloadSize(v2CiphertextSize(n))).toBe(n);
      }),
    );
    for (const bad of [0, H - 1, H, H + 15, H + S + 1, H + S + 15, H + S + 16, H + 2 * S + 16])
      expect(() => v2PayloadSize(bad), String(bad)).toThrow(RangeError);
    expect(() => v2ChunkCount(-1)).toThrow(RangeError);
    expect(() => v2ChunkCount(1.5)).toThrow(TypeError);
    expect(() => v2CiphertextSize(2 ** 32 * C + 1)).toThrow(RangeError);
  });
});

describe('v2 argument checks happen at call time', () => {
  const ok = { key: KEY, createdAt: CREATED_AT, sequence: 1 };
  const src = () => fromBytes(new Uint8Array(1));
  it('encryptV2 throws synchronously on bad options', () => {
    const bad: [Record<string, unknown>, ErrorConstructor][] = [
      [{ key: new Uint8Array(31) }, RangeError],
      [{ key: 'k' }, TypeError],
      [{ createdAt: new Date(Number.NaN) }, RangeError],
      [{ createdAt: new Date(-1) }, RangeError],
      [{ createdAt: 5 }, TypeError],
      [{ sequence: -1 }, RangeError],
      [{ sequence: 2n ** 64n }, RangeError],
      [{ sequence: 1.5 }, TypeError],
      [{ sequence: '1' }, TypeError],
      [{ payloadKind: 'rar' }, RangeError],
      [{ compress: 'yes' }, TypeError],
      [{ random: () => new Uint8Array(16) }, RangeError],
    ];
    for (const [patch, type] of bad)
      expect(
        () => encryptV2(src(), { ...ok, ...patch } as never),
        JSON.stringify(Object.keys(patch)),
      ).toThrow(type);
    expect(() => encryptV2(new Uint8Array(3) as never, ok)).toThrow(TypeError);
  });

  it('openV2 rejects bad options before reading', async () => {
    let pulled = false;
    async function* watched() {
      pulled = true;
      yield new Uint8Array(1);
    }
    await expect(openV2(watched(), { key: new Uint8Array(16) })).rejects.toThrow(RangeError);
    await expect(openV2(watched(), { key: KEY, maxPlaintextBytes: -1 })).rejects.toThrow(
      RangeError,
    );
    expect(pulled).toBe(false);
  });
});
