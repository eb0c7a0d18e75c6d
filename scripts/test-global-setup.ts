/**
 * Vitest global setup: a throwaway PostgreSQL 15 cluster for the suites that run
 * against PostgreSQL. Reuses NOAH_TEST_PG_URL when it is already set (CI may start
 * its own), otherwise runs `initdb -A trust` in a temp dir (as the `postgres` user
 * when we are root; initdb refuses root) and `pg_ctl start` on a free loopback port.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function asPostgres(cmd: string, args: string[]): void {
  const isRoot = process.getuid?.() === 0;
  if (isRoot) execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' });
  else execFileSync(cmd, args, { stdio: 'pipe' });
}

export default async function setup(): Promise<() => void> {
  if (process.env.NOAH_TEST_PG_URL) return () => {};
  const dir = mkdtempSync(join(tmpdir(), 'noah-pg-'));
  const dataDir = join(dir, 'data');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const port = await freePort();
  try {
    asPostgres('initdb', ['-A', 'trust', '-U', 'postgres', '-D', dataDir, '--no-sync']);
    asPostgres('pg_ctl', [
      '-D',
      dataDir,
      '-l',
      join(dir, 'log'),
      '-w',
      '-o',
      `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c max_connections=200`,
      'start',
    ]);
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(
      `could not start a throwaway PostgreSQL cluster (need initdb and pg_ctl from postgresql-15 on PATH, or set NOAH_TEST_PG_URL): ${e.stderr?.toString() || e.message}`,
    );
  }
  process.env.NOAH_TEST_PG_URL = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return () => {
    try {
      asPostgres('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
