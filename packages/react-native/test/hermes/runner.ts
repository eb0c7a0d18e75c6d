/**
 * The vector runner bundled for Hermes (hermes-vectors.test.ts): the checks of
 * testdata/vectors.test.ts and testdata/incremental-vectors.test.ts, on the shared code
 * alone, without vitest or Node. Every vector decrypts to its outcome, every positive
 * re-encrypts to identical bytes with its recorded randomness, every manifest decodes to
 * its recorded JSON and restores from its packs. It prints one `RESULT` line per vector
 * and a final `DONE` line; the host judges them.
 * @module
 */
import { bytesToHex, hexToBytes } from '../../../core/src/bytes.ts';
import { encryptBackupBytes, openBackup } from '../../../core/src/format.ts';
import { decodeLegacyText } from '../../../core/src/legacy-text.ts';
import {
  createDigester,
  createRestoreCheck,
  decodeManifest,
  encryptManifest,
  encryptPack,
  type ManifestPack,
  openManifest,
  openPack,
  restorePlan,
  slicePack,
} from '../../../core/src/incremental/index.ts';
import { createKeyring, type Keyring } from '../../../core/src/keys.ts';
import { collect, fromBytes } from '../../../core/src/stream.ts';
import { generate, replayRandom, sha256Hex } from '../../../../scripts/vectors/common.ts';
import {
  type ManifestJson,
  manifestFromJson,
  manifestToJson,
} from '../../../../scripts/vectors/incremental-json.ts';
import { zstdCompressAvailable } from './platform.ts';
import { base64ToBytes, type HostVector, type VectorRecord } from './protocol.ts';

declare const print: (line: string) => void;
declare const NOAH_VECTORS: HostVector[];

/** One keyring per seedphrase for the whole run: the BIP39 seed is slow in JavaScript. */
const keyrings = new Map<string, Promise<Keyring>>();
function keyringOf(mnemonic: string): Promise<Keyring> {
  const known = keyrings.get(mnemonic);
  if (known) return known;
  const k = createKeyring(mnemonic);
  keyrings.set(mnemonic, k);
  return k;
}

/** Throws `what` unless `ok`. */
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

/** A JSON text with sorted keys: records and fresh objects compare whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Inserts line breaks into ASCII base64 text (FORMAT.md §3.3). */
function wrap(text: Uint8Array, w: NonNullable<VectorRecord['line_wrap']>): Uint8Array {
  const eol = Array.from(w.eol, (c) => c.charCodeAt(0));
  const out: number[] = [];
  for (let i = 0; i < text.length; i += w.width) {
    if (i > 0) out.push(...eol);
    out.push(...text.subarray(i, i + w.width));
  }
  if (w.final) out.push(...eol);
  return Uint8Array.from(out);
}

function plaintextOf(r: VectorRecord): Uint8Array {
  if (r.plaintext_hex !== undefined) return hexToBytes(r.plaintext_hex);
  return generate(r.plaintext_generator!, r.plaintext_length!);
}

/** A one-object vector (v2, seed-v0, noah-v1, detect): read, then re-encrypt a positive. */
async function oneObject(r: VectorRecord, blob: Uint8Array, byName: Map<string, HostVector>) {
  const keyring = await keyringOf(r.mnemonic);
  const released: Uint8Array[] = [];
  let error: unknown;
  let opened: Awaited<ReturnType<typeof openBackup>> | undefined;
  try {
    opened = await openBackup(fromBytes(blob, 4093), {
      keyring,
      ...(r.max_plaintext_bytes === undefined ? {} : { maxPlaintextBytes: r.max_plaintext_bytes }),
    });
    for await (const c of opened.plaintext) released.push(c.slice());
  } catch (e) {
    error = e;
  }
  const out = concat(released);
  if (r.expect !== 'ok') {
    const code = (error as { code?: string } | undefined)?.code;
    check(code === r.expect, `expected ${r.expect}, got ${code ?? String(error)}`);
    check(out.length <= r.max_released_bytes!, `released ${out.length} bytes`);
    if (out.length > 0) {
      const base = plaintextOf(byName.get(r.base!)!.record);
      check(bytesToHex(out) === bytesToHex(base.subarray(0, out.length)), 'released wrong bytes');
    }
    return;
  }
  check(error === undefined, `failed: ${String(error)}`);
  check(opened!.format === r.format, `format ${opened!.format}`);
  check(out.length === r.plaintext_length && sha256Hex(out) === r.plaintext_sha256, 'plaintext');
  if (r.format === 'v2') {
    const h = opened!.header!;
    check(h.createdAt.toISOString() === r.created_at, 'created_at');
    check(h.sequence.toString() === r.sequence, 'sequence');
    check(h.compression === (r.compress ? (r.compression ?? 'deflate') : 'none'), 'compression');
    check(h.payloadKind === r.payload_kind, 'payload kind');
  }
  let again = await reencrypt(r, (random) =>
    encryptBackupBytes(plaintextOf(r), {
      format: r.format as 'v2' | 'seed-v0' | 'noah-v1',
      keyring,
      createdAt: new Date(r.created_at_ms ?? 0),
      ...(r.sequence === undefined ? {} : { sequence: BigInt(r.sequence) }),
      ...(r.payload_kind === undefined ? {} : { payloadKind: r.payload_kind as 'raw' }),
      compress: r.compress ?? false,
      ...(r.compression ? { compression: r.compression } : {}),
      random,
    }),
  );
  if (again === undefined) return;
  if (r.line_wrap) again = wrap(again, r.line_wrap);
  // Noah's exported file is the base64 text decoded (docs/FORMAT.md §4.4).
  if (r.binary) again = decodeLegacyText(again);
  check(bytesToHex(again) === bytesToHex(blob), 're-encryption differs from the vector');
}

/** The pack record a manifest vector gives pack `i`, or a pack vector's own. */
function packRecord(r: VectorRecord, byName: Map<string, HostVector>): ManifestPack {
  if (r.pack_index !== undefined) {
    const m = manifestFromJson(byName.get(r.manifest as string)!.record.manifest as ManifestJson);
    return m.packs[r.pack_index]!;
  }
  const [key, size, sha256] = ['b/x', r.blob_length, hexToBytes(r.blob_sha256)];
  return { key, size, sha256, plainSize: r.plaintext_length! };
}

/** An incremental vector (FORMAT.md §8): its reader, re-encryption, restore. */
async function incremental(r: VectorRecord, blob: Uint8Array, byName: Map<string, HostVector>) {
  const keyring = await keyringOf(r.mnemonic);
  const key = keyring.v2Key();
  let got: { error?: unknown; manifest?: unknown; sha256?: Uint8Array; plaintext?: Uint8Array };
  try {
    const source = fromBytes(blob, 4093);
    if (r.object === 'manifest') got = await openManifest(source, { key });
    else if (r.object === 'pack') {
      const { plaintext } = await openPack(source, { key, pack: packRecord(r, byName) });
      got = { plaintext: await collect(plaintext) };
    } else {
      const opened = await openBackup(source, { keyring });
      got = { plaintext: await collect(opened.plaintext) };
    }
  } catch (error) {
    got = { error };
  }
  if (r.expect !== 'ok') {
    const code = (got.error as { code?: string } | undefined)?.code;
    check(code === r.expect, `expected ${r.expect}, got ${code ?? String(got.error)}`);
    if (r.plaintext_hex !== undefined) {
      let err: unknown;
      try {
        decodeManifest(hexToBytes(r.plaintext_hex));
      } catch (e) {
        err = e;
      }
      check((err as { code?: string })?.code === r.expect, 'the decoder alone accepted it');
    }
    return;
  }
  check(got.error === undefined, `failed: ${String(got.error)}`);
  if (r.object === 'manifest') {
    const m = manifestToJson(got.manifest as Parameters<typeof manifestToJson>[0]);
    check(canonical(m) === canonical(r.manifest), 'manifest JSON differs');
    check(bytesToHex(got.sha256!) === r.blob_sha256, 'manifest sha256');
  } else check(sha256Hex(got.plaintext!) === r.plaintext_sha256, 'pack plaintext');
  let oneObjectCode: string | undefined;
  try {
    await openBackup(fromBytes(blob), { keyring });
  } catch (e) {
    oneObjectCode = (e as { code?: string }).code;
  }
  check(oneObjectCode === 'unsupported_payload_kind', `one-object reader: ${oneObjectCode}`);
  const again = await reencrypt(r, async (random) => {
    const opts = {
      key,
      createdAt: new Date(r.created_at_ms!),
      sequence: BigInt(r.sequence!),
      ...(r.compress
        ? { compression: r.compression ?? ('deflate' as const) }
        : { compress: false }),
      random,
    };
    return r.object === 'pack'
      ? await collect(encryptPack(fromBytes(plaintextOf(r)), opts).stream)
      : (await encryptManifest(manifestFromJson(r.manifest as ManifestJson), opts)).bytes;
  });
  if (again !== undefined)
    check(bytesToHex(again) === bytesToHex(blob), 're-encryption differs from the vector');
  if (r.object === 'manifest') await restore(r, keyring, byName);
}

/** Restores a manifest from its pack vectors, proving every digest (FORMAT.md §8.5). */
async function restore(r: VectorRecord, keyring: Keyring, byName: Map<string, HostVector>) {
  const m = manifestFromJson(r.manifest as ManifestJson);
  const files = new Map<number, Uint8Array>();
  for (const [i, e] of m.entries.entries()) {
    if (e.type === 'file') files.set(i, new Uint8Array(e.size));
    if (e.type === 'database') files.set(i, new Uint8Array(e.pageCount * e.pageSize));
  }
  const verify = createRestoreCheck(m, createDigester(keyring.digestKey()));
  for (const p of restorePlan(m)) {
    const pack = byName.get(r.pack_vectors![p.pack]!)!;
    const { plaintext } = await openPack(fromBytes(base64ToBytes(pack.blob), 5000), {
      key: keyring.v2Key(),
      pack: p.record,
    });
    for await (const s of slicePack(plaintext, m, p)) {
      files.get(s.piece.entry)!.set(s.data, s.position);
      await verify.add(s);
    }
  }
  verify.finish();
  const restored = [...files].map(([i, bytes]) => {
    const e = m.entries[i]!;
    return { path: e.path, type: e.type, size: bytes.length, sha256: sha256Hex(bytes) };
  });
  check(canonical(restored) === canonical(r.restored), 'restored files differ');
}

/**
 * Re-encrypts with the recorded randomness; where the writer asked for zstd and this
 * platform has no zstd compressor, checks the writer's refusal instead (FORMAT.md §5.4:
 * such writers use deflate).
 * @returns the bytes, or undefined after a correct refusal
 */
async function reencrypt(
  r: VectorRecord,
  write: (random: (n: number) => Uint8Array) => Promise<Uint8Array>,
): Promise<Uint8Array | undefined> {
  const replay = replayRandom(hexToBytes(r.random_hex!));
  if (r.compress && r.compression === 'zstd' && !(await zstdCompressAvailable())) {
    let code: string | undefined;
    try {
      await write(replay.random);
    } catch (e) {
      code = (e as { code?: string }).code;
    }
    check(code === 'unsupported_compression', `zstd writer: ${code ?? 'no error'}`);
    return undefined;
  }
  const out = await write(replay.random);
  replay.done();
  return out;
}

/** Runs every vector in turn and prints its result. */
async function main(): Promise<void> {
  const byName = new Map(NOAH_VECTORS.map((v) => [v.record.name, v]));
  let n = 0;
  for (const v of NOAH_VECTORS) {
    const r = v.record;
    const started = Date.now();
    let why: string | undefined;
    try {
      const blob = base64ToBytes(v.blob);
      check(blob.length === r.blob_length && sha256Hex(blob) === r.blob_sha256, 'blob hash');
      if (r.format === 'incremental') await incremental(r, blob, byName);
      else await oneObject(r, blob, byName);
    } catch (e) {
      why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    const ms = Date.now() - started;
    print(`RESULT ${JSON.stringify({ id: v.id, ok: why === undefined, why, ms })}`);
    n++;
  }
  print(`DONE ${n}`);
}

main().catch((e) => print(`CRASH ${e instanceof Error ? `${e.stack ?? e.message}` : String(e)}`));
