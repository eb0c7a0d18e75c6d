/**
 * `admin import-noah` when THIS server's PostgreSQL goes away in the middle of a run
 * (docs/OPERATIONS.md "Moving users from a Noah server", exit codes): whichever call
 * into the metadata store meets the dropped connection — a user's lookup, the listing
 * of its backups or devices, a write — the run stops as `database_unavailable`, exit 69
 * ("run again"), never as a bug (70) nor as users left out (1); what was imported before
 * stays. The database is real, reached through a TCP relay that cuts every connection
 * and refuses new ones once a chosen statement is sent, as a server that went down
 * would.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, freshPubkey } from '../../server/test/helpers/metadata.ts';
import { type NoahFixture, startNoahFixture } from '../../server/test/helpers/noah-source.ts';
import { cli } from './admin-helpers.ts';

const SECRET = 's3cr3t-pass';

/** A relay to PostgreSQL that drops everything at the `nth` statement matching `cut`. */
interface Relay {
  /** `url` with the relay's host and port. */
  url: string;
  /** Arms the cut (disarmed: a plain relay). */
  arm(cut: RegExp, nth: number): void;
  /** Whether the cut happened. */
  cutDone(): boolean;
  close(): Promise<void>;
}

async function startRelay(url: string): Promise<Relay> {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  let cut: { re: RegExp; left: number } | null = null;
  let done = false;
  const server = createServer((client) => {
    const upstream = createConnection(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    upstream.pipe(client);
    client.on('data', (chunk: Buffer) => {
      // A Parse or Query message carries the statement's text as is.
      if (cut?.re.test(chunk.toString('latin1')) && --cut.left === 0) {
        done = true;
        server.close();
        for (const s of sockets) s.destroy();
        return;
      }
      upstream.write(chunk);
    });
    client.on('end', () => upstream.end());
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const relayed = new URL(url);
  relayed.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  relayed.password = SECRET;
  return {
    url: relayed.toString(),
    arm: (re, nth) => {
      cut = { re, left: nth };
    },
    cutDone: () => done,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

describe("import-noah: this server's PostgreSQL drops mid-run", () => {
  let noah: NoahFixture;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'noah-import-dropped-'));
    noah = await startNoahFixture();
    const at = (d: number) => new Date(Date.UTC(2026, 5, d));
    // Three users with a backup, and one with only a setting: on a second run that one
    // is here without a backup, so its devices are listed too.
    await noah.seed([
      ...[1, 2, 3].map((i) => ({
        pubkey: freshPubkey(),
        createdAt: at(i),
        backups: [{ version: 1, createdAt: at(i + 1), bytes: randomBytes(100) }],
      })),
      { pubkey: freshPubkey(), createdAt: at(5), backups: [], enabled: true },
    ]);
  });
  afterAll(async () => {
    await noah?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  const cases = [
    // The third: the first user's creation reads its row back the same way.
    { call: "the second user's lookup", cut: /from "users" where "pubkey" = \$1/, nth: 3 },
    { call: 'the creation of a user', cut: /insert into "users"/, nth: 2 },
    { call: "a user's backups, on a second run", cut: /from "backups"/, nth: 1, again: true },
    { call: "a user's devices, on a second run", cut: /from "devices"/, nth: 1, again: true },
  ];

  it.each(cases)('at $call: database_unavailable, exit 69', async ({ cut, nth, again }) => {
    const db = await createTestDatabase('postgres');
    const relay = await startRelay(db.url);
    const check = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const env = {
        DATA_DIR: await mkdtemp(join(dir, 'data-')),
        DATABASE_URL: relay.url,
        BLOB_STORE_URL: pathToFileURL(await mkdtemp(join(dir, 'blobs-'))).href,
        LOG_LEVEL: 'fatal',
        ...noah.env,
      };
      const run = () => cli(['admin', 'import-noah', ...noah.flags, '--concurrency', '1'], env);
      const users = async () =>
        (await check.query<{ n: number }>('SELECT count(*)::int AS n FROM users')).rows[0]!.n;
      if (again) expect((await run()).code).toBe(0);
      // A first run stops after its first user; a second finds all four here.
      const kept = again ? await users() : 1;
      relay.arm(cut, nth);
      const r = await run();
      expect(relay.cutDone(), r.stderr).toBe(true);
      expect(r.code, r.stderr).toBe(69);
      const lines = r.stderr
        .split('\n')
        .filter((l) => l.startsWith('noah-backup admin import-noah:') || l.startsWith('hint:'));
      expect(lines, r.stderr).toEqual([
        expect.stringMatching(
          /^noah-backup admin import-noah: error: this server's database cannot be used: .+ \[database_unavailable\]$/,
        ),
        expect.stringMatching(/^hint: check this server's DATABASE_URL.*run the import again/),
      ]);
      expect(r.stderr).not.toContain(SECRET);
      expect(r.stdout).toBe('');
      // What was imported before the cut stays.
      expect(await users()).toBe(kept);
    } finally {
      await check.end();
      await relay.close();
      await db.cleanup();
    }
  });
});
