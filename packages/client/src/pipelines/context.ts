/**
 * What a pipeline (`backup.ts`, `restore.ts`) is given by the manager, which holds the
 * lock, owns the status and turns `progress` into its live snapshot: the API client and
 * keys, the ports, the settings of this run, its cancellation.
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import type { BackupFormat, CompressionAlgorithm } from '@noah-backup/core/format';
import type { Keyring } from '@noah-backup/core/keys';
import type { ApiClient } from '../api-client.ts';
import type { NoahVariant } from '../archive/noah-write.ts';
import type { Logger } from '../logger.ts';
import type { DeviceCacheStore, DeviceStateStore, Spooler, WalletDataAdapter } from '../ports.ts';
import type { ProgressPhase } from '../status.ts';

/** What a pipeline needs. */
export interface PipelineContext {
  api: ApiClient;
  keyring: Keyring;
  wallet: WalletDataAdapter;
  spooler: Spooler;
  state: DeviceStateStore;
  /** The device cache of incremental backups; without it every backup is one object. */
  cache: DeviceCacheStore | undefined;
  /** Make incremental backups where the wallet adapter and the server support them. */
  incremental: boolean;
  clock: Clock;
  logger: Logger;
  format: BackupFormat;
  /** Compression of v2 backups, and its level (see `backupCompression`). */
  compression: { algorithm: CompressionAlgorithm; level: number };
  maxPlaintextBytes: number | undefined;
  /** The build of Noah's app a noah-v1 backup is for (default `mainnet`). */
  noahVariant?: NoahVariant;
  signal: AbortSignal;
  progress(phase: ProgressPhase, bytes: number, totalBytes?: number): void;
}

/** Passes `source` on, telling `onBytes` the total so far after each chunk. */
export async function* counted(
  source: AsyncIterable<Uint8Array>,
  onBytes: (total: number) => void,
): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const chunk of source) {
    n += chunk.byteLength;
    onBytes(n);
    yield chunk;
  }
}
