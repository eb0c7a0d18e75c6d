/**
 * Test helper: runs scripts/crosscheck_legacy.py, the independent Python implementation
 * of the legacy formats and of LUD-05. Python 3 with `cryptography` is required (CI has
 * it); when it is missing the tests fail with a message that says so, never skip.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Absolute path of the Python script. */
export const SCRIPT = resolve(import.meta.dirname, '../../../scripts/crosscheck_legacy.py');

/** Throws a clear error unless python3 can import `cryptography`. */
export function requirePython(): void {
  const r = spawnSync('python3', ['-c', 'import cryptography; print(cryptography.__version__)'], {
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0)
    throw new Error(
      'cross-language tests need python3 with the "cryptography" package ' +
        '(Debian: apt-get install python3-cryptography): ' +
        (r.error?.message ?? r.stderr),
    );
}

/** Result of one script run. */
export interface PyResult {
  status: number | null;
  stderr: string;
  stdout: string;
  output: Uint8Array | null;
}

/**
 * Runs the script's `encrypt` or `decrypt` command on `input` with the seedphrase in the
 * environment, and returns the output file's bytes.
 */
export function runPython(
  command: 'encrypt' | 'decrypt',
  format: 'seed-v0' | 'noah-v1',
  seedphrase: string,
  input: Uint8Array,
  extra: string[] = [],
): PyResult {
  const dir = mkdtempSync(join(tmpdir(), 'noah-py-'));
  try {
    const inPath = join(dir, 'in');
    const outPath = join(dir, 'out');
    writeFileSync(inPath, input);
    const r = spawnSync(
      'python3',
      [SCRIPT, command, '--format', format, '--in', inPath, '--out', outPath, ...extra],
      { env: { ...process.env, NOAH_SEEDPHRASE: seedphrase }, encoding: 'utf8' },
    );
    let output: Uint8Array | null = null;
    if (r.status === 0) output = new Uint8Array(readFileSync(outPath));
    return { status: r.status, stderr: r.stderr, stdout: r.stdout, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the script's `lnurl-key` command; returns one compressed public key hex per domain. */
export function pythonLinkingKeys(seedHex: string, domains: string[]): string[] {
  const args = domains.flatMap((d) => ['--domain', d]);
  const r = spawnSync('python3', [SCRIPT, 'lnurl-key', ...args], {
    env: { ...process.env, NOAH_SEED_HEX: seedHex },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`crosscheck_legacy.py lnurl-key failed: ${r.stderr}`);
  return r.stdout.trim().split('\n');
}
