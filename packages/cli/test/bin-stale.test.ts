/**
 * `bin/noah-backup.js` never runs a bundle older than its sources without saying so.
 * The test works on a copy of packages/cli (bin, dist, src, timestamps kept) beside links
 * to the other packages, inside the repository so that imports resolve as they do for
 * the real one, and touches the copy's sources, never the tree's.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  rmdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCES_FILE } from '../../../scripts/build-cli.ts';

const PACKAGES = resolve(import.meta.dirname, '../..');
const SCRATCH = resolve(import.meta.dirname, '../.tmp');
let root: string;
let cli: string;

function run(): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(cli, 'bin/noah-backup.js'), '--version'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Sets a file's modification time one second after the bundle's. */
function touchAfterBuild(file: string): void {
  const built = statSync(join(cli, 'dist/noah-backup.mjs')).mtime;
  const later = new Date(built.getTime() + 1000);
  utimesSync(file, later, later);
}

beforeAll(() => {
  mkdirSync(SCRATCH, { recursive: true });
  root = mkdtempSync(join(SCRATCH, 'bin-'));
  cli = join(root, 'packages/cli');
  for (const part of ['bin', 'dist', 'src', 'package.json'])
    cpSync(join(PACKAGES, 'cli', part), join(cli, part), {
      recursive: true,
      preserveTimestamps: true,
    });
  for (const pkg of ['core', 'client', 'server', 'web'])
    symlinkSync(join(PACKAGES, pkg), join(root, 'packages', pkg));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  try {
    rmdirSync(SCRATCH);
  } catch {
    // another test's scratch directory is still there
  }
});

describe('the noah-backup bin', () => {
  it('runs a bundle as new as its sources, silently', () => {
    const r = run();
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('0.1.0\n');
    expect(r.status).toBe(0);
  });

  it('runs the sources, in one line on stderr, when a source changed after the build', () => {
    touchAfterBuild(join(cli, 'src/main.ts'));
    const r = run();
    expect(r.stderr).toBe(
      'noah-backup: running the sources, not the build in packages/cli/dist: ' +
        'packages/cli/src/main.ts changed after it was built (`npm run build` rebuilds it)\n',
    );
    expect(r.stdout).toBe('0.1.0\n');
    expect(r.status).toBe(0);
  });

  it('does not trust a bundle without its list of sources', () => {
    rmSync(join(cli, 'dist', SOURCES_FILE));
    const r = run();
    expect(r.stderr).toBe(
      'noah-backup: running the sources, not the build in packages/cli/dist: ' +
        'it has no list of its sources (`npm run build` rebuilds it)\n',
    );
    expect(r.status).toBe(0);
  });
});
