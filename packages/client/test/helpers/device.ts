/**
 * A wallet device for end-to-end tests: session keys, the real ApiClient against the
 * real Noah server (`startTestServer`), and the BackupManager over the real Node
 * adapters (wallet directory, temp-file spooler, file state store) in a temp dir.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { type Clock, manualClock } from '@noah-backup/core/clock';
import { createKeyring, type Keyring } from '@noah-backup/core/keys';
import { fromBytes } from '@noah-backup/core/stream';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import Database from 'better-sqlite3';
import type { BackupFormat, CompressionAlgorithm } from '@noah-backup/core/format';
import { type ApiClient, createApiClient } from '../../src/api-client.ts';
import type { FetchFn } from '../../src/http.ts';
import { createSessionKeys, type SessionKeys } from '../../src/keys.ts';
import { type BackupManager, createBackupManager } from '../../src/manager.ts';
import { createFileCacheStore } from '../../src/node/cache.ts';
import { createFileSpooler } from '../../src/node/spool.ts';
import { createFileStateStore } from '../../src/node/state.ts';
import {
  createNodeWalletAdapter,
  type NodeWalletAdapter,
  type NodeWalletAdapterOptions,
} from '../../src/node/wallet.ts';
import type { DeviceStateStore, WalletDataAdapter } from '../../src/ports.ts';

import {
  type StartTestServerOptions,
  startTestServer,
  type TestServer,
} from '../../../server/test/helpers/server.ts';
import type { NoahVariant } from '../../src/archive/noah-write.ts';

export { startTestServer, type TestServer };

/** A fresh random BIP39 mnemonic (one user per test). */
export const newMnemonic = (): string => generateMnemonic(wordlist);

export interface Device {
  manager: BackupManager;
  api: ApiClient;
  keys: SessionKeys;
  state: DeviceStateStore;
  clock: ReturnType<typeof manualClock>;
  walletDir: string;
  close(): void;
}

export interface DeviceOptions {
  /** Device root (wallet dir, state, temp files go below it). */
  root: string;
  mnemonic: string;
  /** Decrypt with this seedphrase's keyring instead (the account stays `mnemonic`'s). */
  decryptWith?: string;
  clock?: ReturnType<typeof manualClock>;
  format?: BackupFormat;
  /** noah-v1: the build of Noah's app the backups are for. */
  noahVariant?: NoahVariant;
  lockTtlMs?: number;
  /** The device's network (default: the global fetch). */
  fetch?: FetchFn;
  /** Plaintext cap on restore and verify. */
  maxPlaintextBytes?: number;
  /** Compression of v2 backups (default: the platform's preferred one). */
  compression?: CompressionAlgorithm;
  /** Its level. */
  compressionLevel?: number;
  /** More options of the Node wallet adapter (`databases`, `replaceNonWallet`…). */
  walletOptions?: Partial<NodeWalletAdapterOptions>;
  /** Another platform's adapter in place of the Node one (given the Node one to wrap). */
  wallet?: (node: NodeWalletAdapter) => WalletDataAdapter;
  /** false: one-object backups, as a client without incremental backups makes. */
  incremental?: boolean;
  /** The manager's scheduled verification period (0: off) and shares. */
  verifyEveryMs?: number;
  verifyShares?: number;
}

/** Opens a device against `serverUrl`. */
export async function openDevice(serverUrl: string, opts: DeviceOptions): Promise<Device> {
  const clock = opts.clock ?? manualClock(new Date());
  const walletDir = join(opts.root, 'wallet');
  const tmp = join(opts.root, 'tmp');
  await mkdir(tmp, { recursive: true });
  const keys = await createSessionKeys(opts.mnemonic, serverUrl);
  let other: Keyring | undefined;
  if (opts.decryptWith) other = await createKeyring(opts.decryptWith);
  const api = createApiClient({
    baseUrl: serverUrl,
    signer: keys.signer,
    clock: clock as Clock,
    sleep: async () => {},
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  const state = createFileStateStore(join(opts.root, 'state.json'));
  const node = createNodeWalletAdapter({
    dataDir: walletDir,
    tmpDir: tmp,
    clock,
    ...opts.walletOptions,
  });
  const manager = createBackupManager({
    api,
    keys: other ? { keyring: other } : keys,
    wallet: opts.wallet ? opts.wallet(node) : node,
    spooler: createFileSpooler(tmp),
    state,
    cache: createFileCacheStore(join(opts.root, 'state.cache')),
    ...(opts.incremental === false ? { incremental: false } : {}),
    clock,
    ...(opts.format ? { format: opts.format } : {}),
    ...(opts.noahVariant ? { noahVariant: opts.noahVariant } : {}),
    ...(opts.lockTtlMs ? { lockTtlMs: opts.lockTtlMs } : {}),
    ...(opts.maxPlaintextBytes ? { maxPlaintextBytes: opts.maxPlaintextBytes } : {}),
    ...(opts.compression !== undefined ? { compression: opts.compression } : {}),
    ...(opts.compressionLevel !== undefined ? { compressionLevel: opts.compressionLevel } : {}),
    ...(opts.verifyEveryMs !== undefined ? { verifyEveryMs: opts.verifyEveryMs } : {}),
    ...(opts.verifyShares !== undefined ? { verifyShares: opts.verifyShares } : {}),
  });
  await manager.ready;
  return {
    manager,
    api,
    keys,
    state,
    clock,
    walletDir,
    close() {
      keys.destroy();
      other?.destroy();
    },
  };
}

/** Adds a payment row to a demo wallet (so two backups differ). */
export function addPayment(walletDir: string, n: number): void {
  const db = new Database(join(walletDir, 'wallet.sqlite'));
  try {
    db.prepare(
      `INSERT INTO payments (payment_hash, direction, status, amount_sat, fee_sat, description, created_at)
       VALUES (?, 'incoming', 'complete', ?, 0, ?, ?)`,
    ).run(`marker-hash-${n}`, 1000 + n, `marker payment ${n}`, 1_700_000_000 + n);
  } finally {
    db.close();
  }
}

/** Uploads `bytes` as a completed backup through the API, as any client of the account could. */
export async function uploadRaw(api: ApiClient, bytes: Uint8Array, version?: 1 | 2) {
  const target = await api.uploadUrl({
    backup_size: bytes.length,
    ...(version ? { backup_version: version } : {}),
  });
  await api.upload(target, {
    size: bytes.length,
    open: () => fromBytes(bytes),
    cleanup: async () => {},
  });
  return api.completeUpload({
    s3_key: target.s3_key,
    backup_version: target.backup_version,
    backup_size: bytes.length,
  });
}

/** A describe block's server and devices (see {@link deviceSuite}). */
export interface DeviceSuite {
  /** The suite's server, started in `beforeAll`. */
  readonly srv: TestServer;
  /** The suite's temp directory; each device gets one below it. */
  readonly root: string;
  /** Opens a device in a fresh directory under the suite's temp root. */
  device(mnemonic: string, extra?: Partial<DeviceOptions>): Promise<Device>;
  /** Opens a device again in `dev`'s directory (its state and wallet as it left them). */
  reopen(dev: Device, mnemonic: string, extra?: Partial<DeviceOptions>): Promise<Device>;
}

/**
 * Registers, in the calling `describe`, one real server on `combo` (started before the
 * suite, closed after it with its temp root) and devices that are closed after each test.
 * @param combo - the metadata and blob store kinds
 * @param name - a label for the temp root
 * @param maxBackupSize - the server's MAX_BACKUP_SIZE
 * @example
 * ```ts
 * describe.each(fullCombos)('on $metadataKind + $blobKind', (combo) => {
 *   const suite = deviceSuite(combo, 'e2e', 16 * 2 ** 20);
 *   it('backs up', async () => { const a = await suite.device(newMnemonic()); ... });
 * });
 * ```
 */
export function deviceSuite(
  combo: Pick<StartTestServerOptions, 'metadataKind' | 'blobKind'>,
  name: string,
  maxBackupSize: number,
): DeviceSuite {
  let srv: TestServer | undefined;
  let root = '';
  let n = 0;
  const open: Device[] = [];
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), `noah-${name}-${combo.metadataKind}-`));
    srv = await startTestServer({ ...combo, config: { maxBackupSize } });
  });
  afterAll(async () => {
    await srv?.close();
    await rm(root, { recursive: true, force: true });
  });
  afterEach(() => {
    for (const d of open.splice(0)) d.close();
  });
  const at = async (dir: string, mnemonic: string, extra: Partial<DeviceOptions>) => {
    if (!srv) throw new Error('deviceSuite: the server is not started (use it inside a test)');
    const d = await openDevice(srv.url, { root: dir, mnemonic, ...extra });
    open.push(d);
    return d;
  };
  return {
    get srv() {
      if (!srv) throw new Error('deviceSuite: the server is not started (use it inside a test)');
      return srv;
    },
    get root() {
      return root;
    },
    device: (mnemonic, extra = {}) => at(join(root, `d${++n}`), mnemonic, extra),
    reopen: (dev, mnemonic, extra = {}) => at(dirname(dev.walletDir), mnemonic, extra),
  };
}
