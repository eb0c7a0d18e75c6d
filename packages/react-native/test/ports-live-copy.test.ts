/**
 * The React Native page-stable copy (`src/ports/live-copy.ts`) while the wallet keeps
 * writing, on op-sqlite's Node build: every copy is one committed state, and a quiet
 * database's copy is its checkpointed file byte for byte (page numbers kept). And a
 * restore's swap that the app's death interrupted is finished by the next run.
 */
import { promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../client/test/fixtures/node-helpers.ts';
import { copyLiveDatabase } from '../src/ports/live-copy.ts';
import type { OpSqliteOpen } from '../src/ports/op-sqlite.ts';
import { makeStaging, recoverSwap } from '../src/ports/swap.ts';
import { expoFiles } from '../src/ports/expo-files.ts';
import { expoStandIn } from './ports/expo-stand-in.ts';

const OP_SQLITE = createRequire(
  join(import.meta.dirname, '..', 'op-sqlite-node', 'package.json'),
).resolve('@op-engineering/op-sqlite');
const { open } = (await import(OP_SQLITE)) as { open: OpSqliteOpen };
// The ports' expo-file-system binding, over the stand-in of expo-file-system.
const files = expoFiles(expoStandIn);

/** A database of `pairs` rows (two per transaction), 2 KiB of payload each. */
async function liveDatabase(mode: 'wal' | 'delete') {
  const path = join(await tempDir(), 'wallet.sqlite');
  // The app's connection; timeout 0: a busy commit waits for the next tick instead of
  // blocking the thread the copy runs on.
  const app = new Database(path, { timeout: 0 });
  app.pragma(`journal_mode = ${mode}`);
  app.pragma('wal_autocheckpoint = 16'); // checkpoints while copies run
  app.exec('CREATE TABLE pairs (pair INTEGER NOT NULL, side INTEGER NOT NULL, data BLOB)');
  const insert = app.prepare('INSERT INTO pairs VALUES (?, ?, randomblob(2048))');
  let pairs = 0;
  const addPair = app.transaction(() => {
    insert.run(pairs, 0);
    insert.run(pairs, 1);
  });
  const write = () => {
    try {
      addPair();
      pairs++;
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY') throw e;
    }
  };
  for (let i = 0; i < 200; i++) write();
  return { path, app, write, pairs: () => pairs };
}

describe('React Native live copy', () => {
  it.each(['wal', 'delete'] as const)(
    '%s: copies taken while the app commits are each one committed state',
    async (mode) => {
      const live = await liveDatabase(mode);
      let writing = true;
      const writer = (async () => {
        while (writing) {
          live.write();
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      try {
        for (let i = 0; i < 6; i++) {
          const before = live.pairs();
          const copy = join(await tempDir(), 'copy.sqlite');
          await copyLiveDatabase(open, files, live.path, copy);
          const after = live.pairs();
          expect(await fsp.readdir(join(copy, '..'))).toEqual(['copy.sqlite']);
          const db = new Database(copy, { readonly: true });
          try {
            expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
            const split = db.prepare('SELECT pair FROM pairs GROUP BY pair HAVING count(*) != 2');
            expect(split.all()).toEqual([]);
            const n = Number(db.prepare('SELECT count(*) FROM pairs').pluck().get()) / 2;
            expect(n).toBeGreaterThanOrEqual(before);
            expect(n).toBeLessThanOrEqual(after);
          } finally {
            db.close();
          }
        }
        expect(live.pairs()).toBeGreaterThan(200); // the app did write meanwhile
      } finally {
        writing = false;
        await writer;
        live.app.close();
      }
    },
  );

  it('a quiet database: the copy is its checkpointed file, byte for byte', async () => {
    const live = await liveDatabase('wal');
    try {
      for (let i = 0; i < 50; i++) live.write(); // frames in the WAL, beyond the file
      const copy = join(await tempDir(), 'copy.sqlite');
      await copyLiveDatabase(open, files, live.path, copy);
      live.app.pragma('wal_checkpoint(TRUNCATE)');
      expect(Buffer.compare(await fsp.readFile(copy), await fsp.readFile(live.path))).toBe(0);
    } finally {
      live.app.close();
    }
  });
});

describe('React Native restore swap', () => {
  it('the next run finishes a swap the app died in, or drops its staging', async () => {
    const root = await tempDir();
    const dataDir = join(root, 'wallet');
    const places = { files: files, dataDir };
    await fsp.mkdir(dataDir);
    await fsp.writeFile(join(dataDir, 'old'), 'old');
    // Died between the renames: the wallet aside, the checked staging not yet in place.
    const staging = await makeStaging(places);
    await fsp.writeFile(join(staging, 'new'), 'new');
    await fsp.writeFile(join(root, '.wallet.noah-swap'), JSON.stringify({ staging }));
    await fsp.rename(dataDir, join(root, 'wallet.noah-replaced-x'));
    await recoverSwap(places);
    expect(await fsp.readdir(dataDir)).toEqual(['new']);
    expect((await fsp.readdir(root)).sort()).toEqual(['wallet', 'wallet.noah-replaced-x']);
    // Died before the first rename: the wallet stays, the staging goes.
    const again = await makeStaging(places);
    await fsp.writeFile(join(root, '.wallet.noah-swap'), JSON.stringify({ staging: again }));
    await recoverSwap(places);
    expect(await fsp.readdir(dataDir)).toEqual(['new']);
    expect((await fsp.readdir(root)).sort()).toEqual(['wallet', 'wallet.noah-replaced-x']);
  });
});
