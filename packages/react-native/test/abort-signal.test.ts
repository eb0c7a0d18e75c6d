/**
 * React Native's AbortSignal is the `abort-controller` package's (3.0.0, which
 * react-native 0.86.3 installs as the global in Libraries/Core/setUpXHR.js): it has no
 * `throwIfAborted` and no `reason`. The SDK must work with it as it is: it checks
 * `signal.aborted` (`throwIfAborted(signal)` of packages/client/src/errors.ts) and never
 * calls the method, which on a phone would fail every backup with a TypeError
 * (docs/REACT-NATIVE.md §3).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { collect } from '@noah-backup/core/stream';
import { expect, it } from 'vitest';
import { writeArchive } from '../../client/src/archive/write.ts';

const tools = createRequire(join(import.meta.dirname, '..', 'op-sqlite-node', 'package.json'));
const { AbortController: RnAbortController, AbortSignal: RnAbortSignal } = tools(
  'abort-controller',
) as { AbortController: typeof AbortController; AbortSignal: typeof AbortSignal };

const entries = [{ type: 'directory' as const, name: 'd' }];

it("runs and stops on React Native's AbortSignal, which lacks throwIfAborted", async () => {
  expect('throwIfAborted' in RnAbortSignal.prototype).toBe(false);
  const live = new RnAbortController();
  const archive = await collect(writeArchive('tar', entries, new Date(0), live.signal));
  expect(archive.length).toBeGreaterThan(0);
  const stopped = new RnAbortController();
  stopped.abort();
  await expect(
    collect(writeArchive('tar', entries, new Date(0), stopped.signal)),
  ).rejects.toMatchObject({ code: 'aborted' });
});

it('no code that runs on a phone calls signal.throwIfAborted()', () => {
  const packages = resolve(import.meta.dirname, '../..');
  const calls: string[] = [];
  for (const dir of ['core/src', 'client/src', 'react-native/src']) {
    const root = join(packages, dir);
    for (const name of readdirSync(root, { recursive: true }) as string[]) {
      if (!/\.tsx?$/.test(name)) continue;
      readFileSync(join(root, name), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/\.throwIfAborted\(\)/.test(line) && !/^\s*(\*|\/\/)/.test(line))
            calls.push(`${dir}/${name}:${i + 1}`);
        });
    }
  }
  expect(calls).toEqual([]);
});
