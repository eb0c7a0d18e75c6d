/**
 * A wallet for the React Native tests: a real BackupManager over the SDK's Node ports in
 * a temp dir (the React Native ports need a phone), a demo wallet to back up, and the
 * real server that rn-jest.test.ts started (NOAH_TEST_SERVER_URL).
 */
import { afterEach } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiClient, createApiClient } from '@noah-backup/client/api-client';
import { createDemoWallet } from '@noah-backup/client/demo-wallet';
import type { FetchFn } from '@noah-backup/client/http';
import { createSessionKeys } from '@noah-backup/client/keys';
import { type BackupManager, createBackupManager } from '@noah-backup/client/manager';
import { createFileSpooler } from '@noah-backup/client/node/spool';
import { createFileStateStore } from '@noah-backup/client/node/state';
import { createNodeWalletAdapter } from '@noah-backup/client/node/wallet';
import type { DeviceStateStore } from '@noah-backup/client/ports';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';

export interface TestWallet {
  manager: BackupManager;
  api: ApiClient;
  state: DeviceStateStore;
  mnemonic: string;
  /** Waits for the device's state writes still in flight, then removes its files. */
  close(): Promise<void>;
}

/** A state store that can wait for the calls still running on it. */
function tracked(inner: DeviceStateStore): DeviceStateStore & { settled(): Promise<void> } {
  const running = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    running.add(p);
    const done = () => running.delete(p);
    p.then(done, done);
    return p;
  };
  return {
    get: (k) => track(inner.get(k)),
    set: (k, v) => track(inner.set(k, v)),
    delete: (k) => track(inner.delete(k)),
    compareAndSet: (k, v, can) => track(inner.compareAndSet(k, v, can)),
    async settled() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}

export function serverUrl(): string {
  const url = process.env.NOAH_TEST_SERVER_URL;
  if (!url) throw new Error('NOAH_TEST_SERVER_URL is not set: run through rn-jest.test.ts');
  return url;
}

/**
 * Opens a wallet device with a 1 MiB demo wallet.
 *
 * @param o - `mnemonic` (default: a new one), `fetch` (the device's network), `empty`
 *   (no wallet data)
 */
export async function openWallet(
  o: { mnemonic?: string; fetch?: FetchFn; empty?: boolean } = {},
): Promise<TestWallet> {
  const root = mkdtempSync(join(tmpdir(), 'noah-rn-'));
  const mnemonic = o.mnemonic ?? generateMnemonic(wordlist);
  const keys = await createSessionKeys(mnemonic, serverUrl());
  const api = createApiClient({
    baseUrl: serverUrl(),
    signer: keys.signer,
    ...(o.fetch ? { fetch: o.fetch } : {}),
  });
  const walletDir = join(root, 'wallet');
  if (!o.empty) await createDemoWallet(walletDir, { sizeMb: 1 });
  const state = tracked(createFileStateStore(join(root, 'state.json')));
  const manager = createBackupManager({
    api,
    keys,
    wallet: createNodeWalletAdapter({ dataDir: walletDir, tmpDir: root }),
    spooler: createFileSpooler(root),
    state,
    // What React Native writes: its platform has no zstd encoder (docs/REACT-NATIVE.md §2).
    compression: 'deflate',
  });
  await manager.ready;
  return {
    manager,
    api,
    state,
    mnemonic,
    async close() {
      keys.destroy();
      // A screen's hook may still be saving the settings it loaded on mount: removing the
      // directory under that write races it (ENOTEMPTY), so wait for it first.
      // A verification or backup the screen started may still be running: let it end.
      const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
      while (manager.getSnapshot().activity !== null) await tick(20);
      await tick(0); // what it records as it ends starts in the microtasks before this
      await state.settled();
      rmSync(root, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/**
 * An {@link openWallet} for one test file whose wallets are all closed after each test.
 * Call it at the top level of the file (it registers the `afterEach`).
 */
export function walletsClosedAfterEach(): typeof openWallet {
  const open: TestWallet[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((w) => w.close()));
  });
  return async (o) => {
    const w = await openWallet(o);
    open.push(w);
    return w;
  };
}
