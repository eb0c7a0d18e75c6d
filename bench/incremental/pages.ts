/**
 * The page limit of a day: how many pages differ between two checkpointed copies of the
 * database, the least an incremental backup that sends whole pages can send.
 * @module
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** What {@link countChangedPages} found. */
export interface PageDiff {
  /** Pages whose bytes differ, plus pages present in only one of the files. */
  changed: number;
  pagesBefore: number;
  pagesAfter: number;
}

const CHUNK_PAGES = 256;

/** Reads up to `buf.length` bytes at `pos` (short only at the end of the file). */
function readAt(fd: number, buf: Buffer, pos: number): number {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * Compares `before` and `after` page by page (`pageSize` bytes; a partial last page counts
 * as a page). Streams both files in fixed chunks, so memory does not grow with them.
 */
export function countChangedPages(before: string, after: string, pageSize: number): PageDiff {
  const a = openSync(before, 'r');
  const b = openSync(after, 'r');
  try {
    const sizeA = fstatSync(a).size;
    const sizeB = fstatSync(b).size;
    const pagesBefore = Math.ceil(sizeA / pageSize);
    const pagesAfter = Math.ceil(sizeB / pageSize);
    const common = Math.min(pagesBefore, pagesAfter);
    const bufA = Buffer.alloc(pageSize * CHUNK_PAGES);
    const bufB = Buffer.alloc(pageSize * CHUNK_PAGES);
    let changed = Math.abs(pagesAfter - pagesBefore);
    for (let page = 0; page < common; page += CHUNK_PAGES) {
      const pos = page * pageSize;
      const gotA = readAt(a, bufA, pos);
      const gotB = readAt(b, bufB, pos);
      const pages = Math.min(CHUNK_PAGES, common - page);
      for (let i = 0; i < pages; i++) {
        const start = i * pageSize;
        const endA = Math.min(start + pageSize, gotA);
        const endB = Math.min(start + pageSize, gotB);
        if (endA - start !== endB - start) changed++;
        else if (bufA.compare(bufB, start, endB, start, endA) !== 0) changed++;
      }
    }
    return { changed, pagesBefore, pagesAfter };
  } finally {
    closeSync(a);
    closeSync(b);
  }
}
