/**
 * How a client command runs: a session, the progress bar, the result line on stdout
 * (JSON with --json), and every failure as one line with its code, a hint and the exit
 * code of {@link EXIT_HELP}.
 * @module
 */
import { type CommonOptions, classify, EXIT, openSession, type Session } from './client-support.ts';
import { EXIT_SIGNAL, interruptedBy, interruptedLine, onInterrupt } from './interrupt.ts';
import { progressReporter } from './progress.ts';

/** Clears the running command's progress bar: its cleanup would erase a line printed over it. */
let clearProgress = () => {};

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

/** What a command's data directory is, for {@link run}. */
export interface RunTarget {
  /** The wallet data directory the command reads or writes. */
  data?: string;
  /** The command records device state (backup, restore). */
  writesState?: boolean;
  /** The option naming `data` when the command writes there (`--to DIR`). */
  writesData?: string;
  /** Restore may replace a directory that holds files but no wallet (`--force`). */
  replaceNonWallet?: boolean;
  /** Backups are one object each, never incremental (`backup --one-object`). */
  oneObject?: boolean;
  /** Called once the seedphrase read is a valid one, before keys, login and lock. */
  onSeedphrase?: () => void;
}

/** Prints the result: JSON on --json, else the human line. */
export function print(opts: CommonOptions, value: unknown, human: string): void {
  clearProgress();
  process.stdout.write(opts.json ? `${toJson(value)}\n` : `${human}\n`);
}

/** What a command body gets: the session, and the signal that a Ctrl-C aborts. */
export interface RunContext extends Session {
  /** Pass to the manager's operation: on SIGINT/SIGTERM it aborts and cleans up. */
  signal: AbortSignal;
}

/**
 * Runs a command body with a session, mapping every failure to one line and an exit
 * code. SIGINT/SIGTERM abort the body's operation (if it took `signal`: backup, restore
 * and verify remove their temp files as they unwind) and end with one "interrupted" line
 * and exit 130/143; the others stop at once. An operation that completed in spite of the
 * signal (a restore already swapping) prints its result.
 */
export async function run(
  opts: CommonOptions,
  target: RunTarget,
  body: (s: RunContext) => Promise<void>,
): Promise<void> {
  let session: Session | undefined;
  const bar = await progressReporter(!opts.json);
  clearProgress = bar.stop;
  const controller = new AbortController();
  let abortable = false;
  onInterrupt((signal) => {
    controller.abort();
    if (abortable) return; // the operation unwinds, then `fail` says so
    bar.stop();
    process.stderr.write(interruptedLine(signal, 'stopped'));
    process.exit(EXIT_SIGNAL[signal]);
  });
  try {
    session = await openSession(opts, target.data, {
      ...(target.writesState ? { writesState: true } : {}),
      ...(target.writesData ? { writesData: target.writesData } : {}),
      ...(target.replaceNonWallet ? { replaceNonWallet: true } : {}),
      ...(target.oneObject ? { oneObject: true } : {}),
      ...(target.onSeedphrase ? { onSeedphrase: target.onSeedphrase } : {}),
    });
    session.manager.subscribe((snap) => bar.onEvent(snap.progress));
    const { signal } = controller;
    await body({
      ...session,
      get signal() {
        abortable = true;
        return signal;
      },
    });
  } catch (err) {
    bar.stop();
    fail(opts, err);
  } finally {
    bar.stop();
    await session?.close();
  }
}

/** Reports a failure: one line and a hint on stderr, JSON on stdout with --json. */
export function fail(opts: CommonOptions, err: unknown): void {
  const signal = interruptedBy();
  if (signal && (err as { code?: unknown } | null)?.code === 'aborted') {
    process.stderr.write(interruptedLine(signal, 'nothing changed'));
    if (opts.json)
      process.stdout.write(
        `${toJson({ error: { code: 'interrupted', message: `interrupted (${signal})` } })}\n`,
      );
    process.exitCode = EXIT_SIGNAL[signal];
    return;
  }
  const { exit, hint, error } = classify(err, opts.server);
  // The mapped line where classify mapped the error (a file-system error), not its errno text.
  const shown = describe(error);
  process.stderr.write(`noah-backup: error: ${shown.message} [${shown.code}]\n`);
  if (hint) process.stderr.write(`hint: ${hint}\n`);
  if (opts.verbose && err instanceof Error && exit === EXIT.generic && err.stack)
    process.stderr.write(`${err.stack}\n`);
  if (opts.json)
    process.stdout.write(`${toJson({ error: { code: shown.code, message: shown.message } })}\n`);
  process.exitCode = exit;
}

/** The code and first line of a message, whatever was thrown. */
function describe(err: unknown): { code: string; message: string } {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return {
    code: typeof code === 'string' ? code : 'unexpected',
    message: message.split('\n')[0] ?? message,
  };
}
