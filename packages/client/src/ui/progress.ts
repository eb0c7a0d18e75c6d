/**
 * Maps the manager's progress events (phase and bytes) to what the progress bar shows:
 * a sentence per phase, its bytes, and a fill that is exactly those bytes' fraction.
 * @module
 */
import type { ProgressEvent, ProgressPhase } from '../status.ts';
import { formatBytes } from './format.ts';

/** What a progress bar shows: the phase's sentence, its bytes, and its fill. */
export interface ProgressView {
  /** What is happening, e.g. "Encrypting". */
  label: string;
  /** Bytes done, and the total when known. */
  bytes?: { done: number; total?: number | undefined } | undefined;
  /** 0–100, or undefined while indeterminate. */
  percent?: number | undefined;
}

/** What the bar says in each phase. */
const LABELS: Record<ProgressPhase, string> = {
  snapshot: 'Taking a snapshot of your wallet',
  encrypt: 'Compressing and encrypting',
  upload: 'Uploading',
  complete: 'Backup complete',
  download: 'Downloading',
  decrypt: 'Decrypting and checking',
  verify: 'Backup checked',
  swap: 'Wallet restored',
};

/**
 * The progress bar's props for a progress event. The fill is the phase's own bytes done
 * over its total, the very figures the bar prints beside it; a phase whose total is not
 * known is indeterminate (its bytes so far are still shown).
 *
 * @param p - the manager's latest progress event
 * @returns label, bytes and percent
 * @example
 * ```ts
 * progressView({ activity: 'backup', phase: 'upload', bytes: 50, totalBytes: 200 }); // 25 %
 * ```
 */
export function progressView(p: ProgressEvent): ProgressView {
  const total = p.totalBytes;
  if (total === undefined) return { label: LABELS[p.phase], bytes: { done: p.bytes } };
  return {
    label: LABELS[p.phase],
    bytes: { done: p.bytes, total },
    percent: total > 0 ? Math.min(100, (100 * p.bytes) / total) : 100,
  };
}

/**
 * The bytes a progress bar prints under its label: "3.0 KiB of 12.0 KiB", the bytes so
 * far when the total is not known, or null when there is nothing to say.
 *
 * @param bytes - the view's bytes
 * @returns the text, or null
 */
export function progressAmount(bytes: ProgressView['bytes']): string | null {
  if (bytes === undefined) return null;
  if (bytes.total !== undefined && bytes.total > 0)
    return `${formatBytes(bytes.done)} of ${formatBytes(bytes.total)}`;
  return bytes.done > 0 ? formatBytes(bytes.done) : null;
}
