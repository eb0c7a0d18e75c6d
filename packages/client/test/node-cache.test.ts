/**
 * The Node device cache file (docs/FORMAT.md §8.8): private to its user (mode 0600),
 * replaced by a rename (no temp file left behind).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileCacheStore } from '../src/node/cache.ts';
import { tempDir } from './fixtures/node-helpers.ts';

describe('the Node device cache file', () => {
  it('is mode 0600 and leaves no temp file behind', async () => {
    const dir = await tempDir();
    const file = join(dir, 'a.cache');
    const s = createFileCacheStore(file);
    await s.save(Uint8Array.of(1));
    await s.save(Uint8Array.of(2, 3));
    expect((await fsp.stat(file)).mode & 0o777).toBe(0o600);
    expect(await fsp.readdir(dir)).toEqual(['a.cache']);
  });
});
