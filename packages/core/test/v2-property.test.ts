import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../src/bytes.ts';
import { DecryptionError, NotABackupError, UnsupportedVersionError } from '../src/errors.ts';
import { fromBytes } from '../src/stream.ts';
import { encryptV2Bytes, openV2, V2_CHUNK_SIZE, V2_HEADER_LENGTH } from '../src/v2/index.ts';
import { CREATED_AT, drain, firstDiff, fixedRandom, KEY, payload } from './v2-helpers.ts';

/** The error a single flipped bit at `byte` must cause (FORMAT.md §5.6). */
function expectedError(byte: number) {
  if (byte < 8) return NotABackupError;
  if (byte === 8) return UnsupportedVersionError;
  return DecryptionError;
}

/** Flips one bit, opens, drains; checks the error class and that only verified data came out. */
async function checkFlip(file: Uint8Array, plain: Uint8Array, bit: number, readSize: number) {
  const bad = file.slice();
  const byte = bit >>> 3;
  bad[byte]! ^= 1 << (bit & 7);
  let yielded = new Uint8Array(0);
  let error: unknown;
  try {
    const { plaintext } = await openV2(fromBytes(bad, readSize), { key: KEY });
    const r = await drain(plaintext);
    error = r.error;
    yielded = concatBytes(...r.chunks);
    expect((await plaintext.next()).done).toBe(true); // sticky
  } catch (e) {
    error = e;
  }
  expect(error, `bit ${bit}`).toBeInstanceOf(expectedError(byte));
  // Whatever came out before the failure is a verified prefix of the real plaintext.
  expect(firstDiff(yielded, plain.subarray(0, yielded.length))).toBe(-1);
  return yielded.length;
}

describe('v2: any single flipped bit is rejected', () => {
  it('exhaustively, every bit of a one-chunk file', async () => {
    const plain = payload(40);
    const file = await encryptV2Bytes(plain, {
      key: KEY,
      createdAt: CREATED_AT,
      sequence: 1,
      compress: false,
      random: fixedRandom(3),
    });
    expect(file.length).toBe(V2_HEADER_LENGTH + 40 + 16);
    for (let bit = 0; bit < file.length * 8; bit++)
      expect(await checkFlip(file, plain, bit, file.length)).toBe(0);
  });

  it('property: random payloads, compression, read sizes and bit positions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: V2_CHUNK_SIZE + 300 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 70_000 }),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        fc.integer({ min: 1, max: 1000 }),
        async (n, compress, readSize, where, seed) => {
          const plain = payload(n, seed);
          const file = await encryptV2Bytes(plain, {
            key: KEY,
            createdAt: CREATED_AT,
            sequence: seed,
            compress,
          });
          const bit = Math.floor(where * file.length * 8);
          const yielded = await checkFlip(file, plain, bit, readSize);
          // Without compression, data after the damaged chunk never comes out.
          if (!compress) {
            const damagedChunk = Math.floor((bit / 8 - V2_HEADER_LENGTH) / (V2_CHUNK_SIZE + 16));
            expect(yielded).toBeLessThanOrEqual(Math.max(0, damagedChunk) * V2_CHUNK_SIZE);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
