/**
 * The backup worker: runs the client SDK's BackupManager off the page's main thread,
 * so key derivation, compression, encryption, decryption and the transfers never block
 * the screens. The wallet's database stays on the page (sql.js lives there): the
 * worker reaches it, and the page's localStorage state, through RPC (`rpc.ts`).
 *
 * Page → worker calls: `init`, then the manager's methods by name. Worker → page:
 * `wallet.*` and `state.*` calls, and a `snapshot` event on every manager change.
 * @module
 */
import type { ArchiveKind, DeviceStateStore, WalletDataAdapter } from '@noah-backup/client/ports';
import { createApiClient } from '@noah-backup/client/api-client';
import { type BackupManager, createBackupManager } from '@noah-backup/client/manager';
import { createSessionKeys, type SessionKeys } from '@noah-backup/client/keys';
import { NoahError } from '@noah-backup/core/errors';
import { createMemorySpooler } from '@noah-backup/client/web/spooler';
import { createRpc, type MessageEndpoint } from './rpc.ts';

/** What the page passes to `init`. */
export interface WorkerInit {
  mnemonic: string;
  /** The backup server's base URL (the page's origin in production). */
  serverUrl: string;
}

let manager: BackupManager | undefined;
let keys: SessionKeys | undefined;

const need = (): BackupManager => {
  if (!manager) throw new NoahError('not_initialised', 'the backup worker has no session yet');
  return manager;
};

/**
 * Operations the page may cancel, by the id it gave them: AbortSignals cannot cross
 * postMessage, so the page sends `cancel(id)` and the worker aborts the operation's own
 * signal. Calls arrive in order, so an operation is registered before its cancel.
 */
const running = new Map<number, AbortController>();

async function cancellable<T>(
  op: number | null,
  run: (opts: { signal?: AbortSignal }) => Promise<T>,
): Promise<T> {
  if (op === null) return run({});
  const controller = new AbortController();
  running.set(op, controller);
  try {
    return await run({ signal: controller.signal });
  } finally {
    running.delete(op);
  }
}

const rpc = createRpc(globalThis as unknown as MessageEndpoint, {
  async init({ mnemonic, serverUrl }: WorkerInit) {
    keys?.destroy();
    keys = await createSessionKeys(mnemonic, serverUrl);
    const api = createApiClient({ baseUrl: serverUrl, signer: keys.signer });
    manager = createBackupManager({
      api,
      keys,
      wallet: remoteWallet,
      spooler: createMemorySpooler(),
      state: remoteState,
    });
    manager.subscribe((snapshot) => rpc.emit('snapshot', snapshot));
    await manager.ready;
    rpc.emit('snapshot', manager.getSnapshot());
  },
  isBackupEnabled: () => need().isBackupEnabled(),
  setBackupEnabled: (enabled: boolean) => need().setBackupEnabled(enabled),
  triggerBackup: (op: number | null) => cancellable(op, (o) => need().triggerBackup(o)),
  listBackups: () => need().listBackups(),
  restoreBackup: (version: 1 | 2 | undefined, confirmRollback: boolean, op: number | null) =>
    cancellable(op, (o) => need().restoreBackup(version, { ...o, confirmRollback })),
  deleteBackup: (version: 1 | 2) => need().deleteBackup(version),
  verifyBackup: (version: 1 | 2 | undefined, op: number | null) =>
    cancellable(op, (o) => need().verifyBackup(version, o)),
  cancel: (op: number) => {
    running.get(op)?.abort();
  },
  handleBackupNotification: (data: unknown) => need().handleBackupNotification(data),
});

/** The page's wallet adapter, reached through RPC. */
const remoteWallet: WalletDataAdapter = {
  async snapshot({ kind, signal }) {
    signal?.throwIfAborted();
    const { archive, entries, databases } = await rpc.call<{
      archive: Uint8Array;
      entries: number;
      databases: string[];
    }>('wallet.snapshot', kind);
    return {
      archive: (async function* () {
        yield archive;
      })(),
      entries,
      databases,
      cleanup: async () => {},
    };
  },
  restore: (archive, { kind }: { kind: ArchiveKind }) =>
    rpc.call('wallet.restore', rpc.offerStream(archive), kind),
  verify: (archive, { kind }: { kind: ArchiveKind }) =>
    rpc.call('wallet.verify', rpc.offerStream(archive), kind),
};

/**
 * The page's localStorage state, reached through RPC. `compareAndSet` reads the value,
 * runs the predicate here, then asks the page to write only if the value is still the
 * one it read (a compare-and-swap on the page's single thread).
 */
const remoteState: DeviceStateStore = {
  get: (key) => rpc.call('state.get', key),
  set: (key, value) => rpc.call('state.set', key, value),
  delete: (key) => rpc.call('state.delete', key),
  async compareAndSet(key, value, canReplace) {
    const current = await rpc.call<string | null>('state.get', key);
    if (current !== null && !canReplace(current)) return false;
    return rpc.call<boolean>('state.swap', key, current, value);
  },
};
