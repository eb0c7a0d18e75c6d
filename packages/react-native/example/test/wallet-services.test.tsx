/**
 * The example's wallet wiring (wallet-services.ts, docs/REACT-NATIVE.md §6 step 2, §8.1)
 * over the React Native ports with what of a phone runs here: op-sqlite's own Node build
 * for the wallet's database and the SDK's state, the expo-file-system stand-in of the
 * ports' tests for the directories, the spooler and the transfers, an expo-secure-store
 * stand-in for the seedphrase; the real server. A first run creates a wallet and backs
 * it up; a new phone restores it from the typed seedphrase alone.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { fileUri } from '@noah-backup/react-native/ports';
import { open } from '@op-engineering/op-sqlite';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { fireEvent, render, screen } from '@testing-library/react-native';
import { WalletApp } from '../WalletApp.tsx';
import type { BackupServices } from '../backup.ts';
import { openWalletServices, SEEDPHRASE_KEY } from '../wallet-services.ts';
import { expoStandIn } from '../../test/ports/expo-stand-in.ts';
import { expoFakes } from './expo-fakes.ts';
import { type SecureStoreStandIn, secureStoreStandIn } from './secure-store-stand-in.ts';

/** The server rn-jest.test.ts started. */
const serverUrl = () => {
  const url = process.env.NOAH_TEST_SERVER_URL;
  if (!url) throw new Error('NOAH_TEST_SERVER_URL is not set: run through rn-jest.test.ts');
  return url;
};
const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** A phone: its documents and cache directories, its secure storage, the wiring. */
function phone() {
  const root = mkdtempSync(join(tmpdir(), 'noah-rn-phone-'));
  roots.push(root);
  const docs = join(root, 'Documents');
  mkdirSync(docs);
  mkdirSync(join(root, 'Caches'));
  const SecureStore: SecureStoreStandIn = secureStoreStandIn();
  const openServices = (): Promise<BackupServices | null> =>
    openWalletServices({
      open,
      FileSystem: expoStandIn,
      Paths: {
        document: { uri: `${fileUri(docs)}/` },
        cache: { uri: `${fileUri(join(root, 'Caches'))}/` },
      },
      SecureStore,
      serverUrl: serverUrl(),
      platform: 'ios',
      BackgroundTask: expoFakes().BackgroundTask,
      isForeground: () => true,
      fetch: (url, init) => fetch(url, init as RequestInit),
    });
  /** The app's wallet database, as the app reads it. */
  const payments = async () => {
    const db = open({ name: 'wallet.sqlite', location: join(docs, 'wallet') });
    try {
      return (await db.execute('SELECT memo FROM payments ORDER BY id')).rows.map((r) => r.memo);
    } finally {
      db.close();
    }
  };
  return { docs, SecureStore, openServices, payments };
}

describe('the example wallet on the React Native ports', () => {
  it('opens nothing without a seedphrase, and creates none by itself', async () => {
    const p = phone();
    expect(await p.openServices()).toBeNull();
    expect(p.SecureStore.items.size).toBe(0);
  });

  it('a first run creates the wallet, shows its words once, and backs it up', async () => {
    const p = phone();
    await render(<WalletApp secureStore={p.SecureStore} open={p.openServices} />);
    await fireEvent.press(await screen.findByRole('button', { name: 'Create a new wallet' }));
    const shown = String((await screen.findByTestId('seedphrase')).props.children);
    expect(shown.split(' ')).toHaveLength(12);
    expect(p.SecureStore.items.get(SEEDPHRASE_KEY)).toBe(shown);
    // Readable after the first unlock, so a push while the phone is locked can back up.
    expect(p.SecureStore.writes).toEqual([
      { key: SEEDPHRASE_KEY, options: { keychainAccessible: p.SecureStore.AFTER_FIRST_UNLOCK } },
    ]);
    await fireEvent.press(screen.getByRole('button', { name: 'I have written them down' }));
    expect(screen.queryByTestId('seedphrase')).toBeNull();
    await fireEvent.press(await screen.findByRole('button', { name: 'Turn on backups' }));
    // The step makes the first backup, then the status card says so.
    await screen.findByText('Backed up just now', {}, { timeout: 30_000 });

    // The demo wallet's database, created on the first run, is what was backed up.
    expect(await p.payments()).toEqual([]);
    const services = await p.openServices();
    expect(services).not.toBeNull();
    const list = await services!.manager.listBackups();
    expect(list.length).toBe(1);
  });

  it('a new phone restores the wallet from the typed seedphrase', async () => {
    const a = phone();
    const first = a.SecureStore;
    await first.setItemAsync(SEEDPHRASE_KEY, generateMnemonic(wordlist));
    const servicesA = (await a.openServices())!;
    const db = open({ name: 'wallet.sqlite', location: join(a.docs, 'wallet') });
    await db.execute(
      "INSERT INTO payments (at, amount_sat, memo) VALUES ('2026-12-07', 2100, 'coffee')",
    );
    db.close();
    await servicesA.manager.triggerBackup();

    const b = phone();
    await render(<WalletApp secureStore={b.SecureStore} open={b.openServices} />);
    await fireEvent.press(await screen.findByRole('button', { name: 'Restore from a seedphrase' }));
    // As typed: capitals and extra spaces are the user's, the stored words normalised.
    await fireEvent.changeText(
      screen.getByLabelText('Seedphrase'),
      `  ${first.items.get(SEEDPHRASE_KEY)!.toUpperCase()} `,
    );
    await fireEvent.press(screen.getByRole('button', { name: 'Restore' }));
    await screen.findByText(
      'Your wallet is restored. Keep it backed up from this device.',
      {},
      {
        timeout: 30_000,
      },
    );
    expect(b.SecureStore.items.get(SEEDPHRASE_KEY)).toBe(first.items.get(SEEDPHRASE_KEY));
    expect(await b.payments()).toEqual(['coffee']);
  });

  it('refuses a mistyped seedphrase, storing nothing', async () => {
    const p = phone();
    await render(<WalletApp secureStore={p.SecureStore} open={p.openServices} />);
    await fireEvent.press(await screen.findByRole('button', { name: 'Restore from a seedphrase' }));
    await fireEvent.changeText(screen.getByLabelText('Seedphrase'), 'abandon abandon abandon');
    await fireEvent.press(screen.getByRole('button', { name: 'Restore' }));
    await screen.findByText('invalid_mnemonic');
    expect(p.SecureStore.items.size).toBe(0);
  });
});
