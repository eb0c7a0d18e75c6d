/**
 * The page's handle on the backup worker: a `BackupManager` whose methods run in the
 * worker (see `backup.worker.ts`) and whose snapshot mirrors the worker's, so the
 * client's `useBackupManager` hook works unchanged. The page serves the worker's calls
 * to the wallet database and to localStorage.
 * @module
 */
import { AbortedError } from '@noah-backup/client/errors';
import type { BackupManager } from '@noah-backup/client/manager';
import type { PageSnapshot } from '@noah-backup/client/ports';
import {
  INITIAL_STATUS,
  type ManagerSnapshot,
  type SnapshotListener,
} from '@noah-backup/client/status';
import type { LocalStorageState } from '@noah-backup/client/web/state';
import { fillFrom, type SnapshotFile } from '@noah-backup/client/web/tree';
import type { BrowserWalletData } from '@noah-backup/client/web/wallet';
import { NoahError } from '@noah-backup/core/errors';
import { collect } from '@noah-backup/core/stream';
import {
  MANAGER_CALLS,
  type ManagerCall,
  type PageMethods,
  type WorkerInit,
  type WorkerMethods,
} from './protocol.ts';
import { createRpc, type MessageEndpoint, type RpcEndpoint } from './rpc.ts';

/** A running backup worker. */
export interface BackupWorker {
  /** The manager; its operations run in the worker. */
  manager: BackupManager;
  /** Stops the worker; pending operations fail. */
  terminate(): void;
}

/** What the page lends the worker. */
export interface BackupWorkerDeps {
  wallet: BrowserWalletData;
  state: LocalStorageState;
  /** Creates the Worker (default: the bundled `backup.worker.ts`). */
  makeWorker?: () => Worker;
}

/** Every file of a page snapshot, read whole, for the worker. */
async function wholeFiles(snap: PageSnapshot): Promise<SnapshotFile[]> {
  const files: SnapshotFile[] = [];
  for (const item of snap.items) {
    if (item.type === 'directory') continue;
    const size = item.type === 'file' ? item.size : item.pageCount * item.pageSize;
    const data = await collect(snap.read(item.path, 0, size));
    files.push(
      item.type === 'file'
        ? { path: item.path, data }
        : { path: item.path, data, pageSize: item.pageSize },
    );
  }
  return files;
}

function defaultWorker(): Worker {
  return new Worker(new URL('./backup.worker.ts', import.meta.url), {
    type: 'module',
    name: 'noah-backup',
  });
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
  const page = {
    async 'wallet.snapshot'(kind, databases) {
      const snap = await wallet.snapshot({ kind, databases });
      try {
        return {
          archive: await collect(snap.archive),
          entries: snap.entries,
          databases: snap.databases,
          bytes: snap.bytes,
        };
      } finally {
        await snap.cleanup();
      }
    },
    async 'wallet.pageSnapshot'(databases) {
      const snap = await wallet.pageSnapshot({ databases });
      try {
        return await wholeFiles(snap);
      } finally {
        await snap.cleanup();
      }
    },
    'wallet.admit': async (item) => wallet.admit(item),
    'wallet.restoreTree': (tree) => wallet.restoreTree(fillFrom(tree), {}),
    'wallet.verifyTree': (tree) => wallet.verifyTree(fillFrom(tree), {}),
    'wallet.restore': (stream, kind) => wallet.restore(rpc.pullStream(stream), { kind }),
    'wallet.verify': (stream, kind) => wallet.verify(rpc.pullStream(stream), { kind }),
    'state.get': (key) => state.get(key),
    'state.set': (key, value) => state.set(key, value),
    'state.delete': (key) => state.delete(key),
    'state.swap': (key, expected, value) => state.swap(key, expected, value),
  } satisfies PageMethods;
  const rpc: RpcEndpoint<WorkerMethods> = createRpc(worker as unknown as MessageEndpoint, page);

  let snapshot: ManagerSnapshot = {
    status: INITIAL_STATUS,
    activity: null,
    progress: null,
    backupEnabled: null,
    backupsAllowed: null,
    backupsNotAllowedReason: null,
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

  const ready = rpc.call('init', init);
  ready.catch(() => undefined);

  /**
   * Runs the manager's `name` in the worker. Its options' signal cannot cross: an
   * operation id goes in its place, and aborting the signal cancels the operation there.
   */
  let lastOp = 0;
  const remote = async (name: ManagerCall, args: unknown[]): Promise<unknown> => {
    await ready;
    const at = MANAGER_CALLS[name];
    const opts = at === null ? undefined : (args[at] as { signal?: AbortSignal } | undefined);
    const signal = opts?.signal;
    if (!signal) return rpc.call(name, ...args);
    if (signal.aborted) throw new AbortedError();
    const op = ++lastOp;
    const wire = [...args];
    const { signal: _, ...rest } = opts;
    wire[at!] = { ...rest, op };
    const onAbort = () => {
      rpc.call('cancel', op).catch(() => undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await rpc.call(name, ...wire);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  };
  const calls = Object.fromEntries(
    (Object.keys(MANAGER_CALLS) as ManagerCall[]).map((name) => [
      name,
      (...args: unknown[]) => remote(name, args),
    ]),
  ) as Pick<BackupManager, ManagerCall>;

  const manager: BackupManager = {
    ...calls,
    ready,
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
      rpc.failAll(new NoahError('aborted', 'the backup worker was stopped'));
    },
  };
}
