/**
 * Archive writers for a snapshot: a streaming POSIX tar (ustar, pax for long or
 * non-ASCII names) in constant memory, and a ZIP for the legacy formats (which hold the
 * whole backup in memory anyway).
 * @module
 */
import { createReadStream, promises as fsp } from 'node:fs';
import { zipSync, type Zippable } from 'fflate';
import tar from 'tar-stream';
import { drained } from './fs-util.ts';

/** One entry to archive: a directory, or a file whose bytes come from `source`. */
export type ArchiveEntry =
  | { readonly type: 'directory'; readonly name: string }
  | {
      readonly type: 'file';
      readonly name: string;
      readonly source: string;
      readonly size: number;
    };

/** Modes written into archives: private to the wallet's user (issue 4 §4). */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
/** Read size of archived files: one v2 chunk (64 KiB meant 4x the reads and buffers). */
const READ_CHUNK = 256 * 1024;

/**
 * Streams a tar archive of `entries`. Each file is read from disk as the consumer pulls,
 * with backpressure, so memory stays constant whatever the sizes. Names are relative
 * with `/`; directories get a trailing `/`; modes 0600/0700, uid/gid 0, mtime `mtime`.
 * @param entries - in archive order (parents before children)
 * @param mtime - modification time written into every header
 * @param signal - aborts between reads
 * @returns the archive bytes; read it once
 */
export async function* tarArchive(
  entries: readonly ArchiveEntry[],
  mtime: Date,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const pack = tar.pack();
  const producing = produceTar(pack, entries, mtime, signal);
  // The producer's failure destroys the pack, which ends the loop below with its error.
  producing.catch((e: unknown) => pack.destroy(e instanceof Error ? e : new Error(String(e))));
  let finished = false;
  try {
    for await (const chunk of pack) yield chunk as Uint8Array;
    finished = true;
  } finally {
    if (!finished) pack.destroy();
  }
  await producing;
}

async function produceTar(
  pack: tar.Pack,
  entries: readonly ArchiveEntry[],
  mtime: Date,
  signal?: AbortSignal,
): Promise<void> {
  const common = { uid: 0, gid: 0, uname: '', gname: '', mtime };
  for (const e of entries) {
    signal?.throwIfAborted();
    if (e.type === 'directory') {
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry(
          { ...common, name: `${e.name}/`, type: 'directory', mode: DIR_MODE },
          (err) => (err ? reject(err) : resolve()),
        );
        sink.end(undefined); // streamx's typings require an argument
      });
      continue;
    }
    let sink!: ReturnType<tar.Pack['entry']>;
    const done = new Promise<void>((resolve, reject) => {
      sink = pack.entry(
        { ...common, name: e.name, type: 'file', mode: FILE_MODE, size: e.size },
        (err) => (err ? reject(err) : resolve()),
      );
    });
    done.catch(() => {}); // observed below; avoid an unhandled rejection meanwhile
    // An abort mid-file destroys the pack, which destroys this entry with the abort and
    // emits it as 'error': reported through `done` and the pack, so without a listener
    // here it would be an uncaught exception that ends the process.
    sink.on('error', () => {});
    const rs = createReadStream(e.source, { highWaterMark: READ_CHUNK });
    try {
      for await (const chunk of rs) {
        signal?.throwIfAborted();
        if (!sink.write(chunk)) await drained(sink);
        if (sink.destroyed) break;
      }
    } finally {
      rs.destroy();
    }
    sink.end(undefined);
    await done;
  }
  pack.finalize();
}

/** ZIP's DOS timestamps cannot go before 1980 (APPNOTE §4.4.6); fflate throws on them. */
const ZIP_EPOCH = Date.UTC(1980, 0, 2);

/**
 * Builds a ZIP of `entries` in memory (deflate; Unix modes 0600/0700 in the external
 * attributes) and yields it as one chunk. For the legacy formats, which base64 the
 * whole backup anyway; not for large data.
 * @param entries - in archive order
 * @param mtime - modification time of every entry (clamped to 1980 and later)
 */
export async function* zipArchive(
  entries: readonly ArchiveEntry[],
  mtime: Date,
): AsyncGenerator<Uint8Array> {
  const when = new Date(Math.max(mtime.getTime(), ZIP_EPOCH));
  const files: Zippable = {};
  for (const e of entries) {
    if (e.type === 'directory')
      files[`${e.name}/`] = [new Uint8Array(0), { os: 3, attrs: unixAttrs(0o040000 | DIR_MODE) }];
    else
      files[e.name] = [
        new Uint8Array(await fsp.readFile(e.source)),
        { os: 3, attrs: unixAttrs(0o100000 | FILE_MODE), level: 6 },
      ];
  }
  yield zipSync(files, { mtime: when });
}

/** Unix `st_mode` in the high 16 bits of ZIP's external attributes (APPNOTE §4.4.15). */
function unixAttrs(mode: number): number {
  return (mode << 16) >>> 0;
}
