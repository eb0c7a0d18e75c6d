/**
 * The on-device self-test, run here on the Node platform: every check passes where the
 * platform is the expected one, the platform check fails where it is not, and the
 * vectors it embeds are byte for byte those of testdata/.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSelfTest } from '../src/self-test.ts';
import { SELF_TEST_MNEMONIC, SELF_TEST_VECTORS } from '../src/self-test-vectors.ts';

const TESTDATA = join(import.meta.dirname, '..', '..', '..', 'testdata');

describe('self-test', () => {
  it('embeds vectors equal to testdata/', () => {
    for (const v of SELF_TEST_VECTORS) {
      const record = JSON.parse(readFileSync(join(TESTDATA, `${v.name}.json`), 'utf8'));
      const blob = readFileSync(join(TESTDATA, `${v.name}.bin`)).toString('base64');
      expect(v.blob, v.name).toBe(blob);
      expect(v.plaintextSha256).toBe(record.plaintext_sha256);
      expect(record.mnemonic).toBe(SELF_TEST_MNEMONIC);
      expect(record.expect).toBe('ok');
    }
  });

  it('passes every check on the expected platform, and reports as it goes', async () => {
    const seen: string[] = [];
    const results = await runSelfTest({
      expectPlatform: 'node',
      roundTripBytes: 1 << 20,
      onResult: (r) => seen.push(r.name),
    });
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(seen).toEqual(results.map((r) => r.name));
    expect(seen).toEqual([
      'platform',
      'secure random',
      ...SELF_TEST_VECTORS.map((v) => `decrypt ${v.name}`),
      'v2 round trip',
    ]);
  });

  it('fails the platform check where Metro did not pick react-native', async () => {
    const [first] = await runSelfTest({ roundTripBytes: 1024 });
    expect(first).toMatchObject({ name: 'platform', ok: false });
    expect(first!.detail).toMatch(/#platform is node, not react-native/);
  });
});
