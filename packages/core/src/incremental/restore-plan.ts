/**
 * The restore plan of an incremental backup (FORMAT.md §8.7): for each pack, the pieces
 * to take from its plaintext, sorted by offset, each with the entry and the position in
 * the restored file it goes to. A restorer streams one pack at a time and writes each
 * piece with a positioned write; since every page has exactly one place, the order in
 * which packs arrive does not matter. Pure: no I/O.
 * @module
 */
import { MalformedManifestError } from '../errors.ts';
import type { Manifest, ManifestPack } from './types.ts';

/** Bytes of one pack's plaintext that belong at one place in one restored file. */
export interface RestorePiece {
  /** Offset in the pack's plaintext. */
  offset: number;
  /** Bytes. */
  length: number;
  /** Index of the file or database in `manifest.entries`. */
  entry: number;
  /** Byte position in the restored file: `(first page − 1) · page_size` for pages. */
  position: number;
}

/** What to take from one pack. */
export interface PackRestore {
  /** Index of the pack in `manifest.packs`. */
  pack: number;
  /** The manifest's record of it (key, size, SHA-256, plaintext size). */
  record: ManifestPack;
  /** Pieces in increasing offset order, none overlapping. */
  pieces: RestorePiece[];
}

/**
 * Plans a restore: one {@link PackRestore} per pack, in the manifest's order. Checks
 * again what makes one pass per pack enough: every page of every database and every
 * non-empty file has exactly one place, and no two pieces of a pack overlap.
 * @param manifest - a decoded manifest
 * @returns the packs' pieces
 * @throws MalformedManifestError if a page or file has no place or two, or pieces overlap
 * @example
 * ```ts
 * for (const p of restorePlan(manifest)) await restorePack(p); // any order, any concurrency
 * ```
 */
export function restorePlan(manifest: Manifest): PackRestore[] {
  const plan: PackRestore[] = manifest.packs.map((record, pack) => ({ pack, record, pieces: [] }));
  const piece = (pack: number, p: RestorePiece) => {
    const target = plan[pack];
    if (!target) throw new MalformedManifestError('a reference to a pack not listed');
    target.pieces.push(p);
  };
  for (const [entry, e] of manifest.entries.entries()) {
    if (e.type === 'file' && e.size > 0)
      piece(e.pack, { offset: e.offset, length: e.size, entry, position: 0 });
    if (e.type !== 'database') continue;
    // Runs are consecutive from page 1: page p of a run starting at s is at offset + (p − s)·size.
    let page = 1;
    for (const run of e.runs) {
      const position = (page - 1) * e.pageSize;
      piece(run.pack, { offset: run.offset, length: run.count * e.pageSize, entry, position });
      page += run.count;
    }
    if (page !== e.pageCount + 1)
      throw new MalformedManifestError(`entry ${entry}: pages without exactly one place`);
  }
  for (const p of plan) {
    p.pieces.sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < p.pieces.length; i++) {
      const prev = p.pieces[i - 1]!;
      if (prev.offset + prev.length > p.pieces[i]!.offset)
        throw new MalformedManifestError(`pack ${p.pack}: two references overlap`);
    }
    const last = p.pieces[p.pieces.length - 1];
    if (last && last.offset + last.length > p.record.plainSize)
      throw new MalformedManifestError(`pack ${p.pack}: reference past the end of its pack`);
  }
  return plan;
}
