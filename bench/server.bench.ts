/**
 * Server benchmark (README.md "Benchmarks"): authenticated `POST /v0/backup/list` and
 * `POST /v0/backup/upload_url` at 50 concurrent keep-alive connections, on SQLite and on
 * PostgreSQL, each as a ratio to a bare Fastify JSON route measured in the same run.
 * Goal: `list` on SQLite at 0.5x the bare route or better.
 *
 * Each server runs in its own child process (the load generator here must not share its
 * event loop); rate limiting stays on (with a limit no run reaches), logging is at
 * `warn`, and the blob store is the fs store (pre-signing is local HMAC either way; the
 * metadata path is what differs). PostgreSQL comes from NOAH_TEST_PG_URL or a throwaway
 * cluster (scripts/test-global-setup.ts).
 *
 * The machines this runs on are shared and noisy, so the cases are interleaved: all
 * servers stay up, and every round measures each case for one slice, in a rotating
 * order; a case's figures sum its slices. A noisy minute then hurts every case alike
 * instead of one. `BENCH_SECONDS` sets the measured seconds per case (default 5) and
 * `BENCH_SLICE_SECONDS` the slice (default 1), after 2 s of warm-up per case. The
 * per-round ratios of `list` on SQLite are printed too, to show the spread.
 *
 * Run: `npm run bench -- server`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONNECTIONS = 50;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SLICE_SECONDS = Number(process.env.BENCH_SLICE_SECONDS ?? 1);
const ROUNDS = Math.max(1, Math.round(SECONDS / SLICE_SECONDS));
const WARMUP_SECONDS = 2;
const USERS = CONNECTIONS;

type Target = 'bare' | 'sqlite' | 'postgres';

interface Ready {
  url: string;
  tokens: string[];
}

// ---------------------------------------------------------------- child: a server ----

async function child(target: Target): Promise<void> {
  // Exit normally on a signal, so `--cpu-prof` profiles of a child get written.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(0));
  const { default: Fastify } = await import('fastify');
  if (target === 'bare') {
    const app = Fastify({ logger: false });
    app.post('/bare', async () => [
      { backup_version: 1, created_at: new Date(0).toISOString(), backup_size: 1 },
    ]);
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    process.stdout.write(`${JSON.stringify({ url, tokens: [] } satisfies Ready)}\n`);
    return;
  }
  const { createServer } = await import('node:http');
  const { buildServer } = await import('@noah-backup/server/app');
  const { loadConfig } = await import('@noah-backup/server/config');
  const { createLogger } = await import('@noah-backup/server/logging');
  const { createMetadataStore } = await import('@noah-backup/server/metadata/index');
  const { createBlobStore } = await import('@noah-backup/server/blob/index');
  const { signK1, deriveLinkingKey } = await import('@noah-backup/core/lnurl');
  const { systemClock } = await import('@noah-backup/core/clock');

  const dir = mkdtempSync(join(tmpdir(), `noah-bench-${target}-`));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  let databaseUrl = `sqlite:${join(dir, 'noah.db')}`;
  if (target === 'postgres') {
    const pg = (await import('pg')).default;
    const admin = new pg.Client({ connectionString: process.env.NOAH_TEST_PG_URL });
    await admin.connect();
    const name = `noah_bench_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(process.env.NOAH_TEST_PG_URL!);
    u.pathname = `/${name}`;
    databaseUrl = u.href;
  }
  const http = createServer();
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  const config = {
    ...loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'warn', SWEEP_INTERVAL: '0' }),
    publicUrl: url,
    databaseUrl,
    maxPendingUploads: Number.MAX_SAFE_INTEGER,
    rateLimit: {
      authPerMinute: 1e9,
      userPerMinute: 1e9,
      blobPerMinute: 1e9,
      badTokenPerMinute: 1e9,
    },
  };
  // Every connection of the load comes from 127.0.0.1.
  config.http = { ...config.http, maxConnectionsPerAddress: 0 };
  const metadata = await createMetadataStore(databaseUrl);
  const blobs = await createBlobStore(config.blobStoreUrl, {
    publicUrl: url,
    maxObjectSize: config.maxBackupSize,
    signingSecret: new Uint8Array(randomBytes(32)),
  });
  const app = await buildServer({
    config,
    metadata,
    blobs,
    logger: createLogger({ level: 'warn' }),
    httpServer: http,
    webUi: false,
  });
  // Users with two completed backups each, logged in through the real LUD-04 routes.
  const tokens: string[] = [];
  for (let i = 0; i < USERS; i++) {
    const key = deriveLinkingKey(randomBytes(32), 'localhost');
    const k1 = (await app.inject({ method: 'GET', url: '/v0/getk1' })).json().k1 as string;
    const login = await app.inject({
      method: 'POST',
      url: '/v0/auth/login',
      payload: {
        k1,
        sig: signK1(k1, key.privateKey),
        key: Buffer.from(key.publicKey).toString('hex'),
      },
    });
    tokens.push(login.json().access_token);
    const session = await metadata.getSession(
      (await import('@noah-backup/server/services/auth')).hashToken(login.json().access_token),
      systemClock.now(),
    );
    for (const version of [1, 2] as const) {
      const objectKey = `b/${randomBytes(16).toString('hex')}`;
      const now = systemClock.now();
      await metadata.createPendingUpload({
        objectKey,
        userId: session!.userId,
        version,
        declaredSize: 1000,
        createdAt: now,
        expiresAt: new Date(now.getTime() + 900_000),
      });
      await metadata.completeUpload({
        userId: session!.userId,
        objectKey,
        version,
        size: 1000,
        now,
      });
    }
  }
  process.stdout.write(`${JSON.stringify({ url, tokens } satisfies Ready)}\n`);
}

// ------------------------------------------------------- parent: load and report ----

interface Result {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function start(
  target: Target,
  env: NodeJS.ProcessEnv,
): Promise<{ proc: ChildProcess; ready: Ready }> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', target],
    {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c) => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith('{"url"'));
      if (line) resolve({ proc, ready: JSON.parse(line) as Ready });
    });
    proc.once('exit', (code) => reject(new Error(`${target} server exited with ${code}`)));
  });
}

/** One slice of load: every latency (ms), the failures and the elapsed seconds. */
interface Slice {
  latencies: number[];
  errors: number;
  seconds: number;
}

/** Runs `CONNECTIONS` closed-loop workers against one endpoint; per-request latencies. */
async function load(
  base: string,
  path: string,
  body: string,
  tokens: string[],
  seconds: number,
): Promise<Slice> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const u = new URL(path, base);
  const latencies: number[] = [];
  let errors = 0;
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const once = (token: string | undefined) =>
    new Promise<number>((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const req = request(
        {
          agent,
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
        },
        (res) => {
          res.resume();
          res.once('end', () => {
            if (res.statusCode !== 200) errors++;
            resolve(Number(process.hrtime.bigint() - t0) / 1e6);
          });
        },
      );
      req.once('error', reject);
      req.end(body);
    });
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, i) => {
      const token = tokens[i % Math.max(1, tokens.length)];
      while (process.hrtime.bigint() < deadline) latencies.push(await once(token));
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  return { latencies, errors, seconds: elapsed };
}

/** The figures of a case over all its slices. */
function summarize(slices: Slice[]): Result {
  const latencies = slices.flatMap((x) => x.latencies).sort((a, b) => a - b);
  const seconds = slices.reduce((n, x) => n + x.seconds, 0);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    rps: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
    errors: slices.reduce((n, x) => n + x.errors, 0),
  };
}

interface Case {
  target: Target;
  endpoint: string;
  path: string;
  body: string;
  ready: Ready;
  slices: Slice[];
}

async function parent(): Promise<void> {
  let teardown: (() => void) | undefined;
  if (!process.env.NOAH_TEST_PG_URL) {
    const setup = (await import('../scripts/test-global-setup.ts')).default;
    teardown = await setup();
  }
  const env = { ...process.env };
  const procs: ChildProcess[] = [];
  const cases: Case[] = [];
  const add = async (target: Target, list: [string, string, string][]) => {
    const { proc, ready } = await start(target, env);
    procs.push(proc);
    for (const [endpoint, path, body] of list)
      cases.push({ target, endpoint, path, body, ready, slices: [] });
  };
  const backupCases: [string, string, string][] = [
    ['list', '/v0/backup/list', '{}'],
    ['upload_url', '/v0/backup/upload_url', '{"backup_size":1000}'],
  ];
  try {
    await add('bare', [['bare JSON route', '/bare', '{}']]);
    await add('sqlite', backupCases);
    await add('postgres', backupCases);
    console.log(
      `${CONNECTIONS} connections, ${SECONDS} s per case in ${ROUNDS} interleaved slices, after ${WARMUP_SECONDS} s warm-up`,
    );
    for (const c of cases) await load(c.ready.url, c.path, c.body, c.ready.tokens, WARMUP_SECONDS);
    for (let round = 0; round < ROUNDS; round++)
      for (let k = 0; k < cases.length; k++) {
        const c = cases[(k + round) % cases.length]!;
        c.slices.push(await load(c.ready.url, c.path, c.body, c.ready.tokens, SECONDS / ROUNDS));
      }
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    teardown?.();
  }
  const rows = cases.map((c) => ({ ...c, r: summarize(c.slices) }));
  const bare = rows.find((x) => x.target === 'bare')!;
  const pad = (s: string, n: number) => s.padEnd(n);
  console.log(
    `\n${pad('target', 10)}${pad('endpoint', 18)}${pad('req/s', 10)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('errors', 8)}vs bare`,
  );
  for (const { target, endpoint, r } of rows)
    console.log(
      `${pad(target, 10)}${pad(endpoint, 18)}${pad(r.rps.toFixed(0), 10)}${pad(r.p50.toFixed(2), 9)}${pad(r.p99.toFixed(2), 9)}${pad(String(r.errors), 8)}${(r.rps / bare.r.rps).toFixed(2)}x`,
    );
  const list = rows.find((x) => x.target === 'sqlite' && x.endpoint === 'list')!;
  const perRound = list.slices.map((x, i) => {
    const b = bare.slices[i]!;
    return x.latencies.length / x.seconds / (b.latencies.length / b.seconds);
  });
  const ratio = list.r.rps / bare.r.rps;
  console.log(
    `\nlist on SQLite: ${ratio.toFixed(2)}x the bare route (bare ${bare.r.rps.toFixed(0)} req/s; per round ${perRound.map((x) => x.toFixed(2)).join(' ')}) — goal 0.5x: ${ratio >= 0.5 ? 'met' : 'MISSED'}`,
  );
  if (rows.some((x) => x.r.errors > 0)) {
    console.error('some requests failed (non-200); see the errors column');
    process.exitCode = 1;
  }
}

const i = process.argv.indexOf('--child');
if (i !== -1) await child(process.argv[i + 1] as Target);
else await parent();
