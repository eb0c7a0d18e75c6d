/** Shared fixtures for the v2 tests: deterministic data, keys and randomness. */
import { hexToBytes } from '../src/bytes.ts';
import type { RandomBytes } from '../src/clock.ts';

/** A fixed 32-byte root key for tests. */
export const KEY = hexToBytes('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
/** Another key, for wrong-key tests. */
export const OTHER_KEY = hexToBytes(
  'f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f',
);
/** A fixed creation time. */
export const CREATED_AT = new Date('2026-01-02T03:04:05.678Z');

/** Deterministic "random" bytes (xorshift32), for reproducible files. */
export function fixedRandom(seed = 1): RandomBytes {
  let s = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      out[i] = s & 0xff;
    }
    return out;
  };
}

/** Test payload: half pseudo-random, half text, so that compression does something. */
export function payload(n: number, seed = 7): Uint8Array {
  const out = fixedRandom(seed)(n);
  const text = new TextEncoder().encode('noah backup wallet.sqlite page ');
  for (let i = 0; i < n; i += 2048)
    for (let j = 0; j < 1024 && i + j < n; j++) out[i + j] = text[j % text.length]!;
  return out;
}

/** Yields `bytes` in pieces of `size` (a fresh copy each, as a network stream would). */
export async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < bytes.length; off += size) yield bytes.slice(off, off + size);
}

/** Drains a stream, recording what it yielded and what it threw. */
export async function drain(
  stream: AsyncIterable<Uint8Array>,
): Promise<{ bytes: number; chunks: Uint8Array[]; error: unknown }> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    for await (const c of stream) {
      chunks.push(c);
      bytes += c.length;
    }
    return { bytes, chunks, error: undefined };
  } catch (error) {
    return { bytes, chunks, error };
  }
}

/**
 * Index of the first byte where `a` and `b` differ, or -1 if equal (length included).
 * Vitest's deep equality walks typed arrays element by element, far too slowly for MiBs.
 */
export function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  const i = Buffer.compare(a, b) === 0 ? -1 : n;
  if (i === -1) return -1;
  for (let j = 0; j < n; j++) if (a[j] !== b[j]) return j;
  return n;
}

/**
 * Whether stopping a transform after its first output closes its source: runs
 * `transform` over `input` in 1000-byte pieces, breaks after one output, and reports
 * whether the source's `finally` ran.
 */
export async function closesSourceOnEarlyStop(
  input: Uint8Array,
  transform: (source: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array>,
): Promise<boolean> {
  let closed = false;
  async function* src() {
    try {
      yield* pieces(input, 1000);
    } finally {
      closed = true;
    }
  }
  for await (const _ of transform(src())) break;
  return closed;
}
