/**
 * `npm run bench [-- NAME…]`: runs every `bench/*.bench.ts` (or the named ones) in its
 * own process, one after another, so each reports its own peak RSS and none disturbs
 * another's timing. Benchmarks print their figures as ratios against a baseline
 * measured in the same run (machines here are shared and noisy).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${wanted.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const f of files) {
  console.log(`\n=== ${f} ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(here, f)], {
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    failed++;
    console.error(`${f} exited with ${r.status ?? r.signal}`);
  }
}
process.exit(failed ? 1 : 0);
