/**
 * The on-device self-test (docs/REACT-NATIVE.md): what only the phone can confirm. It
 * names the platform Metro picked, decrypts four vectors of testdata/ (v2 with deflate
 * and zstd, seed-v0, noah-v1) with the native crypto, times noah-v1's 600,000-round
 * PBKDF2 and a 4 MiB v2 round trip, and checks the CSPRNG. The example app shows it.
 * @module
 */
import { base64 } from '@scure/base';
import { secureRandom } from '@noah-backup/core/clock';
import { collect, fromBytes } from '@noah-backup/core/stream';
import { encryptBackupBytes, openBackup } from '@noah-backup/core/format';
import { createKeyring } from '@noah-backup/core/keys';
import { platform } from '@noah-backup/core/platform';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { SELF_TEST_MNEMONIC, SELF_TEST_VECTORS } from './self-test-vectors.ts';

/** One check: its name, whether it passed, how long it took, what it found. */
export interface SelfTestResult {
  name: string;
  ok: boolean;
  ms: number;
  detail: string;
}

/** Options for {@link runSelfTest}. */
export interface SelfTestOptions {
  /** The platform the build must have picked (default `'react-native'`). */
  expectPlatform?: string;
  /** Bytes of the v2 round trip (default 4 MiB). */
  roundTripBytes?: number;
  /** Called after each check, for a screen that fills in as it goes. */
  onResult?: (result: SelfTestResult) => void;
}

/** Milliseconds from a monotonic-enough clock (Date: Hermes has no `performance` in 0.12). */
const now = () => Date.now();

/**
 * Runs every check in turn; never throws (a failure is a result).
 * @param opts - see {@link SelfTestOptions}
 * @returns the results, in order
 * @example
 * ```ts
 * const results = await runSelfTest({ onResult: (r) => console.log(r.name, r.ok) });
 * ```
 */
export async function runSelfTest(opts: SelfTestOptions = {}): Promise<SelfTestResult[]> {
  const results: SelfTestResult[] = [];
  const run = async (name: string, body: () => Promise<string>) => {
    const t = now();
    let ok = true;
    let detail: string;
    try {
      detail = await body();
    } catch (e) {
      ok = false;
      detail = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    const r = { name, ok, ms: now() - t, detail };
    results.push(r);
    opts.onResult?.(r);
  };

  await run('platform', async () => {
    const want = opts.expectPlatform ?? 'react-native';
    if (platform.name !== want) throw new Error(`#platform is ${platform.name}, not ${want}`);
    return platform.name;
  });
  await run('secure random', async () => {
    const a = secureRandom(32);
    const b = secureRandom(32);
    if (a.every((x) => x === 0) || bytesToHex(a) === bytesToHex(b))
      throw new Error('crypto.getRandomValues returned repeated or zero bytes');
    // More than one getRandomValues call (65,536 bytes each): every call must fill its
    // own part of the buffer, not the start of it.
    const big = secureRandom(3 * 65536 + 100);
    for (let off = 0; off < big.length; off += 65536)
      if (big.subarray(off, off + 64).every((x) => x === 0))
        throw new Error(`crypto.getRandomValues left bytes ${off}.. unfilled`);
    return `32 bytes twice, distinct; ${big.length} bytes over 4 calls, each part filled`;
  });
  const keyring = await createKeyring(SELF_TEST_MNEMONIC);
  try {
    for (const v of SELF_TEST_VECTORS)
      await run(`decrypt ${v.name}`, async () => {
        const opened = await openBackup(fromBytes(base64.decode(v.blob)), { keyring });
        const plaintext = await collect(opened.plaintext);
        if (bytesToHex(sha256(plaintext)) !== v.plaintextSha256)
          throw new Error('the plaintext differs from the vector');
        return `${opened.format}, ${plaintext.length} bytes`;
      });
    const n = opts.roundTripBytes ?? 4 << 20;
    await run('v2 round trip', async () => {
      const data = secureRandom(n);
      const t = now();
      const sealed = await encryptBackupBytes(data, {
        keyring,
        createdAt: new Date(),
        sequence: 1n,
      });
      const back = await collect((await openBackup(fromBytes(sealed), { keyring })).plaintext);
      if (bytesToHex(sha256(back)) !== bytesToHex(sha256(data)))
        throw new Error('the round trip changed the data');
      const s = (now() - t) / 1000;
      return `${(n / 2 ** 20).toFixed(1)} MiB written and read in ${s.toFixed(2)} s`;
    });
  } finally {
    keyring.destroy();
  }
  return results;
}
