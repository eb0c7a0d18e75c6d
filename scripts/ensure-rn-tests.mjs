#!/usr/bin/env node
/**
 * Installs the example app's dependencies (packages/react-native/example: React Native,
 * Expo, Jest and React Testing Library, from its own lockfile) when they are missing or
 * older than that lockfile, so `npm test` runs the React Native tests on a fresh clone
 * while `npm ci && npm start` never downloads them (docs/REACT-NATIVE.md §5).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

const EXAMPLE = join(import.meta.dirname, '..', 'packages', 'react-native', 'example');
const installed = join(EXAMPLE, 'node_modules', '.package-lock.json');
const lock = join(EXAMPLE, 'package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  console.log(
    'installing the React Native example and its test tools (packages/react-native/example, once)',
  );
  const r = spawnSync('npm', ['ci', '--prefix', EXAMPLE, '--no-audit', '--no-fund'], {
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    console.error(
      'ensure-rn-tests: npm ci in packages/react-native/example failed; run `npm run setup:rn` to see why',
    );
    process.exit(r.status ?? 1);
  }
}
