/**
 * The manager's observable state: the backup status the web app's status card shows
 * (idle / in progress / success / failed, last success, last attempt, last error), the
 * live progress of the running operation, and whether backups are enabled. A tiny
 * external store with immutable snapshots, the shape React's `useSyncExternalStore`
 * wants (the same snapshot object until something changes).
 * @module
 */
import type { BackupsNotAllowedReason } from '@noah-backup/core/api';
import { NoahError } from '@noah-backup/core/errors';

/**
 * How often the device verifies its backups by default (weekly; the manager's
 * `verifyEveryMs`): a UI calls a verification older than this overdue.
 */
export const DEFAULT_VERIFY_EVERY_MS = 7 * 24 * 60 * 60 * 1000;

/** Where the backup job stands. */
export type BackupState = 'idle' | 'in_progress' | 'success' | 'failed';

/** A failure as the status shows it: a stable code and a message without secrets. */
export type ErrorSummary = {
  code: string;
  message: string;
};

/** The persisted backup status. Times are RFC 3339 strings from the injected clock. */
export interface BackupStatus {
  state: BackupState;
  /** When the last backup completed, or null. */
  lastSuccessAt: string | null;
  /** When the last backup started, or null. */
  lastAttemptAt: string | null;
  /** Why the last backup failed; null after a success. */
  lastError: ErrorSummary | null;
  /**
   * The last restore on this device: when the restored backup was made, and when it was
   * restored. Absent before any; a new phone's wallet is backed up as of that backup.
   */
  restoredFrom?: { backupCreatedAt: string; restoredAt: string };
  /**
   * The last verification that reached an outcome on this device (docs/API.md
   * "Verification"); absent before any.
   */
  lastVerification?: LastVerification;
}

/** A verification of a stored backup, as the status keeps it. */
export interface LastVerification {
  /** When it ended (RFC 3339). */
  at: string;
  status: 'success' | 'failure';
  /** The slot verified, and when its backup was made (the server's `created_at`). */
  backupVersion: 1 | 2;
  backupCreatedAt: string;
  /**
   * `whole`: every object read and every database checked as a restore would; `share`:
   * a manifest backup's manifest and one share of its packs.
   */
  scope: 'whole' | 'share';
  /** Packs read, of the backup's packs (0 of 0 for a one-object backup). */
  packsRead: number;
  packsTotal: number;
  /** Why it failed; null after a success. */
  error: ErrorSummary | null;
}

/** What the manager is doing right now. */
export type Activity = 'backup' | 'restore' | 'verify';

/** The steps of a backup (snapshot → complete) and of a restore or verify (download → swap). */
export type ProgressPhase =
  | 'snapshot'
  | 'encrypt'
  | 'upload'
  | 'complete'
  | 'download'
  | 'decrypt'
  | 'verify'
  | 'swap';

/** A progress event: bytes done in the phase, and the total when known. */
export interface ProgressEvent {
  activity: Activity;
  phase: ProgressPhase;
  bytes: number;
  totalBytes?: number;
}

/** Everything a UI renders, as one immutable value. */
export interface ManagerSnapshot {
  status: BackupStatus;
  /** The running operation, or null. */
  activity: Activity | null;
  /** The latest progress event of the running operation, or null. */
  progress: ProgressEvent | null;
  /** The server's `backup_enabled` as last seen, or null before it is known. */
  backupEnabled: boolean | null;
  /**
   * Whether the server takes new backups of this user now (its rollout switch,
   * docs/OPERATIONS.md "Rollout"), or null before it is known; a server that does not
   * say counts as allowing them.
   */
  backupsAllowed: boolean | null;
  /** Why backups are not allowed, or null (allowed, or not known yet). */
  backupsNotAllowedReason: BackupsNotAllowedReason | null;
}

/** The status of a device that never backed up. */
export const INITIAL_STATUS: BackupStatus = {
  state: 'idle',
  lastSuccessAt: null,
  lastAttemptAt: null,
  lastError: null,
};

/** A listener gets the new snapshot. */
export type SnapshotListener = (snapshot: ManagerSnapshot) => void;

/** An observable holder of {@link ManagerSnapshot}. */
export interface SnapshotStore {
  get(): ManagerSnapshot;
  /** Replaces the fields in `patch` (a new snapshot object) and notifies listeners. */
  update(patch: Partial<ManagerSnapshot>): void;
  /** Registers a listener; returns the unsubscribe function. */
  subscribe(listener: SnapshotListener): () => void;
}

/**
 * Creates a {@link SnapshotStore}. A listener that throws does not stop the others.
 * @example
 * ```ts
 * const store = createSnapshotStore();
 * const off = store.subscribe((s) => render(s.status));
 * store.update({ activity: 'backup' });
 * off();
 * ```
 */
export function createSnapshotStore(initial?: Partial<ManagerSnapshot>): SnapshotStore {
  let snapshot: ManagerSnapshot = {
    status: INITIAL_STATUS,
    activity: null,
    progress: null,
    backupEnabled: null,
    backupsAllowed: null,
    backupsNotAllowedReason: null,
    ...initial,
  };
  const listeners = new Set<SnapshotListener>();
  return {
    get: () => snapshot,
    update(patch) {
      snapshot = { ...snapshot, ...patch };
      for (const l of [...listeners]) {
        try {
          l(snapshot);
        } catch {
          // A broken UI listener must not break a backup.
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}

/**
 * Parses a persisted status, falling back to {@link INITIAL_STATUS} for anything
 * malformed (a status is advisory; it must never stop a backup).
 * @example
 * ```ts
 * parseStatus(await state.get('backup_status'));
 * ```
 */
export function parseStatus(text: string | null): BackupStatus {
  if (text === null) return INITIAL_STATUS;
  try {
    const v = JSON.parse(text) as Partial<BackupStatus>;
    const states: BackupState[] = ['idle', 'in_progress', 'success', 'failed'];
    const str = (x: unknown) => (typeof x === 'string' ? x : null);
    const err = v.lastError;
    const restored = v.restoredFrom;
    const status: BackupStatus = {
      state: states.includes(v.state as BackupState) ? (v.state as BackupState) : 'idle',
      lastSuccessAt: str(v.lastSuccessAt),
      lastAttemptAt: str(v.lastAttemptAt),
      lastError:
        err && typeof err.code === 'string' && typeof err.message === 'string'
          ? { code: err.code, message: err.message }
          : null,
    };
    if (str(restored?.backupCreatedAt) && str(restored?.restoredAt))
      status.restoredFrom = {
        backupCreatedAt: restored!.backupCreatedAt,
        restoredAt: restored!.restoredAt,
      };
    const verified = parseVerification(v.lastVerification);
    if (verified) status.lastVerification = verified;
    return status;
  } catch {
    return INITIAL_STATUS;
  }
}

/** A persisted {@link LastVerification}, or null when malformed. */
function parseVerification(v: unknown): LastVerification | null {
  if (!v || typeof v !== 'object') return null;
  const r = v as Partial<LastVerification>;
  const count = (x: unknown) => (Number.isSafeInteger(x) && (x as number) >= 0 ? (x as number) : 0);
  if (
    typeof r.at !== 'string' ||
    (r.status !== 'success' && r.status !== 'failure') ||
    (r.backupVersion !== 1 && r.backupVersion !== 2) ||
    typeof r.backupCreatedAt !== 'string'
  )
    return null;
  const err = r.error;
  return {
    at: r.at,
    status: r.status,
    backupVersion: r.backupVersion,
    backupCreatedAt: r.backupCreatedAt,
    scope: r.scope === 'share' ? 'share' : 'whole',
    packsRead: count(r.packsRead),
    packsTotal: count(r.packsTotal),
    error:
      err && typeof err.code === 'string' && typeof err.message === 'string'
        ? { code: err.code, message: err.message }
        : null,
  };
}

/** Longest message kept in a status or report. */
const MAX_MESSAGE = 300;

/**
 * Summarises an error for the status and for reports: our errors keep their code and
 * message (written never to hold secrets); anything else becomes `unexpected` with its
 * message cut short.
 * @example
 * ```ts
 * summarizeError(new DecryptionError()); // { code: 'decryption_failed', message: 'wrong seedphrase, …' }
 * ```
 */
export function summarizeError(err: unknown): ErrorSummary {
  if (err instanceof NoahError)
    return { code: err.code, message: err.message.slice(0, MAX_MESSAGE) };
  if (err instanceof Error)
    return { code: 'unexpected', message: `${err.name}: ${err.message}`.slice(0, MAX_MESSAGE) };
  return { code: 'unexpected', message: 'unexpected error' };
}

/**
 * Whether two instants fall on the same UTC calendar day (the "backed up today" rule
 * of the daily trigger, docs/PUSH.md §3).
 * @example
 * ```ts
 * sameUtcDay(new Date('2026-01-01T23:59Z'), new Date('2026-01-02T00:00Z')); // false
 * ```
 */
export function sameUtcDay(a: Date, b: Date): boolean {
  return (
    a.getUTCFullYear() === b.getUTCFullYear() &&
    a.getUTCMonth() === b.getUTCMonth() &&
    a.getUTCDate() === b.getUTCDate()
  );
}
