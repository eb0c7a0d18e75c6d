/**
 * The archive codec every platform uses (`src/archive/`), against independent
 * implementations: `tar-stream` (the tar reader and writer the Node side used before)
 * and fflate's `unzipSync`. Every tree our writers write reads back, with our reader and
 * with theirs, to the same files; every tar theirs writes, ours reads to the same files;
 * and a damaged tar is refused by ours wherever theirs refuses it. The refusals
 * themselves (hostile names, entry types, limits) are the wallet-data contract's
 * (`contract/wallet-data.ts`), run on every platform's adapter.
 */
import { NoahError } from '@noah-backup/core/errors';
import { fromBytes } from '@noah-backup/core/stream';
import fc from 'fast-check';
import { unzipSync, zipSync } from 'fflate';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import type { ArchiveKind } from '../src/ports.ts';
import { DEFAULT_LIMITS } from '../src/archive/guards.ts';
import { readArchiveFiles } from '../src/archive/read.ts';
import { type ArchiveInput, writeArchive } from '../src/archive/write.ts';
import { buildTar, chunks, collect, type TarSpec } from './fixtures/node-helpers.ts';

const T = new Date('2026-01-02T03:04:05Z');
const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);

/** Reads with our reader; every file kept. */
async function ours(kind: ArchiveKind, archive: Uint8Array): Promise<Map<string, Uint8Array>> {
  const { files } = await readArchiveFiles(kind, chunks(archive, 1000), {
    limits: DEFAULT_LIMITS,
    keep: () => true,
  });
  return new Map([...files].map(([p, b]) => [p, new Uint8Array(b)]));
}

/** Reads a tar with tar-stream: its files by path (directories left out). */
async function theirs(archive: Uint8Array): Promise<Map<string, Uint8Array>> {
  const ex = tar.extract();
  const files = new Map<string, Uint8Array>();
  const reading = (async () => {
    for await (const entry of ex) {
      const data = new Uint8Array(await collect(entry as AsyncIterable<Uint8Array>));
      if (entry.header.type === 'file') files.set(entry.header.name, data);
    }
  })();
  ex.end(Buffer.from(archive));
  await reading;
  return files;
}

const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ value, error: undefined }),
    (error: unknown) => ({ value: undefined, error }),
  );

/** A directory tree: a path with data is a file, one without a directory. */
type Tree = { path: string; data?: Uint8Array }[];

/** Our writer's archive of `tree`. */
async function write(kind: ArchiveKind, tree: Tree): Promise<Uint8Array> {
  const entries: ArchiveInput[] = tree.map(({ path, data }) =>
    data === undefined
      ? { type: 'directory', name: path }
      : { type: 'file', name: path, size: data.length, body: () => fromBytes(data, 300) },
  );
  return new Uint8Array(await collect(writeArchive(kind, entries, T)));
}

const filesOf = (tree: Tree) =>
  new Map(tree.filter((t) => t.data).map((t) => [t.path, t.data!] as const));

const LONG = `${'d'.repeat(90)}/${'e'.repeat(90)}`; // > 100 bytes: the ustar prefix field
const LONGER = `${'x'.repeat(120)}/${'y'.repeat(150)}`; // > 255 bytes: a pax header
const TREE: Tree = [
  { path: 'channels' },
  { path: 'channels/monitors' },
  { path: 'channels/monitors/a.monitor', data: bytes(513, 1) },
  { path: 'channels/monitors/b.monitor', data: bytes(0) },
  { path: 'channels/manager.bin', data: bytes(512, 2) },
  { path: 'wallet.dat', data: bytes(4096 + 511, 3) },
  { path: 'settings.json', data: new TextEncoder().encode('{"a":1}') },
  { path: 'dé jà', data: bytes(1, 4) }, // non-ASCII: a pax header
  { path: 'd'.repeat(90) },
  { path: LONG, data: bytes(10, 5) },
  { path: 'x'.repeat(120) },
  { path: LONGER, data: bytes(1025, 6) },
];

const segment = fc.stringMatching(/^[a-zé0-9_.-]{1,40}$/).filter((s) => s !== '.' && s !== '..');

/** Random trees: files under nested directories, parents listed before children. */
const trees = fc
  .uniqueArray(
    fc.record({
      dir: fc.array(segment, { maxLength: 4 }),
      name: segment,
      data: fc.uint8Array({ maxLength: 1500 }),
    }),
    { maxLength: 8, selector: (f) => [...f.dir, f.name].join('/') },
  )
  .filter((files) => {
    // A path may not be both a file and another file's folder.
    const paths = files.map((f) => [...f.dir, f.name].join('/'));
    return !paths.some((p) => paths.some((q) => q.startsWith(`${p}/`)));
  })
  .map((files) => {
    const tree: Tree = [];
    const dirs = new Set<string>();
    for (const f of files) {
      for (let d = 1; d <= f.dir.length; d++) {
        const dir = f.dir.slice(0, d).join('/');
        if (!dirs.has(dir)) tree.push({ path: dir });
        dirs.add(dir);
      }
      tree.push({ path: [...f.dir, f.name].join('/'), data: f.data });
    }
    return tree;
  });

describe('our tar writer, read by tar-stream and by our reader', () => {
  it('directories, nesting, long and non-ASCII names', async () => {
    const archive = await write('tar', TREE);
    expect(await theirs(archive)).toEqual(filesOf(TREE));
    expect(await ours('tar', archive)).toEqual(filesOf(TREE));
  });

  it('any tree', async () => {
    await fc.assert(
      fc.asyncProperty(trees, async (tree) => {
        const archive = await write('tar', tree);
        expect(await theirs(archive)).toEqual(filesOf(tree));
        expect(await ours('tar', archive)).toEqual(filesOf(tree));
      }),
      { numRuns: 25 },
    );
  });

  it('boundary sizes round-trip', async () => {
    for (const size of [0, 1, 511, 512, 513, 1025, 4096, 256 * 1024 + 1]) {
      const tree = [{ path: 'wallet.sqlite', data: bytes(size, size % 251) }];
      expect(await ours('tar', await write('tar', tree))).toEqual(filesOf(tree));
    }
  });
});

describe('tar-stream writes, our reader reads', () => {
  it('any tree', async () => {
    await fc.assert(
      fc.asyncProperty(trees, async (tree) => {
        const specs: TarSpec[] = tree.map(({ path, data }) =>
          data === undefined
            ? { header: { name: `${path}/`, type: 'directory' } }
            : { header: { name: path, type: 'file' }, content: data },
        );
        expect(await ours('tar', new Uint8Array(await buildTar(specs)))).toEqual(filesOf(tree));
      }),
      { numRuns: 25 },
    );
  });
});

const file = (name: string, content: string | Uint8Array = 'x'): TarSpec => ({
  header: { name, type: 'file' },
  content,
});

/** Rewrites the size field of the tar header at `offset` and its checksum. */
function setTarSize(archive: Uint8Array, offset: number, size: number): void {
  const enc = new TextEncoder();
  archive.set(enc.encode(`${size.toString(8).padStart(11, '0')}\0`), offset + 124);
  archive.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += archive[offset + i]!;
  archive.set(enc.encode(`${sum.toString(8).padStart(6, '0')}\0 `), offset + 148);
}

/** Both readers on one tar: the same files, or both refuse (ours with `unsafe_archive`). */
async function expectSameVerdict(archive: Uint8Array): Promise<void> {
  const them = await settle(theirs(archive));
  const us = await settle(ours('tar', archive));
  if (them.error === undefined) {
    expect(us.error).toBeUndefined();
    expect(us.value).toEqual(them.value);
    return;
  }
  expect(us.error).toBeInstanceOf(NoahError);
  expect((us.error as NoahError).code).toBe('unsafe_archive');
  expect((us.error as NoahError).message).toMatch(/malformed tar/);
}

describe('damaged tars: refused where tar-stream refuses them', () => {
  it('a size field that lies, a truncation, garbage, a damaged header', async () => {
    for (const declared of [5000, 10]) {
      const archive = new Uint8Array(
        await buildTar([file('a.txt', 'A'.repeat(1000)), file('b.txt', 'B')]),
      );
      setTarSize(archive, 0, declared);
      await expectSameVerdict(archive);
    }
    const long = new Uint8Array(await buildTar([file('a.txt', 'A'.repeat(5000))]));
    await expectSameVerdict(long.subarray(0, 2048));
    await expectSameVerdict(long.subarray(0, 700));
    await expectSameVerdict(new Uint8Array(4096).fill(0x41));
    const damaged = new Uint8Array(await buildTar([file('a.txt', 'A')]));
    damaged[0] = 0x58;
    await expectSameVerdict(damaged);
  });

  it('zero blocks and an end without them are read as tar-stream reads them', async () => {
    const archive = new Uint8Array(await buildTar([file('a.txt', 'A'), file('b.txt', 'B')]));
    // Without the end-of-archive blocks; and with a zero block between the entries.
    await expectSameVerdict(archive.subarray(0, 2048));
    const spaced = new Uint8Array(archive.length + 512);
    spaced.set(archive.subarray(0, 1024));
    spaced.set(archive.subarray(1024), 1536);
    await expectSameVerdict(spaced);
    const trailing = new Uint8Array(archive.length + 512);
    trailing.set(archive);
    trailing[archive.length + 3] = 1;
    await expectSameVerdict(trailing);
  });
});

describe('ZIP: our writer read by fflate and by our reader; fflate writes, ours reads', () => {
  const unzipped = (zip: Uint8Array) =>
    new Map(Object.entries(unzipSync(zip)).filter(([name]) => !name.endsWith('/')));

  it('directories, nesting, long and non-ASCII names; any tree', async () => {
    const archive = await write('zip', TREE);
    expect(unzipped(archive)).toEqual(filesOf(TREE));
    expect(await ours('zip', archive)).toEqual(filesOf(TREE));
    await fc.assert(
      fc.asyncProperty(trees, async (tree) => {
        const zip = await write('zip', tree);
        expect(unzipped(zip)).toEqual(filesOf(tree));
        expect(await ours('zip', zip)).toEqual(filesOf(tree));
        const theirZip = zipSync(Object.fromEntries(filesOf(tree)));
        expect(await ours('zip', theirZip)).toEqual(filesOf(tree));
      }),
      { numRuns: 25 },
    );
  });
});
