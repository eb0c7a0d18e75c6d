/**
 * What the device remembers of the wallet's databases between runs, and the checks the
 * manager makes with it on every platform (docs/WALLET.md §1): the paths of the
 * databases the last backup held, kept in the device state. Kept apart from the
 * pipelines so the checks stay one call there.
 * @module
 */
import type { DeviceStateStore, WalletSnapshot } from './ports.ts';
import { walletDatabaseMissing } from './wallet-refusals.ts';

/**
 * State store key of the databases the last backup held (a JSON array of relative
 * paths): the next snapshot checks that each one still there is still a database, and
 * that none is gone.
 */
export const DATABASES_KEY = 'wallet_databases';

/** The stored list of {@link DATABASES_KEY}; empty when absent or unreadable. */
export async function knownDatabases(state: DeviceStateStore): Promise<string[]> {
  try {
    const parsed: unknown = JSON.parse((await state.get(DATABASES_KEY)) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((p): p is string => typeof p === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Records the databases a restore put in place as the ones the device knows, so the
 * next backup checks against the restored wallet (absent: forgotten, the next backup
 * records them).
 */
export async function rememberRestored(
  state: DeviceStateStore,
  databases: readonly string[] | undefined,
): Promise<void> {
  if (databases === undefined) await state.delete(DATABASES_KEY);
  else await state.set(DATABASES_KEY, JSON.stringify(databases));
}

/**
 * Whether a restore target that holds databases is the wallet being replaced: one of its
 * databases is at a path where the backup holds one, or where this device's last backup
 * held one. A directory whose databases are none of these (another program's) is
 * replaced only when the user says so (docs/WALLET.md §2).
 * @param target - the databases in the target, relative paths
 * @param backup - the databases in the backup being restored
 * @param known - the databases of this device's last backup
 */
export function isWalletBeingReplaced(
  target: readonly string[],
  backup: readonly string[],
  known: readonly string[],
): boolean {
  const wallet = new Set([...backup, ...known]);
  return target.some((p) => wallet.has(p));
}

/**
 * Refuses a snapshot that lacks a database the last backup held while it holds others:
 * a wallet that lost a database (deleted, renamed) would otherwise replace a good backup
 * with a reduced one, silently. Not when the app declares its databases (the snapshot
 * then holds exactly what it declared: a database it no longer declares was dropped on
 * purpose), nor when the user accepts the loss (`accept`).
 * @param known - the databases of the last backup ({@link knownDatabases})
 * @param snapshot - the snapshot about to be uploaded
 * @param accept - the user said the missing databases were removed on purpose
 * @throws NoahError `wallet_database_missing`, naming the first one gone
 */
export function refuseLostDatabases(
  known: readonly string[],
  snapshot: Pick<WalletSnapshot, 'databases' | 'declared'>,
  accept: boolean | undefined,
): void {
  if (accept || snapshot.declared) return;
  const present = new Set(snapshot.databases);
  const gone = known.filter((p) => !present.has(p));
  if (gone.length > 0) throw walletDatabaseMissing(gone, snapshot.databases);
}
