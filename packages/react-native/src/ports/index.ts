/**
 * `@noah-backup/react-native/ports`: the SDK's ports on React Native
 * (docs/REACT-NATIVE.md §8): wallet data on op-sqlite with page-stable snapshots, the
 * spooler, device state and the page-digest cache, over expo-file-system. The app passes
 * the native modules in (op-sqlite's `open`, expo-file-system's classes), so this
 * package imports none of them itself.
 * @module
 */
export type { FileStat, RnFiles } from './files.ts';
export type { OpSqliteDB, OpSqliteOpen, OpSqliteResult } from './op-sqlite.ts';
export { createRnSpooler, type FileSpooledBlob } from './spool.ts';
export { createOpSqliteState, type OpSqliteStateStore } from './state.ts';
export type { SwapHooks } from './swap.ts';
export { createOpSqliteWallet, type OpSqliteWallet, type OpSqliteWalletOptions } from './wallet.ts';
export {
  type ExpoDirectory,
  type ExpoFile,
  type ExpoFileHandle,
  type ExpoFileSystem,
  expoFiles,
  fileUri,
  pathOfUri,
} from './expo-files.ts';
export {
  type BackgroundFetchOptions,
  createBackgroundFetch,
  type ExpoTransferFile,
  type ExpoTransferModule,
  expoBlob,
} from './transfer.ts';
