/**
 * The child-process half of the format benchmark: the `noah-backup` CLI's peak RSS
 * (`/usr/bin/time -v`, "Maximum resident set size") and wall time encrypting and
 * decrypting large files, and a v2 2 GiB `encrypt - - | decrypt - -` round trip whose
 * output hash must equal the input's (the "0 bytes to 2 GiB in constant memory").
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { zipSync } from 'fflate';

const BIN = resolve(import.meta.dirname, '../packages/cli/bin/noah-backup.js');
const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** A 16 MiB block: random, or text-like (compresses to about a quarter). */
function block(compressible: boolean, seed: number): Uint8Array {
  const out = new Uint8Array(16 * MiB);
  randomFillSync(out);
  if (compressible)
    for (let i = 0; i < out.length; i += 64) out.fill(0x61 + (((i >> 6) + seed) % 26), i, i + 48);
  return out;
}

async function makeFile(path: string, bytes: number, compressible: boolean): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const b = block(compressible, 0);
    for (let off = 0; off < bytes; off += b.length)
      await fh.write(b, 0, Math.min(b.length, bytes - off));
  } finally {
    await fh.close();
  }
}

/** Result of one measured child. */
interface Measured {
  code: number | null;
  rssMiB: number;
  seconds: number;
  stderr: string;
}

/** Spawns `noah-backup ARGS` under `/usr/bin/time -v`. */
function timed(
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; stdin?: 'pipe' | ChildProcess['stdout'] },
) {
  const t = performance.now();
  const child = spawn('/usr/bin/time', ['-v', process.execPath, BIN, ...args], {
    cwd: opts.cwd,
    env: opts.env,
    stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const done: Promise<Measured> = once(child, 'close').then(([code]) => {
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
    return {
      code: code as number | null,
      rssMiB: m ? Number(m[1]) / 1024 : Number.NaN,
      seconds: (performance.now() - t) / 1000,
      stderr,
    };
  });
  return { child, done };
}

function line(label: string, m: Measured, bytes: number, goal = ''): void {
  if (m.code !== 0) throw new Error(`${label} failed (${m.code}): ${m.stderr}`);
  const rate = bytes / MiB / m.seconds;
  console.log(
    `  ${label.padEnd(40)} peak RSS ${m.rssMiB.toFixed(1).padStart(6)} MiB  ${m.seconds.toFixed(1).padStart(5)} s  ${rate.toFixed(0).padStart(4)} MiB/s ${goal}`,
  );
}

async function fileRuns(dir: string, env: NodeJS.ProcessEnv): Promise<void> {
  const gib = Number(process.env.BENCH_CLI_GIB ?? 1);
  const size = gib * GiB;
  console.log(`CLI peak RSS (child process, /usr/bin/time -v), files on ${dir}:`);
  const run = async (label: string, args: string[], bytes: number, goal = '') =>
    line(label, await timed([...args, '--force'], { cwd: dir, env }).done, bytes, goal);
  await makeFile(join(dir, 'random'), size, false);
  await run(
    `v2 encrypt ${gib} GiB --no-compress`,
    ['encrypt', '--no-compress', 'random', 'r.nb'],
    size,
    '(goal < 96 MiB)',
  );
  await run(
    `v2 decrypt ${gib} GiB (stored)`,
    ['decrypt', 'r.nb', 'r.out'],
    size,
    '(goal < 96 MiB)',
  );
  rmSync(join(dir, 'r.out'));
  rmSync(join(dir, 'r.nb'));
  rmSync(join(dir, 'random'));
  await makeFile(join(dir, 'text'), size, true);
  // The CLI's default compression (zstd level 1 on Node), then zlib at its default level 6.
  for (const [how, extra] of [
    ['zstd', []],
    ['deflate', ['--compression', 'deflate']],
  ] as const) {
    await run(
      `v2 encrypt ${gib} GiB, ${how}`,
      ['encrypt', ...extra, 'text', 't.nb'],
      size,
      '(goal < 96 MiB)',
    );
    await run(
      `v2 decrypt ${gib} GiB, ${how}`,
      ['decrypt', 't.nb', 't.out'],
      size,
      '(goal < 96 MiB)',
    );
    rmSync(join(dir, 't.out'));
    rmSync(join(dir, 't.nb'));
  }
  rmSync(join(dir, 'text'));
  const legacy = 50 * MiB;
  await makeFile(join(dir, 'small'), legacy, false);
  // noah-v1 takes a wallet (docs/FORMAT.md §4.5): the same bytes as bark's db.sqlite in
  // a stored ZIP, which encrypt rewrites in Noah's layout.
  const db = Buffer.concat([Buffer.from('SQLite format 3\0'), readFileSync(join(dir, 'small'))]);
  writeFileSync(join(dir, 'small.zip'), zipSync({ 'db.sqlite': [db, { level: 0 }] }));
  for (const format of ['seed-v0', 'noah-v1']) {
    const input = format === 'noah-v1' ? 'small.zip' : 'small';
    await run(`${format} encrypt 50 MiB`, ['encrypt', '--format', format, input, 's.b64'], legacy);
    await run(`${format} decrypt 50 MiB`, ['decrypt', 's.b64', 's.out'], legacy);
  }
}

/** v2 2 GiB through `encrypt - - | decrypt - -` (a shell pipe), hashing both ends. */
async function roundTrip(dir: string, env: NodeJS.ProcessEnv): Promise<void> {
  const size = Number(process.env.BENCH_ROUNDTRIP_GIB ?? 2) * GiB;
  const node = `${process.execPath} ${BIN}`;
  const cmd =
    `/usr/bin/time -f 'enc %e %M' ${node} encrypt --no-compress - - | ` +
    `/usr/bin/time -f 'dec %e %M' ${node} decrypt - -`;
  const t = performance.now();
  const sh = spawn('sh', ['-c', cmd], { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  sh.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const inHash = createHash('sha256');
  const outHash = createHash('sha256');
  let outBytes = 0;
  sh.stdout.on('data', (c: Buffer) => {
    outHash.update(c);
    outBytes += c.length;
  });
  const closed = once(sh, 'close');
  const b = block(false, 1);
  for (let off = 0; off < size; off += b.length) {
    // Vary each block so a dropped or repeated block changes the hash.
    b[0] = (off / b.length) & 0xff;
    inHash.update(b);
    if (!sh.stdin.write(Buffer.from(b))) await once(sh.stdin, 'drain');
  }
  sh.stdin.end();
  const [code] = await closed;
  const seconds = (performance.now() - t) / 1000;
  const parse = (tag: string): Measured => {
    const m = new RegExp(`^${tag} ([\\d.]+) (\\d+)$`, 'm').exec(stderr);
    return {
      code: m ? 0 : (code as number),
      rssMiB: m ? Number(m[2]) / 1024 : Number.NaN,
      seconds: m ? Number(m[1]) : seconds,
      stderr,
    };
  };
  const same = inHash.digest('hex') === outHash.digest('hex') && outBytes === size;
  console.log(
    `v2 ${size / GiB} GiB round trip, encrypt --no-compress - - | decrypt - - (constant memory):`,
  );
  line(`encrypt ${size / GiB} GiB (stdin to stdout)`, parse('enc'), size);
  line(`decrypt ${size / GiB} GiB (stdin to stdout)`, parse('dec'), size);
  console.log(`  output equals input (SHA-256 of ${outBytes} bytes): ${same ? 'yes' : 'NO'}`);
  if (code !== 0 || !same) throw new Error(`round trip failed (exit ${code}): ${stderr}`);
}

/**
 * Runs the child-process benchmarks in a temp directory (removed afterwards).
 * @param mnemonic - the seedphrase, passed in NOAH_MNEMONIC
 */
export async function cliBenchmarks(mnemonic: string): Promise<void> {
  const dir = mkdtempSync(join(process.env.BENCH_TMPDIR ?? tmpdir(), 'noah-format-bench-'));
  writeFileSync(join(dir, 'm.txt'), mnemonic);
  const env = { PATH: process.env.PATH ?? '', HOME: dir, NOAH_MNEMONIC: mnemonic };
  try {
    const only = process.env.BENCH_CLI;
    if (only !== 'roundtrip') await fileRuns(dir, env);
    if (only !== 'files') await roundTrip(dir, env);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
