import { defineConfig } from 'vitest/config';

// One runner for every package. Suites that need PostgreSQL get it from the global
// setup, which starts a throwaway cluster unless NOAH_TEST_PG_URL is already set.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'testdata/**/*.test.ts', 'bench/**/*.test.ts'],
    // The CLI bundle first: tests that spawn `noah-backup` run what users get.
    globalSetup: ['./scripts/build-cli.ts', './scripts/test-global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
