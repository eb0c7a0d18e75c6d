/**
 * The example app: the wallet's screens (WalletApp.tsx) on the phone's secure storage and
 * the services `index.ts` registered (docs/REACT-NATIVE.md §6).
 */
import * as SecureStore from 'expo-secure-store';
import { AppState, SafeAreaView } from 'react-native';
import { openBackup, reopenBackup } from './backup.ts';
import { WalletApp } from './WalletApp.tsx';

const openServices = (again: boolean) => (again ? reopenBackup() : openBackup());

export default function App() {
  return (
    <SafeAreaView style={{ flex: 1 }}>
      <WalletApp secureStore={SecureStore} open={openServices} appState={AppState} />
    </SafeAreaView>
  );
}
