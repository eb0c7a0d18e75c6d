/**
 * The backup worker: runs the client SDK's BackupManager off the page's main thread,
 * so key derivation, compression, encryption, decryption and the transfers never block
 * the screens. The wallet's database stays on the page (sql.js lives there): the
 * worker reaches it, and the page's localStorage state, through RPC (`rpc.ts`).
 *
 * What crosses is `protocol.ts`: the page calls `init`, then the manager's methods
 * (served here from `MANAGER_CALLS`); the worker calls the page's `wallet.*` and
 * `state.*`, and sends a `snapshot` event on every manager change.
 * @module
 */
import { createApiClient } from '@noah-backup/client/api-client';
import { type BackupManager, createBackupManager } from '@noah-backup/client/manager';
import { createSessionKeys, type SessionKeys } from '@noah-backup/client/keys';
import type {
  DeviceStateStore,
  IncrementalWalletAdapter,
  WalletDataAdapter,
} from '@noah-backup/client/ports';
import { createIndexedDbCacheStore } from '@noah-backup/client/web/cache';
import { createMemorySpooler } from '@noah-backup/client/web/spooler';
import {
  createMemoryTree,
  memoryPageSnapshot,
  type StagedTree,
} from '@noah-backup/client/web/tree';
import { NoahError } from '@noah-backup/core/errors';
import { fromBytes } from '@noah-backup/core/stream';
import {
  CACHE_DB,
  CACHE_KEY,
  MANAGER_CALLS,
  type ManagerCall,
  type PageMethods,
  type WireOptions,
  type WorkerInit,
} from './protocol.ts';
import { createRpc, type Handler, type MessageEndpoint, transfer } from './rpc.ts';

let manager: BackupManager | undefined;
let keys: SessionKeys | undefined;

const need = (): BackupManager => {
  if (!manager) throw new NoahError('not_initialised', 'the backup worker has no session yet');
  return manager;
};

/**
 * Operations the page may cancel, by the id it gave them: the page sends `cancel(id)`
 * and the worker aborts the operation's own signal. Calls arrive in order, so an
 * operation is registered before its cancel.
 */
const running = new Map<number, AbortController>();

/** Calls the manager's `name`, its options' `op` id turned back into a signal. */
async function managerCall(name: ManagerCall, args: unknown[]): Promise<unknown> {
  const at = MANAGER_CALLS[name];
  const method = need()[name] as (...a: unknown[]) => Promise<unknown>;
  const wire = at === null ? undefined : (args[at] as WireOptions<object> | undefined);
  if (wire?.op === undefined) return method(...args);
  const { op, ...opts } = wire;
  const controller = new AbortController();
  running.set(op, controller);
  try {
    const call = [...args];
    call[at!] = { ...opts, signal: controller.signal };
    return await method(...call);
  } finally {
    running.delete(op);
  }
}

const handlers: Record<string, Handler> = {
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
      // With a cache, backups are incremental, as the CLI's (docs/WALLET.md §5).
      cache: createIndexedDbCacheStore(CACHE_DB, CACHE_KEY),
    });
    manager.subscribe((snapshot) => rpc.emit('snapshot', snapshot));
    await manager.ready;
    rpc.emit('snapshot', manager.getSnapshot());
  },
  cancel: (op: number) => {
    running.get(op)?.abort();
  },
};
for (const name of Object.keys(MANAGER_CALLS) as ManagerCall[])
  handlers[name] = (...args: unknown[]) => managerCall(name, args);

const rpc = createRpc<PageMethods>(globalThis as unknown as MessageEndpoint, handlers);

/**
 * A staged tree for the page, its files' buffers moved rather than copied: the worker is
 * done with them, and a copy left here would be one more whole wallet in memory while
 * the page checks and opens its own.
 */
function handOver(tree: StagedTree): StagedTree {
  return transfer(
    tree,
    [...tree.files.values()].map((d) => d.buffer as ArrayBuffer),
  );
}

/**
 * The page's wallet adapter, reached through RPC. A manifest restore is staged here, in
 * the worker, while its packs stream in (each entry admitted by the page first), and
 * handed to the page whole once every byte is proven; the page checks it and swaps.
 */
const remoteWallet: WalletDataAdapter & IncrementalWalletAdapter = {
  async pageSnapshot({ signal, databases = [] }) {
    signal?.throwIfAborted();
    return memoryPageSnapshot(await rpc.call('wallet.pageSnapshot', databases));
  },
  async restoreTree(fill, { signal }) {
    const tree = createMemoryTree({ admit: (item) => rpc.call('wallet.admit', item), signal });
    await fill(tree.sink);
    signal?.throwIfAborted();
    return rpc.call('wallet.restoreTree', handOver(tree.staged()));
  },
  async verifyTree(fill, { signal }) {
    const tree = createMemoryTree({ admit: (item) => rpc.call('wallet.admit', item), signal });
    await fill(tree.sink);
    return rpc.call('wallet.verifyTree', handOver(tree.staged()));
  },
  async snapshot({ kind, signal, databases = [] }) {
    signal?.throwIfAborted();
    const snap = await rpc.call('wallet.snapshot', kind, databases);
    return {
      archive: fromBytes(snap.archive),
      entries: snap.entries,
      databases: snap.databases,
      ...(snap.bytes === undefined ? {} : { bytes: snap.bytes }),
      cleanup: async () => {},
    };
  },
  restore: (archive, { kind }) => rpc.call('wallet.restore', rpc.offerStream(archive), kind),
  verify: (archive, { kind }) => rpc.call('wallet.verify', rpc.offerStream(archive), kind),
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
    const current = await rpc.call('state.get', key);
    if (current !== null && !canReplace(current)) return false;
    return rpc.call('state.swap', key, current, value);
  },
};
