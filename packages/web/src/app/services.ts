/**
 * Everything the page owns for the demo wallet: browser storage, the wallet database,
 * the device state, and the seedphrase of this device.
 *
 * The seedphrase is kept in IndexedDB so the demo survives a reload. A real wallet keeps
 * it in the platform's keystore (Keychain, Android Keystore); a web page has nothing
 * better than origin-scoped storage, which is why this is a demo.
 * @module
 */
import { clearIndexedDbCaches } from '@noah-backup/client/web/cache';
import { type Clock, systemClock } from '@noah-backup/core/clock';
import {
  clearLocalStorageState,
  createLocalStorageState,
  type LocalStorageState,
} from '@noah-backup/client/web/state';
import type { BrowserWalletData } from '@noah-backup/client/web/wallet';
import { CACHE_DB } from '../backup-worker/protocol.ts';
import { type KvStore, openKv } from '../wallet/idb.ts';
import { createWebWalletData } from '../wallet/wallet-data.ts';
import { openWalletStore, type WalletStore } from '../wallet/wallet-store.ts';

const DB_NAME = 'noah-wallet';
const MNEMONIC_KEY = 'mnemonic';
const STATE_PREFIX = 'noah.state.';

/** The page's services. */
export interface Services {
  clock: Clock;
  /** The backup server's base URL: the page's own origin (the server serves the app). */
  serverUrl: string;
  wallet: WalletStore;
  walletData: BrowserWalletData;
  state: LocalStorageState;
  /** The seedphrase stored on this device, if a wallet was created or restored here. */
  loadMnemonic(): Promise<string | null>;
  saveMnemonic(mnemonic: string): Promise<void>;
  /**
   * Deletes the wallet, the seedphrase, the backup state and the device cache of
   * incremental backups from this browser.
   */
  eraseDevice(): Promise<void>;
}

/**
 * Opens the page's storage and the wallet database.
 *
 * @returns the services
 * @throws Error when the browser refuses storage
 */
export async function openServices(): Promise<Services> {
  const clock = systemClock;
  const kv: KvStore = await openKv(DB_NAME);
  const wallet = await openWalletStore(kv, clock);
  return {
    clock,
    serverUrl: location.origin,
    wallet,
    walletData: createWebWalletData(wallet, clock),
    state: createLocalStorageState(STATE_PREFIX),
    loadMnemonic: async () => (await kv.get<string>(MNEMONIC_KEY)) ?? null,
    saveMnemonic: (mnemonic) => kv.write({ [MNEMONIC_KEY]: mnemonic }),
    async eraseDevice() {
      await wallet.erase();
      await kv.write({}, [MNEMONIC_KEY]);
      clearLocalStorageState(STATE_PREFIX);
      await clearIndexedDbCaches(CACHE_DB);
    },
  };
}
