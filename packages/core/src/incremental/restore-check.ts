/**
 * Placing and proving a restore (FORMAT.md §8.7): `slicePack` cuts one pack's plaintext
 * into the pieces of its restore plan, database pieces in whole pages; the restore check
 * takes every slice written and proves, at the end, that each page and file byte came
 * exactly once and that every database and file digest equals the manifest's. Then the
 * assembled files are byte for byte the snapshot the backup digested. Pure: no I/O.
 * @module
 */
import { equalBytes } from '../bytes.ts';
import { DecryptionError } from '../errors.ts';
import type { HashStream } from '../platform/types.ts';
import type { Digester } from './digest.ts';
import type { PackRestore, RestorePiece } from './restore-plan.ts';
import { type Manifest, PAGE_DIGEST_LENGTH } from './types.ts';

/** Bytes of one piece, and where they go in the restored file. */
export interface PackSlice {
  piece: RestorePiece;
  /** Byte position of `data[0]` in the restored file (page-aligned for a database). */
  position: number;
  /** The bytes: whole pages for a database. Valid until the next slice is requested. */
  data: Uint8Array;
}

/**
 * Cuts a pack's plaintext into slices of its pieces, skipping the bytes no piece uses
 * (garbage left by compaction). Slices of a database piece hold whole pages, so page
 * digests can be taken from each one as it is written.
 * @param plaintext - the pack's plaintext, from `openPack`
 * @param manifest - the manifest the plan was made from
 * @param pack - this pack's entry of `restorePlan(manifest)`
 * @returns the slices, in offset order
 * @throws DecryptionError if the plaintext ends before the last piece; what `plaintext` throws
 * @example
 * ```ts
 * for await (const s of slicePack(opened.plaintext, manifest, p)) await write(s.piece.entry, s.position, s.data);
 * ```
 */
export async function* slicePack(
  plaintext: AsyncIterable<Uint8Array>,
  manifest: Manifest,
  pack: PackRestore,
): AsyncGenerator<PackSlice> {
  const pieces = pack.pieces;
  let k = 0; // the piece being read
  let at = 0; // offset in the plaintext
  let emitted = 0; // bytes of piece k already yielded
  let carry = new Uint8Array(0); // a partial page of piece k
  let carried = 0;
  const unitOf = (p: RestorePiece) => {
    const e = manifest.entries[p.entry]!;
    return e.type === 'database' ? e.pageSize : 1;
  };
  for await (const chunk of plaintext) {
    let off = 0;
    while (off < chunk.length && k < pieces.length) {
      const p = pieces[k]!;
      if (at < p.offset) {
        const skip = Math.min(p.offset - at, chunk.length - off);
        off += skip;
        at += skip;
        continue;
      }
      const unit = unitOf(p);
      let part = chunk.subarray(off, off + Math.min(p.offset + p.length - at, chunk.length - off));
      off += part.length;
      at += part.length;
      if (carried > 0) {
        const n = Math.min(unit - carried, part.length);
        carry.set(part.subarray(0, n), carried);
        carried += n;
        part = part.subarray(n);
        if (carried === unit) {
          yield { piece: p, position: p.position + emitted, data: carry };
          emitted += unit;
          carried = 0;
          carry = new Uint8Array(unit); // the consumer may still hold the last one
        }
      }
      const whole = part.length - (part.length % unit);
      if (whole > 0) {
        yield { piece: p, position: p.position + emitted, data: part.subarray(0, whole) };
        emitted += whole;
      }
      if (whole < part.length) {
        if (carry.length !== unit) carry = new Uint8Array(unit);
        carry.set(part.subarray(whole));
        carried = part.length - whole;
      }
      if (at === p.offset + p.length) {
        k++;
        emitted = 0;
      }
    }
  }
  if (k < pieces.length) throw new DecryptionError(); // the pack is shorter than its pieces
}

/** The restore check of one manifest (see {@link createRestoreCheck}). */
export interface RestoreCheck {
  /** Accounts for one slice as written: page digests, or the file digest so far. */
  add(slice: PackSlice): Promise<void>;
  /**
   * Proves the restore complete and exact.
   * @returns each database's page digests (16 bytes a page), by entry index: what the
   *   device cache keeps, so the next backup after a restore is incremental
   * @throws DecryptionError if a page or file byte is missing or came twice, or a
   *   database or file digest differs from the manifest's
   */
  finish(): Map<number, Uint8Array>;
}

/**
 * Starts the restore check of a manifest's entries.
 * @param manifest - the decoded manifest
 * @param digester - `createDigester(keyring.digestKey())`
 * @returns `{ add, finish }`
 * @example
 * ```ts
 * const check = createRestoreCheck(manifest, createDigester(keyring.digestKey()));
 * // for every slice written: await check.add(slice);
 * const pageDigests = check.finish();
 * ```
 */
export function createRestoreCheck(manifest: Manifest, digester: Digester): RestoreCheck {
  const pages = new Map<number, { digests: Uint8Array; seen: Uint8Array }>();
  const files = new Map<number, { mac: HashStream; next: number }>();
  for (const [i, e] of manifest.entries.entries()) {
    if (e.type === 'database')
      pages.set(i, {
        digests: new Uint8Array(e.pageCount * PAGE_DIGEST_LENGTH),
        seen: new Uint8Array(e.pageCount),
      });
  }
  return {
    async add({ piece, position, data }) {
      const e = manifest.entries[piece.entry];
      if (e?.type === 'database') {
        const db = pages.get(piece.entry)!;
        const first = position / e.pageSize;
        const n = data.length / e.pageSize;
        if (!Number.isInteger(first) || !Number.isInteger(n) || first + n > e.pageCount)
          throw new DecryptionError();
        for (let i = first; i < first + n; i++) {
          if (db.seen[i]) throw new DecryptionError();
          db.seen[i] = 1;
        }
        db.digests.set(await digester.pages(data, e.pageSize), first * PAGE_DIGEST_LENGTH);
        return;
      }
      if (e?.type !== 'file') throw new DecryptionError();
      let f = files.get(piece.entry);
      if (!f) {
        f = { mac: digester.fileMac(), next: 0 };
        files.set(piece.entry, f);
      }
      if (position !== f.next || position + data.length > e.size) throw new DecryptionError();
      f.mac.update(data);
      f.next += data.length;
    },
    finish() {
      for (const [i, e] of manifest.entries.entries()) {
        if (e.type === 'file') {
          const f = files.get(i);
          const digest = f
            ? f.mac.digest()
            : e.size === 0
              ? digester.fileMac().digest()
              : undefined;
          if (!digest || (f && f.next !== e.size) || !equalBytes(digest, e.digest))
            throw new DecryptionError();
        }
        if (e.type !== 'database') continue;
        const db = pages.get(i)!;
        if (db.seen.includes(0)) throw new DecryptionError();
        if (!equalBytes(digester.database(e.pageSize, db.digests), e.digest))
          throw new DecryptionError();
      }
      return new Map([...pages].map(([i, db]) => [i, db.digests]));
    },
  };
}
