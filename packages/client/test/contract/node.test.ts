/**
 * Every port's contract kit on the Node implementations: the wallet data directory
 * adapter (a demo wallet in a temp dir, with the SQLite of better-sqlite3), the
 * temp-file spooler, the JSON-file state store, the device cache file.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createDemoWallet, walletDigest } from '../../src/demo-wallet.ts';
import { createFileCacheStore } from '../../src/node/cache.ts';
import { createFileSpooler } from '../../src/node/spool.ts';
import { createFileStateStore } from '../../src/node/state.ts';
import { createNodeWalletAdapter } from '../../src/node/wallet.ts';
import { breakIndex, tempDir, treeHash } from '../fixtures/node-helpers.ts';
import { deviceCacheContract } from './device-cache.ts';
import { deviceStateContract } from './device-state.ts';
import { damagedDatabase } from './fixtures.ts';
import { spoolerContract } from './spooler.ts';
import { incrementalWalletContract } from './incremental-wallet.ts';
import { type WalletDataFactory, walletDataContract } from './wallet-data.ts';

const nodeWallet: WalletDataFactory = async ({ limits }) => {
  const root = await tempDir();
  const tmp = join(root, 'tmp');
  const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 1 });
  return {
    adapter: createNodeWalletAdapter({ dataDir: wallet.dir, tmpDir: tmp, limits }),
    contents: () => walletDigest(wallet.dir),
    bytes: () => treeHash(wallet.dir),
    async change() {
      const db = new Database(wallet.database);
      try {
        db.prepare('DELETE FROM payments WHERE id = (SELECT min(id) FROM payments)').run();
      } finally {
        db.close();
      }
    },
    async damageDatabase() {
      breakIndex(wallet.database, 'payments', 'payments_created_at', 'created_at');
    },
    async emptyDatabase() {
      for (const sidecar of ['-wal', '-shm'])
        await fsp.rm(`${wallet.database}${sidecar}`, { force: true });
      await fsp.writeFile(wallet.database, '');
      return 'wallet.sqlite';
    },
    removeAll: () => fsp.rm(wallet.dir, { recursive: true, force: true }),
    async leftovers() {
      // Beside the wallet: only the copies a restore keeps of what it replaced.
      const beside = (await fsp.readdir(root)).filter(
        (n) => n !== 'tmp' && n !== 'wallet' && !/^wallet\.noah-replaced-/.test(n),
      );
      const temp = await fsp.readdir(tmp).catch(() => []);
      return [...beside, ...temp];
    },
  };
};

walletDataContract('Node (a wallet data directory)', nodeWallet, damagedDatabase);

incrementalWalletContract('Node (a wallet data directory)', nodeWallet);

spoolerContract('Node (private temp files)', async () => createFileSpooler(await tempDir()));

deviceStateContract('Node (a JSON file)', async () =>
  createFileStateStore(join(await tempDir(), 'state.json')),
);

deviceCacheContract('Node (a file beside the state)', async () =>
  createFileCacheStore(join(await tempDir(), 'state', 'account.cache')),
);
