/**
 * Shared parts of the test-vector generator (docs/FORMAT.md §7): the vector record, the
 * deterministic byte generators that stand in for the CSPRNG and for large plaintexts,
 * and the fixed inputs every vector uses. Everything here is reproducible in any
 * language from FORMAT.md §7.3 alone.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, utf8ToBytes } from '../../packages/core/src/bytes.ts';
import type { RandomBytes } from '../../packages/core/src/clock.ts';

/** The outcome a reader must reach (FORMAT.md §7.2 `expect`). */
export type Expect =
  | 'ok'
  | 'decryption_failed'
  | 'not_a_backup'
  | 'unsupported_version'
  | 'limit_exceeded'
  | 'invalid_mnemonic';

/** Directory of a vector: the format it is (or was, before it was broken). */
export type VectorFormat = 'v2' | 'seed-v0' | 'noah-v1' | 'detect' | 'incremental';

/** How a positive legacy vector's text was wrapped (FORMAT.md §3.3). */
export interface LineWrap {
  /** Base64 characters per line. */
  width: number;
  /** The line break. */
  eol: '\n' | '\r\n';
  /** Whether the text also ends with a line break (Android's Base64.DEFAULT does). */
  final: boolean;
}

/** One vector: its JSON record and its blob (FORMAT.md §7.2). */
export interface Vector {
  name: string;
  format: VectorFormat;
  expect: Expect;
  /** The seedphrase the reader uses, exactly as given (readers trim it). */
  mnemonic: string;
  note: string;
  plaintext: Uint8Array;
  /** How to rebuild a plaintext too large to inline (FORMAT.md §7.3). */
  plaintextGenerator?: string;
  blob: Uint8Array;
  /** Writer inputs of a positive vector. */
  writer?: {
    random: Uint8Array;
    createdAt?: Date;
    sequence?: bigint;
    compress?: boolean;
    compression?: 'deflate' | 'zstd';
    payloadKind?: 'raw' | 'tar' | 'zip';
    lineWrap?: LineWrap;
  };
  /** Negative vectors: the positive vector it was derived from, and how. */
  base?: string;
  mutation?: string;
  /** Negative vectors: verified plaintext a streaming reader may release before failing. */
  maxReleasedBytes?: number;
  /** The reader's plaintext cap, when the vector tests it. */
  maxPlaintextBytes?: number;
  /** noah-v1: the `.bin` is the blob itself (the file Noah's Export saves), not its text. */
  binary?: boolean;
  /** noah-v1 made as Noah's app makes it: which native module and build. */
  noahApp?: { platform: 'ios' | 'android'; variant: string };
  /** Positives whose plaintext is a wallet ZIP: each file a restore gives, by path. */
  restored?: RestoredFile[];
}

/** One file of a restored wallet directory (FORMAT.md §7.2 `restored`). */
export interface RestoredFile {
  path: string;
  size: number;
  sha256: string;
}

/** The seedphrase of every vector unless it says otherwise (a BIP39 test mnemonic). */
export const MNEMONIC =
  'legal winner thank year wave sausage worth useful legal winner thank yellow';
/** A different valid seedphrase, for the wrong-seedphrase vectors. */
export const OTHER_MNEMONIC =
  'letter advice cage absurd amount doctor acoustic avoid letter advice cage above';
/** Twelve valid words with a wrong BIP39 checksum. */
export const BAD_CHECKSUM_MNEMONIC = Array(12).fill('abandon').join(' ');
/** A legacy passphrase that is not BIP39, with surrounding whitespace readers must trim. */
export const UNICODE_PHRASE = '\u3000 çà et là — 日本語の🔑フレーズ \n';
/** The creation time of every v2 vector unless it says otherwise. */
export const CREATED_AT = new Date('2026-01-02T03:04:05.678Z');

/** Largest plaintext stored inline as hex; larger ones name a generator. */
export const INLINE_PLAINTEXT_MAX = 4096;

/**
 * `sha256-stream(label)`: SHA-256(UTF8(label) || u32be(0)) || SHA-256(UTF8(label) ||
 * u32be(1)) || …, truncated to `n` bytes (FORMAT.md §7.3). Incompressible.
 */
export function sha256Stream(label: string, n: number): Uint8Array {
  const prefix = utf8ToBytes(label);
  const out = new Uint8Array(n);
  const counter = new Uint8Array(4);
  for (let i = 0, off = 0; off < n; i++, off += 32) {
    new DataView(counter.buffer).setUint32(0, i);
    const block = sha256(concatBytes(prefix, counter));
    out.set(block.subarray(0, Math.min(32, n - off)), off);
  }
  return out;
}

/** `pattern`: byte i = (167·i + 13) mod 256 (FORMAT.md §7.3). Compresses well. */
export function pattern(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (167 * i + 13) & 0xff;
  return out;
}

/** A plaintext from a generator spec: `pattern`, `zeros` or `sha256-stream:LABEL`. */
export function generate(spec: string, n: number): Uint8Array {
  if (spec === 'pattern') return pattern(n);
  if (spec === 'zeros') return new Uint8Array(n);
  if (spec.startsWith('sha256-stream:')) return sha256Stream(spec.slice(14), n);
  throw new RangeError(`unknown plaintext generator ${spec}`);
}

/**
 * The writer's randomness for vector `name`: `sha256-stream("random:" + name)`, read in
 * order. Records every byte handed out, so the vector can store exactly what was used.
 */
export function seededRandom(label: string): { random: RandomBytes; used(): Uint8Array } {
  const pool = sha256Stream(`random:${label}`, 4096);
  let off = 0;
  return {
    random(n) {
      if (off + n > pool.length) throw new RangeError('seeded random pool exhausted');
      const out = pool.slice(off, off + n);
      off += n;
      return out;
    },
    used: () => pool.slice(0, off),
  };
}

/**
 * Replays recorded randomness; `done()` throws unless every byte was consumed, so a
 * writer that asked for different amounts cannot pass.
 */
export function replayRandom(bytes: Uint8Array): { random: RandomBytes; done(): void } {
  let off = 0;
  return {
    random(n) {
      if (off + n > bytes.length) throw new RangeError('recorded randomness exhausted');
      const out = bytes.slice(off, off + n);
      off += n;
      return out;
    },
    done() {
      if (off !== bytes.length)
        throw new Error(`writer used ${off} of ${bytes.length} recorded random bytes`);
    },
  };
}

/** A copy of `bytes` with bit `bit` of byte `offset` flipped (negative offsets count from the end). */
export function flipBit(bytes: Uint8Array, offset: number, bit = 0): Uint8Array {
  const out = bytes.slice();
  const i = offset < 0 ? out.length + offset : offset;
  if (i < 0 || i >= out.length)
    throw new RangeError(`offset ${offset} outside ${out.length} bytes`);
  out[i]! ^= 1 << bit;
  return out;
}

/** Inserts a line break every `width` characters of an ASCII text (FORMAT.md §3.3). */
export function wrapText(text: Uint8Array, wrap: LineWrap): Uint8Array {
  const s = new TextDecoder().decode(text);
  const lines: string[] = [];
  for (let i = 0; i < s.length; i += wrap.width) lines.push(s.slice(i, i + wrap.width));
  return utf8ToBytes(lines.join(wrap.eol) + (wrap.final ? wrap.eol : ''));
}

/** Hex of the SHA-256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return bytesToHex(sha256(bytes));
}
