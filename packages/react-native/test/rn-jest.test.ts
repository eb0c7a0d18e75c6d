/**
 * The React Native tests (packages/react-native/example/test: the hooks, the example's
 * backup screens, the push tasks) run by Jest with React Native's own preset and React
 * Testing Library (docs/REACT-NATIVE.md §5), against the real server started here: each
 * test's wallet is a real BackupManager that backs up to it. The example's install holds
 * those tools (`npm test` installs it first when missing: scripts/ensure-rn-tests.mjs).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/helpers/server.ts';

const EXAMPLE = join(import.meta.dirname, '..', 'example');
const JEST = join(EXAMPLE, 'node_modules', 'jest', 'bin', 'jest.js');

interface JestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: {
    name: string;
    message: string;
    assertionResults: { fullName: string; status: string; failureMessages: string[] }[];
  }[];
}

describe('React Native tests under Jest', () => {
  let srv: TestServer;
  let dir: string;
  beforeAll(async () => {
    srv = await startTestServer({
      metadataKind: 'sqlite',
      blobKind: 'fs',
      config: { maxBackupSize: 16 * 2 ** 20 },
    });
    dir = await mkdtemp(join(tmpdir(), 'noah-rn-jest-'));
  });
  afterAll(async () => {
    await srv?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the example and its tests typecheck (tsconfig.test.json)', async () => {
    const tsc = join(EXAMPLE, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(
        process.execPath,
        [tsc, '-p', join(EXAMPLE, 'tsconfig.test.json'), '--noEmit'],
        { cwd: EXAMPLE, maxBuffer: 16 * 2 ** 20 },
        (err, stdout) => resolve({ code: err ? 1 : 0, out: stdout }),
      ),
    );
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  }, 300_000);

  it('every test passes, none skipped', async () => {
    if (!existsSync(JEST))
      throw new Error('the example is not installed: run `npm run setup:rn` (npm test does it)');
    const out = join(dir, 'report.json');
    // Asynchronous: the server answering the tests runs in this process.
    const run = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [JEST, '--config', join(EXAMPLE, 'jest.config.js'), '--json', '--outputFile', out, '-i'],
        {
          cwd: EXAMPLE,
          env: { ...process.env, NOAH_TEST_SERVER_URL: srv.url, FORCE_COLOR: '0' },
          maxBuffer: 64 * 2 ** 20,
        },
        (err, _stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
    const report = JSON.parse(await readFile(out, 'utf8').catch(() => '{}')) as JestReport;
    const failures = (report.testResults ?? []).flatMap((f) =>
      f.assertionResults.length === 0 && f.message
        ? [`${f.name}: ${f.message}`]
        : f.assertionResults
            .filter((a) => a.status !== 'passed')
            .map((a) => `${a.fullName}: ${a.status} ${a.failureMessages.join('\n')}`),
    );
    expect(failures, run.stderr.slice(-4000)).toEqual([]);
    expect(run.code).toBe(0);
    expect(report.numPendingTests).toBe(0);
    // The suites below example/test: a run that finds none must not pass.
    expect(report.numPassedTests).toBeGreaterThanOrEqual(10);
  }, 600_000);
});
