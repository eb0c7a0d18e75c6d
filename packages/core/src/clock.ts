/**
 * Injected time and randomness: nothing outside this module reads
 * the wall clock, so time-based rules and test vectors are reproducible.
 * @module
 */

/** A source of the current time. */
export interface Clock {
  /** The current time. */
  now(): Date;
}

/** Produces `n` cryptographically secure random bytes. */
export type RandomBytes = (n: number) => Uint8Array;

/** The real wall clock. */
export const systemClock: Clock = { now: () => new Date() };

/** A clock that only moves when told to; for tests. */
export function manualClock(start: Date | number = 0): Clock & {
  set(t: Date | number): void;
  advance(ms: number): void;
} {
  let t = typeof start === 'number' ? start : start.getTime();
  return {
    now: () => new Date(t),
    set: (v) => {
      t = typeof v === 'number' ? v : v.getTime();
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

/** WebCrypto's CSPRNG (available in Node ≥ 19, browsers and React Native with a polyfill). */
export const secureRandom: RandomBytes = (n) => {
  const out = new Uint8Array(n);
  // getRandomValues fills at most 65,536 bytes per call.
  for (let i = 0; i < n; i += 65536)
    globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
};
