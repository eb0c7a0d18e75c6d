/**
 * Import first in the app's entry (`import '@noah-backup/react-native/setup';`): gives
 * Hermes the one global `core` needs that it lacks, `crypto.getRandomValues` (the
 * CSPRNG of every nonce, IV and salt), from react-native-quick-crypto's native RNG, and
 * React Native's AbortSignal the `throwIfAborted` the SDK calls (`./abort-signal.ts`).
 * Nothing else is patched (docs/REACT-NATIVE.md §3).
 * @module
 */
import { getRandomValues } from 'react-native-quick-crypto';
import { polyfillAbortSignal } from './abort-signal.ts';

const g = globalThis as { crypto?: { getRandomValues?: unknown } };
if (typeof g.crypto?.getRandomValues !== 'function')
  g.crypto = Object.assign(g.crypto ?? {}, { getRandomValues });
polyfillAbortSignal();
