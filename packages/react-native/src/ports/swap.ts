/**
 * Staging and the swap of a restore on React Native (docs/WALLET.md §2): what a restore
 * writes goes into a staging directory beside the wallet's (same volume, so renames are
 * atomic), is checked there, and only then takes the wallet's place by two renames: the
 * wallet aside (kept, as on Node, and returned as `previous`), the staging in. A journal
 * file written before the first rename lets the next run finish a swap that the app's
 * death interrupted: the wallet is the old data or the new, never neither.
 * @module
 */
import { bytesToUtf8 } from '@noah-backup/core/bytes';
import { hasSqliteHeader } from '@noah-backup/client/wallet-refusals';
import { joinPath, randomTag, type RnFiles, splitPath } from './files.ts';
import { integrityCheckAt, type OpSqliteOpen } from './op-sqlite.ts';

/** Where a wallet directory's staging, journal and replaced copies live. */
export interface SwapPlaces {
  readonly files: RnFiles;
  readonly dataDir: string;
}

function places({ dataDir }: SwapPlaces) {
  const { dir, name } = splitPath(dataDir);
  return { parent: dir, name, journal: joinPath(dir, `.${name}.noah-swap`) };
}

/** A fresh staging directory beside the wallet's. */
export async function makeStaging(p: SwapPlaces): Promise<string> {
  const { parent, name } = places(p);
  await p.files.mkdir(parent);
  const staging = joinPath(parent, `.${name}.noah-staging-${randomTag()}`);
  await p.files.mkdir(staging);
  return staging;
}

/**
 * Finishes or undoes a swap the app's death interrupted (its journal is still there):
 * a wallet directory that is gone gets the staged data, which was checked before the
 * journal was written; otherwise the swap had completed and the staging is removed.
 */
export async function recoverSwap(p: SwapPlaces): Promise<void> {
  const { journal } = places(p);
  if ((await p.files.stat(journal)) === null) return;
  // bytesToUtf8: Hermes has no TextDecoder (docs/REACT-NATIVE.md §3).
  const text = bytesToUtf8(await p.files.read(journal, 0, 64 * 1024));
  const { staging } = JSON.parse(text) as { staging: string };
  if ((await p.files.stat(p.dataDir)) === null && (await p.files.stat(staging)) !== null)
    await p.files.move(staging, p.dataDir);
  else await p.files.remove(staging);
  await p.files.remove(journal);
}

/** What the app does around a swap: close its connections, then open them again. */
export interface SwapHooks {
  /** Closes every connection the app holds to the wallet's databases. */
  beforeSwap?: (() => Promise<void> | void) | undefined;
  /** Opens them again, on the new data (also after a failed swap, on the old). */
  afterSwap?: (() => Promise<void> | void) | undefined;
}

/**
 * Puts the checked `staging` in the wallet directory's place.
 * @returns where the replaced data is kept (null when there was none)
 */
export async function swapIn(
  p: SwapPlaces,
  staging: string,
  hooks: SwapHooks,
): Promise<string | null> {
  const { parent, name, journal } = places(p);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const aside = joinPath(parent, `${name}.noah-replaced-${stamp}-${randomTag()}`);
  await hooks.beforeSwap?.();
  try {
    await p.files.create(journal);
    await p.files.write(journal, 0, new TextEncoder().encode(JSON.stringify({ staging })));
    const had = (await p.files.stat(p.dataDir)) !== null;
    if (had) await p.files.move(p.dataDir, aside);
    try {
      await p.files.move(staging, p.dataDir);
    } catch (e) {
      if (had) await p.files.move(aside, p.dataDir);
      throw e;
    }
    await p.files.remove(journal);
    return had ? aside : null;
  } catch (e) {
    await p.files.remove(journal);
    throw e;
  } finally {
    await hooks.afterSwap?.();
  }
}

/**
 * Checks the staged files `paths` (relative to `dir`): each database (SQLite header, or
 * marked in `databases`) with `PRAGMA integrity_check`.
 * @returns the databases found
 * @throws NoahError `integrity_check_failed`
 */
export async function checkStaged(
  open: OpSqliteOpen,
  files: RnFiles,
  dir: string,
  paths: Iterable<string>,
  databases: ReadonlySet<string> = new Set(),
): Promise<string[]> {
  const found: string[] = [];
  for (const path of paths) {
    const abs = joinPath(dir, path);
    if (!databases.has(path) && !hasSqliteHeader(await files.read(abs, 0, 16))) continue;
    await integrityCheckAt(open, abs, path);
    found.push(path);
  }
  return found;
}
