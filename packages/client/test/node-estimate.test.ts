/**
 * The size estimate that lets a backup clearly over the server's limit be refused
 * before the snapshot: close to the real backup's size on a demo wallet, blind to the
 * free pages a wallet keeps after deleting (a VACUUM INTO copy drops them), and skipped
 * when the data fits within the limit uncompressed.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDemoWallet } from '../src/demo-wallet.ts';
import { estimateBackupBytes } from '../src/node/estimate.ts';
import { createNodeWalletAdapter } from '../src/node/wallet.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noah-estimate-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const MNEMONIC = 'legal winner thank year wave sausage worth useful legal winner thank yellow';

/** The size of a real backup of `data` (v2, zstd level 1, as the manager writes it). */
async function realSize(data: string): Promise<number> {
  const { encryptBackup } = await import('@noah-backup/core/format');
  const { createKeyring } = await import('@noah-backup/core/keys');
  const keyring = await createKeyring(MNEMONIC);
  const snap = await createNodeWalletAdapter({ dataDir: data }).snapshot({ kind: 'tar' });
  let n = 0;
  try {
    const file = encryptBackup(snap.archive, {
      format: 'v2',
      keyring,
      createdAt: new Date(),
      sequence: 1n,
      payloadKind: 'tar',
      compression: 'zstd',
      compressionLevel: 1,
    });
    for await (const c of file) n += c.byteLength;
  } finally {
    await snap.cleanup();
    keyring.destroy();
  }
  return n;
}

it('is within 25% of the real compressed size, and skipped under the limit', async () => {
  const w = join(dir, 'w');
  await createDemoWallet(w, { sizeMb: 8 });
  const guess = await estimateBackupBytes(w, 1);
  expect(guess).not.toBeNull();
  const real = await realSize(w);
  expect(guess!.estimate / real).toBeGreaterThan(0.75);
  expect(guess!.estimate / real).toBeLessThan(1.25);
  expect(await estimateBackupBytes(w, 64 * 2 ** 20)).toBeNull();
});

it('does not count the free pages of a wallet that deleted most of its data', async () => {
  const w = join(dir, 'deleted');
  await createDemoWallet(w, { sizeMb: 8 });
  const db = new Database(join(w, 'wallet.sqlite'));
  db.exec('DELETE FROM payments; PRAGMA wal_checkpoint(TRUNCATE);');
  db.close();
  const file = (await stat(join(w, 'wallet.sqlite'))).size;
  const guess = await estimateBackupBytes(w, 1);
  expect(guess!.bytes).toBeLessThan(file / 2);
  expect(guess!.estimate).toBeLessThan(2 * (await realSize(w)) + 64 * 1024);
});
