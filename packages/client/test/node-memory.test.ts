/**
 * Constant memory (peak memory independent of data size): a tar snapshot
 * of a data directory with a 192 MiB file, streamed straight into a restore; the snapshot
 * copy of a 96 MiB database; a 192 MiB upload; each in a child process whose peak RSS is
 * measured by getrusage.
 */
import { promises as fsp } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CHECK_CACHE_KIB } from '../src/node/sqlite.ts';
import { describe, expect, it } from 'vitest';
import { exited, spawnTs, stdoutOf, tempDir } from './fixtures/node-helpers.ts';

describe('snapshot → restore memory', () => {
  it('peak RSS grows by far less than the data size', async () => {
    const root = await tempDir();
    const sizeMb = 192;
    const child = spawnTs('node-memory-child.ts', [root, String(sizeMb)]);
    const out = stdoutOf(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    expect((await exited(child)).code, stderr).toBe(0);
    const { baseline, peak, restored } = JSON.parse((await out).trim()) as Record<string, number>;
    expect(restored).toBe(sizeMb * 1024 * 1024);
    // maxRSS is in KiB. A whole-file buffer would add ≥ 192 MiB; streaming adds a few MiB.
    expect((peak! - baseline!) / 1024).toBeLessThan(64);
    expect(await fsp.readdir(join(root, 'tmp'))).toEqual([]);
  });
});

describe('upload memory', () => {
  it('a streamed PUT does not keep what it sent', async () => {
    let received = 0;
    const server = createServer((req, res) => {
      req.on('data', (c: Buffer) => {
        received += c.length;
      });
      req.on('end', () => res.end());
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const sizeMb = 192;
      const child = spawnTs('upload-memory-child.ts', [await tempDir(), String(sizeMb), url]);
      const out = stdoutOf(child);
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      expect((await exited(child)).code, stderr).toBe(0);
      const { baseline, peak, size } = JSON.parse((await out).trim()) as Record<string, number>;
      expect(size).toBe(sizeMb * 2 ** 20);
      expect(received).toBe(size);
      // Node's fetch keeps a replay copy of a stream body unless redirects are refused.
      expect((peak! - baseline!) / 1024).toBeLessThan(64);
    } finally {
      server.close();
    }
  });
});

describe('SQLite memory', () => {
  it('copies with a small page cache and checks within the check’s own cache', async () => {
    const child = spawnTs('vacuum-memory-child.ts', [await tempDir(), '96']);
    const out = stdoutOf(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    expect((await exited(child)).code, stderr).toBe(0);
    const { baseline, peak, checked, rows } = JSON.parse((await out).trim()) as Record<
      string,
      number
    >;
    expect(rows).toBe(96 * 1024);
    // better-sqlite3's default 16 MB cache, for the source and again for the copy: ~32 MiB.
    expect((peak! - baseline!) / 1024).toBeLessThan(16);
    // The integrity check of the copy, on top: at most its page cache (16 MiB: faster
    // index checks, measured in sqlite.ts) and a little more.
    expect((checked! - peak!) / 1024).toBeLessThan(CHECK_CACHE_KIB / 1024 + 4);
  });
});
