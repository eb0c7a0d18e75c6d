// The SDK's setup first: core's CSPRNG (crypto.getRandomValues) before anything uses it.
import '@noah-backup/react-native/setup';
import { registerRootComponent } from 'expo';
import App from './App';
// The SDK's ports (wallet data on op-sqlite, spooler, state, transfers) in the bundle.
import '@noah-backup/react-native/ports';

registerRootComponent(App);
