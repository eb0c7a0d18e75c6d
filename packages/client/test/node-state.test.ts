/**
 * What the Node state store and spooler do beyond their ports' contracts (those are the
 * kits in `contract/`, run on every platform): the state file persists across instances
 * with mode 0600 and leaves nothing behind, compareAndSet is atomic across real
 * processes, a stale lock is taken over; spool files are private, removed on failure,
 * and those of killed processes are swept.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { manualClock } from '@noah-backup/core/clock';
import { NoahError } from '@noah-backup/core/errors';
import { describe, expect, it } from 'vitest';
import { withFileLock } from '../src/node/lock.ts';
import { createFileSpooler } from '../src/node/spool.ts';
import { createFileStateStore } from '../src/node/state.ts';
import {
  collect,
  exited,
  spawnTs,
  stdoutOf,
  tempDir,
  waitForLine,
} from './fixtures/node-helpers.ts';

describe('createFileStateStore', () => {
  it('gets, sets, deletes and persists across instances', async () => {
    const dir = await tempDir();
    const path = join(dir, 'sub', 'state.json');
    const a = createFileStateStore(path);
    expect(await a.get('x')).toBeNull();
    await a.delete('x'); // a missing key: no-op
    await a.set('x', '1');
    await a.set('__proto__', 'data, not a prototype');
    const b = createFileStateStore(path);
    expect(await b.get('x')).toBe('1');
    expect(await b.get('__proto__')).toBe('data, not a prototype');
    await b.delete('x');
    expect(await a.get('x')).toBeNull();
    expect((await fsp.stat(path)).mode & 0o777).toBe(0o600);
    // Only the state file remains: no temp files, no lock file.
    expect(await fsp.readdir(join(dir, 'sub'))).toEqual(['state.json']);
  });

  it('reports a corrupt state file instead of losing it', async () => {
    const path = join(await tempDir(), 'state.json');
    await fsp.writeFile(path, '{"a": 1}');
    const s = createFileStateStore(path);
    await expect(s.get('a')).rejects.toMatchObject({ code: 'state_corrupt' });
    await fsp.writeFile(path, 'not json');
    await expect(s.set('a', 'b')).rejects.toMatchObject({ code: 'state_corrupt' });
    expect(await fsp.readFile(path, 'utf8')).toBe('not json');
  });

  it('takes over a stale lock, waits for a fresh one', async () => {
    const dir = await tempDir();
    const path = join(dir, 'state.json');
    const lock = `${path}.lock`;
    await fsp.writeFile(lock, '99999\n');
    const clock = manualClock((await fsp.stat(lock)).mtimeMs + 1000);
    // Fresh (1 s old): the lock is respected until the timeout.
    const err = await withFileLock(lock, async () => 'ran', { clock, timeoutMs: 50 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NoahError);
    expect((err as NoahError).code).toBe('lock_timeout');
    // 31 s old: stale, taken over.
    clock.advance(30_000);
    const s = createFileStateStore(path, { clock });
    await s.set('k', 'v');
    expect(await s.get('k')).toBe('v');
    expect((await fsp.readdir(dir)).sort()).toEqual(['state.json']);
  });

  it('compareAndSet is atomic across processes: one winner per key, no lost update', async () => {
    const path = join(await tempDir(), 'state.json');
    const n = 4;
    const keys = 15;
    const increments = 15;
    const children = Array.from({ length: n }, (_, i) =>
      spawnTs('node-state-child.ts', [path, `p${i}`, String(keys), String(increments)]),
    );
    const outputs = children.map((c) => stdoutOf(c));
    await Promise.all(children.map((c) => waitForLine(c, /^ready$/)));
    for (const c of children) c.stdin?.write('go\n');
    const results = await Promise.all(
      outputs.map(
        async (o) =>
          JSON.parse((await o).trim().split('\n').pop()!) as { id: string; wins: string[] },
      ),
    );
    for (const c of children) expect((await exited(c)).code).toBe(0);
    const store = createFileStateStore(path);
    for (let k = 0; k < keys; k++) {
      const winners = results.filter((r) => r.wins.includes(`key${k}`));
      expect(winners).toHaveLength(1);
      expect(await store.get(`key${k}`)).toBe(winners[0]!.id);
    }
    expect(await store.get('counter')).toBe(String(n * increments));
  });
});

describe('createFileSpooler', () => {
  it('spools to a private file, re-reads it for retries, cleans up', async () => {
    const dir = await tempDir();
    const data = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) & 0xff);
    async function* source() {
      for (let i = 0; i < data.length; i += 100_000) yield data.subarray(i, i + 100_000);
    }
    const blob = await createFileSpooler(dir).spool(source());
    expect(blob.size).toBe(data.length);
    const [name] = await fsp.readdir(dir);
    expect((await fsp.stat(join(dir, name!))).mode & 0o777).toBe(0o600);
    expect((await collect(blob.open())).equals(data)).toBe(true);
    expect((await collect(blob.open())).equals(data)).toBe(true);
    await blob.cleanup();
    await blob.cleanup();
    expect(await fsp.readdir(dir)).toEqual([]);
  });

  it('removes the file and rethrows when the source fails', async () => {
    const dir = await tempDir();
    const boom = new Error('upstream failed');
    async function* source() {
      yield new Uint8Array(1000);
      throw boom;
    }
    await expect(createFileSpooler(dir).spool(source())).rejects.toBe(boom);
    expect(await fsp.readdir(dir)).toEqual([]);
  });

  it('removes the spool files of killed processes, not those of live ones', async () => {
    const dir = await tempDir();
    const child = spawn(process.execPath, ['-e', '']);
    await exited(child);
    const dead = `noah-spool-${child.pid}-00aa`;
    const live = `noah-spool-${process.ppid}-00bb`;
    for (const f of [dead, live, 'unrelated']) await fsp.writeFile(join(dir, f), 'x');
    const blob = await createFileSpooler(dir).spool(
      (async function* () {
        yield new Uint8Array(10);
      })(),
    );
    await blob.cleanup();
    expect((await fsp.readdir(dir)).sort()).toEqual([live, 'unrelated'].sort());
  });
});
