import { describe, expect, it } from 'vitest';
import { concatBytes } from '../src/bytes.ts';
import {
  DecryptionError,
  LimitExceededError,
  NotABackupError,
  UnsupportedPayloadKindError,
  UnsupportedVersionError,
} from '../src/errors.ts';
import { createKeyring } from '../src/keys.ts';
import { byteReader, collect, fromBytes } from '../src/stream.ts';
import { chunkNonce, openChunks, sealChunks } from '../src/v2/chunks.ts';
import { V2_HEADER_LENGTH } from '../src/v2/constants.ts';
import {
  decryptV2Bytes,
  encryptV2,
  encryptV2Bytes,
  openV2,
  V2_CHUNK_SIZE,
  V2_SEALED_CHUNK_SIZE,
} from '../src/v2/index.ts';
import { craft, header, payloadGcm, remac, sealed, sealOne, split } from './v2-craft.ts';
import { CREATED_AT, drain, firstDiff, KEY, OTHER_KEY, payload } from './v2-helpers.ts';

const C = V2_CHUNK_SIZE;
const S = V2_SEALED_CHUNK_SIZE;
const H = V2_HEADER_LENGTH;
const DATA = payload(2 * C + 100); // three chunks: full, full, 100 bytes

async function file3(compress = false): Promise<Uint8Array> {
  return encryptV2Bytes(DATA, { key: KEY, createdAt: CREATED_AT, sequence: 5, compress });
}

/** Opens and drains; returns the error (from openV2 or the stream) and what was yielded. */
async function attempt(file: Uint8Array, opts: { key?: Uint8Array; max?: number } = {}) {
  try {
    const { plaintext } = await openV2(fromBytes(file, 1000), {
      key: opts.key ?? KEY,
      ...(opts.max === undefined ? {} : { maxPlaintextBytes: opts.max }),
    });
    const r = await drain(plaintext);
    // Sticky: once it failed (or ended), the stream yields nothing more.
    expect((await plaintext.next()).done).toBe(true);
    return r;
  } catch (error) {
    return { bytes: 0, chunks: [], error };
  }
}

describe('v2 decoder rejects truncation', () => {
  it('at every chunk boundary (missing final chunk)', async () => {
    const file = await file3();
    for (const cut of [H, H + S, H + 2 * S]) {
      const r = await attempt(file.subarray(0, cut));
      expect(r.error, `cut at ${cut}`).toBeInstanceOf(DecryptionError);
    }
  });

  it('inside chunks and inside the header', async () => {
    const file = await file3();
    for (const cut of [
      9,
      12,
      40,
      H - 1,
      H + 1,
      H + 15,
      H + 16,
      H + S / 2,
      H + S + 17,
      file.length - 1,
    ]) {
      const r = await attempt(file.subarray(0, cut));
      expect(r.error, `cut at ${cut}`).toBeInstanceOf(DecryptionError);
    }
  });

  it('shorter than the magic: not a backup', async () => {
    const file = await file3();
    for (const cut of [0, 1, 7]) {
      const r = await attempt(file.subarray(0, cut));
      expect(r.error, `cut at ${cut}`).toBeInstanceOf(NotABackupError);
    }
  });

  it('compressed files too', async () => {
    const file = await file3(true);
    for (const cut of [H, H + 1, file.length - 17, file.length - 1]) {
      const r = await attempt(file.subarray(0, cut));
      expect(r.error, `cut at ${cut}`).toBeInstanceOf(DecryptionError);
    }
  });

  it('yields only verified chunks before failing', async () => {
    const file = await file3();
    const r = await attempt(file.subarray(0, H + 2 * S)); // chunk 1 is not final
    expect(r.error).toBeInstanceOf(DecryptionError);
    expect(r.bytes).toBe(C); // chunk 0 verified and yielded; chunk 1 never
    expect(firstDiff(concatBytes(...r.chunks), DATA.subarray(0, C))).toBe(-1);
  });
});

describe('v2 decoder rejects rearranged or extended chunk streams', () => {
  it('trailing bytes after the final chunk', async () => {
    const file = await file3();
    for (const extra of [Uint8Array.of(0), new Uint8Array(16), file.subarray(H + S, H + 2 * S)]) {
      const r = await attempt(concatBytes(file, extra));
      expect(r.error).toBeInstanceOf(DecryptionError);
    }
  });

  it('reordered, duplicated and dropped chunks', async () => {
    const { head, chunks } = split(await file3());
    const [c0, c1, c2] = chunks as [Uint8Array, Uint8Array, Uint8Array];
    const variants = {
      swapped: [c1, c0, c2],
      duplicated: [c0, c0, c1, c2],
      duplicatedLast: [c0, c1, c2, c2],
      droppedFirst: [c1, c2],
      droppedMiddle: [c0, c2],
      droppedLast: [c0, c1],
    };
    for (const [name, list] of Object.entries(variants)) {
      const r = await attempt(concatBytes(head, ...list));
      expect(r.error, name).toBeInstanceOf(DecryptionError);
    }
  });

  it('chunks spliced from another file under the same key', async () => {
    const a = split(await file3());
    const b = split(await file3()); // fresh nonce, so different payload key
    const r = await attempt(concatBytes(a.head, a.chunks[0]!, b.chunks[1]!, a.chunks[2]!));
    expect(r.error).toBeInstanceOf(DecryptionError);
    const r2 = await attempt(concatBytes(b.head, ...a.chunks));
    expect(r2.error).toBeInstanceOf(DecryptionError);
  });

  it('an empty final chunk after a full one (only a lone chunk may be empty)', async () => {
    const body = concatBytes(
      await sealOne(0, false, DATA.subarray(0, C)),
      await sealOne(1, true, new Uint8Array(0)),
    );
    const r = await attempt(concatBytes(header(), body));
    expect(r.error).toBeInstanceOf(DecryptionError);
    // The honest encoding of the same payload is accepted.
    const ok = await attempt(await craft(DATA.subarray(0, C)));
    expect(ok.error).toBeUndefined();
    expect(ok.bytes).toBe(C);
  });

  it('a final flag on a chunk that is not last', async () => {
    const body = concatBytes(
      await sealOne(0, true, DATA.subarray(0, C)),
      await sealOne(1, true, DATA.subarray(C, C + 5)),
    );
    expect((await attempt(concatBytes(header(), body))).error).toBeInstanceOf(DecryptionError);
  });

  it('counter overflow: no chunk past the limit, in either direction', async () => {
    const body = await sealed(DATA); // 3 chunks
    const opened = openChunks(byteReader(fromBytes(body)), payloadGcm(), 2);
    expect((await drain(opened)).error).toBeInstanceOf(DecryptionError);
    const sealing = sealChunks(fromBytes(DATA, C), payloadGcm(), 2);
    expect((await drain(sealing)).error).toBeInstanceOf(RangeError);
    expect(() => chunkNonce(2 ** 32, false)).toThrow(RangeError);
    expect(chunkNonce(2 ** 32 - 1, true)).toEqual(
      Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1),
    );
  });
});

describe('v2 decoder rejects the wrong key', () => {
  it('in openV2, before any plaintext, with the opaque error', async () => {
    const r = await attempt(await file3(), { key: OTHER_KEY });
    expect(r.error).toBeInstanceOf(DecryptionError);
    expect((r.error as Error).message).toBe(
      'wrong seedphrase, or the backup is corrupted or was tampered with',
    );
  });

  it('from another seedphrase', async () => {
    const a = await createKeyring(
      'legal winner thank year wave sausage worth useful legal winner thank yellow',
    );
    const b = await createKeyring(
      'letter advice cage absurd amount doctor acoustic avoid letter advice cage above',
    );
    const file = await encryptV2Bytes(DATA, { key: a.v2Key(), createdAt: CREATED_AT, sequence: 1 });
    await expect(decryptV2Bytes(file, { key: b.v2Key() })).rejects.toThrow(DecryptionError);
    expect(firstDiff((await decryptV2Bytes(file, { key: a.v2Key() })).plaintext, DATA)).toBe(-1);
    a.destroy();
    b.destroy();
  });
});

describe('v2 header rules', () => {
  it('reserved byte non-zero: DecryptionError if tampered, NotABackupError if MACed', async () => {
    const file = await craft(DATA.subarray(0, 10));
    const tampered = file.slice();
    tampered[11] = 1;
    expect((await attempt(tampered)).error).toBeInstanceOf(DecryptionError);
    const h = remac(tampered.subarray(0, H));
    const r = await attempt(concatBytes(h, file.subarray(H)));
    expect(r.error).toBeInstanceOf(NotABackupError);
    expect((r.error as Error).message).toMatch(/reserved/);
  });

  it('unknown compression, or created_at out of range, under a valid MAC', async () => {
    const base = await craft(DATA.subarray(0, 10));
    const edits: [string, (h: Uint8Array) => void][] = [
      ['compression', (h) => (h[9] = 3)],
      ['created_at', (h) => new DataView(h.buffer).setBigUint64(12, 2n ** 63n)],
    ];
    for (const [what, edit] of edits) {
      const h = base.slice(0, H);
      edit(h);
      const r = await attempt(concatBytes(remac(h), base.subarray(H)));
      expect(r.error, what).toBeInstanceOf(NotABackupError);
    }
  });

  it('a payload kind no version defines, under a valid MAC: UnsupportedPayloadKindError', async () => {
    // FORMAT.md §5.6 item 5: a newer writer's kind, not a malformed file. (Kinds 3 and 4
    // are an incremental backup's pack and manifest: test/format-payload-kinds.test.ts.)
    const base = await craft(DATA.subarray(0, 10));
    for (const kind of [5, 0x80, 0xff]) {
      const h = base.slice(0, H);
      h[10] = kind;
      const r = await attempt(concatBytes(remac(h), base.subarray(H)));
      expect(r.error).toBeInstanceOf(UnsupportedPayloadKindError);
      expect((r.error as UnsupportedPayloadKindError).payloadKind).toBe(kind);
    }
  });

  it('another version byte: UnsupportedVersionError, even with a valid MAC', async () => {
    const h = header();
    h[8] = 3;
    const r = await attempt(concatBytes(remac(h), await sealed(new Uint8Array(1))));
    expect(r.error).toBeInstanceOf(UnsupportedVersionError);
    expect((r.error as UnsupportedVersionError).version).toBe(3);
  });

  it('other magic: NotABackupError (text, base64, empty)', async () => {
    for (const text of ['', 'hello', 'AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=']) {
      const r = await attempt(new TextEncoder().encode(text.padEnd(120, '=')));
      expect(r.error).toBeInstanceOf(NotABackupError);
    }
  });
});

describe('v2 payload inside valid chunks', () => {
  it('a corrupt zlib stream is the opaque DecryptionError', async () => {
    const r = await attempt(await craft(DATA.subarray(0, 500), { compression: 'deflate' }));
    expect(r.error).toBeInstanceOf(DecryptionError);
  });

  it('data after the end of the zlib stream is rejected', async () => {
    const { deflateSync } = await import('node:zlib');
    const z = new Uint8Array(deflateSync(DATA));
    const ok = await attempt(await craft(z, { compression: 'deflate' }));
    expect(ok.error).toBeUndefined();
    expect(ok.bytes).toBe(DATA.length);
    for (const extra of [Uint8Array.of(0), z.subarray(0, 100)]) {
      const r = await attempt(await craft(concatBytes(z, extra), { compression: 'deflate' }));
      expect(r.error).toBeInstanceOf(DecryptionError);
    }
    const truncated = await attempt(await craft(z.subarray(0, -1), { compression: 'deflate' }));
    expect(truncated.error).toBeInstanceOf(DecryptionError);
  });
});

describe('v2 plaintext cap', () => {
  it('a decompression bomb stops at the cap with LimitExceededError', async () => {
    async function* zeros() {
      for (let i = 0; i < 256; i++) yield new Uint8Array(2 ** 18); // 64 MiB
    }
    const file = await collect(
      encryptV2(zeros(), { key: KEY, createdAt: CREATED_AT, sequence: 1 }),
    );
    expect(file.length).toBeLessThan(200_000);
    const cap = 1024 * 1024 + 3;
    const r = await attempt(file, { max: cap });
    expect(r.error).toBeInstanceOf(LimitExceededError);
    expect(r.bytes).toBeLessThanOrEqual(cap);
    expect(r.bytes).toBeGreaterThan(cap - 64 * 1024);
  });

  it('exactly the cap is allowed, one byte less is not (compressed and not)', async () => {
    for (const compress of [true, false]) {
      const file = await file3(compress);
      const ok = await attempt(file, { max: DATA.length });
      expect(ok.error).toBeUndefined();
      expect(ok.bytes).toBe(DATA.length);
      const over = await attempt(file, { max: DATA.length - 1 });
      expect(over.error).toBeInstanceOf(LimitExceededError);
      expect(over.bytes).toBeLessThanOrEqual(DATA.length - 1);
    }
  });
});

describe('v2 source errors', () => {
  it('pass through unchanged, not as DecryptionError', async () => {
    for (const compress of [false, true]) {
      const file = await file3(compress);
      const boom = new Error('network reset');
      async function* flaky() {
        yield file.subarray(0, H + S + 10);
        throw boom;
      }
      const { plaintext } = await openV2(flaky(), { key: KEY });
      expect((await drain(plaintext)).error).toBe(boom);
      const enc = encryptV2(flaky(), { key: KEY, createdAt: CREATED_AT, sequence: 1, compress });
      expect((await drain(enc)).error).toBe(boom);
    }
  });
});
