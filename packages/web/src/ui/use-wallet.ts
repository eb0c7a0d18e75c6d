/**
 * React binding of the wallet store: re-renders on every database change.
 * @module
 */
import { useMemo, useSyncExternalStore } from 'react';
import type { Payment, WalletStore } from '../wallet/wallet-store.ts';

/** The wallet's current payments and balance. */
export interface WalletView {
  exists: boolean;
  payments: Payment[];
  balance: number;
}

/**
 * Subscribes a component to the wallet store.
 *
 * @param wallet - the store
 * @returns payments (newest first), balance and whether a wallet exists
 * @example
 * ```tsx
 * const { balance } = useWallet(wallet);
 * ```
 */
export function useWallet(wallet: WalletStore): WalletView {
  const rev = useSyncExternalStore(wallet.subscribe, wallet.revision);
  // biome-ignore lint/correctness/useExhaustiveDependencies: rev is the change signal
  return useMemo(
    () => ({ exists: wallet.exists(), payments: wallet.payments(), balance: wallet.balance() }),
    [wallet, rev],
  );
}
