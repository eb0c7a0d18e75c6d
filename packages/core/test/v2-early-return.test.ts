/**
 * Abandoning an opened backup's plaintext, read or not, stops the source under it (a
 * download stays open otherwise until its idle timeout).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { encryptBackupBytes, openBackup } from '../src/format.ts';
import { createKeyring, type Keyring } from '../src/keys.ts';
import { openV2 } from '../src/v2/index.ts';
import { payload } from './v2-helpers.ts';

const MNEMONIC = 'legal winner thank year wave sausage worth useful legal winner thank yellow';
let keyring: Keyring;
let file: Uint8Array;

beforeAll(async () => {
  keyring = await createKeyring(MNEMONIC);
  file = await encryptBackupBytes(payload(300_000), {
    keyring,
    createdAt: new Date('2026-03-01T00:00:00Z'),
    sequence: 1n,
    compress: false,
  });
});

/** A source in 1 KiB chunks that records whether it was stopped early or ran out. */
function tracked(bytes: Uint8Array) {
  const seen = { closed: false, served: 0 };
  async function* gen(): AsyncGenerator<Uint8Array> {
    try {
      for (let off = 0; off < bytes.length; off += 1024) {
        seen.served += 1;
        yield bytes.subarray(off, off + 1024);
      }
    } finally {
      seen.closed = true;
    }
  }
  return { source: gen(), seen };
}

describe('v2 plaintext return()', () => {
  it('openBackup: return() before reading closes the source', async () => {
    const { source, seen } = tracked(file);
    const opened = await openBackup(source, { keyring });
    expect(seen.closed).toBe(false);
    await opened.plaintext.return(undefined);
    expect(seen.closed).toBe(true);
    expect(seen.served).toBeLessThan(5); // the header only, not the whole file
    expect(await opened.plaintext.next()).toEqual({ done: true, value: undefined });
  });

  it('openV2: return() before and after reading closes the source', async () => {
    const a = tracked(file);
    const unread = await openV2(a.source, { key: keyring.v2Key() });
    await unread.plaintext.return(undefined);
    expect(a.seen.closed).toBe(true);

    const b = tracked(file);
    const partly = await openV2(b.source, { key: keyring.v2Key() });
    expect((await partly.plaintext.next()).done).toBe(false);
    await partly.plaintext.return(undefined);
    expect(b.seen.closed).toBe(true);
    expect(b.seen.served).toBeLessThan(file.length / 1024);
  });

  it('reading to the end still works and closes once', async () => {
    const { source, seen } = tracked(file);
    const opened = await openBackup(source, { keyring });
    let n = 0;
    for await (const c of opened.plaintext) n += c.length;
    expect(n).toBe(300_000);
    expect(seen.closed).toBe(true);
    await opened.plaintext.return(undefined); // after the end: harmless
  });
});
