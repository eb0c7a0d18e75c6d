/**
 * `admin import-noah` benchmark (docs/OPERATIONS.md "Moving users from a Noah server"):
 * the import streams each object from Noah's bucket into this server's store, so its
 * memory does not grow with a backup's size. One Noah user with one backup of
 * `BENCH_IMPORT_MB` MiB (default 256) in a bucket on the S3 test server, imported into
 * an fs store and SQLite by the CLI (the built bundle: `npm run build` first); the
 * figure is that run's peak RSS (VmHWM) above the peak of a run importing a 1 MiB
 * backup.
 * PostgreSQL (Noah's database) comes from NOAH_TEST_PG_URL or a throwaway cluster
 * (scripts/test-global-setup.ts). Goal: the RSS growth under 64 MiB.
 *
 * Run: `npm run bench -- import-noah`.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MB = Number(process.env.BENCH_IMPORT_MB ?? 256);
const SIZE = MB * 1024 * 1024;
const MIB = 1024 * 1024;
const BIN = fileURLToPath(new URL('../packages/cli/bin/noah-backup.js', import.meta.url));

/** PUTs `size` random bytes to a URL in 1 MiB chunks, never holding them all. */
function putGenerated(url: string, size: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { 'content-length': String(size) } });
    req.once('response', (res) => {
      res.resume();
      res.once('end', () =>
        res.statusCode === 200 ? resolve() : reject(new Error(`seed PUT ${res.statusCode}`)),
      );
    });
    req.once('error', reject);
    let left = size;
    const chunk = randomBytes(MIB);
    const write = () => {
      while (left > 0) {
        const n = Math.min(left, MIB);
        left -= n;
        if (!req.write(n === MIB ? chunk : chunk.subarray(0, n)))
          return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

/** Peak RSS (VmHWM) of a process, read until it exits; MiB. */
async function peakRss(pid: number, exited: Promise<unknown>): Promise<number> {
  let peak = 0;
  let done = false;
  void exited.then(() => {
    done = true;
  });
  while (!done) {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch {}
    await new Promise((r) => setTimeout(r, 5));
  }
  return peak;
}

async function main(): Promise<void> {
  let teardown: (() => void) | undefined;
  if (!process.env.NOAH_TEST_PG_URL) {
    const setup = (await import('../scripts/test-global-setup.ts')).default;
    teardown = await setup();
  }
  const { startNoahFixture, noahKey } = await import(
    '../packages/server/test/helpers/noah-source.ts'
  );
  const noah = await startNoahFixture();
  const dir = mkdtempSync(join(tmpdir(), 'noah-bench-import-'));
  try {
    // Two Noah servers' worth in one: a user with a 1 MiB backup, one with a large one,
    // each imported by its own run of the CLI (the second run finds the first user here).
    const small = `02${randomBytes(32).toString('hex')}`;
    const large = `03${randomBytes(32).toString('hex')}`;
    const env = {
      PATH: process.env.PATH ?? '',
      DATA_DIR: dir,
      DATABASE_URL: `sqlite:${join(dir, 'noah.db')}`,
      BLOB_STORE_URL: pathToFileURL(join(dir, 'blobs')).href,
      MAX_BACKUP_SIZE: String(SIZE),
      LOG_LEVEL: 'error',
      ...noah.env,
    };
    const run = async (label: string, pubkey: string, size: number) => {
      await noah.seed([
        {
          pubkey,
          createdAt: new Date(),
          backups: [{ version: 1, createdAt: new Date(), recordedSize: size }],
        },
      ]);
      await putGenerated(`${noah.s3.rawEndpoint}/${noah.s3.bucket}/${noahKey(pubkey, 1)}`, size);
      const t0 = performance.now();
      const child = spawn(
        process.execPath,
        [BIN, 'admin', 'import-noah', ...noah.flags, '--json'],
        {
          env,
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const exited = new Promise((r) => child.once('close', r));
      const peak = await peakRss(child.pid!, exited);
      const seconds = (performance.now() - t0) / 1000;
      const report = JSON.parse(out);
      if (report.backupsCopied !== 1 || report.bytesCopied !== size)
        throw new Error(`${label}: the import did not copy the object: ${out}`);
      console.log(
        `${label.padEnd(8)} ${(size / MIB).toFixed(0).padStart(5)} MiB object: peak RSS ${peak.toFixed(1)} MiB, ${seconds.toFixed(2)} s`,
      );
      return peak;
    };
    const base = await run('small', small, MIB);
    const big = await run('large', large, SIZE);
    const growth = big - base;
    console.log(`RSS growth       ${growth.toFixed(1)} MiB for ${MB - 1} MiB more object`);
    console.log(`goal             growth < 64 MiB: ${growth < 64 ? 'met' : 'NOT met'}`);
  } finally {
    await noah.cleanup();
    rmSync(dir, { recursive: true, force: true });
    teardown?.();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
