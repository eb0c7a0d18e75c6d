/**
 * A stand-in for expo-secure-store 57 (native only: the iOS Keychain, the Android
 * Keystore) in memory, implementing only what the example uses, as the installed
 * module's published types and doc comments describe it (build/SecureStore.d.ts of
 * 57.0.4) and its JavaScript (build/SecureStore.js: `ensureValidKey`, `isValidValue`);
 * docs/REACT-NATIVE.md §8.4 lists what it was checked against:
 * - `getItemAsync(key, options)` resolves to the stored value, or null when there is no
 *   entry for the key;
 * - `setItemAsync(key, value, options)` stores the pair, replacing an entry;
 * - keys "may contain alphanumeric characters, `.`, `-`, and `_`" (the module rejects
 *   others, so the stand-in does too), values are strings;
 * - `AFTER_FIRST_UNLOCK`, a number, passed as `keychainAccessible` (iOS only); the
 *   stand-in records the options of each write so a test can check them.
 * @module
 */
import type { SecureStoreModule } from '../wallet-services.ts';

const KEY = /^[\w.-]+$/;

export interface SecureStoreStandIn extends SecureStoreModule {
  /** What was stored, by key. */
  items: Map<string, string>;
  /** The options of each `setItemAsync`, in order. */
  writes: { key: string; options: { keychainAccessible?: number } | undefined }[];
}

export function secureStoreStandIn(): SecureStoreStandIn {
  const items = new Map<string, string>();
  const writes: SecureStoreStandIn['writes'] = [];
  const checkKey = (key: string) => {
    if (!KEY.test(key))
      throw new Error(
        'Invalid key provided to SecureStore. Keys must not be empty and contain only alphanumeric characters, ".", "-", and "_".',
      );
  };
  return {
    // expo-secure-store's constant values are the iOS module's; any number does here.
    AFTER_FIRST_UNLOCK: 1,
    items,
    writes,
    async getItemAsync(key) {
      checkKey(key);
      return items.get(key) ?? null;
    },
    async setItemAsync(key, value, options) {
      checkKey(key);
      if (typeof value !== 'string') throw new Error('Invalid value provided to SecureStore.');
      items.set(key, value);
      writes.push({ key, options });
    },
  };
}
