/**
 * What a backup pipeline returns, one-object or incremental: a module of its own so the
 * two pipelines share it without importing each other (docs/ARCHITECTURE.md).
 * @module
 */
import type { BackupInfo } from '@noah-backup/core/api';

/** What an incremental backup sent, for the user (the CLI prints it). */
export interface IncrementalStats {
  /** False when every page went into new packs (no usable cache, or the policy said so). */
  incremental: boolean;
  /**
   * Why it was a full backup, when it was: `no_previous` (no usable cache), `replaced`
   * (the cache's backup is no longer on the server), `base_changed` (another device
   * replaced it during this backup), or the plan's `page_size_changed`, `many_changes`,
   * `many_packs`.
   */
  fullReason?: string;
  /** Pages whose digest differed from the cache's (all pages in a full backup). */
  changedPages: number;
  /** Pages of all databases. */
  totalPages: number;
  /** Encrypted bytes sent: the new packs and the manifest. */
  sentBytes: number;
  /** Encrypted bytes of the whole backup (every pack it references and the manifest). */
  totalBytes: number;
  /** New packs uploaded. */
  packsSent: number;
}

/** A completed backup. */
export interface BackupResult {
  backup: BackupInfo;
  /** The v2 sequence written, or null for a legacy format. */
  sequence: bigint | null;
  /** Encrypted bytes uploaded. */
  bytes: number;
  /** What an incremental backup sent; absent for a one-object backup. */
  incremental?: IncrementalStats;
}
