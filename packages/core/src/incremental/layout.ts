/**
 * Pack layout (FORMAT.md §8.9, informative): the pieces a backup writes, cut into packs
 * of about the target plaintext size. Pages may be split between packs; a file never is
 * (the manifest gives it one place), and a file larger than the target is a pack of its
 * own. Pure: no I/O.
 * @module
 */
import { aint } from '../bytes.ts';
import { MAX_PAGE_SIZE } from './types.ts';

/** Bytes a backup writes into a new pack: consecutive pages of a database, or a whole file. */
export type Piece =
  | {
      type: 'pages';
      /** The database's path. */
      path: string;
      /** The first page (from 1) and the number of consecutive pages. */
      first: number;
      count: number;
      pageSize: number;
    }
  | { type: 'file'; path: string; size: number };

/** A piece placed in a pack, at `offset` of the pack's plaintext. */
export type Placement = Piece & { offset: number };

/** Why a new pack is written. */
export type PackKind = 'full' | 'changed' | 'rewritten';

/** One new pack: its pieces in order, each right after the previous one. */
export interface PackLayout {
  /**
   * `'changed'`: today's changed pages and files; `'rewritten'`: live pages and files
   * moved out of compacted packs (kept apart, so packs of rarely changing data stay
   * full); `'full'`: everything, in a full backup.
   */
  kind: PackKind;
  /** Bytes of the pack's plaintext: the sum of its pieces. */
  plainSize: number;
  items: Placement[];
}

/** Bytes of a piece. */
export const lengthOf = (p: Piece): number => (p.type === 'file' ? p.size : p.count * p.pageSize);

/**
 * Cuts pieces into packs of at most `target` plaintext bytes (a file larger than that
 * gets a pack of its own), in the order given.
 * @param pieces - what to write; empty files are not written
 * @param kind - the kind of every pack made
 * @param target - plaintext bytes per pack, at least the largest page size (65,536)
 * @returns the packs, each with at least one placement
 * @throws RangeError if `target` is below 65,536
 * @example
 * ```ts
 * layoutPacks([{ type: 'pages', path: 'db', first: 1, count: 2048, pageSize: 4096 }], 'full', 4 << 20)
 * // two packs of 1,024 pages
 * ```
 */
export function layoutPacks(
  pieces: readonly Piece[],
  kind: PackKind,
  target: number,
): PackLayout[] {
  aint('target', target, MAX_PAGE_SIZE); // a pack always has room for one page
  const packs: PackLayout[] = [];
  let current: PackLayout = { kind, plainSize: 0, items: [] };
  const flush = () => {
    if (current.items.length > 0) packs.push(current);
    current = { kind, plainSize: 0, items: [] };
  };
  const add = (p: Placement, length: number) => {
    current.items.push(p);
    current.plainSize += length;
  };
  for (const piece of pieces) {
    const length = lengthOf(piece);
    if (length === 0) continue;
    if (piece.type === 'file') {
      if (current.plainSize + length > target) flush();
      add({ ...piece, offset: current.plainSize }, length);
      if (length > target) flush(); // a large file is a pack of its own
      continue;
    }
    let { first, count } = piece;
    while (count > 0) {
      const fit = Math.floor((target - current.plainSize) / piece.pageSize);
      if (fit === 0) {
        flush();
        continue;
      }
      const take = Math.min(fit, count);
      add({ ...piece, first, count: take, offset: current.plainSize }, take * piece.pageSize);
      first += take;
      count -= take;
    }
  }
  flush();
  return packs;
}
