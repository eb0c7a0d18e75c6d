/**
 * `npm run vectors`: regenerates the test-vector corpus in `testdata/` (docs/FORMAT.md §7)
 * from seeded randomness, so the output is the same on every run. `--check` writes
 * nothing and exits 1 if the committed files differ from a fresh generation.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORPUS_DIRS, generateCorpus } from './vectors/corpus.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'testdata');

/** Files currently in the generator's directories, relative to `testdata/`. */
function existing(): Set<string> {
  const out = new Set<string>();
  for (const d of CORPUS_DIRS) {
    let names: string[] = [];
    try {
      names = readdirSync(join(root, d));
    } catch {
      continue;
    }
    for (const n of names) out.add(`${d}/${n}`);
  }
  return out;
}

const check = process.argv.includes('--check');
const files = await generateCorpus();
const old = existing();
const stale = [...old].filter((f) => !files.has(f));
const changed = [...files].filter(([f, bytes]) => {
  if (!old.has(f)) return true;
  return Buffer.compare(readFileSync(join(root, f)), bytes) !== 0;
});
if (check) {
  for (const f of stale) console.error(`stale: testdata/${f}`);
  for (const [f] of changed) console.error(`differs: testdata/${f}`);
  process.exit(stale.length + changed.length ? 1 : 0);
}
for (const f of stale) rmSync(join(root, f));
for (const [f, bytes] of changed) {
  mkdirSync(dirname(join(root, f)), { recursive: true });
  writeFileSync(join(root, f), bytes);
}
let total = 0;
for (const b of files.values()) total += b.length;
console.log(
  `testdata: ${files.size / 2} vectors, ${(total / 2 ** 20).toFixed(2)} MiB; ${changed.length} written, ${stale.length} removed`,
);
