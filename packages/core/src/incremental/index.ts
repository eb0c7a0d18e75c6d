/**
 * Incremental backups (FORMAT.md §8): a backup is one manifest object plus the pack
 * objects it references, each a v2 file; the daily backup sends only changed pages.
 * @module
 */
export { buildManifest } from './build.ts';
export { checkPageSize, createDigester, type Digester } from './digest.ts';
export {
  layoutPacks,
  type PackKind,
  type PackLayout,
  type Piece,
  type Placement,
} from './layout.ts';
export { decodeManifest, encodeManifest } from './manifest.ts';
export { manifestProblem } from './manifest-rules.ts';
export {
  encryptManifest,
  encryptPack,
  type ObjectSummary,
  type ObjectWriteOptions,
  openManifest,
  openPack,
  readManifest,
  type SealedObject,
} from './objects.ts';
export {
  type BackupPlan,
  type CompactionParams,
  DEFAULT_COMPACTION,
  type FullReason,
  planBackup,
} from './plan.ts';
export {
  createRestoreCheck,
  type PackSlice,
  type RestoreCheck,
  slicePack,
} from './restore-check.ts';
export { type PackRestore, type RestorePiece, restorePlan } from './restore-plan.ts';
export {
  checkTree,
  type TreeDatabase,
  type TreeDirectory,
  type TreeEntry,
  type TreeFile,
} from './tree.ts';
export {
  type DatabaseEntry,
  DIGEST_LENGTH,
  type DirectoryEntry,
  type FileEntry,
  isPageSize,
  MANIFEST_MAGIC,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestEntry,
  type ManifestPack,
  MAX_ENTRIES,
  MAX_KEY_LENGTH,
  MAX_MANIFEST_BYTES,
  MAX_PACKS,
  MAX_PAGE_COUNT,
  MAX_PAGE_SIZE,
  MIN_PAGE_SIZE,
  PAGE_DIGEST_LENGTH,
  type Run,
} from './types.ts';
