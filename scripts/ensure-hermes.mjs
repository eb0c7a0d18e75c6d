#!/usr/bin/env node
/**
 * Installs the Hermes test tools (packages/react-native/hermes: the Hermes VM and React
 * Native's Babel preset, their own lockfile) when they are missing or older than that
 * lockfile, so `npm test` works on a fresh clone while `npm ci && npm start` never
 * downloads them (docs/REACT-NATIVE.md "Tests").
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

const TOOLS = join(import.meta.dirname, '..', 'packages', 'react-native', 'hermes');
const installed = join(TOOLS, 'node_modules', '.package-lock.json');
const lock = join(TOOLS, 'package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  console.log('installing the Hermes test tools (packages/react-native/hermes, once)');
  const r = spawnSync('npm', ['ci', '--prefix', TOOLS, '--no-audit', '--no-fund'], {
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    console.error(
      'ensure-hermes: npm ci in packages/react-native/hermes failed; run `npm run setup:hermes` to see why',
    );
    process.exit(r.status ?? 1);
  }
}
