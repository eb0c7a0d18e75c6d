/**
 * Every port's contract kit on the React Native ports (`src/ports/`), with op-sqlite's
 * own Node build (`@op-engineering/op-sqlite`, its `node` export: op-sqlite's JavaScript
 * API over better-sqlite3, the root's) in place of its JSI module, and the ports'
 * expo-file-system binding over a stand-in of expo-file-system (`ports/expo-stand-in.ts`). Installed by scripts/ensure-hermes.mjs
 * (packages/react-native/op-sqlite-node, its own lockfile). docs/REACT-NATIVE.md §8.4.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { manualClock } from '@noah-backup/core/clock';
import Database from 'better-sqlite3';
import { createDemoWallet, walletDigest } from '../../client/src/demo-wallet.ts';
import { deviceCacheContract } from '../../client/test/contract/device-cache.ts';
import { deviceStateContract } from '../../client/test/contract/device-state.ts';
import { damagedDatabase } from '../../client/test/contract/fixtures.ts';
import { incrementalWalletContract } from '../../client/test/contract/incremental-wallet.ts';
import { spoolerContract } from '../../client/test/contract/spooler.ts';
import {
  type WalletDataFactory,
  walletDataContract,
} from '../../client/test/contract/wallet-data.ts';
import { breakIndex, tempDir } from '../../client/test/fixtures/node-helpers.ts';
import type { OpSqliteDB, OpSqliteOpen } from '../src/ports/op-sqlite.ts';
import { createRnSpooler } from '../src/ports/spool.ts';
import { createOpSqliteState } from '../src/ports/state.ts';
import { createOpSqliteWallet } from '../src/ports/wallet.ts';
import { expoFiles } from '../src/ports/expo-files.ts';
import { expoStandIn } from './ports/expo-stand-in.ts';

const OP_SQLITE = createRequire(
  join(import.meta.dirname, '..', 'op-sqlite-node', 'package.json'),
).resolve('@op-engineering/op-sqlite');
const { open } = (await import(OP_SQLITE)) as { open: OpSqliteOpen };
// The ports' expo-file-system binding, over the stand-in of expo-file-system.
const files = expoFiles(expoStandIn);

/** As the kits' `treeHash` (paths, modes, sizes, bytes), leaving out names matching `skip`. */
async function treeHashBut(dir: string, skip: RegExp): Promise<string> {
  const h = createHash('sha256');
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const n of (await fsp.readdir(abs)).sort()) {
      if (skip.test(n)) continue;
      const p = join(abs, n);
      const st = await fsp.lstat(p);
      h.update(`${rel}/${n} ${st.mode} ${st.size}\n`);
      if (st.isDirectory()) await walk(p, `${rel}/${n}`);
      else if (st.isFile()) h.update(await fsp.readFile(p));
    }
  };
  await walk(dir, '');
  return h.digest('hex');
}

const rnWallet: WalletDataFactory = async ({ limits }) => {
  const root = await tempDir();
  const tmp = join(root, 'tmp');
  const wallet = await createDemoWallet(join(root, 'wallet'), { sizeMb: 1 });
  // The app's own connection, open all along as an app keeps it: the adapter's
  // connections are never the last to close, so SQLite never checkpoints or deletes the
  // wallet's WAL on their account; a restore closes it around the swap (the hooks).
  let app: OpSqliteDB | null = open({ name: 'wallet.sqlite', location: wallet.dir });
  await app.execute('SELECT count(*) AS n FROM payments');
  return {
    adapter: createOpSqliteWallet({
      open,
      files: files,
      dataDir: wallet.dir,
      tmpDir: tmp,
      clock: manualClock(new Date('2026-03-04T05:06:07Z')),
      limits,
      beforeSwap() {
        app?.close();
        app = null;
      },
      afterSwap() {
        app = open({ name: 'wallet.sqlite', location: wallet.dir });
      },
    }),
    contents: () => walletDigest(wallet.dir),
    // Every byte but the `-shm` wal-index, shared memory that any reader writes its read
    // mark into and SQLite rebuilds from the WAL (it holds no data: docs/REACT-NATIVE.md §8.4).
    bytes: () => treeHashBut(wallet.dir, /-shm$/),
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

walletDataContract('React Native (op-sqlite, a wallet data directory)', rnWallet, damagedDatabase);

incrementalWalletContract('React Native (op-sqlite, a wallet data directory)', rnWallet);

spoolerContract('React Native (files in the cache directory)', async () =>
  createRnSpooler(files, join(await tempDir(), 'spool')),
);

deviceStateContract('React Native (op-sqlite)', async () =>
  createOpSqliteState(open({ name: 'noah-state.sqlite', location: await tempDir() })),
);

deviceCacheContract('React Native (op-sqlite, beside the state)', async () =>
  (await createOpSqliteState(open({ name: 'noah-state.sqlite', location: await tempDir() }))).cache(
    'account-1',
  ),
);
