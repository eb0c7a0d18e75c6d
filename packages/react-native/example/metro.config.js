// Metro for the example app: Expo's defaults, plus the workspace packages it runs from
// source (packages/core, packages/client's platform-neutral modules, packages/react-native).
// Their bare imports resolve as if from this folder, so every npm dependency comes from
// this folder's own install (its lockfile), never from whatever the repository root has
// installed.
const path = require('node:path');
const { getDefaultConfig } = require('expo/metro-config');

const root = path.resolve(__dirname, '..', '..', '..');
const config = getDefaultConfig(__dirname);

config.watchFolders = [
  path.join(root, 'packages', 'core'),
  path.join(root, 'packages', 'client'),
  path.join(root, 'packages', 'react-native'),
];
config.resolver.extraNodeModules = {
  '@noah-backup/core': path.join(root, 'packages', 'core'),
  '@noah-backup/client': path.join(root, 'packages', 'client'),
  '@noah-backup/react-native': path.join(root, 'packages', 'react-native'),
};
const entry = path.join(__dirname, 'index.ts');
const inside = (file) => file.startsWith(__dirname + path.sep);
const bare = (name) => !name.startsWith('.') && !name.startsWith('#') && !path.isAbsolute(name);
config.resolver.resolveRequest = (context, moduleName, platform) =>
  context.resolveRequest(
    bare(moduleName) && !inside(context.originModulePath)
      ? { ...context, originModulePath: entry }
      : context,
    moduleName,
    platform,
  );
// core's `imports` map picks its platform by export condition: Expo's defaults set the
// `react-native` condition for android and ios (unstable_conditionsByPlatform), and
// `npm run bundle:rn` checks in each bundle's source map that react-native.ts was taken.

module.exports = config;
