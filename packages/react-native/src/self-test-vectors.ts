/**
 * Four vectors of testdata/ (docs/FORMAT.md §7) that the on-device self-test decrypts:
 * v2 with deflate and with zstd, seed-v0 and noah-v1 (whose 600,000-round PBKDF2 it
 * times). test/self-test.test.ts keeps them equal to the files.
 * @module
 */

/** The seedphrase of every vector here (FORMAT.md §7.3). */
export const SELF_TEST_MNEMONIC =
  'legal winner thank year wave sausage worth useful legal winner thank yellow';

/** A vector: where it comes from, its blob (base64) and its plaintext's SHA-256. */
export interface SelfTestVector {
  name: string;
  blob: string;
  plaintextSha256: string;
}

export const SELF_TEST_VECTORS: SelfTestVector[] = [
  {
    name: 'v2/v2-deflate-1',
    blob: 'iU5PQUgNChoCAQAAAAABm3ypjy4AAAAAAAAAAR7UQUs6oRf1e9TnttEWpFWm0Ktf34qMSe4OBupNIWzHBAV7792esSkzonYAK3taccBrf0GG+42mL4t0OyT2Pb/YclZAMixFgN06Vk2ZsxtWTwWOQauR0Qno',
    plaintextSha256: '9d1e0e2d9459d06523ad13e28a4093c2316baafe7aec5b25f30eba2e113599c4',
  },
  {
    name: 'v2/v2-zstd-1',
    blob: 'iU5PQUgNChoCAgAAAAABm3ypjy4AAAAAAAAAAXuVafjbXZDdPjN+IZXuAuYqCDapBra6ZLcb+ohfJrnd0ez/Lnt7Kbx0IlBqIcEnIC7F55PMZuDQSMKjA9JSbPStQV0nkAZFuHqr4YyLKeBusSYXWOuVJ65TUQ==',
    plaintextSha256: '9d1e0e2d9459d06523ad13e28a4093c2316baafe7aec5b25f30eba2e113599c4',
  },
  {
    name: 'seed-v0/seed-v0-1',
    blob: 'OFJUY21SWHNCdVoxVDdNQTlxUFNNWTFTWjFjeW45VFBNTzFmbUxzPQ==',
    plaintextSha256: '9d1e0e2d9459d06523ad13e28a4093c2316baafe7aec5b25f30eba2e113599c4',
  },
  {
    name: 'noah-v1/noah-v1-1',
    blob: 'QVozbUhxRXZJY3lsYWZ6L01sV25ZelEyVlBsV1Q3eWtFZzBIUzRSTEp4Z0psMWViSGJhUUFlQmViY2lhTmc9PQ==',
    plaintextSha256: '9d1e0e2d9459d06523ad13e28a4093c2316baafe7aec5b25f30eba2e113599c4',
  },
];
