/**
 * The hostile-archive corpus: archives a restore and a verify MUST refuse with
 * `unsafe_archive`, each naming the rule it breaks (path traversal, absolute paths,
 * entry types, decompression bombs, limits, duplicates, and damage: a size that lies, a
 * truncation, garbage, a bad CRC-32). Built in Node (tar-stream writes what our writer
 * never would); used by the wallet data contract (`wallet-data.ts`) on every platform's
 * adapter. Every archive starts with a harmless file, so the refusal comes from the
 * guards, mid-archive.
 * @module
 */
import { zipSync } from 'fflate';
import type { ArchiveKind } from '../../src/ports.ts';
import type { ExtractLimits } from '../../src/archive/guards.ts';
import { buildTar, type TarSpec } from '../fixtures/node-helpers.ts';

/** One hostile archive. */
export interface HostileArchive {
  readonly name: string;
  readonly kind: ArchiveKind;
  /** What the refusal's message must name. */
  readonly rule: RegExp;
  /** Limits the adapter runs with (else its defaults). */
  readonly limits?: Partial<ExtractLimits>;
  build(): Promise<Uint8Array>;
}

const enc = (s: string) => new TextEncoder().encode(s);
const file = (name: string, content: string | Uint8Array = 'x'): TarSpec => ({
  header: { name, type: 'file' },
  content,
});
const tarOf = async (entries: TarSpec[]) => new Uint8Array(await buildTar(entries));

/** Rewrites the size field (octal at 124) of the tar header at `offset` and its checksum. */
function setTarSize(archive: Uint8Array, offset: number, size: number): Uint8Array {
  archive.set(enc(`${size.toString(8).padStart(11, '0')}\0`), offset + 124);
  archive.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += archive[offset + i]!;
  archive.set(enc(`${sum.toString(8).padStart(6, '0')}\0 `), offset + 148);
  return archive;
}

/** Sets the uncompressed size in the local header and central directory of a one-entry zip. */
function setZipSize(zip: Uint8Array, size: number): Uint8Array {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  view.setUint32(22, size, true);
  view.setUint32(view.getUint32(zip.length - 22 + 16, true) + 24, size, true);
  return zip;
}

/** Two central directory records pointing at the same local entry named "a". */
function duplicateZip(): Uint8Array {
  const one = zipSync({ a: enc('1') });
  const view = new DataView(one.buffer, one.byteOffset, one.byteLength);
  const eocd = one.length - 22;
  const cdOff = view.getUint32(eocd + 16, true);
  const cd = one.subarray(cdOff, eocd);
  const out = new Uint8Array(cdOff + 2 * cd.length + 22);
  out.set(one.subarray(0, cdOff));
  out.set(cd, cdOff);
  out.set(cd, cdOff + cd.length);
  out.set(one.subarray(eocd), cdOff + 2 * cd.length);
  const o = new DataView(out.buffer);
  o.setUint16(out.length - 22 + 8, 2, true);
  o.setUint16(out.length - 22 + 10, 2, true);
  o.setUint32(out.length - 22 + 12, cd.length * 2, true);
  return out;
}

const names: [string, RegExp][] = [
  ['../evil', /parent directory/],
  ['a/../../evil', /parent directory/],
  ['/etc/evil', /absolute path/],
  ['C:/evil', /drive letter/],
  ['a\\..\\evil', /backslash/],
  ['./evil', /current directory/],
  ['a//evil', /empty path segment/],
  ['é\0.txt', /NUL/], // in a pax header
];

const types = [
  ['symlink', { type: 'symlink', linkname: '/etc/passwd' }],
  ['link', { type: 'link', linkname: 'ok.txt' }],
  ['character-device', { type: 'character-device', devmajor: 1, devminor: 3 }],
  ['fifo', { type: 'fifo' }],
] as const;

/** The corpus. */
export const HOSTILE: readonly HostileArchive[] = [
  ...names.map(([name, rule]) => ({
    name: `tar: the name ${JSON.stringify(name)}`,
    kind: 'tar' as const,
    rule,
    build: () => tarOf([file('ok.txt'), file(name)]),
  })),
  ...types.map(([type, extra]) => ({
    name: `tar: a ${type} entry`,
    kind: 'tar' as const,
    rule: new RegExp(`${type} entries are not allowed`),
    build: () => tarOf([file('ok.txt'), { header: { name: 'bad', ...extra } }]),
  })),
  {
    name: 'tar: an entry over maxEntryBytes',
    kind: 'tar',
    rule: /maxEntryBytes/,
    limits: { maxEntryBytes: 1024 },
    build: () => tarOf([file('small'), file('big', new Uint8Array(4096))]),
  },
  {
    name: 'tar: a total over maxTotalBytes',
    kind: 'tar',
    rule: /maxTotalBytes/,
    limits: { maxTotalBytes: 3500 },
    build: () => tarOf([0, 1, 2, 3].map((i) => file(`f${i}`, new Uint8Array(1000)))),
  },
  {
    name: 'tar: more entries than maxEntries',
    kind: 'tar',
    rule: /maxEntries/,
    limits: { maxEntries: 10 },
    build: () => tarOf(Array.from({ length: 11 }, (_, i) => file(`f${i}`))),
  },
  {
    name: 'tar: a duplicate entry',
    kind: 'tar',
    rule: /duplicate/,
    build: () => tarOf([file('a'), file('b'), file('a')]),
  },
  {
    name: 'tar: an entry nested under a file',
    kind: 'tar',
    rule: /nested under a file/,
    build: () => tarOf([file('a'), file('a/b')]),
  },
  ...[5000, 10].map((declared) => ({
    name: `tar: a header declaring ${declared} bytes of 1000`,
    kind: 'tar' as const,
    rule: /malformed tar/,
    build: async () =>
      setTarSize(await tarOf([file('a.txt', 'A'.repeat(1000)), file('b.txt', 'B')]), 0, declared),
  })),
  ...[2048, 700].map((at) => ({
    name: `tar: truncated at ${at} bytes`,
    kind: 'tar' as const,
    rule: /malformed tar/,
    build: async () => (await tarOf([file('a.txt', 'A'.repeat(5000))])).subarray(0, at),
  })),
  {
    name: 'tar: garbage',
    kind: 'tar',
    rule: /malformed tar/,
    build: async () => new Uint8Array(4096).fill(0x41),
  },
  {
    name: 'tar: a damaged header',
    kind: 'tar',
    rule: /malformed tar/,
    build: async () => {
      const archive = await tarOf([file('a.txt', 'A')]);
      archive[0] = 0x58;
      return archive;
    },
  },
  ...(['../evil', '/abs'] as const).map((name) => ({
    name: `zip: the name ${JSON.stringify(name)}`,
    kind: 'zip' as const,
    rule: name === '/abs' ? /absolute path/ : /parent directory/,
    build: async () => zipSync({ 'ok.txt': enc('x'), [name]: enc('evil') }),
  })),
  {
    name: 'zip: a symlink entry (Unix mode in the external attributes)',
    kind: 'zip',
    rule: /symlink entries are not allowed/,
    build: async () =>
      zipSync({ link: [enc('/etc/passwd'), { os: 3, attrs: (0o120777 << 16) >>> 0 }] }),
  },
  {
    name: 'zip: a bomb (real bytes are counted, not the declared size)',
    kind: 'zip',
    rule: /maxEntryBytes/,
    limits: { maxEntryBytes: 1024 * 1024 },
    build: async () => {
      const zip = setZipSize(zipSync({ bomb: new Uint8Array(8 * 1024 * 1024) }), 100);
      if (zip.length >= 64 * 1024) throw new Error('the bomb is no bomb');
      return zip;
    },
  },
  {
    name: 'zip: a declared size that lies (under the limits)',
    kind: 'zip',
    rule: /declared entry size/,
    build: async () => setZipSize(zipSync({ a: enc('hello world') }), 5),
  },
  {
    name: 'zip: a content byte flipped (CRC-32)',
    kind: 'zip',
    rule: /CRC-32/,
    build: async () => {
      const zip = zipSync({ a: [enc('hello world'), { level: 0 }] });
      zip[31 + 1]! ^= 1; // a content byte of the stored entry
      return zip;
    },
  },
  {
    name: 'zip: a duplicate name',
    kind: 'zip',
    rule: /duplicate/,
    build: async () => duplicateZip(),
  },
  {
    name: 'zip: not a zip at all',
    kind: 'zip',
    rule: /malformed ZIP/,
    build: async () => enc('not a zip at all'),
  },
];
