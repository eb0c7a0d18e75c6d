#!/usr/bin/env node
// Runs the esbuild bundle (`npm run build`, done by `npm ci` / `npm install` and before
// `npm test`) when it exists: no TypeScript loader, about 44 MiB less memory. Without
// it (a checkout where the build has not run) the sources run through tsx's loader, and
// so they do, with one line on stderr, when a source changed after the bundle was built:
// a stale bundle would run code that is no longer in the tree.
import { readFileSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/', import.meta.url);
const bundle = new URL('noah-backup.mjs', dist);

/**
 * Why the bundle must not run: null when it is as new as every source it was built
 * from (listed beside it by scripts/build-cli.ts), undefined when there is no bundle.
 */
function staleness() {
  let built;
  try {
    built = statSync(bundle).mtimeMs;
  } catch {
    return undefined;
  }
  let sources;
  try {
    ({ sources } = JSON.parse(readFileSync(new URL('noah-backup.sources.json', dist), 'utf8')));
  } catch {
    return 'it has no list of its sources';
  }
  for (const source of sources) {
    const url = new URL(source, dist);
    let changed;
    try {
      changed = statSync(url).mtimeMs;
    } catch {
      changed = Number.POSITIVE_INFINITY; // deleted or renamed since the build
    }
    if (changed > built) {
      const root = fileURLToPath(new URL('../../../', import.meta.url));
      return `${relative(root, fileURLToPath(url))} changed after it was built`;
    }
  }
  return null;
}

const stale = staleness();
if (stale === null) await import(bundle.href);
else {
  if (stale !== undefined)
    process.stderr.write(
      `noah-backup: running the sources, not the build in packages/cli/dist: ${stale} (\`npm run build\` rebuilds it)\n`,
    );
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
