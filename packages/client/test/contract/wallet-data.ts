import { collect } from '@noah-backup/core/stream';
import { describe, expect, it } from 'vitest';
import type { ExtractLimits } from '../../src/archive/guards.ts';
import { readArchiveFiles } from '../../src/archive/read.ts';
import { DEFAULT_LIMITS } from '../../src/archive/guards.ts';
import { writeArchive } from '../../src/archive/write.ts';
import type { ArchiveKind, WalletDataAdapter } from '../../src/ports.ts';
import { noahZip } from '../../../../scripts/vectors/noah-app.ts';
import { chunks, refusal } from '../fixtures/node-helpers.ts';
import { HOSTILE } from './hostile-archives.ts';

/** One wallet under test, healthy when made, with at least one database. */
export interface WalletDataHarness {
  readonly adapter: WalletDataAdapter;
  /** A digest of the wallet's logical contents: the same after a round trip. */
  contents(): Promise<string>;
  /** A digest of every byte the wallet keeps: unchanged by any refusal. */
  bytes(): Promise<string>;
  /** Changes the wallet's data (a new row in a database). */
  change(): Promise<void>;
  /** Damages a database so that it still opens, but fails `PRAGMA integrity_check`. */
  damageDatabase(): Promise<void>;
  /** Empties a database file (0 bytes); returns its relative path. */
  emptyDatabase(): Promise<string>;
  /** Removes all of the wallet's data. */
  removeAll(): Promise<void>;
  /** Anything a restore, verify or snapshot left staged beside the wallet. */
  leftovers(): Promise<string[]>;
}

/** Makes a fresh wallet and its adapter (with these extraction limits). */
export type WalletDataFactory = (opts: {
  limits?: Partial<ExtractLimits>;
}) => Promise<WalletDataHarness>;

async function archiveOf(w: WalletDataHarness, kind: ArchiveKind) {
  const snap = await w.adapter.snapshot({ kind });
  try {
    return { archive: await collect(snap.archive), entries: snap.entries, snap };
  } finally {
    await snap.cleanup();
    await snap.cleanup(); // idempotent
  }
}

/** A wallet archive: a settings file and `database` as `wallet.sqlite` (none: no database). */
function walletArchive(database: Uint8Array | null): Promise<Uint8Array> {
  const settings = new TextEncoder().encode('{"version":1}');
  const files = [
    { name: 'settings.json', data: settings },
    ...(database ? [{ name: 'wallet.sqlite', data: database }] : []),
  ];
  const inputs = files.map(({ name, data }) => ({
    type: 'file' as const,
    name,
    size: data.length,
    body: () => chunks(data),
  }));
  return collect(writeArchive('tar', inputs, new Date('2026-01-01T00:00:00Z')));
}

/**
 * Runs the contract on one implementation.
 * @param name - the implementation, e.g. "Node (wallet data directory)"
 * @param factory - a fresh wallet per test
 * @param damagedDatabase - the bytes of a database that opens but fails its check
 */
export function walletDataContract(
  name: string,
  factory: WalletDataFactory,
  damagedDatabase: () => Promise<Uint8Array>,
): void {
  describe(`WalletDataAdapter contract: ${name}`, () => {
    describe('snapshot', () => {
      it('holds the wallet: its databases named, every one in the archive', async () => {
        const w = await factory({});
        const { archive, snap } = await archiveOf(w, 'tar');
        expect(snap.databases.length).toBeGreaterThan(0);
        const { files, entries } = await readArchiveFiles('tar', chunks(archive), {
          limits: DEFAULT_LIMITS,
          keep: () => true,
        });
        expect(entries).toBe(snap.entries);
        for (const db of snap.databases) expect(files.has(db), db).toBe(true);
        expect(await w.leftovers()).toEqual([]);
      });

      it.each(['tar', 'zip'] as const)(
        '%s: restores to the same wallet, and verify counts it',
        async (kind) => {
          const w = await factory({});
          const contents = await w.contents();
          const { archive, entries, snap } = await archiveOf(w, kind);
          await w.change();
          expect(await w.contents()).not.toBe(contents);
          const changed = await w.bytes();
          expect(await w.adapter.verify(chunks(archive, 1000), { kind })).toEqual({
            entries,
            databases: snap.databases.length,
          });
          expect(await w.bytes()).toBe(changed);
          const restored = await w.adapter.restore(chunks(archive, 1000), { kind });
          expect(restored.entries).toBe(entries);
          expect(await w.contents()).toBe(contents);
          expect(await w.leftovers()).toEqual([]);
        },
      );

      it('refuses a database that fails PRAGMA integrity_check: corrupt_wallet_database', async () => {
        const w = await factory({});
        await w.damageDatabase();
        const before = await w.bytes();
        const err = await refusal(w.adapter.snapshot({ kind: 'tar' }));
        expect(err.code).toBe('corrupt_wallet_database');
        expect(err.message).toMatch(/integrity_check/);
        expect(await w.bytes()).toBe(before);
        expect(await w.leftovers()).toEqual([]);
      });

      it('refuses a file that should be a database and is not: corrupt_wallet_database', async () => {
        const w = await factory({});
        const path = await w.emptyDatabase();
        const err = await refusal(w.adapter.snapshot({ kind: 'tar', databases: [path] }));
        expect(err.code).toBe('corrupt_wallet_database');
        expect(err.message).toContain(path);
        expect(await w.leftovers()).toEqual([]);
      });

      it('refuses no wallet: not_a_wallet', async () => {
        const w = await factory({});
        await w.removeAll();
        expect((await refusal(w.adapter.snapshot({ kind: 'tar' }))).code).toBe('not_a_wallet');
        expect(await w.leftovers()).toEqual([]);
      });
    });

    describe('restore and verify', () => {
      /** Both refuse `archive` with `code`; the wallet stays byte for byte. */
      async function expectRefused(
        w: WalletDataHarness,
        archive: Uint8Array,
        kind: ArchiveKind,
        code: string,
        rule?: RegExp,
      ): Promise<void> {
        const before = await w.bytes();
        const runs = [
          () => w.adapter.restore(chunks(archive, 1000), { kind }),
          () => w.adapter.verify(chunks(archive, 1000), { kind }),
        ];
        for (const run of runs) {
          const err = await refusal(run());
          expect(err.code, err.message).toBe(code);
          if (rule) expect(err.message).toMatch(rule);
        }
        expect(await w.bytes()).toBe(before);
        expect(await w.leftovers()).toEqual([]);
      }

      it.each(HOSTILE.map((h) => [h.name, h] as const))(
        'refuse the hostile archive (%s): unsafe_archive',
        async (_, hostile) => {
          const w = await factory({ limits: hostile.limits });
          await expectRefused(
            w,
            await hostile.build(),
            hostile.kind,
            'unsafe_archive',
            hostile.rule,
          );
        },
      );

      it('refuse a database that fails its check: integrity_check_failed', async () => {
        const w = await factory({});
        const archive = await walletArchive(await damagedDatabase());
        await expectRefused(w, archive, 'tar', 'integrity_check_failed', /wallet\.sqlite/);
      });

      it('refuse an archive without a database: empty_backup, unless allowed', async () => {
        const w = await factory({});
        const { snap } = await archiveOf(w, 'tar'); // what this device's last backup held
        const noDatabase = await walletArchive(null);
        await expectRefused(w, noDatabase, 'tar', 'empty_backup', /holds no wallet database/);
        const nothing = await collect(writeArchive('tar', [], new Date('2026-01-01T00:00:00Z')));
        await expectRefused(w, nothing, 'tar', 'empty_backup');
        // Confirmed (an explicit choice of the user), it restores as any other backup.
        const r = await w.adapter.restore(chunks(noDatabase), {
          kind: 'tar',
          allowEmpty: true,
          databases: snap.databases,
        });
        expect(r.entries).toBe(1);
        expect(await w.leftovers()).toEqual([]);
      });

      it.each(['tar', 'zip'] as const)(
        '%s: an archive that throws midway: that very error, the wallet untouched',
        async (kind) => {
          const w = await factory({});
          const { archive } = await archiveOf(w, kind);
          await w.change();
          const before = await w.bytes();
          const late = new Error('wrong seedphrase, or the backup is corrupted (late)');
          async function* failing(): AsyncGenerator<Uint8Array> {
            yield* chunks(archive.subarray(0, Math.floor(archive.length * 0.8)), 1024);
            throw late;
          }
          await expect(w.adapter.restore(failing(), { kind })).rejects.toBe(late);
          await expect(w.adapter.verify(failing(), { kind })).rejects.toBe(late);
          expect(await w.bytes()).toBe(before);
          expect(await w.leftovers()).toEqual([]);
        },
      );

      it.each(['ios', 'android'] as const)(
        "restores the ZIP Noah's %s app makes in place: the noah-data folder's contents",
        async (platform) => {
          const w = await factory({});
          const { archive } = await archiveOf(w, 'zip');
          const original = await w.contents();
          const { files } = await readArchiveFiles('zip', chunks(archive), {
            limits: DEFAULT_LIMITS,
            keep: () => true,
          });
          // docs/FORMAT.md §4.5: one `backup_staging/noah-data-<variant>/` root.
          const noah = noahZip(
            [...files].map(([path, data]) => ({ path, data })),
            { variant: 'signet', platform, mtime: new Date('2026-01-01T00:00:00Z') },
          );
          await w.change();
          const verified = await w.adapter.verify(chunks(noah, 1000), { kind: 'zip' });
          expect(verified.entries).toBe(files.size);
          const restored = await w.adapter.restore(chunks(noah, 1000), { kind: 'zip' });
          expect(restored.entries).toBe(files.size);
          expect(await w.contents()).toBe(original);
          expect(await w.leftovers()).toEqual([]);
        },
      );

      it('an aborted restore changes nothing', async () => {
        const w = await factory({});
        const { archive } = await archiveOf(w, 'tar');
        await w.change();
        const before = await w.bytes();
        const stop = new AbortController();
        stop.abort();
        await expect(
          w.adapter.restore(chunks(archive), { kind: 'tar', signal: stop.signal }),
        ).rejects.toThrow();
        expect(await w.bytes()).toBe(before);
        expect(await w.leftovers()).toEqual([]);
      });
    });
  });
}
