/**
 * `noah-backup admin` as a black box (docs/PUSH.md §7): two
 * `admin trigger-backups --now` processes at once on one PostgreSQL database, with a
 * local fake Expo and UnifiedPush server, send exactly one trigger to each stale user's
 * devices and none to fresh, disabled or device-less users; a third run sends nothing;
 * `admin stats` reports the figures. Configuration comes from the environment, as for
 * `serve`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '@noah-backup/core/clock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetadataStore } from '../../server/src/metadata/index.ts';
import { type FakeExpo, startFakeExpo } from '../../server/test/helpers/fake-expo.ts';
import {
  type FakeUnifiedPush,
  startFakeUnifiedPush,
} from '../../server/test/helpers/fake-unifiedpush.ts';
import { createTestDatabase, type TestDatabase } from '../../server/test/helpers/metadata.ts';
import { expoToken, type SeededUser, seedUser } from '../../server/test/helpers/push.ts';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'noah-backup.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let db: TestDatabase;
let expo: FakeExpo;
let up: FakeUnifiedPush;
let dataDir: string;
let env: Record<string, string>;
let stale: SeededUser[];
let others: SeededUser[];
let deadToken: string;

beforeAll(async () => {
  db = await createTestDatabase('postgres');
  expo = await startFakeExpo({ accessToken: 'cli-expo-token' });
  up = await startFakeUnifiedPush();
  dataDir = await mkdtemp(join(tmpdir(), 'noah-admin-'));
  const store = await createMetadataStore(db.url);
  try {
    const now = systemClock.now();
    deadToken = expoToken();
    expo.behave(deadToken, { ticketError: 'DeviceNotRegistered' });
    stale = [
      await seedUser(store, now, { backupHoursAgo: 30 }),
      await seedUser(store, now, { backupHoursAgo: null }),
      await seedUser(store, now, {
        backupHoursAgo: 21,
        devices: [
          { provider: 'expo', address: expoToken() },
          { provider: 'unifiedpush', address: up.endpoint([201]) },
        ],
      }),
      await seedUser(store, now, {
        devices: [
          { provider: 'expo', address: deadToken },
          { provider: 'expo', address: expoToken() },
        ],
      }),
      ...(await Promise.all(Array.from({ length: 8 }, () => seedUser(store, now)))),
    ];
    others = [
      await seedUser(store, now, { backupHoursAgo: 1 }),
      await seedUser(store, now, { backupHoursAgo: 19 }),
      await seedUser(store, now, { enabled: false }),
      await seedUser(store, now, { devices: [] }),
    ];
  } finally {
    await store.close();
  }
  env = {
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    PUSH_PROVIDERS: 'expo,unifiedpush',
    VAPID_SUBJECT: 'mailto:ops@example.com',
    // The fake UnifiedPush server is on loopback (docs/PUSH.md "Endpoint addresses").
    UNIFIEDPUSH_ALLOW_ADDRESSES: '127.0.0.1',
    EXPO_PUSH_URL: expo.url,
    EXPO_ACCESS_TOKEN: 'cli-expo-token',
    BACKUP_SPREAD: '0',
    PUSH_RATE: '0',
    LOG_LEVEL: 'warn',
  };
});
afterAll(async () => {
  await expo?.close();
  await up?.close();
  await db?.cleanup();
  await rm(dataDir, { recursive: true, force: true });
});

/** Messages each address received (Expo or UnifiedPush). */
const received = (u: SeededUser) =>
  u.addresses.map((a) =>
    a.startsWith('http') ? up.deliveries(a).length : expo.messages.filter((m) => m.to === a).length,
  );

describe('noah-backup admin', () => {
  it('trigger-backups --now on two processes at once triggers each stale user once', async () => {
    const runs = await Promise.all([
      cli(['admin', 'trigger-backups', '--now', '--json'], env),
      cli(['admin', 'trigger-backups', '--now', '--json'], env),
    ]);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const results = runs.map((r) => JSON.parse(r.stdout) as Record<string, unknown>);
    // Either one held the lease while the other ran, or they ran one after the other.
    const triggered = results.reduce((n, r) => n + Number(r.triggered ?? 0), 0);
    expect(triggered).toBe(stale.length);
    expect(results.map((r) => r.status)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^(done|lease_held)$/)]),
    );

    for (const u of stale) expect(received(u)).toEqual(u.addresses.map(() => 1));
    for (const u of others) expect(received(u)).toEqual(u.addresses.map(() => 0));
    // Every request carried the access token; the dead token was pruned.
    expect(new Set(expo.authorizations)).toEqual(new Set(['Bearer cli-expo-token']));
    expect(results.reduce((n, r) => n + Number(r.pruned ?? 0), 0)).toBe(1);
    // One notification id per user, shared by its devices.
    const multi = stale[2]!;
    const viaExpo = expo.messages.find((m) => m.to === multi.addresses[0]);
    const viaUp = JSON.parse(up.deliveries(multi.addresses[1]!)[0]!.body);
    expect(viaUp).toEqual(viaExpo?.data);
  });

  it('a third run the same day sends nothing; the text output says so', async () => {
    const before = expo.count();
    const r = await cli(['admin', 'trigger-backups', '--now'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/backup trigger job \d{4}-\d{2}-\d{2}: done/);
    expect(r.stdout).toMatch(/triggered users\s+0/);
    expect(expo.count()).toBe(before);
  });

  it('stats prints users, enabled, stale, bytes stored and the last job', async () => {
    const r = await cli(['admin', 'stats', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({
      users: stale.length + others.length,
      enabledUsers: stale.length + others.length - 1,
      // The stale users have not backed up yet; the two fresh ones are not stale.
      staleUsers: stale.length,
      bytesStored: 100 * 4,
      lastJob: { triggered: stale.length, pruned: 1 },
    });
    expect(s.lastJob.finishedAt).not.toBeNull();
    // The users holding a backup, by opaque id (each seeded backup is 100 bytes).
    const holders = [stale[0]!, stale[2]!, others[0]!, others[1]!];
    expect((s.largestUsers as { userId: string }[]).map((u) => u.userId).sort()).toEqual(
      holders.map((u) => u.id).sort(),
    );
    expect(s.largestUsers[0]).toMatchObject({ bytes: 100, objects: 1 });
    const text = await cli(['admin', 'stats'], env);
    expect(text.stdout).toMatch(/stale users\s+12/);
    expect(text.stdout).toMatch(/last job run\s+\d{4}-\d{2}-\d{2}: started/);
    expect(text.stdout).toMatch(/largest users/);
    for (const u of holders) expect(text.stdout).toContain(`  ${u.id}  100 bytes, 1, `);
    // Never the linking key: the id is all the operator needs to find the rows.
    for (const u of [...stale, ...others]) expect(text.stdout + r.stdout).not.toContain(u.pubkey);
    const top = await cli(['admin', 'stats', '--json', '--top', '2'], env);
    expect(JSON.parse(top.stdout).largestUsers).toHaveLength(2);
    const bad = await cli(['admin', 'stats', '--top', 'many'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--top/);
  });

  it('refuses to run without --now, and reports bad configuration', async () => {
    const r = await cli(['admin', 'trigger-backups'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--now/);
    const bad = await cli(['admin', 'stats'], { ...env, PUSH_PROVIDERS: 'apns' });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toMatch(/PUSH_PROVIDERS/);
  });
});
