/**
 * The v2 sequence this device knows (FORMAT.md §6.6, rollback detection): the highest
 * sequence it has written or restored, kept in the device state. A device that has
 * none yet (a new phone, a reinstall) must not start again at 1 — its backups would look
 * older than the ones already on the server, and a rollback to those could not be told
 * from a genuine restore. So the first time, it reads the v2 headers of the backups on
 * the server (a ranged GET of the first `V2_HEADER_LENGTH` bytes of each), authenticates
 * them with its own key, and starts from the highest sequence found.
 * @module
 */
import type { BackupVersion } from '@noah-backup/core/api';
import {
  DecryptionError,
  NoahError,
  NotABackupError,
  UnsupportedPayloadKindError,
  UnsupportedVersionError,
} from '@noah-backup/core/errors';
import type { BackupFormat } from '@noah-backup/core/format';
import type { Keyring } from '@noah-backup/core/keys';
import { fromBytes } from '@noah-backup/core/stream';
import { isV2, openV2, V2_HEADER_LENGTH } from '@noah-backup/core/v2';
import type { DeviceStateStore } from './ports.ts';
import type { ApiClient } from './api-client.ts';
import { ApiError } from './errors.ts';
import type { Logger } from './logger.ts';

/** State store key of the highest v2 sequence this device has written or restored. */
export const SEQUENCE_KEY = 'v2_sequence';

/** What the sequence functions need. */
export interface SequenceContext {
  api: ApiClient;
  keyring: Keyring;
  state: DeviceStateStore;
  logger: Logger;
  signal?: AbortSignal;
}

/**
 * The highest v2 sequence stored on this device, or null before any.
 * @param state - the device state
 */
export async function storedSequence(state: DeviceStateStore): Promise<bigint | null> {
  const text = await state.get(SEQUENCE_KEY);
  return text !== null && /^\d+$/.test(text) ? BigInt(text) : null;
}

/**
 * The highest v2 sequence this device knows: the stored one; with none stored, the
 * highest among the server's backups ({@link serverSequence}), then stored if any was
 * found; 0 if there is none (no backups, or only legacy ones).
 *
 * @param ctx - API client, keyring, device state, logger, cancellation
 * @param opened - as for {@link serverSequence}
 * @returns the sequence; a new backup takes the next one
 * @throws whatever the API throws (no sequence is guessed when the server cannot answer)
 * @example
 * ```ts
 * const sequence = (await knownSequence(ctx)) + 1n;
 * ```
 */
export async function knownSequence(ctx: SequenceContext, opened?: OpenedSlot): Promise<bigint> {
  const stored = await storedSequence(ctx.state);
  if (stored !== null) return stored;
  const highest = await serverSequence(ctx, opened);
  if (highest > 0n) {
    await ctx.state.set(SEQUENCE_KEY, highest.toString());
    ctx.logger.info('sequence taken from the server', { sequence: highest.toString() });
  }
  return highest;
}

/** A backup whose authenticated header the caller already holds. */
export interface OpenedSlot {
  readonly version: BackupVersion;
  readonly createdAt: string;
  readonly sequence: bigint | null;
}

/**
 * The highest sequence among the server's backups whose v2 header authenticates under
 * this device's key; 0 if there is none. The headers are read concurrently; nothing is
 * stored.
 *
 * @param ctx - API client, keyring, logger, cancellation
 * @param opened - a backup whose authenticated header the caller already holds (a
 *   restore has just opened it): its sequence is taken as is, not read again, while the
 *   list shows that slot with the same creation time (else the slot was replaced since)
 * @throws whatever the API throws
 */
export async function serverSequence(ctx: SequenceContext, opened?: OpenedSlot): Promise<bigint> {
  const backups = await ctx.api.list({ signal: ctx.signal });
  const sequences = await Promise.all(
    backups.map((b) =>
      opened && b.backup_version === opened.version && b.created_at === opened.createdAt
        ? opened.sequence
        : remoteSequence(ctx, b.backup_version),
    ),
  );
  let highest = 0n;
  for (const seq of sequences) if (seq !== null && seq > highest) highest = seq;
  return highest;
}

/**
 * The authenticated v2 sequence of one backup on the server, read from its header alone;
 * null for a legacy backup, a backup gone meanwhile, or a header this key does not
 * authenticate (another seedphrase's, or tampered: it says nothing we can trust).
 *
 * @param ctx - API client, keyring, logger, cancellation
 * @param version - the backup slot
 */
export async function remoteSequence(
  ctx: SequenceContext,
  version: BackupVersion,
): Promise<bigint | null> {
  let target: Awaited<ReturnType<ApiClient['downloadUrl']>>;
  try {
    target = await ctx.api.downloadUrl({ backup_version: version }, { signal: ctx.signal });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
  let head: Uint8Array;
  try {
    head = await ctx.api.downloadPrefix(target, V2_HEADER_LENGTH, { signal: ctx.signal });
  } catch (err) {
    // The metadata names a backup whose object is gone (lost by the store, or swept
    // meanwhile): it has no sequence to trust, and must not block restoring the other.
    if (err instanceof ApiError && err.status === 404) {
      ctx.logger.warn('a backup listed on the server has no object; ignored', { version });
      return null;
    }
    throw err;
  }
  if (!isV2(head)) return null; // FORMAT.md §2.1: a legacy backup has no sequence
  try {
    // FORMAT.md §5.6: the header MAC is verified before any field is believed.
    const opened = await openV2(fromBytes(head), { key: ctx.keyring.v2Key() });
    await opened.plaintext.return(undefined);
    return opened.header.sequence;
  } catch (err) {
    if (
      err instanceof DecryptionError ||
      err instanceof NotABackupError ||
      err instanceof UnsupportedVersionError ||
      err instanceof UnsupportedPayloadKindError
    ) {
      ctx.logger.warn('a backup header on the server does not authenticate; ignored', {
        version,
        code: err.code,
      });
      return null;
    }
    throw err;
  }
}

/**
 * Why restoring a backup needs the user's confirmation, or null if it does not
 * (FORMAT.md §6.6): a v2 backup whose sequence is lower than the newest this device
 * knows may be a rollback, and so may a legacy one once any v2 sequence is known — it
 * carries no sequence to show it is not older.
 *
 * @param version - the backup slot (for the message)
 * @param format - the backup's format
 * @param sequence - its v2 sequence, or null for a legacy format
 * @param seen - the highest sequence this device knows ({@link knownSequence})
 * @returns a NoahError `rollback_confirmation_required` to throw, or null
 * @example
 * ```ts
 * const refusal = rollbackRefusal(2, 'noah-v1', null, 5n); // needs a yes
 * if (refusal && !confirmed) throw refusal;
 * ```
 */
export function rollbackRefusal(
  version: BackupVersion,
  format: BackupFormat,
  sequence: bigint | null,
  seen: bigint,
): NoahError | null {
  if (sequence !== null && sequence < seen)
    return new NoahError(
      'rollback_confirmation_required',
      `backup ${version} (sequence ${sequence}) is older than the newest this device has seen (sequence ${seen}); confirm to restore it anyway`,
    );
  if (sequence === null && seen > 0n)
    return new NoahError(
      'rollback_confirmation_required',
      `backup ${version} is in the legacy ${format} format, which carries no sequence, so it cannot show it is not older than the newest this device has seen (sequence ${seen}); confirm to restore it anyway`,
    );
  return null;
}
