/**
 * The tar reader of every platform: POSIX ustar, pax and GNU extensions, parsed as it
 * streams, the way `tar-stream` parses them (`test/archive.test.ts` holds the two side
 * by side). Every tar the writers of either platform produce is read: directories,
 * nested paths, pax and GNU long names, base-256 sizes. Only files and directories are
 * accepted; names, counts and sizes go through the guard. A damaged tar (a bad checksum,
 * a header of no known format, a truncation, a size field that lies) is refused as
 * `unsafe_archive`, `malformed tar (…)`.
 * @module
 */
import type { ByteSource } from './byte-source.ts';
import { type ArchiveEntry, noBody } from './entry.ts';
import { type EntryGuard, unsafeArchive } from './guards.ts';
import { BLOCK, checksum, padding } from './ustar.ts';

/** tar-stream's cap on a pax or GNU long-name header's data. */
const MAX_LONG_HEADER = 4 * 1024 * 1024;
const utf8 = new TextDecoder('utf-8');

/** A numeric field: octal text (leading spaces and NULs skipped), or base-256 (high bit set). */
function numberField(h: Uint8Array, offset: number, width: number): number {
  const f = h.subarray(offset, offset + width);
  if (f[0]! & 0x80) {
    // GNU base-256: 0x80 positive, 0xff two's-complement negative.
    if (f[0] !== 0x80 && f[0] !== 0xff) return Number.NaN;
    const negative = f[0] === 0xff;
    let v = 0;
    for (let i = 1; i < width; i++) v = v * 256 + (negative ? 0xff - f[i]! : f[i]!);
    return negative ? -v : v;
  }
  let i = 0;
  while (i < width && f[i] === 0x20) i++;
  let end = f.indexOf(0x20, i);
  if (end === -1) end = width;
  while (i < end && f[i] === 0) i++;
  if (i === end) return 0;
  // parseInt, as tar-stream: the octal digits up to the first other character.
  return Number.parseInt(utf8.decode(f.subarray(i, end)), 8);
}

function text(bytes: Uint8Array, offset = 0, width = bytes.length): string {
  const field = bytes.subarray(offset, offset + width);
  const nul = field.indexOf(0);
  return utf8.decode(nul === -1 ? field : field.subarray(0, nul));
}

/** pax records: "<length> <key>=<value>\n" (POSIX pax; parsed as tar-stream does). */
function paxRecords(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let buf = data;
  while (buf.length > 0) {
    let i = 0;
    while (i < buf.length && buf[i] !== 0x20) i++;
    const len = Number.parseInt(utf8.decode(buf.subarray(0, i)), 10);
    if (!len) return out;
    const record = utf8.decode(buf.subarray(i + 1, len - 1));
    const eq = record.indexOf('=');
    if (eq === -1) return out;
    out[record.slice(0, eq)] = record.slice(eq + 1);
    buf = buf.subarray(len);
  }
  return out;
}

const USTAR = [0x75, 0x73, 0x74, 0x61, 0x72]; // "ustar"
const isUstar = (h: Uint8Array) => USTAR.every((b, i) => h[257 + i] === b) && h[262] === 0;
const isGnu = (h: Uint8Array) =>
  USTAR.every((b, i) => h[257 + i] === b) && h[262] === 0x20 && h[263] === 0x20 && h[264] === 0;

/** Entry types by typeflag, as tar-stream names them (refusals name the type). */
const TYPES: Record<number, string> = {
  1: 'link',
  2: 'symlink',
  3: 'character-device',
  4: 'block-device',
  6: 'fifo',
  7: 'contiguous-file',
};

/** How much of a file's data one read asks for (one v2 chunk). */
const READ_CHUNK = 256 * 1024;

const malformed = (why: string) => unsafeArchive(`malformed tar (${why})`);

/**
 * Reads the tar in `src` entry by entry (see `readArchive`).
 * @throws NoahError `unsafe_archive`; whatever the source throws
 */
export async function* readTar(src: ByteSource, guard: EntryGuard): AsyncGenerator<ArchiveEntry> {
  let pax: Record<string, string> | null = null;
  let paxGlobal: Record<string, string> | null = null;
  let longPath: string | null = null;
  for (;;) {
    const h = await src.exact(BLOCK);
    // The end of the stream at a block boundary ends the archive (zero blocks or not).
    if (h === null) return;
    const sum = checksum(h);
    if (sum === 8 * 0x20) continue; // a zero block: skipped, as tar-stream does
    if (numberField(h, 148, 8) !== sum) throw malformed('a header is damaged');
    if (!isUstar(h) && !isGnu(h)) throw malformed('a header is of an unknown format');
    let flag = h[156] === 0 ? 0 : h[156]! - 0x30;
    let name = text(h, 0, 100);
    if (isUstar(h) && h[345]) name = `${text(h, 345, 155)}/${name}`;
    let size = numberField(h, 124, 12);
    // Old tars mark a directory by a trailing slash on a regular file entry.
    if (flag === 0 && name.endsWith('/')) flag = 5;

    if (flag === 27 || flag === 28 || flag === 30 || flag === 55 || flag === 72) {
      // GNU long link name ('K'), long name ('L', 'N'), pax global ('g'), pax ('x').
      if (!(size >= 0) || size > MAX_LONG_HEADER) throw malformed('an extension header is invalid');
      const data = await src.exact(size);
      if (data === null && size > 0) throw malformed('truncated');
      await src.skip(padding(size));
      const body = data ?? new Uint8Array(0);
      if (flag === 28 || flag === 30) longPath = text(body);
      else if (flag === 55) paxGlobal = paxRecords(body);
      else if (flag === 72) pax = { ...(paxGlobal ?? {}), ...paxRecords(body) };
      continue;
    }
    if (longPath !== null) {
      name = longPath;
      longPath = null;
    }
    if (pax) {
      if (pax.path) name = pax.path;
      if (pax.size) size = Number.parseInt(pax.size, 10);
      pax = null;
    }
    if (!(size >= 0)) throw malformed('a header is invalid');

    if (flag === 5) {
      // tar-stream reads no data for a directory, whatever its size field says.
      yield { path: guard.admit(name, 'directory'), type: 'directory', size: 0, body: noBody() };
      continue;
    }
    if (flag !== 0) {
      const type = TYPES[flag] ?? 'unknown';
      throw unsafeArchive(`${type} entries are not allowed (only files and dirs)`);
    }
    const path = guard.admit(name, 'file', size);
    let left = size;
    // Each pass reads on from where the last one stopped: `left` is shared.
    const take = async function* (): AsyncGenerator<Uint8Array> {
      while (left > 0) {
        const chunk = await src.some(Math.min(left, READ_CHUNK));
        if (chunk === null) throw malformed('truncated');
        guard.addBytes(chunk.length);
        left -= chunk.length;
        yield chunk;
      }
    };
    yield { path, type: 'file', size, body: take() };
    // What the caller left unread is read (and counted) now, to reach the next header.
    for await (const _ of take());
    await src.skip(padding(size));
  }
}
