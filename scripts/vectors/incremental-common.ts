/**
 * Shared parts of the incremental vectors (docs/FORMAT.md §7.2): the outcomes, the record
 * shape, storage keys.
 * @module
 */
import { MNEMONIC, sha256Hex } from './common.ts';

/** What a reader of an incremental vector must reach (FORMAT.md §7.2, §8.6). */
export type IncExpect =
  | 'ok'
  | 'malformed_manifest'
  | 'unsupported_version'
  | 'unsupported_payload_kind'
  | 'limit_exceeded'
  | 'decryption_failed';

/** One vector of `testdata/incremental/`: its record and its object's bytes. */
export interface IncVector {
  name: string;
  record: Record<string, unknown>;
  blob: Uint8Array;
}

/** The storage key of a vector's object: `b/` and 32 hex digits, as the server makes them. */
export const keyOf = (name: string) =>
  `b/${sha256Hex(new TextEncoder().encode(name)).slice(0, 32)}`;

/** The fields every record starts with (FORMAT.md §7.2). */
export function recordHead(
  name: string,
  object: string,
  expect: IncExpect,
  note: string,
  blob: Uint8Array,
) {
  return {
    name,
    format: 'incremental',
    object,
    expect,
    note,
    mnemonic: MNEMONIC,
    blob_file: `${name}.bin`,
    blob_length: blob.length,
    blob_sha256: sha256Hex(blob),
  };
}
