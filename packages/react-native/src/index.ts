/**
 * `@noah-backup/react-native`: Noah Backup in a React Native app (docs/REACT-NATIVE.md).
 * `./setup` (import first); the on-device self-test; the `backup_trigger` push handler
 * (`./push`, with its Expo tasks); the screens' hooks (`./hooks`). `core` itself runs on
 * react-native-quick-crypto through its `react-native` export condition.
 * @module
 */
export { runSelfTest, type SelfTestOptions, type SelfTestResult } from './self-test.ts';
