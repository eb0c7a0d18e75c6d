#!/usr/bin/env node
// Runs the esbuild bundle (`npm run build`, done by `npm ci` / `npm install` and before
// `npm test`) when it exists: no TypeScript loader, about 44 MiB less memory. Without
// it (a checkout where the build has not run) the sources run through tsx's loader.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/noah-backup.mjs', import.meta.url);
if (existsSync(bundle)) await import(bundle.href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
