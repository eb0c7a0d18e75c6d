/**
 * zstd on both platforms (FORMAT.md §5.4): the Node writer (zstd-napi, with workers)
 * against libzstd's own one-shot codec as an independent implementation, and the two
 * readers (libzstd on Node, the pure-JavaScript fzstd on the web) against each other on
 * the same valid and invalid inputs, caps and early exits.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { concatBytes } from '../src/bytes.ts';
import { LimitExceededError, UnsupportedCompressionError } from '../src/errors.ts';
import * as node from '../src/platform/node.ts';
import type { Platform } from '../src/platform/types.ts';
import * as web from '../src/platform/web.ts';
import { collect, fromBytes } from '../src/stream.ts';
import { encryptV2, openV2, V2_CHUNK_SIZE as C } from '../src/v2/index.ts';
import {
  CREATED_AT,
  closesSourceOnEarlyStop,
  drain,
  firstDiff,
  KEY,
  payload,
  pieces,
} from './v2-helpers.ts';

/** libzstd's one-shot codec, single-threaded: the independent reference. */
const libzstd = createRequire(import.meta.url)('zstd-napi') as {
  compress(data: Uint8Array, params?: { compressionLevel?: number }): Uint8Array;
  decompress(data: Uint8Array): Uint8Array;
};

/** The child that abandons streams (fixtures/zstd-abandon-child.ts). */
const ABANDON_CHILD = new URL('./fixtures/zstd-abandon-child.ts', import.meta.url);

const READERS: Platform[] = [node.platform, web.platform];
const BIG = { maxOutputBytes: 2 ** 40 };
const SIZES = [0, 1, C - 1, C, C + 1, 2 * C + 7, 3 * 1024 * 1024 + 5];

describe('zstd: the node writer', () => {
  it.each(SIZES)('%i bytes: libzstd and both readers give the input back', async (n) => {
    const data = payload(n);
    for (const read of [4096, C + 3]) {
      const z = await collect(node.zstdCompress(pieces(data, read), { level: 1 }));
      expect(firstDiff(new Uint8Array(libzstd.decompress(z)), data)).toBe(-1);
      for (const p of READERS) {
        const out = await collect(p.zstdDecompress(pieces(z, 5000), BIG));
        expect(firstDiff(out, data), `${p.name}, read ${read}`).toBe(-1);
      }
    }
  });

  it('writes the same bytes however the input is split, and compresses', async () => {
    const data = payload(2 * 1024 * 1024);
    const a = await collect(node.zstdCompress(pieces(data, 1000), { level: 3 }));
    const b = await collect(node.zstdCompress(fromBytes(data), { level: 3 }));
    expect(firstDiff(a, b)).toBe(-1);
    expect(a.length).toBeLessThan(data.length * 0.75);
  });

  it('compresses on this thread with workers: 0 (other bytes, same plaintext)', async () => {
    const data = payload(3 * 1024 * 1024);
    const here = await collect(node.zstdCompress(fromBytes(data), { level: 1, workers: 0 }));
    const pooled = await collect(node.zstdCompress(fromBytes(data), { level: 1 }));
    expect(firstDiff(new Uint8Array(libzstd.decompress(here)), data)).toBe(-1);
    expect(firstDiff(here, pooled)).not.toBe(-1);
    expect(() => node.zstdCompress(fromBytes(data), { level: 1, workers: -1 })).toThrow(RangeError);
    const opts = { key: KEY, createdAt: CREATED_AT, sequence: 1, compression: 'zstd' as const };
    expect(() => encryptV2(fromBytes(data), { ...opts, zstdWorkers: 9 })).toThrow(RangeError);
  });

  it('is available on node and not on the web, where it fails with a clear error', async () => {
    expect(await node.zstdCompressAvailable()).toBe(true);
    expect(await web.zstdCompressAvailable()).toBe(false);
    const err = await drain(web.zstdCompress(fromBytes(payload(10)), { level: 1 }));
    expect(String(err.error)).toMatch(/not available on the web platform/);
  });

  it('encryptV2 checks the zstd level at call time (1..19)', () => {
    const opts = { key: KEY, createdAt: CREATED_AT, sequence: 1, compression: 'zstd' as const };
    for (const bad of [0, 20])
      expect(() => encryptV2(fromBytes(payload(1)), { ...opts, compressionLevel: bad })).toThrow(
        RangeError,
      );
    expect(() => encryptV2(fromBytes(payload(1)), { ...opts, compressionLevel: 1.5 })).toThrow(
      TypeError,
    );
    expect(() =>
      encryptV2(fromBytes(payload(1)), { ...opts, compression: 'brotli' as never }),
    ).toThrow(/compression must be deflate or zstd/);
    expect(() => encryptV2(fromBytes(payload(1)), { ...opts, compressionLevel: 19 })).not.toThrow();
  });

  it('abandoned streams neither crash the process nor spoil the next stream', async () => {
    // In a child: libzstd crashed the process (SIGSEGV) when a context was reused after
    // an abandoned multi-threaded frame, and a crash here would take the runner with it.
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', fileURLToPath(ABANDON_CHILD), '100'],
      {
        cwd: fileURLToPath(new URL('../../..', import.meta.url)),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d;
    });
    const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
    expect({ code, signal, err: err.slice(-2000) }).toEqual({ code: 0, signal: null, err: '' });
    expect(out).toBe('ok 100\n');
  });
});

describe('zstd: an installation without the addon', () => {
  it('says so when reading a zstd backup, instead of "wrong seedphrase or tampered"', async () => {
    const opts = { key: KEY, createdAt: CREATED_AT, sequence: 1, compression: 'zstd' as const };
    const file = await collect(encryptV2(fromBytes(payload(5000)), opts));
    // The addon cannot be unbuilt here: its loader's failure is what the platform throws.
    const missing = vi.spyOn(node.platform, 'zstdDecompress').mockImplementation(() =>
      // biome-ignore lint/correctness/useYield: fails at its first step, as the loader does
      (async function* () {
        throw new UnsupportedCompressionError('zstd is not available here');
      })(),
    );
    try {
      const { plaintext } = await openV2(fromBytes(file), { key: KEY });
      const r = await drain(plaintext);
      expect(r.error).toBeInstanceOf(UnsupportedCompressionError);
      expect((r.error as { code: string }).code).toBe('unsupported_compression');
    } finally {
      missing.mockRestore();
    }
  });
});

describe('zstd: both readers reject the same inputs', () => {
  const data = payload(12_000);
  const z = new Uint8Array(libzstd.compress(data, { compressionLevel: 3 }));
  const bad: Record<string, Uint8Array> = {
    empty: new Uint8Array(0),
    'truncated by one byte': z.subarray(0, -1),
    'truncated mid-frame': z.subarray(0, z.length >> 1),
    'one trailing byte': concatBytes(z, Uint8Array.of(0)),
    'eight trailing bytes': concatBytes(z, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)),
    'a second frame cut short': concatBytes(z, z.subarray(0, 20)),
    'a flipped bit in a block': (() => {
      const b = z.slice();
      b[b.length >> 1]! ^= 0x40;
      return concatBytes(b, Uint8Array.of(0));
    })(),
    'not zstd at all': payload(500, 9),
  };
  for (const [name, input] of Object.entries(bad)) {
    it(`rejects: ${name}`, async () => {
      for (const read of [3, 65536]) {
        for (const p of READERS) {
          const r = await drain(p.zstdDecompress(pieces(input, read), BIG));
          expect(r.error, `${p.name}, read ${read}`).toBeInstanceOf(Error);
          expect(r.error).not.toBeInstanceOf(LimitExceededError);
        }
      }
    });
  }

  it('accept concatenated frames (libzstd’s and ours) at any split', async () => {
    const ours = await collect(node.zstdCompress(fromBytes(data), { level: 1 }));
    const two = concatBytes(z, ours);
    for (const read of [1, 4, 1000])
      for (const p of READERS) {
        const out = await collect(p.zstdDecompress(pieces(two, read), BIG));
        expect(firstDiff(out, concatBytes(data, data)), p.name).toBe(-1);
      }
  });

  it('node refuses a frame that asks for a window over 8 MiB', async () => {
    // A frame header (RFC 8878 §3.1.1.1): magic, descriptor 0x00 (window descriptor
    // follows), window descriptor 0x70 (exponent 14: 2^24 = 16 MiB), then a raw last block.
    const frame = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x70, 0x09, 0x00, 0x00, 0x41);
    const r = await drain(node.zstdDecompress(fromBytes(frame), BIG));
    expect(r.error).toBeInstanceOf(Error);
    const ok = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x48, 0x09, 0x00, 0x00, 0x41);
    expect(await collect(node.zstdDecompress(fromBytes(ok), BIG))).toEqual(Uint8Array.of(0x41));
  });
});

describe('zstd on node: reused decompression contexts', () => {
  // A window descriptor of 0x70 asks for 16 MiB, over the 8 MiB limit (RFC 8878 §3.1.1.1.2).
  const wide = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x70, 0x09, 0x00, 0x00, 0x41);

  it('still refuses a window over 8 MiB after contexts went back to the pool', async () => {
    const data = payload(300_000, 3);
    const z = new Uint8Array(libzstd.compress(data));
    // Several at once, so several contexts are made and returned.
    const outs = await Promise.all(
      [0, 1, 2, 3, 4].map(() => collect(node.zstdDecompress(pieces(z, 5000), BIG))),
    );
    for (const out of outs) expect(firstDiff(out, data)).toBe(-1);
    for (let i = 0; i < 6; i++) {
      const r = await drain(node.zstdDecompress(fromBytes(wide), BIG));
      expect(r.error, `try ${i}`).toBeInstanceOf(Error);
    }
  });

  it('decodes exactly after streams abandoned mid-frame or failed', async () => {
    const a = payload(600_000, 4);
    const b = payload(500_000, 5);
    const za = new Uint8Array(libzstd.compress(a));
    const zb = new Uint8Array(libzstd.compress(b));
    for (let round = 0; round < 3; round++) {
      // Abandoned after its first output chunk: its context is inside a frame.
      for await (const _ of node.zstdDecompress(pieces(za, 1000), BIG)) break;
      // Failed: a frame cut short, then one with bytes after its end.
      for (const bad of [za.subarray(0, 9000), concatBytes(zb, Uint8Array.of(1, 2, 3))])
        expect((await drain(node.zstdDecompress(fromBytes(bad), BIG))).error).toBeInstanceOf(Error);
      // Interleaved streams on whatever contexts the pool gives.
      const [oa, ob] = await Promise.all([
        collect(node.zstdDecompress(pieces(za, 777), BIG)),
        collect(
          node.zstdDecompress(pieces(zb, 4096), { maxOutputBytes: 500_000, transient: false }),
        ),
      ]);
      expect(firstDiff(oa, a), `round ${round}`).toBe(-1);
      expect(firstDiff(ob, b), `round ${round}`).toBe(-1);
    }
  });
});

describe('zstd: output cap', () => {
  /** A zstd stream of `mib` MiB of zeros (a few bytes per MiB). */
  const bomb = (mib: number) =>
    collect(node.zstdCompress(repeat(new Uint8Array(1 << 20), mib), { level: 1 }));
  async function* repeat(chunk: Uint8Array, times: number) {
    for (let i = 0; i < times; i++) yield chunk;
  }

  it('stops at the cap on both, having yielded at most the cap', async () => {
    const z = await bomb(64);
    for (const cap of [0, 1, 1000, 1 << 20])
      for (const p of READERS) {
        const r = await drain(p.zstdDecompress(fromBytes(z, 4096), { maxOutputBytes: cap }));
        expect(r.error, `${p.name} cap ${cap}`).toBeInstanceOf(LimitExceededError);
        expect(r.bytes).toBeLessThanOrEqual(cap);
      }
  });

  it('exactly the cap passes', async () => {
    const data = payload(70_000);
    const z = new Uint8Array(libzstd.compress(data));
    for (const p of READERS) {
      expect(
        (await collect(p.zstdDecompress(fromBytes(z), { maxOutputBytes: 70_000 }))).length,
      ).toBe(70_000);
      const r = await drain(p.zstdDecompress(fromBytes(z), { maxOutputBytes: 69_999 }));
      expect(r.error).toBeInstanceOf(LimitExceededError);
    }
  });

  it('never holds more than a few output buffers of a bomb (node: 256 KiB each)', async () => {
    const z = await bomb(256);
    let biggest = 0;
    const r = await drain(
      (async function* () {
        for await (const c of node.zstdDecompress(fromBytes(z), { maxOutputBytes: 64 << 20 })) {
          biggest = Math.max(biggest, c.length);
          yield c;
        }
      })(),
    );
    expect(r.error).toBeInstanceOf(LimitExceededError);
    expect(biggest).toBeLessThanOrEqual(256 * 1024);
  });
});

describe('zstd on node: output chunks hold no more memory than they need', () => {
  /** Total bytes of the distinct buffers behind `chunks`: what holding them keeps alive. */
  const held = (chunks: Uint8Array[]) =>
    [...new Set(chunks.map((c) => c.buffer))].reduce((n, b) => n + b.byteLength, 0);

  it('decompression of input that arrives in small pieces: chunks at their size', async () => {
    // 40 frames of 10 KiB, one per input chunk: each call ends with a partly filled buffer.
    const frames = Array.from(
      { length: 40 },
      (_, i) => new Uint8Array(libzstd.compress(payload(10_240 + i))),
    );
    const chunks: Uint8Array[] = [];
    for await (const c of node.zstdDecompress(
      (async function* () {
        yield* frames;
      })(),
      BIG,
    ))
      chunks.push(c);
    const total = chunks.reduce((n, c) => n + c.length, 0);
    expect(total).toBe(frames.reduce((n, _, i) => n + 10_240 + i, 0));
    // Before: a fresh 256 KiB buffer behind every 10 KiB chunk (25x what they hold).
    expect(held(chunks)).toBeLessThan(2 * total + 256 * 1024);
  });

  it('transient decompression: every chunk a view of one buffer, the bytes exact', async () => {
    // A 1 MiB frame fills several 256 KiB outputs, then 40 small frames end part-filled.
    const data = payload(1024 * 1024 + 77);
    const frames = [
      new Uint8Array(libzstd.compress(data)),
      ...Array.from({ length: 40 }, (_, i) => new Uint8Array(libzstd.compress(payload(1000 + i)))),
    ];
    const chunks: Uint8Array[] = [];
    const copies: Uint8Array[] = [];
    for await (const c of node.zstdDecompress(
      (async function* () {
        yield* frames;
      })(),
      { ...BIG, transient: true },
    )) {
      chunks.push(c);
      copies.push(c.slice()); // as a transient consumer must, before the next chunk
    }
    const expected = concatBytes(data, ...frames.slice(1).map((_, i) => payload(1000 + i)));
    expect(firstDiff(concatBytes(...copies), expected)).toBe(-1);
    expect(chunks.length).toBeGreaterThan(40);
    // Before: a fresh buffer for every full chunk and a copy for every partial one.
    expect(new Set(chunks.map((c) => c.buffer)).size).toBe(1);
  });

  it('compression of small pieces: chunks at their size, and never reused', async () => {
    const data = payload(3 * 1024 * 1024 + 5);
    const chunks: Uint8Array[] = [];
    for await (const c of node.zstdCompress(pieces(data, 4096), { level: 1, workers: 0 }))
      chunks.push(c); // kept as they are, as a consumer may keep them
    const copies = chunks.map((c) => c.slice());
    const z = concatBytes(...chunks);
    expect(firstDiff(new Uint8Array(libzstd.decompress(z)), data)).toBe(-1);
    // Every chunk still holds what it held when handed out (no buffer written twice).
    expect(chunks.every((c, i) => firstDiff(c, copies[i]!) === -1)).toBe(true);
    expect(held(chunks)).toBeLessThan(2 * z.length + 256 * 1024);
  });
});

describe('zstd: errors and early exit', () => {
  it('a source error passes through compression and decompression unchanged', async () => {
    const boom = new Error('source failed');
    const z = new Uint8Array(libzstd.compress(payload(100_000)));
    async function* failing(first: Uint8Array) {
      yield first;
      throw boom;
    }
    expect((await drain(node.zstdCompress(failing(payload(1000)), { level: 1 }))).error).toBe(boom);
    for (const p of READERS)
      expect((await drain(p.zstdDecompress(failing(z.subarray(0, 1000)), BIG))).error).toBe(boom);
  });

  it('stopping early closes the source', async () => {
    const z = new Uint8Array(libzstd.compress(payload(500_000)));
    for (const p of READERS)
      expect(await closesSourceOnEarlyStop(z, (s) => p.zstdDecompress(s, BIG)), p.name).toBe(true);
  });
});
