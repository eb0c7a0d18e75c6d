#!/usr/bin/env node
/**
 * Installs the React Native test tools when they are missing or older than their
 * lockfile, so `npm test` works on a fresh clone while `npm ci && npm start` never
 * downloads them (docs/REACT-NATIVE.md §5, §8.4). Each folder has its own lockfile:
 * - packages/react-native/hermes: the Hermes VM and React Native's Babel preset;
 * - packages/react-native/op-sqlite-node: op-sqlite, whose Node build the ports' contract
 *   kits run on (its peers, React Native among them, are not installed: `.npmrc`), and
 *   abort-controller, React Native's AbortController.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

const RN = join(import.meta.dirname, '..', 'packages', 'react-native');
for (const folder of ['hermes', 'op-sqlite-node']) {
  const tools = join(RN, folder);
  const installed = join(tools, 'node_modules', '.package-lock.json');
  const lock = join(tools, 'package-lock.json');
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) continue;
  console.log(`installing the React Native test tools (packages/react-native/${folder}, once)`);
  const r = spawnSync('npm', ['ci', '--prefix', tools, '--no-audit', '--no-fund'], {
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    console.error(
      `ensure-hermes: npm ci in packages/react-native/${folder} failed; run \`npm run setup:hermes\` to see why`,
    );
    process.exit(r.status ?? 1);
  }
}
