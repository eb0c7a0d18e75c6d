/**
 * The file system the React Native ports stand on: the handful of operations on absolute
 * paths that the wallet adapter, the spooler and the transfers need (docs/REACT-NATIVE.md
 * §6). One implementation binds it to expo-file-system (`./expo-files.ts`); the contract
 * kits run the ports over the same seam on Node's file system.
 * @module
 */

/** What is at a path. */
export interface FileStat {
  readonly type: 'file' | 'directory';
  readonly size: number;
}

/** Absolute `/`-separated paths; every call may throw the platform's I/O error. */
export interface RnFiles {
  /** What is at `path`, or null if nothing is. */
  stat(path: string): Promise<FileStat | null>;
  /** The names in the directory `path` (not sorted). */
  list(path: string): Promise<string[]>;
  /** Makes the directory `path` and its parents; nothing if it exists. */
  mkdir(path: string): Promise<void>;
  /** Creates (or truncates) the file `path`, empty, readable by this app only. */
  create(path: string): Promise<void>;
  /** Up to `length` bytes of `path` from byte `position`; fewer only at its end. */
  read(path: string, position: number, length: number): Promise<Uint8Array>;
  /** Writes `data` at byte `position` of the existing file `path` (extending it). */
  write(path: string, position: number, data: Uint8Array): Promise<void>;
  /** Renames `from` to `to`, in the same directory (`to` must not exist): atomic. */
  move(from: string, to: string): Promise<void>;
  /** Removes the file or directory tree `path`; nothing if it is absent. */
  remove(path: string): Promise<void>;
}

/** Chunk of the ports' reads: 256 KiB, a multiple of every SQLite page size. */
export const READ_CHUNK = 256 * 1024;

/** `a/b` from `a` and `b`, without doubled separators. */
export function joinPath(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, '')}/${name}`;
}

/** The directory of `path` and its last name. */
export function splitPath(path: string): { dir: string; name: string } {
  const clean = path.replace(/\/+$/, '');
  const at = clean.lastIndexOf('/');
  return { dir: at <= 0 ? '/' : clean.slice(0, at), name: clean.slice(at + 1) };
}

/** A random name part (file names only: not a secret). */
export function randomTag(): string {
  return Math.random().toString(36).slice(2, 10);
}

/**
 * Streams `length` bytes of `path` from `position`, in fresh chunks of at most
 * `chunk` bytes.
 * @throws Error when the file ends early (it changed underneath)
 */
export async function* readRange(
  files: RnFiles,
  path: string,
  position: number,
  length: number,
  chunk = READ_CHUNK,
): AsyncGenerator<Uint8Array> {
  let at = position;
  const end = position + length;
  while (at < end) {
    const data = await files.read(path, at, Math.min(chunk, end - at));
    if (data.length === 0) throw new Error('a file is shorter than it was');
    at += data.length;
    yield data;
  }
}

/**
 * Copies the file `from` to the new file `to`, its first `limit` bytes (default: up to
 * its end, as it grows meanwhile); returns the size copied.
 */
export async function copyFile(
  files: RnFiles,
  from: string,
  to: string,
  limit = Number.POSITIVE_INFINITY,
): Promise<number> {
  await files.create(to);
  let at = 0;
  for (;;) {
    const data = await files.read(from, at, Math.min(READ_CHUNK, limit - at));
    if (data.length === 0) return at;
    await files.write(to, at, data);
    at += data.length;
  }
}
