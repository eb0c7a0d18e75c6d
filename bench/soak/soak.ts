/**
 * `npm run soak`: load and faults, measured (docs/OPERATIONS.md "The soak test").
 *
 * Two instances of the real server (`noah-backup serve`, child processes) on a real
 * PostgreSQL cluster and the S3 test server behind its SigV4-checking front
 * (packages/server/test/helpers/s3.ts), behind a round-robin balancer; simulated devices
 * (the real client SDK, each with its own seedphrase and SQLite wallet; device.ts) in
 * worker processes back up, restore and verify, while pre-signed uploads and downloads
 * are cut off at random (proxy.ts), one instance is killed with SIGKILL and started
 * again every `SOAK_KILL_EVERY` seconds, and the database's connections are terminated
 * once. Then the sweeper runs, every object left in the bucket must belong to a backup,
 * and every device, as a new phone, must restore its last acknowledged backup exactly.
 * Exits 1 when any backup was lost or corrupted, a failed restore changed a wallet, or
 * an orphan remains.
 *
 * Environment: SOAK_SECONDS (600), SOAK_DEVICES (200), SOAK_WORKERS (2), SOAK_THINK_MS
 * (mean pause between a device's operations, 8000), SOAK_KILL_EVERY (120),
 * SOAK_DB_DROP_AT (seconds; default 55% of the run), SOAK_CUT_UPLOADS (0.2),
 * SOAK_CUT_DOWNLOADS (0.1), SOAK_KEEP=1 keeps the work directory (kept anyway on FAIL).
 * @module
 */
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startS3Harness } from '../../packages/server/test/helpers/s3.ts';
import { sweepAndAudit } from './audit.ts';
import { type DeviceStats, type FinalResult, newStats, type Violation } from './device.ts';
import { freePort, type Instance, logSummary, serverInstance, startDatabase } from './infra.ts';
import { type FaultRates, startBalancer, startFaultInjector } from './proxy.ts';
import { type FaultEvent, formatReport, passed, type SoakFigures } from './report.ts';
import { addSamples, formatLatency, merge, window } from './stats.ts';

/** What one run does. */
export interface SoakOptions {
  seconds: number;
  devices: number;
  workers: number;
  thinkMs: number;
  killEverySec: number;
  dbDropAtSec: number;
  cut: FaultRates;
  /** Devices start over this many seconds (first backups spread out). */
  rampSec: number;
  /** Rebuild the CLI bundle first (as `npm run build`). */
  build: boolean;
  keep: boolean;
}

/** The options from the environment (module comment). */
export function optionsFromEnv(env: NodeJS.ProcessEnv): SoakOptions {
  const num = (name: string, def: number) => {
    const v = env[name];
    if (v === undefined || v === '') return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`${name} must be a number ≥ 0`);
    return n;
  };
  const seconds = num('SOAK_SECONDS', 600);
  return {
    seconds,
    devices: num('SOAK_DEVICES', 200),
    workers: Math.max(1, num('SOAK_WORKERS', 2)),
    thinkMs: num('SOAK_THINK_MS', 8000),
    killEverySec: num('SOAK_KILL_EVERY', 120),
    dbDropAtSec: num('SOAK_DB_DROP_AT', Math.round(seconds * 0.55)),
    cut: { upload: num('SOAK_CUT_UPLOADS', 0.2), download: num('SOAK_CUT_DOWNLOADS', 0.1) },
    rampSec: Math.round(Math.min(30, seconds / 4)),
    build: true,
    keep: env.SOAK_KEEP === '1',
  };
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
const f1 = (x: number) => x.toFixed(1);

/** A worker process and its answers. */
interface Worker {
  child: ChildProcess;
  next(type: string): Promise<Record<string, unknown>>;
}

function startWorker(onMessage: (m: Record<string, unknown>) => void): Worker {
  const child = fork(fileURLToPath(new URL('./worker.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<string, (m: Record<string, unknown>) => void>();
  child.on('message', (m: Record<string, unknown>) => {
    onMessage(m);
    const w = waiting.get(m.type as string);
    if (w) {
      waiting.delete(m.type as string);
      w(m);
    }
  });
  return {
    child,
    next: (type) =>
      new Promise((ok, fail) => {
        waiting.set(type, ok);
        child.once('exit', (code) => fail(new Error(`a device worker exited (${code})`)));
      }),
  };
}

/**
 * The faults of a run: one instance killed with SIGKILL every `killEverySec` (in turn),
 * started again 2 s later; the database's connections terminated once.
 */
function scheduleFaults(
  o: SoakOptions,
  instances: Instance[],
  db: { terminateConnections(): Promise<number> },
  fault: (what: string) => void,
): Promise<void>[] {
  const schedule: Promise<void>[] = [];
  for (let k = 1; o.killEverySec > 0 && k * o.killEverySec < o.seconds; k++) {
    const inst = instances[(k - 1) % instances.length]!;
    schedule.push(
      sleep(k * o.killEverySec * 1000).then(async () => {
        await inst.kill();
        fault(`SIGKILL instance ${inst.name}`);
        await sleep(2000);
        const ms = await inst.start();
        fault(`instance ${inst.name} started again, listening after ${f1(ms / 1000)} s`);
      }),
    );
  }
  if (o.dbDropAtSec > 0 && o.dbDropAtSec < o.seconds)
    schedule.push(
      sleep(o.dbDropAtSec * 1000).then(async () => {
        const n = await db.terminateConnections();
        fault(`PostgreSQL: terminated the servers' ${n} connections (pg_terminate_backend)`);
      }),
    );
  return schedule;
}

/** Stops the devices (in-flight operations get 60 s) and adds up what they counted. */
async function stopDevices(workers: Worker[]): Promise<DeviceStats> {
  const stats = newStats();
  const answers = await Promise.all(
    workers.map((w) => {
      const stopped = w.next('stopped');
      w.child.send({ type: 'stop', graceMs: 60_000 });
      return stopped;
    }),
  );
  for (const m of answers) {
    const s = m.stats as DeviceStats;
    merge(stats.outcomes, s.outcomes);
    merge(stats.retries, s.retries);
    merge(stats.notes, s.notes);
    stats.cpuMs += s.cpuMs;
    for (const [k, v] of Object.entries(s.durations)) addSamples(stats.durations, k, v);
  }
  return stats;
}

/**
 * Runs the soak and reports.
 * @param o - options ({@link optionsFromEnv})
 * @param print - where progress and the report go
 * @returns whether it passed, and the figures
 */
export async function runSoak(
  o: SoakOptions,
  print: (line: string) => void = console.log,
): Promise<{ ok: boolean; figures: SoakFigures }> {
  if (o.build && spawnSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' }).status !== 0)
    throw new Error('npm run build failed');
  const work = mkdtempSync(join(tmpdir(), 'noah-soak-'));
  // The S3 harness's child and pipes are unreferenced (made for test processes that
  // live anyway): something must keep this process alive while it waits for them.
  const alive = setInterval(() => {}, 60_000);
  const cleanup: (() => Promise<unknown> | unknown)[] = [() => clearInterval(alive)];
  const violations: Violation[] = [];
  let ok = false;
  try {
    const db = await startDatabase();
    cleanup.push(() => db.stop());
    const s3 = await startS3Harness();
    cleanup.push(() => s3.close());
    const rates: FaultRates = { ...o.cut };
    const bucket = await startFaultInjector(s3.endpoint, rates);
    cleanup.push(() => bucket.close());
    const ports = [await freePort(), await freePort()];
    const api = await startBalancer(ports.map((p) => `http://127.0.0.1:${p}`));
    cleanup.push(() => api.close());
    const env = {
      DATABASE_URL: db.url,
      // Through the fault injector: the servers sign URLs for it, and their own calls pass.
      BLOB_STORE_URL: s3.storeUrl.replace(
        encodeURIComponent(s3.endpoint),
        encodeURIComponent(bucket.url),
      ),
      PUBLIC_URL: api.url,
      TRUST_PROXY: '127.0.0.1',
      // Info: the sweepers' results are logged at that level (few other lines are).
      LOG_LEVEL: 'info',
      // Limits are per client or user; 200 devices at this pace stay under them, but a
      // retry storm after a kill must not turn into 429s that the soak would count.
      RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
      RATE_LIMIT_USER_PER_MINUTE: '1000000',
      // The sweeper runs during the load too, racing completions: short URL lives and
      // the shortest orphan age let it meet abandoned uploads within minutes.
      SWEEP_INTERVAL: '30',
      ORPHAN_MIN_AGE: '60',
      UPLOAD_URL_TTL: '120',
    };
    const faults: FaultEvent[] = [];
    let t0 = performance.now();
    const at = () => (performance.now() - t0) / 1000;
    const fault = (what: string) => {
      faults.push({ atSec: at(), what });
      print(`${at().toFixed(0).padStart(5)} s  ${what}`);
    };
    const restarts: Promise<unknown>[] = [];
    const instances: Instance[] = ['a', 'b'].map((name, i) => {
      // An instance that dies by itself is a finding; a supervisor would start it again.
      const inst: Instance = serverInstance(
        name,
        ports[i]!,
        join(work, `server-${name}`),
        env,
        (how) => {
          fault(`instance ${name} DIED BY ITSELF (${how}); starting it again`);
          restarts.push(
            sleep(2000)
              .then(() => inst.start())
              .then((ms) =>
                fault(`instance ${name} started again, listening after ${f1(ms / 1000)} s`),
              )
              .catch((e) => print(String(e))),
          );
        },
      );
      return inst;
    });
    for (const inst of instances) {
      await inst.start();
      cleanup.push(() => inst.stop());
    }

    // ---- devices ----
    const done: number[] = [];
    const workers = Array.from({ length: o.workers }, (_, w) =>
      startWorker((m) => {
        if (m.type === 'violation') {
          const v = m.v as Violation;
          violations.push(v);
          print(`VIOLATION device ${v.device} ${v.kind}: ${v.detail}`);
        } else if (m.type === 'progress') done[w] = m.done as number;
      }),
    );
    cleanup.push(() => {
      for (const w of workers) w.child.kill();
    });
    print(`setting up ${o.devices} devices in ${o.workers} worker processes…`);
    await Promise.all(
      workers.map((w, i) => {
        const ready = w.next('ready');
        const ids = Array.from({ length: o.devices }, (_, d) => d).filter(
          (d) => d % o.workers === i,
        );
        w.child.send({
          type: 'init',
          ids,
          root: join(work, 'devices'),
          apiUrl: api.url,
          thinkMs: o.thinkMs,
          rampMs: o.rampSec * 1000,
        });
        return ready;
      }),
    );

    // ---- load and faults ----
    t0 = performance.now();
    for (const p of [api, bucket]) {
      p.t0 = t0;
      p.recording = true;
    }
    for (const w of workers) w.child.send({ type: 'run' });
    const cpuAtStart = process.cpuUsage();
    // The machine is shared: its load says how much CPU the soak could have had.
    const load: number[] = [];
    const sampler = setInterval(() => load.push(loadavg()[0]!), 10_000);
    print(`load started: ${o.seconds} s`);
    const schedule = scheduleFaults(o, instances, db, fault);
    const ticker = setInterval(() => {
      const w = window(api.log.samples, (at() - 30) * 1000, at() * 1000);
      print(
        `${at().toFixed(0).padStart(5)} s  operations ${done.reduce((a, b) => a + b, 0)}; last 30 s: ${(w.length / 30).toFixed(1)} req/s, ${formatLatency(w.map((s) => s.ms))}, failed ${w.filter((s) => s.failed).length}`,
      );
    }, 30_000);
    await sleep(o.seconds * 1000);
    clearInterval(ticker);
    clearInterval(sampler);
    const infraCpu = process.cpuUsage(cpuAtStart);
    print('load over: waiting for operations in flight (60 s at most, then aborted)…');
    const stats = await stopDevices(workers);
    await Promise.all(schedule);
    await Promise.all(restarts);
    for (const p of [api, bucket]) p.recording = false;
    rates.upload = 0;
    rates.download = 0;

    // ---- the sweeper, then orphans ----
    const audit = await sweepAndAudit(db.url, s3.storeUrl, Number(env.ORPHAN_MIN_AGE));

    // ---- every device as a new phone ----
    print('final check: every device restores its backups as a new phone…');
    const finals: FinalResult[] = [];
    for (const m of await Promise.all(
      workers.map((w) => {
        const r = w.next('final');
        w.child.send({ type: 'final' });
        return r;
      }),
    ))
      finals.push(...(m.results as FinalResult[]));

    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    const figures: SoakFigures = {
      header: `soak: ${o.seconds} s, ${o.devices} devices in ${o.workers} workers, 2 instances of \`noah-backup serve\` on PostgreSQL + S3 (s3rver behind the SigV4 front); ${cpu}, ${cpus().length} cores; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}`,
      cores: cpus().length,
      seconds: o.seconds,
      rampSec: o.rampSec,
      api: api.log,
      bucket: { ...bucket.log, cuts: bucket.cuts },
      devices: stats,
      machine: { load, infraCpuMs: (infraCpu.user + infraCpu.system) / 1000 },
      faults,
      logs: instances.map((i) => ({ name: i.name, ...logSummary(i.logFile) })),
      sweep: audit.swept,
      objects: audit.keys.length,
      orphans: audit.orphans,
      pendingLeft: audit.pendingLeft,
      finals,
      deviceCount: o.devices,
      violations,
    };
    for (const line of formatReport(figures)) print(line);
    ok = passed(figures);
    return { ok, figures };
  } finally {
    for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => {});
    if (ok && !o.keep) rmSync(work, { recursive: true, force: true });
    else print(`work directory kept: ${work}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // The AWS SDK's notice that its 2027 releases need Node 22 is not the soak's business.
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    if (!/NodeVersionSupportWarning/.test(`${w.name} ${w.message}`)) console.warn(w);
  });
  const o = optionsFromEnv(process.env);
  const { ok } = await runSoak(o);
  // The s3rver child and pooled sockets would keep the process alive.
  process.exit(ok ? 0 : 1);
}
