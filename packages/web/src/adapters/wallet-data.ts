/**
 * The browser's `WalletDataAdapter`: what the BackupManager backs up and restores.
 * A snapshot is an archive of `wallet.sqlite` (sql.js `export()`, consistent because
 * sql.js runs on this one thread) and `settings.json`. A restore reads any archive the
 * Node side writes, with its guards (`archive-read.ts`); an archive holding anything but
 * those two files, or a database without this wallet's tables, is another kind of
 * wallet's backup (`foreign_wallet`), never "damaged". This wallet's database must pass
 * `PRAGMA integrity_check` before it is swapped in atomically (see `wallet-store.ts`).
 * @module
 */
import type { ArchiveKind, WalletDataAdapter, WalletSnapshot } from '@noah-backup/client/ports';
import { DEFAULT_LIMITS } from '@noah-backup/client/archive/guards';
import { type ArchiveItem, readArchiveFiles } from '@noah-backup/client/archive/read';
import { writeArchive } from '@noah-backup/client/archive/write';
import type { Clock } from '@noah-backup/core/clock';
import { LimitExceededError } from '@noah-backup/core/errors';
import { fromBytes } from '@noah-backup/core/stream';
import { ForeignWalletError } from './foreign-wallet.ts';
import { openVerifiedDatabase } from './sqlite.ts';
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
 * Creates the browser wallet's data adapter.
 *
 * @param wallet - the wallet store whose database is backed up and replaced
 * @param clock - time source for archive entry times
 * @returns a `WalletDataAdapter` for `createBackupManager`
 * @example
 * ```ts
 * const manager = createBackupManager({ api, keys, wallet: createWebWalletData(store, systemClock), spooler, state });
 * ```
 */
export function createWebWalletData(wallet: WalletStore, clock: Clock): WalletDataAdapter {
  async function unpackAndCheck(
    archive: AsyncIterable<Uint8Array>,
    kind: ArchiveKind,
    signal?: AbortSignal,
  ) {
    // The Node reader's limits (DEFAULT_LIMITS): what it accepts, this reader accepts.
    const { files } = await readArchiveFiles(kind, archive, {
      limits: DEFAULT_LIMITS,
      keep: keepWebFile,
      signal,
    });
    const dbBytes = files.get(DB_FILE);
    if (!dbBytes) throw new ForeignWalletError(`it holds no ${DB_FILE}`);
    const settings = parseSettings(files.get(SETTINGS_FILE), clock);
    const db = await openVerifiedDatabase(dbBytes);
    return { db, settings, entries: files.size };
  }

  return {
    async snapshot({ kind, signal }): Promise<WalletSnapshot> {
      signal?.throwIfAborted();
      const { db, settings } = wallet.exportFiles();
      const files = [
        { name: DB_FILE, data: db },
        { name: SETTINGS_FILE, data: enc.encode(JSON.stringify(settings)) },
      ].map(({ name, data }) => ({
        type: 'file' as const,
        name,
        size: data.length,
        body: () => fromBytes(data),
      }));
      const archive = writeArchive(kind, files, clock.now(), signal);
      return { archive, entries: 2, databases: [DB_FILE], cleanup: async () => {} };
    },
    async restore(archive, { kind, signal }) {
      const { db, settings, entries } = await unpackAndCheck(archive, kind, signal);
      try {
        signal?.throwIfAborted();
      } catch (err) {
        db.close();
        throw err;
      }
      await wallet.replace(db, settings);
      return { entries };
    },
    async verify(archive, { kind, signal }) {
      const { db, entries } = await unpackAndCheck(archive, kind, signal);
      db.close();
      return { entries, databases: 1 };
    },
  };
}
