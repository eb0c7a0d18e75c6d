/**
 * What the host (hermes-vectors.test.ts) hands the Hermes vector runner: each vector's
 * JSON record (FORMAT.md §7.2) and its blob as base64, and the host's PBKDF2 table.
 * @module
 */
import { base64 } from '@scure/base';

/** A vector's record: the fields of testdata/vectors.test.ts and incremental-vectors.test.ts. */
export interface VectorRecord {
  name: string;
  format: 'v2' | 'seed-v0' | 'noah-v1' | 'detect' | 'incremental';
  object?: 'manifest' | 'pack' | 'v2';
  expect: string;
  mnemonic: string;
  /** noah-v1 as Noah's exported file: the raw bytes, not base64 text. */
  binary?: boolean;
  blob_length: number;
  blob_sha256: string;
  max_plaintext_bytes?: number;
  plaintext_length?: number;
  plaintext_sha256?: string;
  plaintext_hex?: string;
  plaintext_generator?: string;
  random_hex?: string;
  created_at?: string;
  created_at_ms?: number;
  sequence?: string;
  compress?: boolean;
  compression?: 'deflate' | 'zstd';
  payload_kind?: string;
  line_wrap?: { width: number; eol: '\n' | '\r\n'; final: boolean };
  base?: string;
  max_released_bytes?: number;
  manifest?: unknown;
  pack_vectors?: string[];
  pack_index?: number;
  restored?: unknown;
}

/** One vector as handed over: `id` is unique (the host's sabotaged copies reuse names). */
export interface HostVector {
  id: string;
  record: VectorRecord;
  /** The blob, standard base64. */
  blob: string;
}

/** Decodes the host's base64 (no atob or TextDecoder: Hermes 0.12 has neither). */
export function base64ToBytes(text: string): Uint8Array {
  return base64.decode(text);
}

/** The key of a PBKDF2-SHA-256 computation in the host's table. */
export function pbkdf2Key(
  passwordHex: string,
  saltHex: string,
  iterations: number,
  length: number,
): string {
  return `${passwordHex}:${saltHex}:${iterations}:${length}`;
}
