/**
 * The browser's `WalletDataAdapter`: what the BackupManager backs up and restores.
 * A snapshot is an archive of `wallet.sqlite` (sql.js `export()`, consistent because
 * sql.js runs on this one thread) and `settings.json`. A restore unpacks with guards,
 * opens the database, runs `PRAGMA integrity_check`, and only then swaps it in
 * atomically (see `wallet-store.ts`).
 * @module
 */
import type { ArchiveKind, WalletDataAdapter, WalletSnapshot } from '@noah-backup/client/adapters';
import type { Clock } from '@noah-backup/core/clock';
import { ArchiveError, packArchive, unpackArchive } from './archive.ts';
import { openVerifiedDatabase } from './sqlite.ts';
import type { WalletSettings, WalletStore } from './wallet-store.ts';

/** File names inside a web wallet backup. */
export const DB_FILE = 'wallet.sqlite';
export const SETTINGS_FILE = 'settings.json';

/** Size caps for a restore (a demo wallet is kilobytes; these leave ample room). */
export const RESTORE_LIMITS = {
  allowedNames: [DB_FILE, SETTINGS_FILE],
  maxEntryBytes: 64 * 1024 * 1024,
  maxTotalBytes: 65 * 1024 * 1024,
} as const;

const enc = new TextEncoder();

async function collect(
  stream: AsyncIterable<Uint8Array>,
  max: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    signal?.throwIfAborted();
    size += chunk.length;
    // An archive is a little larger than its entries (headers, padding).
    if (size > max + 1024 * 1024) throw new ArchiveError('its contents are too large');
    parts.push(chunk);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
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
    throw new ArchiveError('its settings file is not valid JSON');
  }
  if (typeof raw !== 'object' || raw === null) throw new ArchiveError('its settings are invalid');
  const r = raw as Record<string, unknown>;
  return {
    version: 1,
    wallet_name:
      typeof r.wallet_name === 'string' ? r.wallet_name.slice(0, 100) : fallback.wallet_name,
    unit: 'sat',
    created_at: typeof r.created_at === 'string' ? r.created_at : fallback.created_at,
  };
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
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
    const bytes = await collect(archive, RESTORE_LIMITS.maxTotalBytes, signal);
    const files = unpackArchive(kind, bytes, RESTORE_LIMITS);
    const dbBytes = files.get(DB_FILE);
    if (!dbBytes) throw new ArchiveError('it holds no wallet database');
    const settings = parseSettings(files.get(SETTINGS_FILE), clock);
    const db = await openVerifiedDatabase(dbBytes);
    return { db, settings, entries: files.size };
  }

  return {
    async snapshot({ kind, signal }): Promise<WalletSnapshot> {
      signal?.throwIfAborted();
      const { db, settings } = wallet.exportFiles();
      const archive = packArchive(
        kind,
        [
          { name: DB_FILE, data: db },
          { name: SETTINGS_FILE, data: enc.encode(JSON.stringify(settings)) },
        ],
        clock.now(),
      );
      return { archive: once(archive), entries: 2, cleanup: async () => {} };
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
