/**
 * Hostile archives (issue 4 §5: "extract with guards (path traversal, absolute paths,
 * symlinks, decompression bombs)"): each is refused with `unsafe_archive` naming the
 * rule, the wallet stays byte-identical, no staging directory is left, nothing is
 * written outside.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { NoahError } from '@noah-backup/core/errors';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ArchiveKind } from '../src/ports.ts';
import { createDemoWallet } from '../src/demo-wallet.ts';
import type { ExtractLimits } from '../src/node/wallet.ts';
import { createNodeWalletAdapter } from '../src/node/wallet.ts';
import {
  buildTar,
  chunks,
  leftovers,
  type TarSpec,
  tempDir,
  treeHash,
} from './fixtures/node-helpers.ts';

let root: string;
let dataDir: string;
let before: string;

beforeEach(async () => {
  root = await tempDir();
  dataDir = (await createDemoWallet(join(root, 'wallet'), { sizeMb: 1 })).dir;
  before = await treeHash(dataDir);
});

async function expectRefused(
  archive: Uint8Array,
  rule: RegExp,
  kind: ArchiveKind = 'tar',
  limits?: Partial<ExtractLimits>,
): Promise<void> {
  const adapter = createNodeWalletAdapter({ dataDir, tmpDir: join(root, 'tmp'), limits });
  for (const run of [
    () => adapter.restore(chunks(archive, 1000), { kind }),
    () => adapter.verify(chunks(archive, 1000), { kind }),
  ]) {
    const err = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NoahError);
    expect((err as NoahError).code).toBe('unsafe_archive');
    expect((err as NoahError).message).toMatch(rule);
  }
  expect(await treeHash(dataDir)).toBe(before);
  expect(await leftovers(root)).toEqual([]);
  expect(await leftovers(join(root, 'tmp'))).toEqual([]);
  expect((await fsp.readdir(root)).sort()).toEqual(['tmp', 'wallet']);
}

const file = (name: string, content: string | Uint8Array = 'x'): TarSpec => ({
  header: { name, type: 'file' },
  content,
});

describe('hostile tar archives are refused', () => {
  it.each([
    ['../evil', /parent directory/],
    ['a/../../evil', /parent directory/],
    ['/etc/evil', /absolute path/],
    ['C:/evil', /drive letter/],
    ['a\\..\\evil', /backslash/],
    ['./evil', /current directory/],
    ['a//evil', /empty path segment/],
  ])('name %j', async (name, rule) => {
    await expectRefused(await buildTar([file('ok.txt'), file(name)]), rule);
  });

  it('a NUL in a (pax) name', async () => {
    await expectRefused(await buildTar([file('é\0.txt')]), /NUL/);
  });

  it.each([
    ['symlink', { type: 'symlink', linkname: '/etc/passwd' }],
    ['link', { type: 'link', linkname: 'ok.txt' }],
    ['character-device', { type: 'character-device', devmajor: 1, devminor: 3 }],
    ['fifo', { type: 'fifo' }],
  ] as const)('a %s entry', async (type, extra) => {
    const archive = await buildTar([file('ok.txt'), { header: { name: 'bad', ...extra } }]);
    await expectRefused(archive, new RegExp(`${type} entries are not allowed`));
  });

  it('an entry over maxEntryBytes', async () => {
    const archive = await buildTar([file('small', 'x'), file('big', new Uint8Array(4096))]);
    await expectRefused(archive, /maxEntryBytes/, 'tar', { maxEntryBytes: 1024 });
  });

  it('a total over maxTotalBytes', async () => {
    const entries = [0, 1, 2, 3].map((i) => file(`f${i}`, new Uint8Array(1000)));
    await expectRefused(await buildTar(entries), /maxTotalBytes/, 'tar', { maxTotalBytes: 3500 });
  });

  it('more entries than maxEntries', async () => {
    const entries = Array.from({ length: 11 }, (_, i) => file(`f${i}`));
    await expectRefused(await buildTar(entries), /maxEntries/, 'tar', { maxEntries: 10 });
  });

  it('a duplicate entry', async () => {
    await expectRefused(await buildTar([file('a'), file('b'), file('a')]), /duplicate/);
  });

  it('an entry nested under a file', async () => {
    await expectRefused(await buildTar([file('a'), file('a/b')]), /nested under a file/);
  });

  it.each([
    ['larger', 5000],
    ['smaller', 10],
  ])('a header whose declared size is %s than the data', async (_, declared) => {
    const tar = await buildTar([file('a.txt', 'A'.repeat(1000)), file('b.txt', 'B')]);
    setTarSize(tar, 0, declared);
    await expectRefused(tar, /malformed tar/);
  });

  it('a truncated archive', async () => {
    const tar = await buildTar([file('a.txt', 'A'.repeat(5000))]);
    await expectRefused(tar.subarray(0, 2048), /malformed tar/);
  });

  it('garbage', async () => {
    await expectRefused(new Uint8Array(4096).fill(0x41), /malformed tar/);
  });

  it('keeps a valid archive working (control)', async () => {
    const adapter = createNodeWalletAdapter({ dataDir, tmpDir: join(root, 'tmp') });
    const archive = await buildTar([
      { header: { name: 'd/', type: 'directory' } },
      file('d/x.txt', 'hello'),
    ]);
    expect(await adapter.restore(chunks(archive), { kind: 'tar' })).toMatchObject({
      entries: 1,
      databases: 0,
      previous: expect.stringMatching(/wallet\.noah-replaced-/), // the demo wallet, kept
    });
    expect(await fsp.readFile(join(dataDir, 'd', 'x.txt'), 'utf8')).toBe('hello');
  });
});

/** Rewrites the size field (octal at 124) of the header at `offset` and its checksum. */
function setTarSize(tar: Buffer, offset: number, size: number): void {
  tar.write(`${size.toString(8).padStart(11, '0')}\0`, offset + 124, 'latin1');
  tar.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += tar[offset + i]!;
  tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, offset + 148, 'latin1');
}

describe('hostile zip archives are refused', () => {
  const enc = (s: string) => new TextEncoder().encode(s);

  it.each([
    ['../evil', /parent directory/],
    ['/abs', /absolute path/],
  ])('name %j', async (name, rule) => {
    await expectRefused(zipSync({ 'ok.txt': enc('x'), [name]: enc('evil') }), rule, 'zip');
  });

  it('a symlink entry (Unix mode in the external attributes)', async () => {
    const zip = zipSync({ link: [enc('/etc/passwd'), { os: 3, attrs: (0o120777 << 16) >>> 0 }] });
    await expectRefused(zip, /symlink entries are not allowed/, 'zip');
  });

  it('a bomb: real bytes are counted, not the declared size', async () => {
    const zip = zipSync({ bomb: new Uint8Array(8 * 1024 * 1024) });
    setZipSize(Buffer.from(zip.buffer, zip.byteOffset, zip.length), 100); // claims 100 bytes
    expect(zip.length).toBeLessThan(64 * 1024);
    await expectRefused(zip, /maxEntryBytes/, 'zip', { maxEntryBytes: 1024 * 1024 });
  });

  it('a declared size that lies (under the limits)', async () => {
    const zip = zipSync({ a: enc('hello world') });
    setZipSize(Buffer.from(zip.buffer, zip.byteOffset, zip.length), 5);
    await expectRefused(zip, /declared entry size/, 'zip');
  });

  it('a duplicate name', async () => {
    const one = zipSync({ a: enc('1') });
    // Two central directory records pointing at the same local entry named "a".
    const eocd = one.length - 22;
    const cdOff = Buffer.from(one.buffer, one.byteOffset, one.length).readUInt32LE(eocd + 16);
    const cd = one.subarray(cdOff, eocd);
    const out = Buffer.concat([one.subarray(0, cdOff), cd, cd, one.subarray(eocd)]);
    out.writeUInt16LE(2, out.length - 22 + 8);
    out.writeUInt16LE(2, out.length - 22 + 10);
    out.writeUInt32LE(cd.length * 2, out.length - 22 + 12);
    await expectRefused(out, /duplicate/, 'zip');
  });
});

/** Sets the uncompressed size in the local header and central directory of a one-entry zip. */
function setZipSize(zip: Buffer, size: number): void {
  zip.writeUInt32LE(size, 22);
  const eocd = zip.length - 22;
  const cd = zip.readUInt32LE(eocd + 16);
  zip.writeUInt32LE(size, cd + 24);
}
