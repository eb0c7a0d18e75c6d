/**
 * Recovery after a reboot: the staging and old directories of an interrupted restore
 * record their process and this boot (docs/WALLET.md §3). After a reboot the pid may
 * belong to another, live process; the boot id tells the owner is gone, so recovery
 * neither waits nor skips forever. Real directories; a live pid that is not ours (the
 * parent process).
 */
import { promises as fsp, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDemoWallet } from '../src/demo-wallet.ts';
import { createNodeWalletAdapter, recoverInterruptedRestore } from '../src/node/wallet.ts';
import { chunks } from './fixtures/node-helpers.ts';
import { archiveOf } from './fixtures/node-helpers.ts';

/** This boot, as the kernel says (Linux). */
const BOOT = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replaceAll('-', '');
const THIS_BOOT = BOOT.slice(0, 8);
/** Another boot's tag: any other 8 hex digits. */
const OTHER_BOOT = THIS_BOOT === '00000000' ? '11111111' : '00000000';
/** A live process that is not this one. */
const LIVE = process.ppid;

const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});
async function root(): Promise<string> {
  const r = await mkdtemp(join(tmpdir(), 'noah-boot-'));
  roots.push(r);
  return r;
}

describe('recovery across a reboot (pid reused)', () => {
  it('puts back the old wallet of a restore killed before the reboot', async () => {
    const r = await root();
    const old = join(r, `wallet.noah-old-1700000000000-${LIVE}.${OTHER_BOOT}-12345-0badc0de`);
    await fsp.mkdir(old);
    await fsp.writeFile(join(old, 'wallet.sqlite'), 'the only copy');
    const report = await recoverInterruptedRestore(join(r, 'wallet'));
    expect(report.restoredOld).toBe(true);
    expect(await fsp.readFile(join(r, 'wallet', 'wallet.sqlite'), 'utf8')).toBe('the only copy');
  });

  it('removes the staging directory of a restore killed before the reboot', async () => {
    const r = await root();
    await fsp.mkdir(join(r, 'wallet'));
    await fsp.writeFile(join(r, 'wallet', 'wallet.sqlite'), 'mine');
    const staging = join(r, `.wallet.noah-staging-${LIVE}.${OTHER_BOOT}-Ab12Cd`);
    await fsp.mkdir(staging);
    const report = await recoverInterruptedRestore(join(r, 'wallet'));
    expect(report.removedStaging).toBe(1);
    expect((await fsp.readdir(r)).sort()).toEqual(['wallet']);
  });

  it('leaves those of a live process of this boot alone (control)', async () => {
    const r = await root();
    const staging = join(r, `.wallet.noah-staging-${LIVE}.${THIS_BOOT}-Ab12Cd`);
    const old = join(r, `wallet.noah-old-1700000000000-${LIVE}.${THIS_BOOT}-12345-0badc0de`);
    await fsp.mkdir(staging);
    await fsp.mkdir(old);
    const report = await recoverInterruptedRestore(join(r, 'wallet'));
    expect(report).toMatchObject({ restoredOld: false, removedStaging: 0 });
    expect((await fsp.readdir(r)).sort()).toEqual(
      [
        `.wallet.noah-staging-${LIVE}.${THIS_BOOT}-Ab12Cd`,
        `wallet.noah-old-1700000000000-${LIVE}.${THIS_BOOT}-12345-0badc0de`,
      ].sort(),
    );
  });

  it('a restore names its directories with its pid and this boot', async () => {
    const r = await root();
    const wallet = await createDemoWallet(join(r, 'wallet'), { sizeMb: 1, seed: 61 });
    const other = await createDemoWallet(join(r, 'other'), { sizeMb: 1, seed: 62 });
    const archive = await archiveOf(other.dir, 'tar', join(r, 't'));
    const seen: string[] = [];
    const adapter = createNodeWalletAdapter({
      dataDir: wallet.dir,
      tmpDir: join(r, 't'),
      replaceNonWallet: true,
      onRestorePhase: async (phase) => {
        if (phase === 'extracted' || phase === 'old-moved')
          seen.push(...(await fsp.readdir(r)).filter((n) => n.includes('.noah-')));
      },
    });
    await adapter.restore(chunks(archive), { kind: 'tar' });
    const tag = `${process.pid}.${THIS_BOOT}`;
    expect(seen.some((n) => n.startsWith(`.wallet.noah-staging-${tag}-`))).toBe(true);
    expect(seen.some((n) => new RegExp(`^wallet\\.noah-old-\\d+-${tag}-\\d+-`).test(n))).toBe(true);
  });
});
