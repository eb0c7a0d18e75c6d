import { configDefaults, defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Tests that need neither PostgreSQL, the server, the CLI bundle nor a browser: core's
 * formats and crypto, the vectors, the paths in the docs, and the SDK's pure parts
 * (archive codec, API client against a loopback HTTP stub, keys, retry, status, demo
 * wallet, batched writer), and the incremental bench's workload generator. The Node ports' suites (wallets on disk through crashes and
 * restores) are slower and stay in `integration`, as does any test file not listed here.
 */
const UNIT = [
  'packages/core/test/**/*.test.ts',
  'testdata/**/*.test.ts',
  'docs/*.test.ts',
  'packages/client/test/archive.test.ts',
  'packages/client/test/api-client.test.ts',
  'packages/client/test/keys-retry-status.test.ts',
  'packages/client/test/transfer.test.ts',
  'packages/client/test/demo-wallet.test.ts',
  'packages/client/test/node-batched-writer.test.ts',
  'bench/**/*.test.ts',
];

/**
 * The files that take longest (13-62 s each on a quiet 2-core machine), longest first.
 * They start first, so none of them begins near the end and runs on alone while the
 * other worker idles. Vitest orders by the durations it cached on the last run; a fresh
 * checkout (CI) has none and would order by file size and by project name, which put
 * the slowest of all (rn-jest, a small file) near the end.
 */
const LONG_FIRST = [
  'packages/react-native/test/rn-jest.test.ts',
  'packages/react-native/test/hermes-vectors.test.ts',
  'packages/cli/test/admin-import-noah.test.ts',
  'packages/web/test/first-hour.test.ts',
  'packages/client/test/e2e-incremental-faults.test.ts',
  'packages/client/test/manager-e2e.test.ts',
  'packages/cli/test/client-crash.test.ts',
  'packages/cli/test/client-safety.test.ts',
  'packages/client/test/node-crash.test.ts',
  'packages/client/test/e2e-incremental.test.ts',
  'packages/client/test/e2e-wallet-safety.test.ts',
  'packages/web/test/other-wallets.test.ts',
  'testdata/vectors.test.ts',
  'packages/web/test/journey.test.ts',
  'packages/client/test/e2e-wallet-shape.test.ts',
  'packages/core/test/v2-roundtrip.test.ts',
  'packages/cli/test/client-commands.test.ts',
  'packages/web/test/cross-client.test.ts',
  'packages/client/test/e2e-failures.test.ts',
];

class LongFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = LONG_FIRST.findIndex((p) => f.moduleId.endsWith(`/${p}`));
      return i < 0 ? LONG_FIRST.length : i;
    };
    // Array.prototype.sort is stable: the rest keep Vitest's order.
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

// One runner for every package, two projects; `vitest run` (npm test) runs both once.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // op-sqlite's Node build imports `./database` without an extension, which Node's ESM
    // loader refuses; Vite resolves it (docs/REACT-NATIVE.md §8.4).
    server: { deps: { inline: [/@op-engineering[\\/]op-sqlite/] } },
    // Vitest's default is one worker fewer than the CPUs: one on the 2-core machines
    // that run this suite, though most files spend their time waiting on child
    // processes, sockets and a browser. Two files at a time keep both cores busy
    // (`--maxWorkers=1` runs one at a time).
    maxWorkers: 2,
    sequence: { sequencer: LongFirst },
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: [
            'packages/*/test/**/*.test.ts',
            'testdata/**/*.test.ts',
            'docs/*.test.ts',
            'bench/**/*.test.ts',
          ],
          exclude: [...configDefaults.exclude, ...UNIT],
          // The CLI bundle first: tests that spawn `noah-backup` run what users get.
          // Suites that need PostgreSQL get a throwaway cluster unless
          // NOAH_TEST_PG_URL is already set.
          globalSetup: ['./scripts/build-cli.ts', './scripts/test-global-setup.ts'],
        },
      },
    ],
  },
});
