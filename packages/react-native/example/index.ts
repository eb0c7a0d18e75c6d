// The SDK's setup first: core's CSPRNG (crypto.getRandomValues) before anything uses it.
import '@noah-backup/react-native/setup';
import { registerRootComponent } from 'expo';
import App from './App';

registerRootComponent(App);
