/**
 * Errors the CLI raises itself, each with its exit code and a hint, and the translation
 * of the file-system errors a user's paths cause (a missing input, a read-only target)
 * into one such line instead of Node's errno text.
 * @module
 */
import { access, constants, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type CatalogCode, type ErrorClass, errorClass } from '@noah-backup/core/error-catalog';
import { NoahError } from '@noah-backup/core/errors';

/** Exit codes of the CLI (documented in each command's `--help`). */
export const EXIT = {
  ok: 0,
  generic: 1,
  usage: 2,
  auth: 3,
  network: 4,
  notFound: 5,
  integrity: 6,
  confirm: 7,
} as const;

/**
 * The exit code of each class of the error catalog (core `error-catalog.ts`): every
 * code's exit code follows from its class, as `EXIT_HELP` documents.
 */
export const EXIT_OF_CLASS: Readonly<Record<ErrorClass, number>> = {
  auth: EXIT.auth,
  network: EXIT.network,
  integrity: EXIT.integrity,
  missing: EXIT.notFound,
  confirm: EXIT.confirm,
  usage: EXIT.usage,
  environment: EXIT.generic,
  refused: EXIT.generic,
  // A signal's own exit code (130, 143) is set where the signal is seen (interrupt.ts).
  cancelled: EXIT.generic,
  internal: EXIT.generic,
};

/**
 * The exit code of a catalog code.
 * @example
 * ```ts
 * exitCodeOf('backup_not_found'); // 5
 * ```
 */
export const exitCodeOf = (code: CatalogCode): number => EXIT_OF_CLASS[errorClass(code)];

/** An error the CLI raises itself, with a hint naming what to change; exit by its code. */
export class CliError extends NoahError {
  readonly exit: number;
  readonly hint: string | null;
  constructor(code: CatalogCode, message: string, hint: string | null = null) {
    super(code, message);
    this.exit = exitCodeOf(code);
    this.hint = hint;
  }
}

/** A usage error: exit code 2. */
export class UsageError extends CliError {
  constructor(message: string, hint = 'run with --help for usage') {
    super('usage', message, hint);
  }
}

/** What the user meant to do with a path, for the message. */
export type PathUse = 'read' | 'write';

const errnoOf = (err: unknown): string | undefined => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
};

/**
 * The one-line form of a file-system error on a path the user gave: a missing input is a
 * usage error (the argument names nothing), a path that cannot be written (read-only file
 * system, permissions) is a failure with a hint naming what to change.
 * @param err - the fs error (anything else is returned as it is)
 * @param path - the path as the user typed it
 * @param use - reading or writing
 * @param option - the option or argument that named it, for the hint (`--to DIR`, `IN`)
 * @returns a {@link CliError}, or `err` itself when it is not a file-system error
 */
export function fileError(err: unknown, path: string, use: PathUse, option: string): unknown {
  switch (errnoOf(err)) {
    case 'ENOENT':
    case 'ENOTDIR':
      return use === 'read'
        ? new CliError(
            'file_not_found',
            `cannot read ${path}: no such file`,
            `check ${option}: relative paths start from the current directory (${process.cwd()})`,
          )
        : new CliError(
            'not_writable',
            `cannot write ${path}: its directory does not exist`,
            `create the directory first, or give ${option} one you can write to`,
          );
    case 'EISDIR':
      return new CliError(
        'is_a_directory',
        `${path} is a directory, not a file`,
        `${option} names a file`,
      );
    case 'EROFS':
      return new CliError(
        'not_writable',
        `cannot write ${path}: read-only file system`,
        `give ${option} a place on a writable file system`,
      );
    case 'EACCES':
    case 'EPERM':
      return new CliError(
        use === 'read' ? 'permission_denied' : 'not_writable',
        `cannot ${use} ${path}: permission denied`,
        use === 'read'
          ? `check the permissions of ${path}`
          : `give ${option} a directory you can write to, or fix its permissions`,
      );
    default:
      return err;
  }
}

/**
 * Checks, before any work, that `dir` (or, if it does not exist yet, the nearest
 * directory above it that does) can be written: a read-only target must not surface as
 * "not enough free disk space" (a read-only mount reports no free blocks) or as a raw
 * `ENOENT mkdir`.
 * @param dir - a directory the command will create or write into
 * @param option - the option that named it, for the hint
 * @throws CliError `not_writable`
 */
export async function ensureWritableDir(dir: string, option: string): Promise<void> {
  let at = resolve(dir);
  for (;;) {
    try {
      await access(at, constants.W_OK);
      await ensureNotFile(at, option);
      return;
    } catch (err) {
      if (err instanceof CliError) throw err;
      const code = errnoOf(err);
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(at) !== at) {
        at = dirname(at);
        continue;
      }
      throw fileError(err, at, 'write', option);
    }
  }
}

/**
 * Refuses a path that exists and is not a directory where the command needs one (a file
 * given as `--state`, or inside the path of `--to`), before it surfaces as `ENOTDIR`.
 * @param path - an absolute path
 * @param option - the option that named it, for the hint
 * @throws CliError `not_a_directory` (exit 2)
 */
export async function ensureNotFile(path: string, option: string): Promise<void> {
  const st = await stat(path).catch(() => null);
  if (st && !st.isDirectory())
    throw new CliError(
      'not_a_directory',
      `${path} is a file, not a directory`,
      `${option} names a directory: a new one, or one that exists`,
    );
}

/** The file-system error of a path we cannot attribute to an option: still one line. */
export function describeFsError(err: unknown): unknown {
  const path = (err as { path?: unknown } | null)?.path;
  if (typeof path !== 'string') return err;
  const syscall = (err as { syscall?: unknown }).syscall;
  const writes = ['mkdir', 'mkdtemp', 'rename', 'unlink', 'rmdir', 'write', 'copyfile'];
  const use: PathUse = typeof syscall === 'string' && writes.includes(syscall) ? 'write' : 'read';
  return fileError(err, path, use, 'the path');
}
