/**
 * The restore plan, slicing and the restore check (FORMAT.md §8.7): pieces sorted by
 * offset with their positions, slices in whole pages whatever the chunking, and a proof
 * at the end that fails for any missing, doubled or altered byte.
 */
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../src/bytes.ts';
import { DecryptionError, MalformedManifestError } from '../src/errors.ts';
import { createDigester } from '../src/incremental/digest.ts';
import { encryptPack, openPack } from '../src/incremental/objects.ts';
import { createRestoreCheck, type PackSlice, slicePack } from '../src/incremental/restore-check.ts';
import { restorePlan } from '../src/incremental/restore-plan.ts';
import type { Manifest } from '../src/incremental/types.ts';
import { collect, fromBytes } from '../src/stream.ts';
import { backup, DIGEST_KEY, type Device, restore, type Wallet } from './incremental-model.ts';
import { sampleManifest } from './incremental-helpers.ts';
import { CREATED_AT, fixedRandom, KEY } from './v2-helpers.ts';

const digester = createDigester(DIGEST_KEY);

describe('restorePlan', () => {
  it('lists each pack’s pieces by offset, with entry and position', () => {
    const plan = restorePlan(sampleManifest());
    expect(plan.map((p) => [p.pack, p.record.key, p.pieces])).toEqual([
      [
        0,
        sampleManifest().packs[0]!.key,
        [
          { offset: 0, length: 6144, entry: 3, position: 0 },
          { offset: 7168, length: 2048, entry: 3, position: 8 * 1024 },
        ],
      ],
      [
        1,
        sampleManifest().packs[1]!.key,
        [
          { offset: 0, length: 100, entry: 0, position: 0 },
          { offset: 1024, length: 2048, entry: 3, position: 6 * 1024 },
        ],
      ],
    ]);
  });

  it('refuses pages without exactly one place, overlaps, and references past a pack', () => {
    const edit = (f: (m: Manifest) => void) => {
      const m = structuredClone(sampleManifest());
      f(m);
      return () => restorePlan(m);
    };
    const runs = (m: Manifest) =>
      (m.entries[3] as { runs: { count: number; offset: number; pack: number }[] }).runs;
    expect(edit((m) => (runs(m)[0]!.count = 5))).toThrow(/exactly one place/);
    expect(edit((m) => (runs(m)[0]!.count = 7))).toThrow(/exactly one place/);
    expect(edit((m) => (runs(m)[2]!.offset = 6000))).toThrow(/overlap/);
    expect(edit((m) => (runs(m)[2]!.offset = 8000))).toThrow(/past the end/);
    expect(edit((m) => (runs(m)[2]!.pack = 7))).toThrow(MalformedManifestError);
  });
});

/** A manifest of one database, 3 packs of random pages, laid out by a real backup. */
async function twoDays() {
  const page = (seed: number) => fixedRandom(seed)(1024);
  const w: Wallet = {
    files: new Map([['cfg', fixedRandom(99)(3000)]]),
    databases: new Map([
      ['db', { pageSize: 1024, pages: Array.from({ length: 150 }, (_, i) => page(i + 1)) }],
    ]),
  };
  const device: Device = { cache: new Map(), store: new Map(), written: 0 };
  const params = {
    garbageThreshold: 0.25,
    rewriteBudget: 1.25,
    fullChangeRatio: 0.5,
    maxPacks: 100,
    packTarget: 65536,
  };
  await backup(w, device, params);
  for (const p of [3, 4, 70, 71, 149]) w.databases.get('db')!.pages[p] = page(1000 + p);
  const { manifest } = await backup(w, device, params);
  return { w, device, manifest };
}

describe('slicePack and the restore check', () => {
  it('slice database pieces into whole pages, whatever the chunks', async () => {
    const { device, manifest } = await twoDays();
    for (const p of restorePlan(manifest)) {
      const plain = device.store.get(p.record.key)!;
      for (const size of [7, 1000, 1024, 5000, plain.length]) {
        const slices: PackSlice[] = [];
        for await (const s of slicePack(fromBytes(plain, size), manifest, p))
          slices.push({ ...s, data: s.data.slice() });
        let bytes = 0;
        for (const s of slices) {
          const e = manifest.entries[s.piece.entry]!;
          if (e.type === 'database') {
            expect(s.position % 1024).toBe(0);
            expect(s.data.length % 1024).toBe(0);
          }
          const from = s.piece.offset + s.position - s.piece.position;
          expect(Buffer.compare(s.data, plain.subarray(from, from + s.data.length))).toBe(0);
          bytes += s.data.length;
        }
        expect(bytes).toBe(p.pieces.reduce((n, x) => n + x.length, 0));
      }
    }
  });

  it('restores the exact bytes and returns the page digests', async () => {
    const { w, device, manifest } = await twoDays();
    const { files, pageDigests } = await restore(
      manifest,
      device.store,
      [...manifest.packs.keys()].reverse(),
    );
    const dbIndex = manifest.entries.findIndex((e) => e.path === 'db');
    expect(Buffer.compare(files.get(dbIndex)!, concatBytes(...w.databases.get('db')!.pages))).toBe(
      0,
    );
    expect(pageDigests.get(dbIndex)).toEqual(device.cache.get('db')!.digests);
  });

  it('fails for a missing pack, a short pack, a doubled slice, or one altered byte', async () => {
    const { device, manifest } = await twoDays();
    const plan = restorePlan(manifest);
    const run = async (
      mutate: (k: number, plain: Uint8Array) => Uint8Array | undefined,
      twice = false,
    ) => {
      const check = createRestoreCheck(manifest, digester);
      for (const [k, p] of plan.entries()) {
        const plain = mutate(k, device.store.get(p.record.key)!);
        if (!plain) continue;
        for await (const s of slicePack(fromBytes(plain, 4096), manifest, p)) {
          await check.add(s);
          if (twice) await check.add(s);
        }
      }
      return check.finish();
    };
    await expect(run((_, x) => x)).resolves.toBeInstanceOf(Map);
    await expect(run((k, x) => (k === 0 ? undefined : x))).rejects.toThrow(DecryptionError);
    await expect(run((k, x) => (k === 0 ? x.subarray(0, x.length - 1) : x))).rejects.toThrow(
      DecryptionError,
    );
    await expect(run((_, x) => x, true)).rejects.toThrow(DecryptionError);
    for (const [k, p] of plan.entries())
      for (const piece of p.pieces) {
        const at = piece.offset + Math.floor(piece.length / 2);
        const flipped = (j: number, x: Uint8Array) => {
          if (j !== k) return x;
          const y = x.slice();
          y[at]! ^= 1;
          return y;
        };
        await expect(run(flipped), `pack ${k} offset ${at}`).rejects.toThrow(DecryptionError);
      }
  });

  it('works on the plaintext of a real pack object, opened against its record', async () => {
    const { device, manifest } = await twoDays();
    const p = restorePlan(manifest)[0]!;
    const sealed = encryptPack(fromBytes(device.store.get(p.record.key)!), {
      key: KEY,
      createdAt: CREATED_AT,
      sequence: 2,
      compression: 'zstd',
    });
    const bytes = await collect(sealed.stream);
    const record = { ...p.record, ...sealed.summary() };
    const { plaintext } = await openPack(fromBytes(bytes, 9999), { key: KEY, pack: record });
    let n = 0;
    for await (const s of slicePack(plaintext, manifest, { ...p, record })) n += s.data.length;
    expect(n).toBe(p.pieces.reduce((a, x) => a + x.length, 0));
  });
});
