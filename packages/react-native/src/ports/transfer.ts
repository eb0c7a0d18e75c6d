/**
 * Transfers of pre-signed URLs that go on while the app is in the background, behind the
 * SDK's transfer seam (the `fetch` the SDK calls: `FetchFn`, docs/REACT-NATIVE.md §8),
 * on expo-file-system's upload and download tasks: on iOS they run in a background
 * `URLSession` (`sessionType: 'background'`), which the system carries on while the app
 * is suspended; on Android, OkHttp in the app's process, as long as the process lives.
 *
 * - An upload (`PUT`) whose body is an expo-file-system `File` (what `createRnSpooler`
 *   gives as the spooled blob's `blob` with `expoBlob`) becomes an upload task of that
 *   file: the bytes never pass through JavaScript.
 * - A download (`GET`) becomes a download task into a private file, read back as the
 *   response body in chunks, then removed. The task has no `Range`: a resumed download
 *   gets the whole object again and the SDK skips what it has (`transfer.ts` handles a
 *   store that ignores Range the same way). A failed task is told apart by one byte
 *   asked through `fallback`: the store's refusal is returned as its response.
 * - Everything else (the API's JSON calls) goes to `fallback` (React Native's `fetch`).
 * @module
 */
import { bytesToUtf8 } from '@noah-backup/core/bytes';
import type { FetchBody, FetchFn, FetchInit, FetchResponse } from '@noah-backup/client/http';
import { joinPath, randomTag, READ_CHUNK, type RnFiles } from './files.ts';
import { type ExpoFile, fileUri } from './expo-files.ts';

/** What an upload task resolves to (expo-file-system's `UploadResult`). */
interface UploadResult {
  body: string;
  status: number;
  headers: Record<string, string>;
}

/** A task's options, the part used (expo-file-system's `UploadOptions` / `DownloadTaskOptions`). */
interface TaskOptions {
  headers?: Record<string, string>;
  sessionType?: 'background' | 'foreground';
  signal?: AbortSignal;
}

/** expo-file-system's `File` with its network tasks, the part used. */
export interface ExpoTransferFile extends ExpoFile {
  createUploadTask(
    url: string,
    options?: TaskOptions & { httpMethod?: 'PUT' },
  ): { uploadAsync(): Promise<UploadResult> };
}

/**
 * The module's `File` class with its static download task, the part used. `F` is the
 * module's own file type: its download task takes only its own files as destination,
 * so the real module fits only where the type follows it.
 */
export interface ExpoTransferModule<F extends ExpoTransferFile & Blob = ExpoTransferFile & Blob> {
  // expo-file-system's File implements Blob: the SDK passes it as an upload's body.
  File: (new (
    uri: string,
  ) => F) & {
    createDownloadTask(
      url: string,
      destination: F,
      options?: TaskOptions,
    ): { downloadAsync(): Promise<ExpoFile | null> };
  };
}

/**
 * The spooled file as the upload body `createBackgroundFetch` hands to an upload task:
 * `createRnSpooler(files, dir, { blobOf: expoBlob<FileSystem.File>(FileSystem) })`.
 */
export function expoBlob<F extends ExpoTransferFile & Blob>(
  fs: ExpoTransferModule<F>,
): (path: string) => Blob {
  return (path) => new fs.File(fileUri(path));
}

/** Options of {@link createBackgroundFetch}. */
export interface BackgroundFetchOptions<
  F extends ExpoTransferFile & Blob = ExpoTransferFile & Blob,
> {
  fs: ExpoTransferModule<F>;
  files: RnFiles;
  /** Private directory for downloads in progress (the app's cache directory, say). */
  tmpDir: string;
  /** For every other request: React Native's `fetch`. */
  fallback: FetchFn;
}

/** Case-insensitive header lookup over a plain record. */
function headerGetter(headers: Record<string, string>) {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { get: (name: string) => lower.get(name.toLowerCase()) ?? null };
}

/** A response of a finished upload task (its body is the store's short reply). */
function uploadResponse(r: UploadResult): FetchResponse {
  const bytes = new TextEncoder().encode(r.body);
  return {
    ok: r.status >= 200 && r.status < 300,
    status: r.status,
    headers: headerGetter(r.headers),
    body: null,
    text: async () => r.body,
    arrayBuffer: async () => bytes.slice().buffer,
  };
}

/** The downloaded file `path` as a response body, removed once read or cancelled. */
function fileBody(files: RnFiles, path: string, size: number): FetchBody {
  return {
    getReader() {
      let at = 0;
      return {
        async read() {
          if (at >= size) {
            await files.remove(path);
            return { done: true };
          }
          const value = await files.read(path, at, Math.min(READ_CHUNK, size - at));
          if (value.length === 0) throw new Error('the downloaded file is shorter than it was');
          at += value.length;
          return { done: false, value };
        },
        cancel: () => files.remove(path),
      };
    },
  };
}

/**
 * Creates the `fetch` for `createApiClient({ fetch })` that moves pre-signed uploads and
 * downloads to expo-file-system's background-capable tasks.
 *
 * @example
 * ```ts
 * import * as FileSystem from 'expo-file-system';
 * // The type argument: TypeScript does not infer it from the module (nor in expoBlob).
 * const fetch = createBackgroundFetch<FileSystem.File>({ fs: FileSystem, files, tmpDir, fallback });
 * ```
 */
export function createBackgroundFetch<F extends ExpoTransferFile & Blob>(
  o: BackgroundFetchOptions<F>,
): FetchFn {
  return async (url: string, init: FetchInit = {}) => {
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = { ...init.headers };
    const signal = init.signal ?? undefined;
    const base = { sessionType: 'background' as const, ...(signal ? { signal } : {}) };
    if (method === 'PUT' && init.body instanceof o.fs.File) {
      // The task sets Content-Length from the file; the SDK's own header is the same.
      delete headers['content-length'];
      const task = init.body.createUploadTask(url, { ...base, httpMethod: 'PUT', headers });
      return uploadResponse(await task.uploadAsync());
    }
    if (method !== 'GET' || init.body !== undefined) return o.fallback(url, init);
    delete headers.range; // see the module's comment
    await o.files.mkdir(o.tmpDir);
    const path = joinPath(o.tmpDir, `noah-download-${randomTag()}`);
    try {
      const dest = new o.fs.File(fileUri(path));
      const task = o.fs.File.createDownloadTask(url, dest, { ...base, headers });
      let done: ExpoFile | null;
      try {
        done = await task.downloadAsync();
      } catch (e) {
        // The task's rejection carries no HTTP status, and the SDK needs it: a store's
        // refusal of an expired URL (403) gets a fresh URL, a network error a retry. One
        // byte asked in the foreground tells them apart.
        await o.files.remove(path);
        const probe = await o.fallback(url, {
          method: 'GET',
          headers: { ...headers, range: 'bytes=0-0' },
          ...(signal ? { signal } : {}),
        });
        if (!probe.ok) return probe;
        await probe.arrayBuffer();
        throw e;
      }
      if (done === null) throw new Error('the download was paused');
      const size = (await o.files.stat(path))?.size ?? 0;
      const length = String(size);
      return {
        ok: true,
        status: 200,
        headers: headerGetter({ 'content-length': length }),
        body: fileBody(o.files, path, size),
        text: async () => bytesToUtf8(await o.files.read(path, 0, size)),
        arrayBuffer: async () => (await o.files.read(path, 0, size)).slice().buffer,
      };
    } catch (e) {
      await o.files.remove(path);
      throw e;
    }
  };
}
