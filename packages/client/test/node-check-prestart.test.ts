/**
 * The integrity check's thread started ahead (`prestartIntegrityCheck`, docs/WALLET.md
 * §5): the next check runs on it with the same verdicts, and an unused one never keeps
 * the process alive.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createDemoWallet } from '../src/demo-wallet.ts';
import { prestartIntegrityCheck, startIntegrityCheck } from '../src/node/sqlite.ts';
import { breakIndex, tempDir } from './fixtures/node-helpers.ts';

const sqliteModule = fileURLToPath(new URL('../src/node/sqlite.ts', import.meta.url));

describe('integrity check thread started ahead', () => {
  it('the next checks run on it, with the same verdicts', async () => {
    const root = await tempDir();
    const good = await createDemoWallet(join(root, 'good'), { sizeMb: 1, seed: 1 });
    const bad = await createDemoWallet(join(root, 'bad'), { sizeMb: 1, seed: 2 });
    breakIndex(bad.database, 'payments', 'payments_created_at', 'created_at');
    prestartIntegrityCheck();
    await expect(startIntegrityCheck(good.database, 'good.sqlite').done).resolves.toBeUndefined();
    prestartIntegrityCheck();
    await expect(startIntegrityCheck(bad.database, 'bad.sqlite').done).rejects.toMatchObject({
      code: 'integrity_check_failed',
    });
    // None started ahead: a thread of its own, as before.
    await expect(startIntegrityCheck(good.database, 'good.sqlite').done).resolves.toBeUndefined();
  });

  it('an unused one does not keep the process alive', async () => {
    const script = `import(${JSON.stringify(sqliteModule)}).then((m) => { m.prestartIntegrityCheck(); console.log('started'); })`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '-e', script],
      { timeout: 10_000 },
    );
    // A thread keeping it alive would let the 10 s timeout kill it: execFile would reject.
    expect(stdout.trim()).toBe('started');
  });
});
