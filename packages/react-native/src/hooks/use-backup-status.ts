/**
 * The hooks a React Native wallet's backup screens use (docs/REACT-NATIVE.md §6):
 * `useBackupManager`, the SDK's own binding (`@noah-backup/client/react`, the same the
 * web app uses), and `useBackupStatus`, which adds what the status card shows
 * (`statusView`, shared with the web app) kept true as time passes and as the app
 * returns to the foreground.
 * @module
 */
import type { BackupManager } from '@noah-backup/client/manager';
import { type UseBackupManager, useBackupManager } from '@noah-backup/client/react';
import {
  automaticBadge,
  type StatusTone,
  type StatusView,
  statusCardView,
} from '@noah-backup/client/ui/status-view';
import type { VerificationView } from '@noah-backup/client/ui/verification';
import { type Clock, systemClock } from '@noah-backup/core/clock';
import { useEffect, useState } from 'react';

export { type UseBackupManager, useBackupManager };

/** React Native's `AppState`, as far as these hooks use it. */
export interface AppStateLike {
  addEventListener(type: 'change', listener: (state: string) => void): { remove(): void };
}

/** Options of {@link useBackupStatus}. */
export interface UseBackupStatusOptions {
  /** The app's clock (default the system's). */
  clock?: Clock;
  /** Re-render this often, ms, so "5 minutes ago" stays true (default 30 s). */
  tickMs?: number;
  /**
   * `AppState` from react-native: on each return to the foreground the time is read
   * again and the server's settings re-read (a backup may have run in the background,
   * the rollout may have reached this user).
   */
  appState?: AppStateLike;
}

/** What {@link useBackupStatus} returns: the manager's hook plus the card's view. */
export interface UseBackupStatus extends UseBackupManager {
  /** The status card's state and sentences. */
  view: StatusView;
  /** The last verification's line (the web card's), or null. */
  verification: VerificationView | null;
  /** The card's tone: the view's, made `warn` by a verification warning. */
  tone: StatusTone;
  /** "Automatic backups on" / "off" / "…". */
  badge: string;
  /** The time the view was made for. */
  now: Date;
}

/**
 * The current time, re-read every `ms` and whenever the app returns to the foreground.
 *
 * @param clock - the app's clock
 * @param ms - the period
 * @param appState - React Native's AppState, optional
 */
export function useNow(clock: Clock = systemClock, ms = 30_000, appState?: AppStateLike): Date {
  const [now, setNow] = useState(() => clock.now());
  useEffect(() => {
    const t = setInterval(() => setNow(clock.now()), ms);
    const sub = appState?.addEventListener('change', (s) => {
      if (s === 'active') setNow(clock.now());
    });
    return () => {
      clearInterval(t);
      sub?.remove();
    };
  }, [clock, ms, appState]);
  return now;
}

/**
 * Subscribes a screen to a BackupManager, with the status card's view.
 *
 * @param manager - the app's manager (keep it stable, e.g. in a context)
 * @param opts - clock, tick, AppState
 * @returns the manager's operations, its live state, and the card's view
 * @example
 * ```tsx
 * const { view, badge, triggerBackup } = useBackupStatus(manager, { appState: AppState });
 * return <Text>{view.kind === 'busy' ? view.progress.label : view.line}</Text>;
 * ```
 */
export function useBackupStatus(
  manager: BackupManager,
  opts: UseBackupStatusOptions = {},
): UseBackupStatus {
  const m = useBackupManager(manager);
  const now = useNow(opts.clock, opts.tickMs, opts.appState);
  const { appState } = opts;
  useEffect(() => {
    const sub = appState?.addEventListener('change', (s) => {
      // Failures leave the last known settings in place; the card still renders.
      if (s === 'active') manager.isBackupEnabled().catch(() => {});
    });
    return () => sub?.remove();
  }, [manager, appState]);
  return {
    ...m,
    ...statusCardView(
      {
        status: m.status,
        activity: m.activity,
        progress: m.progress,
        backupsAllowed: m.backupsAllowed,
        backupsNotAllowedReason: m.backupsNotAllowedReason,
      },
      now,
    ),
    badge: automaticBadge(m.isBackupEnabled),
    now,
  };
}
