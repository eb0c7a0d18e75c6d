/**
 * The pinned image of a live WAL-mode database (docs/WALLET.md §5): its pages read from
 * the WAL and the database file as SQLite would read them, with no copy, equal to the
 * pinned state while other connections commit, checkpoint and restart the WAL; and
 * `undefined` (the caller copies) whenever that cannot be proven.
 */
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import {
  chmodSync,
  promises as fsp,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { pinWalImage, type WalImage } from '../src/node/wal-image.ts';
import { exited, rowCount, tempDir, waitForLine } from './fixtures/node-helpers.ts';

const writerScript = fileURLToPath(new URL('./fixtures/node-writer.mjs', import.meta.url));

/** Another process checkpointing `argv[1]` every few ms, as a wallet's own checkpoints. */
const CHECKPOINTER = `
const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});
const db = new Database(process.argv[1], { timeout: 5000 });
process.stdout.write('ready\\n');
setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), 3);
`;

/** A WAL-mode database of `rows` rows of 500 bytes, its app connection left open. */
function walDatabase(file: string, rows: number, o: { checkpoint?: boolean } = {}) {
  const app = new Database(file);
  app.pragma('journal_mode = WAL');
  app.pragma('wal_autocheckpoint = 0');
  app.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v BLOB)');
  const ins = app.prepare('INSERT INTO t (k, v) VALUES (?, randomblob(500))');
  app.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run(`k${(i * 7919) % rows}-${i}`);
  })();
  if (o.checkpoint) app.pragma('wal_checkpoint(PASSIVE)');
  return app;
}

async function imageBytes(image: WalImage): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of image.read(0, image.pageCount * image.pageSize, false)) parts.push(c);
  return Buffer.concat(parts);
}

/** The pinned state as SQLite sees it through the pinned connection itself. */
function stateOf(db: Database.Database, table: string) {
  return db.prepare(`SELECT count(*) AS n, max(id) AS top FROM ${table}`).get();
}

/** Opens `bytes` as a database file and checks it. */
async function expectSound(dir: string, bytes: Buffer, table: string, state: unknown) {
  const f = join(dir, `image-${Math.random().toString(36).slice(2)}.db`);
  await fsp.writeFile(f, bytes);
  const db = new Database(f, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.prepare(`SELECT count(*) AS n, max(id) AS top FROM ${table}`).get()).toEqual(state);
  } finally {
    db.close();
  }
}

describe('pinned WAL image', () => {
  it('an idle database with commits in its WAL: the bytes a checkpoint then writes', async () => {
    const dir = await tempDir();
    const file = join(dir, 'w.db');
    const app = walDatabase(file, 2000);
    app.prepare('UPDATE t SET v = randomblob(500) WHERE id % 17 = 0').run();
    const image = await pinWalImage(file, 1000);
    expect(image).toBeDefined();
    expect(image!.walPages).toBeGreaterThan(0);
    const bytes = await imageBytes(image!);
    await image!.close();
    app.pragma('wal_checkpoint(TRUNCATE)');
    app.close();
    expect(bytes.equals(readFileSync(file))).toBe(true);
  });

  it('a checkpointed database reads from its file alone', async () => {
    const dir = await tempDir();
    const file = join(dir, 'w.db');
    const app = walDatabase(file, 500, { checkpoint: true });
    const image = await pinWalImage(file, 1000);
    expect(image?.walPages).toBe(0);
    const bytes = await imageBytes(image!);
    await image!.close();
    app.close();
    expect(bytes.equals(readFileSync(file))).toBe(true);
  });

  it('another process commits, checkpoints run: the image stays the pinned state', async () => {
    const dir = await tempDir();
    const file = join(dir, 'w.db');
    walDatabase(file, 1000).close();
    const writer = spawn(process.execPath, [writerScript, file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await waitForLine(writer, /^ready$/);
      const image = await pinWalImage(file, 5000);
      expect(image).toBeDefined();
      const pinned = stateOf(image!.db, 'pairs');
      const before = rowCount(file, 'pairs');
      // As the snapshot does, and before with an open-read-close of -shm, which dropped
      // this process's lock on the pinned read mark (wal-index.ts).
      image!.unchanged();
      // Checkpoints from a third process while the image is read: each copies what it
      // may into the database file, which must not change what the image reads.
      const checkpointer = spawn(process.execPath, ['-e', CHECKPOINTER, file], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let bytes: Buffer;
      try {
        await waitForLine(checkpointer, /^ready$/);
        await new Promise((r) => setTimeout(r, 300));
        image!.unchanged();
        bytes = await imageBytes(image!);
      } finally {
        checkpointer.kill('SIGKILL');
        await exited(checkpointer);
      }
      expect(rowCount(file, 'pairs')).toBeGreaterThan(before); // it kept committing
      await expectSound(dir, bytes, 'pairs', pinned);
      expect(image!.unchanged()).toBe(false);
      await image!.close();
    } finally {
      writer.kill('SIGKILL');
      await exited(writer);
    }
  });

  it('pinned on a checkpointed database while the WAL restarts and grows', async () => {
    const dir = await tempDir();
    const file = join(dir, 'w.db');
    const app = walDatabase(file, 1000, { checkpoint: true });
    const image = await pinWalImage(file, 1000);
    expect(image?.walPages).toBe(0);
    const pinned = stateOf(image!.db, 't');
    // The next commits restart the WAL from its first frame (nothing of it was needed),
    // then checkpoints try to copy them into the file the image reads.
    const ins = app.prepare('INSERT INTO t (k, v) VALUES (?, randomblob(500))');
    for (let i = 0; i < 300; i++) ins.run(`late-${i}`);
    app.prepare('UPDATE t SET v = randomblob(500) WHERE id % 5 = 0').run();
    app.pragma('wal_checkpoint(PASSIVE)');
    const bytes = await imageBytes(image!);
    await expectSound(dir, bytes, 't', pinned);
    await image!.close();
    app.close();
  });

  it('a WAL whose frames do not match its index is not trusted', async () => {
    const dir = await tempDir();
    const file = join(dir, 'w.db');
    const app = walDatabase(file, 300);
    app.prepare('UPDATE t SET v = randomblob(500) WHERE id < 50').run();
    // One byte of a committed frame's page flipped behind SQLite's back.
    const wal = await fsp.open(`${file}-wal`, 'r+');
    const b = Buffer.alloc(1);
    await wal.read(b, 0, 1, 32 + 24 + 100);
    b[0] = b[0]! ^ 0xff;
    await wal.write(b, 0, 1, 32 + 24 + 100);
    await wal.close();
    expect(await pinWalImage(file, 1000)).toBeUndefined();
    app.close();
  });

  it('a rollback-journal database is not pinned', async () => {
    const dir = await tempDir();
    const file = join(dir, 'r.db');
    const db = new Database(file);
    db.exec('CREATE TABLE t (x)');
    db.close();
    expect(await pinWalImage(file, 1000)).toBeUndefined();
  });

  it('a -shm this process may not write is not trusted (SQLite would ignore it)', async () => {
    const dir = await tempDir();
    const file = join(dir, 'w.db');
    const app = walDatabase(file, 300);
    app.prepare('UPDATE t SET v = randomblob(500) WHERE id < 50').run();
    const image = fileURLToPath(new URL('../src/node/wal-image.ts', import.meta.url));
    const script = `import(${JSON.stringify(image)}).then(async (m) => console.log(String(await m.pinWalImage(process.argv[1], 1000))))`;
    // Root may write any file: the reader then runs as nobody, for whom -shm is read-only.
    const asRoot = process.getuid?.() === 0;
    chmodSync(dir, 0o755);
    for (const f of ['', '-wal', '-shm']) chmodSync(`${file}${f}`, 0o644);
    if (!asRoot) chmodSync(`${file}-shm`, 0o444);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '-e', script, file],
      { timeout: 10_000, ...(asRoot ? { uid: 65534, gid: 65534 } : {}) },
    );
    expect(stdout.trim()).toBe('undefined');
    app.close();
  });

  it('the database renamed over after the pin: the image no longer stands for the path', async () => {
    const dir = await tempDir();
    const file = join(dir, 'w.db');
    const app = walDatabase(file, 200);
    const image = await pinWalImage(file, 1000);
    expect(image?.unchanged()).toBe(true);
    walDatabase(join(dir, 'other.db'), 10).close();
    renameSync(join(dir, 'other.db'), file);
    expect(image!.unchanged()).toBe(false);
    await image!.close();
    app.close();
  });

  it('a replaced database file is not kept open once its image is closed', async () => {
    const dir = await tempDir();
    const file = join(dir, 'w.db');
    const deletedOpen = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          const target = readlinkSync(`/proc/self/fd/${fd}`);
          return target.startsWith(dir) && target.endsWith('(deleted)');
        } catch {
          return false; // closed meanwhile
        }
      }).length;
    for (let i = 0; i < 3; i++) {
      // A restore's swap: a new file renamed over the old one.
      walDatabase(join(dir, `next-${i}.db`), 100, { checkpoint: true }).close();
      renameSync(join(dir, `next-${i}.db`), file);
      const app = new Database(file); // the wallet, its -shm in use
      app.prepare('SELECT count(*) FROM t').get();
      const image = await pinWalImage(file, 1000);
      expect(image).toBeDefined();
      await image!.close();
      app.close();
    }
    // At most the last -shm, deleted by the wallet's close after the last image: its
    // descriptor goes at the next read of that path. Before, every replaced file stayed.
    expect(deletedOpen()).toBeLessThanOrEqual(1);
  });
});
