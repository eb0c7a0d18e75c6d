/**
 * Reading a backup's archive on any platform, with the extraction guards: a tar is
 * parsed as it streams (`tar-read.ts`), a ZIP (the legacy formats, one in-memory message
 * by nature) is checked against its central directory first (`zip-read.ts`). Every
 * entry is admitted by the guard (name, type, count, declared size) before the caller
 * sees it, and every byte of a file is counted against the limits as it is read.
 *
 * One error per failure, whatever the platform: a refusal, of a hostile archive or of a
 * damaged one (a bad checksum, a truncation, a size that lies, bad deflate data), is
 * `unsafe_archive` naming the rule, never an entry's name; an error of the source (a
 * decryption failure detected late) passes through unchanged.
 * @module
 */
import { collect } from '@noah-backup/core/stream';
import type { ArchiveKind } from '../ports.ts';
import { ByteSource } from './byte-source.ts';
import type { ArchiveEntry, ArchiveItem } from './entry.ts';
import { createEntryGuard, type EntryGuard, type ExtractLimits, unsafeArchive } from './guards.ts';
import { readTar } from './tar-read.ts';
import { readZip } from './zip-read.ts';

export type { ArchiveEntry, ArchiveItem } from './entry.ts';

/** What {@link readArchive} needs. */
export interface ReadArchiveOptions {
  /** Counts entries and bytes against the limits (`createEntryGuard`). */
  readonly guard: EntryGuard;
  /** The limits the guard enforces: a ZIP's own size is capped by them while it is read. */
  readonly limits: ExtractLimits;
  readonly signal?: AbortSignal;
}

/**
 * Reads an archive entry by entry. Stopping early (a `break`, a throw in the loop) stops
 * the source too, so the download and decryption behind it end.
 *
 * @param kind - `'tar'` or `'zip'`
 * @param source - the archive bytes, in chunks of any size
 * @param opts - the guard, its limits, an abort signal
 * @returns the admitted entries, in archive order
 * @throws TypeError for another kind; NoahError `unsafe_archive`; whatever `source` throws
 * @example
 * ```ts
 * const limits = DEFAULT_LIMITS;
 * for await (const e of readArchive('tar', chunks, { guard: createEntryGuard(limits), limits }))
 *   if (e.type === 'file') await save(e.path, e.body);
 * ```
 */
export async function* readArchive(
  kind: ArchiveKind,
  source: AsyncIterable<Uint8Array>,
  opts: ReadArchiveOptions,
): AsyncGenerator<ArchiveEntry> {
  if (kind !== 'tar' && kind !== 'zip')
    throw new TypeError(`kind must be 'tar' or 'zip', got ${String(kind)}`);
  const truncated = () => unsafeArchive(`malformed ${kind} (truncated)`);
  const src = new ByteSource(source, truncated, opts.signal);
  try {
    if (kind === 'tar') yield* readTar(src, opts.guard);
    else yield* readZip(src, opts.guard, opts.limits, opts.signal);
  } finally {
    // A refusal or an early stop ends the download and decryption behind the source.
    await src.close().catch(() => undefined);
  }
}

/** What {@link readArchiveFiles} needs. */
export interface ReadFilesOptions {
  readonly limits: ExtractLimits;
  /** True keeps this file's bytes in the result. May throw to stop reading. */
  keep(item: ArchiveItem): boolean;
  readonly signal?: AbortSignal;
}

/**
 * Reads an archive into memory, keeping the files `keep` asks for (the whole archive is
 * read and checked either way).
 *
 * @returns the kept files by path, and the number of files in the archive
 * @throws as {@link readArchive}; whatever `keep` throws
 * @example
 * ```ts
 * const { files } = await readArchiveFiles('tar', chunks, { limits: DEFAULT_LIMITS, keep: () => true });
 * ```
 */
export async function readArchiveFiles(
  kind: ArchiveKind,
  source: AsyncIterable<Uint8Array>,
  opts: ReadFilesOptions,
): Promise<{ files: Map<string, Uint8Array>; entries: number }> {
  const guard = createEntryGuard(opts.limits);
  const files = new Map<string, Uint8Array>();
  const reading = readArchive(kind, source, { guard, limits: opts.limits, signal: opts.signal });
  for await (const entry of reading) {
    // What is not kept is still read (and counted) by the reader, before the next entry.
    if (opts.keep(entry) && entry.type === 'file') files.set(entry.path, await collect(entry.body));
  }
  return { files, entries: guard.files };
}
