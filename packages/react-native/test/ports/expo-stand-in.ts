/**
 * A stand-in for expo-file-system 57 (native only: its `File` and `Directory` are JSI
 * objects of the Expo modules runtime, which has no Node build) on Node's file system
 * and `fetch`, so the ports' expo binding (`src/ports/expo-files.ts`, `transfer.ts`) runs
 * as on a phone. It implements only the members the binding uses, as expo-file-system's
 * published types and their doc comments describe them (build/*.d.ts of 57.0.7):
 * - `new File(uri)` / `new Directory(uri)` on `file://` URIs; `exists` (a File is not a
 *   Directory and the reverse); `File.size`;
 * - `File.create({ overwrite })`: a new empty file, an existing one replaced only with
 *   `overwrite`, the parent must exist; `Directory.create({ intermediates, idempotent })`;
 * - `delete()`; `rename(newName)` in the same directory;
 *   `Directory.list()` of `File`/`Directory` objects with `name`;
 * - `File.open(mode)`: a `FileHandle` whose `offset` is the position of the next
 *   `readBytes(length)` / `writeBytes(bytes)`, each advancing it; `close()`;
 * - `File.createUploadTask(url, { httpMethod, headers })`: the file as the request body,
 *   resolving with `{ status, body, headers }` for any completed HTTP response;
 *   `File.createDownloadTask(url, file, { headers })`: the body into `file`, resolving
 *   with it, rejecting when the request fails (a non-2xx status included).
 * @module
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const pathOf = (uri: string) => decodeURI(uri.replace(/^file:\/\//, ''));
const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
const isFile = (p: string) => existsSync(p) && statSync(p).isFile();

interface TaskOptions {
  httpMethod?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Counts what went through the network tasks (the test checks they were used). */
export const taskLog: string[] = [];

export class File extends Blob {
  readonly uri: string;
  constructor(uri: string) {
    super([]);
    this.uri = uri;
  }
  private get path() {
    return pathOf(this.uri);
  }
  get name() {
    return basename(this.path);
  }
  get exists() {
    return isFile(this.path);
  }
  override get size() {
    return statSync(this.path).size;
  }
  create(options: { overwrite?: boolean } = {}) {
    if (existsSync(this.path) && !options.overwrite) throw new Error('file exists');
    if (!isDir(dirname(this.path))) throw new Error('no parent directory');
    writeFileSync(this.path, new Uint8Array(0));
  }
  delete() {
    if (!this.exists) throw new Error('no such file');
    rmSync(this.path);
  }
  rename(newName: string) {
    renameSync(this.path, join(dirname(this.path), newName));
  }
  open(mode: 'r' | 'rw' = 'rw') {
    const fd = openSync(this.path, mode === 'r' ? 'r' : 'r+');
    let offset = 0;
    return {
      get offset(): number | null {
        return offset;
      },
      set offset(v: number | null) {
        offset = v ?? 0;
      },
      readBytes(length: number) {
        const buf = new Uint8Array(length);
        const n = readSync(fd, buf, 0, length, offset);
        offset += n;
        return buf.subarray(0, n);
      },
      writeBytes(bytes: Uint8Array) {
        let done = 0;
        while (done < bytes.length)
          done += writeSync(fd, bytes, done, bytes.length - done, offset + done);
        offset += done;
      },
      close() {
        closeSync(fd);
      },
    };
  }
  createUploadTask(url: string, options: TaskOptions = {}) {
    return {
      uploadAsync: async () => {
        taskLog.push(`upload ${options.httpMethod ?? 'POST'}`);
        const res = await fetch(url, {
          method: options.httpMethod ?? 'POST',
          headers: options.headers ?? {},
          body: new Uint8Array(await readFile(this.path)),
          signal: options.signal ?? null,
        });
        return {
          status: res.status,
          body: await res.text(),
          headers: Object.fromEntries(res.headers),
        };
      },
    };
  }
  static createDownloadTask(url: string, destination: File, options: TaskOptions = {}) {
    return {
      downloadAsync: async () => {
        taskLog.push('download');
        const res = await fetch(url, {
          headers: options.headers ?? {},
          signal: options.signal ?? null,
        });
        if (!res.ok) throw new Error(`UnableToDownload: the server responded ${res.status}`);
        await writeFile(pathOf(destination.uri), new Uint8Array(await res.arrayBuffer()));
        return destination;
      },
    };
  }
}

export class Directory {
  readonly uri: string;
  constructor(uri: string) {
    this.uri = uri;
  }
  private get path() {
    return pathOf(this.uri);
  }
  get name() {
    return basename(this.path);
  }
  get exists() {
    return isDir(this.path);
  }
  create(options: { intermediates?: boolean; idempotent?: boolean } = {}) {
    if (this.exists) {
      if (options.idempotent) return;
      throw new Error('directory exists');
    }
    mkdirSync(this.path, { recursive: options.intermediates === true });
  }
  delete() {
    if (!this.exists) throw new Error('no such directory');
    rmSync(this.path, { recursive: true });
  }
  rename(newName: string) {
    renameSync(this.path, join(dirname(this.path), newName));
  }
  list(): (File | Directory)[] {
    return readdirSync(this.path).map((n) => {
      const uri = `file://${join(this.path, n)}`;
      return isDir(join(this.path, n)) ? new Directory(uri) : new File(uri);
    });
  }
}

/** The module, as `import * as FileSystem from 'expo-file-system'` gives it. */
export const expoStandIn = { File, Directory };
