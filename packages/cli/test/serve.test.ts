import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = resolve(import.meta.dirname, '../bin/noah-backup.js');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The environment without any server variable the developer may have set. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (
      /^(PORT|HOST|PUBLIC_URL|DATA_DIR|DATABASE_URL|BLOB_|MAX_|ROLLOUT|RATE_LIMIT|LOG_LEVEL|TRUST_PROXY)/.test(
        k,
      )
    )
      delete env[k];
  return { ...env, ...extra };
}

describe('noah-backup serve', () => {
  it('starts on embedded defaults under --data, prints the URL, stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'noah-serve-'));
    dirs.push(dir);
    const data = join(dir, 'data');
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data', data], {
      env: cleanEnv({ LOG_LEVEL: 'warn' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const url = await new Promise<string>((res, rej) => {
      child.stdout.on('data', (c) => {
        stdout += c;
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (m) res(m[1]!);
      });
      child.once('exit', (code) => rej(new Error(`exited ${code}: ${stderr}`)));
    });
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${url}/ready`);
    expect(await ready.json()).toEqual({ status: 'ready', uploads: true });
    const k1 = await (await fetch(`${url}/v0/getk1`)).json();
    expect(k1.k1).toMatch(/^[0-9a-f]{64}$/);
    // The embedded stores live under --data; the signing key is private.
    expect(existsSync(join(data, 'noah.db'))).toBe(true);
    expect(existsSync(join(data, 'blobs'))).toBe(true);
    expect(statSync(join(data, 'blob-signing.key')).mode & 0o777).toBe(0o600);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('SIGTERM, shutting down');
  });

  it('refuses bad configuration with one message per value and exit code 78', async () => {
    const child = spawn(process.execPath, [BIN, 'serve'], {
      env: cleanEnv({ PORT: 'eighty', MAX_BACKUP_SIZE: 'huge', ROLLOUT: 'maybe' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(78);
    expect(stderr).toContain('invalid configuration');
    for (const name of ['PORT="eighty"', 'MAX_BACKUP_SIZE="huge"', 'ROLLOUT="maybe"'])
      expect(stderr).toContain(name);
  });
});
