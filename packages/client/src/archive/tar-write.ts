/**
 * The tar writer of every platform: POSIX ustar, with a pax header for a name that
 * does not fit the ustar fields (over 100 bytes with no split into a 155-byte prefix, or
 * not ASCII), laid out as `tar-stream` lays them out. Streams: each file's bytes are
 * pulled from its source as the consumer pulls the archive, so memory stays constant
 * whatever the sizes.
 * @module
 */
import { utf8ToBytes } from '@noah-backup/core/bytes';
import { BLOCK, checksum, padding } from './ustar.ts';
import { throwIfAborted } from '../errors.ts';

/** One entry to archive: a directory, or a file whose bytes come from `body()`. */
export type ArchiveInput =
  | { readonly type: 'directory'; readonly name: string }
  | {
      readonly type: 'file';
      readonly name: string;
      /** Exactly the bytes `body()` yields. */
      readonly size: number;
      /** The file's bytes, read once, when the archive reaches it. */
      body(): AsyncIterable<Uint8Array>;
    };

/** Modes written into archives: private to the wallet's user (docs/WALLET.md §2). */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

const ZERO_BLOCKS = new Uint8Array(2 * BLOCK);

/** `value` as zero-padded octal in `width - 1` digits and a space, tar-stream's style. */
function octal(value: number, width: number): string {
  const s = value.toString(8);
  return `${'0'.repeat(Math.max(0, width - 1 - s.length))}${s} `;
}

function put(h: Uint8Array, offset: number, text: string): void {
  h.set(utf8ToBytes(text), offset);
}

/** The ustar name and prefix of `name`, or null when it needs a pax header. */
function ustarName(name: string): { name: string; prefix: string } | null {
  if (utf8ToBytes(name).length !== name.length) return null; // not ASCII
  let rest = name;
  let prefix = '';
  while (rest.length > 100) {
    const i = rest.indexOf('/');
    if (i === -1) return null;
    prefix += prefix ? `/${rest.slice(0, i)}` : rest.slice(0, i);
    rest = rest.slice(i + 1);
  }
  return prefix.length > 155 ? null : { name: rest, prefix };
}

function header(
  name: string,
  prefix: string,
  type: '0' | '5' | 'x',
  mode: number,
  size: number,
  mtime: Date,
): Uint8Array {
  const h = new Uint8Array(BLOCK);
  put(h, 0, name);
  put(h, 100, octal(mode, 7));
  put(h, 108, octal(0, 7)); // uid
  put(h, 116, octal(0, 7)); // gid
  if (size.toString(8).length > 11) {
    // GNU base-256 for sizes of 8 GiB and more.
    h[124] = 0x80;
    for (let i = 11, n = size; i > 0; i--, n = Math.floor(n / 256)) h[124 + i] = n % 256;
  } else put(h, 124, octal(size, 12));
  put(h, 136, octal(Math.floor(mtime.getTime() / 1000), 12));
  put(h, 156, type);
  put(h, 257, 'ustar\u000000'); // magic "ustar\0", version "00"
  put(h, 329, octal(0, 7)); // devmajor
  put(h, 337, octal(0, 7)); // devminor
  if (prefix) put(h, 345, prefix);
  put(h, 148, octal(checksum(h), 7));
  return h;
}

/** A pax record: "<length> <key>=<value>\n", the length counting itself. */
function paxRecord(key: string, value: string): Uint8Array {
  const body = utf8ToBytes(` ${key}=${value}\n`);
  let digits = String(body.length).length;
  if (body.length + digits >= 10 ** digits) digits++;
  return utf8ToBytes(`${body.length + digits} ${key}=${value}\n`);
}

/** The header blocks of one entry (a pax header and its data first, if needed). */
function headerBlocks(name: string, type: '0' | '5', size: number, mtime: Date): Uint8Array[] {
  const mode = type === '5' ? DIR_MODE : FILE_MODE;
  const fits = ustarName(name);
  if (fits) return [header(fits.name, fits.prefix, type, mode, size, mtime)];
  const pax = paxRecord('path', name);
  return [
    header('PaxHeader', '', 'x', mode, pax.length, mtime),
    pax,
    new Uint8Array(padding(pax.length)),
    header('PaxHeader', '', type, mode, size, mtime),
  ];
}

/**
 * Streams a tar archive of `entries`: names relative with `/`, directories with a
 * trailing `/`, modes 0600 and 0700, uid and gid 0, every entry's mtime `mtime`, then the
 * two zero blocks that end an archive.
 * @param entries - in archive order (parents before children)
 * @param mtime - modification time written into every header
 * @param signal - aborts between chunks
 * @returns the archive bytes; read it once
 * @throws Error when a file's source yields more or fewer bytes than its `size`
 */
export async function* writeTar(
  entries: Iterable<ArchiveInput>,
  mtime: Date,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  for (const e of entries) {
    throwIfAborted(signal);
    if (e.type === 'directory') {
      yield* headerBlocks(`${e.name}/`, '5', 0, mtime);
      continue;
    }
    yield* headerBlocks(e.name, '0', e.size, mtime);
    let written = 0;
    for await (const chunk of e.body()) {
      throwIfAborted(signal);
      written += chunk.length;
      if (written > e.size) break;
      yield chunk;
    }
    if (written !== e.size) throw new Error('a file changed size while it was archived');
    if (padding(e.size) > 0) yield new Uint8Array(padding(e.size));
  }
  yield ZERO_BLOCKS.slice();
}
