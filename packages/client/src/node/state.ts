/**
 * The Node `DeviceStateStore`: a small JSON object of string values in one file,
 * replaced atomically on every change (temp file, fsync, rename, fsync the directory).
 * Changes are read-modify-write under a cross-process lock file, so `compareAndSet` is
 * atomic across processes (the backup lock, `backup-lock.ts`, relies on it).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Clock } from '@noah-backup/core/clock';
import { NoahError } from '@noah-backup/core/errors';
import type { DeviceStateStore } from '../ports.ts';
import { fsyncDir, isErrno } from './fs-util.ts';
import { withFileLock } from './lock.ts';

/** Options of `createFileStateStore`. */
export interface FileStateStoreOptions {
  /** A lock file older than this is taken over (default 30 s). */
  staleLockMs?: number;
  /** Judges the lock file's age (default: the system clock). */
  clock?: Clock;
}

function astr(name: string, v: unknown): asserts v is string {
  if (typeof v !== 'string') throw new TypeError(`${name} must be a string`);
}

/**
 * Creates a state store backed by the JSON file at `path` (created on first write,
 * mode 0600) and the lock file `path + '.lock'`.
 * @param path - the state file
 * @returns the store; `get` of a missing key is `null`, `delete` of one is a no-op
 * @throws NoahError `state_corrupt` from any method if the file is not a JSON object of
 *   strings; `lock_timeout` if the lock stays held
 * @example
 * const state = createFileStateStore('/data/noah-state.json');
 * if (await state.compareAndSet('backup.lock', runId, isStale)) { … }
 */
export function createFileStateStore(
  path: string,
  opts: FileStateStoreOptions = {},
): DeviceStateStore {
  astr('path', path);
  const file = resolve(path);
  const lockOpts = { staleMs: opts.staleLockMs ?? 30_000, clock: opts.clock };

  async function read(): Promise<Map<string, string>> {
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return new Map();
      throw e;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new NoahError('state_corrupt', `the device state file ${file} is not valid JSON`, {
        cause: e,
      });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new NoahError('state_corrupt', `the device state file ${file} is not a JSON object`);
    const map = new Map<string, string>();
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== 'string')
        throw new NoahError(
          'state_corrupt',
          `the device state file ${file} has a non-string value`,
        );
      map.set(k, v);
    }
    return map;
  }

  async function write(map: Map<string, string>): Promise<void> {
    // Object.fromEntries defines own properties: a key like "__proto__" stays data.
    const text = `${JSON.stringify(Object.fromEntries(map), null, 2)}\n`;
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    const fh = await fsp.open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } catch (e) {
      await fh.close();
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    await fh.close();
    await fsp.rename(tmp, file);
    await fsyncDir(dirname(file));
  }

  async function update<T>(fn: (map: Map<string, string>) => { write: boolean; result: T }) {
    await fsp.mkdir(dirname(file), { recursive: true });
    return withFileLock(
      `${file}.lock`,
      async () => {
        const map = await read();
        const { write: changed, result } = fn(map);
        if (changed) await write(map);
        return result;
      },
      lockOpts,
    );
  }

  return {
    async get(key) {
      astr('key', key);
      return (await read()).get(key) ?? null;
    },
    async set(key, value) {
      astr('key', key);
      astr('value', value);
      await update((m) => {
        m.set(key, value);
        return { write: true, result: undefined };
      });
    },
    async delete(key) {
      astr('key', key);
      await update((m) => ({ write: m.delete(key), result: undefined }));
    },
    async compareAndSet(key, value, canReplace) {
      astr('key', key);
      astr('value', value);
      if (typeof canReplace !== 'function') throw new TypeError('canReplace must be a function');
      return update((m) => {
        const current = m.get(key);
        if (current !== undefined && !canReplace(current)) return { write: false, result: false };
        m.set(key, value);
        return { write: true, result: true };
      });
    },
  };
}
