/**
 * The test-vector corpus (docs/FORMAT.md §7): every vector decrypts to its expected
 * outcome, negatives release no unverified plaintext, positives re-encrypt to identical
 * bytes with the recorded randomness, the legacy positives agree with the independent
 * Python implementation, and the committed files equal a fresh generation.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../packages/core/src/bytes.ts';
import {
  DecryptionError,
  InvalidMnemonicError,
  LimitExceededError,
  NotABackupError,
  UnsupportedVersionError,
} from '../packages/core/src/errors.ts';
import { encryptBackupBytes, openBackup } from '../packages/core/src/format.ts';
import { createKeyring } from '../packages/core/src/keys.ts';
import { decodeLegacyText } from '../packages/core/src/legacy-text.ts';
import { collect, fromBytes } from '../packages/core/src/stream.ts';
import { createEntryGuard, DEFAULT_LIMITS } from '../packages/client/src/archive/guards.ts';
import { readArchive } from '../packages/client/src/archive/read.ts';
import {
  type Expect,
  generate,
  type LineWrap,
  replayRandom,
  sha256Hex,
  wrapText,
} from '../scripts/vectors/common.ts';
import { CORPUS_DIRS, generateCorpus } from '../scripts/vectors/corpus.ts';
import { noahRestore } from '../scripts/vectors/noah-app.ts';

/** A vector's JSON record (FORMAT.md §7.2). */
interface Record {
  name: string;
  format: 'v2' | 'seed-v0' | 'noah-v1' | 'detect';
  expect: Expect;
  note: string;
  mnemonic: string;
  blob_file: string;
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
  /** The algorithm of a compressed payload, when not deflate. */
  compression?: 'deflate' | 'zstd';
  payload_kind?: 'raw' | 'tar' | 'zip';
  line_wrap?: LineWrap;
  base?: string;
  mutation?: string;
  max_released_bytes?: number;
  /** noah-v1: the `.bin` is the blob itself, not its base64 text (FORMAT.md §4.4). */
  binary?: boolean;
  /** noah-v1 made as Noah's app makes it (FORMAT.md §4.5). */
  noah_app?: { platform: 'ios' | 'android'; variant: string };
  /** Each file a restore of the ZIP plaintext gives, sorted by path. */
  restored?: { path: string; size: number; sha256: string }[];
}

const ROOT = import.meta.dirname;
const PYTHON = join(ROOT, '..', 'scripts', 'crosscheck_legacy.py');

const ERRORS = {
  decryption_failed: DecryptionError,
  not_a_backup: NotABackupError,
  unsupported_version: UnsupportedVersionError,
  limit_exceeded: LimitExceededError,
  invalid_mnemonic: InvalidMnemonicError,
} as const;

function load(): { record: Record; blob: Uint8Array }[] {
  const out: { record: Record; blob: Uint8Array }[] = [];
  // incremental/ holds objects of another kind, with records of their own: read by
  // incremental-vectors.test.ts (its files are still compared with a fresh generation below).
  for (const dir of CORPUS_DIRS.filter((d) => d !== 'incremental'))
    for (const f of readdirSync(join(ROOT, dir)).sort()) {
      if (!f.endsWith('.json')) continue;
      const record = JSON.parse(readFileSync(join(ROOT, dir, f), 'utf8')) as Record;
      out.push({ record, blob: new Uint8Array(readFileSync(join(ROOT, dir, record.blob_file))) });
    }
  return out;
}

const VECTORS = load();
const BY_NAME = new Map(VECTORS.map((v) => [v.record.name, v]));

function plaintextOf(r: Record): Uint8Array {
  if (r.plaintext_hex !== undefined) return hexToBytes(r.plaintext_hex);
  return generate(r.plaintext_generator!, r.plaintext_length!);
}

/** Opens and drains a vector as a reader would, in 4093-byte pieces. */
async function read(r: Record, blob: Uint8Array) {
  const keyring = await createKeyring(r.mnemonic);
  const released: Uint8Array[] = [];
  try {
    const opened = await openBackup(fromBytes(blob, 4093), {
      keyring,
      ...(r.max_plaintext_bytes === undefined ? {} : { maxPlaintextBytes: r.max_plaintext_bytes }),
    });
    for await (const c of opened.plaintext) released.push(c.slice());
    return { opened, released: Buffer.concat(released), error: undefined };
  } catch (error) {
    return { opened: undefined, released: Buffer.concat(released), error };
  } finally {
    keyring.destroy();
  }
}

describe('test vectors: the corpus', () => {
  it('covers every format and outcome, and stays small', () => {
    const outcomes = new Set(VECTORS.map((v) => `${v.record.format}:${v.record.expect}`));
    for (const want of [
      'v2:ok',
      'v2:decryption_failed',
      'v2:not_a_backup',
      'v2:unsupported_version',
      'v2:limit_exceeded',
      'v2:invalid_mnemonic',
      'seed-v0:ok',
      'seed-v0:decryption_failed',
      'seed-v0:not_a_backup',
      'seed-v0:limit_exceeded',
      'noah-v1:ok',
      'noah-v1:decryption_failed',
      'noah-v1:not_a_backup',
      'detect:not_a_backup',
    ])
      expect(outcomes, want).toContain(want);
    const total = VECTORS.reduce((n, v) => n + v.blob.length + JSON.stringify(v.record).length, 0);
    // The chunk-level negatives hold up to three 256 KiB chunks (FORMAT.md §5.4).
    expect(total).toBeLessThan(6 * 2 ** 20);
  });

  it("holds Noah's app's files: base64 and exported, both ZIP layouts, the empty wallet", () => {
    const apps = VECTORS.filter((v) => v.record.noah_app && v.record.expect === 'ok');
    const kinds = new Set(
      apps.map((v) => `${v.record.noah_app!.platform}:${v.record.binary ? 'binary' : 'base64'}`),
    );
    expect([...kinds].sort()).toEqual([
      'android:base64',
      'android:binary',
      'ios:base64',
      'ios:binary',
    ]);
    expect(apps.some((v) => v.record.restored!.length === 0)).toBe(true);
    for (const v of VECTORS.filter((x) => x.record.binary)) expect(v.blob[0]).toBe(0x01);
  });

  it('equals a fresh generation (generator and files cannot drift)', async () => {
    const fresh = await generateCorpus();
    const onDisk = new Set<string>();
    for (const dir of CORPUS_DIRS)
      for (const f of readdirSync(join(ROOT, dir))) onDisk.add(`${dir}/${f}`);
    expect([...onDisk].sort()).toEqual([...fresh.keys()].sort());
    for (const [path, bytes] of fresh) {
      const disk = readFileSync(join(ROOT, path));
      expect(Buffer.compare(disk, bytes), `${path} differs: run npm run vectors`).toBe(0);
    }
  });
});

describe('test vectors: decrypt every vector', () => {
  for (const { record: r, blob } of VECTORS) {
    it(`${r.format}/${r.name} → ${r.expect}`, async () => {
      expect(blob.length).toBe(r.blob_length);
      expect(sha256Hex(blob)).toBe(r.blob_sha256);
      const { opened, released, error } = await read(r, blob);
      if (r.expect === 'ok') {
        expect(error).toBeUndefined();
        expect(opened!.format).toBe(r.format);
        expect(released.length).toBe(r.plaintext_length);
        expect(sha256Hex(released)).toBe(r.plaintext_sha256);
        if (r.format === 'v2') {
          const h = opened!.header!;
          expect(h.createdAt.toISOString()).toBe(r.created_at);
          expect(h.createdAt.getTime()).toBe(r.created_at_ms);
          expect(h.sequence.toString()).toBe(r.sequence);
          expect(h.compression).toBe(r.compress ? (r.compression ?? 'deflate') : 'none');
          expect(h.payloadKind).toBe(r.payload_kind);
        } else expect(opened!.header).toBeUndefined();
        return;
      }
      expect(error).toBeInstanceOf(ERRORS[r.expect]);
      expect((error as { code: string }).code).toBe(r.expect);
      // A streaming reader may release only chunks verified before the damage; most
      // vectors are broken before the first chunk and release nothing at all.
      expect(released.length).toBeLessThanOrEqual(r.max_released_bytes!);
      if (released.length > 0) {
        const base = plaintextOf(BY_NAME.get(r.base!)!.record);
        expect(bytesToHex(released)).toBe(bytesToHex(base.subarray(0, released.length)));
      }
    });
  }
});

describe('test vectors: re-encrypt every positive with the recorded randomness', () => {
  for (const { record: r, blob } of VECTORS.filter((v) => v.record.expect === 'ok')) {
    it(`${r.format}/${r.name}`, async () => {
      const keyring = await createKeyring(r.mnemonic);
      const replay = replayRandom(hexToBytes(r.random_hex!));
      try {
        const plaintext = plaintextOf(r);
        expect(sha256Hex(plaintext)).toBe(r.plaintext_sha256);
        let out = await encryptBackupBytes(plaintext, {
          format: r.format as 'v2' | 'seed-v0' | 'noah-v1',
          keyring,
          createdAt: new Date(r.created_at_ms ?? 0),
          ...(r.sequence === undefined ? {} : { sequence: BigInt(r.sequence) }),
          ...(r.payload_kind === undefined ? {} : { payloadKind: r.payload_kind }),
          compress: r.compress ?? false,
          ...(r.compression ? { compression: r.compression } : {}),
          random: replay.random,
        });
        replay.done();
        if (r.line_wrap) out = wrapText(out, r.line_wrap);
        // The exported file is the text decoded (FORMAT.md §4.4).
        if (r.binary) out = decodeLegacyText(out);
        expect(Buffer.compare(out, blob)).toBe(0);
      } finally {
        keyring.destroy();
      }
    });
  }
});

describe('test vectors: legacy positives against the Python implementation', () => {
  let dir: string;
  beforeAll(() => {
    const r = spawnSync('python3', ['-c', 'import cryptography'], { encoding: 'utf8' });
    if (r.status !== 0)
      throw new Error(`needs python3 with "cryptography" (python3-cryptography): ${r.stderr}`);
    dir = mkdtempSync(join(tmpdir(), 'noah-vectors-'));
    return () => rmSync(dir, { recursive: true, force: true });
  });

  const py = (args: string[], mnemonic: string) =>
    spawnSync('python3', [PYTHON, ...args], {
      env: { ...process.env, NOAH_SEEDPHRASE: mnemonic },
      encoding: 'utf8',
    });

  const legacy = VECTORS.filter((v) => v.record.expect === 'ok' && v.record.format !== 'v2');
  for (const { record: r, blob } of legacy) {
    it(`${r.format}/${r.name}: Python decrypts it, and encrypts the same text`, () => {
      const format = r.format as 'seed-v0' | 'noah-v1';
      const inPath = join(dir, `${r.name}.in`);
      const outPath = join(dir, `${r.name}.out`);
      // The Python tool reads text: hand it the exported file's blob as base64.
      writeFileSync(inPath, r.binary ? Buffer.from(blob).toString('base64') : blob);
      const dec = py(['decrypt', '--format', format, '--in', inPath, '--out', outPath], r.mnemonic);
      expect(dec.status, dec.stderr).toBe(0);
      expect(sha256Hex(readFileSync(outPath))).toBe(r.plaintext_sha256);

      const random = r.random_hex!;
      const ivSalt =
        format === 'seed-v0'
          ? ['--iv', random]
          : ['--salt', random.slice(0, 32), '--iv', random.slice(32)];
      writeFileSync(inPath, plaintextOf(r));
      const enc = py(
        ['encrypt', '--format', format, '--in', inPath, '--out', outPath, ...ivSalt],
        r.mnemonic,
      );
      expect(enc.status, enc.stderr).toBe(0);
      let text: Uint8Array = new Uint8Array(readFileSync(outPath));
      if (r.line_wrap) text = wrapText(text, r.line_wrap);
      if (r.binary) text = decodeLegacyText(text);
      expect(Buffer.compare(text, blob)).toBe(0);
    });
  }
});

/** Each file of a restored tree: path, size, SHA-256, sorted by path. */
async function treeOf(root: string, rel = ''): Promise<NonNullable<Record['restored']>> {
  const out: NonNullable<Record['restored']> = [];
  for (const d of await readdir(join(root, rel), { withFileTypes: true })) {
    const path = rel === '' ? d.name : `${rel}/${d.name}`;
    if (d.isDirectory()) out.push(...(await treeOf(root, path)));
    else {
      const data = await readFile(join(root, path));
      out.push({ path, size: data.length, sha256: sha256Hex(data) });
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

describe('test vectors: the wallet directory a ZIP plaintext restores to (FORMAT.md §4.5)', () => {
  for (const { record: r, blob } of VECTORS.filter((v) => v.record.restored)) {
    it(`${r.format}/${r.name}: decrypts, unzips, and restores ${r.restored!.length} files in place`, async () => {
      const { released: zip, error } = await read(r, blob);
      expect(error).toBeUndefined();
      const got: NonNullable<Record['restored']> = [];
      const guard = createEntryGuard(DEFAULT_LIMITS);
      for await (const e of readArchive('zip', fromBytes(zip), { guard, limits: DEFAULT_LIMITS }))
        if (e.type === 'file') {
          const data = await collect(e.body);
          got.push({ path: e.path, size: data.length, sha256: sha256Hex(data) });
        }
      got.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      expect(got).toEqual(r.restored);
    });
  }

  // The same tree as Noah's own restore puts in its wallet directory: in place means
  // what the app means.
  for (const { record: r, blob } of VECTORS.filter((v) => v.record.noah_app && v.record.restored)) {
    it(`${r.name}: Noah's app restores the same files`, async () => {
      const device = mkdtempSync(join(tmpdir(), 'noah-vector-app-'));
      mkdirSync(join(device, 'documents'));
      try {
        const text = r.binary ? Buffer.from(blob).toString('base64') : Buffer.from(blob).toString();
        const wallet = noahRestore(text, r.mnemonic, {
          documents: join(device, 'documents'),
          cache: join(device, 'cache'),
          variant: r.noah_app!.variant,
        });
        expect(existsSync(wallet)).toBe(r.restored!.length > 0);
        if (existsSync(wallet)) expect(await treeOf(wallet)).toEqual(r.restored);
      } finally {
        rmSync(device, { recursive: true, force: true });
      }
    });
  }
});
