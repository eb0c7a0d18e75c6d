/**
 * The browser's archive reader against the Node reader, as a differential test: every
 * archive the Node side writes (its tar and ZIP writers over real directory trees:
 * directories, nested paths, several files, long and non-ASCII names, boundary sizes)
 * reads to the same files, and every hostile or damaged archive the Node reader refuses
 * is refused, for the same rule. The web writer's own archives round-trip.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import {
  type ArchiveEntry as NodeEntry,
  tarArchive,
  zipArchive,
} from '@noah-backup/client/node/archive';
import { DEFAULT_LIMITS, type ExtractLimits } from '@noah-backup/client/node/guards';
import { createNodeWalletAdapter } from '@noah-backup/client/node/wallet';
import { NoahError } from '@noah-backup/core/errors';
import fc from 'fast-check';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  buildTar,
  chunks,
  collect,
  type TarSpec,
  tempDir,
} from '../../client/test/fixtures/node-helpers.ts';
import { type ArchiveKind, packArchive } from '../src/adapters/archive.ts';
import { readArchive } from '../src/adapters/archive-read.ts';

const T = new Date('2026-01-02T03:04:05Z');
const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);
const keepAll = () => true;

/** Reads with the browser reader; every file kept. */
function browserRead(kind: ArchiveKind, archive: Uint8Array, limits = DEFAULT_LIMITS) {
  return readArchive(kind, chunks(archive, 1000), { limits, keep: keepAll });
}

/** Restores with the Node adapter into a fresh directory; the files it wrote, by path. */
async function nodeRead(kind: ArchiveKind, archive: Uint8Array, limits?: Partial<ExtractLimits>) {
  const root = await tempDir('noah-web-diff-');
  const dataDir = join(root, 'data');
  const adapter = createNodeWalletAdapter({ dataDir, tmpDir: join(root, 'tmp'), limits });
  await adapter.restore(chunks(archive, 1000), { kind });
  const files = new Map<string, Uint8Array>();
  async function walk(abs: string, rel: string): Promise<void> {
    for (const name of await fsp.readdir(abs)) {
      const p = join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      if ((await fsp.stat(p)).isDirectory()) await walk(p, r);
      else files.set(r, new Uint8Array(await fsp.readFile(p)));
    }
  }
  await walk(dataDir, '');
  return files;
}

const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ value, error: undefined }),
    (error: unknown) => ({ value: undefined, error }),
  );

/** The Node refusals that mean "damaged" (the browser's own text for them, one code). */
const DAMAGED =
  /malformed|CRC-32|declared entry size|local header name differs|Unexpected end|Invalid tar header/;

/**
 * Both readers on one archive: the same files, or both refuse for the same reason (a
 * damaged archive is `unsafe_archive` on both with its own text; a guard's rule the same text).
 */
async function expectSameVerdict(
  kind: ArchiveKind,
  archive: Uint8Array,
  limits?: Partial<ExtractLimits>,
): Promise<void> {
  const node = await settle(nodeRead(kind, archive, limits));
  const web = await settle(browserRead(kind, archive, { ...DEFAULT_LIMITS, ...limits }));
  if (node.error === undefined) {
    expect(web.error).toBeUndefined();
    expect(web.value).toEqual(node.value);
    return;
  }
  expect(node.error).toBeInstanceOf(NoahError);
  expect(web.error).toBeInstanceOf(NoahError);
  const nodeMessage = (node.error as NoahError).message;
  const webError = web.error as NoahError;
  expect(webError.code, `${nodeMessage} / ${webError.message}`).toBe('unsafe_archive');
  if (!DAMAGED.test(nodeMessage)) expect(webError.message).toBe(nodeMessage);
}

/** A directory tree written to disk, archived by the Node writers. */
type Tree = { path: string; data?: Uint8Array }[];

async function nodeArchive(kind: ArchiveKind, tree: Tree): Promise<Uint8Array> {
  const root = await tempDir('noah-web-src-');
  const entries: NodeEntry[] = [];
  for (const item of tree) {
    const abs = join(root, item.path);
    if (item.data === undefined) {
      await fsp.mkdir(abs, { recursive: true });
      entries.push({ type: 'directory', name: item.path });
    } else {
      await fsp.writeFile(abs, item.data);
      entries.push({ type: 'file', name: item.path, source: abs, size: item.data.length });
    }
  }
  const stream = kind === 'tar' ? tarArchive(entries, T) : zipArchive(entries, T);
  return new Uint8Array(await collect(stream));
}

const LONG = `${'d'.repeat(90)}/${'e'.repeat(90)}`; // > 100 bytes: the ustar prefix field
const LONGER = `${'x'.repeat(120)}/${'y'.repeat(150)}`; // > 255 bytes: a pax header
const TREE: Tree = [
  { path: 'channels' },
  { path: 'channels/monitors' },
  { path: 'channels/monitors/a.monitor', data: bytes(513, 1) },
  { path: 'channels/monitors/b.monitor', data: bytes(0) },
  { path: 'channels/manager.bin', data: bytes(512, 2) },
  // Not a database name: the Node restore refuses a `.sqlite` file that is not SQLite
  // (a damaged wallet database), and this test compares the archive readers only.
  { path: 'wallet.dat', data: bytes(4096 + 511, 3) },
  { path: 'settings.json', data: new TextEncoder().encode('{"a":1}') },
  { path: 'dé jà', data: bytes(1, 4) }, // non-ASCII: a pax header
  { path: 'd'.repeat(90) },
  { path: LONG, data: bytes(10, 5) },
  { path: 'x'.repeat(120) },
  { path: LONGER, data: bytes(1025, 6) },
];

describe.each(['tar', 'zip'] as const)('archives the Node side writes (%s)', (kind) => {
  it('read to the same files as the Node reader (directories, nesting, long names)', async () => {
    const archive = await nodeArchive(kind, TREE);
    const files = await browserRead(kind, archive);
    expect([...files.keys()].sort()).toEqual(
      TREE.filter((t) => t.data)
        .map((t) => t.path)
        .sort(),
    );
    for (const t of TREE) if (t.data) expect(files.get(t.path), t.path).toEqual(t.data);
    await expectSameVerdict(kind, archive);
  });

  it('any tree: the browser reads what the Node writer wrote', async () => {
    const segment = fc
      .stringMatching(/^[a-zé0-9_.-]{1,40}$/)
      .filter((s) => s !== '.' && s !== '..');
    const trees = fc.uniqueArray(
      fc.record({
        dir: fc.array(segment, { maxLength: 4 }),
        name: segment,
        data: fc.uint8Array({ maxLength: 1500 }),
      }),
      { maxLength: 8, selector: (f) => [...f.dir, f.name].join('/') },
    );
    await fc.assert(
      fc.asyncProperty(trees, async (files) => {
        // A path may not be both a file and another file's folder.
        const paths = files.map((f) => [...f.dir, f.name].join('/'));
        fc.pre(!paths.some((p) => paths.some((q) => q.startsWith(`${p}/`))));
        const tree: Tree = [];
        const dirs = new Set<string>();
        for (const [i, f] of files.entries()) {
          for (let d = 1; d <= f.dir.length; d++) {
            const dir = f.dir.slice(0, d).join('/');
            if (!dirs.has(dir)) tree.push({ path: dir });
            dirs.add(dir);
          }
          tree.push({ path: paths[i]!, data: f.data });
        }
        const out = await browserRead(kind, await nodeArchive(kind, tree));
        expect(out).toEqual(new Map(files.map((f, i) => [paths[i]!, f.data])));
      }),
      { numRuns: 25 },
    );
  });
});

describe.each(['tar', 'zip'] as const)("the web wallet's own archives (%s)", (kind) => {
  it('round-trip at boundary sizes', async () => {
    for (const size of [0, 1, 511, 512, 513, 1025, 4096]) {
      const files = [
        { name: 'wallet.sqlite', data: bytes(size, size % 251) },
        { name: 'settings.json', data: new TextEncoder().encode('{"a":1}') },
      ];
      const archive = packArchive(kind, files, T);
      const out = await browserRead(kind, archive);
      expect(out.get('wallet.sqlite')).toEqual(files[0]!.data);
      expect(out.get('settings.json')).toEqual(files[1]!.data);
    }
  });
});

const file = (name: string, content: string | Uint8Array = 'x'): TarSpec => ({
  header: { name, type: 'file' },
  content,
});

/** Rewrites the size field of the tar header at `offset` and its checksum. */
function setTarSize(tar: Uint8Array, offset: number, size: number): void {
  const enc = new TextEncoder();
  tar.set(enc.encode(`${size.toString(8).padStart(11, '0')}\0`), offset + 124);
  tar.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += tar[offset + i]!;
  tar.set(enc.encode(`${sum.toString(8).padStart(6, '0')}\0 `), offset + 148);
}

describe('hostile and damaged tar archives: refused as the Node reader refuses them', () => {
  it.each([
    '../evil',
    'a/../../evil',
    '/etc/evil',
    'C:/evil',
    'a\\..\\evil',
    './evil',
    'a//evil',
    'é\0.txt',
  ])('the name %j', async (name) => {
    await expectSameVerdict('tar', await buildTar([file('ok.txt'), file(name)]));
  });

  it.each([
    ['symlink', { type: 'symlink', linkname: '/etc/passwd' }],
    ['link', { type: 'link', linkname: 'ok.txt' }],
    ['character-device', { type: 'character-device', devmajor: 1, devminor: 3 }],
    ['fifo', { type: 'fifo' }],
  ] as const)('a %s entry', async (_, extra) => {
    await expectSameVerdict(
      'tar',
      await buildTar([file('ok.txt'), { header: { name: 'bad', ...extra } }]),
    );
  });

  it('limits: entry size, total size, entry count', async () => {
    await expectSameVerdict('tar', await buildTar([file('big', new Uint8Array(4096))]), {
      maxEntryBytes: 1024,
    });
    const four = [0, 1, 2, 3].map((i) => file(`f${i}`, new Uint8Array(1000)));
    await expectSameVerdict('tar', await buildTar(four), { maxTotalBytes: 3500 });
    const eleven = Array.from({ length: 11 }, (_, i) => file(`f${i}`));
    await expectSameVerdict('tar', await buildTar(eleven), { maxEntries: 10 });
  });

  it('a duplicate, and an entry nested under a file', async () => {
    await expectSameVerdict('tar', await buildTar([file('a'), file('b'), file('a')]));
    await expectSameVerdict('tar', await buildTar([file('a'), file('a/b')]));
  });

  it('a size field that lies, a truncation, garbage, a damaged header', async () => {
    for (const declared of [5000, 10]) {
      const tar = new Uint8Array(
        await buildTar([file('a.txt', 'A'.repeat(1000)), file('b.txt', 'B')]),
      );
      setTarSize(tar, 0, declared);
      await expectSameVerdict('tar', tar);
    }
    const long = new Uint8Array(await buildTar([file('a.txt', 'A'.repeat(5000))]));
    await expectSameVerdict('tar', long.subarray(0, 2048));
    await expectSameVerdict('tar', long.subarray(0, 700));
    await expectSameVerdict('tar', new Uint8Array(4096).fill(0x41));
    const damaged = new Uint8Array(await buildTar([file('a.txt', 'A')]));
    damaged[0] = 0x58;
    await expectSameVerdict('tar', damaged);
  });

  it('zero blocks and an end without them are read as the Node reader reads them', async () => {
    const tar = new Uint8Array(await buildTar([file('a.txt', 'A'), file('b.txt', 'B')]));
    // Without the end-of-archive blocks; and with a zero block between the entries.
    await expectSameVerdict('tar', tar.subarray(0, 2048));
    const spaced = new Uint8Array(tar.length + 512);
    spaced.set(tar.subarray(0, 1024));
    spaced.set(tar.subarray(1024), 1536);
    await expectSameVerdict('tar', spaced);
    const trailing = new Uint8Array(tar.length + 512);
    trailing.set(tar);
    trailing[tar.length + 3] = 1;
    await expectSameVerdict('tar', trailing);
  });
});

describe('hostile and damaged ZIP archives: refused as the Node reader refuses them', () => {
  const enc = (s: string) => new TextEncoder().encode(s);

  it('names, symlinks, a bomb, a lying size', async () => {
    await expectSameVerdict('zip', zipSync({ 'ok.txt': enc('x'), '../evil': enc('evil') }));
    await expectSameVerdict('zip', zipSync({ 'ok.txt': enc('x'), '/abs': enc('evil') }));
    const link = zipSync({ link: [enc('/etc/passwd'), { os: 3, attrs: (0o120777 << 16) >>> 0 }] });
    await expectSameVerdict('zip', link);
    const bomb = zipSync({ bomb: new Uint8Array(8 * 1024 * 1024) });
    setZipSize(bomb, 100);
    await expectSameVerdict('zip', bomb, { maxEntryBytes: 1024 * 1024 });
    const lying = zipSync({ a: enc('hello world') });
    setZipSize(lying, 5);
    await expectSameVerdict('zip', lying);
    const flipped = zipSync({ a: [enc('hello world'), { level: 0 }] });
    flipped[31 + 1]! ^= 1; // a content byte of a stored entry: the CRC-32 fails
    await expectSameVerdict('zip', flipped);
    await expectSameVerdict('zip', enc('not a zip at all'));
  });
});

/** Sets the uncompressed size in the local header and central directory of a one-entry zip. */
function setZipSize(zip: Uint8Array, size: number): void {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  view.setUint32(22, size, true);
  const cd = view.getUint32(zip.length - 22 + 16, true);
  view.setUint32(cd + 24, size, true);
}
