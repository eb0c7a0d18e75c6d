/**
 * AesGcm.seal (the v2 writer's copy-free encrypt): the same bytes as `encrypt`, split
 * into ciphertext and tag, on both platforms, and the two platforms agree.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../src/bytes.ts';
import * as node from '../src/platform/node.ts';
import * as web from '../src/platform/web.ts';

describe('AesGcm.seal', () => {
  it('equals encrypt, split at the tag, and node equals web', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ maxLength: 3000 }),
        fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined }),
        async (key, nonce, plaintext, aad) => {
          const [n, w] = [node.aesGcm(key), web.aesGcm(key)];
          const sealed = await n.encrypt(nonce, plaintext, aad);
          for (const gcm of [n, w]) {
            const { ciphertext, tag } = await gcm.seal(nonce, plaintext, aad);
            expect(ciphertext.length).toBe(plaintext.length);
            expect(tag.length).toBe(16);
            expect(concatBytes(ciphertext, tag)).toEqual(sealed);
            expect(await gcm.decrypt(nonce, sealed, aad)).toEqual(plaintext);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('checks its arguments like encrypt', async () => {
    const gcm = node.aesGcm(new Uint8Array(32));
    await expect(gcm.seal(new Uint8Array(11), new Uint8Array(1))).rejects.toThrow(RangeError);
    await expect(
      web.aesGcm(new Uint8Array(32)).seal(new Uint8Array(11), new Uint8Array(1)),
    ).rejects.toThrow(RangeError);
  });
});
