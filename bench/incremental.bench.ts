/**
 * Incremental backup benchmark: the daily backup of a wallet database whose day of
 * activity changes a few percent of its pages, against restic 0.14 on the same directory
 * in the same run, and against the page limit (the pages that really changed).
 *
 * The bench builds its workload (bench/incremental/workload.ts): a WAL-mode database of
 * `BENCH_MB` MiB (default 100) of payments keyed by random txids, then day 0 (the first
 * backup's) and `BENCH_DAYS` (default 30) simulated days, each committed and left in the
 * WAL by a connection that stays open (the day before is checkpointed first). Every day:
 * the page limit (pages differing between the two days' checkpointed copies × 4 KiB),
 * then `noah-backup backup` (the real CLI against `noah-backup serve` on SQLite + the fs
 * store, loopback) and `restic backup` of the same directory. Our bytes sent and stored
 * are read from the server's blob directory, never from the client.
 *
 * After the last day, `BENCH_RUNS` times (default 3) in alternation: a restore of each of
 * our two slots (each checked row for row against its day; the slower slot is the figure)
 * and `restic restore latest`; a new user's first backup of the last day (the first-backup
 * figure; its bytes are the "one full compressed backup" baseline of stored bytes) and
 * restic's first backup into a new repository. Times are medians, wall and CPU (user +
 * system: the machines are shared, and the CPU time is the steadier figure). `BENCH_BIG_MB=1024`
 * adds the peak RSS case: first backup, one day, the daily backup and a restore of a
 * database that size (long: opt-in).
 *
 * Environment: BENCH_MB, BENCH_DAYS, BENCH_RUNS, BENCH_BIG_MB (default 0: skipped),
 * BENCH_SEED, BENCH_CLI (the `noah-backup` script measured; default this checkout's,
 * whose bundle is rebuilt first), BENCH_SERVE_CLI (the script whose `serve` runs; default
 * BENCH_CLI), BENCH_KEEP=1 (keep the work directory). The report goes to stdout and, as
 * JSON, to bench/out/incremental-<time>.json.
 *
 * Run: `npm run bench -- incremental` (quick: `BENCH_MB=20 BENCH_DAYS=5 npm run bench --
 * incremental`).
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { countChangedPages } from './incremental/pages.ts';
import { type Day, type Figures, formatReport, goals, median } from './incremental/report.ts';
import {
  duBytes,
  ensureTool,
  ourClient,
  resticClient,
  type Serve,
  startServe,
} from './incremental/runners.ts';
import {
  checkpointCopy,
  contentDigest,
  createWallet,
  PAGE_SIZE,
  rowsForMb,
  type Wallet,
  writeDay,
} from './incremental/workload.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const MB = Number(process.env.BENCH_MB ?? 100);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const BIG_MB = Number(process.env.BENCH_BIG_MB ?? 0);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SEED = process.env.BENCH_SEED ?? 'noah-backup incremental bench';
const CLI = resolve(process.env.BENCH_CLI ?? join(ROOT, 'packages/cli/bin/noah-backup.js'));
const SERVE_CLI = resolve(process.env.BENCH_SERVE_CLI ?? CLI);

/** Rebuilds this checkout's bundle when it is the CLI measured (never a stale one). */
function prepareCli(): void {
  if (process.env.BENCH_CLI) return;
  const r = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
}

/** A new user of our CLI: a fresh seedphrase and device state. */
function newUser(work: string, serve: Serve, name: string) {
  const mnemonicFile = join(work, `${name}.mnemonic`);
  writeFileSync(mnemonicFile, `${generateMnemonic(wordlist)}\n`, { mode: 0o600 });
  return ourClient({
    cli: CLI,
    serve,
    mnemonicFile,
    state: join(work, `${name}.state`),
    cwd: work,
  });
}

/** A data directory holding the wallet database and a small settings file. */
function newDataDir(dir: string, mb: number, seed: string): Wallet {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'settings.json'), '{"network":"bitcoin","fiat":"EUR"}\n');
  return createWallet(join(dir, 'wallet.sqlite'), rowsForMb(mb), seed);
}

/** Restores `version` with user `u` into a scratch directory and checks it row for row. */
function checkedRestore(
  u: ReturnType<typeof ourClient>,
  version: 1 | 2,
  work: string,
  expected: string,
) {
  const to = join(work, `restored-${version}`);
  const m = u.restore(version, to, join(work, `restore-state-${version}-${Date.now()}`));
  if (contentDigest(join(to, 'wallet.sqlite')) !== expected)
    throw new Error(`our restore of slot ${version} differs from the day it holds`);
  rmSync(to, { recursive: true, force: true });
  return m;
}

/** The opt-in peak RSS case: a `BIG_MB` database, first backup, one day, daily, restore. */
function bigCase(work: string, serve: Serve): NonNullable<Figures['big']> {
  console.log(`\nbuilding a ${BIG_MB} MiB wallet for the peak RSS case…`);
  const data = join(work, 'big');
  const w = newDataDir(data, BIG_MB, `${SEED} big`);
  try {
    writeDay(w);
    const u = newUser(work, serve, 'big');
    const backupFirst = u.backup(data);
    writeDay(w);
    const backupDaily = u.backup(data);
    const ckpt = join(work, 'big-ckpt.sqlite');
    checkpointCopy(w.file, ckpt);
    const expected = contentDigest(ckpt);
    rmSync(ckpt);
    const latest = u.list().sort((a, b) => b.created_at.localeCompare(a.created_at))[0]!;
    const restore = checkedRestore(u, latest.backup_version, work, expected);
    for (const [what, m] of Object.entries({ backupFirst, backupDaily, restore }))
      console.log(
        `${what}: ${m.seconds.toFixed(2)} s (CPU ${m.cpuSeconds.toFixed(2)} s), peak RSS ${m.rssMib.toFixed(1)} MiB`,
      );
    return { mb: BIG_MB, backupFirst, backupDaily, restore };
  } finally {
    w.db.close();
    rmSync(data, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!(MB > 0) || !(DAYS >= 1)) throw new Error('BENCH_MB must be > 0 and BENCH_DAYS ≥ 1');
  prepareCli();
  ensureTool('restic', 'restic');
  if (!existsSync('/usr/bin/time')) ensureTool('/usr/bin/time', 'time');
  const resticVersion = spawnSync('restic', ['version'], { encoding: 'utf8' }).stdout.trim();
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const header = `incremental: ${MB} MiB wallet, ${DAYS} days; CLI ${CLI}; ${resticVersion}; ${cpu}, ${cpus().length} cores; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}`;
  console.log(header);
  const loadAtStart = loadavg()[0]!;

  const work = mkdtempSync(join(tmpdir(), 'noah-bench-inc-'));
  const serve = await startServe(SERVE_CLI, join(work, 'server'));
  let wallet: Wallet | undefined;
  let ok = false;
  try {
    const data = join(work, 'wallet');
    console.log(`building the ${MB} MiB wallet…`);
    wallet = newDataDir(data, MB, SEED);
    // Day 0's activity too, so the first backup finds what every later one finds: the
    // previous day checkpointed into the main file and one day in the WAL (a first backup
    // of a just-checkpointed file would let restic's day 1 send the WAL alone).
    writeDay(wallet);
    const prev = join(work, 'ckpt-prev.sqlite');
    const cur = join(work, 'ckpt-cur.sqlite');
    checkpointCopy(wallet.file, prev);
    const user = newUser(work, serve, 'user');
    user.list(); // warms the OS caches for the CLI, outside any measure
    const restic = resticClient(join(work, 'restic-repo'), work);
    restic.init();

    const first = { ours: user.backup(data), restic: restic.backup(data) };
    console.log(
      `first backup: ours ${first.ours.seconds.toFixed(2)} s, restic ${first.restic.seconds.toFixed(2)} s`,
    );
    const days: Day[] = [];
    // The newer slot will hold the last day, the other the day before (day 0 is the first
    // backup's): their contents, to check the restores against.
    const digests = new Map<number, string>();
    if (DAYS === 1) digests.set(0, contentDigest(prev));
    for (let d = 1; d <= DAYS; d++) {
      writeDay(wallet);
      checkpointCopy(wallet.file, cur);
      const diff = countChangedPages(prev, cur, PAGE_SIZE);
      if (d >= DAYS - 1) digests.set(d, contentDigest(cur));
      const ours = user.backup(data);
      const theirs = restic.backup(data);
      renameSync(cur, prev);
      days.push({
        day: d,
        changedPages: diff.changed,
        pageLimit: diff.changed * PAGE_SIZE,
        ours,
        restic: theirs,
      });
      console.log(
        `day ${d}: ${diff.changed} pages changed; ours ${ours.seconds.toFixed(2)} s ${(ours.bytes / 2 ** 20).toFixed(2)} MiB sent; restic ${theirs.seconds.toFixed(2)} s ${(theirs.added / 2 ** 20).toFixed(2)} MiB added`,
      );
    }
    const dbBytes = statSync(prev).size;
    const slots = user.list().sort((a, b) => b.created_at.localeCompare(a.created_at));
    const restores: Figures['restore'] = {
      ours: slots.map((s, i) => ({ slot: s.backup_version, day: DAYS - i, runs: [] })),
      restic: [],
    };
    const firsts: Figures['firsts'] = { ours: [], restic: [] };
    // Alternating runs, medians: the machines here are shared and noisy.
    for (let run = 0; run < RUNS; run++) {
      console.log(`restores and first backups, run ${run + 1} of ${RUNS}…`);
      for (const r of restores.ours)
        r.runs.push(checkedRestore(user, r.slot as 1 | 2, work, digests.get(r.day)!));
      const resticTo = join(work, 'restic-restored');
      restores.restic.push(restic.restore(resticTo));
      if (contentDigest(join(resticTo, data, 'wallet.sqlite')) !== digests.get(DAYS))
        throw new Error('restic restore differs from the last day');
      rmSync(resticTo, { recursive: true, force: true });
      // A new user's first backup of the same directory: one full compressed backup.
      firsts.ours.push(newUser(work, serve, `first-${run}`).backup(data));
      const repo = join(work, `restic-first-${run}`);
      const fresh = resticClient(repo, work);
      fresh.init();
      firsts.restic.push(fresh.backup(data));
      rmSync(repo, { recursive: true, force: true });
    }
    const fullBackup = median(firsts.ours.map((b) => b.bytes));
    wallet.db.close();
    wallet = undefined;
    rmSync(data, { recursive: true, force: true });
    for (const f of [prev, cur]) rmSync(f, { force: true });

    const figures: Figures = {
      header,
      load: [loadAtStart, 0],
      mb: MB,
      dbBytes,
      pages: Math.ceil(dbBytes / PAGE_SIZE),
      first,
      days,
      firsts,
      restore: restores,
      fullBackup,
      resticRepo: duBytes(join(work, 'restic-repo')),
    };
    if (BIG_MB > 0) figures.big = bigCase(work, serve);
    figures.load[1] = loadavg()[0]!;
    const gs = goals(figures);
    console.log('');
    for (const line of formatReport(figures, gs)) console.log(line);
    const out = join(ROOT, 'bench/out');
    mkdirSync(out, { recursive: true });
    const file = join(out, `incremental-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify({ ...figures, goals: gs }, null, 2)}\n`);
    console.log(`\nJSON: ${file}`);
    ok = true;
  } finally {
    wallet?.db.close();
    await serve.stop();
    if (ok && process.env.BENCH_KEEP !== '1') rmSync(work, { recursive: true, force: true });
    else console.log(`work directory kept: ${work}`);
  }
}

await main();
