/**
 * What `backup` starts before its keys (the wallet's integrity check, docs/WALLET.md §5)
 * starts only once the seedphrase read is a valid one: a typo must fail at once, and a
 * running SQLite check cannot be interrupted, so the process would wait for it to end.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { describe, expect, it } from 'vitest';
import { openSession } from '../src/commands/client-support.ts';

async function session(words: string) {
  const dir = await mkdtemp(join(tmpdir(), 'noah-order-'));
  const mnemonicFile = join(dir, 'm.txt');
  await writeFile(mnemonicFile, words, { mode: 0o600 });
  let called = 0;
  const opened = openSession(
    { mnemonicFile, state: join(dir, 'state'), server: 'http://127.0.0.1:9', json: true },
    join(dir, 'data'),
    { writesState: true, onSeedphrase: () => void called++ },
  );
  return { opened, called: () => called };
}

describe('backup: work started before the keys waits for a valid seedphrase', () => {
  it('a seedphrase with a typo: refused, nothing started', async () => {
    // Twelve words of the list whose checksum does not hold (11 × abandon + about does).
    const s = await session(Array(12).fill('abandon').join(' '));
    await expect(s.opened).rejects.toMatchObject({ code: 'invalid_mnemonic' });
    expect(s.called()).toBe(0);
  });

  it('a valid seedphrase: started once, before the session is open', async () => {
    const s = await session(generateMnemonic(wordlist));
    const open = await s.opened;
    expect(s.called()).toBe(1);
    await open.close();
  });
});
