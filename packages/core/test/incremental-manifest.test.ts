/**
 * The manifest codec (FORMAT.md §8.4, §8.6): round trips, the exact byte layout, and every
 * MUST-reject rule, each broken alone.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '../src/bytes.ts';
import {
  LimitExceededError,
  MalformedManifestError,
  UnsupportedVersionError,
} from '../src/errors.ts';
import {
  decodeManifest,
  encodeManifest,
  writeManifestFields,
} from '../src/incremental/manifest.ts';
import type { Manifest } from '../src/incremental/types.ts';
import { fieldReader, fieldWriter } from '../src/incremental/varint.ts';
import { arbManifest, digest, pack, sampleManifest } from './incremental-helpers.ts';

/** The decoder's error for `bytes`, or undefined if it decodes. */
function rejection(bytes: Uint8Array): unknown {
  try {
    decodeManifest(bytes);
    return undefined;
  } catch (err) {
    return err;
  }
}

/** Asserts the decoder rejects `m` (written unchecked) as malformed, naming `rule`. */
function rejects(m: Manifest, rule: RegExp) {
  const err = rejection(writeManifestFields(m));
  expect(err, String(rule)).toBeInstanceOf(MalformedManifestError);
  expect((err as Error).message).toMatch(rule);
  // The encoder refuses the same manifest, with the same rule.
  expect(() => encodeManifest(m)).toThrow(rule);
}

/** The sample, edited by `edit` (on a deep copy). */
function edited(edit: (m: Manifest) => void): Manifest {
  const m = structuredClone(sampleManifest());
  edit(m);
  return m;
}

describe('varints (FORMAT.md §8.4)', () => {
  const fail = (rule: string) => new Error(rule);
  const enc = (n: number) => {
    const w = fieldWriter();
    w.varint(n);
    return bytesToHex(w.finish());
  };
  it('are unsigned LEB128, minimal, up to 2^53 − 1', () => {
    expect(enc(0)).toBe('00');
    expect(enc(127)).toBe('7f');
    expect(enc(128)).toBe('8001');
    expect(enc(300)).toBe('ac02');
    expect(enc(2 ** 53 - 1)).toBe('ffffffffffffff0f');
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        expect(fieldReader(hexToBytes(enc(n)), fail).varint()).toBe(n);
      }),
    );
    expect(() => enc(-1)).toThrow(RangeError);
    expect(() => enc(2 ** 53)).toThrow(RangeError);
  });
  it('reject non-minimal, too long, too large and cut encodings', () => {
    const read = (hex: string) => () => fieldReader(hexToBytes(hex), fail).varint();
    expect(read('8000')).toThrow('varint not minimally encoded');
    expect(read('ff00')).toThrow('varint not minimally encoded');
    expect(read('80808080808080808001')).toThrow('varint longer than 9 bytes');
    expect(read('8080808080808010')).toThrow('varint above 2^53 - 1'); // 2^53
    expect(read('ffffffffffffffff7f')).toThrow('varint above 2^53 - 1'); // 2^63 − 1
    expect(read('8080')).toThrow('ends inside a field');
  });
});

describe('manifest round trip', () => {
  it('decode(encode(m)) equals m, and encoding is deterministic', () => {
    fc.assert(
      fc.property(arbManifest, (m) => {
        const bytes = encodeManifest(m);
        const back = decodeManifest(bytes);
        expect(back).toEqual(m);
        expect(encodeManifest(back)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('lays the fields out exactly as FORMAT.md §8.4 says', () => {
    const m: Manifest = {
      packs: [{ key: 'b/k', size: 200, sha256: digest(0xaa), plainSize: 600 }],
      entries: [
        { type: 'directory', path: 'd' },
        { type: 'file', path: 'd/f', size: 2, digest: digest(0xbb), pack: 0, offset: 0 },
        {
          type: 'database',
          path: 'db',
          pageSize: 512,
          pageCount: 1,
          digest: digest(0xcc),
          runs: [{ count: 1, pack: 0, offset: 2 }],
        },
      ],
    };
    const want = concatBytes(
      utf8ToBytes('NBMF'),
      hexToBytes('0100' + '01'), // version, flags, pack_count
      hexToBytes('03'),
      utf8ToBytes('b/k'),
      hexToBytes('c801'), // size 200
      digest(0xaa),
      hexToBytes('d804' + '03'), // plain_size 600, entry_count
      hexToBytes('01' + '01'),
      utf8ToBytes('d'),
      hexToBytes('02' + '03'),
      utf8ToBytes('d/f'),
      hexToBytes('02'),
      digest(0xbb),
      hexToBytes('00' + '00'),
      hexToBytes('03' + '02'),
      utf8ToBytes('db'),
      hexToBytes('00000200' + '01'),
      digest(0xcc),
      hexToBytes('01' + '01' + '00' + '02'),
    );
    expect(bytesToHex(encodeManifest(m))).toBe(bytesToHex(want));
    expect(decodeManifest(want)).toEqual(m);
  });

  it('accepts the empty manifest (an empty data directory)', () => {
    const empty = encodeManifest({ packs: [], entries: [] });
    expect(bytesToHex(empty)).toBe(bytesToHex(utf8ToBytes('NBMF')) + '01000000');
    expect(decodeManifest(empty)).toEqual({ packs: [], entries: [] });
  });
});

describe('the decoder rejects (FORMAT.md §8.6)', () => {
  const good = encodeManifest(sampleManifest());

  it('a wrong magic, another version, non-zero flags, cut input, trailing bytes', () => {
    const bad = (i: number, v: number) => {
      const b = good.slice();
      b[i] = v;
      return b;
    };
    expect((rejection(bad(0, 0x4f)) as Error).message).toMatch(/magic/);
    const version = rejection(bad(4, 2));
    expect(version).toBeInstanceOf(UnsupportedVersionError);
    expect((version as UnsupportedVersionError).version).toBe(2);
    expect((rejection(bad(5, 1)) as Error).message).toMatch(/flags/);
    for (const cut of [0, 3, 5, 6, 20, good.length - 1])
      expect((rejection(good.subarray(0, cut)) as Error).message, `cut ${cut}`).toMatch(
        /ends inside a field/,
      );
    const trailing = rejection(concatBytes(good, Uint8Array.of(0)));
    expect((trailing as Error).message).toMatch(/bytes after the last entry/);
  });

  it('a non-minimal varint', () => {
    // pack_count (offset 6) 0x02 written as 0x82 0x00.
    const b = concatBytes(good.subarray(0, 6), hexToBytes('8200'), good.subarray(7));
    expect((rejection(b) as Error).message).toMatch(/not minimally encoded/);
  });

  it('an unknown entry type', () => {
    const bytes = writeManifestFields(sampleManifest());
    const at = bytesToHex(bytes).indexOf(`020b${bytesToHex(utf8ToBytes('config.json'))}`);
    expect(at % 2).toBe(0);
    const b = bytes.slice();
    b[at / 2] = 4;
    expect((rejection(b) as Error).message).toMatch(/unknown entry type 4/);
  });

  it('a path that is not UTF-8', () => {
    const bytes = writeManifestFields(edited((m) => (m.entries[0]!.path = 'config.jsoé')));
    const at = bytesToHex(bytes).indexOf('c3a9') / 2;
    const b = bytes.slice();
    b[at + 1] = 0x28; // C3 28: not a continuation byte
    expect((rejection(b) as Error).message).toMatch(/not valid UTF-8/);
  });

  it('limits: packs, entries, page count, key and path length', () => {
    rejects(
      edited((m) => (m.packs[0]!.key = 'k'.repeat(129))),
      /key not 1\.\.128 bytes/,
    );
    rejects(
      edited((m) => (m.packs[0]!.key = '')),
      /key not 1\.\.128 bytes/,
    );
    rejects(
      edited((m) => (m.entries[0]!.path = 'x'.repeat(4097))),
      /path too long|longer than 4096/,
    );
    const many = (n: number): Manifest => ({
      packs: [],
      entries: Array.from({ length: n }, (_, i) => ({
        type: 'directory' as const,
        path: `d${String(i).padStart(6, '0')}`,
      })),
    });
    expect(decodeManifest(encodeManifest(many(100_000))).entries.length).toBe(100_000);
    rejects(many(100_001), /more than 100000 entries/);
    const packs = Array.from({ length: 65_537 }, (_, i) => pack(i, 512));
    const runs = packs.map((_, i) => ({ count: 1, pack: i, offset: 0 }));
    const db = { type: 'database' as const, path: 'db', pageSize: 512, digest: digest(1) };
    rejects({ packs, entries: [{ ...db, pageCount: runs.length, runs }] }, /more than 65536 packs/);
    const count = 2 ** 31 + 1;
    rejects(
      {
        packs: [pack(0, count * 512)],
        entries: [{ ...db, pageCount: count, runs: [{ count, pack: 0, offset: 0 }] }],
      },
      /page count not in 1\.\.2\^31/,
    );
  });

  it('a manifest over 64 MiB, before parsing it', () => {
    expect(rejection(new Uint8Array(64 * 2 ** 20 + 1))).toBeInstanceOf(LimitExceededError);
  });

  it('bad packs: key characters, duplicate keys, sizes', () => {
    rejects(
      edited((m) => (m.packs[0]!.key = 'b/\u00ff')),
      /outside \[A-Za-z0-9/,
    );
    rejects(
      edited((m) => (m.packs[0]!.key = 'b/a b')),
      /outside \[A-Za-z0-9/,
    );
    rejects(
      edited((m) => (m.packs[1]!.key = m.packs[0]!.key)),
      /key listed twice/,
    );
    rejects(
      edited((m) => (m.packs[0]!.size = 107)),
      /not a v2 file size/,
    );
    rejects(
      edited((m) => (m.packs[0]!.size = 92 + 262144 + 16 + 16)),
      /not a v2 file size/,
    );
    rejects(
      edited((m) => (m.packs[0]!.plainSize = 2 ** 50 + 1)),
      /plain_size above 2\^50/,
    );
  });

  it('bad paths: every rule of FORMAT.md §8.5, order and parents', () => {
    const paths: [string, RegExp][] = [
      ['', /empty path/],
      ['a\0b', /NUL/],
      ['a\\b', /backslash/],
      ['/abs', /absolute path/],
      ['C:x', /drive letter/],
      ['../x', /\(\.\.\)/],
      ['./x', /\(\.\) segment/],
      ['a//b', /empty path segment/],
      ['a/', /empty path segment/],
      [`${'a/'.repeat(64)}b`, /nested too deep/],
    ];
    for (const [p, rule] of paths)
      rejects(
        edited((m) => (m.entries[0]!.path = p)),
        rule,
      );
    rejects(
      edited((m) => m.entries.splice(0, 2, m.entries[1]!, m.entries[0]!)),
      /unsorted or duplicate/,
    );
    rejects(
      edited((m) => (m.entries[1]!.path = 'config.json')),
      /unsorted or duplicate/,
    );
    rejects(
      edited((m) => m.entries.splice(1, 1)),
      /parent directory not listed/,
    );
    // A file is not a directory: "config.json/x" has no directory parent.
    rejects(
      edited((m) => m.entries.splice(1, 0, { ...m.entries[2]!, path: 'config.json/x' })),
      /parent directory not listed/,
    );
  });

  it('bad files and databases', () => {
    const db = (m: Manifest) => m.entries[3] as Extract<(typeof m.entries)[3], { runs: unknown }>;
    const file = (m: Manifest) => m.entries[0] as { size: number; pack: number; offset: number };
    const cases: [(m: Manifest) => void, RegExp][] = [
      [(m) => (file(m).pack = 2), /pack index out of range/],
      [(m) => (file(m).offset = 4901), /past the end of its pack/],
      [(m) => ((m.entries[2] as { pack: number }).pack = 1), /empty file with a pack index/],
      [(m) => ((m.entries[2] as { offset: number }).offset = 1), /empty file with a pack index/],
      [(m) => (db(m).pageSize = 1000), /page size not a power of two/],
      [(m) => (db(m).pageSize = 256), /page size not a power of two/],
      [(m) => (db(m).pageSize = 131072), /page size not a power of two/],
      [(m) => (db(m).pageCount = 0), /page count not in 1\.\.2\^31/],
      [(m) => (db(m).runs = []), /run count not in 1\.\.page_count/],
      [(m) => (db(m).pageCount = 2), /run count not in 1\.\.page_count/],
      [(m) => (db(m).runs[0]!.count = 0), /run of no pages/],
      [(m) => (db(m).runs[1]!.pack = 2), /pack index out of range/],
      [(m) => (db(m).runs[2]!.offset = 7169), /past the end of its pack/],
      [(m) => (db(m).pageCount = 11), /cover fewer than page_count/],
      [(m) => (db(m).pageCount = 9), /cover more than page_count/],
    ];
    for (const [edit, rule] of cases) rejects(edited(edit), rule);
  });

  it('a pack no entry references, and two references that overlap', () => {
    rejects(
      edited((m) => m.packs.push(pack(2, 10))),
      /pack 2: referenced by no entry/,
    );
    rejects(
      edited((m) => ((m.entries[3] as { runs: { offset: number }[] }).runs[2]!.offset = 5121)),
      /two references overlap/,
    );
    // The file at 0..100 of pack 1 and the run at 1024 of it: moving the file to 1000 overlaps.
    rejects(
      edited((m) => ((m.entries[0] as { offset: number }).offset = 1000)),
      /two references overlap/,
    );
  });
});
