/**
 * The page's handle on the backup worker: a `BackupManager` whose methods run in the
 * worker (see `backup.worker.ts`) and whose snapshot mirrors the worker's, so the
 * client's `useBackupManager` hook works unchanged. The page serves the worker's calls
 * to the wallet database and to localStorage.
 * @module
 */
import type { WalletDataAdapter } from '@noah-backup/client/ports';
import { AbortedError } from '@noah-backup/client/errors';
import type { BackupManager } from '@noah-backup/client/manager';
import {
  INITIAL_STATUS,
  type ManagerSnapshot,
  type SnapshotListener,
} from '@noah-backup/client/status';
import { NoahError } from '@noah-backup/core/errors';
import type { ArchiveKind } from '@noah-backup/client/ports';
import type { LocalStorageState } from '@noah-backup/client/web/state';
import type { WorkerInit } from './backup.worker.ts';
import { createRpc, type MessageEndpoint } from './rpc.ts';

/** A running backup worker. */
export interface BackupWorker {
  /** The manager; its operations run in the worker. */
  manager: BackupManager;
  /** Stops the worker; pending operations fail. */
  terminate(): void;
}

/** What the page lends the worker. */
export interface BackupWorkerDeps {
  wallet: WalletDataAdapter;
  state: LocalStorageState;
  /** Creates the Worker (default: the bundled `backup.worker.ts`). */
  makeWorker?: () => Worker;
}

function defaultWorker(): Worker {
  return new Worker(new URL('./backup.worker.ts', import.meta.url), {
    type: 'module',
    name: 'noah-backup',
  });
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const c of source) {
    parts.push(c);
    size += c.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Starts the backup worker for one seedphrase and server.
 *
 * @param init - the seedphrase (sent to the worker, which derives the keys) and server URL
 * @param deps - the page's wallet adapter and state store
 * @returns the manager and a way to stop the worker
 * @example
 * ```ts
 * const { manager } = startBackupWorker({ mnemonic, serverUrl: location.origin }, { wallet, state });
 * await manager.ready; // rejects for a seedphrase that is not valid BIP39
 * ```
 */
export function startBackupWorker(init: WorkerInit, deps: BackupWorkerDeps): BackupWorker {
  const worker = (deps.makeWorker ?? defaultWorker)();
  const { wallet, state } = deps;
  const rpc = createRpc(worker as unknown as MessageEndpoint, {
    async 'wallet.snapshot'(kind: ArchiveKind) {
      const snap = await wallet.snapshot({ kind });
      try {
        return {
          archive: await collect(snap.archive),
          entries: snap.entries,
          databases: snap.databases,
        };
      } finally {
        await snap.cleanup();
      }
    },
    'wallet.restore': (stream: number, kind: ArchiveKind) =>
      wallet.restore(rpc.pullStream(stream), { kind }),
    'wallet.verify': (stream: number, kind: ArchiveKind) =>
      wallet.verify(rpc.pullStream(stream), { kind }),
    'state.get': (key: string) => state.get(key),
    'state.set': (key: string, value: string) => state.set(key, value),
    'state.delete': (key: string) => state.delete(key),
    'state.swap': (key: string, expected: string | null, value: string) =>
      state.swap(key, expected, value),
  });

  let snapshot: ManagerSnapshot = {
    status: INITIAL_STATUS,
    activity: null,
    progress: null,
    backupEnabled: null,
  };
  const listeners = new Set<SnapshotListener>();
  rpc.onEvent((name, payload) => {
    if (name !== 'snapshot') return;
    snapshot = payload as ManagerSnapshot;
    for (const l of [...listeners]) l(snapshot);
  });
  worker.addEventListener('error', (e) => {
    e.preventDefault();
    rpc.failAll(new NoahError('worker_failed', 'the backup worker stopped unexpectedly'));
  });

  const ready = rpc.call<void>('init', init);
  ready.catch(() => undefined);
  const call = async <T>(method: string, ...args: unknown[]): Promise<T> => {
    await ready;
    return rpc.call<T>(method, ...args);
  };

  /** Runs `method` in the worker; aborting `signal` cancels it there, by its id. */
  let lastOp = 0;
  const cancellable = async <T>(
    signal: AbortSignal | undefined,
    method: string,
    ...args: unknown[]
  ): Promise<T> => {
    if (!signal) return call<T>(method, ...args, null);
    if (signal.aborted) throw new AbortedError();
    const op = ++lastOp;
    const onAbort = () => {
      call('cancel', op).catch(() => undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await call<T>(method, ...args, op);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  };

  const manager: BackupManager = {
    ready,
    isBackupEnabled: () => call('isBackupEnabled'),
    setBackupEnabled: (enabled) => call('setBackupEnabled', enabled),
    triggerBackup: (opts) => cancellable(opts?.signal, 'triggerBackup'),
    listBackups: () => call('listBackups'),
    restoreBackup: (version, opts) =>
      cancellable(opts?.signal, 'restoreBackup', version, opts?.confirmRollback ?? false),
    deleteBackup: (version) => call('deleteBackup', version),
    verifyBackup: (version, opts) => cancellable(opts?.signal, 'verifyBackup', version),
    handleBackupNotification: (data) => call('handleBackupNotification', data),
    getStatus: () => snapshot.status,
    getSnapshot: () => snapshot,
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
  return {
    manager,
    terminate() {
      worker.terminate();
      rpc.failAll(new NoahError('worker_stopped', 'the backup worker was stopped'));
    },
  };
}
