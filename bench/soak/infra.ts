/**
 * The soak's real parts: a PostgreSQL cluster (the throwaway one of the test suite's
 * global setup, or NOAH_TEST_PG_URL's), a database of its own in it, and the server
 * instances — the real CLI (`noah-backup serve`) as child processes, so one can be
 * killed with SIGKILL and started again on the same port.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import startThrowawayPostgres from '../../scripts/test-global-setup.ts';
import { bump, type Tally } from './stats.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const BIN = join(ROOT, 'packages/cli/bin/noah-backup.js');

/** A database of the soak's own. */
export interface Database {
  url: string;
  /** Ends every other session on the database (`pg_terminate_backend`); how many. */
  terminateConnections(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts (or reuses) a cluster and creates a fresh database in it. */
export async function startDatabase(): Promise<Database> {
  const teardown = await startThrowawayPostgres();
  // Stopped even if the soak dies of an uncaught error (the stop is synchronous).
  process.once('exit', teardown);
  const admin = process.env.NOAH_TEST_PG_URL!;
  const name = `noah_soak_${randomBytes(6).toString('hex')}`;
  const run = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  await run((c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return {
    url: u.href,
    terminateConnections: () =>
      run(async (c) => {
        const r = await c.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [name],
        );
        return r.rowCount ?? 0;
      }),
    async stop() {
      await run((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch(() => {});
      process.removeListener('exit', teardown);
      teardown();
    },
  };
}

/** A port free right now on the loopback interface. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const { port } = srv.address() as { port: number };
  await new Promise((ok) => srv.close(ok));
  return port;
}

/** One server instance on a fixed port. */
export interface Instance {
  readonly name: string;
  readonly url: string;
  readonly logFile: string;
  running(): boolean;
  /** Starts it; resolves with the milliseconds until it listened. */
  start(): Promise<number>;
  /** SIGKILL; resolves when it is gone. */
  kill(): Promise<void>;
  /** SIGTERM (graceful stop); resolves when it is gone. */
  stop(): Promise<void>;
}

/**
 * An instance of `noah-backup serve` (started by {@link Instance.start}).
 * @param name - for logs
 * @param port - kept across restarts (the balancer's upstream list is fixed)
 * @param dir - its data directory (holds its log)
 * @param env - configuration (added to this process's environment)
 * @param onCrash - told when it exits without being told to (after it listened)
 */
export function serverInstance(
  name: string,
  port: number,
  dir: string,
  env: Record<string, string>,
  onCrash: (how: string) => void,
): Instance {
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  let child: ChildProcess | null = null;
  const gone = (c: ChildProcess) =>
    new Promise<void>((ok) =>
      c.exitCode !== null || c.signalCode !== null ? ok() : c.once('exit', () => ok()),
    );
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    logFile,
    running: () => child !== null,
    async start() {
      if (child) return 0; // already started (by the schedule or after a crash)
      const t = performance.now();
      const c = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--data', dir], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = c;
      c.stderr!.pipe(log, { end: false });
      return new Promise<number>((ok, fail) => {
        let out = '';
        let listening = false;
        c.stdout!.on('data', (d: Buffer) => {
          log.write(d);
          if (listening) return;
          out += d.toString();
          if (out.includes('listening on')) {
            listening = true;
            ok(performance.now() - t);
          }
        });
        c.once('exit', (code, signal) => {
          const unasked = child === c;
          if (unasked) child = null;
          if (unasked && listening) onCrash(`exit ${code ?? signal}`);
          fail(new Error(`${name} exited (${code ?? signal}) before listening; see ${logFile}`));
        });
      });
    },
    async kill() {
      const c = child;
      if (!c) return;
      child = null;
      c.kill('SIGKILL');
      await gone(c);
    },
    async stop() {
      const c = child;
      if (!c) return;
      child = null;
      c.kill('SIGTERM');
      await gone(c);
    },
  };
}

/** What an instance logged (pino JSON lines). */
export interface LogSummary {
  /** Errors by message (and uncaught errors' first lines). */
  errors: Tally;
  /** Warnings by message. */
  warnings: Tally;
  /** What its sweeper removed, summed over its `sweep done` lines. */
  swept: Tally;
}

/** Reads an instance's log. */
export function logSummary(file: string): LogSummary {
  const errors: Tally = {};
  const warnings: Tally = {};
  const swept: Tally = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) {
      // Not pino: what reached stderr otherwise (an uncaught error's first line).
      if (/^\S*(error|exception)\b/i.test(line)) bump(errors, line.slice(0, 160));
      continue;
    }
    let entry: {
      level?: number;
      msg?: string;
      err?: { code?: string; type?: string };
      sweep?: Record<string, number>;
    };
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (entry.msg === 'sweep done' && entry.sweep)
      for (const [k, v] of Object.entries(entry.sweep)) if (v) bump(swept, k, v);
    const cause = entry.err ? ` (${entry.err.code ?? entry.err.type ?? 'error'})` : '';
    const key = `${entry.msg ?? 'no message'}${cause}`;
    if ((entry.level ?? 0) >= 50) bump(errors, key);
    else if ((entry.level ?? 0) >= 40) bump(warnings, key);
  }
  return { errors, warnings, swept };
}
