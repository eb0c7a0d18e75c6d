/**
 * `npm run bench -- push-scheduler` (docs/PUSH.md §8): one daily trigger job over
 * 1,000,000 enabled, stale users with one Expo device each (synthetic rows), sending to
 * a local fake Expo endpoint (in its own process, in its lean mode: it counts messages
 * without parsing them, as the real service's work is not ours) with no rate cap and
 * no spread, on
 * SQLite and on PostgreSQL (a throwaway cluster, as the test setup starts one).
 *
 * Each backend runs in its own process, so its peak RSS is its own. Figures: seeding
 * time (not part of the goal), a baseline (the raw keyset scan of the same candidate
 * query, sending nothing), the job's wall time, users per second planned and handed to
 * the sender, the job/baseline ratio, peak RSS. Goals: peak RSS < 256 MiB, ≥ 20,000
 * triggers per second. `NOAH_BENCH_USERS` changes the user count; `NOAH_BENCH_PROFILE=DIR`
 * writes a CPU profile of each backend's process there.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { systemClock } from '@noah-backup/core/clock';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createMetadataStore } from '../packages/server/src/metadata/index.ts';
import { createSenders } from '../packages/server/src/push/index.ts';
import { parsePushConfig } from '../packages/server/src/config/push.ts';
import { utcDay } from '../packages/server/src/push/day.ts';
import { runTriggerJob } from '../packages/server/src/push/job.ts';
import type { MetadataStore } from '../packages/server/src/stores/metadata.ts';
import { startFakeExpo } from '../packages/server/test/helpers/fake-expo.ts';
import setupPostgres from '../scripts/test-global-setup.ts';

const USERS = Number(process.env.NOAH_BENCH_USERS ?? 1_000_000);
const SELF = fileURLToPath(import.meta.url);
const MIB = 1024 * 1024;
const GOAL_RSS_MIB = 256;
const GOAL_RATE = 20_000;

interface Figures {
  backend: string;
  users: number;
  seedMs: number;
  scanMs: number;
  jobMs: number;
  triggered: number;
  handedToSender: number;
  peakRssMiB: number;
}

const id = (i: number) => `u${String(i).padStart(8, '0')}`;
const silent = { info() {}, warn() {} } as unknown as Parameters<typeof createSenders>[1]['logger'];

/** SQLite: one transaction, prepared statements. */
function seedSqlite(file: string): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const user = db.prepare(
    'insert into users (id, pubkey, backup_enabled, last_backup_at, created_at) values (?, ?, 1, null, 0)',
  );
  const device = db.prepare(
    "insert into devices (user_id, device_id, provider, address, created_at, updated_at) values (?, 'd', 'expo', ?, 0, 0)",
  );
  db.transaction(() => {
    for (let i = 1; i <= USERS; i++) {
      const u = id(i);
      user.run(u, `02${i.toString(16).padStart(64, '0')}`);
      device.run(u, `ExponentPushToken[b${u}]`);
    }
  })();
  db.exec('analyze');
  db.close();
}

/** PostgreSQL: server-side generate_series. */
async function seedPostgres(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(
      `insert into users (id, pubkey, backup_enabled, last_backup_at, created_at)
       select 'u' || lpad(g::text, 8, '0'), '02' || lpad(to_hex(g), 64, '0'), true, null, 0
       from generate_series(1, $1::int) g`,
      [USERS],
    );
    await c.query(
      `insert into devices (user_id, device_id, provider, address, created_at, updated_at)
       select 'u' || lpad(g::text, 8, '0'), 'd', 'expo', 'ExponentPushToken[bu' || lpad(g::text, 8, '0') || ']', 0, 0
       from generate_series(1, $1::int) g`,
      [USERS],
    );
    // As autovacuum would have done on a live database (visibility map, statistics).
    await c.query('vacuum analyze');
  } finally {
    await c.end();
  }
}

async function scan(store: MetadataStore, day: string, staleBefore: Date): Promise<number> {
  let afterId: string | null = null;
  let n = 0;
  for (;;) {
    const page = await store.listTriggerCandidates({ day, staleBefore, afterId, limit: 1000 });
    if (page.length === 0) return n;
    n += page.length;
    afterId = page[page.length - 1]!.id;
  }
}

/** One backend, in this process. Prints its figures as one JSON line. */
async function runBackend(backend: 'sqlite' | 'postgres'): Promise<void> {
  const expoUrl = process.env.NOAH_BENCH_EXPO_URL!;
  let url: string;
  let cleanup: () => Promise<void>;
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'noah-bench-push-'));
    url = `sqlite:${join(dir, 'noah.db')}`;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const name = `noah_bench_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: process.env.NOAH_TEST_PG_URL });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const u = new URL(process.env.NOAH_TEST_PG_URL!);
    u.pathname = `/${name}`;
    url = u.toString();
    cleanup = async () => {
      const c = new pg.Client({ connectionString: process.env.NOAH_TEST_PG_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    };
  }
  try {
    // Migrate, then seed around the store, then reopen.
    await (await createMetadataStore(url)).close();
    const t0 = performance.now();
    if (backend === 'sqlite') seedSqlite(url.slice('sqlite:'.length));
    else await seedPostgres(url);
    const seedMs = performance.now() - t0;

    const store = await createMetadataStore(url);
    try {
      const clock = systemClock;
      const day = utcDay(clock.now());
      const staleBefore = new Date(clock.now().getTime() - 20 * 3600_000);
      globalThis.gc?.();
      const t1 = performance.now();
      const scanned = await scan(store, day, staleBefore);
      const scanMs = performance.now() - t1;
      if (scanned !== USERS) throw new Error(`baseline scanned ${scanned} of ${USERS}`);

      const problems: string[] = [];
      const config = parsePushConfig(
        (n) => ({ PUSH_PROVIDERS: 'expo', EXPO_PUSH_URL: expoUrl })[n],
        problems,
      );
      globalThis.gc?.();
      const t2 = performance.now();
      const r = await runTriggerJob(
        {
          store,
          senders: createSenders(config, { clock, logger: silent }),
          clock,
          random: (n) => new Uint8Array(randomBytes(n)),
          rollout: { mode: 'all' },
          holder: 'bench',
          staleAfterSec: 20 * 3600,
          spreadSec: 0,
          rate: 0,
        },
        day,
      );
      const jobMs = performance.now() - t2;
      if (r.status !== 'done' || r.triggered !== USERS)
        throw new Error(`job: ${r.status}, ${r.triggered} of ${USERS} triggered`);
      const figures: Figures = {
        backend,
        users: USERS,
        seedMs,
        scanMs,
        jobMs,
        triggered: r.triggered,
        handedToSender: r.sent.expo ?? 0,
        peakRssMiB: (process.resourceUsage().maxRSS * 1024) / MIB,
      };
      process.stdout.write(`${JSON.stringify(figures)}\n`);
    } finally {
      await store.close();
    }
  } finally {
    await cleanup();
  }
}

function child(args: string[], env: Record<string, string>): ChildProcess {
  // NOAH_BENCH_PROFILE=DIR: a CPU profile of each backend's process, for finding hot spots.
  const dir = process.env.NOAH_BENCH_PROFILE;
  const prof = dir && args[0] !== 'fake-expo' ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
  return spawn(process.execPath, [...prof, '--import', 'tsx', '--expose-gc', SELF, ...args], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

function firstLine(p: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    p.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    p.once('exit', (code) => reject(new Error(`child exited with ${code} before answering`)));
  });
}

async function main(): Promise<void> {
  const stopPg = await setupPostgres();
  const fake = child(['fake-expo'], {});
  let failed = false;
  try {
    const { url } = JSON.parse(await firstLine(fake)) as { url: string };
    const rows: Figures[] = [];
    for (const backend of ['sqlite', 'postgres']) {
      const p = child([backend], {
        NOAH_BENCH_EXPO_URL: url,
        NOAH_TEST_PG_URL: process.env.NOAH_TEST_PG_URL ?? '',
      });
      rows.push(JSON.parse(await firstLine(p)) as Figures);
      await new Promise((resolve) => p.once('exit', resolve));
    }
    console.log(
      `push scheduler: one job over ${USERS.toLocaleString('en')} stale users, one Expo device each, fake Expo in another process, no rate cap`,
    );
    console.log(
      'backend   seed s  baseline scan     job (claim+send+settle)   job/baseline  peak RSS',
    );
    for (const r of rows) {
      const scanRate = r.users / (r.scanMs / 1000);
      const jobRate = r.triggered / (r.jobMs / 1000);
      const rssOk = r.peakRssMiB < GOAL_RSS_MIB;
      const rateOk = jobRate >= GOAL_RATE;
      failed ||= !rssOk || !rateOk;
      console.log(
        `${r.backend.padEnd(9)} ${(r.seedMs / 1000).toFixed(1).padStart(6)}  ` +
          `${(r.scanMs / 1000).toFixed(1).padStart(5)} s ${Math.round(scanRate).toLocaleString('en').padStart(9)}/s  ` +
          `${(r.jobMs / 1000).toFixed(1).padStart(5)} s ${Math.round(jobRate).toLocaleString('en').padStart(9)} users/s ${rateOk ? 'ok ' : 'LOW'}  ` +
          `${(r.jobMs / r.scanMs).toFixed(2).padStart(8)}×    ` +
          `${r.peakRssMiB.toFixed(0).padStart(4)} MiB ${rssOk ? 'ok' : 'HIGH'}`,
      );
    }
    console.log(
      `goals: ≥ ${GOAL_RATE.toLocaleString('en')} triggers/s handed to the sender; peak RSS < ${GOAL_RSS_MIB} MiB`,
    );
  } finally {
    fake.stdin?.end();
    stopPg();
  }
  if (failed) process.exitCode = 1;
}

const mode = process.argv[2];
if (mode === 'fake-expo') {
  const f = await startFakeExpo({ record: false, lean: true });
  process.stdout.write(`${JSON.stringify({ url: f.url })}\n`);
  process.stdin.resume();
  process.stdin.once('end', () => {
    void f.close().then(() => process.exit(0));
  });
} else if (mode === 'sqlite' || mode === 'postgres') {
  await runBackend(mode);
} else {
  await main();
}
