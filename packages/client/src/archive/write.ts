/**
 * Writing a snapshot's archive on any platform: a streaming tar for v2 backups
 * (`tar-write.ts`), or, for the legacy formats (which hold the whole backup in memory
 * anyway), a ZIP built in memory.
 * @module
 */
import { collect } from '@noah-backup/core/stream';
import { type Zippable, zipSync } from 'fflate';
import type { ArchiveKind } from '../ports.ts';
import { type ArchiveInput, DIR_MODE, FILE_MODE, writeTar } from './tar-write.ts';
import { throwIfAborted } from '../errors.ts';

export type { ArchiveInput } from './tar-write.ts';

/** ZIP's DOS timestamps cannot go before 1980 (APPNOTE §4.4.6); fflate throws on them. */
const ZIP_EPOCH = Date.UTC(1980, 0, 2);

/** Unix `st_mode` in the high 16 bits of ZIP's external attributes (APPNOTE §4.4.15). */
function unixAttrs(mode: number): number {
  return (mode << 16) >>> 0;
}

/**
 * Builds a ZIP of `entries` in memory (deflate level 6; Unix modes 0600 and 0700 in the
 * external attributes) and yields it as one chunk. Not for large data.
 * @param mtime - modification time of every entry (clamped to 1980 and later)
 */
async function* writeZip(
  entries: Iterable<ArchiveInput>,
  mtime: Date,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const when = new Date(Math.max(mtime.getTime(), ZIP_EPOCH));
  const files: Zippable = {};
  for (const e of entries) {
    throwIfAborted(signal);
    if (e.type === 'directory')
      files[`${e.name}/`] = [new Uint8Array(0), { os: 3, attrs: unixAttrs(0o040000 | DIR_MODE) }];
    else {
      const data = await collect(e.body());
      files[e.name] = [data, { os: 3, attrs: unixAttrs(0o100000 | FILE_MODE), level: 6 }];
    }
  }
  yield zipSync(files, { mtime: when });
}

/**
 * Writes `entries` as one archive of `kind`.
 *
 * @param kind - `'tar'` (streaming, for v2) or `'zip'` (in memory, for the legacy formats)
 * @param entries - in archive order (parents before children); names relative, with `/`
 * @param mtime - modification time recorded for every entry
 * @param signal - aborts between entries and chunks
 * @returns the archive bytes; read it once
 * @throws TypeError for another kind
 * @example
 * ```ts
 * const archive = writeArchive('tar', [{ type: 'file', name: 'a.txt', size: 1, body: () => fromBytes(utf8ToBytes('a')) }], new Date());
 * ```
 */
export function writeArchive(
  kind: ArchiveKind,
  entries: Iterable<ArchiveInput>,
  mtime: Date,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  if (kind === 'tar') return writeTar(entries, mtime, signal);
  if (kind === 'zip') return writeZip(entries, mtime, signal);
  throw new TypeError(`kind must be 'tar' or 'zip', got ${String(kind)}`);
}
