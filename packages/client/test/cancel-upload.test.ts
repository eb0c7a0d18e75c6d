/**
 * Giving an upload back (docs/API.md "cancel_upload"), against the real server on
 * sqlite+fs and postgres+s3: `cancelUpload` frees the pending upload at once and is
 * idempotent; a backup that gives up after its upload kept failing cancels it, so
 * interrupted backups do not use up the user's pending uploads.
 */
import { describe, expect, it } from 'vitest';
import { createDemoWallet } from '../src/demo-wallet.ts';
import type { FetchFn } from '../src/http.ts';
import { fullCombos } from '../../server/test/helpers/server.ts';
import { deviceSuite, newMnemonic } from './helpers/device.ts';

describe.each(fullCombos)('cancel_upload on $metadataKind + $blobKind', (combo) => {
  const suite = deviceSuite(combo, 'cancel', 8 * 2 ** 20);

  /** The server's count of the device's live pending uploads. */
  const pending = async (linkingKey: string) => {
    const { metadata, clock } = suite.srv;
    const user = await metadata.upsertUser(linkingKey, clock.now());
    return metadata.countPendingUploads(user.id, clock.now());
  };

  it('frees the pending upload at once; a repeat resolves too', async () => {
    const a = await suite.device(newMnemonic());
    const max = suite.srv.config.maxPendingUploads;
    const targets = [];
    for (let i = 0; i < max; i++) targets.push(await a.api.uploadUrl({ backup_size: 10 }));
    expect(await pending(a.keys.signer.linkingKey)).toBe(max);
    await a.api.cancelUpload({ s3_key: targets[0]!.s3_key });
    await a.api.cancelUpload({ s3_key: targets[0]!.s3_key });
    expect(await pending(a.keys.signer.linkingKey)).toBe(max - 1);
    await a.api.uploadUrl({ backup_size: 10 });
  });

  it('a backup whose upload keeps failing gives its pending upload back', async () => {
    // Every PUT dies on the network; the JSON calls go through.
    const net: FetchFn = async (url, init) => {
      if (init?.method === 'PUT') throw new TypeError('fetch failed');
      return fetch(url, init);
    };
    const a = await suite.device(newMnemonic(), { fetch: net });
    await createDemoWallet(a.walletDir, { sizeMb: 1 });
    for (let i = 0; i <= suite.srv.config.maxPendingUploads; i++) {
      await expect(a.manager.triggerBackup()).rejects.toMatchObject({ code: 'network_error' });
      expect(await pending(a.keys.signer.linkingKey)).toBe(0);
    }
  });
});
