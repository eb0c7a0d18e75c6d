/**
 * The React Native ports end to end: the SDK's BackupManager over `src/ports/` (wallet
 * data on op-sqlite's Node build, its state and cache, the spooler, the background
 * fetch over the expo-file-system stand-in) against the real server with S3 behind the
 * SigV4-checking front. A phone's full backup, its next day's incremental one, and a
 * new phone restoring the wallet from the seedphrase alone, then backing up
 * incrementally on top of what it restored (docs/REACT-NATIVE.md §8).
 */
import { promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { manualClock } from '@noah-backup/core/clock';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiClient } from '../../client/src/api-client.ts';
import { createDemoWallet, walletDigest } from '../../client/src/demo-wallet.ts';
import { createSessionKeys } from '../../client/src/keys.ts';
import { createBackupManager } from '../../client/src/manager.ts';
import { addPayment, newMnemonic } from '../../client/test/helpers/device.ts';
import { tempDir } from '../../client/test/fixtures/node-helpers.ts';
import { startTestServer, type TestServer } from '../../server/test/helpers/server.ts';
import { expoFiles } from '../src/ports/expo-files.ts';
import type { OpSqliteDB, OpSqliteOpen } from '../src/ports/op-sqlite.ts';
import { createRnSpooler } from '../src/ports/spool.ts';
import { createOpSqliteState } from '../src/ports/state.ts';
import { createBackgroundFetch, expoBlob } from '../src/ports/transfer.ts';
import { createOpSqliteWallet } from '../src/ports/wallet.ts';
import { expoStandIn, taskLog } from './ports/expo-stand-in.ts';

const OP_SQLITE = createRequire(
  join(import.meta.dirname, '..', 'op-sqlite-node', 'package.json'),
).resolve('@op-engineering/op-sqlite');
const { open } = (await import(OP_SQLITE)) as { open: OpSqliteOpen };
const files = expoFiles(expoStandIn);

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({
    metadataKind: 'sqlite',
    blobKind: 's3',
    config: { maxBackupSize: 64 * 2 ** 20 },
  });
});
afterAll(() => srv?.close());

/** A phone: its documents and cache directories, the app's wallet connection, the SDK. */
async function phone(mnemonic: string) {
  const root = await tempDir();
  const docs = join(root, 'documents');
  const cache = join(root, 'cache', 'noah');
  const dataDir = join(docs, 'wallet');
  await fsp.mkdir(docs, { recursive: true });
  let app: OpSqliteDB | null = null;
  const openApp = async () => {
    if ((await files.stat(join(dataDir, 'wallet.sqlite'))) === null) return;
    app = open({ name: 'wallet.sqlite', location: dataDir });
  };
  const clock = manualClock(new Date());
  const keys = await createSessionKeys(mnemonic, srv.url);
  const api = createApiClient({
    baseUrl: srv.url,
    signer: keys.signer,
    clock,
    sleep: async () => {},
    fetch: createBackgroundFetch({
      fs: expoStandIn,
      files,
      tmpDir: cache,
      fallback: (url, init) => globalThis.fetch(url, init as RequestInit),
    }),
  });
  const state = await createOpSqliteState(open({ name: 'noah-state.sqlite', location: docs }));
  const manager = createBackupManager({
    api,
    keys,
    clock,
    state,
    cache: state.cache('main'),
    spooler: createRnSpooler(files, cache, { blobOf: expoBlob(expoStandIn) }),
    wallet: createOpSqliteWallet({
      open,
      files,
      clock,
      dataDir,
      tmpDir: cache,
      beforeSwap: () => {
        app?.close();
        app = null;
      },
      afterSwap: openApp,
    }),
  });
  await manager.ready;
  return {
    manager,
    dataDir,
    openApp,
    close() {
      app?.close();
      keys.destroy();
    },
  };
}

it('a phone backs up in full, then incrementally; a new phone restores it and builds on it', async () => {
  const mnemonic = newMnemonic();
  const a = await phone(mnemonic);
  const b = await phone(mnemonic);
  try {
    await createDemoWallet(a.dataDir, { sizeMb: 2, seed: 7 });
    await a.openApp();
    const first = await a.manager.triggerBackup();
    expect(first).toMatchObject({ status: 'completed', incremental: { incremental: false } });

    addPayment(a.dataDir, 1);
    const second = await a.manager.triggerBackup();
    if (second.status !== 'completed') throw new Error('skipped');
    expect(second.incremental?.incremental).toBe(true);
    expect(second.incremental?.changedPages).toBeGreaterThan(0);
    expect(second.incremental?.changedPages).toBeLessThan(
      (second.incremental?.totalPages ?? 0) * 0.2,
    );
    expect(taskLog.filter((t) => t === 'upload PUT').length).toBeGreaterThan(1);

    const restored = await b.manager.restoreBackup();
    expect(restored).toBeTruthy();
    expect(await walletDigest(b.dataDir)).toBe(await walletDigest(a.dataDir));
    expect(taskLog).toContain('download');

    addPayment(b.dataDir, 2);
    const third = await b.manager.triggerBackup();
    expect(third).toMatchObject({ status: 'completed', incremental: { incremental: true } });
  } finally {
    a.close();
    b.close();
  }
});
