/**
 * React Native's AbortSignal is the `abort-controller` package's (3.0.0, which
 * react-native 0.86.3 installs as the global in Libraries/Core/setUpXHR.js): it has no
 * `throwIfAborted`, which the SDK calls on every signal it is given (the archive codec,
 * the incremental pipeline). Here with that very package: the SDK's archive writer, given
 * its signal, must stop with an AbortError when aborted and run when not; `setup`'s
 * polyfill (`src/abort-signal.ts`) makes it so.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { collect } from '@noah-backup/core/stream';
import { expect, it } from 'vitest';
import { writeArchive } from '../../client/src/archive/write.ts';
import { polyfillAbortSignal } from '../src/abort-signal.ts';

const tools = createRequire(join(import.meta.dirname, '..', 'op-sqlite-node', 'package.json'));
const { AbortController: RnAbortController, AbortSignal: RnAbortSignal } = tools(
  'abort-controller',
) as { AbortController: typeof AbortController; AbortSignal: typeof AbortSignal };

const entries = [{ type: 'directory' as const, name: 'd' }];

it("React Native's AbortSignal lacks throwIfAborted; the polyfill gives it", async () => {
  expect('throwIfAborted' in RnAbortSignal.prototype).toBe(false);
  polyfillAbortSignal(RnAbortSignal);
  const live = new RnAbortController();
  const archive = await collect(writeArchive('tar', entries, new Date(0), live.signal));
  expect(archive.length).toBeGreaterThan(0);
  const stopped = new RnAbortController();
  stopped.abort();
  await expect(
    collect(writeArchive('tar', entries, new Date(0), stopped.signal)),
  ).rejects.toMatchObject({ name: 'AbortError' });
  polyfillAbortSignal(RnAbortSignal); // twice: the first one stays
  expect(() => live.signal.throwIfAborted()).not.toThrow();
});

it('leaves a platform AbortSignal alone', () => {
  const own = AbortSignal.prototype.throwIfAborted;
  polyfillAbortSignal(AbortSignal);
  expect(AbortSignal.prototype.throwIfAborted).toBe(own);
  polyfillAbortSignal(undefined);
});
