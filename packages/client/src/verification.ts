/**
 * When the device verifies its backups, and what it remembers and reports of it
 * (docs/API.md "Verification"): the manager calls {@link Verifier.verifyIfDue} after a
 * trigger's backup work (`triggerBackup`, the daily push) and {@link Verifier.verify}
 * for an explicit `verifyBackup`. A verification is due when none was made yet (so
 * right after the first backup), and then every period; of a manifest backup a run reads
 * one share of the packs, so runs come `shares` times a period and every pack is read
 * within it. The rotation position lives in device state; the outcome goes to the
 * server (`kind: "verify"` with the slot and that backup's `created_at`) and into the
 * status a UI reads.
 * @module
 */
import type { DownloadUrlsResponse, ReportRequest } from '@noah-backup/core/api';
import type { Clock } from '@noah-backup/core/clock';
import { AbortedError, ApiError, NetworkError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { PipelineContext } from './pipelines/context.ts';
import { runScheduledVerify, type ScheduledVerifyResult } from './pipelines/verify.ts';
import type { DeviceStateStore } from './ports.ts';
import { type ErrorSummary, type LastVerification, summarizeError } from './status.ts';

export { DEFAULT_VERIFY_EVERY_MS } from './status.ts';

/** Shares of a manifest backup's packs, by default: one a day with the weekly period. */
export const DEFAULT_VERIFY_SHARES = 7;

/**
 * A run counts as due this much early: a daily trigger comes a little earlier on some
 * days than on others, and must not skip a day for it.
 */
const EARLY = 0.1;

/** State key of the rotation position (the next share to read). */
export const VERIFY_ROTATION_KEY = 'verify_rotation';

/** What a verification run ended with, as the manager's callers see it. */
export type VerificationOutcome =
  | { status: 'success'; verification: LastVerification }
  | { status: 'failure'; verification: LastVerification | null; error: ErrorSummary };

/** What the verifier needs from the manager. */
export interface VerifierDeps {
  state: DeviceStateStore;
  clock: Clock;
  logger: Logger;
  everyMs: number;
  shares: number;
  /** The last verification as the status holds it. */
  last(): LastVerification | null;
  /** Records the last verification in the status. */
  record(v: LastVerification): Promise<void>;
  /** Reports to the server; never throws. */
  report(req: ReportRequest): Promise<void>;
  /** Runs `fn` with a pipeline context for the `verify` activity. */
  withContext<T>(
    signal: AbortSignal | undefined,
    fn: (ctx: PipelineContext) => Promise<T>,
  ): Promise<T>;
}

/** The verifier. */
export interface Verifier {
  /** Whether a scheduled verification is due now. */
  isDue(): boolean;
  /**
   * Runs a scheduled verification when due; null when not. Never throws. `signal` stops
   * it (a push's background budget): a stopped run is neither recorded nor reported.
   */
  verifyIfDue(signal?: AbortSignal): Promise<VerificationOutcome | null>;
  /**
   * Records and reports a whole verification the caller ran (`verifyBackup`): `run`
   * gets a callback to name the backup before reading it.
   */
  recorded<T extends { backup_version: 1 | 2; created_at: string }>(
    run: (onTarget: (t: DownloadUrlsResponse) => void) => Promise<T>,
  ): Promise<T>;
}

/**
 * A failure that says nothing about the backup (offline, cancelled, the server busy or
 * the session gone): not recorded, not reported as the backup's, tried again later.
 */
function transient(err: unknown): boolean {
  if (err instanceof NetworkError || err instanceof AbortedError) return true;
  if (err instanceof ApiError) return err.status === 401 || err.status === 429 || err.status >= 500;
  return false;
}

/** Creates the verifier. */
export function createVerifier(deps: VerifierDeps): Verifier {
  const { state, clock, logger } = deps;
  const shares = Math.max(1, Math.floor(deps.shares));

  const isDue = () => {
    if (!(deps.everyMs > 0)) return false;
    const last = deps.last();
    if (!last) return true;
    const interval = last.scope === 'share' ? deps.everyMs / shares : deps.everyMs;
    return clock.now().getTime() - Date.parse(last.at) >= interval * (1 - EARLY);
  };

  const rotation = async (): Promise<number> => {
    const n = Number(await state.get(VERIFY_ROTATION_KEY));
    return Number.isSafeInteger(n) && n >= 0 ? n % shares : 0;
  };

  /**
   * Records and reports an outcome. A failure before the backup was named, or one that
   * says nothing about it, is neither.
   */
  const settle = async (
    target: DownloadUrlsResponse | null,
    result: { scope: 'whole' | 'share'; packsRead: number; packsTotal: number } | null,
    err: unknown,
  ): Promise<VerificationOutcome> => {
    const error = err === null ? null : summarizeError(err);
    if (!target || (err !== null && transient(err))) {
      if (error) logger.warn('verification did not run to an outcome', error);
      return { status: 'failure', verification: null, error: error! };
    }
    const verification: LastVerification = {
      at: clock.now().toISOString(),
      status: error ? 'failure' : 'success',
      backupVersion: target.backup_version,
      backupCreatedAt: target.created_at,
      scope: result?.scope ?? 'whole',
      packsRead: result?.packsRead ?? 0,
      packsTotal: result?.packsTotal ?? target.objects.length,
      error,
    };
    await deps
      .record(verification)
      .catch((e) => logger.warn('could not record the verification', summarizeError(e)));
    await deps.report({
      kind: 'verify',
      status: verification.status,
      backup_version: target.backup_version,
      backup_created_at: target.created_at,
      ...(error ? { error: error.code } : {}),
    });
    if (error) {
      logger.warn('verification failed', error);
      return { status: 'failure', verification, error };
    }
    return { status: 'success', verification };
  };

  return {
    isDue,
    async verifyIfDue(signal) {
      if (!isDue() || signal?.aborted) return null;
      let target: DownloadUrlsResponse | null = null;
      try {
        const position = await rotation();
        const result: ScheduledVerifyResult = await deps.withContext(signal, (ctx) =>
          runScheduledVerify(ctx, { index: position, of: shares }, (t) => {
            target = t;
          }),
        );
        const outcome = await settle(target, result, null);
        // The next run reads the next share; a failed share is read again. A rotation
        // not saved only repeats a share: no reason to call the backup damaged.
        if (result.scope === 'share')
          await state
            .set(VERIFY_ROTATION_KEY, String((position + 1) % shares))
            .catch((e) => logger.warn('could not save the rotation', summarizeError(e)));
        return outcome;
      } catch (err) {
        const code = (err as { code?: unknown } | null)?.code;
        // No backup on the server yet: nothing to verify, nothing to say.
        if (target === null && code === 'backup_not_found') return null;
        return settle(target, null, err);
      }
    },
    async recorded(run) {
      let target: DownloadUrlsResponse | null = null;
      try {
        const result = await run((t) => {
          target = t;
        });
        const packs = (target as DownloadUrlsResponse | null)?.objects.length ?? 0;
        await settle(target, { scope: 'whole', packsRead: packs, packsTotal: packs }, null);
        return result;
      } catch (err) {
        await settle(target, null, err);
        throw err;
      }
    },
  };
}
