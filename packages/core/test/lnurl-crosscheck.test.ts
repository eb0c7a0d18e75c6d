import { mnemonicToSeedSync } from '@scure/bip39';
import { beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex } from '../src/bytes.ts';
import { deriveLinkingKey } from '../src/lnurl.ts';
import { pythonLinkingKeys, requirePython } from './legacy-python.ts';

// LUD-05 against scripts/crosscheck_legacy.py, whose BIP32 CKDpriv is written out with
// hmac/hashlib and `cryptography`'s secp256k1, sharing no code with @scure/bip32.

beforeAll(() => requirePython());

describe('LUD-05 linking key against Python', () => {
  const seeds = [
    mnemonicToSeedSync(
      'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
    ),
    mnemonicToSeedSync(
      'legal winner thank year wave sausage worth useful legal winner thank yellow',
    ),
    new Uint8Array(16).fill(0x42),
  ];
  const domains = ['site.com', 'backup.noah.example', 'localhost', '127.0.0.1'];

  it('agrees for several seeds and domains', () => {
    for (const seed of seeds) {
      const ours = domains.map((d) => bytesToHex(deriveLinkingKey(seed, d).publicKey));
      expect(pythonLinkingKeys(bytesToHex(seed), domains)).toEqual(ours);
    }
  });
});
