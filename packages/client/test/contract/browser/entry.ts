/**
 * The page of the browser contract run (`run.ts`): the browser implementations of the
 * ports, each under its kit, exposed to the Node side as `window.kit`.
 * @module
 */
import initSqlJs from 'sql.js';
import { createIndexedDbCacheStore } from '../../../src/web/cache.ts';
import { createMemorySpooler } from '../../../src/web/spooler.ts';
import { createLocalStorageState } from '../../../src/web/state.ts';
import { deviceCacheContract } from '../device-cache.ts';
import { deviceStateContract } from '../device-state.ts';
import { incrementalWalletContract } from '../incremental-wallet.ts';
import { sqlJsWallet } from '../sqljs-wallet.ts';
import { spoolerContract } from '../spooler.ts';
import { registry } from './vitest-shim.ts';

let stores = 0;

spoolerContract('browser (Blob)', () => createMemorySpooler());
// The page's own localStorage: a fresh namespace per test is a fresh, empty store.
deviceStateContract('browser (localStorage)', () =>
  createLocalStorageState(`noah.kit.${++stores}.`),
);
// The page's own IndexedDB: a fresh record per test is a fresh, empty store.
deviceCacheContract('browser (IndexedDB)', () =>
  createIndexedDbCacheStore('noah-kit-cache', `account-${++stores}`),
);
// sql.js's WebAssembly, served beside the page by `run.ts`.
const SQL = await initSqlJs({ locateFile: () => '/sql-wasm.wasm' });
incrementalWalletContract('browser (a wallet held by the page, sql.js export)', sqlJsWallet(SQL));

(globalThis as unknown as { kit: typeof registry }).kit = registry;
