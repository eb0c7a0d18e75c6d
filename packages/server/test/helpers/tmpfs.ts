/**
 * A small, really full filesystem for the disk-full tests: a tmpfs of a fixed size
 * mounted on a temp dir (memory, never the machine's disk), and a filler file that takes
 * every free byte. Mounting needs root (the test machines run the suite as root, as the
 * PostgreSQL global setup expects).
 * @module
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, open, rm, rmdir, unlink } from 'node:fs/promises';
import { statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A mounted tmpfs. */
export interface Tmpfs {
  dir: string;
  /** Bytes free now (statfs). */
  free(): number;
  /** Writes a filler file until the filesystem answers ENOSPC, then frees `leave` bytes. */
  fill(leave?: number): Promise<void>;
  /** Removes the filler. */
  drain(): Promise<void>;
  unmount(): Promise<void>;
}

/**
 * Mounts a tmpfs of `bytes` on a fresh temp dir.
 * @throws when not root (mount(2) needs CAP_SYS_ADMIN), naming the reason
 */
export async function mountTmpfs(bytes: number): Promise<Tmpfs> {
  if (process.getuid?.() !== 0)
    throw new Error('the disk-full tests mount a small tmpfs and need to run as root');
  const dir = await mkdtemp(join(tmpdir(), 'noah-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir]);
  const filler = join(dir, 'filler');
  return {
    dir,
    free: () => {
      const s = statfsSync(dir);
      return s.bavail * s.bsize;
    },
    async fill(leave = 0) {
      const fh = await open(filler, 'a');
      const chunk = Buffer.alloc(4096, 1);
      try {
        for (;;) await fh.write(chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
      try {
        if (leave > 0) await fh.truncate(Math.max(0, (await fh.stat()).size - leave));
      } finally {
        await fh.close();
      }
    },
    async drain() {
      await unlink(filler).catch(() => {});
    },
    async unmount() {
      execFileSync('umount', ['-l', dir]);
      await rmdir(dir).catch(() => rm(dir, { recursive: true, force: true }));
    },
  };
}
