/**
 * A restore killed with SIGKILL at every phase: afterwards the wallet directory is
 * intact or recoverable by `recoverInterruptedRestore`, its digest is the old or the new
 * wallet's, never a mix, and the replaced wallet is never deleted — not even when the
 * app creates a new wallet where the old one was before recovery runs (docs/WALLET.md §3).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ArchiveKind } from '../src/ports.ts';
import { createDemoWallet, walletDigest } from '../src/demo-wallet.ts';
import { createNodeWalletAdapter, recoverInterruptedRestore } from '../src/node/wallet.ts';
import {
  chunks,
  collect,
  exited,
  leftovers,
  spawnTs,
  tempDir,
  waitForLine,
} from './fixtures/node-helpers.ts';

interface Setup {
  root: string;
  dataDir: string;
  archivePath: string;
  oldDigest: string;
  newDigest: string;
}

async function setup(kind: ArchiveKind): Promise<Setup> {
  const root = await tempDir();
  const dataDir = (await createDemoWallet(join(root, 'wallet'), { sizeMb: 2, seed: 11 })).dir;
  const next = await createDemoWallet(join(root, 'next'), { sizeMb: 3, seed: 12 });
  const snap = await createNodeWalletAdapter({
    dataDir: next.dir,
    tmpDir: join(root, 't'),
  }).snapshot({ kind });
  const archivePath = join(root, `next.${kind}`);
  await fsp.writeFile(archivePath, await collect(snap.archive));
  await snap.cleanup();
  const newDigest = await walletDigest(next.dir);
  await fsp.rm(next.dir, { recursive: true });
  await fsp.rm(join(root, 't'), { recursive: true });
  return { root, dataDir, archivePath, oldDigest: await walletDigest(dataDir), newDigest };
}

/** Runs the restore child until it reaches `stopAt`, then SIGKILLs it. */
async function killAt(s: Setup, kind: ArchiveKind, stopAt: string): Promise<void> {
  const child = spawnTs('node-restore-child.ts', [s.dataDir, s.archivePath, kind, stopAt]);
  try {
    await waitForLine(child, new RegExp(`^stopped ${stopAt}$`));
  } finally {
    child.kill('SIGKILL');
  }
  expect((await exited(child)).signal).toBe('SIGKILL');
}

/** The directories beside the wallet's where a restore keeps what it replaced. */
async function keptCopies(root: string): Promise<string[]> {
  return (await fsp.readdir(root)).filter((n) => n.startsWith('wallet.noah-replaced-'));
}

describe('restore killed with SIGKILL', () => {
  it.each([
    ['tar', 'staging', 'old'],
    ['tar', 'chunk:3', 'old'],
    ['tar', 'extracted', 'old'],
    ['tar', 'verified', 'old'],
    ['tar', 'old-moved', 'old'],
    ['tar', 'new-moved', 'new'],
    ['tar', 'done', 'new'],
    ['zip', 'chunk:2', 'old'],
    ['zip', 'old-moved', 'old'],
  ] as const)('%s at %s → recovery gives the %s wallet', async (kind, stopAt, expected) => {
    const s = await setup(kind);
    await killAt(s, kind, stopAt);
    if (stopAt === 'old-moved') {
      // Between the two renames: the wallet directory is gone, its old copy is beside it.
      await expect(fsp.access(s.dataDir)).rejects.toThrow();
      expect((await leftovers(s.root)).some((n) => n.startsWith('wallet.noah-old-'))).toBe(true);
    }
    const swapped = expected === 'new';
    const report = await recoverInterruptedRestore(s.dataDir);
    expect(report.restoredOld).toBe(stopAt === 'old-moved');
    // The killed run's staging directory is abandoned; only after the swap is it gone.
    expect(report.removedStaging).toBe(swapped ? 0 : 1);
    expect(report.conflicts).toEqual([]);
    // Killed after the swap, before the old wallet got its kept name: recovery names it.
    expect(report.kept).toHaveLength(stopAt === 'new-moved' ? 1 : 0);
    expect(await walletDigest(s.dataDir)).toBe(swapped ? s.newDigest : s.oldDigest);
    expect(await leftovers(s.root)).toEqual([]);
    // The replaced wallet is never deleted: it is kept beside the new one.
    const kept = await keptCopies(s.root);
    expect(kept).toHaveLength(swapped ? 1 : 0);
    if (swapped) expect(await walletDigest(join(s.root, kept[0]!))).toBe(s.oldDigest);
  });

  it('killed between the renames, then the app creates a new wallet: both are kept', async () => {
    const s = await setup('tar');
    await killAt(s, 'tar', 'old-moved');
    const [old] = (await leftovers(s.root)).filter((n) => n.startsWith('wallet.noah-old-'));
    // The app starts, finds no wallet directory and creates a fresh, empty wallet there.
    await createDemoWallet(s.dataDir, { sizeMb: 1, seed: 13 });
    const fresh = await walletDigest(s.dataDir);

    const adapter = createNodeWalletAdapter({ dataDir: s.dataDir, tmpDir: join(s.root, 't') });
    const report = await adapter.recover();
    expect(report).toMatchObject({ restoredOld: false, kept: [], removedStaging: 1 });
    expect(report.conflicts).toEqual([join(s.root, old!)]);
    expect(await walletDigest(join(s.root, old!))).toBe(s.oldDigest);
    expect(await walletDigest(s.dataDir)).toBe(fresh);
    // A backup of the fresh wallet could replace the good backups: refused, both kept.
    const err = await adapter.snapshot({ kind: 'tar' }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'restore_conflict',
      message: expect.stringContaining(join(s.root, old!)),
    });
    expect(await walletDigest(join(s.root, old!))).toBe(s.oldDigest);
    expect((await adapter.recover()).conflicts).toEqual([join(s.root, old!)]); // said again
    // The user keeps the old wallet elsewhere: backups go on.
    await fsp.rename(join(s.root, old!), join(s.root, 'wallet-before-crash'));
    const snap = await adapter.snapshot({ kind: 'tar' });
    await snap.cleanup();
    expect(await walletDigest(join(s.root, 'wallet-before-crash'))).toBe(s.oldDigest);
  });

  it('killed between the renames, then an empty directory is made there: the wallet comes back', async () => {
    const s = await setup('zip');
    await killAt(s, 'zip', 'old-moved');
    await fsp.mkdir(s.dataDir);
    const report = await recoverInterruptedRestore(s.dataDir);
    expect(report).toMatchObject({ restoredOld: true, kept: [], conflicts: [] });
    expect(await walletDigest(s.dataDir)).toBe(s.oldDigest);
    expect(await leftovers(s.root)).toEqual([]);
  });

  it('the next restore recovers first, then restores and keeps the old wallet', async () => {
    const s = await setup('tar');
    await killAt(s, 'tar', 'old-moved');
    const archive = await fsp.readFile(s.archivePath);
    const r = await createNodeWalletAdapter({ dataDir: s.dataDir }).restore(chunks(archive), {
      kind: 'tar',
    });
    expect(await walletDigest(s.dataDir)).toBe(s.newDigest);
    expect(await walletDigest(r.previous!)).toBe(s.oldDigest);
    expect(await leftovers(s.root)).toEqual([]);
  });

  it('the next snapshot recovers first and captures the old wallet', async () => {
    const s = await setup('tar');
    await killAt(s, 'tar', 'old-moved');
    const adapter = createNodeWalletAdapter({ dataDir: s.dataDir, tmpDir: join(s.root, 't') });
    const snap = await adapter.snapshot({ kind: 'tar' });
    const archive = await collect(snap.archive);
    await snap.cleanup();
    expect(await walletDigest(s.dataDir)).toBe(s.oldDigest);
    const copy = join(s.root, 'copy');
    await createNodeWalletAdapter({ dataDir: copy }).restore(chunks(archive), { kind: 'tar' });
    expect(await walletDigest(copy)).toBe(s.oldDigest);
  });

  it('an uninterrupted child restore completes (control)', async () => {
    const s = await setup('tar');
    const child = spawnTs('node-restore-child.ts', [s.dataDir, s.archivePath, 'tar', 'never']);
    await waitForLine(child, /^done$/);
    expect((await exited(child)).code).toBe(0);
    expect(await walletDigest(s.dataDir)).toBe(s.newDigest);
    expect(await recoverInterruptedRestore(s.dataDir)).toEqual({
      restoredOld: false,
      kept: [],
      conflicts: [],
      removedStaging: 0,
    });
    expect(await keptCopies(s.root)).toHaveLength(1);
  });
});
