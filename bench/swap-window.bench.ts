/**
 * How long a restore's swap leaves the wallet directory missing (docs/WALLET.md §3):
 * the time from the first rename (data → old) taking effect to the second (staging →
 * data) taking effect, measured after each `await`, so it is an upper bound that also
 * counts the event loop's round trip. Two layouts are timed in alternation over the same
 * directories: the two renames back to back (what `restore.ts` does) and with an fsync
 * of the parent directory between them (what it did before). A crash in the window is
 * undone by recovery; the window only matters if the app creates a wallet there before
 * recovery runs, which recovery also survives (both kept). Linux's
 * renameat2(RENAME_EXCHANGE) would make it zero, but Node's fs has no binding.
 *
 * Run: `npm run bench -- swap-window`. Environment: `BENCH_SWAPS` (per layout, default
 * 400), `BENCH_TMPDIR` (where the directories go; default the OS temp directory).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SWAPS = Number(process.env.BENCH_SWAPS ?? 400);
const root = mkdtempSync(join(process.env.BENCH_TMPDIR ?? tmpdir(), 'noah-swap-bench-'));

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** One swap of `a` into `data` (the old data goes to `b`); returns the window in µs. */
async function swap(data: string, a: string, b: string, syncBetween: boolean): Promise<number> {
  await rename(data, b);
  const missing = performance.now();
  if (syncBetween) await fsyncDir(root);
  await rename(a, data);
  const back = performance.now();
  await fsyncDir(root);
  return (back - missing) * 1000;
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

try {
  const data = join(root, 'wallet');
  const spare = join(root, 'staging');
  const old = join(root, 'old');
  for (const d of [data, spare]) {
    mkdirSync(d);
    writeFileSync(join(d, 'wallet.sqlite'), 'x');
  }
  const windows: Record<'back to back' | 'fsync between', number[]> = {
    'back to back': [],
    'fsync between': [],
  };
  for (let i = 0; i < SWAPS; i++)
    for (const layout of ['back to back', 'fsync between'] as const) {
      windows[layout].push(await swap(data, spare, old, layout === 'fsync between'));
      await rename(old, spare); // the next swap's staging directory
    }
  for (const [layout, xs] of Object.entries(windows)) {
    xs.sort((x, y) => x - y);
    console.log(
      `${layout.padEnd(14)} window (data directory missing): median ${pct(xs, 0.5).toFixed(0)} µs, p99 ${pct(xs, 0.99).toFixed(0)} µs, max ${xs.at(-1)!.toFixed(0)} µs over ${xs.length} swaps`,
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
