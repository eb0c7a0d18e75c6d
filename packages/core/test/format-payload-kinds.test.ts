/**
 * Payload kinds pack (0x03) and manifest (0x04) of incremental backups (FORMAT.md §5.3,
 * §8.1): the low-level v2 reader opens them, and the one-object facade refuses them, and
 * any kind it does not know, with one clear code, never as damage.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnsupportedPayloadKindError } from '../src/errors.ts';
import { encryptBackupBytes, inspectBackup, openBackup } from '../src/format.ts';
import { createKeyring, type Keyring } from '../src/keys.ts';
import { fromBytes } from '../src/stream.ts';
import { decryptV2Bytes, encryptV2Bytes } from '../src/v2/index.ts';
import { deriveFileKeys } from '../src/v2/header.ts';

const MNEMONIC = 'legal winner thank year wave sausage worth useful legal winner thank yellow';
const CREATED = new Date('2026-03-01T04:00:00.123Z');
let keyring: Keyring;
beforeAll(async () => {
  keyring = await createKeyring(MNEMONIC);
});
afterAll(() => keyring.destroy());

/** A v2 file of `kind` (byte 10) with a valid header MAC under the keyring's root key. */
async function fileOfKind(kind: number): Promise<Uint8Array> {
  const file = await encryptV2Bytes(Uint8Array.of(1, 2, 3), {
    key: keyring.v2Key(),
    createdAt: CREATED,
    sequence: 5,
    compress: false,
  });
  file[10] = kind;
  const { headerKey } = deriveFileKeys(keyring.v2Key(), file.subarray(28, 60));
  file.set(hmac(sha256, headerKey, file.subarray(0, 60)), 60);
  return file;
}

/** A source that records whether it was closed. */
function tracked(bytes: Uint8Array) {
  const state = { closed: false };
  async function* gen() {
    try {
      yield* fromBytes(bytes, 50);
    } finally {
      state.closed = true;
    }
  }
  return { source: gen(), state };
}

describe('a one-object reader meeting an incremental backup (FORMAT.md §8.1)', () => {
  for (const [kind, name] of [
    [3, 'pack'],
    [4, 'manifest'],
  ] as const) {
    it(`refuses a ${name} with unsupported_payload_kind, and closes the source`, async () => {
      const { source, state } = tracked(await fileOfKind(kind));
      const err = await openBackup(source, { keyring }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnsupportedPayloadKindError);
      expect(err).toMatchObject({ code: 'unsupported_payload_kind', payloadKind: name });
      expect((err as Error).message).toMatch(/newer client.*supports incremental backups/);
      expect(state.closed).toBe(true);
    });
  }

  it('refuses a kind no version defines (0x05, 0xff) with the same code', async () => {
    for (const kind of [5, 0xff]) {
      const err = await openBackup(fromBytes(await fileOfKind(kind)), { keyring }).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'unsupported_payload_kind', payloadKind: kind });
    }
  });

  it('the low-level v2 reader opens both, and inspect names them', async () => {
    for (const [kind, name] of [
      [3, 'pack'],
      [4, 'manifest'],
    ] as const) {
      const file = await fileOfKind(kind);
      const { header, plaintext } = await decryptV2Bytes(file, { key: keyring.v2Key() });
      expect(header.payloadKind).toBe(name);
      expect(plaintext).toEqual(Uint8Array.of(1, 2, 3));
      const info = inspectBackup(file);
      expect(info.format === 'v2' && info.header.payloadKind).toBe(name);
    }
  });

  it('the one-object writer refuses to write them; the v2 writer writes them', async () => {
    for (const payloadKind of ['pack', 'manifest'] as const) {
      const opts = { keyring, createdAt: CREATED, sequence: 1 };
      expect(() =>
        encryptBackupBytes(new Uint8Array(1), { ...opts, payloadKind } as never),
      ).toThrow(RangeError);
      const file = await encryptV2Bytes(new Uint8Array(1), {
        key: keyring.v2Key(),
        createdAt: CREATED,
        sequence: 1,
        payloadKind,
      });
      expect(file[10]).toBe(payloadKind === 'pack' ? 3 : 4);
    }
  });
});
