/**
 * The client commands' progress bar on a terminal's stderr: one phase at a time
 * (snapshot, encrypt, upload; download, verify), each with its total, cleared when it
 * ends so that it leaves nothing behind, and stopped before the result line is printed
 * (clearing a bar erases the terminal line it is on, whatever else was written there).
 * @module
 */
import type { ProgressEvent } from '@noah-backup/client/status';

/** What a command drives. */
export interface ProgressReporter {
  onEvent(e: ProgressEvent | null): void;
  /** Clears the bar (idempotent); call before printing anything. */
  stop(): void;
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const BAR_SIZE = 30;

/**
 * Renders progress events as a bar on stderr when it is a terminal; otherwise nothing.
 * An event without a total while a phase with one runs (decrypt while downloading: the
 * same bytes, one step behind) leaves the bar as it is; a phase without any total shows
 * its bytes alone, never a full bar over "?".
 * @param enabled - false for --json
 */
export async function progressReporter(enabled: boolean): Promise<ProgressReporter> {
  if (!enabled || !process.stderr.isTTY) return { onEvent() {}, stop() {} };
  const { SingleBar } = await import('cli-progress');
  const bar = new SingleBar({
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
    format: (_options, params, payload: { phase: string; done: string; all: string | null }) => {
      if (payload.all === null) return `${payload.phase} ${payload.done}`;
      const full = Math.round(Math.min(1, Math.max(0, params.progress)) * BAR_SIZE);
      return `${payload.phase} |${'\u2588'.repeat(full)}${'\u2591'.repeat(BAR_SIZE - full)}| ${payload.done} / ${payload.all}`;
    },
  });
  let shown: { phase: string; total: number | null; done: boolean } | null = null;
  const stop = () => {
    if (shown === null) return;
    bar.stop();
    shown = null;
  };
  return {
    onEvent(e) {
      if (!e) return;
      const total = e.totalBytes ?? null;
      if (total === null && shown?.total != null && !shown.done && e.phase !== shown.phase) return;
      const payload = {
        phase: e.phase.padEnd(8),
        done: mib(e.bytes),
        all: total === null ? null : mib(total),
      };
      const scale = Math.max(total ?? 0, 1);
      const value = total === null ? 0 : Math.min(e.bytes, scale);
      if (shown?.phase !== e.phase) {
        stop();
        bar.start(scale, value, payload);
        shown = { phase: e.phase, total, done: false };
      } else {
        if (total !== null) bar.setTotal(scale);
        bar.update(value, payload);
      }
      shown.done = total !== null && e.bytes >= total;
    },
    stop,
  };
}
