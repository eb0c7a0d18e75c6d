/**
 * The Node `DeviceCacheStore`: one file (mode 0600) beside the device state, replaced
 * atomically (temp file, fsync, rename, fsync the directory), so a reader sees the old
 * cache or the new one. Its content is sealed by the caller (docs/FORMAT.md §8.8).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DeviceCacheStore } from '../ports.ts';
import { fsyncDir, isErrno } from './fs-util.ts';

/**
 * Creates a cache store backed by the file at `path` (its directory is created 0700).
 * @example
 * const cache = createFileCacheStore('/home/me/.noah-backup/0123abcd.cache');
 */
export function createFileCacheStore(path: string): DeviceCacheStore {
  if (typeof path !== 'string' || path === '') throw new TypeError('path must be a string');
  const file = resolve(path);
  return {
    async load() {
      try {
        return new Uint8Array(await fsp.readFile(file));
      } catch (e) {
        if (isErrno(e, 'ENOENT')) return null;
        throw e;
      }
    },
    async save(blob) {
      const dir = dirname(file);
      await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
      const fh = await fsp.open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(blob);
        await fh.sync();
      } catch (e) {
        await fh.close();
        await fsp.rm(tmp, { force: true });
        throw e;
      }
      await fh.close();
      try {
        await fsp.rename(tmp, file);
      } catch (e) {
        await fsp.rm(tmp, { force: true });
        throw e;
      }
      await fsyncDir(dir);
    },
    async clear() {
      await fsp.rm(file, { force: true });
    },
  };
}
