/**
 * The Node tree restore (`src/node/tree-restore.ts`, docs/WALLET.md §3) with a database
 * large enough to be flushed in steps while its pages arrive: every page lands where the
 * fill put it, whatever the order and however many writers, and nothing is left open or
 * behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TreeFill } from '../src/ports.ts';
import { createNodeWalletAdapter } from '../src/node/wallet.ts';
import { leftovers, tempDir } from './fixtures/node-helpers.ts';

const PAGE = 4096;

describe('tree restore of a large database', () => {
  it('writes every page in place across several early flushes, from four writers at once', async () => {
    const root = await tempDir();
    const target = join(root, 'wallet');
    // 40 MiB: more than two flush steps of 16 MiB; random pages, so a misplaced one shows.
    const pages = 10_240;
    const image = randomBytes(pages * PAGE);
    const fill: TreeFill = async (sink) => {
      await sink.create('wallet.sqlite', image.length, 'database');
      // Four writers, each taking runs of 1 to 64 pages from the end backwards (as packs
      // arrive in any order), each run from a buffer it then overwrites (the fill reuses
      // its buffers once a write has settled).
      let next = pages;
      const writer = async () => {
        const buf = new Uint8Array(64 * PAGE);
        while (next > 0) {
          const count = Math.min(next, 1 + ((next * 7) % 64));
          next -= count;
          const at = next * PAGE;
          buf.set(image.subarray(at, at + count * PAGE));
          await sink.write('wallet.sqlite', at, buf.subarray(0, count * PAGE));
          buf.fill(0xee);
        }
      };
      await Promise.all([writer(), writer(), writer(), writer()]);
    };
    const r = await createNodeWalletAdapter({ dataDir: target }).restoreTree(fill, {});
    expect(r).toMatchObject({ entries: 1, databasePaths: ['wallet.sqlite'], previous: null });
    const restored = await fsp.readFile(join(target, 'wallet.sqlite'));
    expect(restored.length).toBe(image.length);
    const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    expect(digest(restored)).toBe(digest(image));
    expect(await leftovers(root)).toEqual([]);
  });
});
