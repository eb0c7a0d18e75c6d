/**
 * Backup and restore benchmark (README.md "Benchmarks"): `noah-backup backup` then
 * `restore` of a 100 MB wallet database in WAL mode against a real local server
 * (`noah-backup serve`, embedded defaults with the rate limits lifted, in its own
 * process), beside `restic`
 * 0.14 backing up and restoring the same directory to a local repository in the same run.
 * Wall time and peak RSS of each client process come from GNU time (`%e`, `%M`), the same
 * tool for both. Ratios are ours / restic: below 1 means faster. Then the peak RSS of our
 * backup and restore of a 1 GiB data directory (goal: under 128 MiB), and of `noah-backup
 * list` (the process baseline: Node, the TypeScript loader, our modules).
 *
 * Every restore is checked (wallet digest for ours, file bytes for restic). Each case
 * runs `BENCH_RUNS` times (default 3), ours and restic alternating; the median is
 * reported (machines here are shared and noisy). `BENCH_MB` (default 100) and
 * `BENCH_BIG_MB` (default 1024; 0 skips) set the sizes. restic and GNU time are
 * installed with apt-get when missing. The `PRAGMA integrity_check` our backup runs on its
 * snapshot and our restore on the restored database (restic checks nothing of the kind)
 * is also timed alone on each restored copy, to show what it costs of our times.
 *
 * Run: `npm run bench -- backup-restore`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  readFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDemoWallet, walletDigest } from '@noah-backup/client/demo-wallet';
import { integrityCheck } from '@noah-backup/client/node/sqlite';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import Database from 'better-sqlite3';
import { ensureTool, type Measure, resticClient, startServe, timed } from './runners.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const BIN = join(ROOT, 'packages/cli/bin/noah-backup.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MB = Number(process.env.BENCH_MB ?? 100);
const BIG_MB = Number(process.env.BENCH_BIG_MB ?? 1024);
const GOAL_RSS_MIB = 128;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

/** SHA-256 of a file, streamed. */
async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/**
 * A data directory of about `mb` MiB fast (for the 1 GiB case): one SQLite database in
 * WAL mode whose rows hold hex text (compressible about as much as the demo wallet's),
 * written by SQLite itself.
 */
function bulkWallet(dir: string, mb: number): void {
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, 'wallet.sqlite'));
  try {
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE payments (id INTEGER PRIMARY KEY, payment_hash TEXT, bolt11 TEXT)');
    const rows = Math.ceil((mb * 2 ** 20) / 1100);
    const insert = db.prepare(
      `INSERT INTO payments (payment_hash, bolt11)
       SELECT lower(hex(randomblob(32))), 'lnbc' || lower(hex(randomblob(500)))
       FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT x FROM c)`,
    );
    for (let done = 0; done < rows; done += 100_000) insert.run(Math.min(100_000, rows - done));
  } finally {
    db.close();
  }
  writeFileSync(join(dir, 'settings.json'), '{"network":"bitcoin"}\n');
}

/** Our CLI and restic against one data directory. */
function makeRunners(work: string, serverUrl: string, mnemonicFile: string) {
  const env = { ...process.env, NOAH_SERVER: serverUrl };
  let n = 0;
  const noah = (args: string[], state: string) =>
    timed([process.execPath, BIN, ...args, '--mnemonic-file', mnemonicFile, '--state', state], {
      cwd: work,
      env,
    });
  return {
    /** Backs `data` up; returns the measure and a restore function for what it wrote. */
    ours(data: string) {
      const id = ++n;
      const backup = noah(['backup', '--data', data], join(work, `state-b${id}`));
      const to = join(work, `restored-${id}`);
      return {
        backup,
        restore: () => {
          const m = noah(['restore', '--to', to], join(work, `state-r${id}`));
          return { m, to };
        },
      };
    },
    restic(data: string) {
      const id = ++n;
      const repo = join(work, `repo-${id}`);
      const restic = resticClient(repo, work);
      restic.init();
      const backup = restic.backup(data);
      const to = join(work, `restic-restored-${id}`);
      return { backup, restore: () => ({ m: restic.restore(to), to, repo }) };
    },
  };
}

/**
 * When NODE_EXTRA_CA_CERTS is set, the median wall time of `node -e 0` with and without
 * it (Node parses the file at startup, whether or not the process ever uses TLS).
 */
function nodeStartup(): { with: number; without: number } | null {
  if (!process.env.NODE_EXTRA_CA_CERTS) return null;
  const { NODE_EXTRA_CA_CERTS: _, ...without } = process.env;
  const times = (env: NodeJS.ProcessEnv) =>
    median(
      Array.from(
        { length: 5 },
        () => timed([process.execPath, '-e', '0'], { cwd: tmpdir(), env }).seconds,
      ),
    );
  return { with: times(process.env), without: times(without) };
}

const fmt = (m: Measure) =>
  `${m.seconds.toFixed(2).padStart(7)} s ${m.rssMib.toFixed(0).padStart(5)} MiB`;

/**
 * Rebuilds the CLI bundle if the project has a `build` script (so the bench never runs
 * a stale one), and says which CLI the figures are of: the bundle or the sources.
 */
function cliMode(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  if (pkg.scripts?.build) {
    const r = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm run build failed');
  }
  return existsSync(join(ROOT, 'packages/cli/dist/noah-backup.mjs'))
    ? 'the esbuild bundle (packages/cli/dist)'
    : 'the TypeScript sources through tsx';
}

async function main(): Promise<void> {
  const mode = cliMode();
  ensureTool('restic', 'restic');
  if (!existsSync('/usr/bin/time')) ensureTool('/usr/bin/time', 'time');
  const restic = spawnSync('restic', ['version'], { encoding: 'utf8' }).stdout.trim();
  const work = mkdtempSync(join(tmpdir(), 'noah-bench-br-'));
  const mnemonicFile = join(work, 'mnemonic');
  writeFileSync(mnemonicFile, `${generateMnemonic(wordlist)}\n`, { mode: 0o600 });
  const server = await startServe(BIN, join(work, 'server'));
  try {
    const runners = makeRunners(work, server.url, mnemonicFile);
    console.log(`${restic}; Node ${process.version}; CLI: ${mode}; ${RUNS} runs, medians`);
    console.log(`generating a ${MB} MiB demo wallet (SQLite in WAL mode)…`);
    const data = join(work, 'wallet');
    const wallet = await createDemoWallet(data, { sizeMb: MB });
    const digest = await walletDigest(data);
    const dbHash = await sha256(wallet.database);
    // Warm the TypeScript loader's cache, as any second run of the CLI finds it.
    timed(
      [
        process.execPath,
        BIN,
        'list',
        '--mnemonic-file',
        mnemonicFile,
        '--state',
        join(work, 'st-warm'),
      ],
      {
        cwd: work,
        env: { ...process.env, NOAH_SERVER: server.url },
      },
    );

    const rows: Record<string, Measure[]> = {
      'noah backup': [],
      'noah restore': [],
      'restic backup': [],
      'restic restore': [],
    };
    const checks: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const o = runners.ours(data);
      rows['noah backup']!.push(o.backup);
      const r = o.restore();
      rows['noah restore']!.push(r.m);
      if ((await walletDigest(r.to)) !== digest) throw new Error('our restore differs');
      // The restore's own PRAGMA integrity_check (same function, same settings), timed alone.
      const t = process.hrtime.bigint();
      integrityCheck(join(r.to, 'wallet.sqlite'), 'wallet.sqlite');
      checks.push(Number(process.hrtime.bigint() - t) / 1e9);
      rmSync(r.to, { recursive: true, force: true });

      const q = runners.restic(data);
      rows['restic backup']!.push(q.backup);
      const qr = q.restore();
      rows['restic restore']!.push(qr.m);
      if ((await sha256(join(qr.to, data, 'wallet.sqlite'))) !== dbHash)
        throw new Error('restic restore differs');
      rmSync(qr.to, { recursive: true, force: true });
      rmSync(qr.repo, { recursive: true, force: true });
    }
    const med = (k: string): Measure => ({
      seconds: median(rows[k]!.map((m) => m.seconds)),
      cpuSeconds: median(rows[k]!.map((m) => m.cpuSeconds)),
      rssMib: median(rows[k]!.map((m) => m.rssMib)),
    });
    console.log(`\n${MB} MiB wallet (${wallet.payments} payments)          time      peak RSS`);
    for (const k of Object.keys(rows)) console.log(`  ${k.padEnd(16)} ${fmt(med(k))}`);
    for (const op of ['backup', 'restore']) {
      const ours = med(`noah ${op}`);
      const theirs = med(`restic ${op}`);
      console.log(
        `  ${op} ratio (ours / restic): time ${(ours.seconds / theirs.seconds).toFixed(2)}x, RSS ${(ours.rssMib / theirs.rssMib).toFixed(2)}x  (< 1: ours is faster / smaller)`,
      );
    }
    // Both our backup (on its snapshot, before uploading) and our restore (before the
    // swap) run this check on the same database; restic checks nothing of the kind.
    const check = median(checks);
    for (const op of ['backup', 'restore']) {
      const rest = med(`noah ${op}`).seconds - check;
      console.log(
        `  of our ${op}, PRAGMA integrity_check (timed alone, same settings): ${check.toFixed(2)} s; the rest: ${rest.toFixed(2)} s = ${(rest / med(`restic ${op}`).seconds).toFixed(2)}x restic's ${op}`,
      );
    }
    const startup = nodeStartup();
    if (startup)
      console.log(
        `  NODE_EXTRA_CA_CERTS is set here: Node reads that file at every start (\`node -e 0\` ${startup.with.toFixed(2)} s, ${startup.without.toFixed(2)} s without it); each of our processes pays it, restic does not`,
      );
    rmSync(data, { recursive: true, force: true });

    const baseline = timed(
      [
        process.execPath,
        BIN,
        'list',
        '--mnemonic-file',
        mnemonicFile,
        '--state',
        join(work, 'st-warm'),
      ],
      { cwd: work, env: { ...process.env, NOAH_SERVER: server.url } },
    );
    console.log(`\nprocess baseline (noah-backup list): ${fmt(baseline)}`);

    if (BIG_MB > 0) {
      console.log(`\ngenerating a ${BIG_MB} MiB data directory…`);
      const big = join(work, 'big');
      bulkWallet(big, BIG_MB);
      const bigDigest = await walletDigest(big);
      const o = runners.ours(big);
      const r = o.restore();
      if ((await walletDigest(r.to)) !== bigDigest) throw new Error('our big restore differs');
      console.log(`${BIG_MB} MiB data directory                       time      peak RSS`);
      console.log(`  noah backup      ${fmt(o.backup)}`);
      console.log(`  noah restore     ${fmt(r.m)}`);
      const worst = Math.max(o.backup.rssMib, r.m.rssMib);
      console.log(
        `  goal: peak RSS < ${GOAL_RSS_MIB} MiB: ${worst < GOAL_RSS_MIB ? 'met' : 'MISSED'} (${worst.toFixed(1)} MiB; baseline ${baseline.rssMib.toFixed(1)} MiB)`,
      );
    }
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
