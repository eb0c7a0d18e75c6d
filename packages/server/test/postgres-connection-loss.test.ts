/**
 * Losing PostgreSQL connections under load (docs/OPERATIONS.md "Running N instances"):
 * when the database ends the server's sessions (a restart, a failover,
 * `pg_terminate_backend`), requests in flight may fail, but the server process must
 * live on and reconnect. Found by `npm run soak`: both instances exited with an
 * unhandled 'error' event of a pg client that was checked out of the pool (pg-pool
 * listens for errors only on idle clients).
 *
 * The server runs in a child process (the failure is the process exiting), on a fresh
 * database of the throwaway cluster, with the fs blob store.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { deriveLinkingKey, signK1 } from '@noah-backup/core/lnurl';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/metadata.ts';

const SRC = resolve(import.meta.dirname, '../src');

/** Starts the server (startServer, as `noah-backup serve` does) in a child process. */
function serve(env: Record<string, string>): { child: ChildProcess; url: Promise<string> } {
  const code = `
    const { loadConfig } = await import(${JSON.stringify(join(SRC, 'config.ts'))});
    const { startServer } = await import(${JSON.stringify(join(SRC, 'start.ts'))});
    const server = await startServer(loadConfig(process.env));
    process.stdout.write('listening ' + server.url + '\\n');`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = new Promise<string>((ok, fail) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (http:\/\/\S+)/.exec(out);
      if (m) ok(m[1]!);
    });
    child.once('exit', (c) => fail(new Error(`the server exited (${c}) before listening`)));
  });
  return { child, url };
}

/** getk1 + login with a new linking key; throws on any failure. */
async function login(url: string): Promise<void> {
  const key = deriveLinkingKey(randomBytes(32), 'localhost');
  const { k1 } = (await (await fetch(`${url}/v0/getk1`)).json()) as { k1: string };
  const r = await fetch(`${url}/v0/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      k1,
      sig: signK1(k1, key.privateKey),
      key: Buffer.from(key.publicKey).toString('hex'),
    }),
  });
  if (r.status !== 200) throw new Error(`login answered ${r.status}`);
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('PostgreSQL connections lost under load', () => {
  it('the server lives on, and answers again once the database is back', async () => {
    const db: TestDatabase = await createTestDatabase('postgres');
    cleanups.push(() => db.cleanup());
    const dir = mkdtempSync(join(tmpdir(), 'noah-pg-loss-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const { child, url: listening } = serve({
      DATABASE_URL: db.url,
      DATA_DIR: dir,
      PORT: '0',
      LOG_LEVEL: 'silent',
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
      SWEEP_INTERVAL: '0',
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((ok) => child.once('exit', (c) => ok(c)));
    cleanups.push(() => {
      child.kill('SIGKILL');
    });
    const url = await listening;

    // Logins in a loop on 20 connections: the pool's 10 clients are always in use.
    let stop = false;
    const loops = Array.from({ length: 20 }, async () => {
      while (!stop && child.exitCode === null) await login(url).catch(() => {});
    });
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      for (let i = 0; i < 3; i++) {
        await new Promise((ok) => setTimeout(ok, 400));
        await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
      }
      await new Promise((ok) => setTimeout(ok, 400));
    } finally {
      stop = true;
      await admin.end();
      await Promise.all(loops);
    }

    const gone = await Promise.race([exited, new Promise((ok) => setTimeout(ok, 200, 'alive'))]);
    expect(gone, `the server exited; stderr:\n${stderr.slice(0, 2000)}`).toBe('alive');
    // The pool reconnects: the next requests succeed.
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    await login(url);
  });
});
