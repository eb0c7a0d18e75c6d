/**
 * The platform `#platform` resolved to in this build, for diagnostics: an app can show
 * which one its bundler picked (`react-native` under Metro, docs/REACT-NATIVE.md).
 * @module
 */
export { platform } from '#platform';
