/**
 * What this web wallet backs up, and what of a backup it takes: `wallet.sqlite` (its
 * sql.js database) and `settings.json`, through the SDK's browser wallet adapter
 * (`@noah-backup/client/web/wallet`), which reads and checks archives with the same
 * reader, guards and integrity check as the Node side. A backup holding anything but
 * those two files, or a database without this wallet's tables, is another kind of
 * wallet's backup (`foreign_wallet`), never "damaged"; the restored database is swapped
 * in atomically (see `wallet-store.ts`).
 * @module
 */
import type { ArchiveItem } from '@noah-backup/client/archive/read';
import { type BrowserWalletData, createBrowserWalletData } from '@noah-backup/client/web/wallet';
import type { Clock } from '@noah-backup/core/clock';
import { LimitExceededError } from '@noah-backup/core/errors';
import type { Database } from 'sql.js';
import { ForeignWalletError } from './foreign-wallet.ts';
import { integrityCheck, openWalletDatabase } from './sqlite.ts';
import type { WalletSettings, WalletStore } from './wallet-store.ts';

/** File names inside a web wallet backup. */
export const DB_FILE = 'wallet.sqlite';
export const SETTINGS_FILE = 'settings.json';

/** Largest file kept in memory on a restore, by name (a demo wallet is kilobytes). */
export const KEEP_LIMITS: ReadonlyMap<string, number> = new Map([
  [DB_FILE, 64 * 1024 * 1024],
  [SETTINGS_FILE, 1024 * 1024],
]);

const enc = new TextEncoder();

/**
 * Keeps this wallet's two files; anything else shows the backup is another wallet's.
 * Reading stops there: the rest of a large backup need not be downloaded to say so.
 */
function keepWebFile(item: ArchiveItem): boolean {
  const cap = item.type === 'file' ? KEEP_LIMITS.get(item.path) : undefined;
  if (cap === undefined)
    throw new ForeignWalletError(
      'it holds files or folders this web wallet does not write (a wallet data directory backed up by the noah-backup command line or an app)',
    );
  if (item.size > cap)
    throw new LimitExceededError(`${item.path} is larger than this app accepts (${cap} bytes)`);
  return true;
}

function parseSettings(bytes: Uint8Array | undefined, clock: Clock): WalletSettings {
  const fallback: WalletSettings = {
    version: 1,
    wallet_name: 'My wallet',
    unit: 'sat',
    created_at: clock.now().toISOString(),
  };
  if (!bytes) return fallback;
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ForeignWalletError(`its ${SETTINGS_FILE} is not this web wallet's`);
  }
  if (typeof raw !== 'object' || raw === null)
    throw new ForeignWalletError(`its ${SETTINGS_FILE} is not this web wallet's`);
  const r = raw as Record<string, unknown>;
  return {
    version: 1,
    wallet_name:
      typeof r.wallet_name === 'string' ? r.wallet_name.slice(0, 100) : fallback.wallet_name,
    unit: 'sat',
    created_at: typeof r.created_at === 'string' ? r.created_at : fallback.created_at,
  };
}

/**
 * Creates the web wallet's data adapter.
 *
 * @param wallet - the wallet store whose database is backed up and replaced
 * @param clock - time source for archive entry times
 * @returns the wallet's adapter (one-object and incremental backups) for the backup worker
 * @example
 * ```ts
 * const manager = createBackupManager({ api, keys, wallet: createWebWalletData(store, systemClock), spooler, state });
 * ```
 */
export function createWebWalletData(wallet: WalletStore, clock: Clock): BrowserWalletData {
  return createBrowserWalletData<{ db: Database; settings: WalletSettings }>(
    {
      files() {
        const { db, settings } = wallet.exportFiles();
        return [
          { path: DB_FILE, data: db, database: true },
          { path: SETTINGS_FILE, data: enc.encode(JSON.stringify(settings)) },
        ];
      },
      keep: keepWebFile,
      async open(files) {
        const dbBytes = files.get(DB_FILE);
        if (!dbBytes) throw new ForeignWalletError(`it holds no ${DB_FILE}`);
        const settings = parseSettings(files.get(SETTINGS_FILE), clock);
        return { db: await openWalletDatabase(dbBytes), settings };
      },
      replace: ({ db, settings }) => wallet.replace(db, settings),
      discard: ({ db }) => db.close(),
    },
    { integrityCheck, clock },
  );
}
