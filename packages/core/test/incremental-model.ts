/**
 * An in-memory model of the incremental backup loop (FORMAT.md §8.8, §8.9), with real
 * digests and real bytes but no encryption or network: a wallet directory as data, a
 * device cache, the packs written so far, and a restore that places every slice and
 * proves it. The plan and restore functions under test are the real ones.
 */
import { createHash } from 'node:crypto';
import { concatBytes } from '../src/bytes.ts';
import { buildManifest } from '../src/incremental/build.ts';
import { createDigester } from '../src/incremental/digest.ts';
import { type BackupPlan, type CompactionParams, planBackup } from '../src/incremental/plan.ts';
import { createRestoreCheck, slicePack } from '../src/incremental/restore-check.ts';
import { restorePlan } from '../src/incremental/restore-plan.ts';
import type { TreeEntry } from '../src/incremental/tree.ts';
import type { Manifest, ManifestPack } from '../src/incremental/types.ts';
import { comparePaths, parentPath } from '../src/paths.ts';
import { fromBytes } from '../src/stream.ts';
import { v2CiphertextSize } from '../src/v2/size.ts';

/** A wallet directory: files and databases (as pages) by path; directories implied. */
export interface Wallet {
  files: Map<string, Uint8Array>;
  databases: Map<string, { pageSize: number; pages: Uint8Array[] }>;
}

/** What the device keeps between backups, and the storage. */
export interface Device {
  manifest?: Manifest;
  /** Page digests of each database, as of `manifest`. */
  cache: Map<string, { pageSize: number; digests: Uint8Array }>;
  /** Every pack written, by key: its plaintext. */
  store: Map<string, Uint8Array>;
  written: number;
}

export const DIGEST_KEY = new Uint8Array(32).fill(7);
const digester = createDigester(DIGEST_KEY);
const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

/** Today's tree: digests, and changed pages against the cache. */
export async function treeOf(w: Wallet, device: Device): Promise<TreeEntry[]> {
  const dirs = new Set<string>();
  const paths = [...w.files.keys(), ...w.databases.keys()];
  for (const p of paths) for (let q = parentPath(p); q; q = parentPath(q)) dirs.add(q);
  const out: TreeEntry[] = [];
  for (const path of [...new Set([...paths, ...dirs])].sort(comparePaths)) {
    const file = w.files.get(path);
    const db = w.databases.get(path);
    if (file)
      out.push({
        type: 'file',
        path,
        size: file.length,
        digest: await digester.file(fromBytes(file)),
      });
    else if (db) {
      const digests = await digester.pages(concatBytes(...db.pages), db.pageSize);
      const cached = device.cache.get(path);
      const changed: number[] = [];
      for (let i = 0; i < db.pages.length; i++)
        if (!cached || cached.pageSize !== db.pageSize || !same(cached.digests, digests, i))
          changed.push(i + 1);
      const digest = digester.database(db.pageSize, digests);
      out.push({
        type: 'database',
        path,
        pageSize: db.pageSize,
        pageCount: db.pages.length,
        digest,
        changed,
      });
    } else out.push({ type: 'directory', path });
  }
  return out;
}

function same(a: Uint8Array, b: Uint8Array, page: number): boolean {
  if ((page + 1) * 16 > a.length) return false;
  for (let i = page * 16; i < (page + 1) * 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The plaintext of one planned pack, read from the wallet as it is now. */
export function packBytes(w: Wallet, plan: BackupPlan, k: number): Uint8Array {
  return concatBytes(
    ...plan.packs[k]!.items.map((it) =>
      it.type === 'file'
        ? w.files.get(it.path)!
        : concatBytes(
            ...w.databases.get(it.path)!.pages.slice(it.first - 1, it.first - 1 + it.count),
          ),
    ),
  );
}

/** One backup: plan, write the packs, build the manifest, update the cache. */
export async function backup(w: Wallet, device: Device, params?: CompactionParams) {
  const tree = await treeOf(w, device);
  const plan = planBackup(device.manifest, tree, params);
  const written: ManifestPack[] = plan.packs.map((_, k) => {
    const plain = packBytes(w, plan, k);
    const key = `b/${(device.written++).toString(16).padStart(8, '0')}`;
    device.store.set(key, plain);
    return {
      key,
      size: v2CiphertextSize(plain.length),
      sha256: sha(plain),
      plainSize: plain.length,
    };
  });
  const manifest = buildManifest(device.manifest, tree, plan, written);
  device.manifest = manifest;
  device.cache = new Map();
  for (const e of tree)
    if (e.type === 'database') {
      const db = w.databases.get(e.path)!;
      device.cache.set(e.path, {
        pageSize: db.pageSize,
        digests: await digester.pages(concatBytes(...db.pages), db.pageSize),
      });
    }
  return { plan, manifest, tree };
}

/** Restores a manifest from the store, packs in the given order; proves it. */
export async function restore(
  manifest: Manifest,
  store: Map<string, Uint8Array>,
  order?: number[],
) {
  const files = new Map<number, Uint8Array>();
  for (const [i, e] of manifest.entries.entries()) {
    if (e.type === 'file') files.set(i, new Uint8Array(e.size));
    if (e.type === 'database') files.set(i, new Uint8Array(e.pageCount * e.pageSize));
  }
  const check = createRestoreCheck(manifest, digester);
  const plan = restorePlan(manifest);
  for (const k of order ?? plan.map((_, i) => i)) {
    const p = plan[k]!;
    const plain = store.get(p.record.key)!;
    for await (const s of slicePack(fromBytes(plain, 777), manifest, p)) {
      files.get(s.piece.entry)!.set(s.data, s.position);
      await check.add(s);
    }
  }
  const pageDigests = check.finish();
  return { files, pageDigests };
}

/** The wallet's content by path, as restore() gives it by entry. */
export function contentOf(w: Wallet, manifest: Manifest, files: Map<number, Uint8Array>) {
  const want = new Map<string, string>();
  for (const [p, f] of w.files) want.set(p, Buffer.from(f).toString('hex'));
  for (const [p, db] of w.databases)
    want.set(p, Buffer.from(concatBytes(...db.pages)).toString('hex'));
  const got = new Map<string, string>();
  for (const [i, bytes] of files)
    got.set(manifest.entries[i]!.path, Buffer.from(bytes).toString('hex'));
  return { want, got };
}
