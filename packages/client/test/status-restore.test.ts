/**
 * After a restore, the status says which backup the wallet came from (a new phone's
 * status card then shows that backup, not "never backed up"), persisted like the rest
 * of the status; a device that never restored has none. Real server and Node adapters.
 */
import { describe, expect, it } from 'vitest';
import { createDemoWallet } from '../src/demo-wallet.ts';
import { parseStatus } from '../src/status.ts';
import { deviceSuite, newMnemonic } from './helpers/device.ts';

describe('the status after a restore', () => {
  const suite = deviceSuite({ metadataKind: 'sqlite', blobKind: 'fs' }, 'status', 16 * 2 ** 20);

  it('names the restored backup, on the device that restored it, across a restart', async () => {
    const mnemonic = newMnemonic();
    const a = await suite.device(mnemonic);
    await createDemoWallet(a.walletDir, { sizeMb: 1 });
    const made = await a.manager.triggerBackup();
    expect(made.status).toBe('completed');
    expect(a.manager.getStatus().restoredFrom).toBeUndefined();

    const b = await suite.device(mnemonic);
    b.clock.advance(90_000);
    const restored = await b.manager.restoreBackup();
    const expected = {
      backupCreatedAt: restored.created_at,
      restoredAt: b.clock.now().toISOString(),
    };
    expect(b.manager.getStatus()).toMatchObject({ lastSuccessAt: null, restoredFrom: expected });
    expect((await b.manager.listBackups())[0]!.created_at).toBe(expected.backupCreatedAt);
    const again = await suite.reopen(b, mnemonic, { clock: b.clock });
    expect(again.manager.getStatus().restoredFrom).toEqual(expected);
  });

  it('reads a persisted restore defensively', () => {
    const base = { state: 'idle', lastSuccessAt: null, lastAttemptAt: null, lastError: null };
    const restoredFrom = { backupCreatedAt: 'a', restoredAt: 'b' };
    expect(parseStatus(JSON.stringify({ ...base, restoredFrom })).restoredFrom).toEqual(
      restoredFrom,
    );
    for (const bad of [null, 5, { backupCreatedAt: 'a' }, { backupCreatedAt: 1, restoredAt: 'b' }])
      expect(
        parseStatus(JSON.stringify({ ...base, restoredFrom: bad })).restoredFrom,
      ).toBeUndefined();
  });
});
