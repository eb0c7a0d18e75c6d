import { describe, expect, it } from 'vitest';
import { concatBytes } from '../src/bytes.ts';
import { collect, fromBytes } from '../src/stream.ts';
import {
  decryptV2Bytes,
  encryptV2,
  encryptV2Bytes,
  openV2,
  parseV2Header,
  V2_CHUNK_SIZE,
  V2_HEADER_LENGTH,
  V2_SEALED_CHUNK_SIZE,
  v2CiphertextSize,
} from '../src/v2/index.ts';
import { CREATED_AT, firstDiff, fixedRandom, KEY, payload, pieces } from './v2-helpers.ts';

const C = V2_CHUNK_SIZE;
const SMALL_SIZES = [0, 1, C - 1, C, C + 1, 2 * C, 2 * C + 1];
const BIG = 3 * 1024 * 1024 + 5;
const WHOLE = Number.MAX_SAFE_INTEGER;
// Read sizes 1 and 7 on multi-MiB inputs would only measure generator overhead.
const READS_SMALL = [1, 7, 4096, C + 3, WHOLE];
const READS_BIG = [4096, C + 3, WHOLE];

const cases = [
  ...SMALL_SIZES.flatMap((n) => READS_SMALL.map((r) => [n, r] as const)),
  ...READS_BIG.map((r) => [BIG, r] as const),
];

describe('v2 round trips: sizes × read sizes × compression', () => {
  for (const compression of ['none', 'deflate', 'zstd'] as const) {
    it.each(cases)(`${compression}: %i bytes read %i at a time`, async (n, readSize) => {
      const data = payload(n);
      const compress = compression !== 'none';
      const opts = {
        key: KEY,
        createdAt: CREATED_AT,
        sequence: 42n,
        compress,
        ...(compress ? { compression } : {}),
        random: fixedRandom(),
      };
      const file = await collect(encryptV2(pieces(data, readSize), opts));
      if (!compress) expect(file.length).toBe(v2CiphertextSize(n));
      const { header, plaintext } = await openV2(pieces(file, readSize), { key: KEY });
      expect(header.compression).toBe(compression);
      expect(header.sequence).toBe(42n);
      expect(header.createdAt.getTime()).toBe(CREATED_AT.getTime());
      const out = await collect(plaintext);
      expect(out.length).toBe(n);
      expect(firstDiff(out, data)).toBe(-1);
    });
  }
});

describe('v2 writer output', () => {
  it('is the header, then sealed chunks of 64 KiB + 16, the last one shorter', async () => {
    const data = payload(2 * C + 100);
    const parts: Uint8Array[] = [];
    const opts = { key: KEY, createdAt: CREATED_AT, sequence: 1, compress: false };
    for await (const p of encryptV2(fromBytes(data, 1000), opts)) parts.push(p);
    // Each sealed chunk comes out as its ciphertext, then its tag (no copy to join them).
    expect(parts.map((p) => p.length)).toEqual([V2_HEADER_LENGTH, C, 16, C, 16, 100, 16]);
    expect(V2_SEALED_CHUNK_SIZE).toBe(C + 16);
  });

  it('does not depend on how the input is split', async () => {
    const data = payload(C * 2 + 17);
    for (const compress of [false, true]) {
      const opts = () => ({
        key: KEY,
        createdAt: CREATED_AT,
        sequence: 3,
        compress,
        random: fixedRandom(9),
      });
      const a = await collect(encryptV2(pieces(data, 1), opts()));
      const b = await collect(encryptV2(pieces(data, C + 3), opts()));
      const c = await encryptV2Bytes(data, opts());
      expect(firstDiff(b, a)).toBe(-1);
      expect(firstDiff(c, a)).toBe(-1);
    }
  });

  it('is compressed when asked: repetitive data shrinks', async () => {
    const data = new Uint8Array(C * 4).fill(0x61);
    const file = await encryptV2Bytes(data, { key: KEY, createdAt: CREATED_AT, sequence: 0 });
    expect(parseV2Header(file).compression).toBe('deflate');
    expect(file.length).toBeLessThan(2000);
    expect(firstDiff((await decryptV2Bytes(file, { key: KEY })).plaintext, data)).toBe(-1);
  });

  it('uses a fresh nonce per file: same input, different bytes', async () => {
    const data = payload(100);
    const opts = { key: KEY, createdAt: CREATED_AT, sequence: 0 };
    const a = await encryptV2Bytes(data, opts);
    const b = await encryptV2Bytes(data, opts);
    expect(parseV2Header(a).nonce).not.toEqual(parseV2Header(b).nonce);
    expect(a.subarray(V2_HEADER_LENGTH)).not.toEqual(b.subarray(V2_HEADER_LENGTH));
  });

  it('records payload kind, sequence up to 2^64 − 1 and the creation time', async () => {
    for (const [payloadKind, sequence] of [
      ['raw', 0n],
      ['tar', 2n ** 64n - 1n],
      ['zip', 12345],
    ] as const) {
      const file = await encryptV2Bytes(new Uint8Array(3), {
        key: KEY,
        createdAt: new Date(0),
        sequence,
        payloadKind,
      });
      const { header } = await decryptV2Bytes(file, { key: KEY });
      expect(header).toMatchObject({ version: 2, payloadKind, sequence: BigInt(sequence) });
      expect(header.createdAt.getTime()).toBe(0);
      expect(header.headerLength).toBe(V2_HEADER_LENGTH);
    }
  });

  it('leaves the caller free to wipe the key once encryptV2 returned', async () => {
    const key = KEY.slice();
    const data = payload(C + 5);
    const stream = encryptV2(fromBytes(data), { key, createdAt: CREATED_AT, sequence: 1 });
    key.fill(0);
    const parts: Uint8Array[] = [];
    for await (const p of stream) parts.push(p);
    const file = concatBytes(...parts);
    expect(firstDiff((await decryptV2Bytes(file, { key: KEY })).plaintext, data)).toBe(-1);
  });
});
