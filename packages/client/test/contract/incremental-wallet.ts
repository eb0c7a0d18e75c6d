/**
 * The contract of `IncrementalWalletAdapter` (`src/ports.ts`) as a kit, on the same
 * harness as the wallet data kit: a page-stable snapshot makes the snapshot's refusals
 * and keeps page numbers; a tree restore stages what its fill writes and swaps it in
 * atomically, or changes nothing; a tree verify keeps nothing. Platform-neutral.
 * @module
 */
import { describe, expect, it } from 'vitest';
import {
  isIncremental,
  type IncrementalWalletAdapter,
  type PageSnapshot,
  type TreeFill,
} from '../../src/ports.ts';
import type { WalletDataFactory, WalletDataHarness } from './wallet-data.ts';

async function adapterOf(w: WalletDataHarness): Promise<IncrementalWalletAdapter> {
  if (!isIncremental(w.adapter)) throw new Error('the adapter takes no page snapshots');
  return w.adapter;
}

async function bytesOf(snap: PageSnapshot, path: string, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let at = 0;
  for await (const chunk of snap.read(path, 0, length)) {
    out.set(chunk, at);
    at += chunk.length;
  }
  expect(at).toBe(length);
  return out;
}

/** A fill that writes the snapshot's tree back, pages in reverse order (order must not matter). */
function copyOf(snap: PageSnapshot, failAfter?: number): TreeFill {
  return async (sink) => {
    let written = 0;
    for (const item of snap.items) {
      if (item.type === 'directory') {
        await sink.mkdir(item.path);
        continue;
      }
      const size = item.type === 'file' ? item.size : item.pageCount * item.pageSize;
      await sink.create(item.path, size, item.type);
      const data = await bytesOf(snap, item.path, size);
      const unit = item.type === 'database' ? item.pageSize : Math.max(size, 1);
      for (let at = size - unit; at >= 0; at -= unit) {
        if (failAfter !== undefined && written++ >= failAfter) throw new Error('fill failed');
        await sink.write(item.path, at, data.subarray(at, at + unit));
      }
    }
  };
}

/**
 * Runs the contract on one implementation.
 * @param name - the implementation
 * @param factory - a fresh wallet per test (the wallet data kit's harness)
 */
export function incrementalWalletContract(name: string, factory: WalletDataFactory): void {
  describe(`IncrementalWalletAdapter contract: ${name}`, () => {
    it('a page snapshot names its databases and reads every page', async () => {
      const w = await factory({});
      const snap = await (await adapterOf(w)).pageSnapshot({});
      try {
        expect(snap.databases.length).toBeGreaterThan(0);
        for (const db of snap.databases) {
          const item = snap.items.find((i) => i.path === db);
          expect(item?.type).toBe('database');
          if (item?.type !== 'database') continue;
          const data = await bytesOf(snap, db, item.pageCount * item.pageSize);
          expect(new TextDecoder().decode(data.subarray(0, 15))).toBe('SQLite format 3');
        }
      } finally {
        await snap.cleanup();
        await snap.cleanup(); // idempotent
      }
      expect(await w.leftovers()).toEqual([]);
    });

    it('keeps page numbers: after a small change most pages are the same', async () => {
      const w = await factory({});
      const a = await adapterOf(w);
      const pagesOf = async () => {
        const snap = await a.pageSnapshot({});
        try {
          const db = snap.items.find((i) => i.type === 'database')!;
          if (db.type !== 'database') throw new Error('no database');
          return {
            size: db.pageSize,
            data: await bytesOf(snap, db.path, db.pageCount * db.pageSize),
          };
        } finally {
          await snap.cleanup();
        }
      };
      const before = await pagesOf();
      await w.change();
      const after = await pagesOf();
      let differ = 0;
      const n = Math.min(before.data.length, after.data.length) / before.size;
      for (let p = 0; p < n; p++) {
        const o = p * before.size;
        const x = before.data.subarray(o, o + before.size);
        const y = after.data.subarray(o, o + before.size);
        if (!x.every((b, i) => b === y[i])) differ++;
      }
      expect(differ).toBeGreaterThan(0);
      expect(differ).toBeLessThan(n / 10);
    });

    it('a page snapshot refuses a damaged database and no wallet, changing nothing', async () => {
      const w = await factory({});
      const a = await adapterOf(w);
      await w.damageDatabase();
      const bytes = await w.bytes();
      // Refused when taken, or by `checked` (whose check may run while the copy is read).
      const checked = async () => {
        const snap = await a.pageSnapshot({});
        try {
          await snap.checked;
        } finally {
          await snap.cleanup();
        }
      };
      await expect(checked()).rejects.toMatchObject({ code: 'corrupt_wallet_database' });
      expect(await w.bytes()).toBe(bytes);
      await w.removeAll();
      await expect(checked()).rejects.toMatchObject({ code: 'not_a_wallet' });
      expect(await w.leftovers()).toEqual([]);
    });

    it('a tree restore swaps in what the fill wrote; a failed fill changes nothing', async () => {
      const w = await factory({});
      const a = await adapterOf(w);
      const contents = await w.contents();
      const snap = await a.pageSnapshot({});
      try {
        await w.change();
        const changed = await w.bytes();
        await expect(a.restoreTree(copyOf(snap, 3), {})).rejects.toThrow('fill failed');
        expect(await w.bytes()).toBe(changed);
        await expect(a.verifyTree(copyOf(snap), {})).resolves.toMatchObject({
          databases: snap.databases.length,
        });
        expect(await w.bytes()).toBe(changed);
        const r = await a.restoreTree(copyOf(snap), {});
        expect(r.entries).toBe(snap.items.filter((i) => i.type !== 'directory').length);
      } finally {
        await snap.cleanup();
      }
      expect(await w.contents()).toBe(contents);
    });
  });
}
