/**
 * PushStore: the MetadataStore slice of the daily trigger (docs/PUSH.md §5): registered
 * devices, one trigger row per user and UTC day (the insert is the dedupe), Expo tickets
 * awaiting their receipts, and a record of each day's job. The scheduler and the push
 * routes take this slice, not the whole store.
 *
 * Error contract (as MetadataStore): "not found" is `null`, `false` or an empty list;
 * methods marked idempotent may be repeated; every other failure throws.
 *
 * Push addresses (Expo tokens, UnifiedPush endpoints) are secrets-ish: the store keeps
 * them to send, callers never log them in full (src/push/redact.ts).
 * @module
 */
import type { PushProvider } from '@noah-backup/core/api';

/**
 * A device's Web Push message-encryption keys (RFC 8291 §2, §3), base64url without
 * padding: the user agent's P-256 public key (65 bytes) and authentication secret (16).
 */
export interface PushKeys {
  p256dh: string;
  auth: string;
}

/** A registered device. The push address is unique across all devices. */
export interface DeviceRow {
  userId: string;
  /** Chosen by the install; unique per user, not globally. */
  deviceId: string;
  provider: PushProvider;
  /** Expo push token or UnifiedPush endpoint URL. */
  address: string;
  /** UnifiedPush devices that registered keys: sent as Web Push; null: plain text. */
  keys: PushKeys | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What {@link PushStore.registerDevice} did. */
export interface RegisterDeviceResult {
  device: DeviceRow;
  /** True when the (user, device) pair existed and was updated. */
  updated: boolean;
  /** Devices that held the same address before (another user's or device id) and were removed. */
  displaced: number;
  /** The user's least recently updated devices removed to stay within the per-user cap. */
  evicted: number;
}

/** A device as the daily job reads it with its user. */
export interface CandidateDevice {
  deviceId: string;
  provider: PushProvider;
  address: string;
  keys: PushKeys | null;
}

/** A user the daily job may trigger (the job applies the rollout predicate itself). */
export interface TriggerCandidate {
  id: string;
  pubkey: string;
  /** The user's devices (at least one). */
  devices: CandidateDevice[];
}

/** Where a trigger stands. `claimed`: inserted, not yet handed to a sender. */
export type TriggerStatus = 'claimed' | 'sent' | 'failed';

/** One user's trigger of one UTC day. */
export interface TriggerRow {
  userId: string;
  /** `YYYY-MM-DD`, UTC. */
  day: string;
  notificationId: string;
  status: TriggerStatus;
  /** Messages the senders accepted for this trigger. */
  messages: number;
  createdAt: Date;
  /** The client's report: null until one arrives. */
  outcome: 'success' | 'failure' | null;
  outcomeAt: Date | null;
}

/** An Expo ticket whose receipt has not been read yet. */
export interface TicketRow {
  ticketId: string;
  userId: string;
  /** The token the message went to (pruned when its receipt says DeviceNotRegistered). */
  address: string;
  createdAt: Date;
}

/** The record of one day's job, accumulated over every holder that ran it. */
export interface PushJobRow {
  day: string;
  /** The last holder that started or resumed it. */
  holder: string;
  startedAt: Date;
  /** Null while unfinished (or after its holder died). */
  finishedAt: Date | null;
  /** How many times a holder started it (1 + takeovers and re-runs). */
  runs: number;
  triggered: number;
  failed: number;
  pruned: number;
  /** Triggers of this day reported successful within a day of being sent. */
  succeeded: number;
}

/** Counts added to a job row after each batch. */
export interface PushJobCounts {
  triggered: number;
  failed: number;
  pruned: number;
}

/** The daily trigger's figures for `admin stats` and metrics. */
export interface PushStats {
  devices: number;
  /** Enabled users with a device whose last backup is older than `staleBefore` (or none). */
  staleUsers: number;
  /** The most recently started job, or null. */
  lastJob: PushJobRow | null;
}

/** Triggers of some days and how many led to a successful backup within a day. */
export interface TriggerOutcomeStats {
  /** Users triggered on those days (a sender accepted a message). */
  sent: number;
  /** Of those, reported successful at most 24 h after the trigger was sent. */
  succeededWithinDay: number;
}

export interface PushStore {
  // ---- devices ----
  /**
   * Registers or updates the device `(userId, deviceId)` with a provider and address.
   * Idempotent. The address moves with the registration: any other device row holding
   * it (another user's, or another device id of this user) is removed, because one
   * install has one address and it now belongs to the caller. Keeps at most `maxDevices`
   * devices per user, removing the least recently updated ones. The keys are replaced
   * too: a registration without keys leaves the device without them.
   */
  registerDevice(args: {
    userId: string;
    deviceId: string;
    provider: PushProvider;
    address: string;
    /** Web Push keys (UnifiedPush only); absent or null: none. */
    keys?: PushKeys | null;
    now: Date;
    maxDevices: number;
  }): Promise<RegisterDeviceResult>;
  /** Removes the caller's device; false when it had none by that id. Idempotent. */
  unregisterDevice(userId: string, deviceId: string): Promise<boolean>;
  /** A user's devices, most recently updated first. */
  listDevices(userId: string): Promise<DeviceRow[]>;
  /** Removes the devices with these addresses (dead tokens); returns how many. Idempotent. */
  pruneAddresses(addresses: readonly string[]): Promise<number>;

  // ---- the daily job ----
  /**
   * One keyset page of users to trigger on `day`, with their devices: backups
   * enabled, at least one device, last backup before `staleBefore` (or never), no
   * trigger row for `day`, id greater than `afterId` (null = from the start);
   * ascending by id, at most `limit` users.
   */
  listTriggerCandidates(args: {
    day: string;
    staleBefore: Date;
    afterId: string | null;
    limit: number;
  }): Promise<TriggerCandidate[]>;
  /** How many users {@link listTriggerCandidates} would return over all pages. */
  countTriggerCandidates(args: { day: string; staleBefore: Date }): Promise<number>;
  /**
   * Inserts `claimed` trigger rows for `day` (for existing users: SQLite checks it with
   * a foreign key, PostgreSQL does not, for speed); rows whose (user, day) already
   * exists are left alone. Returns the user ids whose rows this call inserted: of racing callers
   * exactly one claims each user (the insert is the dedupe).
   */
  claimTriggers(
    day: string,
    rows: readonly { userId: string; notificationId: string }[],
    now: Date,
  ): Promise<string[]>;
  /** Sets the status (and accepted message count) of claimed triggers of `day`. Idempotent. */
  settleTriggers(
    day: string,
    rows: readonly { userId: string; status: 'sent' | 'failed'; messages: number }[],
  ): Promise<void>;
  /** A user's trigger of `day`, or null. */
  getTrigger(userId: string, day: string): Promise<TriggerRow | null>;
  /**
   * Records the client's report on its trigger (matched by user and notification id).
   * A success is final; a failure may be followed by a success; a repeat changes
   * nothing. A success at most 24 h after the trigger is counted in the day's job
   * record (`succeeded`). Returns the row and
   * whether this call changed it, or null when the user has no trigger with that id.
   */
  recordTriggerOutcome(args: {
    userId: string;
    notificationId: string;
    status: 'success' | 'failure';
    now: Date;
  }): Promise<{ trigger: TriggerRow; changed: boolean } | null>;
  /** Triggers of the days `[fromDay, toDay)` and how many succeeded within a day (job records). */
  triggerOutcomeStats(fromDay: string, toDay: string): Promise<TriggerOutcomeStats>;
  /**
   * Deletes trigger rows of days before `beforeDay` (their dedupe and outcome link are
   * no longer needed; the job records keep the counts), in batches. Returns how many.
   * Idempotent.
   */
  pruneTriggers(beforeDay: string): Promise<number>;

  // ---- Expo tickets (receipts are read ~15 min later) ----
  /** Stores tickets. Idempotent per ticket id. */
  saveTickets(rows: readonly TicketRow[]): Promise<void>;
  /**
   * Tickets created at or before `createdBefore`, oldest first, after the keyset
   * cursor `after` (null = from the start), at most `limit`.
   */
  listTickets(
    createdBefore: Date,
    after: { createdAt: Date; ticketId: string } | null,
    limit: number,
  ): Promise<TicketRow[]>;
  /** Removes tickets. Idempotent. */
  deleteTickets(ticketIds: readonly string[]): Promise<void>;

  // ---- job records ----
  /** Creates the day's job row, or marks it resumed by `holder` (runs + 1, unfinished). */
  startPushJob(day: string, holder: string, now: Date): Promise<PushJobRow>;
  /** Adds counts to the day's job row. */
  addPushJobCounts(day: string, counts: PushJobCounts): Promise<void>;
  /** Marks the day's job finished. */
  finishPushJob(day: string, now: Date): Promise<void>;
  getPushJob(day: string): Promise<PushJobRow | null>;
  /** Devices, stale users and the last job. */
  pushStats(staleBefore: Date): Promise<PushStats>;
}
