/**
 * How a client command runs: a session, the progress bar, the result line on stdout
 * (JSON with --json), and every failure as one line with its code, a hint and the exit
 * code of {@link EXIT_HELP}.
 * @module
 */
import {
  type CommonOptions,
  classify,
  EXIT,
  openSession,
  progressReporter,
  type Session,
} from './client-support.ts';

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
}

/** Prints the result: JSON on --json, else the human line. */
export function print(opts: CommonOptions, value: unknown, human: string): void {
  process.stdout.write(opts.json ? `${toJson(value)}\n` : `${human}\n`);
}

/** Runs a command body with a session, mapping every failure to one line and an exit code. */
export async function run(
  opts: CommonOptions,
  target: RunTarget,
  body: (s: Session) => Promise<void>,
): Promise<void> {
  let session: Session | undefined;
  const bar = await progressReporter(!opts.json);
  try {
    session = await openSession(opts, target.data, {
      ...(target.writesState ? { writesState: true } : {}),
      ...(target.writesData ? { writesData: target.writesData } : {}),
      ...(target.replaceNonWallet ? { replaceNonWallet: true } : {}),
    });
    session.manager.subscribe((snap) => bar.onEvent(snap.progress));
    await body(session);
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
  const { exit, hint } = classify(err, opts.server);
  const shown = describe(err);
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
