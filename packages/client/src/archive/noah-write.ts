/**
 * Writing Noah's ZIP layout (docs/FORMAT.md §4.5) whenever the format is noah-v1, so that
 * Noah's app restores what this project writes, and refusing a wallet it would restore
 * as empty.
 * @module
 */
import { NoahError } from '@noah-backup/core/errors';
import { collect, fromBytes } from '@noah-backup/core/stream';
import { type Zippable, zipSync } from 'fflate';
import { createEntryGuard, type ExtractLimits } from './guards.ts';
import { NOAH_DATA_PREFIX, NOAH_STAGING } from './noah-layout.ts';
import { readArchive } from './read.ts';
import { DIR_MODE, FILE_MODE } from './tar-write.ts';

/** The builds of Noah's app, each restoring only its own `noah-data-<variant>` folder. */
export const NOAH_VARIANTS = ['mainnet', 'signet', 'regtest'] as const;
/** One of {@link NOAH_VARIANTS}. */
export type NoahVariant = (typeof NOAH_VARIANTS)[number];
/** The variant a noah-v1 file is written for unless told otherwise: Noah's release build. */
export const NOAH_DEFAULT_VARIANT: NoahVariant = 'mainnet';

/**
 * Checks a variant to write for (docs/FORMAT.md §4.5).
 * @param variant - `mainnet`, `signet` or `regtest`
 * @returns the variant
 * @throws RangeError for anything else
 */
export function checkNoahVariant(variant: string): NoahVariant {
  if (!(NOAH_VARIANTS as readonly string[]).includes(variant))
    throw new RangeError(`a Noah variant is one of ${NOAH_VARIANTS.join(', ')}, got ${variant}`);
  return variant as NoahVariant;
}
/** bark's wallet database, which Noah's app opens in its wallet directory. */
export const NOAH_BARK_DATABASE = 'db.sqlite';

/** The first 16 bytes of every SQLite database file. */
const SQLITE_MAGIC = new TextEncoder().encode('SQLite format 3\0');

function isSqlite(data: Uint8Array): boolean {
  return data.length >= 100 && SQLITE_MAGIC.every((b, i) => data[i] === b);
}

/** ZIP's DOS timestamps cannot go before 1980 (APPNOTE §4.4.6). */
const ZIP_EPOCH = Date.UTC(1980, 0, 2);

/** What {@link toNoahLayout} needs. */
export interface NoahLayoutOptions {
  /** The variant of the app that will restore it (default `mainnet`). */
  readonly variant?: NoahVariant;
  /** Modification time recorded for every entry. */
  readonly mtime: Date;
  /** The guards' limits while the ZIP given is read. */
  readonly limits: ExtractLimits;
}

/**
 * Rewrites a wallet's ZIP (flat, or already in Noah's layout) in Noah's layout
 * (docs/FORMAT.md §4.5): every entry under `backup_staging/noah-data-<variant>/`,
 * deflated, with its sizes in the local header. Refuses a wallet that Noah's app would
 * restore as empty: one without bark's SQLite database `db.sqlite` at its top.
 *
 * @param zip - the wallet's ZIP, in chunks
 * @param opts - the variant (default `mainnet`), the entries' time, the read limits
 * @returns the new ZIP, as one chunk
 * @throws NoahError `noah_wallet_missing`; `unsafe_archive` for a ZIP the reader refuses;
 *   RangeError for a variant that is not one of {@link NOAH_VARIANTS}
 * @example
 * ```ts
 * const noah = toNoahLayout(snapshot.archive, { mtime: clock.now(), limits: DEFAULT_LIMITS });
 * ```
 */
export async function* toNoahLayout(
  zip: AsyncIterable<Uint8Array>,
  opts: NoahLayoutOptions,
): AsyncGenerator<Uint8Array> {
  const variant = checkNoahVariant(opts.variant ?? NOAH_DEFAULT_VARIANT);
  const root = `${NOAH_STAGING}/${NOAH_DATA_PREFIX}${variant}`;
  const files: Zippable = {};
  const attrs = (mode: number) => ({ os: 3, attrs: (mode << 16) >>> 0 });
  files[`${root}/`] = [new Uint8Array(0), attrs(0o040000 | DIR_MODE)];
  let bark = false;
  const guard = createEntryGuard(opts.limits);
  for await (const e of readArchive('zip', zip, { guard, limits: opts.limits })) {
    if (e.type === 'directory') {
      files[`${root}/${e.path}/`] = [new Uint8Array(0), attrs(0o040000 | DIR_MODE)];
      continue;
    }
    const data = await collect(e.body);
    if (e.path === NOAH_BARK_DATABASE && isSqlite(data)) bark = true;
    files[`${root}/${e.path}`] = [data, { ...attrs(0o100000 | FILE_MODE), level: 6 }];
  }
  if (!bark)
    throw new NoahError(
      'noah_wallet_missing',
      `the wallet has no SQLite database ${NOAH_BARK_DATABASE} at its top, so Noah's app would restore this noah-v1 backup as an empty wallet; nothing was written`,
    );
  yield zipSync(files, { mtime: new Date(Math.max(opts.mtime.getTime(), ZIP_EPOCH)) });
}

/**
 * {@link toNoahLayout} over bytes.
 * @returns the new ZIP
 * @throws as {@link toNoahLayout}
 */
export function toNoahLayoutBytes(zip: Uint8Array, opts: NoahLayoutOptions): Promise<Uint8Array> {
  return collect(toNoahLayout(fromBytes(zip), opts));
}
