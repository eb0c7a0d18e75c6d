/**
 * Ctrl-C (SIGINT) and SIGTERM for the commands that do work: the first signal undoes
 * it (the format commands remove their temp file; the client commands abort, and the
 * operation unwinds through its own cleanup: the restore's staging directory holding the
 * decrypted wallet, the backup's spool file and snapshot copies), then the command exits
 * with 128 + the signal's number, as shells report it. A second signal exits at once;
 * what that leaves is removed by the next run (`removeLeftoversOfGone`).
 * @module
 */

/** Exit code after SIGINT / SIGTERM (128 + signal number). */
export const EXIT_SIGNAL = { SIGINT: 130, SIGTERM: 143 } as const;

/** The signals a command stops on. */
export type StopSignal = keyof typeof EXIT_SIGNAL;

let handler: ((signal: StopSignal) => void) | null = null;
let received: StopSignal | null = null;

/**
 * Calls `onSignal` on the first SIGINT or SIGTERM; exits at once on a second one.
 * Installed for the running command only (`serve` has its own graceful stop); a later
 * call replaces the handler.
 * @param onSignal - undoes the work, or starts undoing it (it cannot be awaited)
 * @example
 * ```ts
 * onInterrupt((signal) => controller.abort());
 * ```
 */
export function onInterrupt(onSignal: (signal: StopSignal) => void): void {
  const installed = handler !== null;
  handler = onSignal;
  if (installed) return;
  for (const signal of Object.keys(EXIT_SIGNAL) as StopSignal[])
    process.on(signal, () => {
      if (received !== null) {
        process.stderr.write(`noah-backup: ${signal} again, exiting now\n`);
        process.exit(EXIT_SIGNAL[signal]);
      }
      received = signal;
      handler?.(signal);
    });
}

/** The signal that interrupted this run, if one did. */
export function interruptedBy(): StopSignal | null {
  return received;
}

/** The line an interrupted command ends with. */
export function interruptedLine(signal: StopSignal, outcome: string): string {
  return `noah-backup: interrupted (${signal}); ${outcome}\n`;
}
