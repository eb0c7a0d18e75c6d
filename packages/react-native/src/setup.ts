/**
 * Import first in the app's entry (`import '@noah-backup/react-native/setup';`): gives
 * Hermes the one global `core` needs that it lacks, `crypto.getRandomValues` (the
 * CSPRNG of every nonce, IV and salt), from react-native-quick-crypto's native RNG.
 * Nothing else is patched (docs/REACT-NATIVE.md §3): React Native's AbortSignal lacks
 * `throwIfAborted`, and the SDK never calls it (it checks `signal.aborted`).
 * @module
 */
import { getRandomValues } from 'react-native-quick-crypto';

const g = globalThis as { crypto?: { getRandomValues?: unknown } };
if (typeof g.crypto?.getRandomValues !== 'function')
  g.crypto = Object.assign(g.crypto ?? {}, { getRandomValues });
