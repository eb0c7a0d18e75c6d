/**
 * Maps the manager's progress events (phase and bytes) to what the progress bar shows:
 * a sentence per phase and an overall percentage, each phase owning a slice of the bar.
 * @module
 */
import type { ProgressEvent, ProgressPhase } from '@noah-backup/client/status';
import type { ProgressBarProps } from './components.tsx';

/** Label and slice [start, end) of the bar for each phase. */
const PHASES: Record<ProgressPhase, { label: string; start: number; end: number }> = {
  snapshot: { label: 'Taking a snapshot of your wallet', start: 0, end: 5 },
  encrypt: { label: 'Compressing and encrypting', start: 5, end: 30 },
  upload: { label: 'Uploading', start: 30, end: 95 },
  complete: { label: 'Backup complete', start: 100, end: 100 },
  download: { label: 'Downloading', start: 0, end: 60 },
  decrypt: { label: 'Decrypting and checking', start: 60, end: 90 },
  verify: { label: 'Backup checked', start: 100, end: 100 },
  swap: { label: 'Wallet restored', start: 100, end: 100 },
};

/**
 * The progress bar's props for a progress event.
 *
 * @param p - the manager's latest progress event
 * @returns label, bytes and overall percent
 * @example
 * ```ts
 * progressView({ activity: 'backup', phase: 'upload', bytes: 50, totalBytes: 100 }); // 62.5 %
 * ```
 */
export function progressView(p: ProgressEvent): ProgressBarProps {
  const phase = PHASES[p.phase];
  const total = p.totalBytes;
  const fraction = total && total > 0 ? Math.min(1, p.bytes / total) : 0;
  return {
    label: phase.label,
    bytes: total !== undefined ? { done: p.bytes, total } : undefined,
    percent: phase.start + (phase.end - phase.start) * fraction,
  };
}
