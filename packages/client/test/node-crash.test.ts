/**
 * A restore killed with SIGKILL at every kind of point (issue 4 §9: "killed during
 * restore (the wallet directory intact)"): afterwards the wallet directory is intact or
 * recoverable by `recoverInterruptedRestore`, and its digest is the old or the new
 * wallet's, never a mix.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ArchiveKind } from '../src/adapters.ts';
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

describe('restore killed with SIGKILL', () => {
  it.each([
    ['tar', 'staging', 'old'],
    ['tar', 'chunk:3', 'old'],
    ['tar', 'extracted', 'old'],
    ['tar', 'verified', 'old'],
    ['tar', 'old-moved', 'old'],
    ['tar', 'new-moved', 'new'],
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
    const report = await recoverInterruptedRestore(s.dataDir);
    expect(report.restoredOld).toBe(stopAt === 'old-moved');
    // The killed run's staging directory is abandoned; only after the swap is it gone.
    expect(report.removedStaging).toBe(stopAt === 'new-moved' ? 0 : 1);
    expect(report.removedOld).toBe(stopAt === 'new-moved' ? 1 : 0);
    expect(report.keptOld).toEqual([]);
    expect(await walletDigest(s.dataDir)).toBe(expected === 'old' ? s.oldDigest : s.newDigest);
    expect(await leftovers(s.root)).toEqual([]);
  });

  it('the next restore recovers first, then restores', async () => {
    const s = await setup('tar');
    await killAt(s, 'tar', 'old-moved');
    const archive = await fsp.readFile(s.archivePath);
    await createNodeWalletAdapter({ dataDir: s.dataDir }).restore(chunks(archive), {
      kind: 'tar',
    });
    expect(await walletDigest(s.dataDir)).toBe(s.newDigest);
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
      removedOld: 0,
      keptOld: [],
      removedStaging: 0,
    });
  });
});
