/**
 * Noah's ZIP layout (docs/FORMAT.md §4.5): Noah's apps zip the wallet directory with its
 * parent, so every entry lies under one `backup_staging/noah-data-<variant>/` root, and
 * their restore moves that folder into place. Read here, that root's contents are the
 * wallet directory's contents (no extra nesting); `noah-write.ts` writes it.
 * @module
 */

/** The folder Noah's apps stage the wallet directory in, kept as the ZIP's top level. */
export const NOAH_STAGING = 'backup_staging';
/** The name of Noah's wallet directory, before its variant (`mainnet`, `signet`, `regtest`). */
export const NOAH_DATA_PREFIX = 'noah-data-';

/** A variant name as a folder name allows: one non-empty path segment. */
export const VARIANT = /^[^/\\\0]+$/;

/**
 * The Noah root of a ZIP's entry names, when it has Noah's layout: at least one entry
 * under `backup_staging/noah-data-<variant>/`, one variant only, and nothing else but
 * the directory entries `backup_staging/` and the root itself.
 *
 * @param names - every entry name, as stored (directories end in `/`)
 * @returns the root with its trailing `/` (to be cut from each name), or null
 * @example
 * ```ts
 * noahRoot(['backup_staging/noah-data-mainnet/db.sqlite']); // 'backup_staging/noah-data-mainnet/'
 * ```
 */
export function noahRoot(names: readonly string[]): string | null {
  const staging = `${NOAH_STAGING}/`;
  let root: string | null = null;
  let inside = 0;
  for (const name of names) {
    if (name === staging) continue;
    if (!name.startsWith(staging + NOAH_DATA_PREFIX)) return null;
    const cut = name.indexOf('/', staging.length);
    if (cut < 0) return null; // a file named like the folder
    const variant = name.slice(staging.length + NOAH_DATA_PREFIX.length, cut);
    if (!VARIANT.test(variant)) return null;
    const prefix = name.slice(0, cut + 1);
    if (root !== null && prefix !== root) return null;
    root = prefix;
    if (name !== prefix) inside++;
  }
  return inside > 0 ? root : null;
}

/**
 * Maps entry names out of Noah's layout: the root's contents keep their names below it;
 * the root and `backup_staging/` themselves are dropped (null).
 *
 * @param names - every entry name of the ZIP
 * @returns the renaming to apply to each name (the identity for any other layout)
 */
export function noahRenamer(names: readonly string[]): (name: string) => string | null {
  const root = noahRoot(names);
  if (root === null) return (name) => name;
  return (name) => (name.startsWith(root) && name !== root ? name.slice(root.length) : null);
}
