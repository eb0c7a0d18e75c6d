import { configDefaults, defineConfig } from 'vitest/config';

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

// One runner for every package, two projects; `vitest run` (npm test) runs both once.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // op-sqlite's Node build imports `./database` without an extension, which Node's ESM
    // loader refuses; Vite resolves it (docs/REACT-NATIVE.md §7.4).
    server: { deps: { inline: [/@op-engineering[\\/]op-sqlite/] } },
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
