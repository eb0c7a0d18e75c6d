/**
 * The `backup_trigger` handler of a React Native app (docs/PUSH.md §3): it runs the
 * manager's backup inside the platform's background budget and hands what does not fit
 * to a background task. The OS gives a woken app little time before it suspends or
 * kills it (about 30 s on iOS, about 10 s on Android, docs/PUSH.md §3.1); a backup still
 * running then would die half-way, report nothing, and leave the lock held until it
 * expires. So the backup is aborted a margin before the budget ends, which leaves time to
 * record the status and report the outcome; the trigger is kept in the device state, and
 * the app's background task (`runPending`, scheduled through `handOff`) finishes it with
 * the longer time such tasks get, reporting under the same `notification_id` (the
 * server keeps a success over an earlier failure).
 * @module
 */
import type { BackupManager, NotificationResult } from '@noah-backup/client/manager';
import type { Logger } from '@noah-backup/client/logger';
import type { DeviceStateStore } from '@noah-backup/client/ports';
import type { ErrorSummary } from '@noah-backup/client/status';
import type { BackupTriggerPayload } from '@noah-backup/core/api';
import { type Clock, systemClock } from '@noah-backup/core/clock';
import { findBackupTrigger } from './trigger.ts';

/**
 * What the OS lets a woken app run, ms: iOS gives a background notification up to 30 s
 * (Apple, `application(_:didReceiveRemoteNotification:fetchCompletionHandler:)`); Android
 * runs expo-notifications' task from the FCM message's short job, about 10 s.
 */
export const BACKGROUND_BUDGET_MS: Readonly<Record<'ios' | 'android', number>> = {
  ios: 30_000,
  android: 10_000,
};

/**
 * Stop this long before the budget ends: the manager records the status and reports the
 * outcome (one request), the trigger is kept and the background task scheduled.
 */
export const DEFAULT_MARGIN_MS = 4_000;

/** Device state key of the trigger handed to the background task. */
export const PENDING_TRIGGER_KEY = 'push_pending_trigger';

/** What handling one push came to. */
export type PushOutcome =
  | NotificationResult
  /** Not a `backup_trigger` (another notification of the app). */
  | { skipped: 'not_a_trigger' }
  /** The budget ran out: the backup was stopped and the background task will finish it. */
  | { status: 'handed_off'; error: ErrorSummary };

/** Options of {@link createBackupTriggerHandler}. */
export interface BackupTriggerHandlerOptions {
  manager: BackupManager;
  /** Where the handed-off trigger is kept (the manager's own store is fine). */
  state: DeviceStateStore;
  /**
   * The background budget for a push, ms: `BACKGROUND_BUDGET_MS[Platform.OS]`. Null: no
   * deadline (a platform without one).
   */
  budgetMs: number | null;
  /** Stop this long before the budget ends (default {@link DEFAULT_MARGIN_MS}). */
  marginMs?: number;
  /**
   * Schedules the background task that calls {@link BackupTriggerHandler.runPending}
   * (Expo: `BackgroundTask.registerTaskAsync`, see `./expo.ts`).
   */
  handOff(): Promise<void>;
  /** Cancels that task once nothing is pending (Expo: `unregisterTaskAsync`). */
  handOffDone?(): Promise<void>;
  /** Whether the app is in the foreground now (React Native: `AppState.currentState === 'active'`): no budget then. */
  isForeground?(): boolean;
  clock?: Clock;
  logger?: Logger;
}

/** Options of one run. */
export interface RunOptions {
  /** Overrides the handler's budget for this run (a background task's own); null: none. */
  budgetMs?: number | null;
  /** Stops the run as the budget would (iOS: the background task's expiration). */
  signal?: AbortSignal;
}

/** The handler. Neither method throws. */
export interface BackupTriggerHandler {
  /** Handles one push (any shape `findBackupTrigger` reads). */
  handle(push: unknown, opts?: RunOptions): Promise<PushOutcome>;
  /** Finishes a handed-off trigger, if one is pending (the background task's body). */
  runPending(opts?: RunOptions): Promise<PushOutcome | { skipped: 'nothing_pending' }>;
  /** The trigger waiting for the background task, or null. */
  pending(): Promise<BackupTriggerPayload | null>;
}

interface Pending {
  notification_id: string;
  received_at: string;
}

/**
 * Creates the handler.
 *
 * @param opts - manager, state store, budget, hand-off
 * @returns `handle` for the push task, `runPending` for the background task
 * @example
 * ```ts
 * const handler = createBackupTriggerHandler({
 *   manager, state, budgetMs: BACKGROUND_BUDGET_MS[Platform.OS === 'ios' ? 'ios' : 'android'],
 *   handOff: () => BackgroundTask.registerTaskAsync(HANDOFF_TASK),
 * });
 * await handler.handle(taskData);
 * ```
 */
export function createBackupTriggerHandler(
  opts: BackupTriggerHandlerOptions,
): BackupTriggerHandler {
  const { manager, state } = opts;
  const clock = opts.clock ?? systemClock;
  const margin = opts.marginMs ?? DEFAULT_MARGIN_MS;
  // Only the error's name: a message may hold a pre-signed URL.
  const warn = (msg: string, err?: unknown) =>
    opts.logger?.warn(msg, err === undefined ? undefined : { error: (err as Error)?.name });

  const readPending = async (): Promise<Pending | null> => {
    try {
      const raw = await state.get(PENDING_TRIGGER_KEY);
      if (raw === null) return null;
      const p = JSON.parse(raw) as Partial<Pending>;
      return typeof p.notification_id === 'string'
        ? { notification_id: p.notification_id, received_at: String(p.received_at) }
        : null;
    } catch (err) {
      warn('could not read the pending backup trigger', err);
      return null;
    }
  };

  const clearPending = async () => {
    try {
      if ((await state.get(PENDING_TRIGGER_KEY)) === null) return;
      await state.delete(PENDING_TRIGGER_KEY);
      await opts.handOffDone?.();
    } catch (err) {
      warn('could not clear the pending backup trigger', err);
    }
  };

  const run = async (
    trigger: BackupTriggerPayload,
    o: RunOptions | undefined,
  ): Promise<PushOutcome> => {
    const budget =
      o?.budgetMs !== undefined ? o.budgetMs : opts.isForeground?.() ? null : opts.budgetMs;
    const controller = new AbortController();
    let outOfTime = false;
    const stop = () => {
      outOfTime = true;
      controller.abort();
    };
    const timer = budget === null ? undefined : setTimeout(stop, Math.max(0, budget - margin));
    if (o?.signal?.aborted) stop();
    o?.signal?.addEventListener('abort', stop, { once: true });
    let result: NotificationResult;
    try {
      // No id, no trigger to name in the report (the server takes ids of 1..128 chars).
      const data = trigger.notification_id === '' ? { type: trigger.type } : trigger;
      result = await manager.handleBackupNotification(data, { signal: controller.signal });
    } catch (err) {
      // The manager never throws; should it, the push still ends with an outcome.
      warn('the backup trigger failed', err);
      result = { status: 'failure', error: { code: 'unexpected', message: 'unexpected error' } };
    } finally {
      clearTimeout(timer);
      o?.signal?.removeEventListener('abort', stop);
    }
    if ('status' in result && result.status === 'failure') {
      if (!(outOfTime && result.error.code === 'aborted')) return result;
      // Out of time: keep the trigger for the background task (docs/PUSH.md §3.1).
      try {
        const p: Pending = {
          notification_id: trigger.notification_id,
          received_at: clock.now().toISOString(),
        };
        await state.set(PENDING_TRIGGER_KEY, JSON.stringify(p));
        await opts.handOff();
      } catch (err) {
        warn('could not hand the backup to the background task', err);
      }
      return { status: 'handed_off', error: result.error };
    }
    // A backup made, or none wanted (done today, turned off, a new phone): nothing to
    // finish later. `running`: another run owns it and decides.
    if (!('skipped' in result && result.skipped === 'running')) await clearPending();
    return result;
  };

  return {
    async handle(push, o) {
      const trigger = findBackupTrigger(push);
      if (!trigger) return { skipped: 'not_a_trigger' };
      return run(trigger, o);
    },
    async runPending(o) {
      const p = await readPending();
      if (!p) return { skipped: 'nothing_pending' };
      return run({ type: 'backup_trigger', notification_id: p.notification_id }, o);
    },
    async pending() {
      const p = await readPending();
      return p ? { type: 'backup_trigger', notification_id: p.notification_id } : null;
    },
  };
}
