/**
 * Mistakes and faults that must lose neither a wallet nor a good backup, through the
 * real `noah-backup` binary against the real server (docs/WALLET.md): backing up a
 * directory that is no wallet (exit 2) or a damaged wallet database (exit 6); verify and
 * restore of a backup whose database is damaged (exit 6, never "intact"); restoring into
 * a directory of other files (exit 2 until --force, which keeps them) or a mount point
 * (exit 2, before the download); a legacy backup
 * served as the newest (exit 7 until --yes-older); a restore killed between its renames
 * while the app then creates a new wallet (both kept, backups refused: exit 6).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { createApiClient } from '@noah-backup/client/api-client';
import { createDemoWallet, walletDigest } from '@noah-backup/client/demo-wallet';
import { createSessionKeys } from '@noah-backup/client/keys';
import { createNodeWalletAdapter } from '@noah-backup/client/node/wallet';
import { encryptBackupBytes } from '@noah-backup/core/format';
import { describe, expect, it } from 'vitest';
import { buildTar, collect } from '../../client/test/fixtures/node-helpers.ts';
import { uploadRaw } from '../../client/test/helpers/device.ts';
import { BIN, type Run, useCliServer } from './client-helpers.ts';

const SHIM = resolve(import.meta.dirname, 'fixtures/stall-rename.mjs');

const h = useCliServer('noah-cli-safety-');
const { cli, env, user } = h;

/** A user with two good backups of a demo wallet in `name`; their list and digest. */
async function twoBackups(name: string) {
  const u = await user(name);
  await createDemoWallet(join(h.dir, name), { sizeMb: 1, seed: 41 });
  expect((await cli(['backup', '--data', name, ...u.as(`st-${name}`)])).code).toBe(0);
  h.srv.clock.advance(60_000);
  expect((await cli(['backup', '--data', name, ...u.as(`st-${name}`)])).code).toBe(0);
  const list = (await cli(['list', '--json', ...u.as(`st-${name}`)])).stdout;
  expect(JSON.parse(list)).toHaveLength(2);
  return { u, list, digest: await walletDigest(join(h.dir, name)) };
}

/** The user's backups are exactly `list`, and the newest still restores with `digest`. */
async function stillGood(g: Awaited<ReturnType<typeof twoBackups>>, to: string) {
  expect((await cli(['list', '--json', ...g.u.as(`st-${to}`)])).stdout).toBe(g.list);
  expect((await cli(['restore', '--to', to, ...g.u.as(`st-${to}`)])).code).toBe(0);
  expect(await walletDigest(join(h.dir, to))).toBe(g.digest);
}

/** The one error line, its code in brackets, and the hint, after `warnings` lines. */
function expectError(r: Run, exit: number, code: string, hint: RegExp, warnings = 0) {
  expect(r.code).toBe(exit);
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(2 + warnings);
  expect(lines.at(-2)).toMatch(new RegExp(`^noah-backup: error: .*\\[${code}\\]$`));
  expect(lines.at(-1)).toMatch(hint);
}

describe('noah-backup keeps wallets and good backups through mistakes', () => {
  it('backup of an empty directory or one without a database: exit 2, backups kept', async () => {
    const g = await twoBackups('nw');
    await fsp.mkdir(join(h.dir, 'nw-empty'));
    await fsp.mkdir(join(h.dir, 'nw-files'));
    await fsp.writeFile(join(h.dir, 'nw-files', 'notes.txt'), 'hello');
    for (const data of ['nw-empty', 'nw-empty', 'nw-files']) {
      h.srv.clock.advance(60_000);
      const r = await cli(['backup', '--data', data, ...g.u.as('st-nw')]);
      expectError(r, 2, 'not_a_wallet', /^hint: --data must be the wallet data directory/);
      expect(r.stdout).toBe('');
    }
    const json = await cli(['backup', '--data', 'nw-empty', '--json', ...g.u.as('st-nw')]);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'not_a_wallet' } });
    await stillGood(g, 'nw-r');
  });

  it.each([
    ['emptied (0 bytes)', (db: string) => fsp.truncate(db, 0)],
    ['overwritten at its header', (db: string) => overwrite(db, 0, 64)],
    ['damaged just past its header', (db: string) => overwrite(db, 100, 64)],
    ['damaged in a middle page', (db: string) => overwrite(db, 4096 * 20, 4096)],
  ])('backup of a wallet whose database is %s: exit 6, backups kept', async (_n, damage) => {
    const name = `cw-${Math.random().toString(36).slice(2, 8)}`;
    const g = await twoBackups(name);
    await damage(join(h.dir, name, 'wallet.sqlite'));
    h.srv.clock.advance(60_000);
    const r = await cli(['backup', '--data', name, ...g.u.as(`st-${name}`)]);
    expectError(r, 6, 'corrupt_wallet_database', /^hint: nothing was uploaded/);
    expect(r.stderr).toContain('the wallet database wallet.sqlite is damaged');
    await stillGood(g, `${name}-r`);
  });

  it('verify and restore of a backup whose database is an empty file: exit 6', async () => {
    const u = await user('vz');
    // What the old client uploaded for such a wallet: the file, copied as it was.
    const tarball = await buildTar([
      { header: { name: 'settings.json' }, content: '{}' },
      { header: { name: 'wallet.sqlite', size: 0 }, content: new Uint8Array(0) },
    ]);
    const keys = await createSessionKeys(u.mnemonic, new URL(h.srv.url).href);
    try {
      const api = createApiClient({ baseUrl: h.srv.url, signer: keys.signer });
      const blob = await encryptBackupBytes(tarball, {
        keyring: keys.keyring,
        createdAt: h.srv.clock.now(),
        sequence: 1n,
        payloadKind: 'tar',
      });
      await uploadRaw(api, blob);
    } finally {
      keys.destroy();
    }
    const verify = await cli(['verify', ...u.as('st-vz')]);
    expectError(verify, 6, 'integrity_check_failed', /^hint: the backup is damaged/);
    expect(verify.stdout).not.toContain('intact');
    expect(verify.stderr).toContain('database wallet.sqlite failed the check');
    const restore = await cli(['restore', '--to', 'vz-w', ...u.as('st-vz')]);
    expectError(restore, 6, 'integrity_check_failed', /^hint: the backup is damaged/);
    await expect(fsp.access(join(h.dir, 'vz-w'))).rejects.toThrow();
  });

  it('restore --to a directory of other files: exit 2, then --force keeps them', async () => {
    const g = await twoBackups('tn');
    const target = join(h.dir, 'Documents');
    await fsp.mkdir(join(target, 'photos'), { recursive: true });
    await fsp.writeFile(join(target, 'thesis.txt'), 'years of work');
    await fsp.writeFile(join(target, 'photos', 'cat.jpg'), Buffer.alloc(3000, 9));
    const r = await cli(['restore', '--to', 'Documents', ...g.u.as('st-tn2')]);
    expectError(r, 2, 'target_not_a_wallet', /^hint: .*add --force to replace it/);
    expect((await fsp.readdir(target)).sort()).toEqual(['photos', 'thesis.txt']);
    expect((await fsp.readdir(h.dir)).filter((n) => n.includes('Documents.'))).toEqual([]);

    const forced = await cli(['restore', '--to', 'Documents', '--force', ...g.u.as('st-tn2')]);
    expect(forced.code).toBe(0);
    const kept = /is kept in (\S+Documents\.noah-replaced-\S+)$/m.exec(forced.stdout)?.[1];
    expect(kept).toBeDefined();
    expect(await walletDigest(target)).toBe(g.digest);
    expect(await fsp.readFile(join(kept!, 'thesis.txt'), 'utf8')).toBe('years of work');
    expect((await fsp.readFile(join(kept!, 'photos', 'cat.jpg'))).length).toBe(3000);

    // Over a wallet, no --force is needed, and the old wallet is kept too (--json names it).
    await createDemoWallet(join(h.dir, 'tn-mine'), { sizeMb: 1, seed: 42 });
    const mine = await walletDigest(join(h.dir, 'tn-mine'));
    const json = await cli(['restore', '--to', 'tn-mine', '--json', ...g.u.as('st-tn2')]);
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out.previous).toMatch(/\/tn-mine\.noah-replaced-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(await walletDigest(out.previous)).toBe(mine);
    expect(await walletDigest(join(h.dir, 'tn-mine'))).toBe(g.digest);
  });

  it('restore --to a mount point (a volume): exit 2, nothing changed; inside it works', async () => {
    // A wallet service in a container keeps its data on a volume mounted at the data
    // directory; a restore swaps the directory itself, which cannot be done to a mount.
    if (process.getuid?.() !== 0) throw new Error('this test mounts a tmpfs and needs root');
    const g = await twoBackups('mp');
    const volume = join(h.dir, 'volume');
    await fsp.mkdir(volume);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', volume]);
    try {
      for (const fill of [false, true]) {
        if (fill) await createDemoWallet(join(volume, 'x'), { sizeMb: 1, seed: 48 });
        const before = await fsp.readdir(volume);
        const r = await cli(['restore', '--to', 'volume', ...g.u.as('st-mp2')]);
        expectError(r, 2, 'target_is_mount_point', /^hint: .*--to \S*\/volume\/wallet, /);
        expect(r.stderr).not.toMatch(/EBUSY|EXDEV/);
        expect(await fsp.readdir(volume)).toEqual(before);
        expect((await fsp.readdir(h.dir)).filter((n) => n.includes('volume.'))).toEqual([]);
      }
      // Inside the volume it works.
      const inside = await cli(['restore', '--to', 'volume/wallet', ...g.u.as('st-mp2')]);
      expect(inside.code, inside.stderr).toBe(0);
      expect(await walletDigest(join(volume, 'wallet'))).toBe(g.digest);
    } finally {
      execFileSync('umount', ['-l', volume]);
    }
  });

  it('demo-wallet into a directory that holds files: exit 2, nothing written', async () => {
    const target = join(h.dir, 'dw');
    await createDemoWallet(target, { sizeMb: 1, seed: 47 }); // a real wallet, say
    const before = await walletDigest(target);
    const r = await cli(['demo-wallet', 'dw', '--size-mb', '1']);
    expectError(r, 2, 'target_not_empty', /^hint: choose a new directory/);
    expect(await walletDigest(target)).toBe(before);
    await fsp.mkdir(join(h.dir, 'dw-empty'));
    expect((await cli(['demo-wallet', 'dw-empty', '--size-mb', '1'])).code).toBe(0);
  });

  it('a legacy backup served as the newest after v2: exit 7 until --yes-older', async () => {
    const u = await user('lg');
    await createDemoWallet(join(h.dir, 'lg'), { sizeMb: 1, seed: 43 });
    const snap = await createNodeWalletAdapter({
      dataDir: join(h.dir, 'lg'),
      tmpDir: join(h.dir, 'lg-t'),
    }).snapshot({ kind: 'zip' });
    const zip = await collect(snap.archive);
    await snap.cleanup();
    const oldDigest = await walletDigest(join(h.dir, 'lg'));
    await createDemoWallet(join(h.dir, 'lg'), { sizeMb: 1, seed: 44 }); // the wallet moves on
    expect((await cli(['backup', '--data', 'lg', ...u.as('st-lg')])).code).toBe(0);
    const current = await walletDigest(join(h.dir, 'lg'));
    h.srv.clock.advance(60_000);
    const keys = await createSessionKeys(u.mnemonic, new URL(h.srv.url).href);
    try {
      const api = createApiClient({ baseUrl: h.srv.url, signer: keys.signer });
      const legacy = await encryptBackupBytes(zip, {
        format: 'noah-v1',
        keyring: keys.keyring,
        createdAt: h.srv.clock.now(),
      });
      await uploadRaw(api, legacy); // an old noah-v1 backup, replayed as the newest
    } finally {
      keys.destroy();
    }
    const r = await cli(['restore', '--to', 'lg', ...u.as('st-lg')]);
    expectError(r, 7, 'rollback_confirmation_required', /^hint: re-run with --yes-older/);
    expect(r.stderr).toContain('legacy noah-v1 format, which carries no sequence');
    expect(await walletDigest(join(h.dir, 'lg'))).toBe(current);
    const ok = await cli(['restore', '--to', 'lg', '--yes-older', ...u.as('st-lg')]);
    expect(ok.code).toBe(0);
    expect(await walletDigest(join(h.dir, 'lg'))).toBe(oldDigest);
  });

  it('killed between the swap’s renames, then the app makes a new wallet: both kept', async () => {
    const g = await twoBackups('cr');
    const target = join(h.dir, 'cr-dst');
    await createDemoWallet(target, { sizeMb: 1, seed: 45 });
    const old = await walletDigest(target);
    const args = ['restore', '--to', 'cr-dst', ...g.u.as('st-cr2')];
    await kill(await stalled(args));
    await expect(fsp.access(target)).rejects.toThrow(); // the wallet directory is gone
    // The app starts before any recovery, finds no wallet and creates an empty one.
    await createDemoWallet(target, { sizeMb: 1, seed: 46 });
    const fresh = await walletDigest(target);

    const r = await cli(['backup', '--data', 'cr-dst', ...g.u.as('st-cr2')]);
    expectError(r, 6, 'restore_conflict', /^hint: both wallets are kept/, 1);
    expect(r.stderr).toMatch(/^noah-backup: an interrupted restore left the previous wallet/);
    // The name holds dots itself (`<pid>.<boot>`): the sentence ends at ". ".
    const copy = /the previous one is kept at (\S+cr-dst\.noah-old-\S+?)\. /.exec(r.stderr)?.[1];
    expect(copy).toBeDefined();
    expect(await walletDigest(copy!)).toBe(old);
    expect(await walletDigest(target)).toBe(fresh);
    expect((await cli(['list', '--json', ...g.u.as('st-cr2')])).stdout).toBe(g.list);
    // The user keeps the old wallet: it goes back into place, and backups go on.
    await fsp.rename(target, join(h.dir, 'cr-fresh'));
    await fsp.rename(copy!, target);
    h.srv.clock.advance(60_000);
    expect((await cli(['backup', '--data', 'cr-dst', ...g.u.as('st-cr2')])).code).toBe(0);
    expect(await walletDigest(target)).toBe(old);
  });
});

/** Overwrites `n` bytes of the file at `path` from `offset` with garbage. */
async function overwrite(path: string, offset: number, n: number): Promise<void> {
  const fh = await fsp.open(path, 'r+');
  try {
    await fh.write(new Uint8Array(n).fill(0xa5), 0, n, offset);
  } finally {
    await fh.close();
  }
}

/** Starts the CLI with the restore's swap stalling between its renames. */
async function stalled(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', SHIM, BIN, ...args], {
    cwd: h.dir,
    env: env({ NOAH_TEST_STALL: 'rename' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((ok, fail) => {
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.split('\n').includes('stalled rename')) ok();
    });
    child.once('exit', (code) => fail(new Error(`exited ${code} before stalling: ${err}`)));
  });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  const exit = new Promise<NodeJS.Signals | null>((ok) =>
    child.once('exit', (_c, signal) => ok(signal)),
  );
  child.kill('SIGKILL');
  expect(await exit).toBe('SIGKILL');
}
