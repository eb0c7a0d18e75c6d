/**
 * The files the README's command-line demo creates in the repository root (the demo
 * wallets, the seedphrase file, the server's data directory, what a restore keeps beside
 * its target) are ignored by git, so a seedphrase or a wallet never ends up in a commit by
 * `git add .`.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');

/** Paths the README's demo block writes: `demo-wallet DIR`, `> FILE`, `restore --to DIR`. */
function demoPaths(): string[] {
  const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
  const block = /## Try it from the command line[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block).toBeDefined();
  const paths = new Set<string>(['data/noah.db']); // `npm start`'s embedded stores
  for (const m of block!.matchAll(/demo-wallet (\S+)|> (\S+)|--to (\S+)/g))
    paths.add(m[1] ?? m[2] ?? m[3]!);
  // What a restore leaves beside its target (docs/WALLET.md §2–§3): run the README's
  // restore twice, and the first wallet is kept as DIR.noah-replaced-….
  for (const m of block!.matchAll(/--to (\S+)/g)) {
    paths.add(`${m[1]}.noah-replaced-20261207T080624Z-50c192`);
    paths.add(`${m[1]}.noah-old-1796631279191-22539-2199208-d4d79139`);
    paths.add(`.${m[1]}.noah-staging-22539-Ab12Cd`);
    // The same, named with the boot too (`<pid>.<boot>`), as restores now name them.
    paths.add(`${m[1]}.noah-old-1796631279191-22539.796d3272-2199208-d4d79139`);
    paths.add(`.${m[1]}.noah-staging-22539.796d3272-Ab12Cd`);
  }
  return [...paths];
}

it('the README demo files are ignored by git', async () => {
  const paths = demoPaths();
  expect(paths).toEqual(expect.arrayContaining(['w', 'w2', 'm.txt']));
  const ignored = await new Promise<string>((ok, fail) =>
    execFile('git', ['check-ignore', '--no-index', ...paths], { cwd: ROOT }, (err, stdout) =>
      // Exit 1: none ignored; listed below as missing.
      err && err.code !== 1 ? fail(err) : ok(stdout),
    ),
  );
  expect(ignored.split('\n').filter(Boolean).sort()).toEqual([...paths].sort());
});
