/**
 * How the example opens its wallet's services on a phone (docs/REACT-NATIVE.md §6 step 2,
 * §8.1): the seedphrase from the platform's secure storage, the wallet's data and the
 * SDK's state on op-sqlite, the spooler and the transfers on expo-file-system, the server
 * from the app's config. The native modules are parameters: `index.ts` passes the real
 * ones, the tests op-sqlite's Node build and stand-ins of the Expo modules.
 */
import { createApiClient } from '@noah-backup/client/api-client';
import type { FetchFn } from '@noah-backup/client/http';
import { createSessionKeys } from '@noah-backup/client/keys';
import { createBackupManager } from '@noah-backup/client/manager';
import { type Clock, systemClock } from '@noah-backup/core/clock';
import { validateMnemonic } from '@noah-backup/core/keys';
import type { BackgroundTaskModule } from '@noah-backup/react-native/push';
import {
  createBackgroundFetch,
  createOpSqliteState,
  createOpSqliteWallet,
  createRnSpooler,
  type ExpoFileSystem,
  type ExpoTransferFile,
  type ExpoTransferModule,
  expoBlob,
  expoFiles,
  type OpSqliteDB,
  type OpSqliteOpen,
  pathOfUri,
} from '@noah-backup/react-native/ports';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { type BackupServices, backupServices } from './backup.ts';

/** The key the seedphrase is kept under in secure storage. */
export const SEEDPHRASE_KEY = 'wallet-seedphrase';

/** The part of expo-secure-store used (its documented `*ItemAsync` and `AFTER_FIRST_UNLOCK`). */
export interface SecureStoreModule {
  AFTER_FIRST_UNLOCK: number;
  getItemAsync(key: string, options?: { keychainAccessible?: number }): Promise<string | null>;
  setItemAsync(
    key: string,
    value: string,
    options?: { keychainAccessible?: number },
  ): Promise<void>;
}

/** The native modules and settings the services are built from. */
export interface WalletModules<F extends ExpoTransferFile & Blob = ExpoTransferFile & Blob> {
  /** op-sqlite's `open`. */
  open: OpSqliteOpen;
  /** `import * as FileSystem from 'expo-file-system'`. */
  FileSystem: ExpoFileSystem & ExpoTransferModule<F>;
  /** expo-file-system's `Paths`: the app's documents and cache directories. */
  Paths: { document: { uri: string }; cache: { uri: string } };
  SecureStore: SecureStoreModule;
  /** The backup server (the app's config: app.json `extra.serverUrl`). */
  serverUrl: string;
  /** `Platform.OS`. */
  platform: string;
  BackgroundTask: BackgroundTaskModule;
  /** `AppState.currentState === 'active'`. */
  isForeground(): boolean;
  /** React Native's `fetch`, for the API's requests (transfers go through expo-file-system). */
  fetch: FetchFn;
  clock?: Clock;
}

// iOS: readable after the first unlock since boot, so a push that wakes the app while
// the phone is locked can still back up (docs/REACT-NATIVE.md §6).
const storeOptions = (s: SecureStoreModule) => ({ keychainAccessible: s.AFTER_FIRST_UNLOCK });

/**
 * A new wallet's seedphrase (12 words), kept in secure storage; the app shows it once.
 * @throws when one is stored already: a second wallet would replace the first's words
 */
export async function createSeedphrase(s: SecureStoreModule): Promise<string> {
  if ((await s.getItemAsync(SEEDPHRASE_KEY, storeOptions(s))) !== null)
    throw new Error('this device has a wallet already');
  const words = generateMnemonic(wordlist);
  await s.setItemAsync(SEEDPHRASE_KEY, words, storeOptions(s));
  return words;
}

/**
 * Keeps a typed seedphrase (a restore on a new phone) once it is valid.
 * @throws InvalidMnemonicError (`invalid_mnemonic`, naming the problem, never a word)
 */
export async function restoreSeedphrase(s: SecureStoreModule, typed: string): Promise<void> {
  await s.setItemAsync(SEEDPHRASE_KEY, validateMnemonic(typed), storeOptions(s));
}

/** The example's wallet: one table of payments, as a stand-in for a real wallet's data. */
const DEMO_SCHEMA =
  'CREATE TABLE IF NOT EXISTS payments (id INTEGER PRIMARY KEY, at TEXT NOT NULL, amount_sat INTEGER NOT NULL, memo TEXT)';

/**
 * Opens the wallet's services, or null when this device has no seedphrase yet.
 * The keys live as long as the process: the push tasks need them at any time.
 */
export async function openWalletServices<F extends ExpoTransferFile & Blob>(
  m: WalletModules<F>,
): Promise<BackupServices | null> {
  const words = await m.SecureStore.getItemAsync(SEEDPHRASE_KEY, storeOptions(m.SecureStore));
  if (words === null) return null;
  const clock = m.clock ?? systemClock;
  const docs = pathOfUri(m.Paths.document.uri).replace(/\/$/, '');
  const cache = `${pathOfUri(m.Paths.cache.uri).replace(/\/$/, '')}/noah`;
  const dataDir = `${docs}/wallet`;
  const files = expoFiles(m.FileSystem);
  await files.mkdir(dataDir);
  await files.mkdir(cache);

  // The app's own connection to its wallet; a restore swaps the directory under it.
  const openApp = () => m.open({ name: 'wallet.sqlite', location: dataDir });
  let walletDb: OpSqliteDB | null = openApp();
  await walletDb.execute(DEMO_SCHEMA);

  const keys = await createSessionKeys(words, m.serverUrl);
  try {
    const state = await createOpSqliteState(m.open({ name: 'noah-state.sqlite', location: docs }));
    const api = createApiClient({
      baseUrl: m.serverUrl,
      signer: keys.signer,
      clock,
      fetch: createBackgroundFetch({ fs: m.FileSystem, files, tmpDir: cache, fallback: m.fetch }),
    });
    const manager = createBackupManager({
      api,
      keys,
      clock,
      state,
      cache: state.cache('main'),
      spooler: createRnSpooler(files, cache, { blobOf: expoBlob(m.FileSystem) }),
      wallet: createOpSqliteWallet({
        open: m.open,
        files,
        clock,
        dataDir,
        tmpDir: cache,
        databases: ['wallet.sqlite'],
        beforeSwap: () => {
          walletDb?.close();
          walletDb = null;
        },
        afterSwap: () => {
          walletDb = openApp();
        },
      }),
    });
    await manager.ready;
    return backupServices({
      manager,
      state,
      platform: m.platform,
      BackgroundTask: m.BackgroundTask,
      isForeground: m.isForeground,
      clock,
    });
  } catch (err) {
    keys.destroy();
    walletDb?.close();
    throw err;
  }
}
