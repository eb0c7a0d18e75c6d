import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LimitExceededError } from '../src/errors.ts';
import { byteReader, collect, fromBytes, rechunk } from '../src/stream.ts';
import { encryptV2, openV2 } from '../src/v2/index.ts';
import { V2_CHUNK_SIZE } from '../src/v2/constants.ts';
import { CREATED_AT, KEY, payload, pieces } from './v2-helpers.ts';

/** A source split at arbitrary points. */
async function* splitAt(bytes: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  let prev = 0;
  for (const c of [...new Set(cuts.map((x) => x % (bytes.length + 1)))].sort((a, b) => a - b)) {
    yield bytes.subarray(prev, c);
    prev = c;
  }
  yield bytes.subarray(prev);
}

describe('collect and fromBytes', () => {
  it('round-trip any buffer at any chunk size, empty included', async () => {
    for (const n of [0, 1, 100, 65537]) {
      const data = payload(n);
      for (const size of [1, 3, 65536]) {
        if (size === 1 && n > 1000) continue;
        expect(await collect(fromBytes(data, size))).toEqual(data);
      }
    }
    const parts: number[] = [];
    for await (const c of fromBytes(payload(10), 4)) parts.push(c.length);
    expect(parts).toEqual([4, 4, 2]);
  });

  it('collect enforces its cap and checks chunk types', async () => {
    await expect(collect(fromBytes(new Uint8Array(10)), 9)).rejects.toThrow(LimitExceededError);
    expect((await collect(fromBytes(new Uint8Array(10)), 10)).length).toBe(10);
    async function* notBytes() {
      yield 'x' as unknown as Uint8Array;
    }
    await expect(collect(notBytes())).rejects.toThrow(TypeError);
    expect(() => fromBytes(new Uint8Array(1), 0)).toThrow(RangeError);
  });
});

describe('rechunk', () => {
  it('yields exact sizes, only the last shorter, none empty, the same bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3000 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.integer({ min: 1, max: 700 }),
        async (n, cuts, size) => {
          const data = payload(n, n + 3);
          const out: Uint8Array[] = [];
          for await (const c of rechunk(splitAt(data, cuts), size)) out.push(c.slice());
          expect(out.every((c, i) => (i < out.length - 1 ? c.length === size : c.length > 0))).toBe(
            true,
          );
          expect(out.at(-1)?.length ?? 0).toBeLessThanOrEqual(size);
          expect(await collect(fromBytes(data))).toEqual(
            await collect(
              (async function* () {
                yield* out;
              })(),
            ),
          );
        },
      ),
    );
  });

  it('passes aligned chunks through without copying', async () => {
    const data = payload(200);
    const out: Uint8Array[] = [];
    for await (const c of rechunk(fromBytes(data, 100), 50)) out.push(c);
    expect(out.every((c) => c.buffer === data.buffer)).toBe(true);
  });
});

describe('byteReader', () => {
  it('reads exact counts across chunk boundaries and looks ahead one chunk', async () => {
    const data = payload(1000);
    const r = byteReader(pieces(data, 7));
    expect(await r.read(0)).toEqual(new Uint8Array(0));
    expect(await r.read(10)).toEqual(data.subarray(0, 10));
    expect(await r.read(2)).toEqual(data.subarray(10, 12));
    expect(await r.atEnd()).toBe(false);
    expect(await r.read(985)).toEqual(data.subarray(12, 997));
    expect(await r.atEnd()).toBe(false);
    expect(await r.read(10)).toEqual(data.subarray(997)); // short: the stream ended
    expect(await r.atEnd()).toBe(true);
    expect((await r.read(5)).length).toBe(0);
  });

  it("assembles a read that spans chunks in the caller's buffer when given one", async () => {
    const data = payload(100);
    const r = byteReader(pieces(data, 30));
    const into = new Uint8Array(40);
    const spanning = await r.read(40, into); // bytes 0..40 of chunks 0..30 and 30..60
    expect(spanning).toEqual(data.subarray(0, 40));
    expect(spanning.buffer).toBe(into.buffer);
    const inside = await r.read(10, into); // 40..50, inside one chunk: no copy at all
    expect(inside).toEqual(data.subarray(40, 50));
    expect(inside.buffer).not.toBe(into.buffer);
    const short = await r.read(40, into); // 50..90 again across chunks, into the same buffer
    expect(short).toEqual(data.subarray(50, 90));
    expect(short.buffer).toBe(into.buffer);
    expect(await r.read(40, into)).toEqual(data.subarray(90)); // the stream ends first
    await expect(byteReader(pieces(data, 30)).read(40, new Uint8Array(39))).rejects.toThrow(
      RangeError,
    );
  });

  it('a v2 file read in small pieces yields chunks that stay intact', async () => {
    // The decoder assembles each sealed chunk split across source pieces in one reused
    // buffer: the plaintext it yields must never share it.
    const data = payload(3 * V2_CHUNK_SIZE + 1234, 3);
    const file = await collect(
      encryptV2(fromBytes(data), { key: KEY, createdAt: CREATED_AT, sequence: 1, compress: false }),
    );
    const { plaintext } = await openV2(pieces(file, 16 * 1024 + 7), { key: KEY });
    const held: Uint8Array[] = [];
    for await (const chunk of plaintext) held.push(chunk); // kept without a copy
    expect(held.length).toBeGreaterThan(1);
    const joined = new Uint8Array(data.length);
    let at = 0;
    for (const chunk of held) {
      joined.set(chunk, at);
      at += chunk.length;
    }
    expect(at).toBe(data.length);
    expect(Buffer.from(joined).equals(Buffer.from(data))).toBe(true);
  });

  it('skips empty chunks and closes the source on close()', async () => {
    let closed = false;
    async function* src() {
      try {
        yield new Uint8Array(0);
        yield Uint8Array.of(1, 2);
        yield new Uint8Array(0);
        yield Uint8Array.of(3);
        yield Uint8Array.of(4);
      } finally {
        closed = true;
      }
    }
    const r = byteReader(src());
    expect(await r.read(3)).toEqual(Uint8Array.of(1, 2, 3));
    expect(await r.atEnd()).toBe(false);
    await r.close();
    expect(closed).toBe(true);
    expect(await r.atEnd()).toBe(true);
  });
});
