/**
 * The corpus as files (docs/FORMAT.md §7.1–7.2): `testdata/<format>/<name>.json` with the
 * vector's record and `testdata/<format>/<name>.bin` with the backup file's exact bytes.
 * @module
 */
import { bytesToHex, utf8ToBytes } from '../../packages/core/src/bytes.ts';
import type { Vector, VectorFormat } from './common.ts';
import { INLINE_PLAINTEXT_MAX, sha256Hex } from './common.ts';
import { incrementalVectors } from './incremental.ts';
import { legacyVectors } from './legacy.ts';
import { noahAppVectors } from './noah.ts';
import { v2Vectors } from './v2.ts';

/** The directories under `testdata/` that the generator owns. */
export const CORPUS_DIRS: readonly VectorFormat[] = [
  'v2',
  'seed-v0',
  'noah-v1',
  'detect',
  'incremental',
];

/** The JSON record of a vector (FORMAT.md §7.2); field order is fixed. */
export function vectorRecord(v: Vector): Record<string, unknown> {
  const r: Record<string, unknown> = {
    name: v.name,
    format: v.format,
    expect: v.expect,
    note: v.note,
    mnemonic: v.mnemonic,
    blob_file: `${v.name}.bin`,
    blob_length: v.blob.length,
    blob_sha256: sha256Hex(v.blob),
  };
  if (v.maxPlaintextBytes !== undefined) r.max_plaintext_bytes = v.maxPlaintextBytes;
  if (v.binary) r.binary = true;
  if (v.noahApp) r.noah_app = v.noahApp;
  if (v.writer) {
    r.plaintext_length = v.plaintext.length;
    r.plaintext_sha256 = sha256Hex(v.plaintext);
    if (v.plaintext.length <= INLINE_PLAINTEXT_MAX) r.plaintext_hex = bytesToHex(v.plaintext);
    else r.plaintext_generator = v.plaintextGenerator;
    r.random_hex = bytesToHex(v.writer.random);
    const w = v.writer;
    if (w.createdAt) {
      r.created_at = w.createdAt.toISOString();
      r.created_at_ms = w.createdAt.getTime();
    }
    if (w.sequence !== undefined) r.sequence = w.sequence.toString();
    r.compress = w.compress ?? false;
    if (w.compression) r.compression = w.compression;
    if (w.payloadKind) r.payload_kind = w.payloadKind;
    if (w.lineWrap) r.line_wrap = w.lineWrap;
    if (v.restored) r.restored = v.restored;
  } else {
    if (v.base) r.base = v.base;
    r.mutation = v.mutation;
    r.max_released_bytes = v.maxReleasedBytes ?? 0;
  }
  return r;
}

/**
 * Generates the whole corpus in memory.
 * @returns file contents keyed by their path relative to `testdata/`
 */
export async function generateCorpus(): Promise<Map<string, Uint8Array>> {
  const vectors = [...(await v2Vectors()), ...(await legacyVectors()), ...noahAppVectors()];
  const files = new Map<string, Uint8Array>();
  for (const v of vectors) {
    const json = `${JSON.stringify(vectorRecord(v), null, 2)}\n`;
    const dir = v.format;
    if (files.has(`${dir}/${v.name}.json`)) throw new Error(`duplicate vector ${v.name}`);
    files.set(`${dir}/${v.name}.json`, utf8ToBytes(json));
    files.set(`${dir}/${v.name}.bin`, v.blob);
  }
  // FORMAT.md §7.2: the incremental records have fields of their own, built with them.
  for (const v of await incrementalVectors()) {
    if (files.has(`incremental/${v.name}.json`)) throw new Error(`duplicate vector ${v.name}`);
    files.set(`incremental/${v.name}.json`, utf8ToBytes(`${JSON.stringify(v.record, null, 2)}\n`));
    files.set(`incremental/${v.name}.bin`, v.blob);
  }
  return files;
}
