import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchedWriter } from '../src/node/fs-util.ts';

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'noah-batched-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

/** A FileHandle stand-in recording writev calls; `plan` decides each call's outcome. */
function fakeHandle(plan: (call: number, bytes: number) => number | Error) {
  const written: number[] = [];
  const calls: number[] = [];
  let active = 0;
  let maxActive = 0;
  const fh = {
    async writev(parts: Uint8Array[]) {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 2));
      active--;
      const bytes = parts.reduce((n, p) => n + p.length, 0);
      const outcome = plan(calls.length, bytes);
      calls.push(bytes);
      if (outcome instanceof Error) throw outcome;
      written.push(...Buffer.concat(parts).subarray(0, outcome));
      return { bytesWritten: outcome, buffers: parts };
    },
    async write(buf: Uint8Array, off: number, len: number) {
      for (const b of buf.subarray(off, off + len)) written.push(b);
      return { bytesWritten: len, buffer: buf };
    },
  };
  return { fh: fh as unknown as FileHandle, written, calls, maxActive: () => maxActive };
}

describe('batchedWriter', () => {
  it('writes many small chunks in order, in few writev calls, to a real file', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 12_345);
    const path = join(dir, 'out');
    const fh = await fsp.open(path, 'wx');
    const out = batchedWriter(fh, 256 * 1024);
    for (let off = 0; off < data.length; ) {
      const n = 1 + ((off * 7919) % 70_000);
      await out.write(data.subarray(off, off + n));
      off += n;
    }
    await out.write(new Uint8Array(0));
    await out.flush();
    await fh.close();
    expect((await fsp.readFile(path)).equals(data)).toBe(true);
  });

  it('issues at most one writev at a time and holds back small writes until a batch is full', async () => {
    const f = fakeHandle((_, bytes) => bytes);
    const out = batchedWriter(f.fh, 100);
    await out.write(new Uint8Array(60).fill(1));
    expect(f.calls).toEqual([]); // less than a batch: nothing written yet
    for (let i = 0; i < 20; i++) await out.write(new Uint8Array(60).fill(i));
    await out.flush();
    expect(f.maxActive()).toBe(1);
    expect(f.calls.reduce((a, b) => a + b, 0)).toBe(21 * 60);
    expect(f.written.length).toBe(21 * 60);
    expect(f.calls.length).toBeLessThanOrEqual(11);
  });

  it('completes a partial writev with the rest of the batch, in order', async () => {
    const f = fakeHandle((call, bytes) => (call === 0 ? bytes - 70 : bytes));
    const out = batchedWriter(f.fh, 100);
    const chunks = [0, 1, 2].map((i) => new Uint8Array(50).fill(i + 1));
    for (const c of chunks) await out.write(c);
    await out.flush();
    expect(f.written).toEqual([...chunks[0]!, ...chunks[1]!, ...chunks[2]!]);
  });

  it('reports a write error at the next write or at flush, never unhandled', async () => {
    const full = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    const f = fakeHandle(() => full);
    const out = batchedWriter(f.fh, 10);
    await out.write(new Uint8Array(10)); // issued, fails in the background
    await expect(out.write(new Uint8Array(10))).rejects.toBe(full);
    await expect(out.flush()).rejects.toBe(full);
  });

  it('abandon drops what is gathered and waits for the write in flight', async () => {
    const f = fakeHandle((_, bytes) => bytes);
    const out = batchedWriter(f.fh, 10);
    await out.write(new Uint8Array(10).fill(7)); // in flight
    await out.write(new Uint8Array(5).fill(8)); // gathered only
    await out.abandon();
    expect(f.written).toEqual(new Array(10).fill(7));
  });
});
