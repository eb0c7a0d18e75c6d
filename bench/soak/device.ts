/**
 * One simulated device: its own seedphrase, wallet directory, device state and SDK
 * session (createSessionKeys, createApiClient over nodeFetch, createBackupManager over
 * the Node adapters), doing what a phone does — change the wallet and back it up,
 * restore in place, verify, or restore as a new phone on the same seedphrase — and
 * checking every restore against what it backed up.
 *
 * The proof of "restores its last acknowledged backup byte for byte": before each
 * backup the device changes its wallet and records the digest of the whole directory
 * (wallet.ts `walletDigest`: rows, schema and files exactly), so every attempt has a
 * unique digest. A backup is acknowledged when `triggerBackup` returns `completed`. An
 * attempt that failed on the client may still have been committed by the server (the
 * answer to `complete_upload` was lost), so a restore may bring back the last
 * acknowledged attempt or any later one, and nothing else: a digest that matches no
 * attempt is a corrupted backup; one that matches an attempt older than the last
 * acknowledged one is a lost backup. A restore or verify may fail on the network, but
 * not because the newest backup is older than one already seen, has no object in the
 * bucket, or does not decrypt or check; and a restore that fails must leave the wallet
 * as it was (same digest).
 * @module
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createApiClient, type ApiClient } from '@noah-backup/client/api-client';
import { ApiError } from '@noah-backup/client/errors';
import type { FetchFn } from '@noah-backup/client/http';
import { type SessionKeys, createSessionKeys } from '@noah-backup/client/keys';
import type { Logger } from '@noah-backup/client/logger';
import { type BackupManager, createBackupManager } from '@noah-backup/client/manager';
import { nodeFetch } from '@noah-backup/client/node/http-fetch';
import { nodeProcessProbe } from '@noah-backup/client/node/process';
import { createFileSpooler } from '@noah-backup/client/node/spool';
import { createFileStateStore } from '@noah-backup/client/node/state';
import { createNodeWalletAdapter } from '@noah-backup/client/node/wallet';
import { summarizeError } from '@noah-backup/client/status';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { addSamples, bump, type Tally } from './stats.ts';
import { createWallet, type Wallet, walletDigest } from './wallet.ts';

/** A broken promise: the soak fails on any of these. */
export interface Violation {
  device: number;
  /** `unverified`: the final check could not run (the proof is missing, not the data). */
  kind: 'lost' | 'corrupt' | 'wallet_damaged' | 'unverified';
  detail: string;
}

/** What the devices of one worker counted. */
export interface DeviceStats {
  /** `<op> ok` or `<op> <error code>`. */
  outcomes: Tally;
  /** Duration of each operation, ms, by operation. */
  durations: Record<string, number[]>;
  /** Requests the SDK retried, by `<what> <error code>`. */
  retries: Tally;
  /** Notable facts that are not failures. */
  notes: Tally;
  /** CPU time the devices' process used during the load, ms (user + system). */
  cpuMs: number;
}

/** The final check of one device. */
export interface FinalResult {
  device: number;
  /** Backups the server lists for this seedphrase. */
  listed: number;
  /** False when the device never had a backup acknowledged. */
  hadAck: boolean;
  /** The newest listed backup is the last acknowledged one (else a later attempt). */
  newestIsLastAck: boolean;
}

/** Where a device lives and whom it talks to. */
export interface DeviceConfig {
  id: number;
  root: string;
  apiUrl: string;
}

export type Operation = 'backup' | 'restore' | 'verify' | 'fresh-restore';

interface Attempt {
  digest: string;
  sequence: bigint | null;
}

/** Error codes that mean the bytes of a backup are damaged. */
const DAMAGED = new Set([
  'decryption_failed',
  'not_a_backup',
  'integrity_error',
  'integrity_check_failed',
  'unsafe_archive',
]);

/** An error's code, with the HTTP status when it is an answer (a 502 is not a 404). */
export function outcomeOf(err: unknown): string {
  const code = summarizeError(err).code;
  return err instanceof ApiError ? `${code} (HTTP ${err.status})` : code;
}

export function newStats(): DeviceStats {
  return { outcomes: {}, durations: {}, retries: {}, notes: {}, cpuMs: 0 };
}

/** A simulated device. */
export interface Device {
  readonly id: number;
  run(op: Operation, signal: AbortSignal): Promise<void>;
  /** As a new phone: lists, restores every listed backup, checks them. */
  finalCheck(): Promise<FinalResult>;
  close(): void;
}

/**
 * Creates a device: a new seedphrase, a new wallet, a session.
 * @param cfg - id, directory, the balancer's URL
 * @param stats - where to count
 * @param violate - told of every broken promise
 */
export async function createDevice(
  cfg: DeviceConfig,
  stats: DeviceStats,
  violate: (v: Violation) => void,
): Promise<Device> {
  const home = join(cfg.root, `device-${cfg.id}`);
  const tmp = join(home, 'tmp');
  mkdirSync(tmp, { recursive: true });
  const wallet: Wallet = createWallet(join(home, 'wallet'), Math.random);
  const keys: SessionKeys = await createSessionKeys(generateMnemonic(wordlist), cfg.apiUrl);
  const fetch: FetchFn = (url, init) =>
    url.startsWith(cfg.apiUrl)
      ? nodeFetch(url, { ...init, headers: { ...init?.headers, 'x-soak-device': `${cfg.id}` } })
      : nodeFetch(url, init);
  const logger: Logger = {
    debug() {},
    info() {},
    warn(msg, fields) {
      if (msg === 'request failed, retrying')
        bump(stats.retries, `${fields?.what} ${fields?.code}`);
    },
  };
  const session = (
    dataDir: string,
    stateFile: string,
  ): { api: ApiClient; manager: BackupManager } => {
    const api = createApiClient({ baseUrl: cfg.apiUrl, signer: keys.signer, fetch, logger });
    const manager = createBackupManager({
      api,
      keys,
      wallet: createNodeWalletAdapter({ dataDir, tmpDir: tmp }),
      spooler: createFileSpooler(tmp),
      state: createFileStateStore(stateFile),
      processProbe: nodeProcessProbe(),
      logger,
    });
    return { api, manager };
  };
  const own = session(wallet.dir, join(home, 'state.json'));
  const attempts: Attempt[] = [];
  let lastAck = -1;
  let freshCount = 0;
  const v = (kind: Violation['kind'], detail: string) => violate({ device: cfg.id, kind, detail });

  /**
   * Judges restored contents: they must be one of this device's backups, and (`newest`)
   * not older than the last acknowledged one. Returns the attempt's index, or -1.
   */
  const judge = (digest: string, what: string, newest: boolean): number => {
    let i = attempts.length - 1;
    while (i >= 0 && attempts[i]!.digest !== digest) i--;
    if (i < 0)
      v('corrupt', `${what}: the restored wallet matches none of its ${attempts.length} backups`);
    else if (newest && i < lastAck)
      v('lost', `${what}: restored backup #${i}, older than the last acknowledged #${lastAck}`);
    else if (newest && i > lastAck)
      bump(stats.notes, 'the newest backup was a later one whose acknowledgement was lost');
    return i;
  };

  /**
   * A failed restore or verify that says the newest backup is gone or damaged (a
   * network failure says neither): an older backup served as the newest, no backup or
   * no object where an acknowledged one should be, or bytes that do not decrypt or check.
   */
  const judgeFailure = (err: unknown, what: string) => {
    const code = summarizeError(err).code;
    if (code === 'rollback_confirmation_required')
      v('lost', `${what}: the newest backup on the server is older than one this device saw`);
    else if (err instanceof ApiError && err.status === 404 && lastAck >= 0)
      v('lost', `${what}: ${outcomeOf(err)}: the newest backup cannot be found`);
    else if (DAMAGED.has(code)) v('corrupt', `${what}: ${code}`);
  };

  /** A new phone on this seedphrase: empty state, no wallet, a new login. */
  const freshRestore = async (version: 1 | 2 | undefined, signal?: AbortSignal) => {
    const dir = join(home, `fresh-${freshCount++}`);
    mkdirSync(dir);
    try {
      const s = session(join(dir, 'wallet'), join(dir, 'state.json'));
      await s.manager.restoreBackup(version, { signal, confirmRollback: version !== undefined });
      return walletDigest(join(dir, 'wallet'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  const ops: Record<Operation, (signal: AbortSignal) => Promise<void>> = {
    async backup(signal) {
      wallet.mutate();
      attempts.push({ digest: walletDigest(wallet.dir), sequence: null });
      const r = await own.manager.triggerBackup({ signal });
      if (r.status !== 'completed') throw new Error(`backup skipped: ${r.reason}`);
      lastAck = attempts.length - 1;
      attempts[lastAck]!.sequence = r.sequence;
    },
    async restore(signal) {
      const before = walletDigest(wallet.dir);
      wallet.close();
      try {
        await own.manager.restoreBackup(undefined, { signal });
      } catch (err) {
        // Whatever failed, the wallet must be as it was.
        if (walletDigest(wallet.dir) !== before)
          v('wallet_damaged', `a failed restore (${outcomeOf(err)}) changed the wallet`);
        judgeFailure(err, 'restore');
        throw err;
      } finally {
        wallet.open();
      }
      judge(walletDigest(wallet.dir), 'restore', true);
    },
    async verify(signal) {
      const r = await own.manager.verifyBackup(undefined, { signal }).catch((err: unknown) => {
        judgeFailure(err, 'verify');
        throw err;
      });
      const acked = attempts[lastAck]?.sequence ?? null;
      if (acked !== null && (r.sequence === null || r.sequence < acked))
        v('lost', `verify: newest sequence ${r.sequence}, last acknowledged ${acked}`);
    },
    async 'fresh-restore'(signal) {
      let digest: string;
      try {
        digest = await freshRestore(undefined, signal);
      } catch (err) {
        judgeFailure(err, 'fresh-restore');
        throw err;
      }
      judge(digest, 'fresh-restore', true);
    },
  };

  return {
    id: cfg.id,
    async run(op, signal) {
      const start = performance.now();
      let outcome = 'ok';
      try {
        await ops[op](signal);
      } catch (err) {
        outcome = outcomeOf(err);
      }
      bump(stats.outcomes, `${op} ${outcome}`);
      addSamples(stats.durations, op, [performance.now() - start]);
    },
    async finalCheck() {
      const api = createApiClient({ baseUrl: cfg.apiUrl, signer: keys.signer, fetch, logger });
      const listed = await api.list();
      const found: number[] = [];
      for (const [n, b] of listed.entries()) {
        let digest: string;
        try {
          digest = await freshRestore(b.backup_version);
        } catch (err) {
          v('lost', `final: backup ${b.backup_version} does not restore (${outcomeOf(err)})`);
          continue;
        }
        found.push(judge(digest, `final, backup ${b.backup_version}`, n === 0));
      }
      const newest = found[0] ?? -1;
      if (lastAck >= 0) {
        if (listed.length === 0) v('lost', 'final: the server lists no backup');
        // The last acknowledged backup is there, unless two later ones replaced it.
        const later = found.filter((i) => i > lastAck).length;
        if (!found.includes(lastAck) && later < 2)
          v('lost', `final: the last acknowledged backup #${lastAck} is gone (found ${found})`);
      }
      return {
        device: cfg.id,
        listed: listed.length,
        hadAck: lastAck >= 0,
        newestIsLastAck: newest === lastAck,
      };
    },
    close() {
      wallet.close();
      keys.destroy();
    },
  };
}
