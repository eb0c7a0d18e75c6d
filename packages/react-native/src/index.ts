/**
 * `@noah-backup/react-native`: Noah Backup in a React Native app (docs/REACT-NATIVE.md).
 * For now the foundation: `./setup` (import first), the on-device self-test; `core`
 * itself runs on react-native-quick-crypto through its `react-native` export condition.
 * @module
 */
export { runSelfTest, type SelfTestOptions, type SelfTestResult } from './self-test.ts';
