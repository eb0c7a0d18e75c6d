/**
 * A realistic demo wallet data directory, so anyone can try backup and restore
 * (`noah-backup demo-wallet DIR`, README.md), and a digest of a wallet's logical contents, so
 * tests can compare an original with a restored copy. Node only.
 *
 * Layout: `wallet.sqlite` (WAL mode; `payments` and `coins` tables of deterministic
 * pseudo-random rows), `settings.json`, `channels/channel_manager.bin`,
 * `channels/monitors/<id>.monitor`.
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { walkDataDir } from './node/walk.ts';

/** Options of `createDemoWallet`. */
export interface DemoWalletOptions {
  /** Target size of `wallet.sqlite` in MiB (default 4). */
  sizeMb?: number;
  /** PRNG seed: the same seed gives the same rows and files (default 1). */
  seed?: number;
  /** A string written into every payment description and the settings (leak tests). */
  marker?: string;
}

/** What `createDemoWallet` made. */
export interface DemoWallet {
  readonly dir: string;
  /** Path of `wallet.sqlite`. */
  readonly database: string;
  readonly payments: number;
  readonly coins: number;
}

/** mulberry32: a small deterministic PRNG (not for secrets). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  'coffee rent pizza refund invoice tips groceries lunch zap podcast book hardware donation ' +
  'ticket market fuel gift sats dinner subscription';

const SCHEMA = `
CREATE TABLE payments (
  id INTEGER PRIMARY KEY,
  payment_hash TEXT NOT NULL UNIQUE,
  bolt11 TEXT,
  preimage TEXT,
  direction TEXT NOT NULL CHECK (direction IN ('incoming', 'outgoing')),
  status TEXT NOT NULL,
  amount_sat INTEGER NOT NULL,
  fee_sat INTEGER NOT NULL,
  description TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX payments_created_at ON payments (created_at);
CREATE TABLE coins (
  txid TEXT NOT NULL,
  vout INTEGER NOT NULL,
  amount_sat INTEGER NOT NULL,
  confirmed INTEGER NOT NULL,
  block_height INTEGER,
  PRIMARY KEY (txid, vout)
);`;

/**
 * Creates a demo wallet in `dir` (created if missing; existing demo files are replaced).
 * @param dir - the data directory
 * @param opts - size, seed, marker
 * @returns what was made
 * @throws RangeError if `sizeMb` is not in (0, 10240]
 * @example const w = await createDemoWallet('/tmp/w', { sizeMb: 8 });
 */
export async function createDemoWallet(
  dir: string,
  opts: DemoWalletOptions = {},
): Promise<DemoWallet> {
  const sizeMb = opts.sizeMb ?? 4;
  if (typeof sizeMb !== 'number' || !(sizeMb > 0 && sizeMb <= 10240))
    throw new RangeError(`sizeMb must be in (0, 10240], got ${sizeMb}`);
  const rand = prng(opts.seed ?? 1);
  const hex = (bytes: number): string =>
    Array.from({ length: bytes }, () =>
      Math.floor(rand() * 256)
        .toString(16)
        .padStart(2, '0'),
    ).join('');
  const int = (max: number): number => Math.floor(rand() * max);
  const words = WORDS.split(' ');
  const marker = opts.marker ? ` ${opts.marker}` : '';

  await fsp.mkdir(join(dir, 'channels', 'monitors'), { recursive: true, mode: 0o700 });
  const database = join(dir, 'wallet.sqlite');
  for (const f of ['', '-wal', '-shm', '-journal']) await fsp.rm(database + f, { force: true });
  const db = new Database(database);
  let payments = 0;
  let coins = 0;
  try {
    db.pragma('journal_mode = WAL');
    db.exec(SCHEMA);
    const insPayment = db.prepare(
      'INSERT INTO payments (payment_hash, bolt11, preimage, direction, status, amount_sat, fee_sat, description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const insCoin = db.prepare(
      'INSERT INTO coins (txid, vout, amount_sat, confirmed, block_height) VALUES (?, ?, ?, ?, ?)',
    );
    const target = sizeMb * 1024 * 1024;
    const batch = db.transaction(() => {
      for (let i = 0; i < 500; i++) {
        const amount = 1 + int(2_000_000);
        const incoming = rand() < 0.5;
        insPayment.run(
          hex(32),
          `lnbc${amount}n1p${hex(150)}`,
          incoming ? null : hex(32),
          incoming ? 'incoming' : 'outgoing',
          rand() < 0.95 ? 'succeeded' : 'failed',
          amount,
          incoming ? 0 : int(amount / 100 + 1),
          `${words[int(words.length)]} ${words[int(words.length)]} #${payments}${marker}`,
          1_700_000_000 + payments * 97,
        );
        payments++;
        if (i % 5 === 0) {
          insCoin.run(hex(32), int(4), 546 + int(5_000_000), rand() < 0.9 ? 1 : 0, 800_000 + coins);
          coins++;
        }
      }
    });
    const size = (): number =>
      Number(db.pragma('page_count', { simple: true })) *
      Number(db.pragma('page_size', { simple: true }));
    while (size() < target) batch();
  } finally {
    db.close();
  }

  const settings = {
    network: 'bitcoin',
    fiat_currency: 'USD',
    backup_enabled: true,
    lightning_address: `demo${opts.seed ?? 1}@noah.example`,
    note: `demo wallet${marker}`,
  };
  await fsp.writeFile(join(dir, 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`, {
    mode: 0o600,
  });
  await fsp.writeFile(join(dir, 'channels', 'channel_manager.bin'), Buffer.from(hex(8192), 'hex'), {
    mode: 0o600,
  });
  for (let i = 0; i < 2; i++)
    await fsp.writeFile(
      join(dir, 'channels', 'monitors', `${hex(8)}.monitor`),
      Buffer.from(hex(4096), 'hex'),
      { mode: 0o600 },
    );
  return { dir, database, payments, coins };
}

/**
 * SHA-256 (hex) of a wallet directory's logical contents: for every SQLite database
 * (found by header), its schema, `user_version` and every table's rows in a stable
 * order; for every other regular file, its bytes; plus directory names. Journals
 * (`-wal`, `-shm`, `-journal`) and symlinks are not part of it. Two directories with the
 * same digest hold the same data, whatever the databases' page layout.
 * @param dir - a wallet data directory
 */
export async function walletDigest(dir: string): Promise<string> {
  const h = createHash('sha256');
  const line = (s: string): void => {
    h.update(`${s}\n`);
  };
  for (const item of await walkDataDir(dir)) {
    if (item.kind === 'directory') line(`dir ${item.path}`);
    else if (item.kind === 'file') {
      line(`file ${item.path} ${item.size}`);
      for await (const chunk of createReadStream(item.abs)) h.update(chunk as Buffer);
    } else if (item.kind === 'database') {
      line(`database ${item.path}`);
      digestDatabase(item.abs, line);
    }
  }
  return h.digest('hex');
}

function digestDatabase(path: string, line: (s: string) => void): void {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.defaultSafeIntegers(true);
    const json = (v: unknown): string =>
      JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));
    line(`user_version ${json(db.pragma('user_version', { simple: true }))}`);
    const schema = db
      .prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name')
      .raw()
      .all() as unknown[][];
    for (const row of schema) line(`schema ${json(row)}`);
    for (const row of schema) {
      const [type, name] = row as [string, string];
      if (type !== 'table' || name.startsWith('sqlite_')) continue;
      const q = `"${name.replaceAll('"', '""')}"`;
      const columns = (db.pragma(`table_info(${q})`) as unknown[]).length;
      const order = Array.from({ length: columns }, (_, i) => i + 1).join(', ');
      line(`table ${name}`);
      for (const r of db.prepare(`SELECT * FROM ${q} ORDER BY ${order}`).raw().iterate())
        line(json(r));
    }
  } finally {
    db.close();
  }
}
