/**
 * The incremental benchmark's yardsticks: the workload writes the day it promises (and
 * leaves it in the WAL), the same seed writes the same bytes, and the page counter counts
 * exactly the pages that differ.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { countChangedPages } from './pages.ts';
import {
  checkpointCopy,
  contentDigest,
  createWallet,
  NEW_PAYMENTS,
  OLDER_SHARE,
  PAGE_SIZE,
  RECENT_UPDATES,
  SeededRandom,
  type Wallet,
  writeDay,
} from './workload.ts';

const dirs: string[] = [];
const wallets: Wallet[] = [];
const scratch = () => {
  const d = mkdtempSync(join(tmpdir(), 'noah-inc-workload-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const w of wallets.splice(0)) if (w.db.open) w.db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('SeededRandom', () => {
  it('gives the same stream for the same seed, another for another seed', () => {
    const a = new SeededRandom('s');
    const b = new SeededRandom('s');
    const seq = (r: SeededRandom) => [r.bytes(5), r.bytes(70_000), r.txid(), r.below(1000)];
    expect(seq(a)).toEqual(seq(b));
    expect(new SeededRandom('t').bytes(32)).not.toEqual(new SeededRandom('s').bytes(32));
  });

  it('draws integers below the bound, covering it', () => {
    const r = new SeededRandom('range');
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const n = r.below(7);
      expect(n).toBeGreaterThanOrEqual(0);
      expect(n).toBeLessThan(7);
      seen.add(n);
    }
    expect(seen.size).toBe(7);
  });
});

describe('countChangedPages', () => {
  it('counts the pages that differ and those only one file has', () => {
    const d = scratch();
    const before = Buffer.alloc(PAGE_SIZE * 600, 1);
    const after = Buffer.concat([Buffer.from(before), Buffer.alloc(PAGE_SIZE * 2 + 10, 2)]);
    after[3 * PAGE_SIZE] = 9; // first byte of page 3
    after[7 * PAGE_SIZE + PAGE_SIZE - 1] = 9; // last byte of page 7
    after[300 * PAGE_SIZE + 17] = 9; // a page in the second chunk the counter reads
    writeFileSync(join(d, 'a'), before);
    writeFileSync(join(d, 'b'), after);
    expect(countChangedPages(join(d, 'a'), join(d, 'b'), PAGE_SIZE)).toEqual({
      changed: 3 + 3, // three edited, two whole pages and one partial page appended
      pagesBefore: 600,
      pagesAfter: 603,
    });
    expect(countChangedPages(join(d, 'b'), join(d, 'a'), PAGE_SIZE).changed).toBe(6);
    expect(countChangedPages(join(d, 'a'), join(d, 'a'), PAGE_SIZE).changed).toBe(0);
  });
});

describe('the workload', () => {
  it('writes one day as promised, committed and left in the WAL', () => {
    const d = scratch();
    const w = createWallet(join(d, 'wallet.sqlite'), 3000, 'seed');
    wallets.push(w);
    checkpointCopy(w.file, join(d, 'day0.sqlite'));
    expect(statSync(join(d, 'day0.sqlite')).size % PAGE_SIZE).toBe(0);

    const wrote = writeDay(w);
    const older = Math.round((3000 - RECENT_UPDATES) * OLDER_SHARE);
    expect(wrote).toEqual({ inserted: NEW_PAYMENTS, recent: RECENT_UPDATES, older });
    // The day is in the WAL: the main file still holds day 0's pages exactly.
    expect(statSync(`${w.file}-wal`).size).toBeGreaterThan(0);
    expect(countChangedPages(join(d, 'day0.sqlite'), w.file, PAGE_SIZE).changed).toBe(0);

    checkpointCopy(w.file, join(d, 'day1.sqlite'));
    expect(existsSync(join(d, 'day1.sqlite-wal'))).toBe(false);
    const db = new Database(join(d, 'day1.sqlite'), { readonly: true });
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    expect(count('SELECT count(*) AS n FROM payments')).toBe(3000 + NEW_PAYMENTS);
    expect(count(`SELECT count(*) AS n FROM payments WHERE memo LIKE 'settled %'`)).toBe(
      RECENT_UPDATES + older,
    );
    expect(
      count(`SELECT count(*) AS n FROM payments WHERE id > 2000 AND id <= 3000
             AND memo LIKE 'settled %'`),
    ).toBe(RECENT_UPDATES);
    expect(count('SELECT count(DISTINCT txid) AS n FROM payments')).toBe(3000 + NEW_PAYMENTS);
    expect(count('SELECT min(length(raw)) AS n FROM payments')).toBe(200);
    expect(count('SELECT min(length(txid)) AS n FROM payments')).toBe(64);
    expect(count(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'index'`)).toBe(1);
    db.close();
    // The copy holds what the live database holds.
    expect(contentDigest(join(d, 'day1.sqlite'))).toBe(contentDigest(w.file));

    const diff = countChangedPages(join(d, 'day0.sqlite'), join(d, 'day1.sqlite'), PAGE_SIZE);
    expect(diff.changed).toBeGreaterThan(diff.pagesAfter - diff.pagesBefore);
    expect(diff.changed).toBeLessThan(diff.pagesAfter);
  });

  it('writes the same bytes for the same seed', () => {
    const files = [scratch(), scratch()].map((d) => {
      const w = createWallet(join(d, 'wallet.sqlite'), 2500, 'same');
      wallets.push(w);
      writeDay(w);
      writeDay(w);
      checkpointCopy(w.file, join(d, 'copy.sqlite'));
      return join(d, 'copy.sqlite');
    });
    expect(sha(files[0]!)).toBe(sha(files[1]!));
  });
});
