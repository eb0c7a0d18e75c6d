import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assertBlobKey, newObjectKey, OBJECT_PREFIX } from '../src/blob/keys.ts';

describe('object keys', () => {
  it('names objects under the one prefix, 128 random bits in hex', () => {
    const key = newObjectKey((n) => new Uint8Array(randomBytes(n)));
    expect(key.startsWith(OBJECT_PREFIX)).toBe(true);
    expect(key).toMatch(/^b\/[0-9a-f]{32}$/);
    expect(() => assertBlobKey('key', key)).not.toThrow();
  });

  it('takes every bit from the random source given', () => {
    const fixed = (byte: number) => (n: number) => new Uint8Array(n).fill(byte);
    expect(newObjectKey(fixed(0x00))).toBe(`b/${'00'.repeat(16)}`);
    expect(newObjectKey(fixed(0xa5))).toBe(`b/${'a5'.repeat(16)}`);
  });
});
