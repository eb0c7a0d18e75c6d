/**
 * The plaintext of `encrypt --format noah-v1`: Noah's app restores only its own ZIP
 * layout (docs/FORMAT.md §4.5), so IN, a wallet directory or a ZIP of one, becomes the
 * ZIP Noah's app makes, `backup_staging/noah-data-<variant>/…`; anything it would
 * restore as an empty wallet is refused (`noah_wallet_missing`) before OUT exists.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NoahVariant } from '@noah-backup/client/archive/noah-write';
import { systemClock } from '@noah-backup/core/clock';
import { NoahError } from '@noah-backup/core/errors';
import { openInput, removeOnSignal } from './crypto-io.ts';

/** A noah-v1 plaintext being made; `cleanup` removes the snapshot's temp files. */
export interface NoahPlaintext {
  source: AsyncIterable<Uint8Array>;
  cleanup(): Promise<void>;
}

/** A ZIP starts with a local header, or, with no entries, the end record. */
function looksLikeZip(b: Uint8Array): boolean {
  return b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && b[3] === b[2] + 1;
}

const missing = (what: string) =>
  new NoahError(
    'noah_wallet_missing',
    `${what}, so Noah's app would restore this noah-v1 backup as an empty wallet; nothing was written`,
  );

/**
 * Opens IN as the ZIP Noah's app restores: a directory is snapshotted as the wallet
 * adapter does for a backup (consistent SQLite copies), a file or stdin must be a ZIP
 * (flat, or in Noah's layout for any variant); either is rewritten in Noah's layout for
 * `variant`.
 *
 * @param inPath - a wallet directory, a ZIP file, or `-` for stdin
 * @param variant - the build of Noah's app that will restore it
 * @returns the plaintext, produced as it is read (refusals surface while reading)
 * @throws NoahError `noah_wallet_missing` for an input that is no ZIP or a wallet
 *   directory without bark's `db.sqlite`; the read errors of `openInput`
 */
export async function openNoahPlaintext(
  inPath: string,
  variant: NoahVariant,
): Promise<NoahPlaintext> {
  const [{ toNoahLayout }, { DEFAULT_LIMITS }, { collect, fromBytes }] = await Promise.all([
    import('@noah-backup/client/archive/noah-write'),
    import('@noah-backup/client/archive/guards'),
    import('@noah-backup/core/stream'),
  ]);
  const layout = (zip: AsyncIterable<Uint8Array>) =>
    toNoahLayout(zip, { variant, mtime: systemClock.now(), limits: DEFAULT_LIMITS });
  const isDir = inPath !== '-' && (await stat(inPath).catch(() => null))?.isDirectory();
  if (isDir) {
    const { createNodeWalletAdapter } = await import('@noah-backup/client/node/wallet');
    // The copies are wallet data in clear. A signal exits at once (`cleanUpOnSignals`), so
    // they go in a directory of ours that the handler removes; its name is the snapshot's
    // own (`noah-snapshot-<pid>-`), which the next run removes if a SIGKILL left it.
    // Listed for the handler before it exists: a signal between its creation and its
    // listing would leave it behind.
    const tmp = join(tmpdir(), `noah-snapshot-${process.pid}-${randomBytes(6).toString('hex')}`);
    const forget = removeOnSignal(tmp);
    await mkdir(tmp, { mode: 0o700 });
    const removeTmp = async () => {
      await rm(tmp, { recursive: true, force: true });
      forget();
    };
    const snapshot = await createNodeWalletAdapter({ dataDir: inPath, tmpDir: tmp })
      .snapshot({ kind: 'zip' })
      .catch(async (err: unknown) => {
        await removeTmp();
        // A directory without any database: Noah's app would find no wallet in it either.
        if (err instanceof NoahError && err.code === 'not_a_wallet')
          throw missing(`${inPath} holds no SQLite database`);
        throw err;
      });
    return {
      source: layout(snapshot.archive),
      cleanup: async () => {
        await snapshot.cleanup();
        await removeTmp();
      },
    };
  }
  // The legacy formats hold the whole file in memory anyway (docs/FORMAT.md §2.3).
  const bytes = await collect((await openInput(inPath)).source);
  if (!looksLikeZip(bytes)) throw missing('IN is neither a wallet directory nor a ZIP');
  return { source: layout(fromBytes(bytes)), cleanup: async () => {} };
}
