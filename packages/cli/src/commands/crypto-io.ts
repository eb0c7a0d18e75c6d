/**
 * Plumbing of `encrypt`, `decrypt` and `inspect`: the input as a byte stream, the output
 * written atomically (temp file in OUT's directory, mode 0600, fsync, rename; removed on
 * any failure or signal), a progress bar on a terminal's stderr, and one-line errors with
 * a hint and the exit codes of the client commands' table.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { once } from 'node:events';
import { batchedWriter } from '@noah-backup/client/node/fs-util';
import type { CatalogCode } from '@noah-backup/core/error-catalog';
import { NoahError } from '@noah-backup/core/errors';
import {
  CliError,
  describeFsError,
  EXIT,
  exitCodeOf,
  fileError,
  UsageError,
} from './cli-errors.ts';
import { EXIT_SIGNAL, interruptedLine, onInterrupt } from './interrupt.ts';

/** The exit-code table of these commands (a subset of the client commands' table). */
export const CRYPTO_EXIT_HELP = `
Exit codes:
  0    success
  1    other failure (IN not readable, OUT not writable, disk full)
  2    usage error (bad arguments, no seedphrase, IN or the seedphrase file does
       not exist, OUT exists without --force)
  3    wrong seedphrase, or the backup is corrupted or was tampered with; invalid
       BIP39 seedphrase (v2)
  6    not a backup, unsupported version, or over the --max-size cap
  130  interrupted (SIGINT; 143 for SIGTERM); OUT is not written`;

/** Where an input comes from: its bytes and, for a regular file, its size. */
export interface Input {
  source: AsyncIterable<Uint8Array>;
  size: number | null;
}

/**
 * Read size for input files, and the size of each batched write: one v2 chunk. Larger
 * buffers are no faster and live long enough to wait for a full garbage collection,
 * which raises the peak memory bench/format-cli.ts measures.
 */
const READ_SIZE = 256 * 1024;

/**
 * Opens IN (`-` for stdin) as a byte stream.
 * @throws CliError `file_not_found` (exit 2), `is_a_directory`, `permission_denied`
 */
export async function openInput(path: string): Promise<Input> {
  if (path === '-') return { source: process.stdin, size: null };
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw Object.assign(new Error(path), { code: 'EISDIR' });
    const stream = createReadStream(path, { highWaterMark: READ_SIZE });
    await once(stream, 'open');
    return { source: stream, size: s.isFile() ? s.size : null };
  } catch (err) {
    throw fileError(err, path, 'read', 'IN');
  }
}

/** An output being written; nothing is visible at OUT until `commit`. */
export interface Output {
  write(chunk: Uint8Array): Promise<void>;
  /** Flushes, fsyncs, renames into place (and fsyncs the directory). */
  commit(): Promise<void>;
  /** Removes the temp file; safe to call after a failed commit or more than once. */
  abort(): Promise<void>;
}

/** Temp files and directories to remove if a signal arrives (a handler cannot await). */
const pending = new Set<string>();

/**
 * Removes `path` (a file or a directory tree) if a signal stops the command.
 * @returns a function that takes it off the list again, once it is gone or committed
 */
export function removeOnSignal(path: string): () => void {
  pending.add(path);
  return () => pending.delete(path);
}

/**
 * Removes pending temp files and directories and exits on SIGINT/SIGTERM, so an
 * interrupted command leaves neither OUT nor anything in a temp directory.
 */
export function cleanUpOnSignals(): void {
  onInterrupt((signal) => {
    for (const p of pending) {
      try {
        // Retried: a copy still at work may add a file while the tree is removed.
        rmSync(p, { recursive: true, force: true, maxRetries: 3, retryDelay: 10 });
      } catch {
        // gone already, or nothing more can be done on the way out
      }
    }
    process.stderr.write(interruptedLine(signal, 'nothing was written'));
    process.exit(EXIT_SIGNAL[signal]);
  });
}

/** Writes to stdout with backpressure; stdout cannot be atomic (the reader must check the exit code). */
function stdoutOutput(): Output {
  // A reader that goes away (EPIPE) fails the next write instead of crashing the process.
  let failed: unknown;
  process.stdout.on('error', (err) => {
    failed ??= err;
  });
  return {
    async write(chunk) {
      if (failed) throw failed;
      if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
    },
    async commit() {},
    async abort() {},
  };
}

/**
 * Opens OUT for an atomic write: a temp file `.<name>.<random>.tmp` in OUT's directory,
 * created exclusively with mode 0600. `-` writes to stdout instead (not atomic).
 * @param path - OUT
 * @param force - replace an existing OUT
 * @throws UsageError if OUT exists and `force` is false; the fs error if the directory
 *   is not writable
 */
export async function openOutput(path: string, force: boolean): Promise<Output> {
  if (path === '-') return stdoutOutput();
  const target = resolve(path);
  if (!force) {
    const exists = await stat(target).then(
      () => true,
      () => false,
    );
    if (exists)
      throw new UsageError(
        `${path} exists (use --force to replace it)`,
        'add --force to replace it, or name another OUT',
      );
  }
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600).catch((err: unknown) => {
    throw fileError(err, path, 'write', 'OUT');
  });
  pending.add(tmp);
  // One writev per chunk's worth, the next gathered while the last is written; a partial
  // writev is finished rather than lost.
  const out = batchedWriter(fh, READ_SIZE);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await fh.close();
  };
  return {
    write: out.write,
    async commit() {
      await out.flush();
      await fh.sync();
      await close();
      await rename(tmp, target);
      pending.delete(tmp);
      // Make the rename itself durable.
      const d = await open(dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    },
    async abort() {
      await out.abandon();
      await close().catch(() => {});
      await unlink(tmp).catch(() => {});
      pending.delete(tmp);
    },
  };
}

/** Counts bytes as they pass, for the progress bar. */
export async function* counted(
  source: AsyncIterable<Uint8Array>,
  onBytes: (n: number) => void,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    onBytes(chunk.length);
    yield chunk;
  }
}

/** Files below this size get no progress bar. */
const PROGRESS_MIN = 16 * 2 ** 20;

/**
 * A progress bar over the input bytes, on stderr when it is a terminal and the input is
 * a file of at least 16 MiB; otherwise a no-op.
 */
export async function progressBar(
  label: string,
  total: number | null,
): Promise<{ add(n: number): void; stop(): void }> {
  if (!process.stderr.isTTY || total === null || total < PROGRESS_MIN)
    return { add() {}, stop() {} };
  const { SingleBar, Presets } = await import('cli-progress');
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const bar = new SingleBar(
    {
      stream: process.stderr,
      format: `${label} |{bar}| {percentage}% {done} / {all}`,
      hideCursor: true,
      clearOnComplete: true,
    },
    Presets.shades_classic,
  );
  let done = 0;
  let last = 0;
  bar.start(total, 0, { done: mib(0), all: mib(total) });
  return {
    add(n) {
      done += n;
      // Redraw at most every 1 MiB: cheap at any size.
      if (done - last < 2 ** 20 && done < total) return;
      last = done;
      bar.update(Math.min(done, total), { done: mib(done), all: mib(total) });
    },
    stop: () => bar.stop(),
  };
}

/**
 * Hints of the codes these commands meet (the format's: they make no request): where
 * they differ from the client commands', they speak of files, not servers.
 */
const CRYPTO_HINTS: Partial<Readonly<Record<CatalogCode, string>>> = {
  decryption_failed:
    'check the seedphrase (--mnemonic-file or NOAH_MNEMONIC), or that the file is complete and unmodified',
  invalid_mnemonic: 'check the words and their order; v2 needs a valid BIP39 seedphrase',
  not_a_backup: 'is this a Noah backup? `noah-backup inspect FILE`',
  unsupported_version: 'it was made by a newer Noah Backup: upgrade',
  unsupported_payload_kind: 'it was made by a newer Noah Backup: upgrade',
  malformed_manifest: 'the incremental backup manifest is damaged; restore the other backup',
  limit_exceeded: 'raise the cap with --max-size if you trust the file',
  unsupported_compression: 'the file is intact; read it where zstd-napi is installed',
  insufficient_space: 'the disk is full; nothing was written',
  noah_wallet_missing:
    "noah-v1 is for Noah's app: encrypt its wallet directory (bark's db.sqlite at its top) or a ZIP of it, or choose --format v2 (docs/FORMAT.md §4.5)",
};

/**
 * Maps an error to its exit code and a hint (exit codes of CRYPTO_EXIT_HELP): the exit
 * code from the code's class in the error catalog, as for the client commands.
 */
export function classifyCrypto(err: unknown): { exit: number; hint: string | null } {
  if (err instanceof CliError) return { exit: err.exit, hint: err.hint };
  if (err instanceof NoahError)
    return { exit: exitCodeOf(err.code), hint: CRYPTO_HINTS[err.code] ?? null };
  if ((err as { code?: unknown } | null)?.code === 'ENOSPC')
    return { exit: EXIT.generic, hint: 'the disk is full; nothing was written' };
  return { exit: EXIT.generic, hint: null };
}

/** Reports a failure on stderr: one line, then a hint line; sets the exit code. */
export function reportFailure(failure: unknown): void {
  const err = describeFsError(failure);
  const { exit, hint } = classifyCrypto(err);
  const code = err instanceof NoahError ? ` [${err.code}]` : '';
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`noah-backup: error: ${message.split('\n')[0]}${code}\n`);
  if (hint) process.stderr.write(`hint: ${hint}\n`);
  process.exitCode = exit;
}

/**
 * Parses a size: bytes, or a number with K/M/G/T (powers of 1024, optional `iB`/`B`).
 * @throws InvalidArgumentError-compatible Error for anything else
 */
export function parseSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(value.trim());
  if (!m) throw new Error('a size is a number of bytes, optionally with K, M, G or T (e.g. 512M)');
  const exp = ' KMGT'.indexOf((m[2] || ' ').toUpperCase());
  const n = Math.floor(Number(m[1]) * 1024 ** exp);
  if (!Number.isSafeInteger(n)) throw new Error('size too large');
  return n;
}
