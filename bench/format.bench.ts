/**
 * Format benchmark (README.md "Benchmarks"). In this process: v2 encrypt and decrypt
 * MiB/s on 256 MiB, compression off (goal: at least 0.8x raw node:crypto AES-256-GCM over
 * the same bytes, measured in the same run) and on with compressible data; seed-v0 and
 * noah-v1 throughput at 16 and 50 MiB. In child processes (bench/format-cli.ts): the
 * CLI's peak RSS encrypting and decrypting 1 GiB with v2 (goal under 96 MiB) and 50 MiB
 * with the legacy formats, and a v2 2 GiB encrypt | decrypt round trip through pipes.
 *
 * Run: `npm run bench -- format`. Environment: `BENCH_MIB` (default 256), `BENCH_REPS`
 * (interleaved rounds, default 7), `BENCH_INPROC=0` (skip the in-process part),
 * `BENCH_CLI=0|files|roundtrip` (skip or select the child-process part), `BENCH_CLI_GIB`
 * (RSS file size, default 1), `BENCH_ROUNDTRIP_GIB` (default 2), `BENCH_TMPDIR`.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomFillSync } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { createKeyring } from '@noah-backup/core/keys';
import { encryptBackup, openBackup } from '@noah-backup/core/format';
import { fromBytes } from '@noah-backup/core/stream';
import { V2_CHUNK_SIZE } from '@noah-backup/core/v2';
import { cliBenchmarks } from './format-cli.ts';

const MiB = 2 ** 20;
const SIZE = Number(process.env.BENCH_MIB ?? 256) * MiB;
const READ = MiB; // the CLI reads files 1 MiB at a time
const REPS = 3;
const PAIRED_REPS = Number(process.env.BENCH_REPS ?? 7);
const MNEMONIC = 'legal winner thank year wave sausage worth useful legal winner thank yellow';

/** Throughput of one measured function: from wall time and from this process's CPU time. */
interface Rate {
  wall: number;
  cpu: number;
}

/** Best of `REPS` runs of `fn`, in MiB/s over `bytes`. */
async function best(bytes: number, fn: () => Promise<unknown>): Promise<number> {
  return (await interleaved(bytes, [fn], REPS))[0]!.wall;
}

/**
 * Runs each function once per round and returns each one's best MiB/s, by wall time and
 * by CPU time (user + system of this process). Interleaving exposes a measurement and
 * its baseline to the same background load, and CPU time barely depends on it: the
 * machines here are shared, so the ratios are the figures to trust.
 */
async function interleaved(
  bytes: number,
  fns: (() => Promise<unknown>)[],
  reps = PAIRED_REPS,
): Promise<Rate[]> {
  const wall = fns.map(() => Number.POSITIVE_INFINITY);
  const cpu = fns.map(() => Number.POSITIVE_INFINITY);
  for (let i = 0; i < reps; i++)
    for (const [k, fn] of fns.entries()) {
      (globalThis as { gc?: () => void }).gc?.();
      const c = process.cpuUsage();
      const t = performance.now();
      await fn();
      wall[k] = Math.min(wall[k]!, performance.now() - t);
      const used = process.cpuUsage(c);
      cpu[k] = Math.min(cpu[k]!, (used.user + used.system) / 1000);
    }
  const rate = (ms: number) => bytes / MiB / (ms / 1000);
  return fns.map((_, k) => ({ wall: rate(wall[k]!), cpu: rate(cpu[k]!) }));
}

/** Drains a stream, keeping the chunks only if asked. */
async function drain(s: AsyncIterable<Uint8Array>, keep?: Uint8Array[]): Promise<number> {
  let n = 0;
  for await (const c of s) {
    n += c.length;
    keep?.push(c);
  }
  return n;
}

/** Raw AES-256-GCM over the same bytes, read and written in the same 1 MiB slices. */
function rawGcm(key: Uint8Array, iv: Uint8Array) {
  return {
    async encrypt(data: Uint8Array, keep?: Uint8Array[]) {
      const c = createCipheriv('aes-256-gcm', key, iv);
      for (let off = 0; off < data.length; off += READ) {
        const out = c.update(data.subarray(off, off + READ));
        keep?.push(out);
      }
      c.final();
      return c.getAuthTag();
    },
    async decrypt(sealed: Uint8Array, tag: Uint8Array) {
      const d = createDecipheriv('aes-256-gcm', key, iv);
      d.setAuthTag(tag);
      for (let off = 0; off < sealed.length; off += READ)
        d.update(sealed.subarray(off, off + READ));
      d.final();
    },
    /** One GCM message per v2 chunk, synchronously: the floor of any AEAD so chunked. */
    async perChunk(data: Uint8Array) {
      const k = createSecretKey(key);
      for (let off = 0; off < data.length; off += V2_CHUNK_SIZE) {
        const c = createCipheriv('aes-256-gcm', k, iv);
        c.update(data.subarray(off, off + V2_CHUNK_SIZE));
        c.final();
        c.getAuthTag();
      }
    },
  };
}

/** Text-like data (a wallet database compresses about 3-5x): words and counters. */
function compressible(n: number): Uint8Array {
  const out = new Uint8Array(n);
  const words = new TextEncoder().encode(
    'payment invoice lnbc2500u1p3 preimage 5f1c settled channel peer 03a1b2 fee_msat ',
  );
  randomFillSync(out);
  for (let i = 0; i < n; i += 64)
    for (let j = 0; j < 48 && i + j < n; j++) out[i + j] = words[(i / 64 + j) % words.length]!;
  return out;
}

const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const fmt = (x: number) => `${x.toFixed(0).padStart(6)} MiB/s`;

async function v2Throughput(): Promise<void> {
  const keyring = await createKeyring(MNEMONIC);
  const key = keyring.v2Key();
  const createdAt = new Date(0);
  const random = new Uint8Array(SIZE);
  randomFillSync(random);
  const raw = rawGcm(key, new Uint8Array(12));
  const rawParts: Uint8Array[] = [];
  const tag = await raw.encrypt(random, rawParts);
  const rawSealed = Buffer.concat(rawParts);
  rawParts.length = 0;
  const v2opts = { keyring, createdAt, sequence: 1, compress: false } as const;
  const file: Uint8Array[] = [];
  await drain(encryptBackup(fromBytes(random, READ), v2opts), file);
  const whole = Buffer.concat(file);
  file.length = 0;
  const [rawEnc, chunkFloor, encOff] = (await interleaved(SIZE, [
    () => raw.encrypt(random),
    () => raw.perChunk(random),
    () => drain(encryptBackup(fromBytes(random, READ), v2opts)),
  ])) as [Rate, Rate, Rate];
  const [rawDec, decOff] = (await interleaved(SIZE, [
    () => raw.decrypt(rawSealed, tag),
    async () => drain((await openBackup(fromBytes(whole, READ), { keyring })).plaintext),
  ])) as [Rate, Rate];
  const row = (label: string, r: Rate, base?: Rate) =>
    console.log(
      `  ${label.padEnd(34)} wall ${fmt(r.wall)}${base ? ` = ${ratio(r.wall, base.wall)}` : '       '}   CPU ${fmt(r.cpu)}${base ? ` = ${ratio(r.cpu, base.cpu)}` : ''}`,
    );
  console.log(
    `v2 on ${SIZE / MiB} MiB of random data, compression off (best of ${PAIRED_REPS}, interleaved; ratios to raw; goal >= 0.8x):`,
  );
  row('raw AES-256-GCM encrypt', rawEnc);
  row(`raw AES-GCM, a message per ${V2_CHUNK_SIZE / 1024} KiB`, chunkFloor, rawEnc);
  row('v2 encrypt', encOff, rawEnc);
  row('raw AES-256-GCM decrypt', rawDec);
  row('v2 decrypt', decOff, rawDec);

  const text = compressible(SIZE);
  const cores = availableParallelism();
  const modes = [
    ['zstd', { compression: 'zstd' }, 'zstd level 1, 2 worker threads: the backup default on Node'],
    [
      'deflate',
      { compression: 'deflate' },
      `zlib level 6, 1 MiB segments in parallel, ${cores} cores`,
    ],
    ['deflate', { compression: 'deflate', compressionLevel: 3 }, 'zlib level 3'],
  ] as const;
  console.log(`v2 on ${SIZE / MiB} MiB of compressible data, compression on, plaintext MiB/s:`);
  for (const [name, extra, note] of modes) {
    const on = { ...v2opts, compress: true, ...extra } as const;
    const enc = await best(SIZE, () => drain(encryptBackup(fromBytes(text, READ), on)));
    const zfile: Uint8Array[] = [];
    const zsize = await drain(encryptBackup(fromBytes(text, READ), on), zfile);
    const zwhole = Buffer.concat(zfile);
    const dec = await best(SIZE, async () =>
      drain((await openBackup(fromBytes(zwhole, READ), { keyring })).plaintext),
    );
    console.log(
      `  ${name.padEnd(7)} encrypt ${fmt(enc)}, decrypt ${fmt(dec)}, to ${((100 * zsize) / SIZE).toFixed(1)}% (${note})`,
    );
  }
  keyring.destroy();
}

async function legacyThroughput(): Promise<void> {
  const keyring = await createKeyring(MNEMONIC);
  console.log('legacy formats (whole file in memory; includes PBKDF2 and base64), best of 3:');
  for (const mib of [16, 50]) {
    const data = new Uint8Array(mib * MiB);
    randomFillSync(data);
    for (const format of ['seed-v0', 'noah-v1'] as const) {
      const opts = { format, keyring, createdAt: new Date(0), compress: false };
      const enc = await best(data.length, () => drain(encryptBackup(fromBytes(data, READ), opts)));
      const text: Uint8Array[] = [];
      await drain(encryptBackup(fromBytes(data, READ), opts), text);
      const cap = { keyring, maxPlaintextBytes: data.length };
      const dec = await best(data.length, async () =>
        drain((await openBackup(fromBytes(text[0]!, READ), cap)).plaintext),
      );
      console.log(
        `  ${format.padEnd(8)} ${String(mib).padStart(3)} MiB  encrypt ${fmt(enc)}  decrypt ${fmt(dec)}`,
      );
    }
  }
  keyring.destroy();
}

console.log(`node ${process.version}, ${process.arch}`);
if (process.env.BENCH_INPROC !== '0') {
  await v2Throughput();
  await legacyThroughput();
}
if (process.env.BENCH_CLI !== '0') await cliBenchmarks(MNEMONIC);
