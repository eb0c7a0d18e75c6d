/**
 * `noah-backup backup` makes incremental backups (docs/FORMAT.md §8), as a black box:
 * the second backup around a day of writes by another process sends about the changed
 * pages and says so; `list` shows what each backup stores; `restore` and `verify`
 * handle either slot; `--one-object` makes today's one-object backup, which restores.
 */
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { walletDigest } from '@noah-backup/client/demo-wallet';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { describe, expect, it } from 'vitest';
import { useCliServer } from './client-helpers.ts';

const DAY = resolve(import.meta.dirname, '../../client/test/fixtures/node-day.mjs');

const h = useCliServer('noah-cli-inc-', { maxBackupSize: 64 * 2 ** 20 });
const { cli } = h;

describe('noah-backup backup, incremental', () => {
  it('sends the changed pages, says so, and restores either slot', async () => {
    const file = join(h.dir, 'm');
    await writeFile(file, `${generateMnemonic(wordlist)}\n`, { mode: 0o600 });
    const as = (state: string) => ['--mnemonic-file', file, '--state', join(h.dir, state)];
    expect((await cli(['demo-wallet', 'w', '--size-mb', '4'])).code).toBe(0);
    const first = await cli(['backup', '--data', 'w', '--json', ...as('s')]);
    expect(first.code).toBe(0);
    const one = JSON.parse(first.stdout);
    expect(one.incremental).toMatchObject({ incremental: false, fullReason: 'no_previous' });
    const day1 = await walletDigest(join(h.dir, 'w'));
    h.srv.clock.advance(60_000);
    execFileSync(process.execPath, [DAY, join(h.dir, 'w', 'wallet.sqlite'), '1']);

    const second = await cli(['backup', '--data', 'w', ...as('s')]);
    expect(second).toMatchObject({ code: 0, stderr: '' });
    expect(second.stdout).toMatch(
      /^backed up w as backup [12] \(sent \d+\.\d+ MiB of \d+\.\d+ MiB \(incremental: [\d,]+ pages? of [\d,]+ changed\), created /,
    );
    const day2 = await walletDigest(join(h.dir, 'w'));
    // The cache is beside the state file, private to the user.
    h.srv.clock.advance(60_000);
    execFileSync(process.execPath, [DAY, join(h.dir, 'w', 'wallet.sqlite'), '2']);
    const third = JSON.parse((await cli(['backup', '--data', 'w', '--json', ...as('s')])).stdout);
    expect(third.incremental.incremental).toBe(true);
    expect(third.bytes).toBe(third.incremental.sentBytes);
    expect(third.bytes).toBeLessThan(third.incremental.totalBytes / 3);
    const day3 = await walletDigest(join(h.dir, 'w'));

    const list = await cli(['list', ...as('s')]);
    expect(list.stdout.split('\n')[0]).toMatch(/^VERSION\s+CREATED\s+SIZE\s+OBJECTS\s+VERIFIED$/);
    const rows = JSON.parse((await cli(['list', '--json', ...as('s')])).stdout);
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r.object_count).toBeGreaterThan(0);
    const [newest, older] = rows;
    for (const [version, digest, extra] of [
      [newest.backup_version, day3, []],
      [older.backup_version, day2, ['--yes-older']],
    ] as const) {
      const to = `r${version}`;
      const r = await cli([
        'restore',
        '--to',
        to,
        '--version',
        String(version),
        ...extra,
        ...as(`s-${to}`),
      ]);
      expect(r.code).toBe(0);
      expect(await walletDigest(join(h.dir, to))).toBe(digest);
      const v = await cli(['verify', String(version), ...as(`s-${to}`)]);
      expect(v.stdout).toMatch(/is intact: v2, .* 1 database checked/);
    }
    expect(day1).not.toBe(day2);

    // A one-object backup, as older clients make: restores as before.
    h.srv.clock.advance(60_000);
    const plain = await cli(['backup', '--data', 'w', '--one-object', '--json', ...as('s')]);
    expect(JSON.parse(plain.stdout).incremental).toBeUndefined();
    const back = await cli(['restore', '--to', 'r-plain', ...as('s-plain')]);
    expect(back.code).toBe(0);
    expect(await walletDigest(join(h.dir, 'r-plain'))).toBe(day3);
    expect((await readFile(join(h.dir, 'w', 'wallet.sqlite'))).length).toBeGreaterThan(0);
  });
});
