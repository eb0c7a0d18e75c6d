/**
 * The ports' file seam (`./files.ts`) on expo-file-system's object API (`File`,
 * `Directory`, `FileHandle`: synchronous JSI calls, positioned reads and writes), which
 * every Expo app has (the `expo` package depends on it) and a bare React Native app adds
 * with `npx install-expo-modules`. The app passes the module in; the SDK imports none.
 * Only documented members are used: `new File(uri)` / `new Directory(uri)`, `exists`,
 * `size`, `create`, `delete`, `list`, `rename`, `open(mode)` and the handle's `offset`,
 * `readBytes`, `writeBytes`, `close` (docs/REACT-NATIVE.md §8).
 * @module
 */
import { type FileStat, type RnFiles, splitPath } from './files.ts';

/** expo-file-system's `FileHandle`, the part used. */
export interface ExpoFileHandle {
  offset: number | null;
  readBytes(length: number): Uint8Array;
  writeBytes(bytes: Uint8Array): void;
  close(): void;
}

/** expo-file-system's `File`, the part used. */
export interface ExpoFile {
  readonly uri: string;
  readonly exists: boolean;
  readonly size: number;
  create(options?: { overwrite?: boolean; intermediates?: boolean }): void;
  delete(): void;
  rename(newName: string): void;
  // `FileMode`: 'r' read, 'rw' read and write (expo-file-system's enum values).
  open(mode?: never): ExpoFileHandle;
}

/** expo-file-system's `Directory`, the part used. */
export interface ExpoDirectory {
  readonly exists: boolean;
  create(options?: { intermediates?: boolean; idempotent?: boolean }): void;
  delete(): void;
  rename(newName: string): void;
  list(): { readonly name: string }[];
}

/** The module (`import * as FileSystem from 'expo-file-system'`), the part used. */
export interface ExpoFileSystem {
  File: new (uri: string) => ExpoFile;
  Directory: new (uri: string) => ExpoDirectory;
}

/** `file://` URI of an absolute path (expo-file-system takes URIs; op-sqlite paths). */
export function fileUri(path: string): string {
  return path.startsWith('file://') ? path : `file://${path}`;
}

/** Absolute path of a `file://` URI (e.g. `Paths.document.uri`), for the ports' options. */
export function pathOfUri(uri: string): string {
  return decodeURI(uri.replace(/^file:\/\//, ''));
}

/**
 * The file seam on expo-file-system.
 *
 * @param fs - `import * as FileSystem from 'expo-file-system'`
 * @example
 * ```ts
 * import * as FileSystem from 'expo-file-system';
 * const files = expoFiles(FileSystem);
 * ```
 */
export function expoFiles(fs: ExpoFileSystem): RnFiles {
  const file = (path: string) => new fs.File(fileUri(path));
  const dir = (path: string) => new fs.Directory(fileUri(path));
  /** Runs `use` on a handle of `path` opened in `mode`, closing it. */
  const withHandle = <T>(path: string, mode: 'r' | 'rw', use: (h: ExpoFileHandle) => T): T => {
    const h = file(path).open(mode as never);
    try {
      return use(h);
    } finally {
      h.close();
    }
  };
  return {
    async stat(path): Promise<FileStat | null> {
      if (dir(path).exists) return { type: 'directory', size: 0 };
      const f = file(path);
      return f.exists ? { type: 'file', size: f.size } : null;
    },
    async list(path) {
      return dir(path)
        .list()
        .map((e) => e.name);
    },
    async mkdir(path) {
      dir(path).create({ intermediates: true, idempotent: true });
    },
    async create(path) {
      file(path).create({ overwrite: true });
    },
    async read(path, position, length) {
      // Never past the end: what readBytes does there is not documented.
      const n = Math.max(0, Math.min(length, file(path).size - position));
      if (n === 0) return new Uint8Array(0);
      return withHandle(path, 'r', (h) => {
        h.offset = position;
        return h.readBytes(n);
      });
    },
    async write(path, position, data) {
      withHandle(path, 'rw', (h) => {
        h.offset = position;
        h.writeBytes(data);
      });
    },
    async move(from, to) {
      const a = splitPath(from);
      const b = splitPath(to);
      // Renames within one directory are all the ports make (staging and swap are
      // siblings of the wallet): one atomic rename(2) underneath.
      if (a.dir !== b.dir) throw new Error('move: only within one directory');
      if (dir(to).exists || file(to).exists) throw new Error('move: the target exists');
      if (dir(from).exists) dir(from).rename(b.name);
      else file(from).rename(b.name);
    },
    async remove(path) {
      const d = dir(path);
      if (d.exists) d.delete();
      else {
        const f = file(path);
        if (f.exists) f.delete();
      }
    },
  };
}
