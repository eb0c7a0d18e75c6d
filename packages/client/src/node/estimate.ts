/**
 * A quick estimate of a backup's size before any of the work (the snapshot's VACUUM INTO
 * and integrity check take most of a large backup's time): the bytes a snapshot would
 * hold, times the compression ratio of evenly spread samples. Used only to refuse a
 * backup that is clearly over the server's limit (docs/API.md, settings
 * `max_backup_size`); a backup near the limit is decided by its real size.
 * @module
 */
import { promises as fsp } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { walkDataDir } from './walk.ts';

/** Samples per file, and their size: 4 MiB read from a file of any size. */
const SAMPLES = 16;
const SAMPLE_BYTES = 256 * 1024;

/**
 * The bytes a database's `VACUUM INTO` copy would hold: its pages less the free ones
 * (page_count − freelist_count, from the header), so deleted data is not counted.
 */
function liveDatabaseBytes(path: string, fileSize: number): number {
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const size = Number(db.pragma('page_size', { simple: true }));
      const pages = Number(db.pragma('page_count', { simple: true }));
      const free = Number(db.pragma('freelist_count', { simple: true }));
      return Math.max(0, pages - free) * size;
    } finally {
      db.close();
    }
  } catch {
    return fileSize; // locked or unreadable now: the snapshot will tell
  }
}

/** Compressed / raw bytes of evenly spread samples of `path` (deflate, fast level). */
async function sampledRatio(path: string, size: number): Promise<{ raw: number; packed: number }> {
  const fh = await fsp.open(path, 'r');
  try {
    const count = size <= SAMPLES * SAMPLE_BYTES ? 1 : SAMPLES;
    const step = count === 1 ? 0 : Math.floor((size - SAMPLE_BYTES) / (count - 1));
    let raw = 0;
    let packed = 0;
    const buf = Buffer.alloc(Math.min(size, count === 1 ? size : SAMPLE_BYTES));
    for (let i = 0; i < count; i++) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, i * step);
      raw += bytesRead;
      packed += deflateRawSync(buf.subarray(0, bytesRead), { level: 1 }).length;
    }
    return { raw, packed };
  } finally {
    await fh.close();
  }
}

/**
 * Estimates the compressed size of a backup of `dataDir`, in bytes, without copying
 * anything: about 4 MiB read per file. Deflate at level 1 stands in for the backup's
 * compression (zstd at level 1 packs wallet data about as well).
 * @param dataDir - the wallet data directory
 * @param limit - below this many uncompressed bytes the estimate is skipped (null)
 * @returns the estimate and the uncompressed bytes it stands for, or null
 */
export async function estimateBackupBytes(
  dataDir: string,
  limit: number,
): Promise<{ estimate: number; bytes: number } | null> {
  const items = await walkDataDir(dataDir);
  // Uncompressed within the limit: nothing to estimate (the usual case costs one walk).
  if (items.reduce((n, i) => n + (i.kind === 'skipped' ? 0 : i.size), 0) <= limit) return null;
  let raw = 0;
  let packed = 0;
  let bytes = 0;
  for (const item of items) {
    if ((item.kind !== 'database' && item.kind !== 'file') || item.size === 0) continue;
    const live = item.kind === 'database' ? liveDatabaseBytes(item.abs, item.size) : item.size;
    const sample = await sampledRatio(item.abs, item.size).catch(() => null);
    if (!sample || sample.raw === 0) continue;
    bytes += live;
    raw += live;
    packed += live * (sample.packed / sample.raw);
  }
  return { estimate: raw === 0 ? 0 : Math.round(packed), bytes };
}
