/**
 * What a day's trigger job (push/job.ts) takes and reports, apart from the job so that
 * the page sender (push/dispatch.ts) and the receipts pass share them without importing
 * the job itself.
 * @module
 */
import type { Clock, RandomBytes } from '@noah-backup/core/clock';
import type { Rollout } from '../rollout.ts';
import type { MetadataStore } from '../stores/metadata.ts';
import type { PushStore } from '../stores/push.ts';
import type { PushMetrics } from './metrics.ts';
import type { Sleep } from './pace.ts';
import type { SenderSet } from './sender.ts';

/** The logger a job writes to (a pino logger fits). */
export interface PushLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** What a job needs. */
export interface TriggerJobDeps {
  store: PushStore & Pick<MetadataStore, 'tryAcquireLease' | 'releaseLease'>;
  senders: SenderSet;
  clock: Clock;
  /** Notification ids. */
  random: RandomBytes;
  /** Default: real time. */
  sleep?: Sleep;
  logger?: PushLogger;
  metrics?: PushMetrics;
  rollout: Rollout;
  /**
   * NOAH_COMPAT=1: the payload also carries `notification_type` and `notification_k1`
   * (the notification id), the names Noah's app reads. Default false.
   */
  noahPayload?: boolean;
  /** This instance's lease holder id. */
  holder: string;
  staleAfterSec: number;
  spreadSec: number;
  /** Messages per second at most; 0 = no cap. */
  rate: number;
  /** Users per page (default 1,000). */
  pageSize?: number;
  /** Lease lifetime without renewal (default 60 s). */
  leaseTtlMs?: number;
  /** Retries of transient failures (default 3, from 1 s, at most 30 s). */
  retry?: { attempts: number; baseMs: number; maxMs: number };
  /** Stops the job after the page in flight (server shutdown). */
  signal?: AbortSignal;
}

/** What a job did. */
export interface TriggerJobResult {
  day: string;
  /**
   * `done`: every candidate was handled; `lease_held`: another instance runs this day's
   * job; `lease_lost`: another instance took the lease over mid-run; `aborted`: stopped.
   */
  status: 'done' | 'lease_held' | 'lease_lost' | 'aborted';
  /** Users to trigger when the job started (before the rollout). */
  candidates: number;
  /** Users the rollout left out. */
  skippedRollout: number;
  /** Candidates another instance claimed first. */
  claimedElsewhere: number;
  /** Users triggered: a sender accepted at least one message. */
  triggered: number;
  /** Users claimed whose every message failed (or who had no device left). */
  failed: number;
  /** Messages accepted, by sender (`expo`, `unifiedpush`, `log`). */
  sent: Record<string, number>;
  /** Messages given up on (failed, dead, or still transient after the retries). */
  messageFailures: number;
  /** Dead addresses removed. */
  pruned: number;
  /** Messages sent again after a transient failure. */
  retries: number;
  startedAt: Date;
  finishedAt: Date;
}
