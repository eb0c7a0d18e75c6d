/**
 * Timings of core's pure-JavaScript platform inside the Hermes VM (bench/hermes.bench.ts):
 * why React Native needs native crypto (docs/REACT-NATIVE.md). Prints `MEASURE` lines.
 * @module
 */
import { collect, fromBytes } from '../../../core/src/stream.ts';
import * as js from '../../../core/src/platform/js.ts';

declare const print: (line: string) => void;
declare const NOAH_FULL_KDF: boolean;

const MiB = 2 ** 20;

function report(name: string, ms: number, bytes?: number): void {
  const rate = bytes === undefined ? undefined : bytes / MiB / (ms / 1000);
  print(`MEASURE ${JSON.stringify({ name, ms, mibPerS: rate })}`);
}

async function time(name: string, body: () => Promise<unknown>, bytes?: number): Promise<void> {
  const t = Date.now();
  await body();
  report(name, Date.now() - t, bytes);
}

/** Compressible bytes, like a wallet database's text columns with noise. */
function data(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = 7;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s >>> 24 < 32 ? s >>> 24 : 97 + (i % 23);
  }
  return out;
}

async function main(): Promise<void> {
  const n = 4 * MiB;
  const plain = data(n);
  const key = new Uint8Array(32).fill(7);
  const nonce = new Uint8Array(12).fill(1);
  const gcm = js.aesGcm(key);
  let sealed: Uint8Array = new Uint8Array(0);
  await time(
    'AES-256-GCM encrypt',
    async () => {
      sealed = await gcm.encrypt(nonce, plain);
    },
    n,
  );
  await time('AES-256-GCM decrypt', () => gcm.decrypt(nonce, sealed), n);
  await time('PBKDF2-SHA-512 2,048 rounds (BIP39 seed)', () =>
    js.pbkdf2Sha512(new Uint8Array(48), new Uint8Array(8), 2048, 64),
  );
  await time('PBKDF2-SHA-256 10,000 rounds (seed-v0)', () =>
    js.pbkdf2Sha256(new Uint8Array(48), new Uint8Array(16), 10_000, 32),
  );
  if (NOAH_FULL_KDF)
    await time('PBKDF2-SHA-256 600,000 rounds (noah-v1)', () =>
      js.pbkdf2Sha256(new Uint8Array(48), new Uint8Array(16), 600_000, 32),
    );
  let z: Uint8Array = new Uint8Array(0);
  await time(
    'deflate level 6 (pako)',
    async () => {
      z = await collect(js.deflate(fromBytes(plain)));
    },
    n,
  );
  await time('inflate (pako)', () => collect(js.inflate(fromBytes(z), { maxOutputBytes: n })), n);
  await time('HMAC-SHA-256 of 4 KiB pages', () => js.hmacSha256(key).pages(plain, 4096, 16), n);
  await time('SHA-256', async () => js.sha256().update(plain).digest(), n);
  print('DONE');
}

main().catch((e) => print(`CRASH ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
