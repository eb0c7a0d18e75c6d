/**
 * The Node platform's parallel deflate (platform/node-deflate.ts): segments compressed on
 * libuv's thread pool and joined into one zlib stream. Boundary sizes × read sizes,
 * byte equality with zlib up to one segment, inflation by node:zlib and by
 * the web platform beyond, the Adler-32 trailer, levels, errors, early return, memory.
 */
import { createHook } from 'node:async_hooks';
import { deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { adler32 } from '../src/platform/common.ts';
import * as node from '../src/platform/node.ts';
import { DEFLATE_IN_FLIGHT, DEFLATE_SEGMENT, zlibHeader } from '../src/platform/node-deflate.ts';
import * as web from '../src/platform/web.ts';
import { collect, fromBytes } from '../src/stream.ts';
import { encryptV2 } from '../src/v2/encrypt.ts';
import { CREATED_AT, drain, firstDiff, fixedRandom, KEY, payload, pieces } from './v2-helpers.ts';

const S = DEFLATE_SEGMENT;
const BIG = { maxOutputBytes: 2 ** 40 };
const SIZES = [0, 1, 1000, S - 1, S, S + 1, 3 * S + 12_345];

/** Compressible: text-like runs with some noise (like a wallet database). */
function compressible(n: number, seed = 3): Uint8Array {
  const noise = fixedRandom(seed)(n);
  const out = new Uint8Array(n);
  const text = new TextEncoder().encode('{"txid":"a1b2c3","amount_sat":21000,"label":"coffee"},');
  for (let i = 0; i < n; i++) out[i] = noise[i]! < 16 ? noise[i]! : text[i % text.length]!;
  return out;
}

const KINDS: [string, (n: number, seed?: number) => Uint8Array][] = [
  ['random', (n, seed) => fixedRandom(seed)(n)],
  ['compressible', compressible],
];

function zlibOf(data: Uint8Array, level?: number): Uint8Array {
  return new Uint8Array(deflateSync(data, level === undefined ? {} : { level }));
}

describe('node deflate: round trip at boundary sizes and odd read sizes', () => {
  for (const [kind, make] of KINDS) {
    it(`${kind} data inflates with zlib.inflateSync and web inflate`, async () => {
      for (const n of SIZES) {
        const data = make(n, n + 1);
        for (const read of [4093, 65_537, 1_000_003]) {
          const z = await collect(node.deflate(pieces(data, read)));
          const label = `${kind} n=${n} read=${read}`;
          expect(firstDiff(new Uint8Array(inflateSync(z)), data), label).toBe(-1);
          if (read === 4093) {
            const back = await collect(web.inflate(pieces(z, 70_001), BIG));
            expect(firstDiff(back, data), label).toBe(-1);
            const viaNode = await collect(node.inflate(pieces(z, 9999), BIG));
            expect(firstDiff(viaNode, data), label).toBe(-1);
          }
        }
      }
    });
  }

  it('tiny reads (1 and 7 bytes) across a segment boundary', async () => {
    const data = compressible(S + 3000);
    for (const read of [1, 7]) {
      // One byte per chunk over 1 MiB is slow through `pieces`; feed views instead.
      async function* views() {
        for (let off = 0; off < data.length; off += read) yield data.subarray(off, off + read);
      }
      const z = await collect(node.deflate(views()));
      expect(firstDiff(new Uint8Array(inflateSync(z)), data), `read ${read}`).toBe(-1);
    }
  });

  it('many segments at levels 1 and 9, same output whatever the read size', async () => {
    const data = compressible(5 * S + 77, 9);
    for (const level of [1, 9]) {
      const a = await collect(node.deflate(pieces(data, 65_536), { level }));
      const b = await collect(node.deflate(pieces(data, 333_333), { level }));
      expect(firstDiff(a, b)).toBe(-1);
      expect(firstDiff(new Uint8Array(inflateSync(a)), data)).toBe(-1);
      // Segmenting costs little: within 1% of single-stream zlib.
      expect(a.length).toBeLessThan(zlibOf(data, level).length * 1.01);
    }
  });

  it('reuses segment buffers only once compressed: a slow source, many segments', async () => {
    // Pooled segment buffers are refilled while later segments compress. A slow source
    // (as a file read is) lets a job finish before the next segment starts: a buffer
    // reused too early, or a dictionary still pointing into a refilled one, corrupts.
    const data = compressible(4 * DEFLATE_IN_FLIGHT * S + 4321, 11);
    async function* slow() {
      for await (const chunk of pieces(data, 256 * 1024)) {
        await new Promise((r) => setTimeout(r, 3));
        yield chunk;
      }
    }
    const z = await collect(node.deflate(slow(), { level: 1 }));
    expect(firstDiff(new Uint8Array(inflateSync(z)), data)).toBe(-1);
    // Deterministic: the same bytes as a run with no pauses.
    expect(firstDiff(await collect(node.deflate(pieces(data, 65_536), { level: 1 })), z)).toBe(-1);
  });
});

describe('node deflate: zlib framing', () => {
  it('up to one segment, byte for byte zlib.deflateSync at levels 1, 6, 9', async () => {
    for (const n of [0, 1, 1000, S - 1, S]) {
      const data = compressible(n, n);
      for (const level of [1, 6, 9]) {
        const z = await collect(node.deflate(pieces(data, 65_537), { level }));
        expect(firstDiff(z, zlibOf(data, level)), `n=${n} level=${level}`).toBe(-1);
      }
      // The default level is zlib's default, 6.
      const z = await collect(node.deflate(pieces(data, 65_537)));
      expect(firstDiff(z, zlibOf(data)), `n=${n}`).toBe(-1);
    }
  });

  it('beyond one segment: zlib’s own header for each level, and the Adler-32 trailer', async () => {
    const data = compressible(2 * S + 5);
    const expected = adler32(1, data);
    for (let level = 1; level <= 9; level++) {
      expect(zlibHeader(level), `level ${level}`).toEqual(
        zlibOf(Uint8Array.of(1), level).subarray(0, 2),
      );
      if (level % 4 !== 1) continue; // 1, 5, 9: a whole compression each
      const z = await collect(node.deflate(fromBytes(data), { level }));
      expect(z.subarray(0, 2)).toEqual(zlibHeader(level));
      const t = z.subarray(-4);
      expect(((t[0]! << 24) | (t[1]! << 16) | (t[2]! << 8) | t[3]!) >>> 0).toBe(expected);
      // inflateSync checks the trailer: a wrong one is rejected.
      const bad = z.slice();
      bad[bad.length - 1]! ^= 1;
      expect(() => inflateSync(bad)).toThrow(/incorrect data check/);
    }
  });

  it('node and web outputs differ beyond one segment, and each inflates with the other', async () => {
    const data = payload(S + 1000, 4);
    const a = await collect(node.deflate(pieces(data, 65_536)));
    const b = await collect(web.deflate(pieces(data, 65_536)));
    for (const z of [a, b]) {
      expect(firstDiff(await collect(web.inflate(pieces(z, 65_536), BIG)), data)).toBe(-1);
      expect(firstDiff(await collect(node.inflate(pieces(z, 65_536), BIG)), data)).toBe(-1);
    }
  });
});

describe('node deflate: levels', () => {
  it('rejects a level outside 1..9 at call time, on both platforms and in encryptV2', () => {
    const never = pieces(new Uint8Array(10), 1); // checked before any read
    for (const p of [node.platform, web.platform]) {
      for (const level of [0, 10, -1])
        expect(() => p.deflate(never, { level })).toThrow(RangeError);
      for (const level of [1.5, Number.NaN, '6'])
        expect(() => p.deflate(never, { level: level as number })).toThrow(TypeError);
      expect(() => p.deflate(never, { level: 0 })).toThrow(/level must be in \[1, 9\]/);
    }
    const opts = { key: KEY, createdAt: CREATED_AT, sequence: 1 };
    expect(() => encryptV2(never, { ...opts, compressionLevel: 0 })).toThrow(
      /compressionLevel must be in \[1, 9\]/,
    );
    expect(() => encryptV2(never, { ...opts, compressionLevel: 10 })).toThrow(RangeError);
  });

  it('encryptV2 passes its compressionLevel to the compressor', async () => {
    const data = compressible(S + 5000, 21);
    const opts = { key: KEY, createdAt: CREATED_AT, sequence: 1, random: fixedRandom(2) };
    const sizes = [];
    for (const compressionLevel of [1, 6, 9]) {
      const file = await collect(encryptV2(fromBytes(data), { ...opts, compressionLevel }));
      sizes.push(file.length);
    }
    const byDefault = await collect(encryptV2(fromBytes(data), opts));
    expect(byDefault.length).toBe(sizes[1]);
    expect(sizes[0]).toBeGreaterThan(sizes[2]!);
  });
});

describe('node deflate: errors and early return', () => {
  /** ZLIB handles whose pool work has not called back yet (async_hooks). */
  function zlibTracker() {
    const running = new Set<number>();
    const hook = createHook({
      init(id, type) {
        if (type === 'ZLIB') running.add(id);
      },
      before(id) {
        running.delete(id);
      },
    }).enable();
    return { running, stop: () => hook.disable() };
  }

  it('a source that throws mid-way rejects with its error, after the pool work settled', async () => {
    const seg = compressible(S);
    let closed = false;
    async function* source() {
      try {
        for (let i = 0; i < 5; i++) yield seg;
        yield seg.subarray(0, 1000);
        throw new Error('disk on fire');
      } finally {
        closed = true;
      }
    }
    const tracker = zlibTracker();
    try {
      const r = await drain(node.deflate(source(), { level: 9 }));
      expect((r.error as Error).message).toBe('disk on fire');
      expect(tracker.running.size).toBe(0);
      expect(closed).toBe(true);
    } finally {
      tracker.stop();
    }
  });

  it('an early return stops the source and waits for the segments in flight', async () => {
    let pulled = 0;
    let closed = false;
    const seg = compressible(S);
    async function* endless() {
      try {
        for (;;) {
          pulled++;
          yield seg;
        }
      } finally {
        closed = true;
      }
    }
    const tracker = zlibTracker();
    try {
      const z = node.deflate(endless(), { level: 1 });
      const first = await z.next();
      expect(first.done).toBe(false);
      await z.return(undefined);
      expect(closed).toBe(true);
      expect(tracker.running.size).toBe(0);
      // In flight, one held back, and the one being cut: nothing read far ahead.
      expect(pulled).toBeLessThanOrEqual(DEFLATE_IN_FLIGHT + 3);
    } finally {
      tracker.stop();
    }
  });
});

describe('node deflate: memory', () => {
  it('compresses 256 MiB from a generator with a small, constant RSS', async () => {
    const mib = 256;
    const seg = compressible(1 << 20, 11);
    async function* source() {
      for (let i = 0; i < mib; i++) yield seg;
    }
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    let out = 0;
    const plain = node.inflate(node.deflate(source(), { level: 1 }), BIG);
    for await (const chunk of plain) {
      out += chunk.length;
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    expect(out).toBe(mib << 20); // and node:zlib checked the Adler-32 trailer
    // Buffering the input would add 256 MiB; the segments in flight are a few MiB.
    expect((peak - baseline) / 2 ** 20).toBeLessThan(64);
  }, 60_000);
});
