/**
 * The React Native `Spooler` (contract: `@noah-backup/client/ports`): the encrypted
 * backup written to a private file in the app's cache directory, so its size is known
 * before the upload (Content-Length), a retry reads it again, and a background upload
 * (docs/REACT-NATIVE.md §8) can hand the file itself to the platform's transfer service.
 * @module
 */
import { throwIfAborted } from '@noah-backup/client/errors';
import type { SpooledBlob, Spooler } from '@noah-backup/client/ports';
import { joinPath, randomTag, readRange, type RnFiles } from './files.ts';

/**
 * A spooled backup that also names its file, and offers it as a `Blob` when the spooler
 * was given `blobOf`: the SDK's upload then passes that as the request body
 * (`createBackgroundFetch` turns it into a background upload task of the file).
 */
export type FileSpooledBlob = SpooledBlob & { readonly path: string; readonly blob?: Blob };

/** `noah-spool-<random>`: what the spooler writes, and sweeps when no longer in use. */
const SPOOL_NAME = /^noah-spool-[0-9a-z]+$/;

/** Spool files of this JavaScript runtime still in use (one runtime runs the app). */
const live = new Set<string>();

/**
 * Creates a spooler writing files under `dir`. `spool` writes the whole stream; if the
 * stream throws or `signal` aborts, the file is removed and the error rethrown. Spool
 * files left by an app that died mid-upload are removed first.
 *
 * @param files - the file system
 * @param dir - a private directory (the app's cache directory, say)
 * @param options.blobOf - the file as a Blob for the upload (`expoBlob(FileSystem)`)
 * @example
 * ```ts
 * const spooler = createRnSpooler(expoFiles(FileSystem), `${Paths.cache.uri}noah`);
 * ```
 */
export function createRnSpooler(
  files: RnFiles,
  dir: string,
  options: { blobOf?: (path: string) => Blob } = {},
): Spooler & { spool(...args: Parameters<Spooler['spool']>): Promise<FileSpooledBlob> } {
  return {
    async spool(data, opts): Promise<FileSpooledBlob> {
      throwIfAborted(opts?.signal);
      await files.mkdir(dir);
      for (const name of await files.list(dir)) {
        const path = joinPath(dir, name);
        if (SPOOL_NAME.test(name) && !live.has(path)) await files.remove(path);
      }
      const path = joinPath(dir, `noah-spool-${randomTag()}${randomTag()}`);
      live.add(path);
      let size = 0;
      try {
        await files.create(path);
        for await (const chunk of data) {
          throwIfAborted(opts?.signal);
          await files.write(path, size, chunk);
          size += chunk.length;
        }
      } catch (e) {
        live.delete(path);
        await files.remove(path);
        throw e;
      }
      let cleaned = false;
      return {
        size,
        path,
        ...(options.blobOf ? { blob: options.blobOf(path) } : {}),
        open() {
          if (cleaned) throw new Error('the spooled backup was already cleaned up');
          return readRange(files, path, 0, size);
        },
        async cleanup() {
          cleaned = true;
          live.delete(path);
          await files.remove(path);
        },
      };
    },
  };
}
