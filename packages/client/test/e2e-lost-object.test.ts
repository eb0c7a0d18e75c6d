/**
 * A backup whose object the bucket lost (the server still lists it) must not take the
 * other, intact backup with it: asked for that one by version, with the rollback
 * confirmed, a new device restores it. Found with the soak harness (bench/soak): with one
 * slot's object deleted from the bucket, restoring the other slot failed too, because
 * the sequence check reads every listed backup's header first (src/sequence.ts) and the
 * 404 of the lost one ends the restore.
 */
import { describe, expect, it } from 'vitest';
import { createDemoWallet, walletDigest } from '../src/demo-wallet.ts';
import { fullCombos } from '../../server/test/helpers/server.ts';
import { addPayment, deviceSuite, newMnemonic } from './helpers/device.ts';

describe.each(fullCombos)('a lost object on $metadataKind + $blobKind', (combo) => {
  const suite = deviceSuite(combo, 'lost', 16 * 2 ** 20);

  it('a new device still restores the other backup, asked for by version', async () => {
    const mnemonic = newMnemonic();
    const a = await suite.device(mnemonic);
    await createDemoWallet(a.walletDir, { sizeMb: 1 });
    await a.manager.triggerBackup();
    const first = await walletDigest(a.walletDir);
    suite.srv.clock.advance(60_000);
    addPayment(a.walletDir, 2);
    await a.manager.triggerBackup();
    const [newest, older] = await a.manager.listBackups();

    // The bucket loses the newest backup's object; the metadata still lists it.
    const { metadata, blobs, clock } = suite.srv;
    const user = await metadata.upsertUser(a.keys.signer.linkingKey, clock.now());
    const lost = await metadata.getBackup(user.id, newest!.backup_version);
    await blobs.delete(lost!.objectKey);

    const fresh = await suite.device(mnemonic);
    const r = await fresh.manager.restoreBackup(older!.backup_version, { confirmRollback: true });
    expect(r.sequence).toBe(1n);
    expect(await walletDigest(fresh.walletDir)).toBe(first);
  });
});
